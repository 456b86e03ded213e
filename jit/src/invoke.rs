//! The host-to-WebAssembly entry ([`invoke`]) and the Rust-side state of one
//! entry ([`Activation`]), which libcalls reach through the `VmContext`.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::ptr::NonNull;

use kiln_runtime::{FuncAddr, FuncEntity, HostCaller, InstanceAddr, Store, Trap, TrapCode, Val};

use crate::CompiledModule;
use crate::signals::{self, EntryState, Trampoline};
use crate::vmctx::{self, FuncEntry, MemoryDef, TableDef, VmContext};

/// Argument/result slots kept on the Rust stack; more go to the heap.
const INLINE_SLOTS: usize = 8;

/// Calls `func` with `args`, writing its results to `results`; the JIT's
/// counterpart of `kiln_interp::invoke`, with the same contract.
///
/// The caller checks that `args` and `results` match the function's type. A
/// host function is called directly; a WebAssembly function must belong to an
/// instance whose code is a [`CompiledModule`] of this crate. The store's call
/// depth is the same after the call as before it, trap or not.
///
/// # Errors
///
/// The trap that ended execution.
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
            let outcome = call_wasm(store, data, instance, &code, def_index, args, results);
            store.depth = entry_depth;
            match outcome {
                Ok(()) => Ok(()),
                Err(Pending::Trap(t)) => Err(t),
                Err(Pending::Panic(p)) => std::panic::resume_unwind(p),
            }
        }
    }
}

/// Why an entry ended early.
pub(crate) enum Pending {
    /// A trap.
    Trap(Trap),
    /// A host function panicked; the panic resumes once the entry has returned.
    Panic(Box<dyn Any + Send>),
}

impl From<TrapCode> for Pending {
    fn from(code: TrapCode) -> Pending {
        Pending::Trap(code.into())
    }
}

/// The Rust-side state of one entry into compiled code: what libcalls need to
/// reach the store, and the tables the `VmContext` points into.
pub struct Activation {
    /// The store, borrowed exclusively for the whole entry. Only libcalls
    /// dereference it, one at a time, while compiled code waits for them.
    pub(crate) store: *mut Store,
    /// The embedder's host state, borrowed like the store.
    pub(crate) data: *mut dyn Any,
    /// The instance whose code runs.
    pub(crate) instance: InstanceAddr,
    /// Whether the module meters fuel.
    pub(crate) metered: bool,
    /// One entry per memory of the instance (the `VmContext` points here).
    memories: Vec<MemoryDef>,
    /// One pointer per global of the instance (the `VmContext` points here).
    globals: Vec<*mut u128>,
    /// One entry per table of the instance (the `VmContext` points here).
    tables: Vec<TableDef>,
    /// The trap (or panic) a libcall hit, raised by compiled code right after it.
    pub(crate) pending: Option<Pending>,
}

impl Activation {
    /// Points the memory, global and table arrays (and `vm`'s function entries)
    /// at the store's current entities: after anything that may have grown a
    /// memory or a table, or added globals or functions to the store.
    ///
    /// # Safety
    ///
    /// `self.store` must be valid to read, with no live reference to it elsewhere.
    pub(crate) unsafe fn refresh(&mut self, vm: &mut VmContext) {
        // SAFETY: see `# Safety`.
        let store = unsafe { &mut *self.store };
        let (entries, n) = func_entries(store);
        vm.func_entries = entries;
        vm.num_func_entries = n;
        let inst = &store.instances[self.instance.index()];
        for (def, t) in self.tables.iter_mut().zip(&inst.tables) {
            let elems = store.tables[t.index()].elems();
            def.base = elems.as_ptr().cast::<u32>();
            def.len = elems.len() as u64;
        }
        for (def, m) in self.memories.iter_mut().zip(&inst.memories) {
            let view = store.memories[m.index()].view();
            def.base = view.base.as_ptr();
            def.len = view.len as u64;
        }
        let globals_base = store.globals.as_mut_ptr();
        for (slot, g) in self.globals.iter_mut().zip(&inst.globals) {
            // SAFETY: every address of an instance indexes the store's globals, so the
            // element is in bounds; `addr_of_mut!` creates no intermediate reference.
            *slot = unsafe { std::ptr::addr_of_mut!((*globals_base.add(g.index())).bits) };
        }
    }
}

