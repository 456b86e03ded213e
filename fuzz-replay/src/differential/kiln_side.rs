//! The engine under test: Kiln, on either tier, through the `kiln` API.
//!
//! The free functions (the configuration every engine shares, and the
//! conversions between Kiln's values, errors and state and the harness's
//! [`Value`], [`Step`] and [`Snapshot`]) are public for tests that drive
//! Kiln themselves (`tests/instrument.rs`).

use kiln::{
    Config, Engine, Error, ExternType, Func, Instance, Linker, Module, RefType, ResumableCall,
    Store, Strategy, TrapCode, Val,
};

use super::{
    Exports, FUEL, MAX_CALL_DEPTH, MAX_MEMORY_BYTES, MAX_TABLE_ELEMENTS, Snapshot, Step, TrapKind,
    Value,
};

/// A module instantiated on one of Kiln's tiers.
pub(super) struct KilnSide {
    store: Store<()>,
    module: Module,
    instance: Instance,
    /// Set on a side whose calls are split at random fuel points.
    split: Option<Split>,
}

/// How a side splits every call ([`KilnSide::split`]): the call is resumable,
/// starts with a few units of fuel, and each time it stops gets a random
/// slice more (sometimes less than the stopped check needs, so that it stops
/// there again) until it finishes or has been given [`FUEL`] in all; then it
/// is cancelled, ending with `out of fuel` as an uninterrupted call with
/// [`FUEL`] would.
struct Split {
    /// xorshift64 state (never 0).
    rng: u64,
    /// Fuel of the call's [`FUEL`] not given to it yet.
    withheld: u64,
    /// Stops so far, over all calls.
    stops: u64,
    /// On a side of the tiered strategy, the hold on its module's background
    /// compile, and the stop at which it is let go (see [`TierUp`]).
    tier_up: Option<TierUp>,
    /// Whether this side let it go.
    tiered_up: bool,
}

/// A forced tier-up: the tiered strategy's module is held on the interpreter
/// until the call in progress stops for fuel for the `at`-th time; there the
/// compile is let go and waited for, so that the resumed call, its frames
/// still interpreted, makes its next calls into native code. Shared by every
/// instance of the run's module (the hold is let go once).
#[derive(Debug, Clone)]
pub(super) struct TierUp {
    pub(super) hold: std::sync::Arc<std::sync::Mutex<Option<kiln::CompileHold>>>,
    pub(super) at: u64,
}

impl TierUp {
    /// Lets the compile go and waits for it, if not done before; whether
    /// this did it.
    fn release(&self, module: &Module) -> bool {
        let held = self.hold.lock().unwrap_or_else(|e| e.into_inner()).take();
        match held {
            Some(hold) => {
                drop(hold);
                module.wait_native();
                true
            }
            None => false,
        }
    }
}

impl Split {
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Fuel to give a call stopped at a check that needs `needed` (a
    /// dynamic charge, such as `memory.fill`'s, can need up to `u64::MAX`).
    fn slice(&mut self, needed: u64) -> u64 {
        let r = self.next();
        match r % 4 {
            0 => 1 + (r >> 8) % needed.max(1),
            1 => needed,
            2 => needed.saturating_add((r >> 8) % 16),
            _ => (r >> 8) % 256,
        }
    }
}

impl KilnSide {
    /// Compiles and instantiates `wasm` on `strategy` with the limits all
    /// engines share, running its start function on [`FUEL`].
    #[cfg(test)]
    pub(super) fn new(wasm: &[u8], strategy: Strategy) -> Result<KilnSide, Step> {
        KilnSide::instantiate(&KilnSide::compile(wasm, strategy)?)
    }

    /// Compiles `wasm` on `strategy` with the limits all engines share, once
    /// for every instance of it the run needs.
    pub(super) fn compile(wasm: &[u8], strategy: Strategy) -> Result<Module, Step> {
        let engine = Engine::new(&config(strategy)).map_err(failed)?;
        Module::new(&engine, wasm).map_err(failed)
    }

    /// Instantiates a module [`KilnSide::compile`] compiled, running its
    /// start function on [`FUEL`].
    pub(super) fn instantiate(module: &Module) -> Result<KilnSide, Step> {
        let engine = module.engine();
        let mut store = Store::new(engine, ());
        store.set_fuel(FUEL).map_err(failed)?;
        let instance = Linker::new(engine)
            .instantiate(&mut store, module)
            .map_err(failed)?;
        Ok(KilnSide {
            store,
            module: module.clone(),
            instance,
            split: None,
        })
    }

