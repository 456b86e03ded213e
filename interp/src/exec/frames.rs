//! Frames and calls: what a frame points to, how a callee is found (directly,
//! through a table, in another instance, or on the host) and how its frame is
//! set up on the shared value stack.

use std::any::Any;
use std::ptr::NonNull;
use std::sync::{Arc, OnceLock};

use kiln_runtime::{
    FuncAddr, FuncEntity, HostCaller, HostFn, InstanceAddr, RawRef, SigId, Store, Trap, TrapCode,
    Val,
};

use crate::{CompiledFunc, CompiledModule};

/// Most registers a value stack may grow to (256 Mi registers, 4 GiB with
/// their high halves) before `call stack exhausted`.
pub(super) const MAX_STACK_SLOTS: usize = 1 << 28;

/// An active WebAssembly function.
///
/// A frame points to its code and module without owning them, so that calls
/// and returns touch no reference counts: the [`Modules`] of the `execute`
/// call that runs the frame owns every module its frames point to, and a
/// module owns its translated functions for as long as it lives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub(super) func: NonNull<CompiledFunc>,
    pub(super) module: NonNull<CompiledModule>,
    pub(super) instance: InstanceAddr,
    /// Index of the next op to run (saved while a callee runs).
    pub(super) pc: usize,
    /// Stack index of register 0.
    pub(super) base: usize,
    /// Store index of the instance's memory 0, and whether it is 64-bit.
    pub(super) mem0: Option<(usize, bool)>,
}

impl Frame {
    pub(crate) fn func(&self) -> &CompiledFunc {
        // SAFETY: the function belongs to `self.module`, which the `Modules` of the
        // running `execute` keeps alive (see `Frame`).
        unsafe { self.func.as_ref() }
    }

    pub(crate) fn module(&self) -> &CompiledModule {
        // SAFETY: as in `func`.
        unsafe { self.module.as_ref() }
    }
}

/// The modules whose functions the frames of one `execute` call run: holding
/// them here is what keeps the frames' pointers valid.
#[derive(Default)]
pub(super) struct Modules(Vec<Arc<CompiledModule>>);

impl Modules {
    /// Keeps `module` alive for the rest of the execution, and points to it.
    pub(super) fn hold(&mut self, module: Arc<CompiledModule>) -> NonNull<CompiledModule> {
        let ptr = NonNull::from(&*module);
        if !self.0.iter().any(|m| Arc::ptr_eq(m, &module)) {
            self.0.push(module);
        }
        ptr
    }
}

pub(super) fn compiled_module(
    store: &Store,
    instance: InstanceAddr,
) -> Result<Arc<CompiledModule>, Trap> {
    kiln_runtime::invoke::compiled_code(store, instance)
}

/// The value stack: one allocation of `2 * n` slots holding `n` registers,
/// the low 64 bits of register `i` at index `i` and its high 64 bits (used by
/// `v128` values only) at index `n + i`. Every index below [`half`] is a
/// register's low slot, which is all that scalar code sees.
pub(super) fn half(stack: &[u64]) -> usize {
    stack.len() / 2
}

/// A value stack with room for `n` registers, all zero.
pub(super) fn new_stack(n: usize) -> Vec<u64> {
    vec![0; 2 * n]
}

/// Writes `v` to register `at` of `stack`, both halves.
pub(super) fn put_val(stack: &mut [u64], at: usize, v: &Val) {
    let bits = v.to_bits();
    let n = half(stack);
    stack[at] = bits as u64;
    stack[n + at] = (bits >> 64) as u64;
}

/// Reads register `at` of `stack` as a value of store-level type `t`
/// (which `store` reads, struct and array types included).
pub(super) fn get_val(store: &Store, stack: &[u64], at: usize, t: kiln_parser::ValType) -> Val {
    let n = half(stack);
    store.val_from_bits(t, u128::from(stack[at]) | u128::from(stack[n + at]) << 64)
}

