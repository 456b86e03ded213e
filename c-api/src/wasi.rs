//! `kiln.h`'s WASI preview1 support, mirroring `kiln run`: a configuration
//! (arguments, environment, inherited stdio, preopened directories) given
//! to a store, an instantiation that satisfies `wasi_snapshot_preview1`
//! imports from `kiln-wasi`, and running `_start` to an exit status.

use std::ffi::{CStr, c_char};

use kiln::Extern;

use crate::externs::wasm_extern_vec_t;
use crate::ffi::{declare_delete, guard, into_c, write_out};
use crate::instance::{externs_of, finish, wasm_instance_t};
use crate::module::wasm_module_t;
use crate::store::{HostData, outside, wasm_store_t, with_ctx};
use crate::trap::wasm_trap_t;

/// `kiln_wasi_config_t`: what a WASI program sees of the host.
pub struct kiln_wasi_config_t {
    builder: kiln_wasi::WasiCtxBuilder,
}

impl std::fmt::Debug for kiln_wasi_config_t {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("kiln_wasi_config_t").finish_non_exhaustive()
    }
}

declare_delete!(kiln_wasi_config_delete, kiln_wasi_config_t);

/// An empty configuration: no arguments, no environment, empty stdin,
/// discarded output, no directories.
///
/// # Safety
///
/// None beyond C's: the result is freed with `kiln_wasi_config_delete` or
/// given to `kiln_store_set_wasi`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_wasi_config_new() -> *mut kiln_wasi_config_t {
    guard(std::ptr::null_mut(), || {
        into_c(kiln_wasi_config_t {
            builder: kiln_wasi::WasiCtx::builder(),
        })
    })
}

/// A NUL-terminated UTF-8 string from C, if it is one.
///
/// # Safety
///
/// `s` is NULL or a NUL-terminated string.
unsafe fn str_of<'a>(s: *const c_char) -> Option<&'a str> {
    if s.is_null() {
        return None;
    }
    // SAFETY: the caller's contract: non-null and NUL-terminated.
    unsafe { CStr::from_ptr(s) }.to_str().ok()
}

/// Appends an argument (the first is the program's name); false for NULL
/// arguments or a string that is not UTF-8.
///
/// # Safety
///
/// `config` is NULL or live; `arg` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_wasi_config_arg(
    config: *mut kiln_wasi_config_t,
    arg: *const c_char,
) -> bool {
    guard(false, || {
        // SAFETY: the caller's contract.
        match unsafe { (config.as_mut(), str_of(arg)) } {
            (Some(c), Some(a)) => {
                c.builder.arg(a);
                true
            }
            _ => false,
        }
    })
}

/// Adds an environment variable; false for NULL arguments or strings that
/// are not UTF-8.
///
/// # Safety
///
/// `config` is NULL or live; `name` and `value` are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_wasi_config_env(
    config: *mut kiln_wasi_config_t,
    name: *const c_char,
    value: *const c_char,
) -> bool {
    guard(false, || {
        // SAFETY: the caller's contract.
        match unsafe { (config.as_mut(), str_of(name), str_of(value)) } {
            (Some(c), Some(n), Some(v)) => {
                c.builder.env(n, v);
                true
            }
            _ => false,
        }
    })
}

/// The program's stdin, stdout and stderr are the host process's.
///
/// # Safety
///
/// `config` is NULL (ignored) or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_wasi_config_inherit_stdio(config: *mut kiln_wasi_config_t) {
    guard((), || {
        // SAFETY: the caller's contract.
        if let Some(c) = unsafe { config.as_mut() } {
            c.builder.inherit_stdio();
        }
    })
}

/// Grants the program the host directory `host_path`, which it sees as
/// `guest_path`; false for NULL arguments or a path that is not a
/// directory.
///
/// # Safety
///
/// `config` is NULL or live; the paths are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_wasi_config_preopen_dir(
    config: *mut kiln_wasi_config_t,
    host_path: *const c_char,
    guest_path: *const c_char,
) -> bool {
    guard(false, || {
        // SAFETY: the caller's contract.
        match unsafe { (config.as_mut(), str_of(host_path), str_of(guest_path)) } {
            (Some(c), Some(h), Some(g)) => c.builder.preopened_dir(h, g).is_ok(),
            _ => false,
        }
    })
}

/// Gives the store the WASI context `config` describes, taking ownership of
/// `config` (freed even on failure); false for NULL arguments, while a host
/// function of the store runs, or if the context cannot be built.
///
/// # Safety
///
/// `store` is NULL or live; `config` is NULL or from `kiln_wasi_config_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_store_set_wasi(
    store: *mut wasm_store_t,
    config: *mut kiln_wasi_config_t,
) -> bool {
    guard(false, || {
        if config.is_null() {
            return false;
        }
        // SAFETY: the caller's contract: a box from `kiln_wasi_config_new`.
        let mut config = unsafe { Box::from_raw(config) };
        // SAFETY: the caller's contract.
        let Some(s) = (unsafe { outside(store) }) else {
            return false;
        };
        match config.builder.build() {
            Ok(ctx) => {
                s.data_mut().wasi = ctx;
                true
            }
            Err(_) => false,
        }
    })
}

