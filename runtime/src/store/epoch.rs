//! Epoch interruption: a way for the host to stop a running guest from
//! another thread, at a cost of a load and a compare at each check.
//!
//! An engine owns one epoch counter ([`EpochCounter`]), which any thread may
//! advance. Each store keeps a deadline, an epoch value: compiled code (and
//! the interpreter's `Epoch` op) compares the counter with the deadline at
//! every function entry and every loop header, and when the counter has
//! reached it, calls [`deadline_reached`] out of line. That runs the store's
//! deadline callback, which may set a new deadline or fail the call; without
//! one, the call traps with `interrupt` ([`TrapCode::Interrupt`]).
//!
//! The JIT does not read the counter at each check: an engine keeps a list
//! of the JIT entries running with epoch checks ([`Watchers`]), and
//! [`Watchers::poke`], called as the epoch advances, sets the stack limit
//! of every entry whose deadline it reached to [`POKED`] and makes its
//! store's poll page ([`PollPage`]) inaccessible. Compiled code compares its
//! stack pointer with that limit at the entry of every function that calls
//! anything anyway, so the epoch check there costs nothing more (the slow
//! path tells a poke from a real stack overflow); a loop header reads one
//! byte of the poll page, which faults once it is poked (the JIT's signal
//! handler then runs the slow path and the read again).
//!
//! The check is emitted only when the module was compiled with
//! `CompileOptions::epoch_interruption`; without it, neither tier emits
//! anything, and the counter is never read. Epoch checks cost no fuel
//! (see [`crate::fuel`]): they are not WebAssembly instructions, and the
//! fuel a program consumes must not depend on whether epochs are on.

use std::any::Any;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::Store;
use crate::trap::{Trap, TrapCode};

/// An engine's epoch counter, shared by every clone of the engine and every
/// store it made.
pub type EpochCounter = Arc<AtomicU64>;

/// A store's deadline callback: called with the store and the embedder's
/// host state when the deadline is reached, it returns how many ticks past
/// the current epoch the new deadline lies, or the trap that ends the call.
pub type DeadlineCallback =
    dyn FnMut(&mut Store, &mut dyn Any) -> Result<u64, Trap> + Send + Sync + 'static;

/// A page of memory a store's compiled loops read at every loop header: made
/// inaccessible by [`Watchers::poke`], so that the read faults, and
/// readable again by the slow path ([`PollPage::rearm`]). Shared by the store
/// and the watchers of its entries, and unmapped when the last goes.
#[derive(Debug)]
pub struct PollPage {
    addr: usize,
}

impl PollPage {
    fn new() -> rustix::io::Result<PollPage> {
        // SAFETY: a fresh private anonymous page, at an address of the kernel's
        // choosing; nothing else refers to it.
        let addr = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                rustix::param::page_size(),
                rustix::mm::ProtFlags::READ,
                rustix::mm::MapFlags::PRIVATE,
            )?
        };
        Ok(PollPage {
            addr: addr as usize,
        })
    }

    /// The page's address, which compiled code reads.
    pub fn addr(&self) -> *const u8 {
        self.addr as *const u8
    }

    /// Makes the page readable (after a poke).
    pub fn rearm(&self) {
        self.protect(rustix::mm::MprotectFlags::READ);
    }

    /// Makes the page inaccessible: the next read faults.
    pub fn poke(&self) {
        self.protect(rustix::mm::MprotectFlags::empty());
    }

    fn protect(&self, flags: rustix::mm::MprotectFlags) {
        // SAFETY: the page is this value's own mapping, alive as long as it is;
        // changing its protection affects nothing else. (It cannot fail for a
        // mapped page with these flags.)
        let _ = unsafe {
            rustix::mm::mprotect(
                self.addr as *mut std::ffi::c_void,
                rustix::param::page_size(),
                flags,
            )
        };
    }
}

impl Drop for PollPage {
    fn drop(&mut self) {
        // SAFETY: the page is this value's own mapping, and no compiled code runs
        // with it any more (the store and every watcher holding it are gone).
        let _ = unsafe {
            rustix::mm::munmap(
                self.addr as *mut std::ffi::c_void,
                rustix::param::page_size(),
            )
        };
    }
}

/// What a store knows of epochs.
pub struct EpochState {
    /// The engine's counter.
    pub counter: EpochCounter,
    /// The engine's running JIT entries that check epochs.
    pub watchers: Arc<Watchers>,
    /// The epoch at which running code stops (traps or calls `callback`).
    /// Starts at 0, already reached: a store must be given a deadline before
    /// it runs code compiled with epoch checks. Shared with [`Watchers`],
    /// which read it from the thread that advances the epoch.
    deadline: Arc<AtomicU64>,
    /// What to do when the deadline is reached; `None` traps with `interrupt`.
    pub callback: Option<Box<DeadlineCallback>>,
    /// The store's poll page, made on first use ([`EpochState::poll_page`]).
    poll_page: Option<Arc<PollPage>>,
}

