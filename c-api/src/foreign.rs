//! `wasm_foreign_t`: a host object C makes and gives WebAssembly as an
//! `externref`, carrying C's host info (a pointer, and a finalizer run when
//! the store is deleted).
//!
//! A foreign object *is* a reference: `wasm_foreign_t` is a transparent
//! wrapper of a [`wasm_ref_t`] holding a non-null `externref`, whose host
//! value in the store is a [`ForeignData`]. So `wasm_foreign_as_ref` is a
//! cast, and any `externref` that comes back from WebAssembly can be seen as
//! the foreign object again (`wasm_ref_as_foreign`).

use std::ffi::c_void;
use std::sync::Mutex;

use kiln::{ExternRef, Val};

use crate::externs::wasm_ref_t;
use crate::ffi::{declare_delete, guard, into_c};
use crate::store::{wasm_store_t, with_ctx};

/// `wasm_foreign_t`.
#[repr(transparent)]
#[derive(Debug, Clone)]
pub struct wasm_foreign_t {
    r: wasm_ref_t,
}

/// C's host info: a pointer and the finalizer to run on it.
#[derive(Debug)]
struct HostInfo {
    data: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
}

impl Drop for HostInfo {
    fn drop(&mut self) {
        if let Some(f) = self.finalizer {
            // SAFETY: C gave this finalizer for this pointer, to run once
            // when the info is released: replaced, or dropped with the store.
            unsafe { f(self.data) }
        }
    }
}

/// The host value of a foreign object's `externref`.
#[derive(Debug)]
struct ForeignData {
    info: Mutex<HostInfo>,
}

// SAFETY: a store and its objects are used from one thread at a time (as
// `wasm.h` requires); the pointer is C's and only handed back to C.
unsafe impl Send for ForeignData {}
// SAFETY: as above; the `Mutex` serialises access anyway.
unsafe impl Sync for ForeignData {}

declare_delete!(wasm_foreign_delete, wasm_foreign_t);

/// A new foreign object of `store`, with no host info; NULL for a NULL store.
///
/// # Safety
///
/// `store` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_new(store: *mut wasm_store_t) -> *mut wasm_foreign_t {
    guard(std::ptr::null_mut(), || {
        if store.is_null() {
            return std::ptr::null_mut();
        }
        let data = ForeignData {
            info: Mutex::new(HostInfo {
                data: std::ptr::null_mut(),
                finalizer: None,
            }),
        };
        // SAFETY: the caller's contract: the store is live.
        let r = unsafe { with_ctx(store, |mut cx| ExternRef::new(&mut cx, data)) };
        into_c(wasm_foreign_t {
            r: wasm_ref_t::new(store, r.to_val()),
        })
    })
}

/// Runs `f` on the object's host info, if it is a foreign object's.
///
/// # Safety
///
/// `r` is live (with its store).
unsafe fn with_info<R>(r: &wasm_ref_t, f: impl FnOnce(&mut HostInfo) -> R) -> Option<R> {
    // SAFETY: the caller's contract.
    unsafe {
        with_ctx(r.store, |cx| {
            let data = ExternRef::from_val(&cx, r.val)?.data::<ForeignData, _>(&cx)?;
            let mut info = data.info.lock().unwrap_or_else(|e| e.into_inner());
            Some(f(&mut info))
        })
    }
}

/// The host info last set (NULL for none, or a NULL object).
///
/// # Safety
///
/// `f` is NULL or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_get_host_info(f: *const wasm_foreign_t) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let Some(f) = (unsafe { f.as_ref() }) else {
            return std::ptr::null_mut();
        };
        // SAFETY: as above.
        unsafe { with_info(&f.r, |i| i.data) }.unwrap_or(std::ptr::null_mut())
    })
}

/// Sets the host info, with no finalizer (the previous info's finalizer,
/// if any, runs now).
///
/// # Safety
///
/// `f` is NULL (ignored) or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_set_host_info(f: *mut wasm_foreign_t, info: *mut c_void) {
    // SAFETY: the caller's contract.
    unsafe { wasm_foreign_set_host_info_with_finalizer(f, info, None) }
}

/// Sets the host info and the finalizer run on it when the store is
/// deleted (or the info replaced); the previous info's finalizer, if any,
/// runs now.
///
/// # Safety
///
/// `f` is NULL (ignored) or live (with its store); `finalizer` is NULL or
/// accepts `info`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_set_host_info_with_finalizer(
    f: *mut wasm_foreign_t,
    info: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
) {
    guard((), || {
        // SAFETY: the caller's contract.
        let Some(f) = (unsafe { f.as_ref() }) else {
            return;
        };
        let new = HostInfo {
            data: info,
            finalizer,
        };
        // SAFETY: as above. The old info is dropped (finalized) after the
        // store's borrow ends, so its finalizer may use the store.
        let old = unsafe { with_info(&f.r, |i| std::mem::replace(i, new)) };
        drop(old);
    })
}

/// A new box for the same foreign object (NULL for NULL).
///
/// # Safety
///
/// `f` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_copy(f: *const wasm_foreign_t) -> *mut wasm_foreign_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        unsafe { f.as_ref() }.map_or(std::ptr::null_mut(), |f| into_c(f.clone()))
    })
}

/// Whether both are the same foreign object (false if either is NULL).
///
/// # Safety
///
/// Each argument is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_same(
    a: *const wasm_foreign_t,
    b: *const wasm_foreign_t,
) -> bool {
    guard(false, || {
        // SAFETY: the caller's contract.
        match unsafe { (a.as_ref(), b.as_ref()) } {
            (Some(a), Some(b)) => std::ptr::eq(a.r.store, b.r.store) && a.r.val == b.r.val,
            _ => false,
        }
    })
}

/// The foreign object as a reference (a cast; NULL for NULL).
///
/// # Safety
///
/// None: the pointer is only cast.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_as_ref(f: *mut wasm_foreign_t) -> *mut wasm_ref_t {
    f.cast()
}

/// As `wasm_foreign_as_ref`.
///
/// # Safety
///
/// None: the pointer is only cast.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_as_ref_const(f: *const wasm_foreign_t) -> *const wasm_ref_t {
    f.cast()
}

/// The reference as a foreign object: the same pointer if it is a non-null
/// `externref`, NULL otherwise.
///
/// # Safety
///
/// `r` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_ref_as_foreign(r: *mut wasm_ref_t) -> *mut wasm_foreign_t {
    // SAFETY: the caller's contract.
    unsafe { wasm_ref_as_foreign_const(r) }.cast_mut()
}

/// As `wasm_ref_as_foreign`.
///
/// # Safety
///
/// `r` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_ref_as_foreign_const(r: *const wasm_ref_t) -> *const wasm_foreign_t {
    guard(std::ptr::null(), || {
        // SAFETY: the caller's contract.
        match unsafe { r.as_ref() }.map(|r| r.val) {
            Some(Val::ExternRef(Some(_))) => r.cast(),
            _ => std::ptr::null(),
        }
    })
}
