//! Values, references and their raw encodings.

use kiln_parser::{HeapType, RefType, ValType};

/// A function's address in its store (a `u32` in memory, so compiled code can
/// read a slice of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct FuncAddr(pub u32);

impl FuncAddr {
    /// The address as a `usize`.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A host value's address in its store (what an `externref` points to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExternAddr(pub u32);

/// A reference of the `any` hierarchy that is not null: an `i31`, a GC
/// object, or a host value made an `anyref` by `any.convert_extern`, as its
/// 32 bits (see [`AnyRef`], which reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GcRef(pub u32);

impl GcRef {
    /// What the reference is.
    pub fn decode(self) -> AnyRef {
        AnyRef::decode(RawRef(self.0))
    }
}

/// An exception's address in its store (what an `exnref` points to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExnAddr(pub u32);

impl ExnAddr {
    /// The address as a `usize`.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A reference as tables and the interpreter hold it: 0 is null. A
/// `funcref` or an `exnref` is its address plus one, the type saying which
/// store vector the address indexes; a reference of the `any` or `extern`
/// hierarchy is encoded as [`AnyRef`] describes (a host value's
/// address in the upper 30 bits, ending in `10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct RawRef(pub u32);

impl RawRef {
    /// The null reference.
    pub const NULL: RawRef = RawRef(0);

    /// A reference to address `addr`.
    pub fn from_addr(addr: u32) -> RawRef {
        RawRef(addr.wrapping_add(1))
    }

    /// The address, or `None` for null.
    pub fn addr(self) -> Option<u32> {
        self.0.checked_sub(1)
    }

    /// Whether this is the null reference.
    pub fn is_null(self) -> bool {
        self.0 == 0
    }
}

/// A WebAssembly value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as raw bits (so NaN payloads survive).
    F32(u32),
    /// An `f64`, as raw bits.
    F64(u64),
    /// A `v128`.
    V128(u128),
    /// A `funcref`: null or a function of the store.
    FuncRef(Option<FuncAddr>),
    /// An `externref`: null or a host value of the store.
    ExternRef(Option<ExternAddr>),
    /// An `exnref`: null or an exception of the store.
    ExnRef(Option<ExnAddr>),
    /// A reference of the `any` hierarchy (`anyref`, `eqref`, `i31ref`,
    /// struct and array references): null or a [`GcRef`]. An `externref`
    /// made by `extern.convert_any` of one is read as this too.
    AnyRef(Option<GcRef>),
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FUNCREF,
            Val::ExternRef(_) => ValType::EXTERNREF,
            Val::ExnRef(_) => ValType::EXNREF,
            Val::AnyRef(_) => ValType::Ref(RefType::null(HeapType::Any)),
        }
    }

    /// The zero value of a type (null for references), as locals start.
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) => Val::null(r),
        }
    }

    /// The null reference of a reference type. (A concrete struct or array
    /// type is filed under `func` here; [`crate::Store::val_from_bits`]
    /// knows better.)
    pub fn null(ty: RefType) -> Val {
        match ty.heap.top() {
            HeapType::Extern => Val::ExternRef(None),
            HeapType::Exn => Val::ExnRef(None),
            HeapType::Any => Val::AnyRef(None),
            _ => Val::FuncRef(None),
        }
    }

    /// The value's bits, zero-extended; references use [`RawRef`]'s encoding.
    pub fn to_bits(&self) -> u128 {
        match *self {
            Val::I32(v) => u128::from(v as u32),
            Val::I64(v) => u128::from(v as u64),
            Val::F32(v) => u128::from(v),
            Val::F64(v) => u128::from(v),
            Val::V128(v) => v,
            Val::FuncRef(r) => u128::from(r.map_or(RawRef::NULL, |a| RawRef::from_addr(a.0)).0),
            Val::ExternRef(r) => u128::from(r.map_or(0, |a| AnyRef::Host(a.0).encode().0)),
            Val::ExnRef(r) => u128::from(r.map_or(RawRef::NULL, |a| RawRef::from_addr(a.0)).0),
            Val::AnyRef(r) => u128::from(r.map_or(0, |g| g.0)),
        }
    }

    /// The value of type `ty` whose bits are `bits` (the inverse of
    /// [`Val::to_bits`]). A concrete struct or array type is filed under
    /// `func` here, as [`Val::null`] says; the bits survive the round trip
    /// either way.
    pub fn from_bits(ty: ValType, bits: u128) -> Val {
        match ty {
            ValType::I32 => Val::I32(bits as u32 as i32),
            ValType::I64 => Val::I64(bits as u64 as i64),
            ValType::F32 => Val::F32(bits as u32),
            ValType::F64 => Val::F64(bits as u64),
            ValType::V128 => Val::V128(bits),
            ValType::Ref(r) => Val::ref_from_bits(r.heap.top(), RawRef(bits as u32)),
        }
    }

    /// The reference whose bits are `raw`, in the hierarchy whose top is
    /// `top` (`func`, `extern`, `exn` or `any`).
    pub fn ref_from_bits(top: HeapType, raw: RawRef) -> Val {
        let addr = raw.addr();
        match top {
            HeapType::Exn => Val::ExnRef(addr.map(ExnAddr)),
            HeapType::Any => Val::AnyRef((!raw.is_null()).then_some(GcRef(raw.0))),
            HeapType::Extern => match AnyRef::decode(raw) {
                AnyRef::Null => Val::ExternRef(None),
                AnyRef::Host(a) => Val::ExternRef(Some(ExternAddr(a))),
                // `extern.convert_any` of a GC value.
                AnyRef::I31(_) | AnyRef::Object(_) => Val::AnyRef(Some(GcRef(raw.0))),
            },
            _ => Val::FuncRef(addr.map(FuncAddr)),
        }
    }
}

