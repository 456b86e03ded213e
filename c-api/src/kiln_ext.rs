//! `kiln.h`: what `wasm.h` lacks: the execution strategy, fuel, epoch
//! interruption, and what a trap was (its code, a WASI exit status).

use kiln::TrapCode;

use crate::engine::{wasm_config_t, wasm_engine_t};
use crate::ffi::{guard, write_out};
use crate::store::{wasm_store_t, with_ctx};
use crate::trap::wasm_trap_t;

/// `kiln_strategy_t`: `KILN_STRATEGY_INTERPRETER` (0) or `KILN_STRATEGY_JIT` (1).
pub type kiln_strategy_t = u8;

/// Selects the execution tier; false (and the setting unchanged) for a NULL
/// configuration or an unknown strategy. An engine with the JIT on a host
/// without it is refused by `wasm_engine_new_with_config`.
///
/// # Safety
///
/// `config` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_config_strategy(
    config: *mut wasm_config_t,
    strategy: kiln_strategy_t,
) -> bool {
    guard(false, || {
        // SAFETY: the caller's contract.
        let Some(c) = (unsafe { config.as_mut() }) else {
            return false;
        };
        let s = match strategy {
            0 => kiln::Strategy::Interpreter,
            1 => kiln::Strategy::Jit,
            2 => kiln::Strategy::Tiered,
            _ => return false,
        };
        c.config.strategy(s);
        true
    })
}

/// Declares `$name(config, on)`, a boolean setter of `wasm_config_t` calling
/// `kiln::Config::$method(on)`; NULL is ignored.
///
/// Expands to one `extern "C"` function.
macro_rules! config_flag {
    ($name:ident, $method:ident, $doc:literal) => {
        #[doc = $doc]
        ///
        /// # Safety
        ///
        /// `config` is NULL (ignored) or live.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(config: *mut wasm_config_t, on: bool) {
            guard((), || {
                // SAFETY: the caller's contract.
                if let Some(c) = unsafe { config.as_mut() } {
                    c.config.$method(on);
                }
            })
        }
    };
}

config_flag!(
    kiln_config_consume_fuel,
    consume_fuel,
    "Meters execution with fuel; stores start with none (`kiln_store_set_fuel`)."
);
config_flag!(
    kiln_config_epoch_interruption,
    epoch_interruption,
    "Checks the engine's epoch against the store's deadline at function entries and loops."
);

/// Sets the deepest WebAssembly call nesting before `call stack exhausted`.
///
/// # Safety
///
/// `config` is NULL (ignored) or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_config_max_call_depth(config: *mut wasm_config_t, depth: u32) {
    guard((), || {
        // SAFETY: the caller's contract.
        if let Some(c) = unsafe { config.as_mut() } {
            c.config.max_call_depth(depth);
        }
    })
}

/// Advances the engine's epoch by one tick. Safe to call from any thread,
/// even while a store of the engine runs.
///
/// # Safety
///
/// `engine` is NULL (ignored) or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_engine_increment_epoch(engine: *const wasm_engine_t) {
    guard((), || {
        // SAFETY: the caller's contract.
        if let Some(e) = unsafe { engine.as_ref() } {
            e.engine.increment_epoch();
        }
    })
}

/// Sets the store's fuel; false for a NULL store or an engine without fuel.
/// Inside a host function of the store, the running call goes on with it.
///
/// # Safety
///
/// `store` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_store_set_fuel(store: *mut wasm_store_t, fuel: u64) -> bool {
    guard(false, || {
        if store.is_null() {
            return false;
        }
        // SAFETY: the caller's contract; the context is not kept.
        unsafe { with_ctx(store, |mut cx| cx.set_fuel(fuel).is_ok()) }
    })
}

