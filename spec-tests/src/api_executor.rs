//! The execution tiers (interpreter and JIT) as an [`Executor`], seen only
//! through the public `kiln` API: the same calls an embedder makes
//! (`Module::new`, `Linker`, `Func::call`), so that a pass here means the API
//! works, not just the executor behind it.
//!
//! Each file gets its own [`kiln::Engine`] (configured with the tier's
//! strategy, the suite's features, and with fuel in the `-fuel` tiers), one
//! [`Store`], and the [`spectest`](crate::spectest) module the spec scripts
//! import from.

use std::collections::{HashMap, HashSet};

use kiln::{
    AnyRefKind, Config, Error, Extern, ExternRef, Features, Instance, Linker, Module, Store,
    Strategy, TrapCode, Val,
};

use crate::exec::{AnyKind, ExecError, Executor, InstanceId, ModuleId, Value};
use crate::rejection::Rejection;
use crate::spectest;

/// The fuel a store is given before every instantiation and call when fuel
/// is on: far more than any spec test uses, so that only a fuel bug (never
/// the budget) can make a result differ from the run without fuel.
pub const FUEL: u64 = 1 << 62;

/// One file's store, modules, instances and import registry.
pub(crate) struct ApiExecutor {
    engine: kiln::Engine,
    store: Store<()>,
    fuel: bool,
    /// Compiled modules, indexed by [`ModuleId`].
    modules: Vec<Module>,
    /// Instances, indexed by [`InstanceId`].
    instances: Vec<Instance>,
    /// What imports resolve against: module name -> its exports by name.
    /// `spectest` is here from the start; `register` adds and replaces.
    registry: HashMap<String, Vec<(String, Extern)>>,
    /// Module names registered from modules the tier could not run.
    unsupported: HashSet<String>,
}

impl ApiExecutor {
    /// A fresh store for one file, with `spectest` registered: `strategy`
    /// and `features` as given, `fuel` turning on `Config::consume_fuel`,
    /// `guard` as `Config::memory_guard`.
    ///
    /// # Errors
    ///
    /// The engine's refusal of the configuration (a tier not available
    /// here), or a failure to make the `spectest` items.
    pub(crate) fn new(
        strategy: Strategy,
        features: Features,
        fuel: bool,
        guard: bool,
    ) -> Result<ApiExecutor, Error> {
        let mut config = Config::new();
        config
            .strategy(strategy)
            .features(features)
            .consume_fuel(fuel)
            .memory_guard(guard);
        let engine = kiln::Engine::new(&config)?;
        let mut store = Store::new(&engine, ());
        let spectest = spectest::exports(&mut store)?;
        let registry = HashMap::from([("spectest".to_string(), spectest)]);
        Ok(ApiExecutor {
            engine,
            store,
            fuel,
            modules: Vec::new(),
            instances: Vec::new(),
            registry,
            unsupported: HashSet::new(),
        })
    }

    /// Registers host objects under the module name `name`, as `register`
    /// does an instance's exports; `make` creates them in the store. For
    /// tests that need a host function (one that throws, say).
    #[cfg(test)]
    pub(crate) fn register_host(
        &mut self,
        name: &str,
        make: impl FnOnce(&mut Store<()>) -> Result<Vec<(String, Extern)>, Error>,
    ) -> Result<(), Error> {
        let exports = make(&mut self.store)?;
        self.registry.insert(name.to_string(), exports);
        Ok(())
    }

    /// Fills the tank before a directive's work, when fuel is on.
    fn refuel(&mut self) -> Result<(), ExecError> {
        if self.fuel {
            self.store.set_fuel(FUEL).map_err(from_kiln)?;
        }
        Ok(())
    }

    fn instance(&self, id: InstanceId) -> Result<Instance, ExecError> {
        self.instances
            .get(id.0)
            .copied()
            .ok_or_else(|| ExecError::Other(format!("no instance #{}", id.0)))
    }

    /// A script value as a `kiln` value; `ref.extern N` becomes a new
    /// externref holding `N`.
    fn make_val(&mut self, v: Value) -> Result<Val, ExecError> {
        Ok(match v {
            Value::I32(x) => Val::I32(x),
            Value::I64(x) => Val::I64(x),
            Value::F32(bits) => Val::F32(bits),
            Value::F64(bits) => Val::F64(bits),
            Value::V128(bits) => Val::V128(bits),
            Value::FuncRef(None) => Val::FuncRef(None),
            Value::FuncRef(Some(_)) => {
                return Err(ExecError::Other(
                    "a script cannot pass a non-null funcref".into(),
                ));
            }
            Value::ExternRef(None) => Val::ExternRef(None),
            Value::ExternRef(Some(n)) => ExternRef::new(&mut self.store, n).to_val(),
            Value::AnyRef(None) => Val::AnyRef(None),
            Value::AnyRef(Some(AnyKind::Host(n))) => {
                ExternRef::new(&mut self.store, n).to_any_val()
            }
            Value::AnyRef(Some(_)) => {
                return Err(ExecError::Other(
                    "a script passes no GC value but a host one".into(),
                ));
            }
            Value::ExnRef(None) => Val::ExnRef(None),
            Value::ExnRef(Some(_)) => {
                return Err(ExecError::Other(
                    "a script cannot pass a non-null exnref".into(),
                ));
            }
        })
    }

