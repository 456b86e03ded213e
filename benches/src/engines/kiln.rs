//! Kiln, with `kiln-wasi` as its WASI host.

use anyhow::Context as _;
use kiln::{InstancePre, Linker, Module, Store, Strategy, Trap};
use kiln_wasi::{OutputBuffer, WasiCtx};

use super::{Compiled, Engine, Outcome};

/// Kiln with one execution strategy (interpreter, JIT or tiered).
#[derive(Debug)]
pub struct KilnEngine {
    engine: kiln::Engine,
    strategy: Strategy,
    name: &'static str,
}

/// How a benchmark engine bounds its guests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// Not at all: Kiln's default.
    None,
    /// Epoch checks, the deadline never reached.
    Epochs,
    /// Fuel, more than any run uses.
    Fuel,
}

impl KilnEngine {
    /// A Kiln engine with `strategy`.
    ///
    /// # Errors
    ///
    /// If Kiln cannot create an engine with `strategy` on this host (the JIT
    /// runs on x86-64 Linux only).
    pub fn new(strategy: Strategy) -> anyhow::Result<KilnEngine> {
        let name = match strategy {
            Strategy::Interpreter => "kiln-interp",
            Strategy::Jit => "kiln-jit",
            Strategy::Tiered => "kiln-tiered",
        };
        KilnEngine::configured(strategy, Bound::None, name)
    }

    /// A Kiln engine with `strategy` and fuel metering on, whose stores have
    /// more fuel than any run uses: what metering costs.
    ///
    /// # Errors
    ///
    /// As [`KilnEngine::new`].
    pub fn with_fuel(strategy: Strategy) -> anyhow::Result<KilnEngine> {
        let name = match strategy {
            Strategy::Interpreter => "kiln-interp-fuel",
            Strategy::Jit => "kiln-jit-fuel",
            Strategy::Tiered => "kiln-tiered-fuel",
        };
        KilnEngine::configured(strategy, Bound::Fuel, name)
    }

    /// A Kiln engine with `strategy` and epoch interruption on, whose stores'
    /// deadline is never reached: what the checks at function entries and
    /// loop headers cost.
    ///
    /// # Errors
    ///
    /// As [`KilnEngine::new`].
    pub fn with_epochs(strategy: Strategy) -> anyhow::Result<KilnEngine> {
        let name = match strategy {
            Strategy::Interpreter => "kiln-interp-epoch",
            Strategy::Jit => "kiln-jit-epoch",
            Strategy::Tiered => "kiln-tiered-epoch",
        };
        KilnEngine::configured(strategy, Bound::Epochs, name)
    }

    /// A Kiln engine with `strategy`, bounding guests as `bound` says,
    /// called `name` in reports.
    fn configured(
        strategy: Strategy,
        bound: Bound,
        name: &'static str,
    ) -> anyhow::Result<KilnEngine> {
        let mut config = kiln::Config::new();
        config
            .strategy(strategy)
            .epoch_interruption(bound == Bound::Epochs)
            .consume_fuel(bound == Bound::Fuel);
        let engine = kiln::Engine::new(&config)?;
        Ok(KilnEngine {
            engine,
            strategy,
            name,
        })
    }
}

impl Engine for KilnEngine {
    fn name(&self) -> &'static str {
        self.name
    }

    fn compile(&self, wasm: &[u8]) -> anyhow::Result<Box<dyn Compiled>> {
        self.prepare(Module::new(&self.engine, wasm)?)
    }

    fn serialize(&self, wasm: &[u8]) -> Option<anyhow::Result<Vec<u8>>> {
        (self.strategy == Strategy::Jit).then(|| Ok(Module::new(&self.engine, wasm)?.serialize()?))
    }

    #[allow(unsafe_code)]
    fn load(&self, saved: &[u8]) -> anyhow::Result<Box<dyn Compiled>> {
        // SAFETY: the report loads only what `serialize` just saved.
        self.prepare(unsafe { Module::deserialize(&self.engine, saved) }?)
    }
}

impl KilnEngine {
    /// `module` with a linker holding the WASI functions, pre-linked.
    fn prepare(&self, module: Module) -> anyhow::Result<Box<dyn Compiled>> {
        let mut linker = Linker::new(&self.engine);
        kiln_wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
        let pre = linker.instantiate_pre(&module)?;
        Ok(Box::new(KilnModule {
            module,
            linker,
            pre,
        }))
    }
}

/// A compiled Kiln module, the linker holding the WASI functions, and the
/// module pre-linked with them.
struct KilnModule {
    module: Module,
    linker: Linker<WasiCtx>,
    pre: InstancePre<WasiCtx>,
}

/// A fresh instance, ready to run.
struct Started {
    store: Store<WasiCtx>,
    start: kiln::TypedFunc<(), ()>,
    stdout: OutputBuffer,
    stderr: OutputBuffer,
}

impl KilnModule {
    /// Instantiates the module in a store whose context has `args` and
    /// captures both output streams, and looks up `_start`.
    fn start(&self, args: Vec<String>) -> anyhow::Result<Started> {
        self.start_with(args, false)
    }

    /// [`KilnModule::start`], through the `InstancePre` if `pre`.
    fn start_with(&self, args: Vec<String>, pre: bool) -> anyhow::Result<Started> {
        let (stdout, stderr) = (OutputBuffer::new(), OutputBuffer::new());
        let ctx = WasiCtx::builder()
            .args(args)
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .build()?;
        let mut store = Store::new(self.module.engine(), ctx);
        // Without epoch interruption the deadline is never read, and without
        // metering the fuel.
        store.set_epoch_deadline(u64::MAX);
        if store.get_fuel().is_ok() {
            store.set_fuel(u64::MAX)?;
        }
        let instance = if pre {
            self.pre.instantiate(&mut store)?
        } else {
            self.linker.instantiate(&mut store, &self.module)?
        };
        let start = instance.get_typed_func::<(), ()>(&store, "_start")?;
        Ok(Started {
            store,
            start,
            stdout,
            stderr,
        })
    }
}

impl Compiled for KilnModule {
    fn instantiate(&self) -> anyhow::Result<()> {
        self.start(Vec::new()).map(drop)
    }

    fn instantiate_pre(&self) -> Option<anyhow::Result<()>> {
        Some(self.start_with(Vec::new(), true).map(drop))
    }

    fn run(&self, program: &str, args: &[String]) -> anyhow::Result<Outcome> {
        let argv = std::iter::once(program.to_owned()).chain(args.iter().cloned());
        let mut started = self.start(argv.collect())?;
        let status = match started.start.call(&mut started.store, ()) {
            Ok(()) => 0,
            Err(e) => match e.trap().and_then(Trap::exit_status) {
                Some(status) => status,
                None => return Err(e).context("the program trapped"),
            },
        };
        Ok(Outcome {
            status,
            stdout: started.stdout.contents(),
            stderr: started.stderr.contents(),
        })
    }
}