/// Sets `*fuel` to the store's fuel left; false (and `*fuel` unchanged) for
/// NULL arguments or an engine without fuel. Works inside a host function
/// too (through its `Caller`), so a host function can see what is left.
///
/// # Safety
///
/// `store` is NULL or live; `fuel` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_store_get_fuel(store: *const wasm_store_t, fuel: *mut u64) -> bool {
    guard(false, || {
        if fuel.is_null() || store.is_null() {
            return false;
        }
        // SAFETY: the caller's contract; the context is not kept.
        let left = unsafe { with_ctx(store, |cx| cx.get_fuel().ok()) };
        match left {
            Some(f) => {
                // SAFETY: the caller's contract; checked non-null.
                unsafe { write_out(fuel, f) };
                true
            }
            None => false,
        }
    })
}

/// Sets the store's epoch deadline `ticks` ticks past the engine's current
/// epoch; false for a NULL store. Inside a host function of the store, the
/// running call's next check sees it.
///
/// # Safety
///
/// `store` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_store_set_epoch_deadline(
    store: *mut wasm_store_t,
    ticks: u64,
) -> bool {
    guard(false, || {
        if store.is_null() {
            return false;
        }
        // SAFETY: the caller's contract; the context is not kept.
        unsafe { with_ctx(store, |mut cx| cx.set_epoch_deadline(ticks)) };
        true
    })
}

/// `kiln_trap_code_t`: the codes of WebAssembly traps, in `kiln.h`'s order.
pub type kiln_trap_code_t = u8;

/// Every trap code, indexed by its `kiln_trap_code_t`.
const TRAP_CODES: [TrapCode; 22] = [
    TrapCode::Unreachable,
    TrapCode::MemoryOutOfBounds,
    TrapCode::TableOutOfBounds,
    TrapCode::UninitializedElement,
    TrapCode::UndefinedElement,
    TrapCode::IndirectCallTypeMismatch,
    TrapCode::IntegerOverflow,
    TrapCode::IntegerDivisionByZero,
    TrapCode::InvalidConversionToInteger,
    TrapCode::CallStackExhausted,
    TrapCode::OutOfFuel,
    TrapCode::NullFunctionReference,
    TrapCode::NullReference,
    TrapCode::NullExceptionReference,
    TrapCode::ExceptionsExhausted,
    TrapCode::Interrupt,
    TrapCode::GcHeapExhausted,
    TrapCode::NullStructReference,
    TrapCode::NullArrayReference,
    TrapCode::NullI31Reference,
    TrapCode::ArrayOutOfBounds,
    TrapCode::CastFailure,
];

/// If the trap is a WebAssembly trap (not one raised by a host function or
/// an exit), sets `*code` to its code and returns true.
///
/// # Safety
///
/// `trap` is NULL or live; `code` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_trap_code(
    trap: *const wasm_trap_t,
    code: *mut kiln_trap_code_t,
) -> bool {
    guard(false, || {
        // SAFETY: the caller's contract.
        let Some(c) = (unsafe { trap.as_ref() }).and_then(|t| t.trap.code()) else {
            return false;
        };
        let Some(i) = TRAP_CODES.iter().position(|&x| x == c) else {
            return false;
        };
        if code.is_null() {
            return false;
        }
        // SAFETY: the caller's contract; checked non-null.
        unsafe { write_out(code, i as kiln_trap_code_t) };
        true
    })
}

/// If the trap is a WASI program's `proc_exit`, sets `*status` to the exit
/// status and returns true.
///
/// # Safety
///
/// `trap` is NULL or live; `status` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kiln_trap_exit_status(trap: *const wasm_trap_t, status: *mut i32) -> bool {
    guard(false, || {
        // SAFETY: the caller's contract.
        let Some(s) = (unsafe { trap.as_ref() }).and_then(|t| t.trap.exit_status()) else {
            return false;
        };
        if status.is_null() {
            return false;
        }
        // SAFETY: the caller's contract; checked non-null.
        unsafe { write_out(status, s) };
        true
    })
}