    /// A `kiln` value as the harness compares it; externrefs by payload,
    /// exnrefs by nullness (the index only tells them apart in messages).
    fn read_val(&self, v: Val) -> Result<Value, ExecError> {
        Ok(match v {
            Val::I32(x) => Value::I32(x),
            Val::I64(x) => Value::I64(x),
            Val::F32(bits) => Value::F32(bits),
            Val::F64(bits) => Value::F64(bits),
            Val::V128(bits) => Value::V128(bits),
            Val::FuncRef(f) => Value::FuncRef(f.map(|f| f.index())),
            Val::ExnRef(e) => Value::ExnRef(e.map(|e| e.index())),
            Val::AnyRef(None) => Value::AnyRef(None),
            Val::AnyRef(Some(g)) => Value::AnyRef(Some(match AnyRefKind::of(&self.store, g) {
                Some(AnyRefKind::I31(v)) => AnyKind::I31(v),
                Some(AnyRefKind::Struct) => AnyKind::Struct,
                Some(AnyRefKind::Array) => AnyKind::Array,
                Some(AnyRefKind::Host(e)) => match e.data::<u32, _>(&self.store) {
                    Some(&n) => AnyKind::Host(n),
                    None => {
                        return Err(ExecError::Other(format!(
                            "returned a host value the script never created: {v:?}"
                        )));
                    }
                },
                None => {
                    return Err(ExecError::Other(format!(
                        "returned a reference to no object of the store: {v:?}"
                    )));
                }
            })),
            Val::ExternRef(None) => Value::ExternRef(None),
            Val::ExternRef(Some(_)) => {
                let payload = ExternRef::from_val(&self.store, v)
                    .and_then(|r| r.data::<u32, _>(&self.store).copied());
                match payload {
                    Some(n) => Value::ExternRef(Some(n)),
                    None => {
                        return Err(ExecError::Other(format!(
                            "returned an externref the script never created: {v:?}"
                        )));
                    }
                }
            }
        })
    }
}

impl Executor for ApiExecutor {
    fn compile(&mut self, bytes: &[u8]) -> Result<ModuleId, ExecError> {
        let module = Module::new(&self.engine, bytes).map_err(from_kiln)?;
        self.modules.push(module);
        Ok(ModuleId(self.modules.len() - 1))
    }

    fn instantiate(&mut self, module: ModuleId) -> Result<InstanceId, ExecError> {
        let module = self
            .modules
            .get(module.0)
            .cloned()
            .ok_or_else(|| ExecError::Other(format!("no module #{}", module.0)))?;
        if let Some((name, field, _)) = module
            .imports()
            .find(|(name, _, _)| self.unsupported.contains(*name))
        {
            return Err(ExecError::Unsupported(format!(
                "imports `{name}::{field}` from a module the tier cannot run"
            )));
        }
        // A linker per instantiation, so that `register` can replace a name
        // (Kiln's `Linker` refuses to define one twice, as wasmtime's does
        // unless shadowing is allowed).
        let mut linker = Linker::new(&self.engine);
        for (name, exports) in &self.registry {
            for (field, item) in exports {
                linker.define(name, field, *item).map_err(from_kiln)?;
            }
        }
        self.refuel()?;
        let instance = linker
            .instantiate(&mut self.store, &module)
            .map_err(from_kiln)?;
        self.instances.push(instance);
        Ok(InstanceId(self.instances.len() - 1))
    }

    fn register(&mut self, name: &str, instance: InstanceId) -> Result<(), ExecError> {
        let exports = self.instance(instance)?.exports(&self.store);
        self.unsupported.remove(name);
        self.registry.insert(name.to_string(), exports);
        Ok(())
    }

    fn register_unsupported(&mut self, name: &str) {
        self.registry.remove(name);
        self.unsupported.insert(name.to_string());
    }

    fn invoke(
        &mut self,
        instance: InstanceId,
        func: &str,
        args: &[Value],
    ) -> Result<Vec<Value>, ExecError> {
        let f = self
            .instance(instance)?
            .get_func(&self.store, func)
            .ok_or_else(|| ExecError::Other(format!("no exported function `{func}`")))?;
        let mut params = Vec::with_capacity(args.len());
        for &arg in args {
            params.push(self.make_val(arg)?);
        }
        let mut results: Vec<Val> = f
            .ty(&self.store)
            .results
            .iter()
            .map(|&t| Val::default_for(t))
            .collect();
        self.refuel()?;
        f.call(&mut self.store, &params, &mut results)
            .map_err(from_kiln)?;
        results.into_iter().map(|v| self.read_val(v)).collect()
    }

    fn get(&mut self, instance: InstanceId, global: &str) -> Result<Value, ExecError> {
        let g = self
            .instance(instance)?
            .get_global(&self.store, global)
            .ok_or_else(|| ExecError::Other(format!("no exported global `{global}`")))?;
        let v = g.get(&self.store);
        self.read_val(v)
    }
}

