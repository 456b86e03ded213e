//! The store: every function, memory, table, global, segment and instance a
//! program creates, addressed by index.
//!
//! Instances hold addresses into the store rather than the entities
//! themselves, so imports and exports are shared by address, exactly as the
//! spec's store model describes. The store is not generic over the embedder's
//! host state; the embedding API keeps that beside it and hands it to host
//! functions as `&mut dyn Any`.

pub mod epoch;

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use kiln_parser::{
    CompositeType, FuncType, GlobalType, HeapType, Module, RecGroupKey, RefType, TypeIdx, ValType,
    final_type_key, rec_group_key,
};

use crate::memory::{LinearMemory, MemoryConfig};
use crate::table::Table;
use crate::trap::{Trap, TrapCode};
use crate::value::{AnyRef, ExnAddr, ExternAddr, FuncAddr, RawRef, Val};

/// Declares `u32` address newtypes into the store's vectors.
///
/// Each `Name => "doc"` expands to a `Copy` tuple struct around `u32` with `index()`.
macro_rules! addrs {
    ($($name:ident => $doc:literal,)*) => {$(
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub u32);

        impl $name {
            /// The address as a `usize`.
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

addrs! {
    MemAddr => "A memory's address in its store.",
    TableAddr => "A table's address in its store.",
    GlobalAddr => "A global's address in its store.",
    InstanceAddr => "An instance's address in its store.",
    ElemAddr => "An element segment's address in its store.",
    DataAddr => "A data segment's address in its store.",
    TagAddr => "A tag's address in its store.",
}

pub use crate::value::SigId;

/// `t`, a type of a module whose types have store-wide ids `sigs`, with its
/// concrete heap type given as a store-wide id (as the store keeps types).
pub fn store_val_type(sigs: &[SigId], t: ValType) -> ValType {
    match t {
        ValType::Ref(r) => ValType::Ref(store_ref_type(sigs, r)),
        t => t,
    }
}

/// [`store_val_type`] for a reference type.
pub fn store_ref_type(sigs: &[SigId], r: RefType) -> RefType {
    match r.heap {
        HeapType::Concrete(t) => RefType {
            nullable: r.nullable,
            heap: HeapType::Concrete(TypeIdx(sigs.get(t.index()).map_or(0, |s| s.0))),
        },
        _ => r,
    }
}

/// What a host function receives besides its arguments.
#[derive(Debug)]
pub struct HostCaller<'a> {
    /// The store, so the host can read memories or call back into WebAssembly.
    pub store: &'a mut Store,
    /// The embedder's host state.
    pub data: &'a mut dyn Any,
    /// The instance whose code made the call, if any.
    pub instance: Option<InstanceAddr>,
}

/// The signature of host function bodies: read `params`, write `results`.
pub type HostFn =
    dyn Fn(HostCaller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static;

/// A function in the store.
#[derive(Clone)]
pub enum FuncEntity {
    /// A function defined by a module.
    Wasm {
        /// The instance it belongs to.
        instance: InstanceAddr,
        /// Its index among the module's defined functions (imports not counted).
        def_index: u32,
        /// Its signature.
        sig: SigId,
    },
    /// A function provided by the host.
    Host {
        /// Its signature.
        sig: SigId,
        /// Its body.
        func: Arc<HostFn>,
    },
}

impl std::fmt::Debug for FuncEntity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FuncEntity::Wasm {
                instance,
                def_index,
                sig,
            } => f
                .debug_struct("Wasm")
                .field("instance", instance)
                .field("def_index", def_index)
                .field("sig", sig)
                .finish(),
            FuncEntity::Host { sig, .. } => f.debug_struct("Host").field("sig", sig).finish(),
        }
    }
}

impl FuncEntity {
    /// The function's signature.
    pub fn sig(&self) -> SigId {
        match self {
            FuncEntity::Wasm { sig, .. } | FuncEntity::Host { sig, .. } => *sig,
        }
    }
}

/// A tag in the store: what identifies an exception's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagEntity {
    /// The type of its payload (a function type without results).
    pub sig: SigId,
}

/// An exception in the store: its tag and its payload's values, as bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExnEntity {
    /// Its tag.
    pub tag: TagAddr,
    /// The payload, one value per parameter of the tag's type (see
    /// [`Val::to_bits`]).
    pub payload: Box<[u128]>,
}

/// A global in the store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlobalEntity {
    /// Its type.
    pub ty: GlobalType,
    /// Its value's bits (see [`Val::to_bits`]).
    pub bits: u128,
}

impl GlobalEntity {
    /// The current value.
    pub fn get(&self) -> Val {
        Val::from_bits(self.ty.content, self.bits)
    }
}