pub(super) fn frame_for(
    store: &Store,
    module: NonNull<CompiledModule>,
    instance: InstanceAddr,
    func: NonNull<CompiledFunc>,
    base: usize,
) -> Frame {
    let mem0 = store.instances[instance.index()]
        .memories
        .first()
        .map(|m| (m.index(), store.memories[m.index()].is_64()));
    Frame {
        func,
        module,
        instance,
        pc: 0,
        base,
        mem0,
    }
}

/// Makes room for `needed` registers, moving the high halves up with the
/// new middle of the stack (see [`half`]).
pub(super) fn ensure_stack(stack: &mut Vec<u64>, needed: usize) -> Result<(), Trap> {
    let n = half(stack);
    if needed > n {
        if needed > MAX_STACK_SLOTS {
            return Err(TrapCode::CallStackExhausted.into());
        }
        let new_n = needed.max(n * 2).min(MAX_STACK_SLOTS);
        stack.resize(2 * new_n, 0);
        stack.copy_within(n..2 * n, new_n);
    }
    Ok(())
}

/// The arguments of a call of type `ty` from `stack[at..]`, and result slots.
fn call_values(
    store: &Store,
    ty: &kiln_parser::FuncType,
    stack: &[u64],
    at: usize,
) -> (Vec<Val>, Vec<Val>) {
    let params = ty
        .params
        .iter()
        .enumerate()
        .map(|(i, t)| get_val(store, stack, at + i, *t))
        .collect();
    // Read through the store: a null of a struct or array type is an
    // `anyref` null.
    let results = ty
        .results
        .iter()
        .map(|t| store.val_from_bits(*t, 0))
        .collect();
    (params, results)
}

/// Calls host function `host` with arguments in `stack[at..]`, results written from `at`.
pub(super) fn call_host(
    store: &mut Store,
    data: &mut dyn Any,
    instance: InstanceAddr,
    host: &Arc<HostFn>,
    sig: SigId,
    stack: &mut [u64],
    at: usize,
) -> Result<(), Trap> {
    let ty = store.sig(sig).clone();
    let (params, mut results) = call_values(store, &ty, stack, at);
    host(
        HostCaller {
            store,
            data,
            instance: Some(instance),
        },
        &params,
        &mut results,
    )?;
    // By subtyping, and a reference to nothing in the store fits nothing: a
    // non-null or typed reference result is relied on as such.
    for (i, (r, t)) in results.iter().zip(ty.results.iter()).enumerate() {
        if !store.val_fits(r, *t) {
            return Err(Trap::host(
                "host function returned a value of the wrong type",
            ));
        }
        put_val(stack, at + i, r);
    }
    Ok(())
}

/// The trap of a call to a function the bytecode verifier rejected.
#[cold]
pub(super) fn internal(e: kiln_runtime::CompileError) -> Trap {
    Trap::internal(e.to_string())
}

/// What a call resolved to.
pub(super) enum Callee {
    Wasm(Frame),
    Host(Arc<HostFn>, SigId),
    /// Under the tiered strategy, a function whose module has native code:
    /// called through [`Store::wasm_invoke`] ([`call_native`]).
    Native(FuncAddr),
}

/// Whether calls to functions of `instance` go to native code: under the
/// tiered strategy, once its module's background compile has finished.
pub(super) fn native_ready(store: &Store, instance: InstanceAddr) -> bool {
    store.wasm_invoke.is_some()
        && store
            .instances
            .get(instance.index())
            .is_some_and(|i| kiln_runtime::invoke::has_native(&*i.code))
}

/// Calls `addr`, a function with native code, through the tiered strategy's
/// call ([`Store::wasm_invoke`]), with arguments in `stack[at..]` and results
/// written from `at`. The store's fuel and call depth are current here (the
/// slow path keeps them there), and the call checks the depth limit itself
/// as a call of the next depth, as [`call`](super::slow) does.
pub(super) fn call_native(
    store: &mut Store,
    data: &mut dyn Any,
    addr: FuncAddr,
    stack: &mut [u64],
    at: usize,
) -> Result<(), Trap> {
    let Some(invoke) = store.wasm_invoke else {
        return Err(Trap::internal(
            "a native callee without the tiered strategy",
        ));
    };
    let (params, mut results) = call_values(store, store.func_type(addr), stack, at);
    invoke(store, data, addr, &params, &mut results)?;
    for (i, r) in results.iter().enumerate() {
        put_val(stack, at + i, r);
    }
    Ok(())
}

