//! Where the fields of a struct, and the elements of an array, lie in an
//! object's bytes, and how they are read and written.
//!
//! Fields are stored little-endian at their natural size (1, 2, 4, 8 or 16
//! bytes; a reference is its 4-byte [`RawRef`]), each aligned to its size
//! up to 8, in declaration order. An array's elements follow one another.

use kiln_parser::{CompositeType, FieldRead, FieldType, RefType, StorageType, ValType};

use crate::value::RawRef;

/// How one field or element is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageKind {
    /// A packed 8-bit integer.
    I8,
    /// A packed 16-bit integer.
    I16,
    /// An `i32` or an `f32`.
    B32,
    /// An `i64` or an `f64`.
    B64,
    /// A `v128`.
    V128,
    /// A reference of the `any` or `extern` hierarchy, as its [`RawRef`]
    /// bits: a GC object, maybe, which the collector traces.
    GcRef,
    /// A function or exception reference, as its [`RawRef`] bits (an
    /// address, never a GC object: not traced).
    Ref,
}

impl StorageKind {
    /// The kind a storage type is stored as; `is_gc` says whether a
    /// reference type is of the `any` or `extern` hierarchy (which needs
    /// the store for a concrete type).
    pub fn of(t: StorageType, is_gc: &dyn Fn(RefType) -> bool) -> StorageKind {
        match t {
            StorageType::Val(ValType::Ref(r)) if is_gc(r) => StorageKind::GcRef,
            StorageType::I8 => StorageKind::I8,
            StorageType::I16 => StorageKind::I16,
            StorageType::Val(ValType::I32 | ValType::F32) => StorageKind::B32,
            StorageType::Val(ValType::I64 | ValType::F64) => StorageKind::B64,
            StorageType::Val(ValType::V128) => StorageKind::V128,
            StorageType::Val(ValType::Ref(_)) => StorageKind::Ref,
        }
    }

    /// Its size in bytes.
    #[inline]
    pub fn size(self) -> usize {
        match self {
            StorageKind::I8 => 1,
            StorageKind::I16 => 2,
            StorageKind::B32 | StorageKind::GcRef | StorageKind::Ref => 4,
            StorageKind::B64 => 8,
            StorageKind::V128 => 16,
        }
    }

    /// Reads the value at `bytes[..size]`: its bits, zero-extended, or for
    /// a packed integer read with [`FieldRead::Signed`], sign-extended to
    /// 32 bits.
    #[inline]
    pub fn read(self, bytes: &[u8], how: FieldRead) -> u128 {
        let mut buf = [0u8; 16];
        buf[..self.size()].copy_from_slice(&bytes[..self.size()]);
        let bits = u128::from_le_bytes(buf);
        match (self, how) {
            (StorageKind::I8, FieldRead::Signed) => u128::from(bits as u8 as i8 as i32 as u32),
            (StorageKind::I16, FieldRead::Signed) => u128::from(bits as u16 as i16 as i32 as u32),
            _ => bits,
        }
    }

    /// Writes `bits` (truncated to the field: a packed integer keeps its low
    /// 8 or 16 bits) at `bytes[..size]`.
    #[inline]
    pub fn write(self, bytes: &mut [u8], bits: u128) {
        let size = self.size();
        bytes[..size].copy_from_slice(&bits.to_le_bytes()[..size]);
    }
}

/// One field of a struct: where it is and how it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldLayout {
    /// Its offset in the object's bytes.
    pub offset: u32,
    /// How it is stored.
    pub kind: StorageKind,
}

/// The layout of every object of one struct or array type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Layout {
    /// A struct: its fields in order, its size, and the offsets of its
    /// `any`/`extern` reference fields (which the collector traces).
    Struct {
        /// Each field.
        fields: Box<[FieldLayout]>,
        /// The bytes an object of the type holds.
        size: u32,
        /// The offsets of the fields the collector traces (`GcRef`).
        refs: Box<[u32]>,
    },
    /// An array: how each element is stored.
    Array(StorageKind),
}

impl Layout {
    /// The layout of a struct or array type (`is_gc` as for
    /// [`StorageKind::of`]); `None` for a function type.
    pub fn of(ty: &CompositeType, is_gc: &dyn Fn(RefType) -> bool) -> Option<Layout> {
        match ty {
            CompositeType::Func(_) => None,
            CompositeType::Array(elem) => Some(Layout::Array(StorageKind::of(elem.storage, is_gc))),
            CompositeType::Struct(fields) => Some(struct_layout(fields, is_gc)),
        }
    }

