//! wasmtime with Cranelift, in wasmtime's default configuration (optimising
//! for speed, compiling functions in parallel), given the WASI imports the
//! programs use by [`MiniWasi`] rather than `wasmtime-wasi` (see the root
//! `Cargo.toml` for why).

use anyhow::Context as _;
use wasmtime::{Caller, Extern, InstancePre, Linker, Module, Store, TypedFunc};

use super::mini_wasi::{self, Errno, MiniWasi, ProcExit};
use super::{Compiled, Engine, Outcome};

/// wasmtime's default engine.
#[derive(Debug, Clone)]
pub struct WasmtimeEngine {
    engine: wasmtime::Engine,
}

impl WasmtimeEngine {
    /// wasmtime with its default [`wasmtime::Config`].
    ///
    /// # Errors
    ///
    /// If wasmtime cannot create an engine for this host.
    pub fn new() -> anyhow::Result<WasmtimeEngine> {
        let engine = wasmtime::Engine::new(&wasmtime::Config::new())?;
        Ok(WasmtimeEngine { engine })
    }
}

impl Engine for WasmtimeEngine {
    fn name(&self) -> &'static str {
        "wasmtime"
    }

    fn compile(&self, wasm: &[u8]) -> anyhow::Result<Box<dyn Compiled>> {
        self.prepare(Module::new(&self.engine, wasm)?)
    }

    fn serialize(&self, wasm: &[u8]) -> Option<anyhow::Result<Vec<u8>>> {
        Some(
            Module::new(&self.engine, wasm)
                .and_then(|m| m.serialize())
                .map_err(anyhow::Error::from),
        )
    }

    #[allow(unsafe_code)]
    fn load(&self, saved: &[u8]) -> anyhow::Result<Box<dyn Compiled>> {
        // SAFETY: the report loads only what `serialize` just saved, with the
        // same engine.
        self.prepare(unsafe { Module::deserialize(&self.engine, saved) }?)
    }
}

impl WasmtimeEngine {
    /// `module` with a linker holding the WASI functions, pre-linked.
    fn prepare(&self, module: Module) -> anyhow::Result<Box<dyn Compiled>> {
        let mut linker = Linker::new(&self.engine);
        define_wasi(&mut linker)?;
        // Imports MiniWasi lacks link, and trap if called.
        linker.define_unknown_imports_as_traps(&module)?;
        let pre = linker.instantiate_pre(&module)?;
        Ok(Box::new(WasmtimeModule {
            module,
            linker,
            pre,
        }))
    }
}

/// The guest's exported memory, which every WASI call with a pointer uses.
fn memory(caller: &mut Caller<'_, MiniWasi>) -> Option<wasmtime::Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Some(memory),
        _ => None,
    }
}

/// Defines a `wasi_snapshot_preview1` function with `i32` pointer and fd
/// parameters that returns an errno: `$name` is the import name, `$method`
/// the [`MiniWasi`] method it calls with the guest memory and the
/// parameters. Expands to one `Linker::func_wrap` call.
macro_rules! define {
    ($linker:expr, $name:literal, $method:ident($($arg:ident: $ty:ty),*)) => {
        $linker.func_wrap(
            mini_wasi::MODULE,
            $name,
            |mut caller: Caller<'_, MiniWasi>, $($arg: $ty),*| -> i32 {
                let Some(memory) = memory(&mut caller) else {
                    return Errno::Fault as i32;
                };
                let (bytes, wasi) = memory.data_and_store_mut(&mut caller);
                wasi.$method(bytes, $($arg),*) as i32
            },
        )?
    };
}

/// Defines [`MiniWasi`]'s functions in `linker`.
fn define_wasi(linker: &mut Linker<MiniWasi>) -> anyhow::Result<()> {
    define!(linker, "args_sizes_get", args_sizes_get(count: i32, size: i32));
    define!(linker, "args_get", args_get(argv: i32, buf: i32));
    define!(linker, "environ_sizes_get", environ_sizes_get(count: i32, size: i32));
    define!(linker, "environ_get", environ_get(environ: i32, buf: i32));
    define!(linker, "fd_write", fd_write(fd: i32, iovs: i32, iovs_len: i32, written: i32));
    define!(linker, "fd_fdstat_get", fd_fdstat_get(fd: i32, stat: i32));
    define!(linker, "fd_seek", fd_seek(fd: i32, offset: i64, whence: i32, to: i32));
    define!(linker, "fd_close", fd_close(fd: i32));
    define!(linker, "fd_prestat_get", fd_prestat_get(fd: i32, prestat: i32));
    define!(linker, "clock_time_get", clock_time_get(id: i32, precision: i64, time: i32));
    linker.func_wrap(
        mini_wasi::MODULE,
        "proc_exit",
        |status: i32| -> wasmtime::Result<()> { Err(wasmtime::Error::new(ProcExit(status))) },
    )?;
    Ok(())
}

struct WasmtimeModule {
    module: Module,
    linker: Linker<MiniWasi>,
    /// The module pre-linked with the WASI functions.
    pre: InstancePre<MiniWasi>,
}

impl WasmtimeModule {
    fn start(&self, args: Vec<String>) -> anyhow::Result<(Store<MiniWasi>, TypedFunc<(), ()>)> {
        let mut store = Store::new(self.module.engine(), MiniWasi::new(args));
        let instance = self.linker.instantiate(&mut store, &self.module)?;
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        Ok((store, start))
    }
}

impl Compiled for WasmtimeModule {
    fn instantiate(&self) -> anyhow::Result<()> {
        self.start(Vec::new()).map(drop)
    }

    fn instantiate_pre(&self) -> Option<anyhow::Result<()>> {
        let mut store = Store::new(self.module.engine(), MiniWasi::new(Vec::new()));
        let instantiated = self.pre.instantiate(&mut store).and_then(|instance| {
            instance.get_typed_func::<(), ()>(&mut store, "_start")?;
            Ok(())
        });
        Some(instantiated.map_err(anyhow::Error::from))
    }

    fn run(&self, program: &str, args: &[String]) -> anyhow::Result<Outcome> {
        let argv = std::iter::once(program.to_owned()).chain(args.iter().cloned());
        let (mut store, start) = self.start(argv.collect())?;
        let status = match start.call(&mut store, ()) {
            Ok(()) => 0,
            Err(e) => match e.downcast_ref::<ProcExit>() {
                Some(&ProcExit(status)) => status,
                None => return Err(anyhow::Error::from(e)).context("the program trapped"),
            },
        };
        let wasi = store.into_data();
        Ok(Outcome {
            status,
            stdout: wasi.stdout,
            stderr: wasi.stderr,
        })
    }
}