    /// Like [`KilnSide::instantiate`], but every call is split at random
    /// fuel points (see [`Split`]) drawn from `seed`.
    pub(super) fn split(
        module: &Module,
        seed: u64,
        tier_up: Option<TierUp>,
    ) -> Result<KilnSide, Step> {
        let mut side = KilnSide::instantiate(module)?;
        side.split = Some(Split {
            rng: seed | 1,
            withheld: 0,
            stops: 0,
            tier_up,
            tiered_up: false,
        });
        Ok(side)
    }

    /// How often calls of a split side stopped for fuel (0 on any other).
    pub(super) fn stops(&self) -> u64 {
        self.split.as_ref().map_or(0, |s| s.stops)
    }

    /// Whether this side let its module's compile go in the middle of a
    /// call (see [`TierUp`]).
    pub(super) fn tiered_up(&self) -> bool {
        self.split.as_ref().is_some_and(|s| s.tiered_up)
    }

    /// The fuel left after the last step (on a split side, counting what was
    /// withheld from the call: what an uninterrupted call would have left).
    pub(super) fn fuel_left(&self) -> u64 {
        let withheld = self.split.as_ref().map_or(0, |s| s.withheld);
        self.store.get_fuel().unwrap_or(0) + withheld
    }

    /// The module's exports, as Kiln lists them.
    pub(super) fn exports(&self) -> Exports {
        exports(&self.module)
    }

    /// Calls export `name` with `args` on a fresh [`FUEL`] budget.
    pub(super) fn call(&mut self, name: &str, args: &[Value]) -> Step {
        let Some(func) = self.instance.get_func(&self.store, name) else {
            return Step::Failed(format!("no exported function `{name}`"));
        };
        let ty = func.ty(&self.store);
        let params: Vec<Val> = args.iter().map(|&a| to_val(a)).collect();
        let mut results: Vec<Val> = ty.results.iter().map(|&t| Val::default_for(t)).collect();
        if self.split.is_some() {
            return self.call_split(func, &params, results);
        }
        if let Err(e) = self.store.set_fuel(FUEL) {
            return failed(e);
        }
        match func.call(&mut self.store, &params, &mut results) {
            Ok(()) => Step::Returned(results.iter().map(from_val).collect()),
            Err(e) => failed(e),
        }
    }

    /// [`KilnSide::call`] on a split side.
    fn call_split(&mut self, func: Func, params: &[Val], mut results: Vec<Val>) -> Step {
        let Some(split) = &mut self.split else {
            return Step::Failed("not a split side".into());
        };
        let first = split.next() % 8;
        split.withheld = FUEL - first;
        if let Err(e) = self.store.set_fuel(first) {
            return failed(e);
        }
        let mut call = func.call_resumable(&mut self.store, params, &mut results);
        loop {
            match call {
                Ok(ResumableCall::Finished) => {
                    return Step::Returned(results.iter().map(from_val).collect());
                }
                Ok(ResumableCall::OutOfFuel(waiting)) => {
                    split.stops += 1;
                    if let Some(tier_up) = &split.tier_up
                        && split.stops >= tier_up.at
                        && tier_up.release(&self.module)
                    {
                        split.tiered_up = true;
                    }
                    if split.withheld == 0 {
                        return failed(waiting.cancel(&mut self.store));
                    }
                    let more = split
                        .slice(waiting.required_fuel())
                        .clamp(1, split.withheld);
                    split.withheld -= more;
                    let left = self.store.get_fuel().unwrap_or(0);
                    if let Err(e) = self.store.set_fuel(left + more) {
                        return failed(e);
                    }
                    call = waiting.resume(&mut self.store, &mut results);
                }
                Err(e) => return failed(e),
            }
        }
    }

