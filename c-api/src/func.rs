//! `wasm_func_t`'s functions: host functions made from C callbacks (with or
//! without an environment), calls, types, and the function's `wasm_ref_t`.

use std::ffi::c_void;

use kiln::{Caller, FuncType, Trap, Val};

use crate::externs::{wasm_func_t, wasm_ref_t};
use crate::ffi::{guard, into_c};
use crate::store::{HostData, StorePtr, wasm_store_t, with_ctx};
use crate::trap::wasm_trap_t;
use crate::types::externtype::{CFuncType, wasm_functype_t};
use crate::types::kind_of;
use crate::val::{wasm_val_t, wasm_val_vec_t};

/// `wasm_func_callback_t`.
pub type wasm_func_callback_t = unsafe extern "C" fn(
    args: *const wasm_val_vec_t,
    results: *mut wasm_val_vec_t,
) -> *mut wasm_trap_t;

/// `wasm_func_callback_with_env_t`.
pub type wasm_func_callback_with_env_t = unsafe extern "C" fn(
    env: *mut c_void,
    args: *const wasm_val_vec_t,
    results: *mut wasm_val_vec_t,
) -> *mut wasm_trap_t;

/// A C finalizer of a host function's environment.
pub type wasm_finalizer_t = unsafe extern "C" fn(env: *mut c_void);

/// A C callback with what it needs: the environment, and the finalizer run
/// on the environment when the store drops the function.
struct HostCallback {
    callback: Callback,
    env: *mut c_void,
    finalizer: Option<wasm_finalizer_t>,
    store: StorePtr,
}

enum Callback {
    Plain(wasm_func_callback_t),
    WithEnv(wasm_func_callback_with_env_t),
}

// SAFETY: `wasm.h` objects of a store, its host functions' environments
// included, are used from one thread at a time; Kiln requires `Send + Sync`
// of host functions only because Rust stores may move between threads.
unsafe impl Send for HostCallback {}
// SAFETY: as above.
unsafe impl Sync for HostCallback {}

impl Drop for HostCallback {
    fn drop(&mut self) {
        if let Some(f) = self.finalizer {
            // SAFETY: C gave this finalizer for this environment, to run once
            // when the function is freed: now, as the store drops it.
            unsafe { f(self.env) }
        }
    }
}

impl HostCallback {
    /// Runs the callback for one call: Kiln values in, C values to the
    /// callback, C values back to `results`.
    fn invoke(&self, params: &[Val], results: &mut [Val], ty: &FuncType) -> Result<(), Trap> {
        let args = params
            .iter()
            .map(|&v| wasm_val_t::from_val(self.store.0, v))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Trap::host("a v128 cannot be passed to a C host function"))?;
        let args = wasm_val_vec_t::from_vec(args);
        let mut outs = wasm_val_vec_t::from_vec(
            ty.results
                .iter()
                .map(|&t| {
                    wasm_val_t::from_val(self.store.0, Val::default_for(t)).unwrap_or_default()
                })
                .collect(),
        );
        // SAFETY: the callback was given by C for this function, and is
        // called with vectors of the function's arity that live for the call.
        let trap = unsafe {
            match self.callback {
                Callback::Plain(f) => f(&args, &mut outs),
                Callback::WithEnv(f) => f(self.env, &args, &mut outs),
            }
        };
        let mut args = args;
        // SAFETY: both vectors were made by `from_vec` above; C may have
        // changed the results' elements but not the vector.
        let (_, outs) = unsafe { (args.take(), outs.take()) };
        if !trap.is_null() {
            // SAFETY: the callback returned an owned trap.
            return Err(unsafe { Box::from_raw(trap) }.trap);
        }
        for (i, ((slot, out), &t)) in results.iter_mut().zip(&outs).zip(&*ty.results).enumerate() {
            // SAFETY: a reference result holds NULL or an owned reference.
            let v = unsafe { out.to_val(self.store.0) };
            match v {
                Some(v) if kind_of(v.ty()) == kind_of(t) => *slot = v,
                _ => return Err(Trap::host(format!("host function result {i} is not a {t}"))),
            }
        }
        Ok(())
    }
}

