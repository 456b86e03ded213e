//! The type representations of `wasm.h`: value types and limits here;
//! function, global, table, memory and extern types in [`externtype`];
//! import and export types in [`importexport`].
//!
//! Each C type object owns a Kiln type ([`kiln::ValType`], [`kiln::FuncType`],
//! ...) and, where the standard hands out pointers into the object (a
//! function type's parameter vector, a table type's limits), the C form of
//! that part too, built when the object is.

pub(crate) mod externtype;
pub(crate) mod importexport;

use kiln::{HeapType, Limits, RefType, ValType};

use crate::ffi::{declare_delete, guard, into_c};
use crate::vec::declare_vec;

/// `wasm_valkind_t`: a value type's kind, as a byte.
pub type wasm_valkind_t = u8;

/// `WASM_I32`.
pub const WASM_I32: wasm_valkind_t = 0;
/// `WASM_I64`.
pub const WASM_I64: wasm_valkind_t = 1;
/// `WASM_F32`.
pub const WASM_F32: wasm_valkind_t = 2;
/// `WASM_F64`.
pub const WASM_F64: wasm_valkind_t = 3;
/// `KILN_V128` (kiln.h): a 128-bit vector, which `wasm_val_t` cannot hold.
pub const KILN_V128: wasm_valkind_t = 4;
/// `WASM_EXTERNREF`.
pub const WASM_EXTERNREF: wasm_valkind_t = 128;
/// `WASM_FUNCREF`.
pub const WASM_FUNCREF: wasm_valkind_t = 129;
/// `KILN_EXNREF` (kiln.h): an exception reference.
pub const KILN_EXNREF: wasm_valkind_t = 130;

/// The kind C sees for a Kiln value type. Reference types report their
/// hierarchy: every function reference type (typed ones included) is
/// `WASM_FUNCREF`, every extern reference `WASM_EXTERNREF`.
pub(crate) fn kind_of(ty: ValType) -> wasm_valkind_t {
    match ty {
        ValType::I32 => WASM_I32,
        ValType::I64 => WASM_I64,
        ValType::F32 => WASM_F32,
        ValType::F64 => WASM_F64,
        ValType::V128 => KILN_V128,
        ValType::Ref(r) => match r.heap {
            HeapType::Extern | HeapType::NoExtern => WASM_EXTERNREF,
            HeapType::Exn | HeapType::NoExn => KILN_EXNREF,
            _ => WASM_FUNCREF,
        },
    }
}

/// The Kiln value type of a kind, if the kind is one.
pub(crate) fn type_of(kind: wasm_valkind_t) -> Option<ValType> {
    Some(match kind {
        WASM_I32 => ValType::I32,
        WASM_I64 => ValType::I64,
        WASM_F32 => ValType::F32,
        WASM_F64 => ValType::F64,
        KILN_V128 => ValType::V128,
        WASM_EXTERNREF => ValType::EXTERNREF,
        WASM_FUNCREF => ValType::FUNCREF,
        KILN_EXNREF => ValType::EXNREF,
        _ => return None,
    })
}

/// `wasm_valtype_t`: a value type.
#[derive(Debug, Clone)]
pub struct wasm_valtype_t {
    pub(crate) ty: ValType,
}

declare_delete!(wasm_valtype_delete, wasm_valtype_t);
declare_vec!(
    wasm_valtype_vec_t,
    Option<Box<wasm_valtype_t>>,
    wasm_valtype_vec_new_empty,
    wasm_valtype_vec_new_uninitialized,
    wasm_valtype_vec_new,
    wasm_valtype_vec_copy,
    wasm_valtype_vec_delete
);

impl wasm_valtype_vec_t {
    /// C's vector of `types`.
    pub(crate) fn from_types(types: &[ValType]) -> wasm_valtype_vec_t {
        wasm_valtype_vec_t::from_vec(
            types
                .iter()
                .map(|&ty| Some(Box::new(wasm_valtype_t { ty })))
                .collect(),
        )
    }
}

/// A new value type of `kind`, or NULL for an unknown kind.
///
/// # Safety
///
/// None beyond C's: the result is freed with `wasm_valtype_delete`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_valtype_new(kind: wasm_valkind_t) -> *mut wasm_valtype_t {
    guard(std::ptr::null_mut(), || match type_of(kind) {
        Some(ty) => into_c(wasm_valtype_t { ty }),
        None => std::ptr::null_mut(),
    })
}

/// The kind of a value type (`WASM_I32` for NULL).
///
/// # Safety
///
/// `t` is NULL or a live value type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_valtype_kind(t: *const wasm_valtype_t) -> wasm_valkind_t {
    guard(WASM_I32, || {
        // SAFETY: the caller's contract on `t`.
        unsafe { t.as_ref() }.map_or(WASM_I32, |t| kind_of(t.ty))
    })
}

/// A copy of a value type (NULL for NULL).
///
/// # Safety
///
/// `t` is NULL or a live value type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_valtype_copy(t: *const wasm_valtype_t) -> *mut wasm_valtype_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract on `t`.
        unsafe { t.as_ref() }.map_or(std::ptr::null_mut(), |t| into_c(t.clone()))
    })
}

/// `wasm_limits_t`: a minimum and a maximum (`0xffffffff` for none).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wasm_limits_t {
    /// Initial size.
    pub min: u32,
    /// Maximum size, or `u32::MAX` for none.
    pub max: u32,
}

impl wasm_limits_t {
    /// C's form of `l`; sizes past `u32` (64-bit memories) are clamped.
    pub(crate) fn from_limits(l: Limits) -> wasm_limits_t {
        let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        wasm_limits_t {
            min: clamp(l.min),
            max: l.max.map_or(u32::MAX, clamp),
        }
    }

    /// Kiln's form, `u32::MAX` meaning no maximum.
    pub(crate) fn to_limits(self) -> Limits {
        Limits {
            min: u64::from(self.min),
            max: (self.max != u32::MAX).then_some(u64::from(self.max)),
        }
    }
}

/// The reference type of a kind, if it is a reference kind.
pub(crate) fn ref_type_of(kind: wasm_valkind_t) -> Option<RefType> {
    type_of(kind)?.as_ref()
}