/// Sorts a `kiln` error into what the runner judges.
fn from_kiln(e: Error) -> ExecError {
    match e {
        Error::Parse(e) => ExecError::Rejected(Rejection::Parse(e)),
        Error::Invalid(e) => ExecError::Rejected(Rejection::Validate(e)),
        Error::Unsupported(m) if is_simd(&m) => ExecError::Unsupported(m),
        Error::Unlinkable(m) => ExecError::Unlinkable(m),
        Error::Trap(t) if t.as_exception().is_some() => ExecError::Exception,
        Error::Trap(t) => {
            let code = t.code();
            ExecError::Trap {
                message: code.map_or_else(|| t.to_string(), |c| c.message().to_string()),
                exhausted: code == Some(TrapCode::CallStackExhausted),
            }
        }
        other => ExecError::Other(other.to_string()),
    }
}

/// Whether an `Error::Unsupported` message is a tier refusing SIMD (today
/// only the JIT, on a processor without what its vector code needs), the one
/// thing a tier may skip (and a skip fails the executing tiers' tests). The
/// public API has no finer error than the message.
fn is_simd(message: &str) -> bool {
    message.contains("SIMD")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executor(fuel: bool) -> ApiExecutor {
        let features = Features {
            multi_memory: true,
            ..Features::WASM2
        };
        ApiExecutor::new(Strategy::Interpreter, features, fuel, true)
            .expect("an interpreter executor")
    }

    fn wasm(text: &str) -> Vec<u8> {
        kiln::wat2wasm(text.as_bytes())
            .expect("test modules are well-formed")
            .into_owned()
    }

    #[test]
    fn simd_modules_run() -> Result<(), ExecError> {
        let mut x = executor(false);
        let bytes = wasm(
            r#"(module (func (export "f") (param v128) (result v128)
                 (i64x2.add (local.get 0) (v128.const i64x2 1 2))))"#,
        );
        let m = x.compile(&bytes)?;
        let i = x.instantiate(m)?;
        let r = x.invoke(i, "f", &[Value::V128(5 << 64 | 4)])?;
        assert_eq!(r, [Value::V128(7 << 64 | 5)]);
        Ok(())
    }

    #[test]
    fn spectest_is_importable() -> Result<(), ExecError> {
        for fuel in [false, true] {
            let mut x = executor(fuel);
            let m = x.compile(&wasm(
                r#"(module
                  (import "spectest" "print_i32" (func $p (param i32)))
                  (import "spectest" "global_f64" (global $g f64))
                  (import "spectest" "table" (table 10 20 funcref))
                  (import "spectest" "memory" (memory 1 2))
                  (func (export "f") (result f64) (call $p (i32.const 1)) (global.get $g)))"#,
            ))?;
            let i = x.instantiate(m)?;
            assert_eq!(
                x.invoke(i, "f", &[])?,
                [Value::F64(666.6f64.to_bits())],
                "fuel {fuel}"
            );
        }
        Ok(())
    }

    /// The fuel tier really meters: a call burns fuel, and the tank is full
    /// again before the next one.
    #[test]
    fn fuel_is_consumed_and_refilled() -> Result<(), ExecError> {
        let mut x = executor(true);
        let m = x.compile(&wasm(
            r#"(module (func (export "f") (result i32) (i32.add (i32.const 1) (i32.const 2))))"#,
        ))?;
        let i = x.instantiate(m)?;
        for _ in 0..2 {
            assert_eq!(x.invoke(i, "f", &[])?, [Value::I32(3)]);
            let left = x.store.get_fuel().map_err(from_kiln)?;
            assert!(left < FUEL, "no fuel consumed");
        }
        assert!(executor(false).store.get_fuel().is_err());
        Ok(())
    }

    #[test]
    fn externrefs_round_trip_by_payload() -> Result<(), ExecError> {
        let mut x = executor(false);
        let m = x.compile(&wasm(
            r#"(module (func (export "id") (param externref) (result externref) (local.get 0)))"#,
        ))?;
        let i = x.instantiate(m)?;
        for v in [Value::ExternRef(Some(7)), Value::ExternRef(None)] {
            assert_eq!(x.invoke(i, "id", &[v])?, [v]);
        }
        Ok(())
    }

    #[test]
    fn errors_are_sorted() {
        let mut x = executor(false);
        let unlinkable = wasm(r#"(module (import "nowhere" "f" (func)))"#);
        let m = x.compile(&unlinkable).expect("valid");
        assert!(matches!(x.instantiate(m), Err(ExecError::Unlinkable(_))));
        let deep = wasm(r#"(module (func $f (export "f") (call $f)))"#);
        let m = x.compile(&deep).expect("valid");
        let i = x.instantiate(m).expect("instantiates");
        assert!(matches!(
            x.invoke(i, "f", &[]),
            Err(ExecError::Trap {
                exhausted: true,
                ..
            })
        ));
        assert!(matches!(
            x.compile(&wasm("(module (func (result i32)))")),
            Err(ExecError::Rejected(Rejection::Validate(_)))
        ));
    }
}
