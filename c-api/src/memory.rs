//! `wasm_memory_t`'s functions.

use kiln::ExternType;

use crate::externs::wasm_memory_t;
use crate::ffi::{guard, into_c};
use crate::store::{wasm_store_t, with_ctx};
use crate::types::externtype::{wasm_externtype_t, wasm_memorytype_t};

/// A new memory of type `ty`; NULL if an argument is NULL or the memory
/// cannot be made within the engine's limits.
///
/// # Safety
///
/// Each argument is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_new(
    store: *mut wasm_store_t,
    ty: *const wasm_memorytype_t,
) -> *mut wasm_memory_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let Some(ty) = (unsafe { ty.as_ref() }) else {
            return std::ptr::null_mut();
        };
        if store.is_null() {
            return std::ptr::null_mut();
        }
        let ty = ty.inner().ty;
        // SAFETY: the caller's contract: the store is live.
        match unsafe { with_ctx(store, |mut cx| kiln::Memory::new(&mut cx, ty)) } {
            Ok(m) => wasm_memory_t::boxed(store, m),
            Err(_) => std::ptr::null_mut(),
        }
    })
}

/// The memory's type, owned by the caller (NULL for NULL).
///
/// # Safety
///
/// `m` is NULL or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_type(m: *const wasm_memory_t) -> *mut wasm_memorytype_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let Some(m) = (unsafe { m.as_ref() }) else {
            return std::ptr::null_mut();
        };
        // SAFETY: as above: the store is live.
        let ty = unsafe { m.ext.with_ctx(|cx| m.inner().ty(&cx)) };
        wasm_externtype_t::new(ExternType::Memory(ty)).map_or(std::ptr::null_mut(), |ext| {
            into_c(wasm_memorytype_t { ext })
        })
    })
}

/// The memory's bytes; valid until the memory grows or the store is
/// deleted (NULL for NULL).
///
/// # Safety
///
/// `m` is NULL or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_data(m: *mut wasm_memory_t) -> *mut u8 {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let Some(m) = (unsafe { m.as_ref() }) else {
            return std::ptr::null_mut();
        };
        // SAFETY: as above: the store is live.
        unsafe {
            m.ext
                .with_ctx(|mut cx| m.inner().data_mut(&mut cx).as_mut_ptr())
        }
    })
}

/// The memory's size in bytes (0 for NULL).
///
/// # Safety
///
/// `m` is NULL or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_data_size(m: *const wasm_memory_t) -> usize {
    guard(0, || {
        // SAFETY: the caller's contract.
        let Some(m) = (unsafe { m.as_ref() }) else {
            return 0;
        };
        // SAFETY: as above: the store is live.
        unsafe { m.ext.with_ctx(|cx| m.inner().data(&cx).len()) }
    })
}

/// The memory's size in 64 KiB pages (0 for NULL).
///
/// # Safety
///
/// `m` is NULL or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_size(m: *const wasm_memory_t) -> u32 {
    guard(0, || {
        // SAFETY: the caller's contract.
        let Some(m) = (unsafe { m.as_ref() }) else {
            return 0;
        };
        // SAFETY: as above: the store is live.
        let pages = unsafe { m.ext.with_ctx(|cx| m.inner().size(&cx)) };
        u32::try_from(pages).unwrap_or(u32::MAX)
    })
}

/// Grows the memory by `delta` pages; false if it cannot (or `m` is NULL).
///
/// # Safety
///
/// `m` is NULL or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_grow(m: *mut wasm_memory_t, delta: u32) -> bool {
    guard(false, || {
        // SAFETY: the caller's contract.
        let Some(m) = (unsafe { m.as_ref() }) else {
            return false;
        };
        // SAFETY: as above: the store is live.
        unsafe {
            m.ext
                .with_ctx(|mut cx| m.inner().grow(&mut cx, u64::from(delta)))
        }
        .is_ok()
    })
}
