//! [`Store`]: owns every instance, function, memory, table and global, plus the
//! embedder's host state `T`; and the context traits that let functions take
//! either a store or a host function's [`Caller`].

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};

use kiln_runtime::{InstanceAddr, Trap};

use crate::{Engine, Error};

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

/// Identifies a store, so handles from one store are refused by another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct StoreId(u64);

/// A collection of WebAssembly objects and host state of type `T`.
#[derive(Debug)]
pub struct Store<T> {
    /// The objects. On the heap, like `data`, so that a call suspended for
    /// fuel (which keeps pointers to both) survives the store being moved.
    pub(crate) rt: Box<kiln_runtime::Store>,
    pub(crate) data: Box<T>,
    pub(crate) engine: Engine,
    pub(crate) id: StoreId,
}

impl<T: 'static> Store<T> {
    /// An empty store using `engine`, holding `data` for host functions.
    pub fn new(engine: &Engine, data: T) -> Store<T> {
        let mut rt = Box::new(kiln_runtime::Store::new(engine.config().limits));
        rt.epoch = engine.epoch_state();
        rt.epoch.set_deadline(0);
        if engine.config().strategy == crate::Strategy::Tiered {
            rt.wasm_invoke = Some(crate::tiered::tiered_invoke);
        }
        Store {
            rt,
            data: Box::new(data),
            engine: engine.clone(),
            id: StoreId(NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed)),
        }
    }

    /// The host state.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The host state, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.data
    }

    /// Consumes the store, returning the host state.
    pub fn into_data(self) -> T {
        *self.data
    }

    /// The store's engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Gives the store a [`ResourceLimiter`](crate::ResourceLimiter), asked
    /// before every growth of its memories and tables (by either tier, by the
    /// host API, and at instantiation) and bounding how many instances,
    /// memories and tables it holds; it replaces any limiter set before. The
    /// engine's limits (`Config::max_memory_bytes`, ...) still apply.
    pub fn limiter(&mut self, limiter: impl crate::ResourceLimiter + 'static) {
        self.rt.limiter = kiln_runtime::Limiter(Some(Box::new(limiter)));
    }

    /// Sets the epoch deadline `ticks_beyond_current` ticks past the engine's
    /// current epoch: once [`Engine::increment_epoch`] has been called that
    /// many times more, running code stops at its next function entry or loop
    /// header (with [`Config::epoch_interruption`](crate::Config::epoch_interruption)
    /// on; otherwise the deadline is never looked at).
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        self.rt.epoch.set_deadline(ticks_beyond_current);
    }

    /// Reaching the deadline traps with `interrupt`
    /// ([`TrapCode::Interrupt`](crate::TrapCode::Interrupt)): the default,
    /// restored here after [`Store::epoch_deadline_callback`].
    pub fn epoch_deadline_trap(&mut self) {
        self.rt.epoch.callback = None;
    }

    /// Calls `callback` when running code reaches the deadline, instead of
    /// trapping. It may look at or change the store, and returns either
    /// [`UpdateDeadline::Continue`] with the next deadline, in ticks past the
    /// current epoch, to let the code run on, or an error, which ends the call
    /// into WebAssembly with it (an [`Error::Trap`] as it is, any other error
    /// as a trap with its message). It replaces any callback set before.
    pub fn epoch_deadline_callback(
        &mut self,
        mut callback: impl FnMut(StoreContextMut<'_, T>) -> Result<UpdateDeadline, Error>
        + Send
        + Sync
        + 'static,
    ) {
        let engine = self.engine.clone();
        let id = self.id;
        self.rt.epoch.callback = Some(Box::new(
            move |rt: &mut kiln_runtime::Store, data: &mut dyn Any| {
                let data = data.downcast_mut::<T>().ok_or_else(|| {
                    Trap::host("epoch deadline callback called with another store's host state")
                })?;
                let cx = StoreContextMut {
                    rt,
                    data,
                    engine: &engine,
                    id,
                };
                match callback(cx) {
                    Ok(UpdateDeadline::Continue(ticks)) => Ok(ticks),
                    Err(Error::Trap(trap)) => Err(trap),
                    Err(other) => Err(Trap::host(other.to_string())),
                }
            },
        ));
    }

    /// Sets the fuel left.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] if the engine does not meter fuel.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<(), Error> {
        self.as_context_mut().set_fuel(fuel)
    }

    /// The fuel left.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] if the engine does not meter fuel.
    pub fn get_fuel(&self) -> Result<u64, Error> {
        fuel_left(&self.engine, &self.rt)
    }

    /// What the store's GC heap and collector have done so far: collections,
    /// objects and bytes allocated and freed, the peak size and the longest
    /// pause.
    pub fn gc_stats(&self) -> kiln_runtime::gc::GcStats {
        self.rt.gc.stats()
    }
}

/// The fuel left in `rt`, if `engine` meters fuel.
fn fuel_left(engine: &Engine, rt: &kiln_runtime::Store) -> Result<u64, Error> {
    if !engine.config().consume_fuel {
        return Err(Error::Unsupported(
            "fuel is not enabled in this engine's Config".into(),
        ));
    }
    Ok(rt.fuel)
}

