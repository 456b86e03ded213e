//! The second oracle: wasmtime, for modules wasmi cannot run (exception
//! handling). Built only with the `wasmtime-oracle` feature, which the fuzz
//! target and the `differential-wasmtime` command turn on; the default
//! `cargo test` does not build wasmtime.
//!
//! wasmtime has no call-depth limit of Kiln's kind (it bounds the native
//! stack), so a call that exhausts the stack on either side is not compared,
//! like one that runs out of fuel.

use std::sync::OnceLock;

use wasmtime::{
    Config, Engine, Instance, Linker, Module, Store, StoreLimits, StoreLimitsBuilder, Trap, Val,
};

use super::{
    Exports, FUEL, MAX_MEMORY_BYTES, MAX_TABLE_ELEMENTS, Snapshot, Step, TrapKind, Value,
    WASMI_FUEL_FACTOR,
};

/// A module instantiated on wasmtime.
pub(super) struct WasmtimeSide {
    store: Store<StoreLimits>,
    instance: Instance,
}

impl WasmtimeSide {
    /// Compiles `wasm`, once for every instance of it the run needs.
    pub(super) fn compile(wasm: &[u8]) -> Result<Module, Step> {
        let engine = engine().map_err(|e| Step::Failed(e.clone()))?;
        Module::new(engine, wasm).map_err(failed)
    }

    /// Instantiates a module [`WasmtimeSide::compile`] compiled, running its
    /// start function.
    pub(super) fn instantiate(module: &Module) -> Result<WasmtimeSide, Step> {
        let engine = module.engine();
        let limits = StoreLimitsBuilder::new()
            .memory_size(MAX_MEMORY_BYTES as usize)
            .table_elements(MAX_TABLE_ELEMENTS as usize)
            .build();
        let mut store = Store::new(engine, limits);
        store.limiter(|limits| limits);
        store.set_fuel(FUEL * WASMI_FUEL_FACTOR).map_err(failed)?;
        let instance = Linker::new(engine)
            .instantiate(&mut store, module)
            .map_err(failed)?;
        Ok(WasmtimeSide { store, instance })
    }

    /// Calls export `name` with `args` on a fresh budget.
    pub(super) fn call(&mut self, name: &str, args: &[Value]) -> Step {
        let Some(func) = self.instance.get_func(&mut self.store, name) else {
            return Step::Failed(format!("no exported function `{name}`"));
        };
        let ty = func.ty(&self.store);
        let params: Vec<Val> = args.iter().map(|&a| to_val(a)).collect();
        let mut results: Vec<Val> = ty
            .results()
            .map(|t| Val::default_for_ty(&t).unwrap_or(Val::I32(0)))
            .collect();
        if let Err(e) = self.store.set_fuel(FUEL * WASMI_FUEL_FACTOR) {
            return failed(e);
        }
        match func.call(&mut self.store, &params, &mut results) {
            Ok(()) => Step::Returned(results.iter().map(from_val).collect()),
            Err(e) => failed(e),
        }
    }

    /// The exported memories, globals and tables listed in `exports`.
    ///
    /// # Panics
    ///
    /// If wasmtime has no export of a name and kind Kiln lists.
    pub(super) fn snapshot(&mut self, exports: &Exports) -> Snapshot {
        let missing = |kind: &str, name: &str| -> ! {
            panic!("Kiln lists an exported {kind} `{name}` that wasmtime does not")
        };
        let mut snapshot = Snapshot::default();
        for name in &exports.memories {
            let Some(m) = self.instance.get_memory(&mut self.store, name) else {
                missing("memory", name)
            };
            let bytes = m.data(&self.store).to_vec();
            snapshot.memories.push((name.clone(), bytes));
        }
        for name in &exports.globals {
            let Some(g) = self.instance.get_global(&mut self.store, name) else {
                missing("global", name)
            };
            let v = from_val(&g.get(&mut self.store));
            snapshot.globals.push((name.clone(), v));
        }
        for name in &exports.tables {
            let Some(t) = self.instance.get_table(&mut self.store, name) else {
                missing("table", name)
            };
            let size = t.size(&self.store);
            let nulls = (0..size)
                .map(|i| t.get(&mut self.store, i).is_none_or(|r| r.is_null()))
                .collect();
            snapshot.tables.push((name.clone(), nulls));
        }
        snapshot
    }
}

/// The one engine every module is compiled with: its set-up (the compiler,
/// the code memory) costs more than a small module's compilation.
fn engine() -> Result<&'static Engine, &'static String> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let mut config = Config::new();
            config
                .wasm_exceptions(true)
                .wasm_function_references(true)
                .wasm_tail_call(true)
                .wasm_multi_memory(true)
                .wasm_memory64(true)
                .wasm_extended_const(true)
                .wasm_simd(true)
                .consume_fuel(true)
                // One thread: the fuzzer runs one worker per core.
                .parallel_compilation(false);
            Engine::new(&config).map_err(|e| format!("{e:#}"))
        })
        .as_ref()
}

fn to_val(v: Value) -> Val {
    match v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(b) => Val::F32(b),
        Value::F64(b) => Val::F64(b),
        Value::V128(x) => Val::V128(x.into()),
        // Only null references are ever passed.
        Value::FuncRef { .. } => Val::FuncRef(None),
        Value::ExternRef { .. } => Val::ExternRef(None),
        Value::ExnRef { .. } => Val::ExnRef(None),
    }
}

fn from_val(v: &Val) -> Value {
    match v {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(x) => Value::F32(*x),
        Val::F64(x) => Value::F64(*x),
        Val::V128(x) => Value::V128(x.as_u128()),
        Val::FuncRef(r) => Value::FuncRef { null: r.is_none() },
        Val::ExternRef(r) => Value::ExternRef { null: r.is_none() },
        Val::ExnRef(r) => Value::ExnRef { null: r.is_none() },
        // Not in the modules compared: wasm-smith generates GC's types only
        // with `gc_enabled`, and such modules are not run (see `uses_gc`).
        Val::AnyRef(r) => Value::ExternRef { null: r.is_none() },
        Val::ContRef(r) => Value::ExternRef { null: r.is_none() },
    }
}

fn failed(e: wasmtime::Error) -> Step {
    if e.is::<wasmtime::ThrownException>() {
        return Step::Trapped(TrapKind::Other("uncaught exception".into()));
    }
    let Some(&trap) = e.downcast_ref::<Trap>() else {
        return Step::Failed(format!("{e:#}"));
    };
    Step::Trapped(match trap {
        Trap::UnreachableCodeReached => TrapKind::Unreachable,
        Trap::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
        Trap::TableOutOfBounds => TrapKind::TableOutOfBounds,
        Trap::IndirectCallToNull => TrapKind::IndirectCallToNull,
        Trap::BadSignature => TrapKind::IndirectCallTypeMismatch,
        Trap::IntegerOverflow => TrapKind::IntegerOverflow,
        Trap::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
        Trap::BadConversionToInteger => TrapKind::InvalidConversionToInteger,
        Trap::StackOverflow => TrapKind::CallStackExhausted,
        Trap::OutOfFuel => TrapKind::OutOfFuel,
        Trap::NullReference => TrapKind::NullReference,
        other => TrapKind::Other(other.to_string()),
    })
}
