//! `wasm_instance_t`: a module instantiated in a store.

use kiln::Extern;

use crate::externs::{wasm_extern_t, wasm_extern_vec_t};
use crate::ffi::{declare_delete, guard, into_c, write_out};
use crate::module::wasm_module_t;
use crate::store::{wasm_store_t, with_ctx};
use crate::trap::wasm_trap_t;

/// `wasm_instance_t`.
#[derive(Debug, Clone)]
pub struct wasm_instance_t {
    pub(crate) store: *const wasm_store_t,
    pub(crate) instance: kiln::Instance,
    /// The module, for the order of its exports.
    pub(crate) module: kiln::Module,
}

declare_delete!(wasm_instance_delete, wasm_instance_t);

/// The externs of a C vector, each non-null; `Err` says which is not.
///
/// # Safety
///
/// `v` is NULL (no externs) or a readable vector of NULL or live externs.
pub(crate) unsafe fn externs_of(v: *const wasm_extern_vec_t) -> Result<Vec<Extern>, String> {
    // SAFETY: the caller's contract.
    let Some(v) = (unsafe { v.as_ref() }) else {
        return Ok(Vec::new());
    };
    // SAFETY: as above.
    let elems = unsafe { v.as_slice() }.ok_or("the imports vector has NULL data")?;
    elems
        .iter()
        .enumerate()
        .map(|(i, e)| {
            e.as_ref()
                .map(|e| e.which)
                .ok_or(format!("import {i} is NULL"))
        })
        .collect()
}

/// Reports the outcome of an instantiation to C: the instance, or NULL
/// with `*trap` set to why (when `trap` is not NULL).
///
/// # Safety
///
/// `trap` is NULL or writable.
pub(crate) unsafe fn finish(
    store: *const wasm_store_t,
    module: &kiln::Module,
    outcome: Result<kiln::Instance, kiln::Error>,
    trap: *mut *mut wasm_trap_t,
) -> *mut wasm_instance_t {
    let (instance, t) = match outcome {
        Ok(instance) => (
            into_c(wasm_instance_t {
                store,
                instance,
                module: module.clone(),
            }),
            std::ptr::null_mut(),
        ),
        Err(e) => (std::ptr::null_mut(), wasm_trap_t::from_error(e)),
    };
    if trap.is_null() {
        // SAFETY: the trap was made just above and nobody else has it.
        unsafe { crate::ffi::drop_box(t) };
    } else {
        // SAFETY: the caller's contract on `trap`.
        unsafe { write_out(trap, t) };
    }
    instance
}

/// Instantiates `module` with `imports` (one per import, in the module's
/// order) and runs its start function. On failure returns NULL and, if
/// `trap` is not NULL, sets `*trap` to a trap saying why (the start
/// function's trap, or a message for a missing or mistyped import); on
/// success `*trap` is set to NULL.
///
/// # Safety
///
/// `store` and `module` are NULL or live; `imports` is NULL or a vector of
/// NULL or live externs; `trap` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_instance_new(
    store: *mut wasm_store_t,
    module: *const wasm_module_t,
    imports: *const wasm_extern_vec_t,
    trap: *mut *mut wasm_trap_t,
) -> *mut wasm_instance_t {
    let failed = |msg: String| {
        if !trap.is_null() {
            // SAFETY: the caller's contract on `trap`.
            unsafe { write_out(trap, wasm_trap_t::msg(msg)) };
        }
        std::ptr::null_mut()
    };
    let out = guard(None, || {
        // SAFETY: the caller's contract.
        let Some(m) = (unsafe { module.as_ref() }) else {
            return Some(failed("the module is NULL".into()));
        };
        if store.is_null() {
            return Some(failed("the store is NULL".into()));
        }
        // SAFETY: the caller's contract on `imports`.
        let imports = match unsafe { externs_of(imports) } {
            Ok(i) => i,
            Err(msg) => return Some(failed(msg)),
        };
        // SAFETY: the caller's contract: the store is live.
        let outcome = unsafe {
            with_ctx(store, |mut cx| {
                kiln::Instance::new(&mut cx, &m.module, &imports)
            })
        };
        // SAFETY: the caller's contract on `trap`.
        Some(unsafe { finish(store, &m.module, outcome, trap) })
    });
    out.unwrap_or_else(|| failed("instantiation panicked".into()))
}

/// Sets `*out` to the instance's exports, in the module's export order
/// (tags left out); empty for a NULL instance.
///
/// # Safety
///
/// `instance` is NULL or live (with its store); `out` is NULL (ignored) or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_instance_exports(
    instance: *const wasm_instance_t,
    out: *mut wasm_extern_vec_t,
) {
    let v = guard(Vec::new(), || {
        // SAFETY: the caller's contract.
        let Some(i) = (unsafe { instance.as_ref() }) else {
            return Vec::new();
        };
        // SAFETY: the caller's contract: the store is live.
        unsafe {
            with_ctx(i.store, |cx| {
                i.module
                    .exports()
                    .filter_map(|(name, _)| i.instance.get_export(&cx, name))
                    .filter(|e| !matches!(e, Extern::Tag(_)))
                    .map(|e| Some(Box::new(wasm_extern_t::new(i.store, e))))
                    .collect()
            })
        }
    });
    // SAFETY: the caller's contract on `out`.
    unsafe { wasm_extern_vec_t::give(out, v) }
}

/// Another handle to the same instance (NULL for NULL).
///
/// # Safety
///
/// `instance` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_instance_copy(
    instance: *const wasm_instance_t,
) -> *mut wasm_instance_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        unsafe { instance.as_ref() }.map_or(std::ptr::null_mut(), |i| into_c(i.clone()))
    })
}
