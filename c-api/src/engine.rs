//! `wasm_config_t` and `wasm_engine_t`: a [`kiln::Config`] and the
//! [`kiln::Engine`] made from it. Kiln's own settings (strategy, fuel,
//! epochs) are `kiln_config_*` setters on `wasm_config_t`, in `kiln_ext.rs`.

use crate::ffi::{declare_delete, guard, into_c};

/// `wasm_config_t`: an engine's settings.
#[derive(Debug, Default)]
pub struct wasm_config_t {
    pub(crate) config: kiln::Config,
}

/// `wasm_engine_t`: compiles modules and runs them in its stores.
#[derive(Debug)]
pub struct wasm_engine_t {
    pub(crate) engine: kiln::Engine,
}

declare_delete!(wasm_config_delete, wasm_config_t);
declare_delete!(wasm_engine_delete, wasm_engine_t);

/// A default configuration (Kiln's default strategy, no fuel, no epochs).
///
/// # Safety
///
/// None beyond C's: the result is freed with `wasm_config_delete` or given
/// to `wasm_engine_new_with_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_config_new() -> *mut wasm_config_t {
    guard(std::ptr::null_mut(), || into_c(wasm_config_t::default()))
}

/// An engine with the default configuration.
///
/// # Safety
///
/// None beyond C's: the result is freed with `wasm_engine_delete`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_engine_new() -> *mut wasm_engine_t {
    guard(std::ptr::null_mut(), || {
        into_c(wasm_engine_t {
            engine: kiln::Engine::default(),
        })
    })
}

/// An engine with `config`, which it takes ownership of (and frees, even on
/// failure). NULL if `config` is NULL or asks for what this host cannot do
/// (the JIT off x86-64 Linux).
///
/// # Safety
///
/// `config` is NULL or a live configuration from `wasm_config_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_engine_new_with_config(
    config: *mut wasm_config_t,
) -> *mut wasm_engine_t {
    guard(std::ptr::null_mut(), || {
        if config.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract: a box from `wasm_config_new`, now ours.
        let config = unsafe { Box::from_raw(config) };
        match kiln::Engine::new(&config.config) {
            Ok(engine) => into_c(wasm_engine_t { engine }),
            Err(_) => std::ptr::null_mut(),
        }
    })
}
