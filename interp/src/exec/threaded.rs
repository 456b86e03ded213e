//! The fast path of the executor: threaded dispatch of the common ops.
//!
//! Each op of a function is paired, once, with a *handler*: a small function
//! that runs exactly that kind of op ([`thread`]). A handler does its work and
//! then calls the handler of the next op itself, as its very last action, with
//! the same six arguments. LLVM turns such a call in tail position into a
//! jump (a sibling call), so a run of ops becomes a chain of indirect jumps,
//! one per op, each at its own address, which the CPU's branch predictor
//! tells apart far better than the single `match` jump of a loop, and no
//! handler has to return anywhere between ops.
//!
//! Rust does not guarantee that a call in tail position becomes a jump, so
//! this mode (`kiln_tail_dispatch`, set by `build.rs`) is used only where
//! optimisation is on and the target is x86-64 or AArch64. Elsewhere the
//! same handlers return the next op's address to a loop instead
//! ([`run`]), and calls and returns always exit (they switch the registers
//! and code that loop holds). Safety valves keep a build in which some tail
//! call did stay a call from ever overflowing the native stack: the handlers
//! of backward branches and of calls (the only ways to run an op again
//! without leaving the fast path) compare the stack pointer with a limit and
//! leave the fast path when it is exceeded, counting the event in
//! [`stack_rescues`] (tests check that it stays zero); and straight-line
//! runs are bounded by the function's length.
//!
//! Ops the fast path does not handle (calls to imports or other instances,
//! calls to functions not yet translated, tables, bulk memory, 64-bit or
//! absent memories, and any op that would trap) make the handler *exit*: it
//! returns the op's address, tagged with [`EXIT`], and the slow path
//! (`exec/slow.rs`) runs that op, which also produces the trap with its
//! proper message. Every op is therefore defined once, on the slow path (by
//! family, in `exec/slow/`); a handler is a faster copy of the common case.

use std::hint::unreachable_unchecked;
use std::sync::atomic::{AtomicU64, Ordering};

use kiln_runtime::{GlobalAddr, GlobalEntity};

use super::Frame;
use crate::bytecode::{FloatCmp, Op, sem};
use crate::num;

/// One op as the fast path sees it: its handler beside the op itself, whose
/// jump target, if it has one, counts ops from the jump itself (`thread`).
#[derive(Clone, Copy)]
pub struct Threaded {
    handler: Handler,
    op: Op,
}

impl std::fmt::Debug for Threaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.op.fmt(f)
    }
}

/// What the fast path needs beyond registers and memory 0.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// Fuel left (copied from and back to the store around each fast run).
    pub fuel: u64,
    /// The engine's epoch counter (the store's `epoch.counter`, which outlives
    /// every run).
    pub epoch: *const AtomicU64,
    /// The store's epoch deadline (taken again before each fast run).
    pub epoch_deadline: u64,
    /// Lowest native stack address a backward branch may run at.
    #[cfg_attr(not(kiln_tail_dispatch), allow(dead_code))]
    pub stack_limit: usize,
    /// The store's globals (taken again before each fast run).
    pub globals: *mut GlobalEntity,
    /// The store addresses of the running instance's globals, by index.
    pub instance_globals: *const GlobalAddr,
    /// The running frame. Calls and returns between functions of one instance
    /// run on the fast path, which keeps this and `frames` up to date.
    pub frame: Frame,
    /// The frames of the callers, innermost last.
    pub frames: Vec<Frame>,
    /// The store, read (never written) by `call_indirect` (taken again before
    /// each run; the executor does not touch the store while handlers run).
    pub store: *const kiln_runtime::Store,
    /// The elements of the running instance's table 0 (none if it has no table
    /// or a 64-bit one), its signatures by type index, and the store's
    /// functions: what `call_indirect` through table 0 reads, taken again
    /// before each run like `store`.
    pub table0: *const [kiln_runtime::RawRef],
    /// See `table0`.
    pub sigs: *const [kiln_runtime::SigId],
    /// See `table0`.
    pub funcs: *const [kiln_runtime::FuncEntity],
    /// The running module's own functions (translated or not), and how many
    /// functions it imports: what `call` looks its callee up in. A fast run
    /// stays in one instance, hence one module; taken again before each run.
    pub own_funcs: *const [std::sync::OnceLock<std::sync::Arc<crate::CompiledFunc>>],
    /// See `own_funcs`.
    pub num_imported_funcs: u32,
    /// Under the tiered strategy, the running module's native code: once it
    /// is there, calls leave the fast path, and the slow one calls native
    /// code (`frames::resolve`). Never set for other modules (`NEVER_NATIVE`).
    pub native: *const std::sync::OnceLock<std::sync::Arc<dyn std::any::Any + Send + Sync>>,
    /// WebAssembly call depth (copied from and back to the store around each run).
    pub depth: u32,
    /// The store's call-depth limit.
    pub max_depth: u32,
    /// The value stack's slots (taken again before each run)...
    pub stack: *mut u64,
    /// ...and how many registers it holds (the high halves of `v128`
    /// registers follow them: `frames::half`).
    pub stack_len: usize,
}