/// Makes the host function in the store.
///
/// # Safety
///
/// `store` and `ty` are NULL or live.
unsafe fn new_host(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    callback: Callback,
    env: *mut c_void,
    finalizer: Option<wasm_finalizer_t>,
) -> *mut wasm_func_t {
    let host = HostCallback {
        callback,
        env,
        finalizer,
        store: StorePtr(store),
    };
    // SAFETY: the caller's contract.
    let Some(ty) = (unsafe { ty.as_ref() }) else {
        return std::ptr::null_mut();
    };
    if store.is_null() {
        return std::ptr::null_mut();
    }
    let fty = ty.inner().ty.clone();
    let result_types = fty.clone();
    let body = move |mut caller: Caller<'_, HostData>, params: &[Val], results: &mut [Val]| {
        let host = &host;
        // SAFETY: the function lives in this store, which outlives it.
        let store = unsafe { &*host.store.0 };
        store
            .enter(&mut caller, || host.invoke(params, results, &result_types))
            .unwrap_or_else(|| Err(Trap::host("a C host function panicked")))
    };
    // SAFETY: the caller's contract: the store is live.
    let func = unsafe { with_ctx(store, |mut cx| kiln::Func::new(&mut cx, fty, body)) };
    wasm_func_t::boxed(store, func)
}

/// A host function of type `ty` that calls `callback`; NULL if `store`,
/// `ty` or `callback` is NULL.
///
/// # Safety
///
/// `store` and `ty` are NULL or live; `callback` is NULL or a function of the
/// callback type, which may be called whenever WebAssembly calls the function.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_new(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    callback: Option<wasm_func_callback_t>,
) -> *mut wasm_func_t {
    guard(std::ptr::null_mut(), || {
        let Some(cb) = callback else {
            return std::ptr::null_mut();
        };
        // SAFETY: the caller's contract.
        unsafe { new_host(store, ty, Callback::Plain(cb), std::ptr::null_mut(), None) }
    })
}

/// A host function of type `ty` that calls `callback` with `env`;
/// `finalizer`, if not NULL, is called with `env` when the store is deleted
/// (or at once if the function cannot be made). NULL if `store`, `ty` or
/// `callback` is NULL.
///
/// # Safety
///
/// As `wasm_func_new`; `env` is whatever `callback` and `finalizer` expect.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_new_with_env(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    callback: Option<wasm_func_callback_with_env_t>,
    env: *mut c_void,
    finalizer: Option<wasm_finalizer_t>,
) -> *mut wasm_func_t {
    guard(std::ptr::null_mut(), || {
        let Some(cb) = callback else {
            if let Some(f) = finalizer {
                // SAFETY: the finalizer is C's, for this environment, which
                // nothing else will use now that the function is refused.
                unsafe { f(env) };
            }
            return std::ptr::null_mut();
        };
        // SAFETY: the caller's contract.
        unsafe { new_host(store, ty, Callback::WithEnv(cb), env, finalizer) }
    })
}

/// The function's type, owned by the caller (NULL for NULL).
///
/// # Safety
///
/// `func` is NULL or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_type(func: *const wasm_func_t) -> *mut wasm_functype_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        match unsafe { func_type(func) } {
            Some(ty) => into_c(wasm_functype_t::new(CFuncType::new(ty))),
            None => std::ptr::null_mut(),
        }
    })
}

/// The function's type, if `func` is not NULL.
///
/// # Safety
///
/// `func` is NULL or live (with its store).
unsafe fn func_type(func: *const wasm_func_t) -> Option<FuncType> {
    // SAFETY: the caller's contract.
    let f = unsafe { func.as_ref() }?;
    // SAFETY: as above: the store is live.
    Some(unsafe { f.ext.with_ctx(|cx| f.inner().ty(&cx)) })
}

/// The number of parameters (0 for NULL).
///
/// # Safety
///
/// `func` is NULL or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_param_arity(func: *const wasm_func_t) -> usize {
    guard(0, || {
        // SAFETY: the caller's contract.
        unsafe { func_type(func) }.map_or(0, |t| t.params.len())
    })
}

/// The number of results (0 for NULL).
///
/// # Safety
///
/// `func` is NULL or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_result_arity(func: *const wasm_func_t) -> usize {
    guard(0, || {
        // SAFETY: the caller's contract.
        unsafe { func_type(func) }.map_or(0, |t| t.results.len())
    })
}

/// Calls the function with `args`, writing its results into `results`
/// (whose size must be the result arity; its elements are overwritten, not
/// freed). Returns NULL on success, or an owned trap: the function's, or one
/// saying why the call was refused (NULL function, NULL data with a nonzero
/// size, wrong number or kinds of arguments, too few result slots).
///
/// May be called from inside a host function of the same store.
///
/// # Safety
///
/// `func` is NULL or live (with its store); `args` and `results` are NULL
/// (taken as empty) or vectors whose non-null data has `size` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_call(
    func: *const wasm_func_t,
    args: *const wasm_val_vec_t,
    results: *mut wasm_val_vec_t,
) -> *mut wasm_trap_t {
    let outcome = guard(None, || {
        // SAFETY: the caller's contract.
        Some(unsafe { call(func, args, results) })
    });
    match outcome {
        Some(Ok(())) => std::ptr::null_mut(),
        Some(Err(e)) => wasm_trap_t::from_error(e),
        None => wasm_trap_t::msg("the call panicked"),
    }
}

