//! The host-to-WebAssembly entry ([`invoke`]), and calls from compiled code to
//! any function of the store ([`call_from_wasm`], for the libcalls).

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::AtomicUsize;

use kiln_runtime::invoke::WasmFunc;
use kiln_runtime::{FuncAddr, FuncEntity, HostCaller, InstanceAddr, Store, Trap, TrapCode, Val};

use crate::activation::{Activation, Pending};
use crate::compiled_module::CompiledModule;
use crate::signals::{self, EntryOutcome, Trampoline};
use crate::vmctx::{self, VmContext};

/// Argument/result slots kept on the Rust stack; more go to the heap.
const INLINE_SLOTS: usize = 8;

/// Calls `func` with `args`, writing its results to `results`; the JIT's
/// counterpart of `kiln_interp::invoke`, with the same contract.
///
/// The caller checks that `args` and `results` match the function's type. A
/// host function is called directly; a WebAssembly function must belong to an
/// instance whose code is a [`CompiledModule`] of this crate. The store's call
/// depth is the same after the call as before it, trap or not. (What does not
/// depend on the tier is `kiln_runtime::invoke`'s, shared with the interpreter.)
///
/// # Errors
///
/// The trap that ended execution, or an exception no handler caught
/// ([`Trap::thrown`] gives it).
///
/// # Panics
///
/// A panic of a host function called from WebAssembly continues here, once the
/// WebAssembly frames are gone.
pub fn invoke(
    store: &mut Store,
    data: &mut dyn Any,
    func: FuncAddr,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    let outcome = kiln_runtime::invoke::invoke(
        store,
        data,
        func,
        args,
        results,
        |store, data, f: WasmFunc<CompiledModule>, args, results| {
            call_wasm(store, data, f.instance, &f.code, f.def_index, args, results)
        },
    );
    match outcome {
        Ok(()) => Ok(()),
        Err(Pending::Trap(t)) => Err(t),
        Err(Pending::Exception(exn)) => Err(Trap::from_thrown(exn)),
        Err(Pending::Panic(p)) => std::panic::resume_unwind(p),
    }
}

