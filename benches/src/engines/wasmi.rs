//! wasmi with `wasmi_wasi` (wasi-common's synchronous preview1 host), in
//! wasmi's default configuration: lazy translation, validation on.

use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use wasmi::{Linker, Module, Store, TypedFunc};
use wasmi_wasi::wasi_common::pipe::WritePipe;
use wasmi_wasi::{WasiCtx, WasiCtxBuilder};

use super::{Compiled, Engine, Outcome};

/// wasmi's default engine.
#[derive(Debug, Default)]
pub struct WasmiEngine {
    engine: wasmi::Engine,
}

impl WasmiEngine {
    /// wasmi with its default [`wasmi::Config`].
    pub fn new() -> WasmiEngine {
        WasmiEngine::default()
    }
}

impl Engine for WasmiEngine {
    fn name(&self) -> &'static str {
        "wasmi"
    }

    fn compile(&self, wasm: &[u8]) -> anyhow::Result<Box<dyn Compiled>> {
        let module = Module::new(&self.engine, wasm)?;
        let mut linker = Linker::new(&self.engine);
        wasmi_wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
        Ok(Box::new(WasmiModule {
            engine: self.engine.clone(),
            module,
            linker,
        }))
    }
}

struct WasmiModule {
    engine: wasmi::Engine,
    module: Module,
    linker: Linker<WasiCtx>,
}

/// A stream captured in memory, shared with the WASI context.
type Captured = Arc<RwLock<Vec<u8>>>;

fn take(captured: &Captured) -> Vec<u8> {
    // A poisoned lock still holds everything written before the panic.
    let mut bytes = captured.write().unwrap_or_else(|e| e.into_inner());
    std::mem::take(&mut *bytes)
}

/// A fresh instance, ready to run.
struct Started {
    store: Store<WasiCtx>,
    start: TypedFunc<(), ()>,
    stdout: Captured,
    stderr: Captured,
}

impl WasmiModule {
    /// Instantiates the module in a store whose context has `args` and
    /// captures both output streams, and looks up `_start`.
    fn start(&self, args: &[String]) -> anyhow::Result<Started> {
        let (stdout, stderr) = (Captured::default(), Captured::default());
        let ctx = WasiCtxBuilder::new()
            .args(args)?
            .stdout(Box::new(WritePipe::from_shared(stdout.clone())))
            .stderr(Box::new(WritePipe::from_shared(stderr.clone())))
            .build();
        let mut store = Store::new(&self.engine, ctx);
        let instance = self
            .linker
            .instantiate_and_start(&mut store, &self.module)?;
        let start = instance.get_typed_func::<(), ()>(&store, "_start")?;
        Ok(Started {
            store,
            start,
            stdout,
            stderr,
        })
    }
}

impl Compiled for WasmiModule {
    fn instantiate(&self) -> anyhow::Result<()> {
        self.start(&[]).map(drop)
    }

    fn run(&self, program: &str, args: &[String]) -> anyhow::Result<Outcome> {
        let mut argv = vec![program.to_owned()];
        argv.extend_from_slice(args);
        let Started {
            mut store,
            start,
            stdout,
            stderr,
        } = self.start(&argv)?;
        let status = match start.call(&mut store, ()) {
            Ok(()) => 0,
            Err(e) => match e.i32_exit_status() {
                Some(status) => status,
                None => return Err(e).context("the program trapped"),
            },
        };
        // The context holds the pipes' other ends.
        drop(store);
        Ok(Outcome {
            status,
            stdout: take(&stdout),
            stderr: take(&stderr),
        })
    }
}
