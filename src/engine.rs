//! [`Engine`] and [`Config`]: how modules are compiled and run.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use kiln_parser::Features;
use kiln_runtime::{MemoryConfig, StoreLimits};

/// Which execution tier runs the code.
///
/// The default is the JIT where Kiln has one ([`Strategy::JIT_AVAILABLE`]),
/// and the interpreter elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Kiln's interpreter (translates each function to register bytecode on first call).
    Interpreter,
    /// Kiln's Cranelift JIT (compiles every function to native code when the module
    /// is created; x86-64 Linux).
    Jit,
    /// Both tiers: a module starts on the interpreter at once while Cranelift
    /// compiles it on a background thread, and every call that starts after
    /// that compile has finished runs native code, from the host or from
    /// interpreted code (`Module::wait_native` waits for it). A module whose
    /// compile fails stays on the interpreter. Results, traps, fuel and the
    /// call-depth limit are the same whichever tier runs a call. x86-64 Linux,
    /// like the JIT.
    Tiered,
}

impl Strategy {
    /// Whether this build has the JIT: on x86-64 Linux. Elsewhere an
    /// [`Engine`] with [`Strategy::Jit`] is refused.
    pub const JIT_AVAILABLE: bool = cfg!(all(target_arch = "x86_64", target_os = "linux"));
}

impl Default for Strategy {
    fn default() -> Strategy {
        if Strategy::JIT_AVAILABLE {
            Strategy::Jit
        } else {
            Strategy::Interpreter
        }
    }
}

/// Settings of an [`Engine`]. Every setter returns `&mut Self` for chaining.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub(crate) strategy: Strategy,
    pub(crate) features: Features,
    pub(crate) consume_fuel: bool,
    pub(crate) epoch_interruption: bool,
    pub(crate) nan_canonicalization: bool,
    pub(crate) limits: StoreLimits,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            strategy: Strategy::default(),
            features: Features::ALL,
            consume_fuel: false,
            epoch_interruption: false,
            nan_canonicalization: false,
            limits: StoreLimits::default(),
        }
    }
}

impl Config {
    /// What the tiers are told when they compile a module for this configuration.
    pub(crate) fn compile_options(&self) -> kiln_runtime::CompileOptions {
        kiln_runtime::CompileOptions {
            fuel: self.consume_fuel,
            epoch_interruption: self.epoch_interruption,
            canonicalize_nans: self.nan_canonicalization,
            memory_guard: self.limits.memory.guard,
        }
    }

    /// The default configuration: the default [`Strategy`] (the JIT where
    /// Kiln has one), all supported features, no fuel.
    pub fn new() -> Config {
        Config::default()
    }

    /// Selects the execution tier.
    pub fn strategy(&mut self, strategy: Strategy) -> &mut Self {
        self.strategy = strategy;
        self
    }

    /// Selects the WebAssembly proposals accepted beyond 2.0.
    pub fn features(&mut self, features: Features) -> &mut Self {
        self.features = features;
        self
    }

    /// Meters execution with fuel (see `kiln_runtime::fuel` for the cost model).
    ///
    /// Stores start with no fuel: give them some with [`Store::set_fuel`](crate::Store::set_fuel).
    pub fn consume_fuel(&mut self, on: bool) -> &mut Self {
        self.consume_fuel = on;
        self
    }

    /// Checks the engine's epoch against the store's deadline at every
    /// function entry and loop header, on either tier (default off).
    ///
    /// Another thread stops a running guest by advancing the epoch past the
    /// deadline with [`Engine::increment_epoch`]: the guest then traps with
    /// `interrupt` ([`TrapCode::Interrupt`](crate::TrapCode::Interrupt)), or
    /// the store's deadline callback decides
    /// ([`Store::epoch_deadline_callback`](crate::Store::epoch_deadline_callback)).
    /// A store's deadline starts at the current epoch, already reached: give
    /// it one with [`Store::set_epoch_deadline`](crate::Store::set_epoch_deadline)
    /// before calling into it.
    ///
    /// Off, no check is compiled and nothing costs anything. Checks consume no
    /// fuel. Epochs follow the wall clock, so deterministic execution (the
    /// peer node's) leaves them off.
    ///
    /// ```
    /// use kiln::{Config, Engine, Linker, Module, Store, TrapCode};
    ///
    /// let engine = Engine::new(Config::new().epoch_interruption(true))?;
    /// let module = Module::new(&engine, r#"(module (func (export "spin") (loop br 0)))"#)?;
    /// let mut store = Store::new(&engine, ());
    /// let spin = Linker::new(&engine)
    ///     .instantiate(&mut store, &module)?
    ///     .get_typed_func::<(), ()>(&store, "spin")?;
    /// store.set_epoch_deadline(1);
    /// let ticker = engine.clone();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_millis(50));
    ///     ticker.increment_epoch();
    /// });
    /// let err = spin.call(&mut store, ()).unwrap_err();
    /// assert_eq!(err.trap().and_then(|t| t.code()), Some(TrapCode::Interrupt));
    /// # Ok::<(), kiln::Error>(())
    /// ```
    pub fn epoch_interruption(&mut self, on: bool) -> &mut Self {
        self.epoch_interruption = on;
        self
    }