/// Runs defined function `def` of `instance` through its trampoline.
fn call_wasm(
    store: &mut Store,
    data: &mut dyn Any,
    instance: InstanceAddr,
    code: &CompiledModule,
    def: u32,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Pending> {
    // A deadline reached before the call stops it at once, as the first entry
    // check would (a function without calls has none in the JIT).
    if code.options().epoch_interruption && store.epoch.reached() {
        kiln_runtime::epoch::deadline_reached(store, data).map_err(Pending::Trap)?;
    }
    let inst = &store.instances[instance.index()];
    if code.assumes_guards()
        && inst
            .memories
            .iter()
            .any(|m| !store.memories[m.index()].is_64() && !store.memories[m.index()].guarded())
    {
        return Err(Pending::Trap(Trap::host(
            "the module was compiled for memories with guard regions, but the store's have none",
        )));
    }
    let func_addrs = inst.funcs.as_ptr().cast::<u32>();
    let mut act = Activation::new(store, instance, code.options().fuel);
    act.stack_limit = signals::stack_limit(code.max_frame_size());
    let mut vm = VmContext {
        memories: act.memories.as_ptr(),
        globals: act.globals.as_ptr(),
        func_addrs,
        tables: act.tables.as_ptr(),
        sigs: inst.sigs.as_ptr().cast::<u32>(),
        tags: inst.tags.as_ptr().cast::<u32>(),
        func_entries: std::ptr::null(),
        num_func_entries: 0,
        instance: instance.0,
        stack_limit: AtomicUsize::new(act.stack_limit),
        fuel: store.fuel,
        epoch_poll: std::ptr::null(),
        depth: store.depth,
        max_depth: store.limits.max_call_depth,
        pending: 0,
        activation: std::ptr::null_mut(),
    };
    // The first frame must fit above the limit too (see `signals::stack_limit`).
    if !signals::entry_fits(act.stack_limit) {
        return Err(TrapCode::CallStackExhausted.into());
    }
    // With epoch checks, the entry is listed with the engine so that advancing
    // the epoch past the deadline pokes its stack limit (`kiln_runtime::epoch`).
    let _watch = if code.options().epoch_interruption {
        let page = store
            .epoch
            .poll_page()
            .map_err(|e| Trap::host(format!("cannot map the epoch poll page: {e}")))?;
        vm.epoch_poll = page.addr();
        // SAFETY: `vm` outlives the guard, dropped before it at the end of this
        // function (an abandoned resumable call's entry never returns, and its
        // stack, where `vm` lies, stays mapped for ever).
        let guard = unsafe {
            store
                .epoch
                .watchers
                .watch(&vm.stack_limit, &page, &store.epoch)
        };
        act.poll_page = Some(page);
        Some(guard)
    } else {
        None
    };

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

    // From here until the entry returns, the store and host state are reached only
    // through these raw pointers (by libcalls, one at a time).
    act.store = store;
    act.data = data;
    // SAFETY: the store pointer is valid and nothing else uses it right now.
    unsafe { act.refresh(&mut vm) };
    act.attach(&mut vm);

    let (body, trampoline) = code.entry(def);
    // SAFETY: `trampoline` is the compiled array-call trampoline for `def`'s type,
    // which has exactly the `Trampoline` signature.
    let trampoline: Trampoline = unsafe { std::mem::transmute(trampoline) };
    let mut state = code.entry_state();
    state.poll_stub = crate::epoch::epoch_poll_stub as *const () as usize;
    // SAFETY: `vm` is a live context filled above (memories and globals point into the
    // store, which nothing else touches during the call); `body` is the function the
    // trampoline was compiled to call; `values` has a slot for every argument and
    // result; `code` keeps the code mapped for the whole call.
    let outcome =
        unsafe { signals::enter(&mut state, trampoline, &mut vm, body, values.as_mut_ptr()) };

    if act.metered {
        store.fuel = vm.fuel;
    }
    match outcome {
        EntryOutcome::Returned => {}
        EntryOutcome::Trapped(code) => {
            return Err(match code.and_then(vmctx::trap_from_clif) {
                Some(code) => code.into(),
                None => act
                    .pending
                    .take()
                    .unwrap_or_else(|| Pending::Trap(Trap::host("compiled code trapped"))),
            });
        }
        EntryOutcome::Threw(exn) => return Err(Pending::Exception(exn)),
    }
    let module = code.module();
    let ty = module.types[module.funcs[def as usize].index()].func();
    for ((r, t), bits) in results.iter_mut().zip(ty.results.iter()).zip(values.iter()) {
        *r = Val::from_bits(*t, *bits);
    }
    Ok(())
}

/// Calls function `addr` of the store from compiled code of `act`'s instance, with
/// arguments and results in `values` (one 16-byte slot each, `Val::to_bits`), as a
/// callee at `depth` (the WebAssembly frames active, the caller's included).
///
/// The store sees that depth and the caller's fuel during the call, and the caller sees
/// the store's fuel after it; memories and globals are refreshed, since the callee
/// may have grown a memory or added globals.
///
/// # Safety
///
/// `vm` is the live context of `act`'s entry, `values` holds
/// `max(params, results)` slots of the callee's type, and no reference to the store
/// or host state is live.
pub(crate) unsafe fn call_from_wasm(
    act: &mut Activation,
    vm: &mut VmContext,
    depth: u32,
    addr: FuncAddr,
    values: *mut u128,
) -> Result<(), Pending> {
    // SAFETY: the entry's store and host state, used by nothing else during this call
    // (see `# Safety`).
    let (store, data) = unsafe { (&mut *act.store, &mut *act.data) };
    store.depth = depth;
    if act.metered {
        store.fuel = vm.fuel;
    }
    let ty = store.func_type(addr).clone();
    // SAFETY: `values` has a slot for every parameter and result (see `# Safety`).
    let slots =
        unsafe { std::slice::from_raw_parts_mut(values, ty.params.len().max(ty.results.len())) };
    let args: Vec<Val> = ty
        .params
        .iter()
        .zip(slots.iter())
        .map(|(t, bits)| Val::from_bits(*t, *bits))
        .collect();
    let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
    let instance = act.instance;
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        match store.funcs[addr.index()].clone() {
            FuncEntity::Host { func, .. } => func(
                HostCaller {
                    store: &mut *store,
                    data: &mut *data,
                    instance: Some(instance),
                },
                &args,
                &mut results,
            ),
            // The tiered strategy's call picks the tier the callee's module
            // is ready for.
            FuncEntity::Wasm { .. } => {
                let call = store.wasm_invoke.unwrap_or(invoke);
                call(store, data, addr, &args, &mut results)
            }
        }
    }));
    if act.metered {
        vm.fuel = store.fuel;
    }
    // By subtyping, and a reference to nothing in the store fits nothing: a
    // non-null or typed reference result is relied on as such.
    let fits = results
        .iter()
        .zip(ty.results.iter())
        .all(|(r, t)| store.val_fits(r, *t));
    // SAFETY: `store` is not used again below.
    unsafe { act.refresh(vm) };
    match outcome {
        Ok(Ok(())) => {}
        // An exception (`Trap::exception`) stays one: the libcall throws it on.
        Ok(Err(trap)) => return Err(Pending::from(trap)),
        Err(panic) => return Err(Pending::Panic(panic)),
    }
    if !fits {
        return Err(Pending::Trap(Trap::host(
            "host function returned a value of the wrong type",
        )));
    }
    for (slot, r) in slots.iter_mut().zip(&results) {
        *slot = r.to_bits();
    }
    Ok(())
}
