//! The host-to-WebAssembly entry: [`invoke`].

use std::any::Any;
use std::ptr::NonNull;

use kiln_runtime::{FuncAddr, FuncEntity, HostCaller, InstanceAddr, Store, Trap, TrapCode, Val};

use crate::CompiledModule;
use crate::vmctx::{self, VmContext};

/// The native signature of every array-call trampoline (see `trampoline.rs`).
type Trampoline = unsafe extern "C" fn(*mut VmContext, *const u8, *mut u128);

/// Argument/result slots kept on the Rust stack; more go to the heap.
const INLINE_SLOTS: usize = 8;

/// Calls `func` with `args`, writing its results to `results`; the JIT's
/// counterpart of `kiln_interp::invoke`, with the same contract.
///
/// The caller checks that `args` and `results` match the function's type. A
/// host function is called directly; a WebAssembly function must belong to an
/// instance whose code is a [`CompiledModule`] of this crate.
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
    match store.funcs[func.index()].clone() {
        FuncEntity::Host { func: host, .. } => host(
            HostCaller {
                store,
                data,
                instance: None,
            },
            args,
            results,
        ),
        FuncEntity::Wasm {
            instance,
            def_index,
            ..
        } => {
            let code = store.instances[instance.index()]
                .code
                .clone()
                .downcast::<CompiledModule>()
                .map_err(|_| Trap::host("function was compiled for another execution tier"))?;
            let entry_depth = store.depth;
            let outcome = call_wasm(store, instance, &code, def_index, args, results);
            store.depth = entry_depth;
            outcome
        }
    }
}

/// Runs defined function `def` of `instance` through its trampoline.
fn call_wasm(
    store: &mut Store,
    instance: InstanceAddr,
    code: &CompiledModule,
    def: u32,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    let inst = &store.instances[instance.index()];

    // Raw pointers into the store for the duration of the call: `store` itself is
    // not used again until the trampoline returns, so these are the only accesses.
    let globals_base = store.globals.as_mut_ptr();
    let globals: Vec<*mut u128> = inst
        .globals
        .iter()
        // SAFETY: every address of an instance indexes the store's globals, so the
        // element is in bounds; `addr_of_mut!` creates no intermediate reference.
        .map(|g| unsafe { std::ptr::addr_of_mut!((*globals_base.add(g.index())).bits) })
        .collect();
    let (memory, memory_base, memory_len) = match inst.memories.first() {
        Some(m) => {
            let view = store.memories[m.index()].view();
            let (base, len) = (view.base.as_ptr(), view.len as u64);
            // SAFETY: the address indexes the store's memories (in bounds).
            let memory = unsafe { store.memories.as_mut_ptr().add(m.index()) };
            (memory, base, len)
        }
        None => (std::ptr::null_mut(), NonNull::dangling().as_ptr(), 0),
    };

    let mut vm = VmContext {
        memory_base,
        memory_len,
        memory,
        globals: globals.as_ptr(),
        stack_limit: vmctx::stack_limit(code.max_frame_size()),
        depth: store.depth,
        max_depth: store.limits.max_call_depth,
        trap: 0,
    };
    // The first frame must fit above the limit too (see `vmctx::stack_limit`).
    if vmctx::approximate_sp() < vm.stack_limit {
        return Err(TrapCode::CallStackExhausted.into());
    }

    let mut inline = [0u128; INLINE_SLOTS];
    let mut heap = Vec::new();
    let slots = args.len().max(results.len());
    let values: &mut [u128] = if slots <= INLINE_SLOTS {
        &mut inline[..slots]
    } else {
        heap.resize(slots, 0u128);
        &mut heap
    };
    for (slot, a) in values.iter_mut().zip(args) {
        *slot = a.to_bits();
    }

    let (body, trampoline) = code.entry(def);
    // SAFETY: `trampoline` is the compiled array-call trampoline for `def`'s type,
    // which has exactly the `Trampoline` signature, in code memory that `code` keeps
    // mapped for the whole call.
    let trampoline: Trampoline = unsafe { std::mem::transmute(trampoline) };
    // SAFETY: `vm` is a live context filled above (memory and globals point into the
    // store, which nothing else touches during the call); `body` is the function the
    // trampoline was compiled to call; `values` has a slot for every argument and
    // result. Compiled code checks every memory access and never unwinds.
    unsafe { trampoline(&mut vm, body, values.as_mut_ptr()) };

    if vm.trap != 0 {
        let code = vmctx::trap_code_from_raw(vm.trap)
            .ok_or_else(|| Trap::host("compiled code raised an unknown trap"))?;
        return Err(code.into());
    }
    let module = code.module();
    let ty = &module.types[module.funcs[def as usize].index()];
    for ((r, t), bits) in results.iter_mut().zip(ty.results.iter()).zip(values.iter()) {
        *r = Val::from_bits(*t, *bits);
    }
    Ok(())
}
