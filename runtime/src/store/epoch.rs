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
//! The check is emitted only when the module was compiled with
//! `CompileOptions::epoch_interruption`; without it, neither tier emits
//! anything, and the counter is never read. Epoch checks cost no fuel
//! (see [`crate::fuel`]): they are not WebAssembly instructions, and the
//! fuel a program consumes must not depend on whether epochs are on.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// What a store knows of epochs.
pub struct EpochState {
    /// The engine's counter.
    pub counter: EpochCounter,
    /// The epoch at which running code stops (traps or calls `callback`).
    /// Starts at 0, already reached: a store must be given a deadline before
    /// it runs code compiled with epoch checks.
    pub deadline: u64,
    /// What to do when the deadline is reached; `None` traps with `interrupt`.
    pub callback: Option<Box<DeadlineCallback>>,
}

impl Default for EpochState {
    fn default() -> EpochState {
        EpochState {
            counter: Arc::new(AtomicU64::new(0)),
            deadline: 0,
            callback: None,
        }
    }
}

impl std::fmt::Debug for EpochState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochState")
            .field("epoch", &self.current())
            .field("deadline", &self.deadline)
            .field("callback", &self.callback.is_some())
            .finish()
    }
}

impl EpochState {
    /// The engine's current epoch.
    pub fn current(&self) -> u64 {
        self.counter.load(Ordering::Relaxed)
    }

    /// Sets the deadline `ticks` past the current epoch.
    pub fn set_deadline(&mut self, ticks: u64) {
        self.deadline = self.current().saturating_add(ticks);
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
    if store.epoch.current() < store.epoch.deadline {
        return Ok(());
    }
    let Some(mut callback) = store.epoch.callback.take() else {
        return Err(TrapCode::Interrupt.into());
    };
    let outcome = callback(store, data);
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
        assert_eq!(store.epoch.deadline, 7);
        store.epoch.counter.store(7, Ordering::Relaxed);
        assert_eq!(deadline_reached(&mut store, &mut ()), Ok(()));
        assert_eq!(store.epoch.deadline, 9);
        store.epoch.counter.store(9, Ordering::Relaxed);
        let err = deadline_reached(&mut store, &mut ()).expect_err("third call fails");
        assert_eq!(err.to_string(), "enough");
        assert!(store.epoch.callback.is_some());
    }
}