/// `wasm_func_call`'s body.
///
/// # Safety
///
/// As `wasm_func_call`.
unsafe fn call(
    func: *const wasm_func_t,
    args: *const wasm_val_vec_t,
    results: *mut wasm_val_vec_t,
) -> Result<(), kiln::Error> {
    let refused = |m: &str| kiln::Error::Trap(Trap::host(m));
    // SAFETY: the caller's contract.
    let f = unsafe { func.as_ref() }.ok_or_else(|| refused("the function is NULL"))?;
    let store = f.ext.store;
    // SAFETY: the caller's contract on `args`.
    let args = match unsafe { args.as_ref() } {
        Some(a) => {
            // SAFETY: as above: the vector's data is readable.
            unsafe { a.as_slice() }.ok_or_else(|| refused("the arguments have NULL data"))?
        }
        None => &[],
    };
    let params = args
        .iter()
        // SAFETY: the caller's contract: reference arguments are NULL or live.
        .map(|a| unsafe { a.to_val(store) })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| refused("an argument has an unknown kind or another store"))?;
    // SAFETY: the caller's contract on `results`.
    let (out_ptr, out_len) = match unsafe { results.as_mut() } {
        Some(r) if r.size == 0 || !r.data.is_null() => (r.data, r.size),
        Some(_) => return Err(refused("the results have NULL data")),
        None => (std::ptr::null_mut(), 0),
    };
    // SAFETY: the caller's contract: the store is live.
    let outs = unsafe {
        f.ext.with_ctx(|mut cx| {
            let n = f.inner().ty(&cx).results.len();
            if n > out_len {
                return Err(refused("the results vector is too small"));
            }
            let mut outs = vec![Val::I32(0); n];
            f.inner().call(&mut cx, &params, &mut outs).map(|()| outs)
        })
    }?;
    for (i, v) in outs.into_iter().enumerate() {
        let c = wasm_val_t::from_val(store, v).unwrap_or_default();
        // SAFETY: `out_ptr` has `out_len` > `i` elements (checked above);
        // the old element is an out-parameter's, not ours to drop.
        unsafe { out_ptr.add(i).write(c) };
    }
    Ok(())
}

/// The function as a reference, lent for as long as `func` lives (NULL for
/// NULL).
///
/// # Safety
///
/// `func` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_as_ref(func: *mut wasm_func_t) -> *mut wasm_ref_t {
    // SAFETY: the caller's contract.
    unsafe { wasm_func_as_ref_const(func) }.cast_mut()
}

/// As `wasm_func_as_ref`.
///
/// # Safety
///
/// `func` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_as_ref_const(func: *const wasm_func_t) -> *const wasm_ref_t {
    guard(std::ptr::null(), || {
        // SAFETY: the caller's contract.
        let Some(f) = (unsafe { func.as_ref() }) else {
            return std::ptr::null();
        };
        let r = f
            .ext
            .as_ref
            .get_or_init(|| Box::new(wasm_ref_t::new(f.ext.store, f.inner().to_val())));
        &**r
    })
}

/// The function a reference points to, lent for as long as the reference
/// lives; NULL for NULL or a reference that is not to a function.
///
/// # Safety
///
/// `r` is NULL or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_ref_as_func(r: *mut wasm_ref_t) -> *mut wasm_func_t {
    // SAFETY: the caller's contract.
    unsafe { wasm_ref_as_func_const(r) }.cast_mut()
}

/// As `wasm_ref_as_func`.
///
/// # Safety
///
/// `r` is NULL or live (with its store).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_ref_as_func_const(r: *const wasm_ref_t) -> *const wasm_func_t {
    guard(std::ptr::null(), || {
        // SAFETY: the caller's contract.
        let Some(r) = (unsafe { r.as_ref() }) else {
            return std::ptr::null();
        };
        if let Some(f) = r.as_func.get() {
            return &**f;
        }
        // SAFETY: the caller's contract: the store is live.
        let func = unsafe { with_ctx(r.store, |cx| kiln::Func::from_val(&cx, r.val)) };
        let Some(func) = func else {
            return std::ptr::null();
        };
        let boxed = wasm_func_t::boxed(r.store, func);
        // SAFETY: `boxed` was just made by `into_c`.
        let f = r.as_func.get_or_init(|| unsafe { Box::from_raw(boxed) });
        &**f
    })
}