impl Default for EpochState {
    fn default() -> EpochState {
        EpochState {
            counter: Arc::new(AtomicU64::new(0)),
            watchers: Arc::default(),
            deadline: Arc::new(AtomicU64::new(0)),
            callback: None,
            poll_page: None,
        }
    }
}

impl std::fmt::Debug for EpochState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochState")
            .field("epoch", &self.current())
            .field("deadline", &self.deadline())
            .field("callback", &self.callback.is_some())
            .finish()
    }
}

impl EpochState {
    /// A store's state for an engine's `counter` and `watchers`, with the
    /// deadline at 0 and no callback.
    pub fn new(counter: EpochCounter, watchers: Arc<Watchers>) -> EpochState {
        EpochState {
            counter,
            watchers,
            ..EpochState::default()
        }
    }

    /// The engine's current epoch.
    pub fn current(&self) -> u64 {
        self.counter.load(Ordering::Relaxed)
    }

    /// The epoch at which running code stops.
    pub fn deadline(&self) -> u64 {
        self.deadline.load(Ordering::Relaxed)
    }

    /// Whether the current epoch has reached the deadline.
    pub fn reached(&self) -> bool {
        self.current() >= self.deadline()
    }

    /// The store's poll page (see [`PollPage`]), made if needed.
    ///
    /// # Errors
    ///
    /// The system's, if a page cannot be mapped.
    pub fn poll_page(&mut self) -> rustix::io::Result<Arc<PollPage>> {
        if let Some(page) = &self.poll_page {
            return Ok(Arc::clone(page));
        }
        let page = Arc::new(PollPage::new()?);
        self.poll_page = Some(Arc::clone(&page));
        Ok(page)
    }

    /// Sets the deadline `ticks` past the current epoch.
    pub fn set_deadline(&mut self, ticks: u64) {
        self.deadline
            .store(self.current().saturating_add(ticks), Ordering::Relaxed);
    }
}

/// The stack limit [`Watchers::poke`] gives an entry whose deadline was
/// reached: no stack pointer is above it, so the entry's next check (at a
/// function entry or loop header) takes its slow path.
pub const POKED: usize = usize::MAX;

/// The JIT entries of an engine's stores that run code with epoch checks,
/// each by its stack-limit word; [`Watchers::poke`] sets the words of those
/// whose deadline the epoch reached to [`POKED`].
#[derive(Debug, Default)]
pub struct Watchers {
    list: Mutex<Vec<Watcher>>,
    next_id: AtomicU64,
}

/// One entry in [`Watchers`].
#[derive(Debug)]
struct Watcher {
    id: u64,
    /// The entry's stack-limit word.
    slot: *const AtomicUsize,
    /// Its store's poll page.
    page: Arc<PollPage>,
    /// Its store's deadline.
    deadline: Arc<AtomicU64>,
}

// SAFETY: `slot` points at an atomic word that stays valid while the watcher
// is listed (the contract of `Watchers::watch`); it is only read and written
// atomically, from any thread.
unsafe impl Send for Watcher {}

impl Watchers {
    /// Pokes every listed entry whose deadline epoch `now` has reached: its
    /// stack limit and its store's poll page.
    pub fn poke(&self, now: u64) {
        let list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        for w in list.iter() {
            if now >= w.deadline.load(Ordering::Relaxed) {
                // SAFETY: listed, so valid (see `watch`).
                unsafe { (*w.slot).store(POKED, Ordering::Relaxed) };
                w.page.poke();
            }
        }
    }

    /// Lists the entry whose stack-limit word is `slot`, running with the
    /// deadline and poll page of `epoch`, until the guard is dropped; pokes it
    /// at once if the deadline is reached already.
    ///
    /// # Safety
    ///
    /// `slot` must stay valid until the guard is dropped (for ever if the
    /// guard is leaked).
    pub unsafe fn watch(
        self: &Arc<Self>,
        slot: &AtomicUsize,
        page: &Arc<PollPage>,
        epoch: &EpochState,
    ) -> WatchGuard {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.list
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Watcher {
                id,
                slot,
                page: Arc::clone(page),
                deadline: Arc::clone(&epoch.deadline),
            });
        // An advance made before the entry was listed poked nothing: look now
        // (one made after it was listed pokes it).
        if epoch.reached() {
            slot.store(POKED, Ordering::Relaxed);
            page.poke();
        }
        WatchGuard {
            watchers: Arc::clone(self),
            id,
        }
    }
}

/// Keeps an entry listed in [`Watchers`]; dropping it removes it.
#[derive(Debug)]
pub struct WatchGuard {
    watchers: Arc<Watchers>,
    id: u64,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        let mut list = self
            .watchers
            .list
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        list.retain(|w| w.id != self.id);
    }
}

