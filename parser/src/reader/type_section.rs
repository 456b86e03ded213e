//! The type section, and the table, memory and global types that the
//! import, table, memory and global sections share.

use crate::error::ParseError;
use crate::features::Features;
use crate::module::Module;
use crate::types::{
    CompositeType, FieldType, FuncType, GlobalType, IndexType, Limits, MemoryType, StorageType,
    SubType, TableType, TypeIdx,
};
use crate::{convert_ref_type, convert_val_type};

use super::bounded;

/// The proposal and construct that a type-section entry starting with `byte`
/// belongs to, for the type encodings Kiln does not implement under
/// `features`. `None` for a function type (`0x60`), for recursion groups and
/// subtypes when typed function references are on, and for bytes that start
/// no type at all, which `wasmparser` then rejects as malformed.
fn unsupported_type_prefix(byte: u8, features: Features) -> Option<(&'static str, &'static str)> {
    match byte {
        0x4e..=0x50 if features.function_references => None,
        0x5e | 0x5f if features.gc => None,
        0x4e => Some(("gc", "a recursion group")),
        0x4f | 0x50 => Some(("gc", "a subtype")),
        0x5e => Some(("gc", "an array type")),
        0x5f => Some(("gc", "a struct type")),
        0x5d => Some(("stack-switching", "a continuation type")),
        0x65 => Some(("shared-everything-threads", "a shared type")),
        0x4c | 0x4d => Some(("custom-descriptors", "a type with a descriptor")),
        _ => None,
    }
}

/// The declared size of a recursion group starting at `bytes[0]` (`0x4e`),
/// if it is more types than `bytes` could hold: every type takes at least
/// two bytes (`0x5f 0x00`, a struct without fields). `wasmparser` reserves
/// room for the declared count before reading a single type, so this is
/// checked first.
fn oversized_rec_group(bytes: &[u8]) -> Option<u64> {
    let mut count = 0u64;
    for (i, &b) in bytes.iter().skip(1).take(5).enumerate() {
        count |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let room = (bytes.len() - i - 2) as u64 / 2;
            return (count > room).then_some(count);
        }
    }
    None
}

/// Reads the type section into `module.types` and `module.subtypes`.
///
/// Each entry's leading byte is checked before `wasmparser` decodes the entry:
/// a recursion group declares a count that `wasmparser` reserves room for
/// before reading a single type (about 100 bytes a type, up to a million
/// types), so a few bytes would otherwise buy a hundred megabytes only to be
/// rejected afterwards.
pub(super) fn read_type_section(
    bytes: &[u8],
    reader: wasmparser::TypeSectionReader<'_>,
    module: &mut Module,
) -> Result<(), ParseError> {
    let features = module.features;
    let end = usize::try_from(reader.range().end).unwrap_or(usize::MAX);
    module
        .types
        .reserve(bounded(reader.count(), &reader.range()));
    let mut entries = reader.into_iter();
    loop {
        // The parser starts at offset 0 of `bytes`, so positions index `bytes`.
        let offset = entries.original_position();
        let rest = usize::try_from(offset)
            .ok()
            .and_then(|i| bytes.get(i..end.min(bytes.len())))
            .unwrap_or(&[]);
        if entries.len() > 0
            && let Some(&byte) = rest.first()
        {
            if let Some((proposal, what)) = unsupported_type_prefix(byte, features) {
                return Err(ParseError::unsupported(proposal, what, offset));
            }
            if byte == 0x4e
                && let Some(count) = oversized_rec_group(rest)
            {
                return Err(ParseError::malformed(
                    format!("a recursion group of {count} types does not fit its section"),
                    offset,
                ));
            }
        }
        let Some(group) = entries.next() else {
            return Ok(());
        };
        let group = group?;
        if group.is_explicit_rec_group() && !features.function_references {
            return Err(ParseError::unsupported("gc", "a recursion group", offset));
        }
        let group_start = TypeIdx(module.types.len() as u32);
        let first = module.subtypes.len();
        for sub in group.into_types() {
            read_sub_type(&sub, group_start, module, offset)?;
        }
        let group_len = (module.subtypes.len() - first) as u32;
        for s in &mut module.subtypes[first..] {
            s.group_len = group_len;
        }
    }
}