/// The native code of modules that are not tiered: never there.
pub(crate) static NEVER_NATIVE: std::sync::OnceLock<
    std::sync::Arc<dyn std::any::Any + Send + Sync>,
> = std::sync::OnceLock::new();

/// How often a backward branch left the fast path because the native stack had
/// grown past its limit: zero unless some tail call stayed a call.
static RESCUES: AtomicU64 = AtomicU64::new(0);

/// How often, in this process, the fast path left a loop because the native
/// stack had grown (see the module documentation); zero in a sound build.
pub fn stack_rescues() -> u64 {
    RESCUES.load(Ordering::Relaxed)
}

/// The `stack_limit` for a fast path entered from here.
pub(crate) fn stack_limit() -> usize {
    #[cfg(kiln_tail_dispatch)]
    {
        stack_pointer().saturating_sub(STACK_BUDGET)
    }
    #[cfg(not(kiln_tail_dispatch))]
    {
        0
    }
}

/// A handler: runs the op at `ip`, then the ops after it, until one exits.
///
/// Arguments: the op, the frame's registers, memory 0's base and length (a
/// length of 0 sends every access to the slow path), the context, and the
/// integer and float accumulators (see [`thread`]). Returns the address of the
/// op to run on the slow path, tagged with [`EXIT`]; in loop mode it may
/// instead return the next op's address, untagged.
type Handler = unsafe fn(*const Threaded, *mut u64, *mut u8, usize, *mut Ctx, u64, f64) -> usize;

/// The tag of a handler's result that means "run this op on the slow path"
/// (ops are 8-byte aligned, so the bit is free).
const EXIT: usize = 1;

/// How much native stack a run of the fast path may use before backward
/// branches leave it (see the module documentation).
#[cfg_attr(not(kiln_tail_dispatch), allow(dead_code))]
pub(crate) const STACK_BUDGET: usize = 256 * 1024;

/// Runs ops from `ip` until one must run on the slow path; returns its address.
///
/// # Safety
///
/// `ip` and `start` point into the same threaded code, which ends with an op
/// that exits; every register an op names is inside `regs`' frame; `mem` and
/// `len` describe accessible memory (or `len` is 0); `ctx` is valid.
pub(crate) unsafe fn run(
    ip: *const Threaded,
    regs: *mut u64,
    mem: *mut u8,
    len: usize,
    ctx: *mut Ctx,
    start: *const Threaded,
) -> *const Threaded {
    // SAFETY: the caller's guarantees.
    let (iacc, acc) = unsafe { pairing::entry_accs(ip, regs, start) };
    #[cfg(kiln_tail_dispatch)]
    {
        // SAFETY: the caller's guarantees are the handler's.
        let tagged = unsafe { ((*ip).handler)(ip, regs, mem, len, ctx, iacc, acc) };
        (tagged & !EXIT) as *const Threaded
    }
    #[cfg(not(kiln_tail_dispatch))]
    {
        let mut ip = ip;
        loop {
            // SAFETY: as above; an untagged result is the next op of the same code.
            let next = unsafe { ((*ip).handler)(ip, regs, mem, len, ctx, iacc, acc) };
            if next & EXIT != 0 {
                return (next & !EXIT) as *const Threaded;
            }
            ip = next as *const Threaded;
        }
    }
}

