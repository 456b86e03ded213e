//! `wasm_global_t`'s functions.

use kiln::ExternType;

use crate::externs::wasm_global_t;
use crate::ffi::{guard, into_c, write_out};
use crate::store::{wasm_store_t, with_ctx};
use crate::types::externtype::{wasm_externtype_t, wasm_globaltype_t};
use crate::val::wasm_val_t;

/// A new global of type `ty` holding `*val`; NULL if an argument is NULL or
/// the value does not fit the type.
///
/// # Safety
///
/// Each argument is NULL or live; a reference value's `ref` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_new(
    store: *mut wasm_store_t,
    ty: *const wasm_globaltype_t,
    val: *const wasm_val_t,
) -> *mut wasm_global_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let (Some(ty), Some(val)) = (unsafe { (ty.as_ref(), val.as_ref()) }) else {
            return std::ptr::null_mut();
        };
        if store.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract on the value's reference.
        let Some(v) = (unsafe { val.to_val(store) }) else {
            return std::ptr::null_mut();
        };
        let ty = ty.inner().ty;
        // SAFETY: the caller's contract: the store is live.
        match unsafe { with_ctx(store, |mut cx| kiln::Global::new(&mut cx, ty, v)) } {
            Ok(g) => wasm_global_t::boxed(store, g),
            Err(_) => std::ptr::null_mut(),
        }
    })
}

/// The global's type, owned by the caller (NULL for NULL).
///
/// # Safety
///
/// `g` is NULL or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_type(g: *const wasm_global_t) -> *mut wasm_globaltype_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let Some(g) = (unsafe { g.as_ref() }) else {
            return std::ptr::null_mut();
        };
        // SAFETY: as above: the store is live.
        let ty = unsafe { g.ext.with_ctx(|cx| g.inner().ty(&cx)) };
        wasm_externtype_t::new(ExternType::Global(ty)).map_or(std::ptr::null_mut(), |ext| {
            into_c(wasm_globaltype_t { ext })
        })
    })
}

/// Sets `*out` to the global's value (owned by the caller); the `i32` 0 for
/// a NULL global or a `v128` one.
///
/// # Safety
///
/// `g` is NULL or live (with its store); `out` is NULL (ignored) or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_get(g: *const wasm_global_t, out: *mut wasm_val_t) {
    let v = guard(wasm_val_t::default(), || {
        // SAFETY: the caller's contract.
        let Some(g) = (unsafe { g.as_ref() }) else {
            return wasm_val_t::default();
        };
        // SAFETY: as above: the store is live.
        let v = unsafe { g.ext.with_ctx(|cx| g.inner().get(&cx)) };
        wasm_val_t::from_val(g.ext.store, v).unwrap_or_default()
    });
    // SAFETY: the caller's contract on `out`.
    unsafe { write_out(out, v) }
}

/// Sets the global to `*val`. Ignored (as the standard's `void` result
/// leaves no way to report it) for NULL arguments, an immutable global or a
/// value of another type; `kiln_global_set` reports it.
///
/// # Safety
///
/// `g` is NULL or live (with its store); `val` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_set(g: *mut wasm_global_t, val: *const wasm_val_t) {
    // SAFETY: the caller's contract.
    unsafe { kiln_global_set(g, val) };
}

/// `wasm_global_set`, returning whether the global was set.
///
/// # Safety
///
/// As `wasm_global_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_global_set(g: *mut wasm_global_t, val: *const wasm_val_t) -> bool {
    guard(false, || {
        // SAFETY: the caller's contract.
        let (Some(g), Some(val)) = (unsafe { (g.as_ref(), val.as_ref()) }) else {
            return false;
        };
        // SAFETY: the caller's contract on the value's reference.
        let Some(v) = (unsafe { val.to_val(g.ext.store) }) else {
            return false;
        };
        // SAFETY: the caller's contract: the store is live.
        unsafe { g.ext.with_ctx(|mut cx| g.inner().set(&mut cx, v)) }.is_ok()
    })
}