    /// Replaces every NaN a float operation produces by the canonical NaN, so results are
    /// deterministic across machines and tiers.
    pub fn nan_canonicalization(&mut self, on: bool) -> &mut Self {
        self.nan_canonicalization = on;
        self
    }

    /// Deepest WebAssembly call nesting before `call stack exhausted` (default 10,000).
    pub fn max_call_depth(&mut self, depth: u32) -> &mut Self {
        self.limits.max_call_depth = depth;
        self
    }

    /// Largest size in bytes any one linear memory, 32-bit or 64-bit, may reach:
    /// a module declaring a larger minimum fails to instantiate, and growth past
    /// it fails (`memory.grow` gives -1). A memory without guard regions (every
    /// 64-bit one) reserves address space up to this size, its declared maximum
    /// if smaller, so a large limit costs address space, not memory.
    ///
    /// By default there is no such limit: a 32-bit memory may reach the 4 GiB its
    /// addresses cover, and a 64-bit memory may start as large as the host can
    /// reserve and grow 64 GiB past its initial size
    /// (`kiln_runtime::memory::MEMORY64_GROWTH_ROOM`), within its declared
    /// maximum. Memories never move, so a memory cannot grow past what it
    /// reserved when it was created.
    pub fn max_memory_bytes(&mut self, bytes: u64) -> &mut Self {
        self.limits.memory.max_bytes = Some(bytes);
        self
    }

    /// Largest number of elements any table may reach (default 10,000,000).
    pub fn max_table_elements(&mut self, elements: u64) -> &mut Self {
        self.limits.max_table_elements = elements;
        self
    }

    /// Largest total size of the exceptions a store keeps (default 256 MiB;
    /// each counts 32 bytes and 16 per payload value): a `throw` past it
    /// traps with `exception storage exhausted`. An exception caught by
    /// `catch` or `catch_all` is not kept (the next `throw` reuses its
    /// place); one caught by `catch_ref` or `catch_all_ref`, made by the
    /// host, or returned to the host is kept as long as the store, since
    /// Kiln has no collector yet.
    pub fn max_exception_bytes(&mut self, bytes: u64) -> &mut Self {
        self.limits.max_exception_bytes = bytes;
        self
    }

    /// Largest size, in bytes, of a store's GC heap (its objects, 16 bytes
    /// each and their data). An allocation that does not fit, even after a
    /// collection, traps with `out of GC heap memory`; whether it fits
    /// depends only on what is reachable then (where a collection may run:
    /// not during instantiation, an epoch callback or a suspended resumable
    /// call, nor under the tiered strategy). Default 1 GiB.
    pub fn max_gc_heap_bytes(&mut self, bytes: u64) -> &mut Self {
        self.limits.max_gc_heap_bytes = bytes;
        self
    }

    /// Reserve guard regions for 32-bit memories (default on) so compiled code can omit
    /// bounds checks; off, every memory reserves only its maximum size.
    pub fn memory_guard(&mut self, on: bool) -> &mut Self {
        self.limits.memory = MemoryConfig {
            guard: on,
            ..self.limits.memory
        };
        self
    }
}

/// A compilation and execution environment; cheap to clone and share between threads.
#[derive(Debug, Clone)]
pub struct Engine {
    config: Arc<Config>,
    /// The epoch counter, shared by every clone and every store of the engine.
    epoch: kiln_runtime::epoch::EpochCounter,
    /// The stores' running JIT entries that check epochs, poked as the epoch
    /// advances.
    watchers: Arc<kiln_runtime::epoch::Watchers>,
}

impl Default for Engine {
    fn default() -> Engine {
        Engine::with_config(Config::default())
    }
}

impl Engine {
    /// An engine with `config`.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`](crate::Error::Unsupported) if the configuration asks for
    /// something Kiln cannot do on this host (the JIT off x86-64 Linux).
    pub fn new(config: &Config) -> Result<Engine, crate::Error> {
        if config.strategy != Strategy::Interpreter && !Strategy::JIT_AVAILABLE {
            return Err(crate::Error::Unsupported(
                "the JIT runs on x86-64 Linux only; use the interpreter".into(),
            ));
        }
        Ok(Engine::with_config(config.clone()))
    }

    fn with_config(config: Config) -> Engine {
        Engine {
            config: Arc::new(config),
            epoch: Arc::default(),
            watchers: Arc::default(),
        }
    }

    /// Advances the engine's epoch by one tick. Safe to call from any thread,
    /// even while a store of the engine runs; with
    /// [`Config::epoch_interruption`] on, code running past its store's
    /// deadline stops at its next function entry or loop header.
    pub fn increment_epoch(&self) {
        let now = self.epoch.fetch_add(1, Ordering::Relaxed) + 1;
        self.watchers.poke(now);
    }

    /// The engine's counter and watchers, for a new store.
    pub(crate) fn epoch_state(&self) -> kiln_runtime::epoch::EpochState {
        kiln_runtime::epoch::EpochState::new(Arc::clone(&self.epoch), Arc::clone(&self.watchers))
    }

    /// The engine's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether two handles are the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.config, &b.config)
    }
}
