//! A module on a tier through the runtime store directly, for the cases that
//! look at what the public API hides: the store's call depth, memories and
//! globals the module does not export, and each tier's own compile errors.

use std::sync::Arc;
use std::time::Instant;

use kiln_parser::{Features, Module};
use kiln_runtime::instantiate::instantiate;
use kiln_runtime::{
    CompileError, CompileOptions, Extern, InstanceAddr, Store, StoreLimits, Trap, Val,
};
use kiln_validator::ModuleInfo;

use crate::Tier;

/// How a [`RawProgram`] is compiled and limited.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub canonicalize_nans: bool,
    pub limits: StoreLimits,
}

/// An instantiated module (without imports) and its store.
#[derive(Debug)]
pub struct RawProgram {
    pub store: Store,
    pub instance: InstanceAddr,
    pub tier: Tier,
}

/// Parses and validates `wat` with every feature on.
pub fn parse(wat: &str) -> (Module, ModuleInfo) {
    let bytes = wat::parse_str(wat).expect("test module should be well-formed text");
    let module = kiln_parser::parse(&bytes, Features::ALL).expect("parse");
    let info = kiln_validator::validate(&module, Features::ALL).expect("valid");
    (module, info)
}

/// Compiles `wat` for `tier` without fuel, as `options` say.
///
/// # Errors
///
/// The tier's compile error.
pub fn compile(
    wat: &str,
    tier: Tier,
    options: Options,
) -> Result<(Arc<Module>, Arc<dyn std::any::Any + Send + Sync>), CompileError> {
    let (module, info) = parse(wat);
    let module = Arc::new(module);
    let info = Arc::new(info);
    let options = CompileOptions {
        fuel: false,
        epoch_interruption: false,
        canonicalize_nans: options.canonicalize_nans,
        memory_guard: true,
    };
    let code: Arc<dyn std::any::Any + Send + Sync> = match tier {
        Tier::Interp => Arc::new(kiln_interp::CompiledModule::new(
            Arc::clone(&module),
            info,
            options,
        )?),
        Tier::Jit => Arc::new(kiln_jit::CompiledModule::new(
            Arc::clone(&module),
            info,
            options,
        )?),
    };
    Ok((module, code))
}

impl RawProgram {
    /// Compiles `wat` for `tier` as `options` say and instantiates it.
    ///
    /// # Errors
    ///
    /// The tier's compile error.
    pub fn try_load(wat: &str, tier: Tier, options: Options) -> Result<RawProgram, CompileError> {
        let (module, code) = compile(wat, tier, options)?;
        let mut store = Store::new(options.limits);
        let (instance, start) = instantiate(&mut store, &module, &[], code).expect("instantiate");
        assert!(start.is_none());
        Ok(RawProgram {
            store,
            instance,
            tier,
        })
    }

    /// Compiles `wat` for `tier` with default options and instantiates it with the
    /// imports `imports` adds to the store (in the module's import order).
    pub fn with_imports(
        wat: &str,
        tier: Tier,
        imports: impl FnOnce(&mut Store) -> Vec<Extern>,
    ) -> RawProgram {
        let (module, code) = compile(wat, tier, Options::default()).expect("compile");
        let mut store = Store::new(StoreLimits::default());
        let imports = imports(&mut store);
        let (instance, start) =
            instantiate(&mut store, &module, &imports, code).expect("instantiate");
        assert!(start.is_none());
        RawProgram {
            store,
            instance,
            tier,
        }
    }

    /// Compiles `wat` for `tier` with default options and instantiates it.
    pub fn load(wat: &str, tier: Tier) -> RawProgram {
        RawProgram::try_load(wat, tier, Options::default()).expect("compile")
    }

    /// Calls export `name`.
    pub fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, Trap> {
        call_export(
            self.tier,
            &mut self.store,
            &mut (),
            self.instance,
            name,
            args,
        )
    }

    /// The bytes of the instance's memory 0 (empty without one).
    pub fn memory(&self) -> &[u8] {
        match self.store.instances[self.instance.index()].memories.first() {
            Some(m) => self.store.memories[m.index()].data(),
            None => &[],
        }
    }

    /// The bits of every global of the instance.
    pub fn globals(&self) -> Vec<u128> {
        self.store.instances[self.instance.index()]
            .globals
            .iter()
            .map(|g| self.store.globals[g.index()].bits)
            .collect()
    }
}

/// Compiles every function of `module` on `tier` at once (the interpreter
/// otherwise translates each on its first call), and says how long that took
/// and what it made.
pub fn compile_all(tier: Tier, module: &Arc<Module>, info: &Arc<ModuleInfo>) -> String {
    let started = Instant::now();
    match tier {
        Tier::Interp => {
            let interp = kiln_interp::CompiledModule::new(
                Arc::clone(module),
                Arc::clone(info),
                CompileOptions::default(),
            )
            .expect("translate");
            interp.translate_all().expect("verified");
            format!("interpreter translation {:?}", started.elapsed())
        }
        Tier::Jit => {
            let jit = kiln_jit::CompiledModule::new(
                Arc::clone(module),
                Arc::clone(info),
                CompileOptions::default(),
            )
            .expect("compile");
            format!(
                "JIT compile {:?}, {} bytes of machine code",
                started.elapsed(),
                jit.code_size()
            )
        }
    }
}

/// Calls export `name` of `instance` on `tier` (also from a host function, with
/// the store and host state it was given).
pub fn call_export(
    tier: Tier,
    store: &mut Store,
    data: &mut dyn std::any::Any,
    instance: InstanceAddr,
    name: &str,
    args: &[Val],
) -> Result<Vec<Val>, Trap> {
    let Some(Extern::Func(f)) = store.instances[instance.index()].exports.get(name).copied() else {
        panic!("no function export {name}");
    };
    let ty = store.func_type(f).clone();
    let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
    match tier {
        Tier::Interp => kiln_interp::invoke(store, data, f, args, &mut results)?,
        Tier::Jit => kiln_jit::invoke(store, data, f, args, &mut results)?,
    }
    Ok(results)
}
