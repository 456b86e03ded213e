//! The Rust-side state of one entry into compiled code ([`Activation`]): what
//! libcalls need to reach the store, the arrays the `VmContext` points into,
//! and the trap a libcall left for compiled code to raise ([`Pending`]).
//! (An exception a libcall's callee ended with is not kept here but in the
//! entry's state, where the unwinder finds it: see `unwind.rs`.)
//!
//! The context reaches its activation through `VmContext::activation`, a
//! pointer the layout in `vmctx.rs` keeps untyped so that it depends on
//! nothing else of this crate; [`Activation::attach`] sets it and
//! [`Activation::of`] reads it back.

use std::any::Any;
use std::ptr::NonNull;

use kiln_runtime::{FuncEntity, InstanceAddr, Store, Trap, TrapCode};

use crate::compiled_module::CompiledModule;
use crate::vmctx::{self, FuncEntry, MemoryDef, TableDef, VmContext};

/// Why an entry (or a call a libcall made) ended early.
pub(crate) enum Pending {
    /// A trap.
    Trap(Trap),
    /// An exception no handler caught (its `exnref` bits; see `unwind.rs`).
    Exception(u32),
    /// A host function panicked; the panic resumes once the entry has returned.
    Panic(Box<dyn Any + Send>),
}

impl From<TrapCode> for Pending {
    fn from(code: TrapCode) -> Pending {
        Pending::Trap(code.into())
    }
}

impl From<Trap> for Pending {
    /// A trap, or the exception a [`Trap::exception`] carries.
    fn from(trap: Trap) -> Pending {
        match trap.thrown() {
            Some(exn) => Pending::Exception(exn),
            None => Pending::Trap(trap),
        }
    }
}

/// The Rust-side state of one entry into compiled code: what libcalls need to
/// reach the store, and the tables the `VmContext` points into.
pub(crate) struct Activation {
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
    pub(crate) memories: Vec<MemoryDef>,
    /// One pointer per global of the instance (the `VmContext` points here).
    pub(crate) globals: Vec<*mut u128>,
    /// One entry per table of the instance (the `VmContext` points here).
    pub(crate) tables: Vec<TableDef>,
    /// The trap (or panic) a libcall hit, raised by compiled code right after it.
    pub(crate) pending: Option<Pending>,
    /// The entry's real stack limit (`VmContext::stack_limit` holds it too,
    /// unless an epoch poke replaced it).
    pub(crate) stack_limit: usize,
    /// With epoch checks, the store's poll page (`VmContext::epoch_poll`).
    pub(crate) poll_page: Option<std::sync::Arc<kiln_runtime::epoch::PollPage>>,
}

impl Activation {
    /// An activation for `instance` of `store`, not yet attached to the store:
    /// its memory, global and table arrays have the instance's lengths and point
    /// nowhere until [`Activation::refresh`].
    pub(crate) fn new(store: &Store, instance: InstanceAddr, metered: bool) -> Activation {
        let inst = &store.instances[instance.index()];
        let dangling = MemoryDef {
            base: NonNull::dangling().as_ptr(),
            len: 0,
        };
        Activation {
            store: std::ptr::null_mut(),
            data: std::ptr::null_mut::<()>() as *mut dyn Any,
            instance,
            metered,
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
            stack_limit: 0,
            poll_page: None,
        }
    }

    /// Makes `vm` point back at this activation, for [`Activation::of`].
    pub(crate) fn attach(&mut self, vm: &mut VmContext) {
        vm.activation = std::ptr::from_mut(self).cast::<()>();
    }

    /// The activation `vm` was attached to.
    ///
    /// # Safety
    ///
    /// `vm` was attached with [`Activation::attach`] to an activation that is still
    /// alive, and no other reference to that activation is live.
    pub(crate) unsafe fn of<'a>(vm: &VmContext) -> &'a mut Activation {
        // SAFETY: see `# Safety`: the pointer was made from a live `&mut Activation`.
        unsafe { &mut *vm.activation.cast::<Activation>() }
    }