/// Continues with the op at `$ip`: a tail call of its handler, or (loop mode)
/// a return of its address to [`run`]'s loop.
macro_rules! next {
    ($ip:expr, $regs:ident, $mem:ident, $len:ident, $ctx:ident, $iacc:expr, $acc:expr) => {{
        let ip: *const Threaded = $ip;
        #[cfg(kiln_tail_dispatch)]
        {
            // SAFETY: `ip` is an op of the same code (the next op, or a jump target
            // checked by `crate::verify`); the other arguments are passed on unchanged.
            return unsafe { ((*ip).handler)(ip, $regs, $mem, $len, $ctx, $iacc, $acc) };
        }
        #[cfg(not(kiln_tail_dispatch))]
        {
            let _ = ($iacc, $acc);
            return ip as usize;
        }
    }};
}

/// Continues with the op after `$ip`.
macro_rules! advance {
    ($ip:ident, $regs:ident, $mem:ident, $len:ident, $ctx:ident, $iacc:ident, $acc:ident) => {
        // SAFETY: no op but the last, which exits, falls through past the end.
        next!(unsafe { $ip.add(1) }, $regs, $mem, $len, $ctx, $iacc, $acc)
    };
}

/// Leaves the fast path: the slow path runs the op at `$ip`.
macro_rules! exit {
    ($ip:expr) => {
        return ($ip as usize) | EXIT
    };
}

/// Destructures the op at `$ip` as variant `$pat`. Handlers are installed only
/// for their own variant ([`handler_for`](pairing::handler_for)), so the other arm is unreachable.
macro_rules! operands {
    ($ip:ident, $pat:pat) => {
        // SAFETY: `$ip` points to a live op.
        let op = unsafe { *$ip }.op;
        let $pat = op else {
            // SAFETY: `handler_for` installed this handler only for ops matching the
            // pattern.
            unsafe { unreachable_unchecked() }
        };
    };
}

/// Register `$r` of the frame, as a place.
macro_rules! reg {
    ($regs:ident, $r:expr) => {
        // SAFETY: registers are below the frame size (`crate::verify`), and `regs` has
        // that many slots (the caller of `run`).
        *unsafe { &mut *$regs.add($r as usize) }
    };
}

/// The stack pointer, to tell whether tail calls stayed calls.
#[cfg(kiln_tail_dispatch)]
#[inline(always)]
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads a register; touches no memory.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
        #[cfg(target_arch = "aarch64")]
        std::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    sp
}

/// Leaves the fast path if the native stack has grown
/// past the run's limit, which only a tail call left as a call can cause (see
/// the module documentation). Nothing in loop mode, whose handlers return.
macro_rules! stack_guard {
    ($ip:ident, $ctx:ident) => {
        #[cfg(kiln_tail_dispatch)]
        {
            // SAFETY: `ctx` is valid for the whole run (the caller of `run`).
            if $crate::exec::threaded::stack_pointer() < unsafe { (*$ctx).stack_limit } {
                $crate::exec::threaded::RESCUES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                exit!($ip);
            }
        }
    };
}

