//! Per-store resource limits decided by the embedder: a [`ResourceLimiter`]
//! is asked before every memory and table growth (by `memory.grow` and
//! `table.grow` on either tier, by the host API, and for each memory and table
//! an instantiation creates), and bounds how many instances, memories and
//! tables a store may hold. The engine-wide limits (`StoreLimits`) still
//! apply on top, as the defaults every store has.

use crate::Trap;

/// Decides whether a store's memories and tables may grow.
///
/// A growth the limiter denies (`Ok(false)`) fails the way the spec lets
/// any growth fail: `memory.grow` and `table.grow` give -1, and an
/// instantiation fails. An error traps the running WebAssembly (with the
/// limiter's message) or fails the instantiation.
pub trait ResourceLimiter: Send + Sync {
    /// A memory is about to grow from `current` to `desired` bytes; `maximum`
    /// is its declared maximum in bytes, if it has one. A new memory grows
    /// from 0 to its initial size.
    ///
    /// # Errors
    ///
    /// A trap that ends the running call (or the instantiation).
    fn memory_growing(
        &mut self,
        current: u64,
        desired: u64,
        maximum: Option<u64>,
    ) -> Result<bool, Trap>;

    /// A table is about to grow from `current` to `desired` elements.
    ///
    /// # Errors
    ///
    /// As for [`ResourceLimiter::memory_growing`].
    fn table_growing(
        &mut self,
        current: u64,
        desired: u64,
        maximum: Option<u64>,
    ) -> Result<bool, Trap>;

    /// How many instances the store may hold.
    fn instances(&self) -> usize {
        usize::MAX
    }

    /// How many memories the store may hold (defined ones; imports are shared).
    fn memories(&self) -> usize {
        usize::MAX
    }

    /// How many tables the store may hold.
    fn tables(&self) -> usize {
        usize::MAX
    }
}

/// A store's limiter, if the embedder set one.
#[derive(Default)]
pub struct Limiter(pub Option<Box<dyn ResourceLimiter>>);

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Limiter(set)"
        } else {
            "Limiter(none)"
        })
    }
}

impl Limiter {
    /// Whether a memory may grow from `current` to `desired` bytes (yes
    /// without a limiter).
    ///
    /// # Errors
    ///
    /// The limiter's trap.
    pub fn memory_growing(
        &mut self,
        current: u64,
        desired: u64,
        maximum: Option<u64>,
    ) -> Result<bool, Trap> {
        match &mut self.0 {
            Some(l) => l.memory_growing(current, desired, maximum),
            None => Ok(true),
        }
    }

    /// Whether a table may grow from `current` to `desired` elements.
    ///
    /// # Errors
    ///
    /// The limiter's trap.
    pub fn table_growing(
        &mut self,
        current: u64,
        desired: u64,
        maximum: Option<u64>,
    ) -> Result<bool, Trap> {
        match &mut self.0 {
            Some(l) => l.table_growing(current, desired, maximum),
            None => Ok(true),
        }
    }

    /// The most instances, memories and tables the store may hold.
    pub fn counts(&self) -> (usize, usize, usize) {
        match &self.0 {
            Some(l) => (l.instances(), l.memories(), l.tables()),
            None => (usize::MAX, usize::MAX, usize::MAX),
        }
    }
}
