//! `wasm_val_t` (a tagged union of C), its vector, and `wasm_ref_t`'s
//! functions; conversion between them and [`kiln::Val`].

use kiln::Val;

use crate::externs::wasm_ref_t;
use crate::ffi::{guard, into_c, write_out};
use crate::store::wasm_store_t;
use crate::types::{
    KILN_EXNREF, WASM_EXTERNREF, WASM_F32, WASM_F64, WASM_FUNCREF, WASM_I32, WASM_I64,
    wasm_valkind_t,
};
use crate::vec::declare_vec;

/// The payload of a `wasm_val_t`, chosen by its kind.
#[repr(C)]
#[derive(Clone, Copy)]
pub union wasm_val_union {
    /// `WASM_I32`.
    pub i32: i32,
    /// `WASM_I64`.
    pub i64: i64,
    /// `WASM_F32`.
    pub f32: f32,
    /// `WASM_F64`.
    pub f64: f64,
    /// `WASM_EXTERNREF`, `WASM_FUNCREF`: an owned reference, or NULL.
    pub ref_: *mut wasm_ref_t,
}

/// `wasm_val_t`: a value with its kind. A reference value owns its
/// `wasm_ref_t` (freed with the value by `wasm_val_delete` or its vector).
#[repr(C)]
pub struct wasm_val_t {
    /// Which member of `of` holds the value.
    pub kind: wasm_valkind_t,
    /// The value.
    pub of: wasm_val_union,
}

impl std::fmt::Debug for wasm_val_t {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("wasm_val_t")
            .field("kind", &self.kind)
            .finish()
    }
}

impl Default for wasm_val_t {
    fn default() -> wasm_val_t {
        wasm_val_t {
            kind: WASM_I32,
            of: wasm_val_union { i64: 0 },
        }
    }
}

impl wasm_val_t {
    /// Whether the value is a reference, so `of.ref_` is its payload.
    fn is_ref(&self) -> bool {
        self.kind >= WASM_EXTERNREF
    }

    /// The owned reference, if the value is a non-null reference.
    fn ref_ptr(&self) -> *mut wasm_ref_t {
        if self.is_ref() {
            // SAFETY: a reference value's payload is `ref_`.
            unsafe { self.of.ref_ }
        } else {
            std::ptr::null_mut()
        }
    }

    /// C's form of `v`, a value of `store`; `None` for a `v128`, which
    /// `wasm_val_t` cannot hold, and for a GC reference, which the C API
    /// has no kind for yet.
    pub(crate) fn from_val(store: *const wasm_store_t, v: Val) -> Option<wasm_val_t> {
        let boxed = |r: bool| {
            if r {
                into_c(wasm_ref_t::new(store, v))
            } else {
                std::ptr::null_mut()
            }
        };
        let (kind, of) = match v {
            Val::I32(x) => (WASM_I32, wasm_val_union { i32: x }),
            Val::I64(x) => (WASM_I64, wasm_val_union { i64: x }),
            Val::F32(b) => (
                WASM_F32,
                wasm_val_union {
                    f32: f32::from_bits(b),
                },
            ),
            Val::F64(b) => (
                WASM_F64,
                wasm_val_union {
                    f64: f64::from_bits(b),
                },
            ),
            Val::V128(_) | Val::AnyRef(_) => return None,
            Val::FuncRef(f) => (
                WASM_FUNCREF,
                wasm_val_union {
                    ref_: boxed(f.is_some()),
                },
            ),
            Val::ExternRef(e) => (
                WASM_EXTERNREF,
                wasm_val_union {
                    ref_: boxed(e.is_some()),
                },
            ),
            Val::ExnRef(e) => (
                KILN_EXNREF,
                wasm_val_union {
                    ref_: boxed(e.is_some()),
                },
            ),
        };
        Some(wasm_val_t { kind, of })
    }

