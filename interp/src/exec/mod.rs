//! The interpreter's executor: a fast path and a slow path taking turns.
//!
//! The fast path ([`threaded`]) runs the common ops through threaded
//! dispatch, each op's handler going straight on to the next op's. When it
//! meets an op it does not handle, or a case of one it leaves alone (a call to
//! the host, a trap...), it exits to the slow path ([`slow`]), which runs that
//! one op, then enters the fast path again. The slow path defines every op and
//! owns the loop; the fast path is a faster copy of the common cases.
//!
//! All WebAssembly frames of one host-to-wasm entry share a value stack of
//! 64-bit slots (and, in its upper half, the high halves of `v128` registers;
//! see `frames::half`); a frame's registers are the window starting at its `base`.
//! A call places the callee's base at the caller's first argument register,
//! so arguments are passed and results returned in place, without copying.
//! Calls push the caller onto a `Vec` of frames rather than recursing, so
//! only host functions that call back into WebAssembly use native stack.

mod bulk;
mod frames;
#[macro_use]
mod memory;
mod slow;
mod threaded;

pub use threaded::stack_rescues;
pub(crate) use threaded::{Threaded, thread};

use std::any::Any;
use std::ptr::NonNull;

use kiln_runtime::invoke::WasmFunc;
use kiln_runtime::{FuncAddr, Store, Trap, TrapCode, Val};

pub(crate) use frames::Frame;
use frames::{Modules, frame_for, get_val, init_frame, new_stack, put_val};

use crate::CompiledModule;

/// Calls `func` with `args`, writing its results to `results`.
///
/// The caller checks that `args` and `results` match the function's type. The
/// store's call depth is the same after the call as before it, trap or not.
/// (What does not depend on the tier is `kiln_runtime::invoke`'s, shared with
/// the JIT.)
///
/// # Errors
///
/// The trap that ended execution.
pub fn invoke(
    store: &mut Store,
    data: &mut dyn Any,
    func: FuncAddr,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    kiln_runtime::invoke::invoke(store, data, func, args, results, run)
}

/// Runs WebAssembly function `func` called from the host, on a fresh value stack.
fn run(
    store: &mut Store,
    data: &mut dyn Any,
    func: WasmFunc<CompiledModule>,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    let module = func.code;
    let code = module.func(func.def_index).map_err(frames::internal)?;
    if store.depth >= store.limits.max_call_depth {
        return Err(TrapCode::CallStackExhausted.into());
    }
    store.depth += 1;
    let mut stack = new_stack((code.frame_size as usize).max(1024));
    for (i, a) in args.iter().enumerate() {
        put_val(&mut stack, i, a);
    }
    init_frame(&mut stack, 0, &code);
    let mut modules = Modules::default();
    let callee = NonNull::from(&*code);
    let frame = frame_for(store, modules.hold(module), func.instance, callee, 0);
    slow::execute(store, data, &mut stack, frame, &mut modules)?;
    let ty = store.sig(func.sig);
    for (i, (r, t)) in results.iter_mut().zip(ty.results.iter()).enumerate() {
        *r = get_val(store, &stack, i, *t);
    }
    Ok(())
}