    /// Whether this is an array's layout.
    #[inline]
    pub fn is_array(&self) -> bool {
        matches!(self, Layout::Array(_))
    }

    /// The bytes an object of this layout holds: a struct's size, or `len`
    /// elements (saturating, so an absurd length is simply too large).
    #[inline]
    pub fn data_size(&self, len: u32) -> u64 {
        match self {
            Layout::Struct { size, .. } => u64::from(*size),
            Layout::Array(kind) => u64::from(len).saturating_mul(kind.size() as u64),
        }
    }
}

fn struct_layout(fields: &[FieldType], is_gc: &dyn Fn(RefType) -> bool) -> Layout {
    let mut offset = 0usize;
    let mut out = Vec::with_capacity(fields.len());
    let mut refs = Vec::new();
    for f in fields {
        let kind = StorageKind::of(f.storage, is_gc);
        let align = kind.size().min(8);
        offset = offset.next_multiple_of(align);
        if kind == StorageKind::GcRef {
            refs.push(offset as u32);
        }
        out.push(FieldLayout {
            offset: offset as u32,
            kind,
        });
        offset += kind.size();
    }
    Layout::Struct {
        fields: out.into_boxed_slice(),
        size: offset as u32,
        refs: refs.into_boxed_slice(),
    }
}

/// The reference at `bytes[..4]`.
#[inline]
pub(crate) fn read_ref(bytes: &[u8]) -> RawRef {
    RawRef(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The `any` and `extern` hierarchies, abstract types only.
    pub(crate) fn gc_refs(r: RefType) -> bool {
        matches!(
            r.heap.top(),
            kiln_parser::HeapType::Any | kiln_parser::HeapType::Extern
        )
    }

    fn field(storage: StorageType) -> FieldType {
        FieldType {
            storage,
            mutable: true,
        }
    }

    #[test]
    fn struct_fields_are_aligned_in_order() {
        let ty = CompositeType::Struct(
            [
                field(StorageType::I8),
                field(StorageType::Val(ValType::I64)),
                field(StorageType::I16),
                field(StorageType::Val(ValType::Ref(RefType::FUNCREF))),
                field(StorageType::Val(ValType::V128)),
                field(StorageType::Val(ValType::EXTERNREF)),
            ]
            .into(),
        );
        let Some(Layout::Struct { fields, size, refs }) = Layout::of(&ty, &gc_refs) else {
            panic!("a struct layout");
        };
        let offsets: Vec<u32> = fields.iter().map(|f| f.offset).collect();
        assert_eq!(offsets, [0, 8, 16, 20, 24, 40]);
        assert_eq!(size, 44);
        // Only the `externref` is traced: a `funcref` is an address.
        assert_eq!(&*refs, &[40]);
        assert_eq!(fields[3].kind, StorageKind::Ref);
        assert_eq!(fields[5].kind, StorageKind::GcRef);
    }

    #[test]
    fn packed_fields_truncate_and_extend() {
        let mut bytes = [0u8; 2];
        StorageKind::I8.write(&mut bytes, 0x1ff);
        assert_eq!(bytes[0], 0xff);
        assert_eq!(StorageKind::I8.read(&bytes, FieldRead::Unsigned), 0xff);
        assert_eq!(StorageKind::I8.read(&bytes, FieldRead::Signed), 0xffff_ffff);
        StorageKind::I16.write(&mut bytes, 0x8001);
        assert_eq!(
            StorageKind::I16.read(&bytes, FieldRead::Signed),
            0xffff_8001
        );
        assert_eq!(StorageKind::I16.read(&bytes, FieldRead::Unsigned), 0x8001);
        let mut wide = [0u8; 16];
        StorageKind::V128.write(&mut wide, u128::MAX - 5);
        assert_eq!(
            StorageKind::V128.read(&wide, FieldRead::Plain),
            u128::MAX - 5
        );
    }

    #[test]
    fn array_sizes_saturate() {
        let layout = Layout::Array(StorageKind::V128);
        assert_eq!(layout.data_size(3), 48);
        assert_eq!(layout.data_size(u32::MAX), u64::from(u32::MAX) * 16);
    }
}