/// Continues with op `$to`; when it is a `Fuel` op (the first metered run
/// of a loop, a block's following run or a branch's other side, with fuel
/// on), charges it here and goes on after it, so the branch costs no dispatch
/// of the `Fuel` op. Too little fuel exits at the `Fuel` op, which the slow
/// path runs as ever.
macro_rules! next_charging {
    ($to:expr, $regs:expr, $mem:ident, $len:ident, $ctx:ident, $iacc:expr, $acc:expr) => {{
        let to: *const Threaded = $to;
        let (regs, iacc, acc): (*mut u64, u64, f64) = ($regs, $iacc, $acc);
        // SAFETY: `to` is an op of the code (the caller's jump target or next op).
        if let Op::Fuel { cost } = unsafe { (*to).op } {
            // SAFETY: `ctx` is valid for the whole run (the caller of `run`).
            let ctx_ref = unsafe { &mut *$ctx };
            let cost = u64::from(cost);
            if ctx_ref.fuel < cost {
                exit!(to);
            }
            ctx_ref.fuel -= cost;
            // SAFETY: a `Fuel` op is never the last op: the code ends with an
            // `Unreachable` sentinel (`crate::translate`), checked by
            // `crate::verify`.
            next!(unsafe { to.add(1) }, regs, $mem, $len, $ctx, iacc, acc)
        }
        next!(to, regs, $mem, $len, $ctx, iacc, acc)
    }};
}

/// Jumps to op `$target`. With `$back` (the *checked* handler of a branch:
/// one that jumps backwards, or that jumps or falls through to a `Fuel` op,
/// see `pairing::handler_for`), first checks the native stack (see the module
/// documentation), and charges a `Fuel` op at the target itself
/// ([`next_charging`]).
macro_rules! jump {
    ($back:expr, $ip:ident, $target:expr, $regs:ident, $mem:ident, $len:ident, $ctx:ident, $iacc:ident, $acc:ident) => {{
        // SAFETY: jump targets are inside the code (checked by `crate::verify`), and
        // threaded code holds them relative to the jump (see `thread`).
        let to = unsafe { $ip.offset($target as i32 as isize) };
        if $back {
            stack_guard!($ip, $ctx);
            next_charging!(to, $regs, $mem, $len, $ctx, $iacc, $acc)
        }
        next!(to, $regs, $mem, $len, $ctx, $iacc, $acc)
    }};
}

/// A conditional branch not taken: continues with the next op, charging it
/// when it is a `Fuel` op and the handler is the checked one (`$back`, see
/// [`jump`]).
macro_rules! fall_through {
    ($back:expr, $ip:ident, $regs:ident, $mem:ident, $len:ident, $ctx:ident, $iacc:ident, $acc:ident) => {{
        // SAFETY: no op but the last, which exits, falls through past the end.
        let next = unsafe { $ip.add(1) };
        if $back {
            next_charging!(next, $regs, $mem, $len, $ctx, $iacc, $acc)
        }
        next!(next, $regs, $mem, $len, $ctx, $iacc, $acc)
    }};
}