/// The slow path of an epoch check, run when the counter was seen to have
/// reached the store's deadline: runs the deadline callback, which sets the
/// next deadline, or traps with `interrupt` if the store has none.
///
/// If the counter turns out to be below the deadline after all (the
/// deadline moved since the caller read it), this does nothing.
///
/// # Errors
///
/// [`TrapCode::Interrupt`] without a callback, or the callback's trap. An
/// exception the callback returns is turned into a plain trap: an
/// interruption is never caught by WebAssembly's `try_table`.
pub fn deadline_reached(store: &mut Store, data: &mut dyn Any) -> Result<(), Trap> {
    if !store.epoch.reached() {
        return Ok(());
    }
    let Some(mut callback) = store.epoch.callback.take() else {
        return Err(TrapCode::Interrupt.into());
    };
    // The interrupted frames (an epoch check is no GC safepoint) are out of
    // the store's sight while the callback may call in.
    store.gc_no_collect += 1;
    let outcome = callback(store, data);
    store.gc_no_collect -= 1;
    // The callback may have installed another one (through the store); keep that.
    if store.epoch.callback.is_none() {
        store.epoch.callback = Some(callback);
    }
    match outcome {
        Ok(ticks) => {
            store.epoch.set_deadline(ticks);
            Ok(())
        }
        Err(trap) if trap.as_exception().is_some() => Err(Trap::host(
            "the epoch deadline callback returned an exception",
        )),
        Err(trap) => Err(trap),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreLimits;

    #[test]
    fn no_callback_traps_with_interrupt() {
        let mut store = Store::new(StoreLimits::default());
        let err = deadline_reached(&mut store, &mut ()).expect_err("must trap");
        assert_eq!(err.code(), Some(TrapCode::Interrupt));
        assert_eq!(err.to_string(), "interrupt");
    }

    #[test]
    fn a_deadline_not_reached_does_nothing() {
        let mut store = Store::new(StoreLimits::default());
        store.epoch.set_deadline(1);
        assert_eq!(deadline_reached(&mut store, &mut ()), Ok(()));
    }

    #[test]
    fn the_callback_sets_the_next_deadline_and_stays() {
        let mut store = Store::new(StoreLimits::default());
        store.epoch.counter.store(5, Ordering::Relaxed);
        let mut calls = 0;
        store.epoch.callback = Some(Box::new(move |_, _| {
            calls += 1;
            if calls < 3 {
                Ok(2)
            } else {
                Err(Trap::host("enough"))
            }
        }));
        assert_eq!(deadline_reached(&mut store, &mut ()), Ok(()));
        assert_eq!(store.epoch.deadline(), 7);
        store.epoch.counter.store(7, Ordering::Relaxed);
        assert_eq!(deadline_reached(&mut store, &mut ()), Ok(()));
        assert_eq!(store.epoch.deadline(), 9);
        store.epoch.counter.store(9, Ordering::Relaxed);
        let err = deadline_reached(&mut store, &mut ()).expect_err("third call fails");
        assert_eq!(err.to_string(), "enough");
        assert!(store.epoch.callback.is_some());
    }

    #[test]
    fn watchers_poke_the_entries_whose_deadline_is_reached_while_listed() {
        let watchers = Arc::new(Watchers::default());
        let counter: EpochCounter = Arc::default();
        let mut early = EpochState::new(Arc::clone(&counter), Arc::clone(&watchers));
        let mut late = EpochState::new(Arc::clone(&counter), Arc::clone(&watchers));
        early.set_deadline(1);
        late.set_deadline(5);
        let (a, b) = (AtomicUsize::new(100), AtomicUsize::new(200));
        let page = early.poll_page().expect("a page");
        // SAFETY: both words outlive the guards, dropped below.
        let (ga, gb) = unsafe {
            (
                watchers.watch(&a, &page, &early),
                watchers.watch(&b, &page, &late),
            )
        };
        counter.store(1, Ordering::Relaxed);
        watchers.poke(1);
        assert_eq!(a.load(Ordering::Relaxed), POKED);
        assert_eq!(b.load(Ordering::Relaxed), 200, "deadline 5 not reached");
        drop(gb);
        counter.store(5, Ordering::Relaxed);
        watchers.poke(5);
        assert_eq!(b.load(Ordering::Relaxed), 200, "no longer listed");
        drop(ga);
        assert!(watchers.list.lock().expect("lock").is_empty());
        // Listed with its deadline passed already: poked at once.
        let c = AtomicUsize::new(300);
        // SAFETY: `c` outlives the guard.
        let _gc = unsafe { watchers.watch(&c, &page, &early) };
        assert_eq!(c.load(Ordering::Relaxed), POKED);
    }
}