/// A store-wide identifier of a function signature: two functions have the
/// same type exactly when their `SigId`s are equal, so `call_indirect` compares
/// integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SigId(pub u32);

impl SigId {
    /// The id as a `usize`.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The most GC objects a store holds at once: their indices have 30 bits.
pub const MAX_OBJECTS: u32 = (1 << 30) - 1;

/// The index of a GC object in its store's heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjIdx(pub u32);

impl ObjIdx {
    /// The index as a `usize`.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// How a reference of the `any` hierarchy is held in a [`RawRef`]'s 32
/// bits: `0` null; odd an `i31`, its value in the upper 31 bits (`value << 1
/// | 1`); ending in `10` a host value (`any.convert_extern` of an
/// `externref`), its address in the upper 30 bits; ending in `00`, not zero,
/// a GC object, its index plus one in the upper 30 bits. One encoding for
/// `any` and `extern` makes `any.convert_extern` and `extern.convert_any`
/// the identity on bits, so a value converted back and forth stays itself
/// (`ref.eq`, casts) without a table of conversions.
///
/// What a reference of the `any` (or `extern`) hierarchy refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnyRef {
    /// The null reference.
    Null,
    /// An unboxed 31-bit integer, sign-extended to 32 bits.
    I31(i32),
    /// A host value: an address among the store's externs.
    Host(u32),
    /// A GC object.
    Object(ObjIdx),
}

impl AnyRef {
    /// Reads `raw`.
    #[inline]
    pub fn decode(raw: RawRef) -> AnyRef {
        let bits = raw.0;
        if bits == 0 {
            AnyRef::Null
        } else if bits & 1 == 1 {
            AnyRef::I31((bits as i32) >> 1)
        } else if bits & 2 == 2 {
            AnyRef::Host(bits >> 2)
        } else {
            AnyRef::Object(ObjIdx((bits >> 2) - 1))
        }
    }

    /// The bits of this reference. An `I31`'s value keeps its low 31 bits;
    /// a host address or an object index keeps its low 30 (see
    /// [`MAX_OBJECTS`]).
    #[inline]
    pub fn encode(self) -> RawRef {
        RawRef(match self {
            AnyRef::Null => 0,
            AnyRef::I31(v) => (v as u32) << 1 | 1,
            AnyRef::Host(addr) => addr << 2 | 2,
            AnyRef::Object(ObjIdx(i)) => (i + 1) << 2,
        })
    }

