//! Loading a module on either tier, through the runtime store directly.

#![allow(dead_code)]

pub mod generate;

use std::sync::Arc;
use std::time::Duration;

use kiln_parser::Features;
use kiln_runtime::instantiate::instantiate;
use kiln_runtime::{Extern, InstanceAddr, Store, StoreLimits, Trap, Val};

/// Which tier runs a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Interp,
    Jit,
}

/// An instantiated module and its store.
pub struct Program {
    pub store: Store,
    pub instance: InstanceAddr,
    pub tier: Tier,
    /// How long compiling took (translation and code generation; 0 for the
    /// interpreter, which translates lazily).
    pub compile_time: Duration,
}

/// Compiles `wat` for `tier` and instantiates it.
///
/// # Errors
///
/// The tier's compile error, as text.
pub fn try_load(
    wat: &str,
    tier: Tier,
    canonicalize_nans: bool,
    limits: StoreLimits,
) -> Result<Program, String> {
    let bytes = wat::parse_str(wat).expect("test module should be well-formed text");
    let module = kiln_parser::parse(&bytes, Features::ALL).expect("parse");
    let info = kiln_validator::validate(&module, Features::ALL).expect("valid");
    let module = Arc::new(module);
    let started = std::time::Instant::now();
    let code: Arc<dyn std::any::Any + Send + Sync> = match tier {
        Tier::Interp => Arc::new(
            kiln_interp::CompiledModule::new(
                Arc::clone(&module),
                Arc::new(info),
                kiln_interp::Options {
                    fuel: false,
                    canonicalize_nans,
                },
            )
            .map_err(|e| e.to_string())?,
        ),
        Tier::Jit => Arc::new(
            kiln_jit::CompiledModule::new(
                Arc::clone(&module),
                Arc::new(info),
                kiln_jit::Options {
                    fuel: false,
                    canonicalize_nans,
                    memory_guard: true,
                },
            )
            .map_err(|e| e.to_string())?,
        ),
    };
    let compile_time = started.elapsed();
    let mut store = Store::new(limits);
    let (instance, start) = instantiate(&mut store, &module, &[], code).expect("instantiate");
    assert!(start.is_none());
    Ok(Program {
        store,
        instance,
        tier,
        compile_time,
    })
}

/// Compiles `wat` for `tier` with default limits and instantiates it.
pub fn load(wat: &str, tier: Tier) -> Program {
    try_load(wat, tier, false, StoreLimits::default()).expect("compile")
}

impl Program {
    /// Calls export `name`.
    pub fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, Trap> {
        let Some(Extern::Func(f)) = self.store.instances[self.instance.index()]
            .exports
            .get(name)
            .copied()
        else {
            panic!("no function export {name}");
        };
        let ty = self.store.func_type(f).clone();
        let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
        match self.tier {
            Tier::Interp => kiln_interp::invoke(&mut self.store, &mut (), f, args, &mut results)?,
            Tier::Jit => kiln_jit::invoke(&mut self.store, &mut (), f, args, &mut results)?,
        }
        Ok(results)
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
