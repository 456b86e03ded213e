//! `wasm_table_t`'s functions.

use kiln::{ExternType, HeapType, Val};

use crate::externs::{wasm_ref_t, wasm_table_t};
use crate::ffi::{guard, into_c};
use crate::store::{wasm_store_t, with_ctx};
use crate::types::externtype::{wasm_externtype_t, wasm_tabletype_t};

/// The value of a reference for a table of element type `heap`: the null of
/// its hierarchy for NULL; `None` for a reference of another store.
///
/// # Safety
///
/// `r` is NULL or live.
unsafe fn ref_val(store: *const wasm_store_t, heap: HeapType, r: *const wasm_ref_t) -> Option<Val> {
    // SAFETY: the caller's contract.
    match unsafe { r.as_ref() } {
        Some(r) if std::ptr::eq(r.store, store) => Some(r.val),
        Some(_) => None,
        None => Some(match heap {
            HeapType::Extern | HeapType::NoExtern => Val::ExternRef(None),
            HeapType::Exn | HeapType::NoExn => Val::ExnRef(None),
            _ => Val::FuncRef(None),
        }),
    }
}

/// A new table of type `ty` with every element `init` (NULL: the null
/// reference); NULL if `store` or `ty` is NULL, `init` does not fit, or the
/// table is over the engine's limits.
///
/// # Safety
///
/// `store` and `ty` are NULL or live; `init` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_new(
    store: *mut wasm_store_t,
    ty: *const wasm_tabletype_t,
    init: *const wasm_ref_t,
) -> *mut wasm_table_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let Some(ty) = (unsafe { ty.as_ref() }) else {
            return std::ptr::null_mut();
        };
        let ty = ty.inner().ty;
        // SAFETY: the caller's contract.
        let Some(init) = (unsafe { ref_val(store, ty.element.heap, init) }) else {
            return std::ptr::null_mut();
        };
        if store.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract: the store is live.
        match unsafe { with_ctx(store, |mut cx| kiln::Table::new(&mut cx, ty, init)) } {
            Ok(t) => wasm_table_t::boxed(store, t),
            Err(_) => std::ptr::null_mut(),
        }
    })
}

/// The table's type, owned by the caller (NULL for NULL).
///
/// # Safety
///
/// `t` is NULL or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_type(t: *const wasm_table_t) -> *mut wasm_tabletype_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let Some(t) = (unsafe { t.as_ref() }) else {
            return std::ptr::null_mut();
        };
        // SAFETY: as above: the store is live.
        let ty = unsafe { t.ext.with_ctx(|cx| t.inner().ty(&cx)) };
        wasm_externtype_t::new(ExternType::Table(ty))
            .map_or(std::ptr::null_mut(), |ext| into_c(wasm_tabletype_t { ext }))
    })
}

/// Element `index`, owned by the caller; NULL for a null element, an index
/// past the end, or a NULL table.
///
/// # Safety
///
/// `t` is NULL or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_get(t: *const wasm_table_t, index: u32) -> *mut wasm_ref_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let Some(t) = (unsafe { t.as_ref() }) else {
            return std::ptr::null_mut();
        };
        // SAFETY: as above: the store is live.
        let v = unsafe { t.ext.with_ctx(|cx| t.inner().get(&cx, u64::from(index))) };
        match v {
            Some(v @ (Val::FuncRef(Some(_)) | Val::ExternRef(Some(_)) | Val::ExnRef(Some(_)))) => {
                into_c(wasm_ref_t::new(t.ext.store, v))
            }
            _ => std::ptr::null_mut(),
        }
    })
}

/// Sets element `index` to `r` (NULL: the null reference); false for an
/// index past the end, a reference that does not fit, or a NULL table.
///
/// # Safety
///
/// `t` is NULL or live (with its store); `r` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_set(
    t: *mut wasm_table_t,
    index: u32,
    r: *const wasm_ref_t,
) -> bool {
    guard(false, || {
        // SAFETY: the caller's contract.
        let Some(t) = (unsafe { t.as_ref() }) else {
            return false;
        };
        // SAFETY: as above: the store is live.
        unsafe {
            t.ext.with_ctx(|mut cx| {
                let heap = t.inner().ty(&cx).element.heap;
                match ref_val(t.ext.store, heap, r) {
                    Some(v) => t.inner().set(&mut cx, u64::from(index), v).is_ok(),
                    None => false,
                }
            })
        }
    })
}

/// The number of elements (0 for NULL).
///
/// # Safety
///
/// `t` is NULL or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_size(t: *const wasm_table_t) -> u32 {
    guard(0, || {
        // SAFETY: the caller's contract.
        let Some(t) = (unsafe { t.as_ref() }) else {
            return 0;
        };
        // SAFETY: as above: the store is live.
        let n = unsafe { t.ext.with_ctx(|cx| t.inner().size(&cx)) };
        u32::try_from(n).unwrap_or(u32::MAX)
    })
}

/// Grows the table by `delta` elements set to `init` (NULL: the null
/// reference); false if it cannot, or for a NULL table.
///
/// # Safety
///
/// `t` is NULL or live (with its store); `init` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_grow(
    t: *mut wasm_table_t,
    delta: u32,
    init: *const wasm_ref_t,
) -> bool {
    guard(false, || {
        // SAFETY: the caller's contract.
        let Some(t) = (unsafe { t.as_ref() }) else {
            return false;
        };
        // SAFETY: as above: the store is live.
        unsafe {
            t.ext.with_ctx(|mut cx| {
                let heap = t.inner().ty(&cx).element.heap;
                match ref_val(t.ext.store, heap, init) {
                    Some(v) => t.inner().grow(&mut cx, u64::from(delta), v).is_ok(),
                    None => false,
                }
            })
        }
    })
}