    /// The exported memories, globals and tables.
    pub(super) fn snapshot(&self, exports: &Exports) -> Snapshot {
        snapshot(&self.store, &self.instance, exports)
    }
}

/// The configuration of every Kiln side on `strategy`: fuel, NaN
/// canonicalisation, and the limits all engines share.
pub fn config(strategy: Strategy) -> Config {
    let mut config = Config::new();
    config
        .strategy(strategy)
        .consume_fuel(true)
        .nan_canonicalization(true)
        .max_call_depth(MAX_CALL_DEPTH)
        .max_memory_bytes(MAX_MEMORY_BYTES)
        .max_table_elements(MAX_TABLE_ELEMENTS);
    config
}

/// `module`'s exports, as Kiln lists them.
pub fn exports(module: &Module) -> Exports {
    let mut exports = Exports::default();
    for (name, ty) in module.exports() {
        let name = name.to_owned();
        match ty {
            ExternType::Func(f) => exports.funcs.push((name, f.params.to_vec())),
            ExternType::Memory(_) => exports.memories.push(name),
            ExternType::Global(_) => exports.globals.push(name),
            ExternType::Table(_) => exports.tables.push(name),
            ExternType::Tag(_) => {}
        }
    }
    exports
}

/// `instance`'s memories, globals and tables that `exports` lists.
pub fn snapshot(store: &Store<()>, instance: &Instance, exports: &Exports) -> Snapshot {
    let mut snapshot = Snapshot::default();
    for name in &exports.memories {
        let data = instance
            .get_memory(store, name)
            .map(|m| m.data(store).to_vec())
            .unwrap_or_default();
        snapshot.memories.push((name.clone(), data));
    }
    for name in &exports.globals {
        if let Some(g) = instance.get_global(store, name) {
            snapshot
                .globals
                .push((name.clone(), from_val(&g.get(store))));
        }
    }
    for name in &exports.tables {
        if let Some(t) = instance.get_table(store, name) {
            let nulls = (0..t.size(store))
                .map(|i| t.get(store, i).is_none_or(|v| is_null(&v)))
                .collect();
            snapshot.tables.push((name.clone(), nulls));
        }
    }
    snapshot
}

/// A harness value as Kiln's (a reference is always null).
pub fn to_val(v: Value) -> Val {
    match v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(b) => Val::F32(b),
        Value::F64(b) => Val::F64(b),
        Value::V128(x) => Val::V128(x),
        // Only null references are ever passed.
        Value::FuncRef { .. } => Val::null(RefType::FUNCREF),
        Value::ExternRef { .. } => Val::null(RefType::EXTERNREF),
        Value::ExnRef { .. } => Val::null(RefType::EXNREF),
    }
}

fn is_null(v: &Val) -> bool {
    matches!(
        v,
        Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None)
    )
}

/// Kiln's value as the harness compares it.
pub fn from_val(v: &Val) -> Value {
    match *v {
        Val::I32(x) => Value::I32(x),
        Val::I64(x) => Value::I64(x),
        Val::F32(b) => Value::F32(b),
        Val::F64(b) => Value::F64(b),
        Val::V128(x) => Value::V128(x),
        Val::FuncRef(r) => Value::FuncRef { null: r.is_none() },
        Val::ExternRef(r) => Value::ExternRef { null: r.is_none() },
        Val::ExnRef(r) => Value::ExnRef { null: r.is_none() },
        // Only GC makes these (the differential's modules use none): an
        // `externref` holding a GC value reads as one, so compare it as an
        // `externref`.
        Val::AnyRef(r) => Value::ExternRef { null: r.is_none() },
    }
}

/// The step a Kiln error ends: a trap by kind, anything else failed.
pub fn failed(e: Error) -> Step {
    let Some(trap) = e.trap() else {
        return Step::Failed(e.to_string());
    };
    Step::Trapped(match trap.code() {
        Some(TrapCode::Unreachable) => TrapKind::Unreachable,
        Some(TrapCode::MemoryOutOfBounds) => TrapKind::MemoryOutOfBounds,
        Some(TrapCode::TableOutOfBounds | TrapCode::UndefinedElement) => TrapKind::TableOutOfBounds,
        Some(TrapCode::UninitializedElement) => TrapKind::IndirectCallToNull,
        Some(TrapCode::IndirectCallTypeMismatch) => TrapKind::IndirectCallTypeMismatch,
        Some(TrapCode::IntegerOverflow) => TrapKind::IntegerOverflow,
        Some(TrapCode::IntegerDivisionByZero) => TrapKind::IntegerDivisionByZero,
        Some(TrapCode::InvalidConversionToInteger) => TrapKind::InvalidConversionToInteger,
        Some(TrapCode::CallStackExhausted) => TrapKind::CallStackExhausted,
        Some(TrapCode::OutOfFuel) => TrapKind::OutOfFuel,
        Some(
            TrapCode::NullFunctionReference
            | TrapCode::NullReference
            | TrapCode::NullExceptionReference,
        ) => TrapKind::NullReference,
        _ => TrapKind::Other(trap.to_string()),
    })
}
