//! The oracle: wasmi 2.0, with fuel and the same call-depth, memory and table
//! limits as Kiln.
//!
//! The free functions (configuration, limits and the conversions to the
//! harness's [`Value`], [`Step`] and [`Snapshot`]) are public for tests that
//! drive wasmi themselves (`tests/instrument.rs`).

use wasmi::{
    Config, Engine, Instance, Linker, Module, Store, StoreLimits, StoreLimitsBuilder, TrapCode, Val,
};

use super::{
    Exports, FUEL, MAX_CALL_DEPTH, MAX_MEMORY_BYTES, MAX_TABLE_ELEMENTS, Snapshot, Step, TrapKind,
    Value, WASMI_FUEL_FACTOR,
};

/// wasmi's value stack, in bytes: large enough that the call-depth limit, not
/// the stack, stops deep recursion (Kiln has no separate value-stack limit).
const MAX_STACK_BYTES: usize = 64 << 20;

/// A module instantiated on wasmi.
pub(super) struct WasmiSide {
    store: Store<StoreLimits>,
    instance: Instance,
}

impl WasmiSide {
    /// Compiles and instantiates `wasm`, running its start function.
    #[cfg(test)]
    pub(super) fn new(wasm: &[u8]) -> Result<WasmiSide, Step> {
        WasmiSide::instantiate(&WasmiSide::compile(wasm)?)
    }

    /// Compiles `wasm`, once for every instance of it the run needs.
    pub(super) fn compile(wasm: &[u8]) -> Result<Module, Step> {
        let engine = Engine::new(&config(true, MAX_CALL_DEPTH));
        Module::new(&engine, wasm).map_err(failed)
    }

    /// Instantiates a module [`WasmiSide::compile`] compiled, running its
    /// start function.
    pub(super) fn instantiate(module: &Module) -> Result<WasmiSide, Step> {
        let engine = module.engine();
        let mut store = Store::new(engine, limits());
        store.limiter(|limits| limits);
        store.set_fuel(FUEL * WASMI_FUEL_FACTOR).map_err(failed)?;
        let instance = Linker::new(engine)
            .instantiate_and_start(&mut store, module)
            .map_err(failed)?;
        Ok(WasmiSide { store, instance })
    }