/// Instantiates a WASI program: its `wasi_snapshot_preview1` imports come
/// from Kiln's WASI host (using the store's WASI context), and its other
/// imports from `imports`, in the module's import order with the WASI ones
/// skipped (NULL when there are none). NULL and `*trap` on failure, as
/// `wasm_instance_new`.
///
/// # Safety
///
/// As `wasm_instance_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_wasi_instance_new(
    store: *mut wasm_store_t,
    module: *const wasm_module_t,
    imports: *const wasm_extern_vec_t,
    trap: *mut *mut wasm_trap_t,
) -> *mut wasm_instance_t {
    let failed = |msg: &str| {
        if !trap.is_null() {
            // SAFETY: the caller's contract on `trap`.
            unsafe { write_out(trap, wasm_trap_t::msg(msg)) };
        }
        std::ptr::null_mut()
    };
    let out = guard(None, || {
        // SAFETY: the caller's contract.
        let Some(m) = (unsafe { module.as_ref() }) else {
            return Some(failed("the module is NULL"));
        };
        // SAFETY: the caller's contract.
        let Some(s) = (unsafe { store.as_ref() }) else {
            return Some(failed("the store is NULL"));
        };
        // SAFETY: the caller's contract on `imports`.
        let others = match unsafe { externs_of(imports) } {
            Ok(i) => i,
            Err(msg) => return Some(failed(&msg)),
        };
        let mut linker = kiln::Linker::<HostData>::new(&s.engine);
        if kiln_wasi::add_to_linker(&mut linker, |d: &mut HostData| &mut d.wasi).is_err() {
            return Some(failed("cannot define the WASI functions"));
        }
        // SAFETY: the caller's contract: the store is live.
        let outcome =
            unsafe { with_ctx(store, |mut cx| link(&mut cx, &linker, &m.module, &others)) };
        // SAFETY: the caller's contract on `trap`.
        Some(unsafe { finish(store, &m.module, outcome, trap) })
    });
    out.unwrap_or_else(|| failed("instantiation panicked"))
}

/// Resolves each import (WASI from `linker`, the others from `others` in
/// order) and instantiates.
fn link(
    cx: &mut kiln::StoreContextMut<'_, HostData>,
    linker: &kiln::Linker<HostData>,
    module: &kiln::Module,
    others: &[Extern],
) -> Result<kiln::Instance, kiln::Error> {
    let mut rest = others.iter();
    let mut resolved = Vec::new();
    for (m, n, _) in module.imports() {
        let e = if m == kiln_wasi::MODULE {
            linker.get(&mut *cx, m, n)
        } else {
            rest.next().copied()
        };
        resolved.push(e.ok_or_else(|| {
            kiln::Error::Unlinkable(format!("unknown import: `{m}::{n}` has not been defined"))
        })?);
    }
    kiln::Instance::new(cx, module, &resolved)
}

/// Runs the instance's `_start`, as `kiln run` does. Returns true with
/// `*exit_status` set when the program finished: 0 if `_start` returned (or
/// there is none), the status it gave `proc_exit` otherwise. Returns false
/// with `*trap` set (when not NULL) if it trapped or an argument is NULL.
///
/// # Safety
///
/// `instance` is NULL or live (with its store); `exit_status` and `trap` are
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_wasi_run_start(
    instance: *const wasm_instance_t,
    exit_status: *mut i32,
    trap: *mut *mut wasm_trap_t,
) -> bool {
    let outcome = guard(Err(kiln::Trap::host("running `_start` panicked")), || {
        // SAFETY: the caller's contract.
        let Some(i) = (unsafe { instance.as_ref() }) else {
            return Err(kiln::Trap::host("the instance is NULL"));
        };
        // SAFETY: the caller's contract: the store is live.
        unsafe {
            with_ctx(i.store, |mut cx| {
                let Some(start) = i.instance.get_func(&cx, "_start") else {
                    return Ok(0);
                };
                match start.call(&mut cx, &[], &mut []) {
                    Ok(()) => Ok(0),
                    Err(kiln::Error::Trap(t)) => t.exit_status().ok_or(t),
                    Err(e) => Err(kiln::Trap::host(e.to_string())),
                }
            })
        }
    });
    match outcome {
        Ok(status) => {
            // SAFETY: the caller's contract.
            unsafe { write_out(exit_status, status) };
            true
        }
        Err(t) => {
            if !trap.is_null() {
                // SAFETY: the caller's contract.
                unsafe { write_out(trap, wasm_trap_t::boxed(t)) };
            }
            false
        }
    }
}