impl<T: 'static> StoreContextMut<'_, T> {
    /// Sets the fuel left: from a host function (through its [`Caller`]'s
    /// context) the running call goes on with it.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] if the engine does not meter fuel.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<(), Error> {
        fuel_left(self.engine, self.rt)?;
        self.rt.fuel = fuel;
        Ok(())
    }

    /// The fuel left.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] if the engine does not meter fuel.
    pub fn get_fuel(&self) -> Result<u64, Error> {
        fuel_left(self.engine, self.rt)
    }

    /// Sets the epoch deadline `ticks_beyond_current` ticks past the engine's
    /// current epoch, as [`Store::set_epoch_deadline`] does.
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        self.rt.epoch.set_deadline(ticks_beyond_current);
    }
}

impl<T: 'static> Caller<'_, T> {
    /// Sets the fuel left; the running call goes on with it.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] if the engine does not meter fuel.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<(), Error> {
        self.as_context_mut().set_fuel(fuel)
    }

    /// Sets the epoch deadline `ticks_beyond_current` ticks past the engine's
    /// current epoch, as [`Store::set_epoch_deadline`] does; the running
    /// call's next check sees it.
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        self.as_context_mut()
            .set_epoch_deadline(ticks_beyond_current);
    }
}

/// What an epoch deadline callback
/// ([`Store::epoch_deadline_callback`]) tells the running code to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateDeadline {
    /// Run on, with the next deadline this many ticks past the current epoch.
    Continue(u64),
}

/// What a host function receives: the store's host state and the calling instance.
#[derive(Debug)]
pub struct Caller<'a, T> {
    pub(crate) rt: &'a mut kiln_runtime::Store,
    pub(crate) data: &'a mut T,
    pub(crate) engine: &'a Engine,
    pub(crate) id: StoreId,
    pub(crate) instance: Option<InstanceAddr>,
}

impl<T: 'static> Caller<'_, T> {
    /// The host state.
    pub fn data(&self) -> &T {
        self.data
    }

    /// The host state, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        self.data
    }

    /// An export of the calling instance (typically its memory), if it has one by that name.
    pub fn get_export(&self, name: &str) -> Option<crate::Extern> {
        let inst = self.instance?;
        let ext = *self.rt.instances[inst.index()].exports.get(name)?;
        Some(crate::Extern::from_raw(self.id, ext))
    }

    /// Fuel left, if the engine meters fuel.
    pub fn get_fuel(&self) -> Option<u64> {
        self.engine.config().consume_fuel.then_some(self.rt.fuel)
    }
}

/// Shared access to a store, through a [`Store`] or a [`Caller`].
#[derive(Debug)]
pub struct StoreContext<'a> {
    pub(crate) rt: &'a kiln_runtime::Store,
    pub(crate) id: StoreId,
}

/// Exclusive access to a store and its host state.
#[derive(Debug)]
pub struct StoreContextMut<'a, T> {
    pub(crate) rt: &'a mut kiln_runtime::Store,
    pub(crate) data: &'a mut T,
    pub(crate) engine: &'a Engine,
    pub(crate) id: StoreId,
}

/// Things that give shared access to a store: `&Store<T>`, `&Caller<T>`, and their `&mut`.
pub trait AsContext {
    /// Borrows the store.
    fn as_context(&self) -> StoreContext<'_>;
}

/// Things that give exclusive access to a store: `&mut Store<T>`, `&mut Caller<T>`.
pub trait AsContextMut: AsContext {
    /// The host state type.
    type Data: 'static;
    /// Borrows the store mutably.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T: 'static> AsContext for Store<T> {
    fn as_context(&self) -> StoreContext<'_> {
        StoreContext {
            rt: &self.rt,
            id: self.id,
        }
    }
}

impl<T: 'static> AsContextMut for Store<T> {
    type Data = T;
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut {
            rt: &mut self.rt,
            data: &mut self.data,
            engine: &self.engine,
            id: self.id,
        }
    }
}

impl<T: 'static> AsContext for Caller<'_, T> {
    fn as_context(&self) -> StoreContext<'_> {
        StoreContext {
            rt: self.rt,
            id: self.id,
        }
    }
}

impl<T: 'static> AsContextMut for Caller<'_, T> {
    type Data = T;
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut {
            rt: self.rt,
            data: self.data,
            engine: self.engine,
            id: self.id,
        }
    }
}

impl<S: AsContext + ?Sized> AsContext for &S {
    fn as_context(&self) -> StoreContext<'_> {
        (**self).as_context()
    }
}

impl<S: AsContext + ?Sized> AsContext for &mut S {
    fn as_context(&self) -> StoreContext<'_> {
        (**self).as_context()
    }
}

impl<S: AsContextMut + ?Sized> AsContextMut for &mut S {
    type Data = S::Data;
    fn as_context_mut(&mut self) -> StoreContextMut<'_, S::Data> {
        (**self).as_context_mut()
    }
}

impl AsContext for StoreContext<'_> {
    fn as_context(&self) -> StoreContext<'_> {
        StoreContext {
            rt: self.rt,
            id: self.id,
        }
    }
}

impl<T: 'static> AsContext for StoreContextMut<'_, T> {
    fn as_context(&self) -> StoreContext<'_> {
        StoreContext {
            rt: self.rt,
            id: self.id,
        }
    }
}

impl<T: 'static> AsContextMut for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut {
            rt: self.rt,
            data: self.data,
            engine: self.engine,
            id: self.id,
        }
    }
}