    /// `ref.i31`: the low 31 bits of `value`.
    #[inline]
    pub fn i31(value: u32) -> RawRef {
        RawRef(value << 1 | 1)
    }

    /// `i31.get_s` (`signed`) or `i31.get_u` of an `i31` reference's bits.
    #[inline]
    pub fn i31_value(raw: RawRef, signed: bool) -> u32 {
        if signed {
            ((raw.0 as i32) >> 1) as u32
        } else {
            raw.0 >> 1
        }
    }

    /// The object `raw` refers to, if it is one.
    #[inline]
    pub fn object(raw: RawRef) -> Option<ObjIdx> {
        match AnyRef::decode(raw) {
            AnyRef::Object(o) => Some(o),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip() {
        let vals = [
            Val::I32(-1),
            Val::I64(i64::MIN),
            Val::F32(0x7fc0_0001),
            Val::F64(0xfff8_0000_0000_0001),
            Val::V128(u128::MAX - 5),
            Val::FuncRef(None),
            Val::FuncRef(Some(FuncAddr(0))),
            Val::ExternRef(Some(ExternAddr(41))),
            Val::ExternRef(None),
            Val::ExnRef(Some(ExnAddr(7))),
            Val::AnyRef(None),
            Val::AnyRef(Some(GcRef(AnyRef::i31(5).0))),
            Val::AnyRef(Some(GcRef(AnyRef::Host(3).encode().0))),
        ];
        for v in vals {
            assert_eq!(Val::from_bits(v.ty(), v.to_bits()), v);
        }
    }

    #[test]
    fn externs_and_any_share_an_encoding() {
        // A host value is the same bits as an externref and as an anyref.
        let host = Val::ExternRef(Some(ExternAddr(9)));
        let bits = host.to_bits();
        assert_eq!(AnyRef::decode(RawRef(bits as u32)), AnyRef::Host(9));
        let any = Val::from_bits(ValType::Ref(RefType::null(HeapType::Any)), bits);
        assert_eq!(any, Val::AnyRef(Some(GcRef(bits as u32))));
        assert_eq!(any.to_bits(), bits);
        // A GC value seen as an externref (`extern.convert_any`) reads as itself.
        let i31 = AnyRef::i31(7).0;
        assert_eq!(
            Val::from_bits(ValType::EXTERNREF, u128::from(i31)),
            Val::AnyRef(Some(GcRef(i31)))
        );
    }

    #[test]
    fn every_kind_round_trips() {
        for r in [
            AnyRef::Null,
            AnyRef::I31(0),
            AnyRef::I31(-1),
            AnyRef::I31((1 << 30) - 1),
            AnyRef::I31(-(1 << 30)),
            AnyRef::Host(0),
            AnyRef::Host((1 << 30) - 1),
            AnyRef::Object(ObjIdx(0)),
            AnyRef::Object(ObjIdx(MAX_OBJECTS - 1)),
        ] {
            assert_eq!(AnyRef::decode(r.encode()), r, "{r:?}");
        }
        // Only null is zero.
        assert_eq!(AnyRef::Null.encode(), RawRef::NULL);
        assert_ne!(AnyRef::I31(0).encode(), RawRef::NULL);
        assert_ne!(AnyRef::Host(0).encode(), RawRef::NULL);
    }

    #[test]
    fn i31_keeps_31_bits_and_extends_on_reading() {
        let r = AnyRef::i31(0xffff_ffff);
        assert_eq!(AnyRef::i31_value(r, true), 0xffff_ffff);
        assert_eq!(AnyRef::i31_value(r, false), 0x7fff_ffff);
        let r = AnyRef::i31(0x4000_0000);
        assert_eq!(AnyRef::i31_value(r, true) as i32, -(1 << 30));
        assert_eq!(AnyRef::i31_value(r, false), 0x4000_0000);
        assert_eq!(AnyRef::decode(r), AnyRef::I31(-(1 << 30)));
    }
}