/// Reads one type of a recursion group starting at `group_start`.
fn read_sub_type(
    sub: &wasmparser::SubType,
    group_start: TypeIdx,
    module: &mut Module,
    offset: u64,
) -> Result<(), ParseError> {
    let features = module.features;
    if (!sub.is_final || !sub.supertype_idxs.is_empty()) && !features.function_references {
        return Err(ParseError::unsupported("gc", "a subtype", offset));
    }
    if sub.composite_type.shared {
        return Err(ParseError::unsupported(
            "shared-everything-threads",
            "a shared type",
            offset,
        ));
    }
    if sub.composite_type.descriptor_idx.is_some() || sub.composite_type.describes_idx.is_some() {
        return Err(ParseError::unsupported(
            "custom-descriptors",
            "a type with a descriptor",
            offset,
        ));
    }
    let convert = |tys: &[wasmparser::ValType]| {
        tys.iter()
            .map(|&t| convert_val_type(t, features, offset))
            .collect::<Result<Box<[_]>, _>>()
    };
    let field = |f: &wasmparser::FieldType| -> Result<FieldType, ParseError> {
        let storage = match f.element_type {
            wasmparser::StorageType::I8 => StorageType::I8,
            wasmparser::StorageType::I16 => StorageType::I16,
            wasmparser::StorageType::Val(t) => {
                StorageType::Val(convert_val_type(t, features, offset)?)
            }
        };
        Ok(FieldType {
            storage,
            mutable: f.mutable,
        })
    };
    let composite = match &sub.composite_type.inner {
        wasmparser::CompositeInnerType::Func(f) => CompositeType::Func(FuncType {
            params: convert(f.params())?,
            results: convert(f.results())?,
        }),
        wasmparser::CompositeInnerType::Struct(s) if features.gc => CompositeType::Struct(
            s.fields
                .iter()
                .map(field)
                .collect::<Result<Box<[_]>, _>>()?,
        ),
        wasmparser::CompositeInnerType::Array(a) if features.gc => {
            CompositeType::Array(field(&a.0)?)
        }
        wasmparser::CompositeInnerType::Struct(_) | wasmparser::CompositeInnerType::Array(_) => {
            return Err(ParseError::unsupported("gc", "a non-function type", offset));
        }
        wasmparser::CompositeInnerType::Cont(_) => {
            return Err(ParseError::unsupported(
                "stack-switching",
                "a continuation type",
                offset,
            ));
        }
    };
    let supertype = match sub.supertype_idxs.first() {
        None => None,
        Some(idx) => match idx.as_module_index() {
            Some(i) => Some(TypeIdx(i)),
            None => return Err(ParseError::malformed("bad supertype index", offset)),
        },
    };
    module.types.push(composite);
    module.subtypes.push(SubType {
        group_start,
        group_len: 0,
        supertype,
        is_final: sub.is_final,
    });
    Ok(())
}

fn limits(min: u64, max: Option<u64>) -> Limits {
    Limits { min, max }
}

fn index_type(is64: bool) -> IndexType {
    if is64 { IndexType::I64 } else { IndexType::I32 }
}

pub(super) fn table_type(
    t: wasmparser::TableType,
    features: Features,
    offset: u64,
) -> Result<TableType, ParseError> {
    if t.shared {
        return Err(ParseError::unsupported(
            "shared-everything-threads",
            "a shared table",
            offset,
        ));
    }
    Ok(TableType {
        element: convert_ref_type(t.element_type, features, offset)?,
        limits: limits(t.initial, t.maximum),
        index: index_type(t.table64),
    })
}

pub(super) fn memory_type(
    m: wasmparser::MemoryType,
    offset: u64,
) -> Result<MemoryType, ParseError> {
    if m.shared {
        return Err(ParseError::unsupported(
            "threads",
            "a shared memory",
            offset,
        ));
    }
    if m.page_size_log2.is_some() {
        return Err(ParseError::unsupported(
            "custom-page-sizes",
            "a custom page size",
            offset,
        ));
    }
    Ok(MemoryType {
        limits: limits(m.initial, m.maximum),
        index: index_type(m.memory64),
    })
}

pub(super) fn global_type(
    g: wasmparser::GlobalType,
    features: Features,
    offset: u64,
) -> Result<GlobalType, ParseError> {
    if g.shared {
        return Err(ParseError::unsupported(
            "shared-everything-threads",
            "a shared global",
            offset,
        ));
    }
    Ok(GlobalType {
        content: convert_val_type(g.content_type, features, offset)?,
        mutable: g.mutable,
    })
}

#[cfg(test)]
mod tests {
    use crate::error::ParseErrorKind;
    use crate::features::Features;
    use crate::reader::parse;

    /// A module of one type section with `contents` (count and entries).
    fn with_types(contents: &[u8]) -> Vec<u8> {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.push(1);
        bytes.push(u8::try_from(contents.len()).expect("short section"));
        bytes.extend_from_slice(contents);
        bytes
    }

    fn kind_of(contents: &[u8]) -> Result<usize, ParseErrorKind> {
        parse(&with_types(contents), Features::WASM2)
            .map(|m| m.types.len())
            .map_err(|e| e.kind())
    }

    #[test]
    fn gc_type_prefixes_are_unsupported_before_decoding() {
        let gc = Err(ParseErrorKind::Unsupported { proposal: "gc" });
        // A recursion group declaring 1 000 000 types (LEB 0xc0 0x84 0x3d).
        assert_eq!(kind_of(&[1, 0x4e, 0xc0, 0x84, 0x3d, 0x60, 0, 0]), gc);
        // A recursion group whose count is itself malformed: still GC.
        assert_eq!(kind_of(&[1, 0x4e, 0xff]), gc);
        assert_eq!(kind_of(&[1, 0x50, 0, 0x60, 0, 0]), gc);
        assert_eq!(kind_of(&[1, 0x4f, 0, 0x60, 0, 0]), gc);
        assert_eq!(kind_of(&[1, 0x5e, 0x7f, 0]), gc);
        assert_eq!(kind_of(&[1, 0x5f, 0]), gc);
        // The second entry is checked too.
        assert_eq!(kind_of(&[2, 0x60, 0, 0, 0x4e, 0]), gc);
    }

    #[test]
    fn type_section_stays_malformed_where_it_was() {
        assert_eq!(kind_of(&[1, 0x60, 0, 0]), Ok(1));
        assert_eq!(kind_of(&[2, 0x60, 0, 0, 0x60, 1, 0x7f, 0]), Ok(2));
        // No type starts with 0x40.
        assert_eq!(kind_of(&[1, 0x40, 0, 0]), Err(ParseErrorKind::Malformed));
        // Fewer entries than declared, and more bytes than the entries use.
        assert_eq!(kind_of(&[2, 0x60, 0, 0]), Err(ParseErrorKind::Malformed));
        assert_eq!(
            kind_of(&[1, 0x60, 0, 0, 0x4e]),
            Err(ParseErrorKind::Malformed)
        );
    }
}