    /// Kiln's form, or `None` for an unknown kind (or `KILN_V128`) or a
    /// reference to an object of another store than `store`.
    ///
    /// # Safety
    ///
    /// A reference value's `ref_` is NULL or a live `wasm_ref_t`.
    pub(crate) unsafe fn to_val(&self, store: *const wasm_store_t) -> Option<Val> {
        // SAFETY: `kind` says which member is meant; for references, the
        // caller's contract.
        unsafe {
            Some(match self.kind {
                WASM_I32 => Val::I32(self.of.i32),
                WASM_I64 => Val::I64(self.of.i64),
                WASM_F32 => Val::F32(self.of.f32.to_bits()),
                WASM_F64 => Val::F64(self.of.f64.to_bits()),
                WASM_FUNCREF | WASM_EXTERNREF | KILN_EXNREF => match self.of.ref_.as_ref() {
                    Some(r) if std::ptr::eq(r.store, store) => r.val,
                    Some(_) => return None,
                    None => null_of(self.kind),
                },
                _ => return None, // KILN_V128 included: `wasm_val_t` has no room
            })
        }
    }
}

/// The null reference of a reference kind.
fn null_of(kind: wasm_valkind_t) -> Val {
    match kind {
        WASM_EXTERNREF => Val::ExternRef(None),
        KILN_EXNREF => Val::ExnRef(None),
        _ => Val::FuncRef(None),
    }
}

impl Clone for wasm_val_t {
    /// A copy owning a copy of the reference, if any.
    fn clone(&self) -> wasm_val_t {
        let r = self.ref_ptr();
        if r.is_null() {
            return wasm_val_t {
                kind: self.kind,
                of: self.of,
            };
        }
        // SAFETY: a non-null reference payload is a live `wasm_ref_t`.
        let copy = into_c(unsafe { &*r }.clone());
        wasm_val_t {
            kind: self.kind,
            of: wasm_val_union { ref_: copy },
        }
    }
}

impl Drop for wasm_val_t {
    fn drop(&mut self) {
        let r = self.ref_ptr();
        // SAFETY: a non-null reference payload is owned by the value.
        unsafe { crate::ffi::drop_box(r) }
    }
}

declare_vec!(
    wasm_val_vec_t,
    wasm_val_t,
    wasm_val_vec_new_empty,
    wasm_val_vec_new_uninitialized,
    wasm_val_vec_new,
    wasm_val_vec_copy,
    wasm_val_vec_delete
);

/// Frees the reference a value owns, if any, and leaves it a null
/// reference.
///
/// # Safety
///
/// `v` is NULL or a value whose reference, if any, is owned and live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_val_delete(v: *mut wasm_val_t) {
    guard((), || {
        // SAFETY: the caller's contract.
        if let Some(v) = unsafe { v.as_mut() } {
            let r = v.ref_ptr();
            v.of = wasm_val_union {
                ref_: std::ptr::null_mut(),
            };
            // SAFETY: the reference was owned by the value.
            unsafe { crate::ffi::drop_box(r) }
        }
    })
}

/// Sets `*out` to a copy of `*src`, copying its reference.
///
/// # Safety
///
/// `out` is NULL (ignored) or writable; `src` is NULL (then `*out` becomes
/// the `i32` 0) or a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_val_copy(out: *mut wasm_val_t, src: *const wasm_val_t) {
    let v = guard(wasm_val_t::default(), || {
        // SAFETY: the caller's contract.
        unsafe { src.as_ref() }.map_or_else(wasm_val_t::default, wasm_val_t::clone)
    });
    // SAFETY: the caller's contract on `out`.
    unsafe { write_out(out, v) }
}

/// A copy of a reference (NULL for NULL).
///
/// # Safety
///
/// `r` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_ref_copy(r: *const wasm_ref_t) -> *mut wasm_ref_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        unsafe { r.as_ref() }.map_or(std::ptr::null_mut(), |r| into_c(r.clone()))
    })
}

/// Whether two references point to the same object (two NULLs are the same).
///
/// # Safety
///
/// Each argument is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_ref_same(a: *const wasm_ref_t, b: *const wasm_ref_t) -> bool {
    guard(false, || {
        // SAFETY: the caller's contract.
        match unsafe { (a.as_ref(), b.as_ref()) } {
            (Some(a), Some(b)) => a.store == b.store && a.val == b.val,
            (None, None) => true,
            _ => false,
        }
    })
}
