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

/// A reference as tables and the interpreter hold it: 0 is null, otherwise the
/// address plus one. `funcref` and `externref` use the same encoding; the type
/// says which store vector the address indexes.
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

    /// The null reference of a reference type.
    pub fn null(ty: RefType) -> Val {
        match ty.heap.top() {
            HeapType::Extern => Val::ExternRef(None),
            HeapType::Exn => Val::ExnRef(None),
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
            Val::ExternRef(r) => u128::from(r.map_or(RawRef::NULL, |a| RawRef::from_addr(a.0)).0),
            Val::ExnRef(r) => u128::from(r.map_or(RawRef::NULL, |a| RawRef::from_addr(a.0)).0),
        }
    }

    /// The value of type `ty` whose bits are `bits` (the inverse of [`Val::to_bits`]).
    pub fn from_bits(ty: ValType, bits: u128) -> Val {
        match ty {
            ValType::I32 => Val::I32(bits as u32 as i32),
            ValType::I64 => Val::I64(bits as u64 as i64),
            ValType::F32 => Val::F32(bits as u32),
            ValType::F64 => Val::F64(bits as u64),
            ValType::V128 => Val::V128(bits),
            ValType::Ref(r) => {
                let addr = RawRef(bits as u32).addr();
                match r.heap.top() {
                    HeapType::Extern => Val::ExternRef(addr.map(ExternAddr)),
                    HeapType::Exn => Val::ExnRef(addr.map(ExnAddr)),
                    _ => Val::FuncRef(addr.map(FuncAddr)),
                }
            }
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
            Val::ExnRef(Some(ExnAddr(7))),
        ];
        for v in vals {
            assert_eq!(Val::from_bits(v.ty(), v.to_bits()), v);
        }
    }
}