/// Defines one handler: `fn name(ip, regs, mem, len, ctx, iacc, acc) -> usize { body }`
/// with the arguments bound to the given names, for ops whose body ends by
/// dispatching (`next!`, `jump!`) or exiting (`exit!`).
macro_rules! handler {
    ($(#[$attr:meta])* $vis:vis fn $name:ident $(<$(const $c:ident: $t:ty),+>)? ($ip:ident, $regs:ident, $mem:ident, $len:ident, $ctx:ident, $iacc:ident, $acc:ident) $body:block) => {
        $(#[$attr])*
        #[allow(unused_variables, unused_mut, unused_assignments)]
        $vis unsafe fn $name $(<$(const $c: $t),+>)? (
            $ip: *const Threaded,
            $regs: *mut u64,
            $mem: *mut u8,
            $len: usize,
            $ctx: *mut Ctx,
            mut $iacc: u64,
            mut $acc: f64,
        ) -> usize $body
    };
}

/// Which operand of an op comes from the accumulator (see [`thread`]): none...
const ACC_NONE: u8 = 0;
/// ...the first...
const ACC_A: u8 = 1;
/// ...or the second.
const ACC_B: u8 = 2;

/// Expands to the instance of handler `$name::<ACC>` for the runtime
/// `ACC_*` value `$which` (any other const parameters listed first).
macro_rules! pick_operand {
    ($name:ident $(, $c:expr)*; $which:expr) => {{
        let handler: Handler = match $which {
            ACC_A => $name::<$($c,)* ACC_A>,
            ACC_B => $name::<$($c,)* ACC_B>,
            _ => $name::<$($c,)* ACC_NONE>,
        };
        handler
    }};
    ($name:ident, $which:expr) => {
        pick_operand!($name; $which)
    };
}

/// Expands to the instance of handler `$name::<.., FROM_ACC>` for the runtime
/// `bool` `$from` (any other const parameters listed first).
macro_rules! pick_from_acc {
    ($name:ident $(, $c:expr)*; $from:expr) => {{
        let handler: Handler = if $from {
            $name::<$($c,)* true>
        } else {
            $name::<$($c,)* false>
        };
        handler
    }};
}

/// An integer operand (the register's bits) read from register `$r`, or, when
/// `$from_acc` holds, from the integer accumulator, which then holds the same
/// bits (see [`thread`]). In loop mode always the register.
macro_rules! int_operand {
    ($from_acc:expr, $iacc:ident, $regs:ident, $r:expr) => {
        if cfg!(kiln_tail_dispatch) && $from_acc {
            $iacc
        } else {
            reg!($regs, $r)
        }
    };
}

/// Expands the rows of [`for_each_binary_op!`] into the fast path's handlers
/// of the specialised binary operators and of their fused branches, plus the
/// `binary_handler` and `compare_branch_handler` lookups. For each row:
/// - a handler `Name::<ACC>` for `Op::Name { dst, a, b }` that writes the
///   value to `dst` and to the accumulator of the row's kind (the integer one
///   for `int`, the float one for `f64`), taking operand `ACC` from it (see
///   [`thread`]);
/// - for a row with a branch, a handler `BrIfName::<BACK, ACC>` for
///   `Op::BrIfName { a, b, target }` (and one for its `else` op) that jumps
///   when the value is non-zero (zero), backward jumps checking the stack.
macro_rules! binary_handlers {
    ($($name:ident($kind:ident) => |$a:ident, $b:ident| $value:expr
        $(, branch $br:ident $(if not $neg:ident)? $(else $nbr:ident)?)?;)*) => {
        $(
            binary_handlers!(@op $kind, $name, |$a, $b| $value);
            $(
                binary_handlers!(@branch $kind, $br, |$a, $b| ($value) != 0);
                $(binary_handlers!(@branch $kind, $nbr, |$a, $b| ($value) == 0);)?
            )?
        )*

        /// The handler of `op` when the accumulators hold `acc`, and what they
        /// hold after it.
        fn binary_handler(op: &Op, acc: Option<Acc>) -> Option<(Handler, Option<Acc>)> {
            match *op {
                $(Op::$name { dst, a, b } => Some(binary_handlers!(@pick $kind, $name, acc, dst, a, b)),)*
                _ => None,
            }
        }

        /// The handler of fused branch `op`, jumping backwards or not.
        fn compare_branch_handler(op: &Op, back: bool, acc: Option<Acc>) -> Option<Handler> {
            Some(match (*op, back) {
                $($(
                    (Op::$br { a, b, .. }, false) => pick_operand!($br, false; int_operand_of(acc, a, b)),
                    (Op::$br { a, b, .. }, true) => pick_operand!($br, true; int_operand_of(acc, a, b)),
                    $(
                        (Op::$nbr { a, b, .. }, false) => pick_operand!($nbr, false; int_operand_of(acc, a, b)),
                        (Op::$nbr { a, b, .. }, true) => pick_operand!($nbr, true; int_operand_of(acc, a, b)),
                    )?
                )?)*
                _ => return None,
            })
        }
    };
    (@op int, $name:ident, |$a:ident, $b:ident| $value:expr) => {
        handler! {
            #[allow(non_snake_case)]
            fn $name<const ACC: u8>(ip, regs, mem, len, ctx, iacc, acc) {
                operands!(ip, Op::$name { dst, a, b });
                let $a = int_operand!(ACC == ACC_A, iacc, regs, a);
                let $b = int_operand!(ACC == ACC_B, iacc, regs, b);
                iacc = $value;
                reg!(regs, dst) = iacc;
                advance!(ip, regs, mem, len, ctx, iacc, acc)
            }
        }
    };
    (@op f64, $name:ident, |$a:ident, $b:ident| $value:expr) => {
        handler! {
            #[allow(non_snake_case)]
            fn $name<const ACC: u8>(ip, regs, mem, len, ctx, iacc, acc) {
                operands!(ip, Op::$name { dst, a, b });
                let $a = f64_operand!(ACC == ACC_A, acc, regs, a);
                let $b = f64_operand!(ACC == ACC_B, acc, regs, b);
                acc = $value;
                reg!(regs, dst) = acc.to_bits();
                advance!(ip, regs, mem, len, ctx, iacc, acc)
            }
        }
    };
    (@branch int, $name:ident, |$a:ident, $b:ident| $cond:expr) => {
        handler! {
            #[allow(non_snake_case)]
            fn $name<const BACK: bool, const ACC: u8>(ip, regs, mem, len, ctx, iacc, acc) {
                operands!(ip, Op::$name { a, b, target });
                let $a = int_operand!(ACC == ACC_A, iacc, regs, a);
                let $b = int_operand!(ACC == ACC_B, iacc, regs, b);
                if $cond {
                    jump!(BACK, ip, target, regs, mem, len, ctx, iacc, acc)
                }
                fall_through!(BACK, ip, regs, mem, len, ctx, iacc, acc)
            }
        }
    };
    (@pick int, $name:ident, $acc:ident, $dst:ident, $a:ident, $b:ident) => {
        (pick_operand!($name, int_operand_of($acc, $a, $b)), Some(Acc::Int($dst)))
    };
    (@pick f64, $name:ident, $acc:ident, $dst:ident, $a:ident, $b:ident) => {
        (pick_operand!($name, float_operand_of($acc, $a, $b)), Some(Acc::Float($dst)))
    };
}

/// An `f64` operand read from register `$r`, or, when `$from_acc` holds, from
/// the accumulator, which then holds the same value (see [`thread`]). In loop
/// mode, where handlers do not pass the accumulator on, always the register.
macro_rules! f64_operand {
    ($from_acc:expr, $acc:ident, $regs:ident, $r:expr) => {
        if cfg!(kiln_tail_dispatch) && $from_acc {
            $acc
        } else {
            f64::from_bits(reg!($regs, $r))
        }
    };
}

for_each_binary_op!(binary_handlers);

handler! {
    fn br_if_nez<const BACK: bool, const FROM_ACC: bool>(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::BrIfNez { cond, target });
        if int_operand!(FROM_ACC, iacc, regs, cond) as u32 != 0 {
            jump!(BACK, ip, target, regs, mem, len, ctx, iacc, acc)
        }
        fall_through!(BACK, ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn br_if_eqz<const BACK: bool, const FROM_ACC: bool>(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::BrIfEqz { cond, target });
        if int_operand!(FROM_ACC, iacc, regs, cond) as u32 == 0 {
            jump!(BACK, ip, target, regs, mem, len, ctx, iacc, acc)
        }
        fall_through!(BACK, ip, regs, mem, len, ctx, iacc, acc)
    }
}

/// A branch on float comparison `FloatCmp::ALL[CMP]` (a constant, so each
/// instance compiles to its one comparison).
///
/// # Safety
///
/// As for every handler (see [`Handler`]).
#[allow(unused_variables)]
unsafe fn br_if_float<const CMP: usize, const BACK: bool>(
    ip: *const Threaded,
    regs: *mut u64,
    mem: *mut u8,
    len: usize,
    ctx: *mut Ctx,
    iacc: u64,
    acc: f64,
) -> usize {
    operands!(ip, Op::BrIfFloat { a, b, target, .. });
    if FloatCmp::ALL[CMP].holds(reg!(regs, a), reg!(regs, b)) {
        jump!(BACK, ip, target, regs, mem, len, ctx, iacc, acc)
    }
    fall_through!(BACK, ip, regs, mem, len, ctx, iacc, acc)
}

/// The handler of a `BrIfFloat` with comparison `cmp`, jumping backwards or not.
fn br_if_float_handler(cmp: FloatCmp, back: bool) -> Handler {
    /// Expands to a `match` from each `(index, back)` to its instance of
    /// `br_if_float`.
    macro_rules! select {
        ($($i:literal)*) => {
            match (cmp as usize, back) {
                $(
                    ($i, false) => br_if_float::<$i, false>,
                    ($i, true) => br_if_float::<$i, true>,
                )*
                _ => slow,
            }
        };
    }
    select!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23)
}

handler! {
    /// Any op the fast path leaves to the slow path.
    fn slow(ip, regs, mem, len, ctx, iacc, acc) {
        exit!(ip)
    }
}

handler! {
    fn global_get(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::GlobalGet { dst, global });
        // SAFETY: `ctx`'s global tables are the running instance's and the store's,
        // taken before this run, and the index is in the module's range, hence the
        // instance's (checked by `crate::verify`).
        let bits = unsafe {
            let g = *(*ctx).instance_globals.add(global as usize);
            (*(*ctx).globals.add(g.index())).bits
        };
        iacc = bits as u64;
        reg!(regs, dst) = iacc;
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn global_set<const FROM_ACC: bool>(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::GlobalSet { global, src });
        let value = u128::from(int_operand!(FROM_ACC, iacc, regs, src));
        // SAFETY: as in `global_get`; validation admits `global.set` on mutable
        // globals only.
        unsafe {
            let g = *(*ctx).instance_globals.add(global as usize);
            (*(*ctx).globals.add(g.index())).bits = value;
        }
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn nop(ip, regs, mem, len, ctx, iacc, acc) {
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn copy<const FROM_ACC: bool>(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::Copy { dst, src });
        iacc = int_operand!(FROM_ACC, iacc, regs, src);
        reg!(regs, dst) = iacc;
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn copy2(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::Copy2 { dst, a, b });
        reg!(regs, dst) = reg!(regs, a);
        reg!(regs, dst + 1) = reg!(regs, b);
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn const32(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::Const32 { dst, val });
        reg!(regs, dst) = u64::from(val);
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn const64(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::Const64 { dst, val });
        reg!(regs, dst) = val;
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn i32_add_imm<const FROM_ACC: bool>(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::I32AddImm { dst, a, imm });
        iacc = sem::i32_add_imm(int_operand!(FROM_ACC, iacc, regs, a), imm);
        reg!(regs, dst) = iacc;
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn i64_add_imm<const FROM_ACC: bool>(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::I64AddImm { dst, a, imm });
        iacc = sem::i64_add_imm(int_operand!(FROM_ACC, iacc, regs, a), imm);
        reg!(regs, dst) = iacc;
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

mod calls;
mod memory;
mod numeric;
mod pairing;
mod vector;

pub(crate) use self::pairing::thread;
use self::pairing::{Acc, float_operand_of, int_operand_of};

handler! {
    fn i32_add_shl<const ACC: u8>(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::I32AddShl { dst, a, b, shift });
        let index = int_operand!(ACC == ACC_B, iacc, regs, b);
        let base = int_operand!(ACC == ACC_A, iacc, regs, a);
        iacc = sem::i32_add_shl(base, index, shift);
        reg!(regs, dst) = iacc;
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    /// Any one-operand numeric op; a trapping one exits for the slow path to trap.
    fn unary(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::Unary { op, dst, src });
        match num::unary(op, reg!(regs, src)) {
            Ok(v) => reg!(regs, dst) = v,
            Err(_) => exit!(ip),
        }
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    /// Any two-operand numeric op; a trapping one exits for the slow path to trap.
    fn binary(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::Binary { op, dst, a, b });
        match num::binary(op, reg!(regs, a), reg!(regs, b)) {
            Ok(v) => reg!(regs, dst) = v,
            Err(_) => exit!(ip),
        }
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    /// Without a branch: a `select`'s condition is often data (a comparison in
    /// a sort, a min or max), which a branch would mispredict half the time.
    fn select<const FROM_ACC: bool>(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::Select { a, b, cond });
        let (first, second) = (reg!(regs, a), reg!(regs, b));
        let cond = int_operand!(FROM_ACC, iacc, regs, cond);
        reg!(regs, a) = sem::select(cond, first, second);
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn br<const BACK: bool>(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::Br { target });
        jump!(BACK, ip, target, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    /// Continues at the selected one of the `Br` ops that follow. With `FUEL`
    /// (some of them jump to a `Fuel` op: `pairing::handler_for`), a selected
    /// target that is a `Fuel` op is charged here ([`next_charging`]).
    fn br_table<const FUEL: bool, const FROM_ACC: bool>(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::BrTable { index, len: count });
        let skip = (int_operand!(FROM_ACC, iacc, regs, index) as u32).min(count) as usize;
        // SAFETY: `count + 1` ops follow a `BrTable` (checked by `crate::verify`).
        let entry = unsafe { ip.add(1 + skip) };
        // Jump straight to the selected `Br`'s target rather than dispatching it.
        // SAFETY: `entry` is an op of the same code.
        if let Op::Br { target } = unsafe { *entry }.op {
            // SAFETY: jump targets are inside the code (checked by `crate::verify`),
            // relative to the `Br` in threaded code (see `thread`).
            let to = unsafe { entry.offset(target as i32 as isize) };
            if to <= ip {
                stack_guard!(ip, ctx);
            }
            if FUEL {
                next_charging!(to, regs, mem, len, ctx, iacc, acc)
            }
            next!(to, regs, mem, len, ctx, iacc, acc)
        }
        next!(entry, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn canon_f32(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::CanonF32 { reg });
        reg!(regs, reg) = sem::canon_f32(reg!(regs, reg));
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn canon_f64(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::CanonF64 { reg });
        reg!(regs, reg) = sem::canon_f64(reg!(regs, reg));
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    /// Charges a metered run; too little fuel exits for the slow path to trap.
    fn fuel(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::Fuel { cost });
        // SAFETY: `ctx` is valid for the whole run (the caller of `run`).
        let ctx_ref = unsafe { &mut *ctx };
        let cost = u64::from(cost);
        if ctx_ref.fuel < cost {
            exit!(ip);
        }
        ctx_ref.fuel -= cost;
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    /// An epoch check; a deadline reached exits for the slow path to run the
    /// store's callback or trap.
    fn epoch(ip, regs, mem, len, ctx, iacc, acc) {
        // SAFETY: `ctx` is valid for the whole run (the caller of `run`).
        let ctx_ref = unsafe { &*ctx };
        // SAFETY: `epoch` points to the store's counter, which the store keeps
        // alive for the whole run (`Executor::enter_fast` sets it).
        let now = unsafe { &*ctx_ref.epoch }.load(Ordering::Relaxed);
        if now >= ctx_ref.epoch_deadline {
            exit!(ip);
        }
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}
