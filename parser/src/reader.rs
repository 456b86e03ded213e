//! Section-by-section decoding of a binary module into [`Module`].

use wasmparser::{Parser, Payload};

use crate::error::ParseError;
use crate::features::Features;
use crate::instr::Instr;
use crate::module::{
    ConstExpr, CustomSection, DataMode, DataSegment, ElemItems, ElemMode, ElemSegment, Export,
    ExternKind, FuncBody, Global, Import, ImportKind, Module, Names,
};
use crate::operators::InstrBuilder;
use crate::types::{
    FuncIdx, FuncType, GlobalType, IndexType, Limits, MemIdx, MemoryType, TableIdx, TableType,
    TypeIdx,
};
use crate::{convert_ref_type, convert_val_type};

/// Where each known section may appear; sections must come in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SectionOrder {
    None,
    Type,
    Import,
    Function,
    Table,
    Memory,
    Global,
    Export,
    Start,
    Element,
    DataCount,
    Code,
    Data,
}

/// A capacity for `count` items read from `bytes` bytes: never more items than bytes.
fn bounded(count: u32, bytes: &std::ops::Range<u64>) -> usize {
    (count as usize).min(usize::try_from(bytes.end - bytes.start).unwrap_or(usize::MAX))
}

/// Parses a binary module with the given feature set.
///
/// # Errors
///
/// A [`ParseError`] if the bytes are malformed, truncated, or use a proposal
/// that `features` (or Kiln) does not support.
pub fn parse(bytes: &[u8], features: Features) -> Result<Module, ParseError> {
    let mut parser = Parser::new(0);
    parser.set_features(features.to_wasmparser());
    let mut module = Module::default();
    let mut order = SectionOrder::None;
    let mut code_count: Option<u32> = None;
    let mut instrs = InstrBuilder::new(features, Vec::new(), Vec::new());
    module.features = features;

    let next_section = |order: &mut SectionOrder, s: SectionOrder, offset: u64| {
        if s <= *order {
            return Err(ParseError::malformed(
                "unexpected content after last section",
                offset,
            ));
        }
        *order = s;
        Ok(())
    };

    for payload in parser.parse_all(bytes) {
        match payload? {
            Payload::Version {
                encoding, range, ..
            } => {
                if encoding != wasmparser::Encoding::Module {
                    return Err(ParseError::unsupported(
                        "component-model",
                        "a component",
                        range.start,
                    ));
                }
            }
            Payload::TypeSection(reader) => {
                next_section(&mut order, SectionOrder::Type, reader.range().start)?;
                module.section_offsets.types = reader.range().start;
                read_type_section(bytes, reader, &mut module)?;
            }
            Payload::ImportSection(reader) => {
                next_section(&mut order, SectionOrder::Import, reader.range().start)?;
                for group in reader.into_iter_with_offsets() {
                    let (offset, group) = group?;
                    let mut add = |module_name: &str, name: &str, ty: wasmparser::TypeRef| {
                        let kind = match ty {
                            wasmparser::TypeRef::Func(t) => {
                                module.num_imported_funcs += 1;
                                ImportKind::Func(TypeIdx(t))
                            }
                            wasmparser::TypeRef::Table(t) => {
                                module.num_imported_tables += 1;
                                ImportKind::Table(table_type(t, offset)?)
                            }
                            wasmparser::TypeRef::Memory(m) => {
                                module.num_imported_memories += 1;
                                ImportKind::Memory(memory_type(m, offset)?)
                            }
                            wasmparser::TypeRef::Global(g) => {
                                module.num_imported_globals += 1;
                                ImportKind::Global(global_type(g, offset)?)
                            }
                            wasmparser::TypeRef::Tag(_) => {
                                return Err(ParseError::unsupported(
                                    "exception-handling",
                                    "a tag import",
                                    offset,
                                ));
                            }
                            wasmparser::TypeRef::FuncExact(_) => {
                                return Err(ParseError::unsupported(
                                    "custom-descriptors",
                                    "an exact function import",
                                    offset,
                                ));
                            }
                        };
                        module.imports.push(Import {
                            module: module_name.to_owned(),
                            name: name.to_owned(),
                            kind,
                            offset,
                        });
                        Ok::<(), ParseError>(())
                    };
                    match group {
                        wasmparser::Imports::Single(_, imp) => add(imp.module, imp.name, imp.ty)?,
                        wasmparser::Imports::Compact1 { module: m, items } => {
                            for item in items {
                                let item = item?;
                                add(m, item.name, item.ty)?;
                            }
                        }
                        wasmparser::Imports::Compact2 {
                            module: m,
                            ty,
                            names,
                        } => {
                            for name in names {
                                add(m, name?, ty)?;
                            }
                        }
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                next_section(&mut order, SectionOrder::Function, reader.range().start)?;
                module.section_offsets.funcs = reader.range().start;
                module
                    .funcs
                    .reserve(bounded(reader.count(), &reader.range()));
                for t in reader {
                    module.funcs.push(TypeIdx(t?));
                }
            }
            Payload::TableSection(reader) => {
                next_section(&mut order, SectionOrder::Table, reader.range().start)?;
                module.section_offsets.tables = reader.range().start;
                for item in reader.into_iter_with_offsets() {
                    let (offset, table) = item?;
                    if let wasmparser::TableInit::Expr(_) = table.init {
                        return Err(ParseError::unsupported(
                            "function-references",
                            "a table initialiser",
                            offset,
                        ));
                    }
                    module.tables.push(table_type(table.ty, offset)?);
                }
            }
            Payload::MemorySection(reader) => {
                next_section(&mut order, SectionOrder::Memory, reader.range().start)?;
                module.section_offsets.memories = reader.range().start;
                for item in reader.into_iter_with_offsets() {
                    let (offset, m) = item?;
                    module.memories.push(memory_type(m, offset)?);
                }
            }
            Payload::TagSection(reader) => {
                return Err(ParseError::unsupported(
                    "exception-handling",
                    "a tag section",
                    reader.range().start,
                ));
            }
            Payload::GlobalSection(reader) => {
                next_section(&mut order, SectionOrder::Global, reader.range().start)?;
                for item in reader.into_iter_with_offsets() {
                    let (offset, g) = item?;
                    module.globals.push(Global {
                        ty: global_type(g.ty, offset)?,
                        init: const_expr(&mut instrs, &g.init_expr)?,
                    });
                }
            }
            Payload::ExportSection(reader) => {
                next_section(&mut order, SectionOrder::Export, reader.range().start)?;
                for item in reader.into_iter_with_offsets() {
                    let (offset, e) = item?;
                    let kind = match e.kind {
                        wasmparser::ExternalKind::Func => ExternKind::Func,
                        wasmparser::ExternalKind::Table => ExternKind::Table,
                        wasmparser::ExternalKind::Memory => ExternKind::Memory,
                        wasmparser::ExternalKind::Global => ExternKind::Global,
                        wasmparser::ExternalKind::Tag => {
                            return Err(ParseError::unsupported(
                                "exception-handling",
                                "a tag export",
                                offset,
                            ));
                        }
                        wasmparser::ExternalKind::FuncExact => {
                            return Err(ParseError::unsupported(
                                "custom-descriptors",
                                "an exact function export",
                                offset,
                            ));
                        }
                    };
                    module.exports.push(Export {
                        name: e.name.to_owned(),
                        kind,
                        index: e.index,
                        offset,
                    });
                }
            }
            Payload::StartSection { func, range } => {
                next_section(&mut order, SectionOrder::Start, range.start)?;
                module.start = Some(FuncIdx(func));
                module.start_offset = range.start;
            }
            Payload::ElementSection(reader) => {
                next_section(&mut order, SectionOrder::Element, reader.range().start)?;
                for item in reader.into_iter_with_offsets() {
                    let (offset, e) = item?;
                    let mode = match e.kind {
                        wasmparser::ElementKind::Passive => ElemMode::Passive,
                        wasmparser::ElementKind::Declared => ElemMode::Declared,
                        wasmparser::ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => ElemMode::Active {
                            table: TableIdx(table_index.unwrap_or(0)),
                            offset: const_expr(&mut instrs, &offset_expr)?,
                        },
                    };
                    let (ty, items) = match e.items {
                        wasmparser::ElementItems::Functions(funcs) => {
                            let mut list =
                                Vec::with_capacity(bounded(funcs.count(), &funcs.range()));
                            for f in funcs {
                                list.push(FuncIdx(f?));
                            }
                            (
                                crate::RefType::FuncRef,
                                ElemItems::Funcs(list.into_boxed_slice()),
                            )
                        }
                        wasmparser::ElementItems::Expressions(ty, exprs) => {
                            let ty = convert_ref_type(ty, offset)?;
                            let mut list =
                                Vec::with_capacity(bounded(exprs.count(), &exprs.range()));
                            for expr in exprs {
                                list.push(const_expr(&mut instrs, &expr?)?);
                            }
                            (ty, ElemItems::Exprs(list.into_boxed_slice()))
                        }
                    };
                    module.elems.push(ElemSegment {
                        ty,
                        mode,
                        items,
                        offset,
                    });
                }
            }
            Payload::DataCountSection { count, range } => {
                next_section(&mut order, SectionOrder::DataCount, range.start)?;
                module.data_count = Some(count);
            }
            Payload::CodeSectionStart {
                count,
                unchecked_range: range,
                ..
            } => {
                next_section(&mut order, SectionOrder::Code, range.start)?;
                code_count = Some(count);
                if count as usize != module.funcs.len() {
                    return Err(ParseError::malformed(
                        "function and code section have inconsistent lengths",
                        range.start,
                    ));
                }
                module.code.reserve(bounded(count, &range));
                // The bodies' operators are decoded from this copy later.
                let section = usize::try_from(range.start)
                    .ok()
                    .zip(usize::try_from(range.end).ok())
                    .and_then(|(start, end)| bytes.get(start..end))
                    .ok_or_else(|| {
                        ParseError::malformed("unexpected end of section or function", range.start)
                    })?;
                module.code_bytes = section.into();
                module.code_bytes_offset = range.start;
            }
            Payload::CodeSectionEntry(body) => {
                let func = read_body(&body)?;
                module.code.push(func);
            }
            Payload::DataSection(reader) => {
                next_section(&mut order, SectionOrder::Data, reader.range().start)?;
                if let Some(n) = module.data_count
                    && n != reader.count()
                {
                    return Err(ParseError::malformed(
                        "data count and data section have inconsistent lengths",
                        reader.range().start,
                    ));
                }
                module
                    .datas
                    .reserve(bounded(reader.count(), &reader.range()));
                for item in reader {
                    let d = item?;
                    let offset = d.range.start;
                    let mode = match d.kind {
                        wasmparser::DataKind::Passive => DataMode::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => DataMode::Active {
                            memory: MemIdx(memory_index),
                            offset: const_expr(&mut instrs, &offset_expr)?,
                        },
                    };
                    module.datas.push(DataSegment {
                        mode,
                        bytes: d.data.into(),
                        offset,
                    });
                }
            }
            Payload::CustomSection(reader) => {
                // Kept as bytes, the `name` section too: nothing on the way to
                // running a module reads names (see `Module::names`).
                module.customs.push(CustomSection {
                    name: reader.name().to_owned(),
                    data: reader.data().into(),
                });
            }
            Payload::UnknownSection { id, range, .. } => {
                return Err(ParseError::malformed(
                    format!("malformed section id {id}"),
                    range.start,
                ));
            }
            Payload::End(offset) => {
                if module.funcs.len() != module.code.len() {
                    return Err(ParseError::malformed(
                        "function and code section have inconsistent lengths",
                        offset,
                    ));
                }
                if code_count.is_none() && !module.funcs.is_empty() {
                    return Err(ParseError::malformed(
                        "function and code section have inconsistent lengths",
                        offset,
                    ));
                }
                if let Some(n) = module.data_count
                    && n as usize != module.datas.len()
                {
                    return Err(ParseError::malformed(
                        "data count and data section have inconsistent lengths",
                        offset,
                    ));
                }
                // Bodies are checked for this when they are decoded.
                if instrs.uses_data_count && module.data_count.is_none() {
                    return Err(ParseError::malformed("data count section required", offset));
                }
                module.const_exprs_use_v128 = instrs.uses_v128;
            }
            other => {
                let offset = other.as_section().map_or(0, |(_, r)| r.start);
                return Err(ParseError::unsupported(
                    "component-model",
                    "a component section",
                    offset,
                ));
            }
        }
    }
    Ok(module)
}

/// The proposal and construct that a type-section entry starting with `byte`
/// belongs to, for the type encodings Kiln does not implement. `None` for a
/// function type (`0x60`), the only one of 2.0, and for bytes that start no
/// type at all, which `wasmparser` then rejects as malformed.
fn unsupported_type_prefix(byte: u8) -> Option<(&'static str, &'static str)> {
    match byte {
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

/// Reads the type section into `module.types`.
///
/// Each entry's leading byte is checked before `wasmparser` decodes the entry:
/// a recursion group declares a count that `wasmparser` reserves room for
/// before reading a single type (about 100 bytes a type, up to a million
/// types), so a few bytes would otherwise buy a hundred megabytes only to be
/// rejected as GC afterwards.
fn read_type_section(
    bytes: &[u8],
    reader: wasmparser::TypeSectionReader<'_>,
    module: &mut Module,
) -> Result<(), ParseError> {
    module
        .types
        .reserve(bounded(reader.count(), &reader.range()));
    let mut entries = reader.into_iter();
    loop {
        // The parser starts at offset 0 of `bytes`, so positions index `bytes`.
        let offset = entries.original_position();
        if entries.len() > 0
            && let Some(&byte) = usize::try_from(offset).ok().and_then(|i| bytes.get(i))
            && let Some((proposal, what)) = unsupported_type_prefix(byte)
        {
            return Err(ParseError::unsupported(proposal, what, offset));
        }
        let Some(group) = entries.next() else {
            return Ok(());
        };
        let group = group?;
        // Unreachable after the prefix check above, but cheap, and correct
        // should `wasmparser` learn encodings that list does not know.
        if group.is_explicit_rec_group() {
            return Err(ParseError::unsupported("gc", "a recursion group", offset));
        }
        for sub in group.into_types() {
            if !sub.is_final || !sub.supertype_idxs.is_empty() {
                return Err(ParseError::unsupported("gc", "a subtype", offset));
            }
            if sub.composite_type.shared {
                return Err(ParseError::unsupported(
                    "shared-everything-threads",
                    "a shared type",
                    offset,
                ));
            }
            let wasmparser::CompositeInnerType::Func(f) = &sub.composite_type.inner else {
                return Err(ParseError::unsupported("gc", "a non-function type", offset));
            };
            let convert = |tys: &[wasmparser::ValType]| {
                tys.iter()
                    .map(|&t| convert_val_type(t, offset))
                    .collect::<Result<Box<[_]>, _>>()
            };
            module.types.push(FuncType {
                params: convert(f.params())?,
                results: convert(f.results())?,
            });
        }
    }
}

fn limits(min: u64, max: Option<u64>) -> Limits {
    Limits { min, max }
}

fn index_type(is64: bool) -> IndexType {
    if is64 { IndexType::I64 } else { IndexType::I32 }
}

fn table_type(t: wasmparser::TableType, offset: u64) -> Result<TableType, ParseError> {
    if t.shared {
        return Err(ParseError::unsupported(
            "shared-everything-threads",
            "a shared table",
            offset,
        ));
    }
    Ok(TableType {
        element: convert_ref_type(t.element_type, offset)?,
        limits: limits(t.initial, t.maximum),
        index: index_type(t.table64),
    })
}

fn memory_type(m: wasmparser::MemoryType, offset: u64) -> Result<MemoryType, ParseError> {
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

fn global_type(g: wasmparser::GlobalType, offset: u64) -> Result<GlobalType, ParseError> {
    if g.shared {
        return Err(ParseError::unsupported(
            "shared-everything-threads",
            "a shared global",
            offset,
        ));
    }
    Ok(GlobalType {
        content: convert_val_type(g.content_type, offset)?,
        mutable: g.mutable,
    })
}

fn const_expr(
    instrs: &mut InstrBuilder<Vec<Instr>>,
    expr: &wasmparser::ConstExpr<'_>,
) -> Result<ConstExpr, ParseError> {
    Ok(ConstExpr {
        offset: expr.get_binary_reader().original_position(),
        instrs: instrs.read_const_expr(expr)?,
    })
}

/// Reads a body's locals and notes where its operators are; they are
/// decoded later (see `body.rs`).
fn read_body(body: &wasmparser::FunctionBody<'_>) -> Result<FuncBody, ParseError> {
    let offset = body.range().start;
    let mut locals_reader = body.get_locals_reader()?;
    let n = locals_reader.get_count();
    let mut locals = Vec::with_capacity(bounded(n, &body.range()));
    for _ in 0..n {
        let pos = locals_reader.original_position();
        let (count, ty) = locals_reader.read()?;
        locals.push((count, convert_val_type(ty, pos)?));
    }
    Ok(FuncBody {
        locals: locals.into_boxed_slice(),
        offset,
        operators: locals_reader.original_position()..body.range().end,
    })
}

impl Module {
    /// The module's `name` section, decoded best-effort (empty if absent or
    /// undecodable: custom sections never make a module invalid). Decoded on
    /// each call.
    pub fn names(&self) -> Names {
        match self.customs.iter().find(|c| c.name == "name") {
            Some(section) => read_names(wasmparser::NameSectionReader::new(
                wasmparser::BinaryReader::new(&section.data, 0),
            )),
            None => Names::default(),
        }
    }
}

/// Decodes the `name` section best-effort: custom sections never make a module invalid.
fn read_names(reader: wasmparser::NameSectionReader<'_>) -> Names {
    let mut names = Names::default();
    for sub in reader {
        let Ok(sub) = sub else { break };
        match sub {
            wasmparser::Name::Module { name, .. } => names.module = Some(name.to_owned()),
            wasmparser::Name::Function(map) => {
                for n in map.into_iter().flatten() {
                    names.funcs.insert(n.index, n.name.to_owned());
                }
            }
            wasmparser::Name::Local(map) => {
                for f in map.into_iter().flatten() {
                    let entry = names.locals.entry(f.index).or_default();
                    for n in f.names.flatten() {
                        entry.insert(n.index, n.name.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ParseErrorKind;

    /// A module of one type section with `contents` (count and entries).
    fn with_types(contents: &[u8]) -> Vec<u8> {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.push(1);
        bytes.push(u8::try_from(contents.len()).expect("short section"));
        bytes.extend_from_slice(contents);
        bytes
    }

    fn kind_of(contents: &[u8]) -> Result<usize, ParseErrorKind> {
        parse(&with_types(contents), Features::ALL)
            .map(|m| m.types.len())
            .map_err(|e| e.kind())
    }

    #[test]
    fn names_are_decoded_on_demand() {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.extend([1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10, 4, 1, 2, 0, 0x0b]);
        // A `name` section: module name "m", function 0 named "f".
        let mut payload = vec![4];
        payload.extend(b"name");
        payload.extend([0, 2, 1, b'm', 1, 4, 1, 0, 1, b'f']);
        bytes.extend([0, u8::try_from(payload.len()).expect("short section")]);
        bytes.extend(payload);
        let module = parse(&bytes, Features::ALL).expect("parses");
        assert_eq!(module.customs.len(), 1);
        let names = module.names();
        assert_eq!(names.module.as_deref(), Some("m"));
        assert_eq!(names.funcs.get(&0).map(String::as_str), Some("f"));
        // The same module without its `name` section (the first 24 bytes).
        let without = parse(&bytes[..24], Features::ALL).expect("parses");
        assert_eq!(without.names(), Names::default());
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

    /// Bodies are split into contiguous ranges of about equal operator bytes,
    /// covering every body once, in order.
    #[test]
    fn bodies_split_into_contiguous_ranges_of_about_equal_size() {
        // Four `[] -> []` functions whose bodies are 10, 10, 10 and 30 `nop`s.
        let nops = [10usize, 10, 10, 30];
        let mut code = vec![nops.len() as u8];
        for &n in &nops {
            code.push(u8::try_from(n + 2).expect("short body"));
            code.push(0);
            code.extend(std::iter::repeat_n(0x01, n));
            code.push(0x0b);
        }
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.extend([1, 4, 1, 0x60, 0, 0, 3, 5, 4, 0, 0, 0, 0, 10]);
        bytes.push(u8::try_from(code.len()).expect("short section"));
        bytes.extend(code);
        let module = parse(&bytes, Features::ALL).expect("parses");
        assert_eq!(module.code_size(), 64);
        assert_eq!(module.split_bodies(1), vec![0..4]);
        assert_eq!(module.split_bodies(2), vec![0..3, 3..4]);
        assert_eq!(module.split_bodies(4), vec![0..2, 2..4]);
        assert_eq!(module.split_bodies(9), vec![0..1, 1..2, 2..3, 3..4]);
    }
}