/// Whether a call of `addr` leaves WebAssembly for a while (a host function,
/// or native code under the tiered strategy), as [`resolve`] would find.
pub(super) fn leaves_wasm(store: &Store, addr: FuncAddr) -> bool {
    match store.funcs.get(addr.index()) {
        Some(FuncEntity::Wasm { instance, .. }) => native_ready(store, *instance),
        _ => true,
    }
}

/// Resolves function `addr` for a call whose callee frame starts at stack index `base`.
pub(super) fn resolve(
    store: &Store,
    caller: &Frame,
    addr: FuncAddr,
    base: usize,
    modules: &mut Modules,
) -> Result<Callee, Trap> {
    match &store.funcs[addr.index()] {
        FuncEntity::Wasm { instance, .. } if native_ready(store, *instance) => {
            Ok(Callee::Native(addr))
        }
        FuncEntity::Wasm {
            instance,
            def_index,
            ..
        } => {
            if *instance == caller.instance {
                // Same instance: same module and memory 0, nothing to look up.
                return Ok(Callee::Wasm(Frame {
                    func: caller.module().func_ptr(*def_index).map_err(internal)?,
                    module: caller.module,
                    instance: *instance,
                    pc: 0,
                    base,
                    mem0: caller.mem0,
                }));
            }
            let module = compiled_module(store, *instance)?;
            let func = module.func_ptr(*def_index).map_err(internal)?;
            let module = modules.hold(module);
            Ok(Callee::Wasm(frame_for(
                store, module, *instance, func, base,
            )))
        }
        FuncEntity::Host { func, sig } => Ok(Callee::Host(func.clone(), *sig)),
    }
}

/// The function `call_indirect` site `site` of `frame` selects with table index `i`.
pub(super) fn indirect_target(
    store: &Store,
    frame: &Frame,
    site: u32,
    i: u64,
) -> Result<FuncAddr, Trap> {
    let (table, ty) = frame.func().indirect[site as usize];
    let inst = &store.instances[frame.instance.index()];
    let t = &store.tables[inst.tables[table as usize].index()];
    let i = if t.ty().index == kiln_parser::IndexType::I64 {
        i
    } else {
        u64::from(i as u32)
    };
    let raw = usize::try_from(i)
        .ok()
        .and_then(|i| t.elems().get(i))
        .ok_or(TrapCode::UndefinedElement)?;
    let addr = FuncAddr(raw.addr().ok_or(TrapCode::UninitializedElement)?);
    let (actual, expected) = (store.funcs[addr.index()].sig(), inst.sigs[ty as usize]);
    // Equal ids are the common case; a declared subtype matches too.
    if actual != expected && !store.sig_matches(actual, expected) {
        return Err(TrapCode::IndirectCallTypeMismatch.into());
    }
    Ok(addr)
}

/// The callee of `call_indirect` site `site` of `frame` with table index `i`,
/// for a table other than 0 (whose views the fast path keeps): see
/// [`indirect_callee`]. Out of line when debug assertions are on (builds whose
/// other crates may be unoptimised), so that the locals of the lookups (the
/// table type, returned through memory by an accessor left out of line there)
/// live in this function's frame rather than in the calling handler's, which
/// must have no local whose address escapes (see `threaded.rs`).
#[cfg_attr(debug_assertions, inline(never))]
#[cfg_attr(not(debug_assertions), inline)]
pub(super) fn indirect_fast(
    store: &Store,
    frame: &Frame,
    own: &[OnceLock<Arc<CompiledFunc>>],
    site: u32,
    i: u64,
) -> Option<NonNull<CompiledFunc>> {
    let (table, ty) = *frame.func().indirect.get(site as usize)?;
    let inst = &store.instances[frame.instance.index()];
    let t = &store.tables[inst.tables.get(table as usize)?.index()];
    if t.ty().index == kiln_parser::IndexType::I64 {
        return None;
    }
    indirect_callee(t.elems(), &inst.sigs, &store.funcs, frame, own, ty, i)
}

