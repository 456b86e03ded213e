//! The VM context: the one struct compiled code reads its environment from.
//!
//! Every compiled function takes a pointer to a [`VmContext`] as its first
//! argument and passes the same pointer to every function of its module it
//! calls. Native code reaches each field at a fixed offset (the `*_OFFSET`
//! constants, taken with `offset_of!` so they cannot drift from the layout).
//! One context lives on the Rust stack of [`crate::invoke`] for each
//! host-to-WebAssembly entry (a `crate::activation::Activation` owns it); it is
//! filled from the store before the call and written back after it.
//!
//! This module is the layout alone: it uses nothing else of the crate, so that
//! everything that reads a context (the translator, the trampolines, the signal
//! handler, the libcalls) can depend on it without a cycle.
//!
//! Fields written by compiled code: `fuel` (at every metered run); libcalls
//! set `pending`. Another thread may write `stack_limit` (an epoch poke, see
//! `kiln_runtime::epoch`). Libcalls that run arbitrary host code refresh `memories` and
//! `globals` afterwards, because the host may have grown a memory or added
//! globals to the store.

use std::mem::offset_of;
use std::sync::atomic::AtomicUsize;

use cranelift_codegen::ir;
use kiln_runtime::TrapCode;

/// One linear memory as compiled code sees it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MemoryDef {
    /// First byte of the memory.
    pub base: *mut u8,
    /// Accessible bytes (checked against when the memory has no guard region).
    pub len: u64,
}

/// Offset of [`MemoryDef::base`].
pub const MEMORY_DEF_BASE: i32 = offset_of!(MemoryDef, base) as i32;
/// Offset of [`MemoryDef::len`].
pub const MEMORY_DEF_LEN: i32 = offset_of!(MemoryDef, len) as i32;
/// Bytes per [`MemoryDef`].
pub const MEMORY_DEF_SIZE: i32 = size_of::<MemoryDef>() as i32;

/// One table of the instance as compiled code sees it (for `call_indirect`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TableDef {
    /// The elements (`RawRef`s, 4 bytes each).
    pub base: *const u32,
    /// Number of elements.
    pub len: u64,
}

/// Offset of [`TableDef::base`].
pub const TABLE_DEF_BASE: i32 = offset_of!(TableDef, base) as i32;
/// Offset of [`TableDef::len`].
pub const TABLE_DEF_LEN: i32 = offset_of!(TableDef, len) as i32;
/// Bytes per [`TableDef`].
pub const TABLE_DEF_SIZE: i32 = size_of::<TableDef>() as i32;

/// What `call_indirect` needs to know of a function of the store, by address.
///
/// `sig` and `instance` are adjacent so that compiled code checks both with one
/// 8-byte load and compare against the expected pair read as one word in the
/// host's byte order: a match means the callee has the expected signature and is
/// compiled code of the caller's own instance, so it can be called directly with
/// the caller's context.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FuncEntry {
    /// Its signature (`SigId`).
    pub sig: u32,
    /// Its instance when `code` can be called directly, else [`NO_INSTANCE`] (a host
    /// function, or a function another tier runs).
    pub instance: u32,
    /// Its compiled body, or 0 when it has none.
    pub code: usize,
}

/// [`FuncEntry::instance`] of a function compiled code cannot call directly. No
/// instance has this address, so such an entry never matches a caller's key.
pub const NO_INSTANCE: u32 = u32::MAX;

/// Offset of the key ([`FuncEntry::sig`] and [`FuncEntry::instance`]).
pub const FUNC_ENTRY_KEY: i32 = offset_of!(FuncEntry, sig) as i32;
/// Offset of [`FuncEntry::instance`] (`call_ref` compares it alone: validation
/// already guarantees the callee's type).
pub const FUNC_ENTRY_INSTANCE: i32 = offset_of!(FuncEntry, instance) as i32;
/// Offset of [`FuncEntry::code`].
pub const FUNC_ENTRY_CODE: i32 = offset_of!(FuncEntry, code) as i32;
/// Bytes per [`FuncEntry`].
pub const FUNC_ENTRY_SIZE: i32 = size_of::<FuncEntry>() as i32;

