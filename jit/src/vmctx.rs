//! The VM context: the one struct compiled code reads its environment from.
//!
//! Every compiled function takes a pointer to a [`VmContext`] as its first
//! argument and passes the same pointer to every function it calls. Native
//! code reaches each field at a fixed offset (the `*_OFFSET` constants, taken
//! with `offset_of!` so they cannot drift from the layout). The context lives
//! on the Rust stack of [`crate::invoke`] for the duration of one
//! host-to-WebAssembly call; it is filled from the store before the call and
//! read back after it.
//!
//! Fields written by compiled code: `memory_base`/`memory_len` (only through
//! the `memory.grow` libcall), `depth` (entry and return of every function)
//! and `trap` (at a trap site). Everything else is read-only while WebAssembly
//! runs.

use std::mem::offset_of;

use kiln_runtime::{LinearMemory, TrapCode};

/// What compiled code reads and writes outside its own frame.
#[repr(C)]
#[derive(Debug)]
pub struct VmContext {
    /// First byte of the instance's memory 0 (dangling when it has none): loads and
    /// stores add their effective address to it.
    pub memory_base: *mut u8,
    /// Accessible bytes of memory 0 (0 when it has none): every access is checked
    /// against it, and `memory.size` divides it by the page size.
    pub memory_len: u64,
    /// Memory 0 itself, so the `memory.grow` libcall can grow it and refresh the two
    /// fields above (null when the instance has none).
    pub memory: *mut LinearMemory,
    /// One pointer per global of the instance, in index order, to the global's bits in
    /// the store (`GlobalEntity::bits`, little-endian): `global.get`/`global.set` load
    /// and store through it with the global's own width.
    pub globals: *const *mut u128,
    /// Lowest stack pointer a function may run at; checked on function entry so deep
    /// recursion traps instead of overflowing the host thread's stack (see
    /// [`stack_limit`]).
    pub stack_limit: usize,
    /// Active WebAssembly frames, across host re-entries: incremented on function
    /// entry, decremented on return (the interpreter's `Store::depth`).
    pub depth: u32,
    /// `StoreLimits::max_call_depth`: entering a function at this depth traps with
    /// `call stack exhausted`.
    pub max_depth: u32,
    /// 0 while running; a trap site stores its [`trap_code_to_raw`] number here and
    /// returns, and every caller returns at once when it finds it set after a call.
    pub trap: u32,
}

/// Offset of [`VmContext::memory_base`].
pub const MEMORY_BASE_OFFSET: i32 = offset_of!(VmContext, memory_base) as i32;
/// Offset of [`VmContext::memory_len`].
pub const MEMORY_LEN_OFFSET: i32 = offset_of!(VmContext, memory_len) as i32;
/// Offset of [`VmContext::globals`].
pub const GLOBALS_OFFSET: i32 = offset_of!(VmContext, globals) as i32;
/// Offset of [`VmContext::stack_limit`].
pub const STACK_LIMIT_OFFSET: i32 = offset_of!(VmContext, stack_limit) as i32;
/// Offset of [`VmContext::depth`].
pub const DEPTH_OFFSET: i32 = offset_of!(VmContext, depth) as i32;
/// Offset of [`VmContext::max_depth`].
pub const MAX_DEPTH_OFFSET: i32 = offset_of!(VmContext, max_depth) as i32;
/// Offset of [`VmContext::trap`].
pub const TRAP_OFFSET: i32 = offset_of!(VmContext, trap) as i32;

/// The trap codes compiled code can raise, numbered from 1 by position.
const RAISED: [TrapCode; 6] = [
    TrapCode::Unreachable,
    TrapCode::MemoryOutOfBounds,
    TrapCode::IntegerOverflow,
    TrapCode::IntegerDivisionByZero,
    TrapCode::InvalidConversionToInteger,
    TrapCode::CallStackExhausted,
];

/// The number compiled code stores in [`VmContext::trap`] for `code` (never 0).
///
/// # Panics
///
/// If compiled code cannot raise `code` (a bug in the translator).
pub fn trap_code_to_raw(code: TrapCode) -> u32 {
    match RAISED.iter().position(|&c| c == code) {
        Some(i) => i as u32 + 1,
        None => panic!("the JIT never raises {code:?}"),
    }
}

/// The trap code behind a nonzero [`VmContext::trap`] value.
pub fn trap_code_from_raw(raw: u32) -> Option<TrapCode> {
    RAISED.get((raw as usize).checked_sub(1)?).copied()
}

/// Bytes of the host thread's stack kept free below the lowest frame of compiled
/// code: room for libcalls, the Rust code they run, and the platform's guard page
/// (which glibc may count inside the stack it reports).
const STACK_RED_ZONE: usize = 128 << 10;

/// The stack a thread gives WebAssembly when its bounds cannot be asked for (not
/// Linux with glibc, or glibc declined): this much below the first caller's stack
/// pointer.
const FALLBACK_STACK: usize = 512 << 10;

/// The lowest stack pointer compiled code may run at on this thread, when no frame
/// of the module is larger than `max_frame` bytes.
///
/// Compiled functions compare their stack pointer (taken after their prologue
/// allocated the frame) with this limit on entry. A function runs only if its
/// frame ends above the limit, so the next frame, at most `max_frame` bytes,
/// still ends above the red zone; the red zone covers libcalls. Deep recursion
/// therefore traps with `call stack exhausted` instead of overflowing into the
/// guard page, whatever the thread's stack size. On threads with enough stack the
/// call-depth limit is reached first, so both tiers trap at the same depth.
pub fn stack_limit(max_frame: usize) -> usize {
    thread_stack_low()
        .saturating_add(STACK_RED_ZONE)
        .saturating_add(max_frame)
}

/// The lowest address of the current thread's stack (cached per thread: asking
/// glibc about the main thread reads `/proc/self/maps`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn thread_stack_low() -> usize {
    use std::cell::Cell;
    thread_local! {
        static LOW: Cell<Option<usize>> = const { Cell::new(None) };
    }
    LOW.with(|low| {
        if let Some(l) = low.get() {
            return l;
        }
        let l =
            query_stack_low().unwrap_or_else(|| approximate_sp().saturating_sub(FALLBACK_STACK));
        low.set(Some(l));
        l
    })
}

/// Asks glibc for the current thread's stack bounds.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn query_stack_low() -> Option<usize> {
    let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: `pthread_getattr_np` initialises `attr` for the calling thread when it
    // returns 0; we read it only then, and destroy it exactly once.
    unsafe {
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(attr.as_ptr(), &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        ok.then_some(addr as usize)
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn thread_stack_low() -> usize {
    approximate_sp().saturating_sub(FALLBACK_STACK)
}

/// An address close to the current stack pointer: a local's.
#[inline(never)]
pub(crate) fn approximate_sp() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_codes_round_trip() {
        for code in RAISED {
            let raw = trap_code_to_raw(code);
            assert_ne!(raw, 0);
            assert_eq!(trap_code_from_raw(raw), Some(code));
        }
        assert_eq!(trap_code_from_raw(0), None);
        assert_eq!(trap_code_from_raw(99), None);
    }

    #[test]
    fn stack_limit_is_below_the_current_frame() {
        let limit = stack_limit(4096);
        assert!(limit < approximate_sp());
    }
}
