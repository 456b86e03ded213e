//! [`GuardedStack`]: a native stack of its own for WebAssembly to run on, with
//! an inaccessible guard region below it: the JIT's per-thread stack and the
//! stack of every resumable call.

use std::num::NonZeroUsize;

/// Bytes of address space of each WebAssembly stack (committed only as code
/// touches it). Large, so that the depth WebAssembly may recurse to is set by
/// the call-depth limit, not by the host thread's stack: with the limit at a
/// million, a million JIT frames fit.
pub const STACK_SIZE: usize = 1 << 30;

/// Bytes at the top of a spare stack whose pages are kept committed.
const KEPT_BYTES: usize = 1 << 20;

/// Inaccessible bytes below each stack.
const STACK_GUARD: usize = 64 << 10;

/// One mapping: the guard region first, then the usable stack, which grows
/// down from [`GuardedStack::top`].
#[derive(Debug)]
pub struct GuardedStack {
    /// Start of the mapping (the guard region).
    map: usize,
    /// Bytes mapped.
    len: usize,
}

impl GuardedStack {
    /// Maps a stack of [`STACK_SIZE`] usable bytes (reserved, not committed).
    ///
    /// # Errors
    ///
    /// The system's, when the address space cannot be mapped.
    pub fn new() -> rustix::io::Result<GuardedStack> {
        let len = STACK_SIZE + STACK_GUARD;
        let stack = GuardedStack {
            map: crate::memory::reserve(len)?.as_ptr() as usize,
            len,
        };
        // SAFETY: `[low, top)` lies inside the mapping just made, which nothing
        // else uses.
        unsafe {
            rustix::mm::mprotect(
                stack.low() as *mut std::ffi::c_void,
                STACK_SIZE,
                rustix::mm::MprotectFlags::READ | rustix::mm::MprotectFlags::WRITE,
            )?;
        }
        Ok(stack)
    }

    /// The lowest address of the mapping (where the guard region starts).
    pub fn map(&self) -> usize {
        self.map
    }

    /// The lowest usable address, just above the guard region.
    pub fn low(&self) -> usize {
        self.map + STACK_GUARD
    }

    /// One past the highest address: the initial stack pointer (16-byte aligned).
    pub fn top(&self) -> usize {
        self.map + self.len
    }

    /// Gives the pages a finished call touched back to the system, but for the
    /// top megabyte (which most calls stay within, and the next call
    /// reuses), keeping the mapping for another call.
    ///
    /// # Errors
    ///
    /// The system's.
    pub fn release_pages(&self) -> rustix::io::Result<()> {
        // SAFETY: `[low, top - KEPT_BYTES)` is inside this stack's own mapping,
        // and no frame lives on it (its call has finished); MADV_DONTNEED only
        // drops its pages (they read as zeros when touched again).
        unsafe {
            rustix::mm::madvise(
                self.low() as *mut std::ffi::c_void,
                STACK_SIZE - KEPT_BYTES,
                rustix::mm::Advice::LinuxDontNeed,
            )
        }
    }
}

impl Drop for GuardedStack {
    fn drop(&mut self) {
        // SAFETY: the mapping is this value's alone, and no code runs on it any
        // more (its owner dropped it only once every frame on it had returned).
        let _ = unsafe { rustix::mm::munmap(self.map as *mut std::ffi::c_void, self.len) };
    }
}

// SAFETY: the stack has a guard region below `low` (inaccessible, so an
// overflow faults), far more than `MIN_STACK_SIZE` usable bytes, and both
// bounds are page-aligned, so aligned to `STACK_ALIGNMENT`.
unsafe impl corosensei::stack::Stack for GuardedStack {
    fn base(&self) -> corosensei::stack::StackPointer {
        NonZeroUsize::new(self.top()).unwrap_or(NonZeroUsize::MIN)
    }

    fn limit(&self) -> corosensei::stack::StackPointer {
        NonZeroUsize::new(self.map).unwrap_or(NonZeroUsize::MIN)
    }
}
