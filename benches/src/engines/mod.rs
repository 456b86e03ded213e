//! The engines that run the benchmark programs, behind one interface so the
//! report and the criterion benches treat them alike.
//!
//! An [`Engine`] compiles a module's bytes into a [`Compiled`] module, which
//! can then be instantiated any number of times. [`Compiled::run`] gives
//! each run a fresh instance and WASI context (a wasi-libc command's
//! `_start` runs once per instance) and captures what it printed.
//!
//! What is timed where:
//! - execution: [`Compiled::run`], that is instantiation plus `_start` to
//!   the end. Instantiation takes microseconds to a millisecond, against
//!   seconds of execution; lazy engines (Kiln's interpreter, wasmi) also
//!   translate each function on its first call within it, while compilers
//!   (Kiln's JIT, wasmtime) have compiled every function in
//!   [`Engine::compile`].
//! - start-up: [`Engine::compile`] plus [`Compiled::instantiate`], from the
//!   module's bytes to an instance whose `_start` is ready to call; from a
//!   warm cache, [`Engine::load`] of saved code plus the same instantiation.

mod instrumented;
mod kiln;
mod mini_wasi;
mod wasmi;
mod wasmtime;

pub use self::instrumented::Instrumented;
pub use self::kiln::KilnEngine;
pub use self::mini_wasi::{Errno, MiniWasi, ProcExit};
pub use self::wasmi::WasmiEngine;
pub use self::wasmtime::WasmtimeEngine;

/// The wasmi version benchmarked, as pinned in the root `Cargo.toml` (a
/// test keeps the two in step).
pub const WASMI_VERSION: &str = "2.0.0";
/// The wasmtime version benchmarked, as pinned in the root `Cargo.toml`.
pub const WASMTIME_VERSION: &str = "48.0.8";

/// What a program did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Its exit status: 0 when `main` returned 0, else what it passed to
    /// `exit`.
    pub status: i32,
    /// Everything it wrote to standard output.
    pub stdout: Vec<u8>,
    /// Everything it wrote to standard error.
    pub stderr: Vec<u8>,
}

impl Outcome {
    /// Standard output as text, for messages.
    pub fn stdout_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// A WebAssembly engine with WASI preview1.
pub trait Engine {
    /// The name in reports: `kiln-interp`, `kiln-jit`, `wasmi`, `wasmtime`.
    fn name(&self) -> &'static str;

    /// Compiles (parses, validates, and for a compiler, translates) `wasm`.
    ///
    /// # Errors
    ///
    /// If the engine rejects the module.
    fn compile(&self, wasm: &[u8]) -> anyhow::Result<Box<dyn Compiled>>;

    /// `wasm` compiled and saved as bytes that [`Engine::load`] takes back
    /// (Kiln's `Module::serialize`, wasmtime's), what a compiled-code cache
    /// keeps; `None` for an engine without saved code (interpreters).
    fn serialize(&self, _wasm: &[u8]) -> Option<anyhow::Result<Vec<u8>>> {
        None
    }

    /// Loads what [`Engine::serialize`] saved, without compiling: the start of
    /// a run from a warm cache.
    ///
    /// # Errors
    ///
    /// If the engine refuses the bytes, or has no saved code.
    fn load(&self, _saved: &[u8]) -> anyhow::Result<Box<dyn Compiled>> {
        anyhow::bail!("{} saves no compiled code", self.name())
    }
}

/// A module compiled by an [`Engine`], ready to instantiate.
pub trait Compiled {
    /// Instantiates the module with a fresh WASI context and looks up
    /// `_start`, without calling it.
    ///
    /// # Errors
    ///
    /// If instantiation fails or the module has no `_start`.
    fn instantiate(&self) -> anyhow::Result<()>;

    /// As [`Compiled::instantiate`], from imports resolved and type-checked
    /// once at compile time (Kiln's and wasmtime's `InstancePre`); `None`
    /// for an engine measured without that form.
    fn instantiate_pre(&self) -> Option<anyhow::Result<()>> {
        None
    }