/// An element segment's contents at run time: empty once dropped.
#[derive(Debug, Clone, Default)]
pub struct ElemInstance {
    /// The references, already evaluated.
    pub items: Box<[crate::value::RawRef]>,
    /// Whether the items are of the `any` or `extern` hierarchy, so may be
    /// GC objects (the collector's roots).
    pub gc: bool,
}

/// A data segment's contents at run time: empty once dropped.
#[derive(Debug, Clone, Default)]
pub struct DataInstance {
    /// The bytes.
    pub bytes: Arc<[u8]>,
}

/// What an external value refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Extern {
    /// A function.
    Func(FuncAddr),
    /// A table.
    Table(TableAddr),
    /// A memory.
    Memory(MemAddr),
    /// A global.
    Global(GlobalAddr),
    /// A tag.
    Tag(TagAddr),
}

/// An instance: the addresses of everything its module's index spaces name.
#[derive(Clone)]
pub struct InstanceData {
    /// Function index space.
    pub funcs: Vec<FuncAddr>,
    /// Table index space.
    pub tables: Vec<TableAddr>,
    /// Memory index space.
    pub memories: Vec<MemAddr>,
    /// Global index space.
    pub globals: Vec<GlobalAddr>,
    /// Element segments.
    pub elems: Vec<ElemAddr>,
    /// Data segments.
    pub datas: Vec<DataAddr>,
    /// Tag index space.
    pub tags: Vec<TagAddr>,
    /// Store-wide signature of each of the module's types.
    pub sigs: Vec<SigId>,
    /// Exports by name.
    pub exports: HashMap<String, Extern, foldhash::fast::RandomState>,
    /// The execution tier's compiled form of the module (the tier downcasts it).
    pub code: Arc<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for InstanceData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceData")
            .field("funcs", &self.funcs.len())
            .field("exports", &self.exports.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Limits a store enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// Memory layout and size limit.
    pub memory: MemoryConfig,
    /// Largest number of elements a table may reach.
    pub max_table_elements: u64,
    /// Deepest WebAssembly call nesting before `call stack exhausted`.
    pub max_call_depth: u32,
    /// Largest total size, in bytes, of the exceptions the store keeps
    /// ([`Store::exn_bytes`]: 32 bytes each and 16 per payload value): a
    /// `throw` past it traps with `exception storage exhausted`. Exceptions handed out as an `exnref` are kept as
    /// long as the store (the collector does not collect them), so a guest could
    /// otherwise grow its store without bound.
    pub max_exception_bytes: u64,
    /// Largest size, in bytes, of the GC heap's objects (16 bytes each and
    /// their data, see [`crate::gc`]): an allocation that does not fit even
    /// after a collection traps with `out of GC heap memory`.
    pub max_gc_heap_bytes: u64,
}

impl Default for StoreLimits {
    fn default() -> StoreLimits {
        StoreLimits {
            memory: MemoryConfig::default(),
            max_table_elements: 10_000_000,
            max_call_depth: 10_000,
            max_exception_bytes: 256 << 20,
            max_gc_heap_bytes: crate::gc::DEFAULT_HEAP_BYTES,
        }
    }
}

/// A store's identity for `resumable::Suspended::resume`: unique in the process, never
/// reused, so a store dropped and another made at its address are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreUid(u64);

impl Default for StoreUid {
    fn default() -> StoreUid {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        StoreUid(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

/// A tier's call from the host: `kiln_interp::invoke`, `kiln_jit::invoke`, or
/// the tiered strategy's choice between them.
pub type InvokeFn = fn(&mut Store, &mut dyn Any, FuncAddr, &[Val], &mut [Val]) -> Result<(), Trap>;

/// The store.
#[derive(Debug, Default)]
pub struct Store {
    /// Functions.
    pub funcs: Vec<FuncEntity>,
    /// Memories.
    pub memories: Vec<LinearMemory>,
    /// Tables.
    pub tables: Vec<Table>,
    /// Globals.
    pub globals: Vec<GlobalEntity>,
    /// Element segments.
    pub elems: Vec<ElemInstance>,
    /// Data segments.
    pub datas: Vec<DataInstance>,
    /// Instances.
    pub instances: Vec<InstanceData>,
    /// Host values referred to by `externref`s.
    pub externs: Vec<Box<dyn Any + Send + Sync>>,
    /// Tags.
    pub tags: Vec<TagEntity>,
    /// Exceptions (an `exnref` points into this): those the host made, and
    /// those WebAssembly threw that may still be referred to. See
    /// [`Store::add_thrown_exn`].
    pub exns: Vec<ExnEntity>,
    /// The slot of the exception WebAssembly threw last, while nothing but
    /// its unwinding can refer to it: the next `throw` reuses it.
    scratch_exn: Option<ExnAddr>,
    /// The size of [`Store::exns`], as [`StoreLimits::max_exception_bytes`]
    /// counts it.
    exn_bytes: u64,
    /// Interned types (function types, and GC's struct and array types),
    /// their concrete heap types given as store-wide ids.
    pub sigs: Vec<CompositeType>,
    /// The declared supertype of each signature.
    pub sig_supers: Vec<Option<SigId>>,
    /// Canonical recursion groups, to the id of their first type.
    sig_ids: HashMap<RecGroupKey, SigId, foldhash::fast::RandomState>,
    /// The GC heap: struct and array objects.
    pub gc: crate::gc::GcHeap,
    /// The layout of each struct and array type, by id, made on first use
    /// ([`Store::gc_layout`]).
    pub gc_layouts: Vec<Option<Arc<crate::gc::Layout>>>,
    /// Roots the host holds (for a rooting API to come: nothing of the
    /// public API adds to it yet), which the collector keeps.
    pub gc_host_roots: Vec<crate::value::RawRef>,
    /// The roots of the frames of executions that wait for a host function
    /// (pushed by a tier before the call, popped after), which a collection
    /// inside that call must keep.
    pub gc_frozen: Vec<crate::value::RawRef>,
    /// Scopes in which frames out of the store's sight may hold GC objects
    /// (an epoch deadline callback, which may call in while the interrupted
    /// frames wait): while any is open, the heap is not collected.
    pub gc_no_collect: u32,
    /// One flag per suspended resumable call, set while it waits for fuel
    /// (its frames out of sight): while any is set, the heap is not
    /// collected. Cleared flags are dropped at the next allocation that
    /// would collect.
    pub gc_suspended: Vec<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Fuel left, when metering is on.
    pub fuel: u64,
    /// The engine's epoch counter, the store's deadline and its callback
    /// (read only by code compiled with epoch checks).
    pub epoch: epoch::EpochState,
    /// What an execution tier keeps per store (the JIT's table of function entry
    /// points); the runtime never reads it.
    pub tier_data: Option<Box<dyn Any + Send + Sync>>,
    /// How a tier calls a WebAssembly function of another instance through
    /// the host (the JIT's libcalls): `None` for the tier's own `invoke`;
    /// under the tiered strategy, the call that picks the tier the callee's
    /// module is ready for.
    pub wasm_invoke: Option<InvokeFn>,
    /// Current WebAssembly call depth, across host re-entries.
    pub depth: u32,
    /// Limits.
    pub limits: StoreLimits,
    /// The embedder's per-store limits, asked before every growth.
    pub limiter: crate::Limiter,
    /// The store's identity, for resuming a suspended call.
    pub(crate) uid: StoreUid,
}

impl Store {
    /// An empty store with the given limits.
    pub fn new(limits: StoreLimits) -> Store {
        Store {
            gc: crate::gc::GcHeap::new(limits.max_gc_heap_bytes),
            limits,
            ..Store::default()
        }
    }

    /// The store-wide id of a final function type without supertype whose
    /// concrete heap types are store-wide ids already (a host function's
    /// type), interning it on first use.
    pub fn intern_sig(&mut self, ty: &FuncType) -> SigId {
        let key = final_type_key(ty);
        if let Some(&id) = self.sig_ids.get(&key) {
            return id;
        }
        let id = SigId(self.sigs.len() as u32);
        self.sigs.push(CompositeType::Func(ty.clone()));
        self.sig_supers.push(None);
        self.sig_ids.insert(key, id);
        id
    }

    /// The store-wide id of each type of `module` (a valid one), interning
    /// its recursion groups: equivalent groups of any two modules get the
    /// same ids.
    pub fn intern_module_types(&mut self, module: &Module) -> Vec<SigId> {
        let mut ids: Vec<SigId> = Vec::with_capacity(module.types.len());
        for group in module.rec_groups() {
            let (start, end) = (group.start, group.end);
            let key = rec_group_key(
                &module.types,
                &module.subtypes,
                TypeIdx(start as u32),
                |t| ids.get(t.index()).map_or(0, |s| s.0),
            );
            let base = match self.sig_ids.get(&key) {
                Some(&base) => base,
                None => {
                    let base = SigId(self.sigs.len() as u32);
                    let id_of = |t: TypeIdx, ids: &[SigId]| {
                        if t.index() >= start {
                            TypeIdx(base.0 + (t.0 - start as u32))
                        } else {
                            TypeIdx(ids.get(t.index()).map_or(0, |s| s.0))
                        }
                    };
                    for i in start..end {
                        self.sigs
                            .push(module.types[i].map_types(|t| id_of(t, &ids)));
                        let sup = module.subtypes.get(i).and_then(|s| s.supertype);
                        self.sig_supers.push(sup.map(|t| SigId(id_of(t, &ids).0)));
                    }
                    self.sig_ids.insert(key, base);
                    base
                }
            };
            ids.extend((0..(end - start) as u32).map(|k| SigId(base.0 + k)));
        }
        ids
    }

    /// Whether signature `a` is `b` or declares it as a (transitive) supertype.
    pub fn sig_matches(&self, a: SigId, b: SigId) -> bool {
        let mut cur = Some(a);
        while let Some(s) = cur {
            if s == b {
                return true;
            }
            cur = self.sig_supers.get(s.index()).copied().flatten();
        }
        false
    }

    /// Whether a value of store-level type `a` may stand where `b` is expected.
    pub fn val_matches(&self, a: ValType, b: ValType) -> bool {
        match (a, b) {
            (ValType::Ref(a), ValType::Ref(b)) => self.ref_matches(a, b),
            (a, b) => a == b,
        }
    }

    /// Whether value `v` is of store-level type `t`: numbers by kind,
    /// references by what they point to (a function by its signature), the
    /// null reference only where `t` is nullable and of its hierarchy. A
    /// reference to nothing in this store (another store's, or made up) fits
    /// no type.
    pub fn val_fits(&self, v: &Val, t: ValType) -> bool {
        let dynamic = match *v {
            Val::FuncRef(Some(f)) => match self.funcs.get(f.index()) {
                Some(e) => RefType::non_null(HeapType::Concrete(TypeIdx(e.sig().0))),
                None => return false,
            },
            Val::ExternRef(Some(x)) if (x.0 as usize) < self.externs.len() => {
                RefType::non_null(HeapType::Extern)
            }
            Val::ExnRef(Some(x)) if x.index() < self.exns.len() => RefType::non_null(HeapType::Exn),
            Val::ExternRef(Some(_)) | Val::ExnRef(Some(_)) => return false,
            Val::FuncRef(None) => RefType::null(HeapType::NoFunc),
            Val::ExternRef(None) => RefType::null(HeapType::NoExtern),
            Val::ExnRef(None) => RefType::null(HeapType::NoExn),
            Val::AnyRef(None) => RefType::null(HeapType::None),
            Val::AnyRef(Some(g)) => {
                let in_store = match g.decode() {
                    AnyRef::Host(a) => (a as usize) < self.externs.len(),
                    AnyRef::Object(o) => self.gc.contains(o),
                    AnyRef::I31(_) | AnyRef::Null => true,
                };
                let ValType::Ref(r) = t else { return false };
                if !in_store {
                    return false;
                }
                return match self.top_of(r.heap) {
                    // `extern.convert_any` of it: an `externref`.
                    HeapType::Extern => r.heap == HeapType::Extern,
                    HeapType::Any => self.gc_ref_test(RawRef(g.0), r),
                    _ => false,
                };
            }
            _ => return v.ty() == t,
        };
        self.val_matches(dynamic.into(), t)
    }

    /// The top of store-level heap type `h`'s hierarchy (`func`, `extern`,
    /// `exn` or `any`), a concrete type's by its kind.
    pub fn top_of(&self, h: HeapType) -> HeapType {
        match h {
            HeapType::Concrete(id) => self
                .sigs
                .get(id.index())
                .map_or(HeapType::Func, CompositeType::top),
            h => h.top(),
        }
    }

    /// The value of store-level type `ty` whose bits are `bits`: as
    /// [`Val::from_bits`], with a concrete struct or array type read as the
    /// `any` reference it is.
    pub fn val_from_bits(&self, ty: ValType, bits: u128) -> Val {
        match ty {
            ValType::Ref(r) => Val::ref_from_bits(self.top_of(r.heap), RawRef(bits as u32)),
            t => Val::from_bits(t, bits),
        }
    }

    /// Whether store-level reference type `a` matches `b`.
    pub fn ref_matches(&self, a: RefType, b: RefType) -> bool {
        if a.nullable && !b.nullable {
            return false;
        }
        // The abstract type directly above a concrete one: `func`, `struct`
        // or `array`.
        let above = |t: TypeIdx| {
            self.sigs
                .get(t.index())
                .map_or(HeapType::Func, CompositeType::abstract_super)
        };
        match (a.heap, b.heap) {
            (HeapType::Concrete(x), HeapType::Concrete(y)) => {
                self.sig_matches(SigId(x.0), SigId(y.0))
            }
            (HeapType::Concrete(x), y) => HeapType::abstract_matches(above(x), y),
            (x, HeapType::Concrete(y)) => x == HeapType::Bot || x == above(y).bottom(),
            (x, y) => HeapType::abstract_matches(x, y),
        }
    }

    /// Adds an exception the host holds, kept as long as the store, and
    /// returns its address.
    /// The host is not limited, but its exceptions count towards
    /// [`StoreLimits::max_exception_bytes`].
    pub fn add_exn(&mut self, exn: ExnEntity) -> ExnAddr {
        self.exn_bytes += exn_size(&exn);
        self.exns.push(exn);
        ExnAddr(self.exns.len() as u32 - 1)
    }

    /// The size of the exceptions the store keeps, as
    /// [`StoreLimits::max_exception_bytes`] counts it.
    pub fn exn_bytes(&self) -> u64 {
        self.exn_bytes
    }

    /// Adds an exception WebAssembly's `throw` makes, and returns its address.
    ///
    /// A thrown exception is referred to only by its unwinding until a
    /// `catch_ref` or `catch_all_ref` clause hands it to WebAssembly as an
    /// `exnref`, or it reaches the host; either keeps it for good
    /// ([`Store::keep_exn`]). Unwinding runs no other code that throws, so
    /// when the next `throw` comes, the last thrown exception not kept is
    /// unreachable, and its slot is reused: a guest that throws and catches
    /// in a loop uses one slot, not one per throw. The public API keeps every
    /// exception a call returns; a host of this crate's own that holds on to
    /// one must call [`Store::keep_exn`] before it runs WebAssembly again.
    ///
    /// # Errors
    ///
    /// `exception storage exhausted` if the store's exceptions would then
    /// take more than [`StoreLimits::max_exception_bytes`].
    pub fn add_thrown_exn(&mut self, exn: ExnEntity) -> Result<ExnAddr, Trap> {
        let freed = self
            .scratch_exn
            .map_or(0, |slot| exn_size(&self.exns[slot.index()]));
        if self.exn_bytes - freed + exn_size(&exn) > self.limits.max_exception_bytes {
            return Err(TrapCode::ExceptionsExhausted.into());
        }
        if let Some(slot) = self.scratch_exn {
            self.exn_bytes = self.exn_bytes - freed + exn_size(&exn);
            self.exns[slot.index()] = exn;
            return Ok(slot);
        }
        let addr = self.add_exn(exn);
        self.scratch_exn = Some(addr);
        Ok(addr)
    }

    /// Keeps exception `exn` as long as the store: it has become an `exnref`
    /// WebAssembly holds, or reached the host (see [`Store::add_thrown_exn`]).
    pub fn keep_exn(&mut self, exn: ExnAddr) {
        if self.scratch_exn == Some(exn) {
            self.scratch_exn = None;
        }
    }

    /// Adds a tag of signature `sig`.
    pub fn add_tag(&mut self, sig: SigId) -> TagAddr {
        self.tags.push(TagEntity { sig });
        TagAddr(self.tags.len() as u32 - 1)
    }

    /// The signature behind an id, which must be a function type's (a
    /// function's or a tag's; the tiers never give another).
    ///
    /// # Panics
    ///
    /// If `id` is past the interned types or a struct or array type's.
    #[track_caller]
    pub fn sig(&self, id: SigId) -> &FuncType {
        self.sigs[id.0 as usize].func()
    }

    /// Adds a host function of type `ty`.
    pub fn add_host_func(&mut self, ty: &FuncType, func: Arc<HostFn>) -> FuncAddr {
        let sig = self.intern_sig(ty);
        self.funcs.push(FuncEntity::Host { sig, func });
        FuncAddr(self.funcs.len() as u32 - 1)
    }

    /// Adds a host value for an `externref` to point to.
    pub fn add_extern(&mut self, value: Box<dyn Any + Send + Sync>) -> ExternAddr {
        self.externs.push(value);
        ExternAddr(self.externs.len() as u32 - 1)
    }

    /// The signature of function `f`.
    pub fn func_type(&self, f: FuncAddr) -> &FuncType {
        self.sig(self.funcs[f.index()].sig())
    }
}

/// What an exception counts towards [`StoreLimits::max_exception_bytes`]:
/// 32 bytes, and 16 per payload value. A fixed rule rather than Rust's
/// layout, so that a `throw` traps at the same point on every host.
fn exn_size(exn: &ExnEntity) -> u64 {
    32 + 16 * exn.payload.len() as u64
}