/// What compiled code reads and writes outside its own frame.
#[repr(C)]
#[derive(Debug)]
pub struct VmContext {
    /// One [`MemoryDef`] per memory of the instance, in index order.
    pub memories: *const MemoryDef,
    /// One pointer per global of the instance, in index order, to the global's bits in
    /// the store (`GlobalEntity::bits`, little-endian): `global.get`/`global.set` load
    /// and store through it with the global's own width.
    pub globals: *const *mut u128,
    /// The store address of every function of the instance, in index order
    /// (`InstanceData::funcs`), for `ref.func` and calls to imports.
    pub func_addrs: *const u32,
    /// One [`TableDef`] per table of the instance, in index order.
    pub tables: *const TableDef,
    /// The store-wide signature of each of the module's types (`InstanceData::sigs`).
    pub sigs: *const u32,
    /// The store address of every tag of the instance, in index order
    /// (`InstanceData::tags`): a landing block compares an exception's tag with
    /// them (tags are compared by identity, an imported tag being the exporter's).
    pub tags: *const u32,
    /// One [`FuncEntry`] per function of the store, by address (the store's JIT
    /// cache; refreshed with the tables).
    pub func_entries: *const FuncEntry,
    /// Number of entries of `func_entries`.
    pub num_func_entries: u64,
    /// The instance this context runs.
    pub instance: u32,
    /// Lowest stack pointer a function may run at; checked on function entry so deep
    /// recursion traps instead of overflowing the stack compiled code runs on (see
    /// `signals::stack_limit`). With epoch checks, also checked at loop headers,
    /// and set to `kiln_runtime::epoch::POKED` by the thread that advances the
    /// epoch past the store's deadline, so that the next check takes its slow
    /// path (which puts the limit back).
    pub stack_limit: AtomicUsize,
    /// Fuel left (the store's, while this context runs), when the module meters fuel.
    pub fuel: u64,
    /// With epoch checks, the store's poll page (`kiln_runtime::epoch::PollPage`):
    /// every loop header reads a byte of it, which faults once the epoch
    /// reaches the store's deadline ([`EPOCH_POLL`]).
    pub epoch_poll: *const u8,
    /// WebAssembly frames active when the entry began, across host re-entries (the
    /// store's depth): the trampoline passes it to the first function. Compiled
    /// functions take their depth as a parameter and pass one more to their callees.
    pub depth: u32,
    /// `StoreLimits::max_call_depth`: entering a function at this depth traps with
    /// `call stack exhausted`.
    pub max_depth: u32,
    /// Nonzero once a libcall failed: its trap is waiting in the activation, and the
    /// compiled code that called it raises [`PENDING_TRAP`] at once.
    pub pending: u32,
    /// The activation that owns this context (Rust-side state of the entry): a
    /// `crate::activation::Activation`, untyped here because compiled code never
    /// reads it; `Activation::attach` sets it and `Activation::of` reads it.
    pub activation: *mut (),
}

/// Offset of [`VmContext::memories`].
pub const MEMORIES_OFFSET: i32 = offset_of!(VmContext, memories) as i32;
/// Offset of [`VmContext::globals`].
pub const GLOBALS_OFFSET: i32 = offset_of!(VmContext, globals) as i32;
/// Offset of [`VmContext::func_addrs`].
pub const FUNC_ADDRS_OFFSET: i32 = offset_of!(VmContext, func_addrs) as i32;
/// Offset of [`VmContext::tables`].
pub const TABLES_OFFSET: i32 = offset_of!(VmContext, tables) as i32;
/// Offset of [`VmContext::sigs`].
pub const SIGS_OFFSET: i32 = offset_of!(VmContext, sigs) as i32;
/// Offset of [`VmContext::tags`].
pub const TAGS_OFFSET: i32 = offset_of!(VmContext, tags) as i32;
/// Offset of [`VmContext::func_entries`].
pub const FUNC_ENTRIES_OFFSET: i32 = offset_of!(VmContext, func_entries) as i32;
/// Offset of [`VmContext::num_func_entries`].
pub const NUM_FUNC_ENTRIES_OFFSET: i32 = offset_of!(VmContext, num_func_entries) as i32;
/// Offset of [`VmContext::instance`].
pub const INSTANCE_OFFSET: i32 = offset_of!(VmContext, instance) as i32;
/// Offset of [`VmContext::stack_limit`].
pub const STACK_LIMIT_OFFSET: i32 = offset_of!(VmContext, stack_limit) as i32;
/// Offset of [`VmContext::fuel`].
pub const FUEL_OFFSET: i32 = offset_of!(VmContext, fuel) as i32;
/// Offset of [`VmContext::epoch_poll`].
pub const EPOCH_POLL_OFFSET: i32 = offset_of!(VmContext, epoch_poll) as i32;
/// Offset of [`VmContext::depth`].
pub const DEPTH_OFFSET: i32 = offset_of!(VmContext, depth) as i32;
/// Offset of [`VmContext::max_depth`].
pub const MAX_DEPTH_OFFSET: i32 = offset_of!(VmContext, max_depth) as i32;
/// Offset of [`VmContext::pending`].
pub const PENDING_OFFSET: i32 = offset_of!(VmContext, pending) as i32;

