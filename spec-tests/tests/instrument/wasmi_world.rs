use std::collections::{HashMap, HashSet};

use wasmi::{
    Config, Engine, Error, Extern, ExternRef, Func, FuncType, Global, Instance, Linker, Memory,
    MemoryType, Module, Mutability, Nullable, Ref, RefType, Store, Table, TableType, TrapCode, Val,
    ValType,
};

use super::*;

/// wasmi's value stack, in bytes: large enough that only the call-depth
/// limits stop recursion.
const MAX_STACK_BYTES: usize = 64 << 20;

/// wasmi, without fuel, running the rewritten modules.
pub(super) struct WasmiWorld {
    engine: Engine,
    store: Store<()>,
    /// Each instance, with its `kiln_fuel`, `kiln_status` and
    /// `kiln_depth`.
    instances: Vec<(Instance, [Global; 3])>,
    registry: HashMap<String, Vec<(String, Extern)>>,
    /// Names registered from modules wasmi did not run.
    unavailable: HashSet<String>,
}

impl WasmiWorld {
    pub(super) fn new() -> Result<WasmiWorld, Error> {
        let mut config = Config::default();
        config
            .wasm_tail_call(true)
            .wasm_extended_const(true)
            .wasm_multi_memory(true)
            .wasm_memory64(true)
            .wasm_simd(true)
            .wasm_relaxed_simd(true)
            .set_max_recursion_depth(ENGINE_CALL_DEPTH as usize)
            .set_max_stack_height(MAX_STACK_BYTES);
        let engine = Engine::new(&config);
        let mut store = Store::new(&engine, ());
        let spectest = spectest(&mut store)?;
        Ok(WasmiWorld {
            engine,
            store,
            instances: Vec::new(),
            registry: HashMap::from([("spectest".to_string(), spectest)]),
            unavailable: HashSet::new(),
        })
    }

    fn make_val(&mut self, arg: Arg, ty: ValType) -> Val {
        match arg {
            Arg::Num(Value::I32(x)) => Val::I32(x),
            Arg::Num(Value::I64(x)) => Val::I64(x),
            Arg::Num(Value::F32(b)) => Val::F32(wasmi::F32::from_bits(b)),
            Arg::Num(Value::F64(b)) => Val::F64(wasmi::F64::from_bits(b)),
            Arg::Num(Value::V128(b)) => Val::V128(wasmi::V128::from(b)),
            Arg::Null => Val::default_for_ty(ty),
            Arg::Extern(n) => Val::ExternRef(Nullable::Val(ExternRef::new(&mut self.store, n))),
            // Never made: references are `Null` or `Extern`.
            Arg::Num(_) => Val::FuncRef(Nullable::Null),
        }
    }
}

impl World for WasmiWorld {
    fn rewritten(&self) -> bool {
        true
    }

    fn instantiate(&mut self, module: &Binaries<'_>) -> Instantiated {
        let failed = |why: String| Instantiated::Failed(Ending::Failed(why));
        let module = match Module::new(&self.engine, module.instrumented) {
            Ok(m) => m,
            Err(e) => return Instantiated::Unavailable(format!("wasmi rejects it: {e}")),
        };
        if let Some(import) = module
            .imports()
            .find(|i| self.unavailable.contains(i.module()))
        {
            let from = import.module();
            return Instantiated::Unavailable(format!("imports from `{from}`, not on wasmi"));
        }
        let mut linker = Linker::new(&self.engine);
        for (name, items) in &self.registry {
            for (field, item) in items {
                if let Err(e) = linker.define(name, field, *item) {
                    return failed(format!("linker: {e}"));
                }
            }
        }
        let instance = match linker.instantiate_and_start(&mut self.store, &module) {
            Ok(i) => i,
            Err(e) => return Instantiated::Failed(ending(&e).0),
        };
        let global = |name| instance.get_global(&self.store, name);
        let counters = [FUEL_EXPORT, STATUS_EXPORT, DEPTH_EXPORT].map(global);
        let [Some(f), Some(s), Some(d)] = counters else {
            return failed("the rewritten module does not export its counters".into());
        };
        self.instances.push((instance, [f, s, d]));
        Instantiated::Ready(self.instances.len() - 1)
    }

    fn register(&mut self, name: &str, instance: Option<usize>) {
        match instance.and_then(|i| self.instances.get(i)) {
            Some((instance, _)) => {
                let exports = instance
                    .exports(&self.store)
                    .map(|e| (e.name().to_string(), e.into_extern()))
                    .collect();
                self.registry.insert(name.to_string(), exports);
                self.unavailable.remove(name);
            }
            None => {
                self.registry.remove(name);
                self.unavailable.insert(name.to_string());
            }
        }
    }

