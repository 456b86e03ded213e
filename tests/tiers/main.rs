//! One suite of behaviour for every tier: each case in this folder is written
//! once, as a function of the [`Tier`] that runs it, and runs as one test per
//! tier (`calls::interp::recursion_and_loops_compute`, `calls::jit::...`), so
//! a failure names its tier.
//!
//! Cases run through the public API ([`Program`]) where they can, and through
//! the runtime store directly ([`raw::RawProgram`]) where they look at what the
//! API hides (call depth, memories and globals the module does not export, a
//! tier's own compile errors). Differential cases compare a tier with the
//! interpreter on the same programs. Cases that only one tier can have (JIT
//! code generation, the interpreter's bytecode) stay in that tier's crate.
//!
//! Adding a tier: a variant of [`Tier`] and one line in [`tier_tests!`] (and in
//! [`differential_tests!`]); the compiler points at the rest.

use kiln::{Config, Engine, Error, Instance, Linker, Module, Store, Strategy, Trap, TrapCode, Val};

/// Runs each listed case on every tier.
///
/// `tier_tests!(a, b)` expands to
/// `mod interp { #[test] fn a() -> impl Termination { super::a(Tier::Interp) } ... }`
/// and the same `mod jit` with `Tier::Jit`, so each case (a `fn(Tier)` in the
/// invoking module, returning `()` or a `Result`) becomes one test per tier. A
/// case left out of the list is never called, which the compiler reports as
/// dead code.
macro_rules! tier_tests {
    ($($case:ident),* $(,)?) => {
        tier_tests!(@tier interp Interp; $($case),*);
        tier_tests!(@tier jit Jit; $($case),*);
    };
    (@tier $module:ident $tier:ident; $($case:ident),*) => {
        mod $module {
            $(
                #[test]
                fn $case() -> impl std::process::Termination {
                    super::$case($crate::Tier::$tier)
                }
            )*
        }
    };
}

/// Runs each listed differential case on every tier but the reference one
/// (the interpreter, [`Tier::REFERENCE`]), which it compares the tier with:
/// `differential_tests!(a)` expands to
/// `mod jit { #[test] fn a() { super::a(Tier::Jit) } }`.
macro_rules! differential_tests {
    ($($case:ident),* $(,)?) => {
        mod jit {
            $(
                #[test]
                fn $case() {
                    super::$case($crate::Tier::Jit)
                }
            )*
        }
    };
}

mod calls;
mod control;
mod differential;
mod embedding;
mod epoch;
mod exceptions;
mod fuel;
mod generate;
mod globals;
mod locals;
mod memory;
mod memory64_big;
mod numeric;
mod raw;
mod resumable;
mod simd;
mod tables;
mod traps;
mod typed_refs;

/// A tier that runs WebAssembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// The interpreter (`kiln-interp`).
    Interp,
    /// The Cranelift JIT (`kiln-jit`).
    Jit,
}

impl Tier {
    /// The tier the differential cases compare the others with.
    pub const REFERENCE: Tier = Tier::Interp;

    /// The public API's name for the tier.
    pub fn strategy(self) -> Strategy {
        match self {
            Tier::Interp => Strategy::Interpreter,
            Tier::Jit => Strategy::Jit,
        }
    }

    /// A configuration for the tier, otherwise the default one.
    pub fn config(self) -> Config {
        let mut config = Config::new();
        config.strategy(self.strategy());
        config
    }

    /// An engine for the tier, configured further by `configure`.
    pub fn engine(self, configure: impl FnOnce(&mut Config)) -> Engine {
        let mut config = self.config();
        configure(&mut config);
        Engine::new(&config).expect("the tier is available")
    }

    /// Checks that no loop so far had to leave the tier's fast path because the
    /// native stack grew: the interpreter's handlers jump to each other rather
    /// than call, so its count ([`kiln_interp::stack_rescues`], for the whole
    /// process) stays zero. The JIT has no such path and nothing to check.
    pub fn assert_native_stack_flat(self) {
        match self {
            Tier::Interp => assert_eq!(kiln_interp::stack_rescues(), 0),
            Tier::Jit => {}
        }
    }
}

/// An instantiated module (without imports) and its store, through the public API.
#[derive(Debug)]
pub struct Program {
    pub store: Store<()>,
    pub instance: Instance,
}

impl Program {
    /// Compiles `wat` for `tier` with the default configuration and instantiates it.
    pub fn load(tier: Tier, wat: &str) -> Program {
        Program::with(tier, wat, |_| {})
    }

    /// Compiles `wat` on an engine for `tier` configured by `configure`, and
    /// instantiates it.
    pub fn with(tier: Tier, wat: &str, configure: impl FnOnce(&mut Config)) -> Program {
        let engine = tier.engine(configure);
        Program::on(&engine, wat)
    }

    /// Compiles `wat` on `engine` and instantiates it.
    pub fn on(engine: &Engine, wat: &str) -> Program {
        let module = Module::new(engine, wat).expect("the test module compiles");
        let mut store = Store::new(engine, ());
        let instance = Linker::new(engine)
            .instantiate(&mut store, &module)
            .expect("instantiate");
        Program { store, instance }
    }

    /// Calls export `name`; a trap is the error, anything else fails the test.
    pub fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, Trap> {
        call(&mut self.store, &self.instance, name, args).map_err(|e| match e {
            Error::Trap(trap) => trap,
            other => panic!("{name}{args:?}: {other}"),
        })
    }
}

/// Calls export `name` of `instance`.
pub fn call(
    store: &mut Store<()>,
    instance: &Instance,
    name: &str,
    args: &[Val],
) -> Result<Vec<Val>, Error> {
    let f = instance
        .get_func(&*store, name)
        .unwrap_or_else(|| panic!("no function export {name}"));
    let n = f.ty(&*store).results.len();
    let mut results = vec![Val::I32(0); n];
    f.call(&mut *store, args, &mut results)?;
    Ok(results)
}

/// The code of the trap a call must have ended with.
pub fn code(r: Result<Vec<Val>, Trap>) -> Option<TrapCode> {
    r.expect_err("must trap").code()
}

/// The code of the trap a call ended with, if it trapped.
pub fn trap_code(r: &Result<Vec<Val>, Error>) -> Option<TrapCode> {
    r.as_ref().err()?.trap()?.code()
}

/// The default strategy is the JIT wherever the JIT exists (not a case per tier).
#[test]
fn the_jit_is_the_default_where_it_exists() {
    assert_eq!(
        Strategy::JIT_AVAILABLE,
        cfg!(all(target_arch = "x86_64", target_os = "linux"))
    );
    let expected = if Strategy::JIT_AVAILABLE {
        Strategy::Jit
    } else {
        Strategy::Interpreter
    };
    assert_eq!(Strategy::default(), expected);
    assert_eq!(Config::new(), {
        let mut config = Config::new();
        config.strategy(expected);
        config
    });
}