    /// Calls export `name` with `args` on a fresh budget.
    pub(super) fn call(&mut self, name: &str, args: &[Value]) -> Step {
        let Some(func) = self.instance.get_func(&self.store, name) else {
            return Step::Failed(format!("no exported function `{name}`"));
        };
        let ty = func.ty(&self.store);
        let params: Vec<Val> = args.iter().map(|&a| to_val(a)).collect();
        let mut results: Vec<Val> = ty
            .results()
            .iter()
            .map(|&t| Val::default_for_ty(t))
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
    /// If wasmi has no export of a name and kind Kiln lists.
    pub(super) fn snapshot(&self, exports: &Exports) -> Snapshot {
        snapshot(&self.store, &self.instance, exports)
    }
}

/// wasmi's configuration: fuel metering if `fuel`, at most
/// `max_recursion_depth` nested calls, and a value stack large enough that
/// the depth limit, not the stack, stops deep recursion. SIMD (relaxed SIMD
/// too) is on by default with wasmi's `simd` cargo feature; said here since
/// the differential depends on it.
pub fn config(fuel: bool, max_recursion_depth: u32) -> Config {
    let mut config = Config::default();
    config
        .wasm_simd(true)
        .consume_fuel(fuel)
        .set_max_recursion_depth(max_recursion_depth as usize)
        .set_max_stack_height(MAX_STACK_BYTES);
    config
}

/// The memory and table limits Kiln's sides have too; a store gets them
/// with `store.limiter(|limits| limits)`.
pub fn limits() -> StoreLimits {
    StoreLimitsBuilder::new()
        .memory_size(MAX_MEMORY_BYTES as usize)
        .table_elements(MAX_TABLE_ELEMENTS as usize)
        .build()
}

/// `instance`'s memories, globals and tables that `exports` (Kiln's list of
/// the module's exports) names.
///
/// # Panics
///
/// If wasmi has no export of a name and kind Kiln lists.
pub fn snapshot<T>(store: &Store<T>, instance: &Instance, exports: &Exports) -> Snapshot {
    let missing = |kind: &str, name: &str| -> ! {
        panic!("Kiln lists an exported {kind} `{name}` that wasmi does not")
    };
    let mut snapshot = Snapshot::default();
    for name in &exports.memories {
        let Some(m) = instance.get_memory(store, name) else {
            missing("memory", name)
        };
        snapshot
            .memories
            .push((name.clone(), m.data(store).to_vec()));
    }
    for name in &exports.globals {
        let Some(g) = instance.get_global(store, name) else {
            missing("global", name)
        };
        snapshot
            .globals
            .push((name.clone(), from_val(&g.get(store))));
    }
    for name in &exports.tables {
        let Some(t) = instance.get_table(store, name) else {
            missing("table", name)
        };
        let nulls = (0..t.size(store))
            .map(|i| t.get(store, i).is_none_or(|r| r.is_null()))
            .collect();
        snapshot.tables.push((name.clone(), nulls));
    }
    snapshot
}

/// A harness value as wasmi's (a reference is always null).
pub fn to_val(v: Value) -> Val {
    match v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(b) => Val::F32(wasmi::F32::from_bits(b)),
        Value::F64(b) => Val::F64(wasmi::F64::from_bits(b)),
        Value::V128(x) => Val::V128(wasmi::V128::from(x)),
        // Only null references are ever passed.
        Value::FuncRef { .. } => Val::FuncRef(wasmi::Nullable::Null),
        Value::ExternRef { .. } => Val::ExternRef(wasmi::Nullable::Null),
        // Never passed: a module with exception handling is not run on wasmi.
        Value::ExnRef { .. } => Val::ExternRef(wasmi::Nullable::Null),
    }
}

/// wasmi's value as the harness compares it.
pub fn from_val(v: &Val) -> Value {
    match v {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(x) => Value::F32(x.to_bits()),
        Val::F64(x) => Value::F64(x.to_bits()),
        Val::V128(x) => Value::V128(x.as_u128()),
        Val::FuncRef(r) => Value::FuncRef { null: r.is_null() },
        Val::ExternRef(r) => Value::ExternRef { null: r.is_null() },
    }
}

/// The step a wasmi error ends: a trap by kind (mapped onto Kiln's), an
/// element segment that does not fit its table as the spec's trap, anything
/// else failed.
pub fn failed(e: wasmi::Error) -> Step {
    // An element segment past its table's end is an instantiation error in
    // wasmi, where the spec (and Kiln) trap with `out of bounds table access`.
    if let wasmi::errors::ErrorKind::Instantiation(
        wasmi::errors::InstantiationError::ElementSegmentDoesNotFit { .. },
    ) = e.kind()
    {
        return Step::Trapped(TrapKind::TableOutOfBounds);
    }
    let Some(code) = e.as_trap_code() else {
        return Step::Failed(e.to_string());
    };
    Step::Trapped(match code {
        TrapCode::UnreachableCodeReached => TrapKind::Unreachable,
        TrapCode::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds => TrapKind::TableOutOfBounds,
        TrapCode::IndirectCallToNull => TrapKind::IndirectCallToNull,
        TrapCode::BadSignature => TrapKind::IndirectCallTypeMismatch,
        TrapCode::IntegerOverflow => TrapKind::IntegerOverflow,
        TrapCode::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
        TrapCode::BadConversionToInteger => TrapKind::InvalidConversionToInteger,
        TrapCode::StackOverflow => TrapKind::CallStackExhausted,
        TrapCode::OutOfFuel => TrapKind::OutOfFuel,
        other => TrapKind::Other(other.trap_message().to_owned()),
    })
}