/// The trap codes compiled code raises with explicit trap instructions, each as a
/// Cranelift user trap code numbered from 1 by position.
const RAISED: [TrapCode; 13] = [
    TrapCode::Unreachable,
    TrapCode::MemoryOutOfBounds,
    TrapCode::IntegerOverflow,
    TrapCode::IntegerDivisionByZero,
    TrapCode::InvalidConversionToInteger,
    TrapCode::CallStackExhausted,
    TrapCode::OutOfFuel,
    TrapCode::IndirectCallTypeMismatch,
    TrapCode::UninitializedElement,
    TrapCode::UndefinedElement,
    TrapCode::NullFunctionReference,
    TrapCode::NullReference,
    TrapCode::NullExceptionReference,
];

/// The Cranelift user trap code for a libcall's pending trap: the real trap (a
/// runtime trap code, a host error or a host panic) waits in the activation.
pub const PENDING_TRAP: ir::TrapCode = ir::TrapCode::unwrap_user(100);

/// The trap code of a loop header's read of the poll page
/// ([`VmContext::epoch_poll`]): not a trap, but the signal handler's cue to
/// run the epoch slow path and then the read again.
pub const EPOCH_POLL: ir::TrapCode = ir::TrapCode::unwrap_user(101);

/// The Cranelift trap code compiled code raises for `code`.
///
/// # Panics
///
/// If compiled code never raises `code` (a bug in the translator).
pub fn clif_trap(code: TrapCode) -> ir::TrapCode {
    match RAISED.iter().position(|&c| c == code) {
        Some(i) => ir::TrapCode::unwrap_user(i as u8 + 1),
        None => panic!("the JIT never raises {code:?}"),
    }
}

/// What a Cranelift trap code recorded in compiled code means: `Some(code)`, or
/// `None` for [`PENDING_TRAP`] (the activation holds the trap) and unknown codes.
pub fn trap_from_clif(code: ir::TrapCode) -> Option<TrapCode> {
    match code {
        ir::TrapCode::HEAP_OUT_OF_BOUNDS => Some(TrapCode::MemoryOutOfBounds),
        ir::TrapCode::INTEGER_OVERFLOW => Some(TrapCode::IntegerOverflow),
        ir::TrapCode::INTEGER_DIVISION_BY_ZERO => Some(TrapCode::IntegerDivisionByZero),
        ir::TrapCode::BAD_CONVERSION_TO_INTEGER => Some(TrapCode::InvalidConversionToInteger),
        ir::TrapCode::STACK_OVERFLOW => Some(TrapCode::CallStackExhausted),
        other => {
            let raw = other.as_raw().get();
            RAISED.get(usize::from(raw).checked_sub(1)?).copied()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_key_is_the_entry_first_eight_bytes() {
        let (sig, instance): (u32, u32) = (0x1234_5678, 0x9abc_def0);
        // The key as the translator builds it.
        let key = if cfg!(target_endian = "little") {
            u64::from(sig) | (u64::from(instance) << 32)
        } else {
            (u64::from(sig) << 32) | u64::from(instance)
        };
        let key = key.to_ne_bytes();
        let sig_at = offset_of!(FuncEntry, sig);
        let instance_at = offset_of!(FuncEntry, instance);
        assert_eq!(key[sig_at..sig_at + 4], sig.to_ne_bytes());
        assert_eq!(key[instance_at..instance_at + 4], instance.to_ne_bytes());
        assert_eq!(FUNC_ENTRY_KEY, 0);
    }

    #[test]
    fn trap_codes_round_trip() {
        for code in RAISED {
            assert_eq!(trap_from_clif(clif_trap(code)), Some(code));
        }
        assert_eq!(trap_from_clif(PENDING_TRAP), None);
        assert_eq!(
            trap_from_clif(ir::TrapCode::HEAP_OUT_OF_BOUNDS),
            Some(TrapCode::MemoryOutOfBounds)
        );
    }
}