/// The callee of a `call_indirect` of type `ty` at index `i` of a 32-bit table
/// with `elems`, when it is a translated function of `frame`'s instance and the
/// call cannot trap; `None` otherwise (the slow path then calls or traps).
/// `sigs` are the instance's signatures by type index, `funcs` the store's,
/// `own` the running module's own functions (see `Ctx::own_funcs`).
/// Returns an `Option` of a pointer: one register, for the fast path.
#[inline(always)]
pub(super) fn indirect_callee(
    elems: &[RawRef],
    sigs: &[SigId],
    funcs: &[FuncEntity],
    frame: &Frame,
    own: &[OnceLock<Arc<CompiledFunc>>],
    ty: u32,
    i: u64,
) -> Option<NonNull<CompiledFunc>> {
    let addr = elems.get(i as u32 as usize)?.addr()?;
    match funcs.get(addr as usize)? {
        FuncEntity::Wasm {
            instance,
            def_index,
            sig,
        } if *instance == frame.instance && sig == sigs.get(ty as usize)? => {
            let callee = own.get(*def_index as usize)?.get()?;
            Some(NonNull::from(&**callee))
        }
        _ => None,
    }
}

/// Prepares the stack for a callee frame: room for it, and its declared locals zeroed.
pub(super) fn enter(stack: &mut Vec<u64>, callee: &Frame) -> Result<(), Trap> {
    let f = callee.func();
    ensure_stack(stack, callee.base + f.frame_size as usize)?;
    init_frame(stack, callee.base, f);
    Ok(())
}

/// Zeroes the declared locals of a frame at `base` and loads its constant registers.
pub(super) fn init_frame(stack: &mut [u64], base: usize, f: &CompiledFunc) {
    // Most functions declare few locals and constants, if any: skip the
    // (out-of-line) copy when there is nothing to do.
    if !f.init.is_empty() {
        let from = base + f.num_params as usize;
        stack[from..from + f.init.len()].copy_from_slice(&f.init);
    }
}

/// Replaces `frame` by a call to `addr` whose arguments start at register `args`.
///
/// For a host callee the call is made at once and `frame.pc` is set to `usize::MAX`
/// to tell the caller to return the results.
pub(super) fn tail_call(
    store: &mut Store,
    data: &mut dyn Any,
    stack: &mut Vec<u64>,
    frame: &mut Frame,
    addr: FuncAddr,
    args: u32,
    modules: &mut Modules,
) -> Result<(), Trap> {
    let base = frame.base;
    let np = store.func_type(addr).params.len();
    let from = base + args as usize;
    // The high halves were moved by the `CopyHi`s before the op.
    stack.copy_within(from..from + np, base);
    match resolve(store, frame, addr, base, modules)? {
        Callee::Wasm(callee) => {
            enter(stack, &callee)?;
            *frame = callee;
        }
        Callee::Host(host, sig) => {
            call_host(store, data, frame.instance, &host, sig, stack, base)?;
            frame.pc = usize::MAX;
        }
        // Not a tail call on the native stack: the call returns here, and
        // its results are this frame's. The callee replaces this frame, so
        // it runs at this frame's depth, as it would interpreted: entered
        // from one below, the store's depth set back after.
        Callee::Native(addr) => {
            let depth = store.depth;
            store.depth = depth.saturating_sub(1);
            let called = call_native(store, data, addr, stack, base);
            store.depth = depth;
            called?;
            frame.pc = usize::MAX;
        }
    }
    Ok(())
}

/// Pops back to the caller after the current frame's results were left at its base.
pub(super) fn finish_return(
    store: &mut Store,
    frames: &mut Vec<Frame>,
    frame: &mut Frame,
) -> Option<()> {
    let caller = frames.pop()?;
    *frame = caller;
    store.depth -= 1;
    Some(())
}
