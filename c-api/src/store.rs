//! `wasm_store_t`: owns a [`kiln::Store`], and lets C reach it both from
//! the outside and from inside a host function it called.
//!
//! While a host function runs, Kiln has lent the store to the running call
//! and gives the function a [`Caller`]; C code in the callback may still
//! call `wasm_func_call`, `wasm_memory_data`, ... on objects of the store.
//! Those must go through the `Caller`, not the store itself (which is
//! mutably borrowed further up the stack). So the store keeps a pointer to
//! the innermost active `Caller` ([`wasm_store_t::enter`]) and [`with_ctx`]
//! uses it when there is one.

use std::cell::{Cell, UnsafeCell};

use kiln::{AsContextMut, Caller, Store, StoreContextMut};

use crate::engine::wasm_engine_t;
use crate::ffi::{drop_box, guard, into_c};

/// The host state of every store made through the C API.
#[derive(Debug, Default)]
pub(crate) struct HostData {
    /// The WASI context, empty until `kiln_store_set_wasi` gives one.
    pub(crate) wasi: kiln_wasi::WasiCtx,
}

/// `wasm_store_t`.
#[derive(Debug)]
pub struct wasm_store_t {
    /// The store; reached only through [`with_ctx`] (or, for what needs
    /// the `Store` itself, [`outside`]).
    inner: UnsafeCell<Store<HostData>>,
    /// The store's engine, for compiling modules.
    pub(crate) engine: kiln::Engine,
    /// The `Caller` of the innermost host function running, or NULL.
    active: Cell<*mut Caller<'static, HostData>>,
}

/// Frees the store and everything in it (running the finalizers of its
/// host functions' environments and foreign objects). NULL is ignored, and
/// so is a store one of whose host functions is running (freeing it would
/// pull the store from under the running call): that store is leaked.
///
/// # Safety
///
/// `store` is NULL or from `wasm_store_new`, deleted once, after every
/// object made in it is no longer used.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_store_delete(store: *mut wasm_store_t) {
    guard((), || {
        // SAFETY: the caller's contract.
        let running = unsafe { store.as_ref() }.is_some_and(|s| !s.active.get().is_null());
        if !running {
            // SAFETY: the caller's contract: a box from `wasm_store_new`.
            unsafe { drop_box(store) }
        }
    })
}

/// A new, empty store of `engine`; NULL if `engine` is NULL.
///
/// # Safety
///
/// `engine` is NULL or live. The store must be deleted before the engine,
/// and outlives every object made in it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_store_new(engine: *mut wasm_engine_t) -> *mut wasm_store_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let Some(engine) = (unsafe { engine.as_ref() }) else {
            return std::ptr::null_mut();
        };
        into_c(wasm_store_t {
            inner: UnsafeCell::new(Store::new(&engine.engine, HostData::default())),
            engine: engine.engine.clone(),
            active: Cell::new(std::ptr::null_mut()),
        })
    })
}

/// Runs `f` with exclusive access to the store: through the active host
/// function's `Caller` if one is running, or the store itself.
///
/// # Safety
///
/// `store` is live, and used by one thread at a time (as `wasm.h` requires
/// of a store and its objects). `f` must not keep the context.
pub(crate) unsafe fn with_ctx<R>(
    store: *const wasm_store_t,
    f: impl FnOnce(StoreContextMut<'_, HostData>) -> R,
) -> R {
    // SAFETY: the caller's contract: the store is live.
    let s = unsafe { &*store };
    let active = s.active.get();
    if active.is_null() {
        // SAFETY: no host function of the store is running, so nothing else
        // borrows the store: this is the only access.
        f(unsafe { &mut *s.inner.get() }.as_context_mut())
    } else {
        // SAFETY: `active` points to the `Caller` of a host function running
        // further up this thread's stack (`enter` removes it before that
        // call returns); the store is reached only through it meanwhile.
        f(unsafe { &mut *active }.as_context_mut())
    }
}

/// The store itself, for what only a `Store` offers (fuel, epoch deadlines,
/// the WASI context); `None` for NULL or while a host function runs.
///
/// # Safety
///
/// `store` is NULL or live, as for [`with_ctx`]; the borrow must end before
/// the store is used again.
pub(crate) unsafe fn outside<'a>(store: *const wasm_store_t) -> Option<&'a mut Store<HostData>> {
    // SAFETY: the caller's contract.
    let s = unsafe { store.as_ref() }?;
    // SAFETY: no host function runs, so nothing else borrows the store.
    s.active
        .get()
        .is_null()
        .then(|| unsafe { &mut *s.inner.get() })
}

impl wasm_store_t {
    /// Makes `caller` the way to the store while `f` runs (a host function's
    /// body), restoring the previous one afterwards; `None` if `f` panicked.
    pub(crate) fn enter<R>(
        &self,
        caller: &mut Caller<'_, HostData>,
        f: impl FnOnce() -> R,
    ) -> Option<R> {
        let ptr: *mut Caller<'_, HostData> = caller;
        let prev = self.active.replace(ptr.cast());
        let out = guard(None, || Some(f()));
        self.active.set(prev);
        out
    }
}

/// A store pointer that a host function's closure may keep: Kiln asks host
/// functions to be `Send + Sync`, but a C API store and its functions are
/// used by one thread at a time, so the pointer never crosses threads in use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StorePtr(pub(crate) *const wasm_store_t);

// SAFETY: see the type's documentation: `wasm.h` objects of a store are used
// from one thread at a time, so the pointer is only dereferenced there.
unsafe impl Send for StorePtr {}
// SAFETY: as above.
unsafe impl Sync for StorePtr {}