    /// Instantiates the module, runs `_start` with `program` as `argv[0]`
    /// followed by `args`, and returns what the program did.
    ///
    /// # Errors
    ///
    /// If instantiation fails or the program traps (`proc_exit` is not a
    /// trap: it is the outcome's status).
    fn run(&self, program: &str, args: &[String]) -> anyhow::Result<Outcome>;
}

/// `e` as a trait object.
fn boxed<E: Engine + 'static>(e: anyhow::Result<E>) -> anyhow::Result<Box<dyn Engine>> {
    e.map(|e| Box::new(e) as Box<dyn Engine>)
}

/// Every engine with its name, in report order: Kiln's interpreter, Kiln's
/// JIT, Kiln's tiered strategy, wasmi, wasmtime. An engine that cannot be created on this host
/// (Kiln's JIT off x86-64 Linux) is an `Err` saying why.
pub fn all() -> Vec<(&'static str, anyhow::Result<Box<dyn Engine>>)> {
    vec![
        (
            "kiln-interp",
            boxed(KilnEngine::new(::kiln::Strategy::Interpreter)),
        ),
        ("kiln-jit", boxed(KilnEngine::new(::kiln::Strategy::Jit))),
        (
            "kiln-tiered",
            boxed(KilnEngine::new(::kiln::Strategy::Tiered)),
        ),
        ("wasmi", boxed(Ok(WasmiEngine::new()))),
        ("wasmtime", boxed(WasmtimeEngine::new())),
    ]
}

/// Kiln's tiers with epoch interruption on (a deadline never reached), to
/// measure what its checks cost: `kiln-interp-epoch`, `kiln-jit-epoch`.
pub fn with_epochs() -> Vec<(&'static str, anyhow::Result<Box<dyn Engine>>)> {
    vec![
        (
            "kiln-interp-epoch",
            boxed(KilnEngine::with_epochs(::kiln::Strategy::Interpreter)),
        ),
        (
            "kiln-jit-epoch",
            boxed(KilnEngine::with_epochs(::kiln::Strategy::Jit)),
        ),
    ]
}

/// Kiln's tiers with fuel metering on (more fuel than any run uses), to
/// measure what metering costs: `kiln-interp-fuel`, `kiln-jit-fuel`.
pub fn with_fuel() -> Vec<(&'static str, anyhow::Result<Box<dyn Engine>>)> {
    vec![
        (
            "kiln-interp-fuel",
            boxed(KilnEngine::with_fuel(::kiln::Strategy::Interpreter)),
        ),
        (
            "kiln-jit-fuel",
            boxed(KilnEngine::with_fuel(::kiln::Strategy::Jit)),
        ),
    ]
}

/// Kiln's JIT and wasmtime running modules rewritten by `kiln::instrument`
/// to count their own fuel, without fuel of their own:
/// `kiln-jit-instrumented`, `wasmtime-instrumented`.
pub fn instrumented() -> Vec<(&'static str, anyhow::Result<Box<dyn Engine>>)> {
    let wrap = |inner: anyhow::Result<Box<dyn Engine>>, name| {
        inner.map(|inner| Box::new(Instrumented::new(inner, name)) as Box<dyn Engine>)
    };
    vec![
        (
            "kiln-jit-instrumented",
            wrap(
                boxed(KilnEngine::new(::kiln::Strategy::Jit)),
                "kiln-jit-instrumented",
            ),
        ),
        (
            "wasmtime-instrumented",
            wrap(boxed(WasmtimeEngine::new()), "wasmtime-instrumented"),
        ),
    ]
}

/// The engine of [`all`], [`with_epochs`], [`with_fuel`] or
/// [`instrumented`] named `name`.
///
/// # Errors
///
/// If no engine has that name, or it cannot be created on this host.
pub fn by_name(name: &str) -> anyhow::Result<Box<dyn Engine>> {
    all()
        .into_iter()
        .chain(with_epochs())
        .chain(with_fuel())
        .chain(instrumented())
        .find(|(n, _)| *n == name)
        .ok_or_else(|| anyhow::anyhow!("unknown engine {name}"))?
        .1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_match_the_workspace_pins() {
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
        let text = std::fs::read_to_string(manifest).expect("read the root Cargo.toml");
        for (name, version) in [("wasmi", WASMI_VERSION), ("wasmtime", WASMTIME_VERSION)] {
            let pin = format!("\n{name} = {{ version = \"={version}\"");
            assert!(
                text.contains(&pin),
                "the root Cargo.toml has no `{}`",
                pin.trim()
            );
        }
    }
}