    fn call(&mut self, instance: usize, func: &str, args: &[Arg]) -> (Ending, bool) {
        let failed = |why: String| (Ending::Failed(why), false);
        let Some((instance, _)) = self.instances.get(instance) else {
            return failed(format!("no instance #{instance}"));
        };
        let Some(f) = instance.get_func(&self.store, func) else {
            return failed(format!("no exported function `{func}`"));
        };
        let ty = f.ty(&self.store);
        if ty.params().len() != args.len() {
            return failed(format!("{} arguments for {ty:?}", args.len()));
        }
        let params: Vec<Val> = args
            .iter()
            .zip(ty.params())
            .map(|(&a, &t)| self.make_val(a, t))
            .collect();
        let mut results: Vec<Val> = ty
            .results()
            .iter()
            .map(|&t| Val::default_for_ty(t))
            .collect();
        match f.call(&mut self.store, &params, &mut results) {
            Ok(()) => (Ending::Returned(results.iter().map(value).collect()), false),
            Err(e) => ending(&e),
        }
    }

    fn get(&mut self, instance: usize, global: &str) -> Result<Value, String> {
        let (instance, _) = self.instances.get(instance).ok_or("no such instance")?;
        let g = instance
            .get_global(&self.store, global)
            .ok_or_else(|| format!("no exported global `{global}`"))?;
        Ok(value(&g.get(&self.store)))
    }

    fn set_fuel(&mut self, _: u64) -> Result<(), String> {
        Err("wasmi runs without fuel".into())
    }

    fn fuel(&self) -> u64 {
        0
    }

    fn instances(&self) -> usize {
        self.instances.len()
    }

    fn set_counters(&mut self, instance: usize, fuel: u64) -> Result<(), String> {
        let Some(&(_, [f, status, depth])) = self.instances.get(instance) else {
            return Err(format!("no instance #{instance}"));
        };
        let values = [Val::I64(fuel as i64), Val::I32(0), Val::I32(0)];
        for (global, v) in [f, status, depth].into_iter().zip(values) {
            global.set(&mut self.store, v).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn counters(&self, instance: usize) -> (u64, i32) {
        let Some((_, [f, status, _])) = self.instances.get(instance) else {
            return (0, 0);
        };
        match (f.get(&self.store), status.get(&self.store)) {
            (Val::I64(f), Val::I32(s)) => (f as u64, s),
            _ => (0, i32::MIN),
        }
    }
}

fn value(v: &Val) -> Value {
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

/// A wasmi error as an ending, and whether it is an `unreachable` trap.
/// An element segment past its table's end is an instantiation error in
/// wasmi, a trap in the spec.
fn ending(e: &Error) -> (Ending, bool) {
    if let wasmi::errors::ErrorKind::Instantiation(
        wasmi::errors::InstantiationError::ElementSegmentDoesNotFit { .. },
    ) = e.kind()
    {
        return (Ending::Trap("out of bounds table access".into()), false);
    }
    match e.as_trap_code() {
        Some(TrapCode::OutOfFuel) => (Ending::OutOfFuel, false),
        Some(TrapCode::StackOverflow) => (Ending::Exhausted, false),
        Some(code) => (
            Ending::Trap(code.trap_message().to_string()),
            code == TrapCode::UnreachableCodeReached,
        ),
        None => (Ending::Failed(e.to_string()), false),
    }
}

/// The `spectest` print functions: name and parameters (`i` i32, `I` i64,
/// `f` f32, `F` f64).
const SPECTEST_PRINTS: [(&str, &str); 7] = [
    ("print", ""),
    ("print_i32", "i"),
    ("print_i64", "I"),
    ("print_f32", "f"),
    ("print_f64", "F"),
    ("print_i32_f32", "if"),
    ("print_f64_f64", "FF"),
];

/// The `spectest` module, as `kiln_spec_tests::spectest` gives Kiln.
fn spectest(store: &mut Store<()>) -> Result<Vec<(String, Extern)>, Error> {
    let mut items: Vec<(String, Extern)> = Vec::new();
    for (name, params) in SPECTEST_PRINTS {
        let params: Vec<ValType> = params
            .chars()
            .map(|p| match p {
                'i' => ValType::I32,
                'I' => ValType::I64,
                'f' => ValType::F32,
                _ => ValType::F64,
            })
            .collect();
        let ty = FuncType::new(params, []);
        let f = Func::new(&mut *store, ty, |_, _, _| Ok(()));
        items.push((name.to_string(), f.into()));
    }
    let globals = [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        (
            "global_f32",
            Val::F32(wasmi::F32::from_bits(666.6f32.to_bits())),
        ),
        (
            "global_f64",
            Val::F64(wasmi::F64::from_bits(666.6f64.to_bits())),
        ),
    ];
    for (name, v) in globals {
        let g = Global::new(&mut *store, v, Mutability::Const);
        items.push((name.to_string(), g.into()));
    }
    let table = TableType::new(RefType::Func, 10, Some(20));
    let table = Table::new(&mut *store, table, Ref::Func(Nullable::Null))?;
    items.push(("table".to_string(), table.into()));
    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    items.push(("memory".to_string(), memory.into()));
    Ok(items)
}
