use std::collections::HashMap;

use kiln::{
    Config, Engine, Error, Extern, ExternRef, FuncType, Global, Instance, Linker, Module, Store,
    Val, ValType,
};

use super::*;

/// Kiln, on one tier, running the original or the rewritten modules.
pub(super) struct KilnWorld {
    rewritten: bool,
    engine: Engine,
    store: Store<()>,
    /// Each instance, with a rewritten one's `kiln_fuel`, `kiln_status`
    /// and `kiln_depth`.
    instances: Vec<(Instance, Option<[Global; 3]>)>,
    registry: HashMap<String, Vec<(String, Extern)>>,
}

impl KilnWorld {
    pub(super) fn new(
        strategy: Strategy,
        features: Features,
        rewritten: bool,
    ) -> Result<KilnWorld, Error> {
        let mut config = Config::new();
        config.strategy(strategy).features(features);
        if rewritten {
            config.max_call_depth(ENGINE_CALL_DEPTH);
        } else {
            config
                .consume_fuel(true)
                .nan_canonicalization(true)
                .max_call_depth(MAX_CALL_DEPTH);
        }
        let engine = Engine::new(&config)?;
        let mut store = Store::new(&engine, ());
        let spectest = kiln_spec_tests::spectest::exports(&mut store)?;
        Ok(KilnWorld {
            rewritten,
            engine,
            store,
            instances: Vec::new(),
            registry: HashMap::from([("spectest".to_string(), spectest)]),
        })
    }

    fn make_val(&mut self, arg: Arg, ty: ValType) -> Val {
        match (arg, ty) {
            (Arg::Num(Value::I32(x)), _) => Val::I32(x),
            (Arg::Num(Value::I64(x)), _) => Val::I64(x),
            (Arg::Num(Value::F32(b)), _) => Val::F32(b),
            (Arg::Num(Value::F64(b)), _) => Val::F64(b),
            (Arg::Num(Value::V128(b)), _) => Val::V128(b),
            (Arg::Null, ValType::Ref(r)) => Val::null(r),
            (Arg::Extern(n), _) => ExternRef::new(&mut self.store, n).to_val(),
            // The call then fails on the argument's type, in every world.
            (Arg::Num(_) | Arg::Null, _) => Val::FuncRef(None),
        }
    }
}

impl World for KilnWorld {
    fn rewritten(&self) -> bool {
        self.rewritten
    }

    fn instantiate(&mut self, module: &Binaries<'_>) -> Instantiated {
        let failed = |why: String| Instantiated::Failed(Ending::Failed(why));
        let bytes = if self.rewritten {
            module.instrumented
        } else {
            module.original
        };
        let module = match Module::new(&self.engine, bytes) {
            Ok(m) => m,
            Err(e) => return failed(format!("compiling: {e}")),
        };
        let mut linker = Linker::new(&self.engine);
        for (name, items) in &self.registry {
            for (field, item) in items {
                if let Err(e) = linker.define(name, field, *item) {
                    return failed(format!("linker: {e}"));
                }
            }
        }
        if !self.rewritten
            && let Err(e) = self.store.set_fuel(LARGE_BUDGET)
        {
            return failed(e.to_string());
        }
        let instance = match linker.instantiate(&mut self.store, &module) {
            Ok(i) => i,
            Err(e) => return Instantiated::Failed(ending(&e).0),
        };
        let counters = if self.rewritten {
            let global = |name| instance.get_global(&self.store, name);
            let counters = [FUEL_EXPORT, STATUS_EXPORT, DEPTH_EXPORT].map(global);
            let [Some(f), Some(s), Some(d)] = counters else {
                return failed("the rewritten module does not export its counters".into());
            };
            Some([f, s, d])
        } else {
            None
        };
        self.instances.push((instance, counters));
        Instantiated::Ready(self.instances.len() - 1)
    }

    fn register(&mut self, name: &str, instance: Option<usize>) {
        match instance.and_then(|i| self.instances.get(i)) {
            Some((instance, _)) => {
                let exports = instance.exports(&self.store);
                self.registry.insert(name.to_string(), exports);
            }
            None => {
                self.registry.remove(name);
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
        let ty: FuncType = f.ty(&self.store);
        if ty.params.len() != args.len() {
            return failed(format!("{} arguments for {ty:?}", args.len()));
        }
        let params: Vec<Val> = args
            .iter()
            .zip(&ty.params)
            .map(|(&a, &t)| self.make_val(a, t))
            .collect();
        let mut results: Vec<Val> = ty.results.iter().map(|&t| Val::default_for(t)).collect();
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

    fn set_fuel(&mut self, fuel: u64) -> Result<(), String> {
        self.store.set_fuel(fuel).map_err(|e| e.to_string())
    }

    fn fuel(&self) -> u64 {
        self.store.get_fuel().unwrap_or(u64::MAX)
    }

    fn instances(&self) -> usize {
        self.instances.len()
    }

    fn set_counters(&mut self, instance: usize, fuel: u64) -> Result<(), String> {
        let Some(&(_, Some([f, status, depth]))) = self.instances.get(instance) else {
            return Err(format!("instance #{instance} has no counters"));
        };
        let values = [Val::I64(fuel as i64), Val::I32(0), Val::I32(0)];
        for (global, v) in [f, status, depth].into_iter().zip(values) {
            global.set(&mut self.store, v).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn counters(&self, instance: usize) -> (u64, i32) {
        let Some((_, Some([f, status, _]))) = self.instances.get(instance) else {
            return (0, 0);
        };
        match (f.get(&self.store), status.get(&self.store)) {
            (Val::I64(f), Val::I32(s)) => (f as u64, s),
            _ => (0, i32::MIN),
        }
    }
}

fn value(v: &Val) -> Value {
    match *v {
        Val::I32(x) => Value::I32(x),
        Val::I64(x) => Value::I64(x),
        Val::F32(b) => Value::F32(b),
        Val::F64(b) => Value::F64(b),
        Val::V128(b) => Value::V128(b),
        Val::FuncRef(r) => Value::FuncRef { null: r.is_none() },
        Val::ExternRef(r) => Value::ExternRef { null: r.is_none() },
        Val::ExnRef(r) => Value::ExnRef { null: r.is_none() },
        // GC modules are not instrumented; an `externref` holding a GC
        // value would read as one.
        Val::AnyRef(r) => Value::ExternRef { null: r.is_none() },
    }
}

/// A Kiln error as an ending, and whether it is an `unreachable` trap.
fn ending(e: &Error) -> (Ending, bool) {
    let Some(trap) = e.trap() else {
        return (Ending::Failed(e.to_string()), false);
    };
    if trap.as_exception().is_some() {
        return (Ending::Exception, false);
    }
    let ending = match trap.code() {
        Some(TrapCode::OutOfFuel) => Ending::OutOfFuel,
        Some(TrapCode::CallStackExhausted) => Ending::Exhausted,
        Some(c) => Ending::Trap(c.message().to_string()),
        None => Ending::Trap(trap.to_string()),
    };
    (ending, trap.code() == Some(TrapCode::Unreachable))
}