    /// Runs host-side work `f` for a libcall of this entry (with the store and
    /// host state, the store seeing the fuel compiled code left in `vm` and
    /// `vm` getting back what `f` left, a panic caught), then takes again what
    /// `vm` caches from the store, which `f` may have changed.
    ///
    /// # Errors
    ///
    /// `f`'s trap, or its panic, as the [`Pending`] to raise.
    ///
    /// # Safety
    ///
    /// `self.store` and `self.data` must be valid, with no live reference to
    /// them elsewhere (compiled code waits for the libcall).
    pub(crate) unsafe fn run_host(
        &mut self,
        vm: &mut VmContext,
        f: impl FnOnce(&mut Store, &mut dyn Any) -> Result<(), Trap>,
    ) -> Result<(), Pending> {
        // SAFETY: see `# Safety`.
        let (store, data) = unsafe { (&mut *self.store, &mut *self.data) };
        if self.metered {
            store.fuel = vm.fuel;
        }
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut *store, &mut *data)));
        if self.metered {
            vm.fuel = store.fuel;
        }
        // SAFETY: `store` and `data` are not used again.
        unsafe { self.refresh(vm) };
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(trap)) => Err(Pending::from(trap)),
            Err(panic) => Err(Pending::Panic(panic)),
        }
    }

    /// For a `preserve_all` stub's target that cannot go on: records `pending`
    /// (a trap or a panic) and returns the stack pointer that ends the entry as
    /// trapped (see `stubs::preserve_all_stub!`).
    pub(crate) fn end_entry(&mut self, vm: &mut VmContext, pending: Pending) -> usize {
        self.pending = Some(pending);
        vm.pending = 1;
        crate::signals::trap_innermost_entry()
    }

    /// Points the memory, global and table arrays (and `vm`'s function entries)
    /// at the store's current entities, and pokes the entry if the store's
    /// epoch deadline is reached: after anything that may have grown a
    /// memory or a table, added globals or functions to the store, or set the
    /// deadline.
    ///
    /// # Safety
    ///
    /// `self.store` must be valid to read, with no live reference to it elsewhere.
    pub(crate) unsafe fn refresh(&mut self, vm: &mut VmContext) {
        // SAFETY: see `# Safety`.
        let store = unsafe { &mut *self.store };
        // Host code may have set a deadline already reached: the next check
        // must stop, without waiting for the epoch's next tick.
        if let Some(page) = &self.poll_page
            && store.epoch.reached()
        {
            vm.stack_limit.store(
                kiln_runtime::epoch::POKED,
                std::sync::atomic::Ordering::Relaxed,
            );
            page.poke();
        }
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

/// The JIT's per-store data: a [`FuncEntry`] per function of the store.
#[derive(Debug, Default)]
struct FuncCache {
    entries: Vec<FuncEntry>,
    /// WebAssembly functions whose module had no native code yet (under the
    /// tiered strategy, its background compile had not finished): looked at
    /// again until it has.
    waiting: Vec<usize>,
}

/// The entry of the store's function `f`, native code if its module has it.
fn func_entry(f: &FuncEntity, instances: &[kiln_runtime::InstanceData]) -> FuncEntry {
    match f {
        FuncEntity::Wasm {
            instance,
            def_index,
            sig,
        } => {
            let code = instances
                .get(instance.index())
                .and_then(|i| kiln_runtime::invoke::code_as::<CompiledModule>(&*i.code))
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
    }
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
    let FuncCache { entries, waiting } = cache;
    waiting.retain(|&i| {
        entries[i] = func_entry(&funcs[i], instances);
        entries[i].code == 0
    });
    for f in &funcs[entries.len()..] {
        let entry = func_entry(f, instances);
        if entry.code == 0 && matches!(f, FuncEntity::Wasm { .. }) {
            waiting.push(entries.len());
        }
        entries.push(entry);
    }
    (cache.entries.as_ptr(), cache.entries.len() as u64)
}
