//! A Kiln instance of a `benches/wat/` workload, ready to call; shared by the
//! `interp` and `jit` benches (included with `#[path]`, since the library's
//! Kiln dependency is behind the `engines` feature and `interp` builds
//! without it).

/// A Kiln instance of a workload, ready to call.
pub struct KilnRun {
    store: kiln::Store<()>,
    run: kiln::TypedFunc<i32, i64>,
}

impl KilnRun {
    /// Compiles and instantiates `wasm` on an engine with `strategy`.
    pub fn new(wasm: &[u8], strategy: kiln::Strategy) -> anyhow::Result<KilnRun> {
        let engine = kiln::Engine::new(kiln::Config::new().strategy(strategy))?;
        let module = kiln::Module::new(&engine, wasm)?;
        let mut store = kiln::Store::new(&engine, ());
        let instance = kiln::Instance::new(&mut store, &module, &[])?;
        let run = instance.get_typed_func::<i32, i64>(&store, "run")?;
        Ok(KilnRun { store, run })
    }

    /// Calls `run(size)`, returning the workload's checksum.
    pub fn call(&mut self, size: i32) -> anyhow::Result<i64> {
        Ok(self.run.call(&mut self.store, size)?)
    }
}