/// Runs defined function `def` of `instance` through its trampoline.
#[allow(clippy::too_many_lines)]
fn call_wasm(
    store: &mut Store,
    data: &mut dyn Any,
    instance: InstanceAddr,
    code: &CompiledModule,
    def: u32,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Pending> {
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
    let dangling = MemoryDef {
        base: NonNull::dangling().as_ptr(),
        len: 0,
    };
    let mut act = Activation {
        store: std::ptr::null_mut(),
        data: std::ptr::null_mut::<()>() as *mut dyn Any,
        instance,
        metered: code.options().fuel,
        memories: vec![dangling; inst.memories.len()],
        globals: vec![std::ptr::null_mut(); inst.globals.len()],
        tables: vec![
            TableDef {
                base: NonNull::dangling().as_ptr(),
                len: 0,
            };
            inst.tables.len()
        ],
        pending: None,
    };
    let mut vm = VmContext {
        memories: act.memories.as_ptr(),
        globals: act.globals.as_ptr(),
        func_addrs,
        tables: act.tables.as_ptr(),
        sigs: inst.sigs.as_ptr().cast::<u32>(),
        func_entries: std::ptr::null(),
        num_func_entries: 0,
        instance: instance.0,
        stack_limit: signals::stack_limit(code.max_frame_size()),
        fuel: store.fuel,
        depth: store.depth,
        max_depth: store.limits.max_call_depth,
        pending: 0,
        activation: std::ptr::null_mut(),
    };
    // The first frame must fit above the limit too (see `signals::stack_limit`).
    if !signals::entry_fits(vm.stack_limit) {
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

    // From here until the entry returns, the store and host state are reached only
    // through these raw pointers (by libcalls, one at a time).
    act.store = store;
    act.data = data;
    // SAFETY: the store pointer is valid and nothing else uses it right now.
    unsafe { act.refresh(&mut vm) };
    vm.activation = &mut act;

    let (body, trampoline) = code.entry(def);
    // SAFETY: `trampoline` is the compiled array-call trampoline for `def`'s type,
    // which has exactly the `Trampoline` signature.
    let trampoline: Trampoline = unsafe { std::mem::transmute(trampoline) };
    let mut state = EntryState::new(code.code_start(), code.code_size(), code.trap_sites());
    // SAFETY: `vm` is a live context filled above (memories and globals point into the
    // store, which nothing else touches during the call); `body` is the function the
    // trampoline was compiled to call; `values` has a slot for every argument and
    // result; `code` keeps the code mapped for the whole call.
    let trapped =
        unsafe { signals::enter(&mut state, trampoline, &mut vm, body, values.as_mut_ptr()) };

    if act.metered {
        store.fuel = vm.fuel;
    }
    if let Some(code) = trapped {
        return Err(match code.and_then(vmctx::trap_from_clif) {
            Some(code) => code.into(),
            None => act
                .pending
                .take()
                .unwrap_or_else(|| Pending::Trap(Trap::host("compiled code trapped"))),
        });
    }
    let module = code.module();
    let ty = &module.types[module.funcs[def as usize].index()];
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
            FuncEntity::Wasm { .. } => invoke(store, data, addr, &args, &mut results),
        }
    }));
    if act.metered {
        vm.fuel = store.fuel;
    }
    // SAFETY: `store` is not used again below.
    unsafe { act.refresh(vm) };
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(trap)) => return Err(Pending::Trap(trap)),
        Err(panic) => return Err(Pending::Panic(panic)),
    }
    for ((slot, r), t) in slots.iter_mut().zip(&results).zip(ty.results.iter()) {
        if r.ty() != *t {
            return Err(Pending::Trap(Trap::host(
                "host function returned a value of the wrong type",
            )));
        }
        *slot = r.to_bits();
    }
    Ok(())
}

/// The JIT's per-store data: a [`FuncEntry`] per function of the store.
#[derive(Debug, Default)]
struct FuncCache {
    entries: Vec<FuncEntry>,
}

/// The store's function entries, extended to every function it has now.
fn func_entries(store: &mut Store) -> (*const FuncEntry, u64) {
    let Store {
        tier_data,
        funcs,
        instances,
        ..
    } = store;
    let data = tier_data.get_or_insert_with(|| Box::new(FuncCache::default()));
    let Some(cache) = data.downcast_mut::<FuncCache>() else {
        // Another tier's data: no entries, every indirect call takes the slow path.
        return (std::ptr::null(), 0);
    };
    for f in &funcs[cache.entries.len()..] {
        let entry = match f {
            FuncEntity::Wasm {
                instance,
                def_index,
                sig,
            } => {
                let code = instances
                    .get(instance.index())
                    .and_then(|i| i.code.downcast_ref::<CompiledModule>())
                    .map_or(0, |c| c.entry(*def_index).0 as usize);
                FuncEntry {
                    sig: sig.0,
                    instance: if code == 0 {
                        vmctx::NO_INSTANCE
                    } else {
                        instance.0
                    },
                    code,
                }
            }
            FuncEntity::Host { sig, .. } => FuncEntry {
                sig: sig.0,
                instance: vmctx::NO_INSTANCE,
                code: 0,
            },
        };
        cache.entries.push(entry);
    }
    (cache.entries.as_ptr(), cache.entries.len() as u64)
}
