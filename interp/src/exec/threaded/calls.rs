//! Calls, `call_indirect` and returns between functions of one instance, on
//! the fast path: the callee's frame is set up (or the caller's restored) in
//! the handler, which then jumps to the next op to run. Everything else about
//! calls (imports, other instances, the host, traps) exits to the executor.

use std::hint::unreachable_unchecked;

use super::{Ctx, EXIT, Threaded};

/// Whether handlers return to `run`'s loop (no `kiln_tail_dispatch`). That loop
/// keeps the registers and code of the frame it started in, so calls and
/// returns, which change both, always exit in this mode.
const LOOP_MODE: bool = cfg!(not(kiln_tail_dispatch));
use crate::CompiledFunc;
use crate::bytecode::Op;
use crate::exec::Frame;
use crate::exec::frames::{indirect_callee, indirect_fast};

/// Enters translated function `$callee` (a `NonNull<CompiledFunc>` of the
/// running module) with arguments from register `$args`: checks the depth and
/// the value stack (else exits), sets up its frame, saves the
/// caller's and dispatches the callee's first op.
macro_rules! enter {
    ($fuel:expr, $c:ident, $callee:ident, $args:expr, $ip:ident, $mem:ident, $len:ident, $ctx:ident) => {{
        let c = $c;
        let callee_ptr = $callee;
        // SAFETY: the callee belongs to the frame's module, which outlives the run
        // (see `Frame`); the reference is not tied to `c`.
        let callee: &CompiledFunc = unsafe { callee_ptr.as_ref() };
        let callee_base = c.frame.base + $args as usize;
        stack_guard!($ip, $ctx);
        let saved = c.frames.len();
        // SAFETY: `native` points to a `OnceLock` that outlives the run (the
        // running module's, or a static).
        let native = unsafe { &*c.native };
        if c.depth >= c.max_depth
            || callee_base + callee.frame_size as usize > c.stack_len
            || saved == c.frames.capacity()
            || native.get().is_some()
        {
            exit!($ip)
        }
        // SAFETY: `[callee_base, callee_base + frame_size)` is inside the value stack
        // (checked above), whose slots `c.stack` points to.
        let callee_regs = unsafe { c.stack.add(callee_base) };
        let init = &callee.init;
        // SAFETY: registers `num_params..num_params + init.len()` (the declared
        // locals and the constants) are below the callee's frame size
        // (`crate::verify`), inside the value stack (checked above).
        unsafe {
            let first = callee_regs.add(callee.num_params as usize);
            fill_regs(first, init.as_ptr(), init.len());
        }
        // SAFETY: `ip` is an op of the running function's threaded code.
        let pc = unsafe { $ip.offset_from(c.frame.func().threaded.as_ptr()) } as usize + 1;
        // Written in place rather than with `push`, which, out of line in builds
        // with debug assertions, would take the address of a local copy and so
        // keep this handler from jumping to the next (see the module documentation).
        // SAFETY: `saved < capacity` (checked above); `Frame` is `Copy`.
        unsafe {
            c.frames
                .as_mut_ptr()
                .add(saved)
                .write(Frame { pc, ..c.frame });
            c.frames.set_len(saved + 1);
        }
        c.frame.func = callee_ptr;
        c.frame.base = callee_base;
        c.depth += 1;
        let callee_start = callee.threaded.as_ptr();
        // With fuel, the callee's first metered run is charged here when it
        // starts the code (no epoch check before it).
        if $fuel {
            next_charging!(callee_start, callee_regs, $mem, $len, $ctx, 0, 0.0)
        }
        next!(callee_start, callee_regs, $mem, $len, $ctx, 0, 0.0)
    }};
}

/// Sets the `n` registers from `dst` to the `n` values from `src`.
///
/// A call sets a callee's declared locals and constants this way (from
/// `CompiledFunc::init`), and a return moves the results down to the frame's
/// first registers; there are only a few of each. Plain loops here become
/// calls to `memcpy`. Those calls cost more than the stores do, and the
/// handler must save its registers around them. Up to 8 values are written
/// instead as two overlapping runs of 4, 2 or 1 stores.
///
/// # Safety
///
/// `dst..dst + n` must be registers of the running value stack, and `src`
/// must point to `n` values, which may overlap them only from above
/// (`src > dst`: up to 8 values are all read before any is written, more are
/// copied first to last).
#[inline(always)]
unsafe fn fill_regs(dst: *mut u64, src: *const u64, n: usize) {
    // Plain loads and stores of single registers: `read_unaligned` of an
    // array goes through a local whose address, in builds with debug
    // assertions, escapes into a precondition check and so keeps the handler
    // from jumping to the next (see the module documentation).
    // Macros rather than closures: a closure left out of line takes its
    // captures by address, with the same effect.
    macro_rules! load {
        ($i:expr) => {
            // SAFETY: `$i < n`, and `src` has `n` values (the caller).
            unsafe { *src.add($i) }
        };
    }
    macro_rules! store {
        ($i:expr, $v:expr) => {{
            let value = $v;
            // SAFETY: `$i < n`, and `dst` has `n` registers (the caller).
            unsafe { *dst.add($i) = value }
        }};
    }
    match n {
        0 => {}
        1 => store!(0, load!(0)),
        // `[0, 2)` and `[n - 2, n)`, overlapping when `n == 3`; all loads come
        // before the stores, so the overlap is written consistently.
        2..=3 => {
            let v = [load!(0), load!(1), load!(n - 2), load!(n - 1)];
            store!(0, v[0]);
            store!(1, v[1]);
            store!(n - 2, v[2]);
            store!(n - 1, v[3]);
        }
        // `[0, 4)` and `[n - 4, n)`, likewise.
        4..=8 => {
            let v = [
                load!(0),
                load!(1),
                load!(2),
                load!(3),
                load!(n - 4),
                load!(n - 3),
                load!(n - 2),
                load!(n - 1),
            ];
            store!(0, v[0]);
            store!(1, v[1]);
            store!(2, v[2]);
            store!(3, v[3]);
            store!(n - 4, v[4]);
            store!(n - 3, v[5]);
            store!(n - 2, v[6]);
            store!(n - 1, v[7]);
        }
        // One register at a time, first to last, which is right for every overlap
        // the callers make (results move down, to lower registers). Volatile
        // writes keep LLVM from turning the loop into a call to `memset` or
        // `memmove`: any call in a handler makes it save and restore registers
        // on every run, for every count.
        _ => {
            for i in 0..n {
                let value = load!(i);
                // SAFETY: `i < n`, and `dst` has `n` registers (the caller).
                unsafe { dst.add(i).write_volatile(value) }
            }
        }
    }
}

handler! {
    /// A call to one of the module's own functions that is already translated,
    /// with room on the value stack and below the depth limit, runs here: the
    /// callee's frame is set up and its first op dispatched. Any other call exits.
    pub(super) fn call<const FUEL: bool>(ip, regs, mem, len, ctx, iacc, acc) {
        if LOOP_MODE {
            exit!(ip)
        }
        operands!(ip, Op::Call { func, args });
        // SAFETY: `ctx` is valid for the whole run, and no other reference to it is
        // live while a handler runs.
        let c = unsafe { &mut *ctx };
        // An import's index wraps around to one past every own function.
        let own = func.wrapping_sub(c.num_imported_funcs) as usize;
        // SAFETY: a view of the running module's functions, which outlives the run
        // (taken again before each run; see `Ctx::own_funcs`).
        let own_funcs = unsafe { &*c.own_funcs };
        let Some(callee) = own_funcs.get(own).and_then(std::sync::OnceLock::get) else {
            exit!(ip)
        };
        let callee = std::ptr::NonNull::from(&**callee);
        enter!(FUEL, c, callee, args, ip, mem, len, ctx)
    }
}

handler! {
    /// `call_indirect` to a translated function of the same instance (which
    /// cannot trap but for the depth and stack checks of `enter!`) runs here,
    /// as a `call`; anything else, traps included, runs on the slow path.
    pub(super) fn call_indirect<const FUEL: bool>(ip, regs, mem, len, ctx, iacc, acc) {
        if LOOP_MODE {
            exit!(ip)
        }
        operands!(ip, Op::CallIndirect { index, args, site });
        // SAFETY: as in `call`.
        let c = unsafe { &mut *ctx };
        let i = reg!(regs, index);
        let Some(&(table, ty)) = c.frame.func().indirect.get(site as usize) else {
            exit!(ip)
        };
        // SAFETY: as in `call`.
        let own_funcs = unsafe { &*c.own_funcs };
        let callee = if table == 0 {
            // SAFETY: the views were taken from the store before this run, and the
            // store is not written while handlers run.
            let (elems, sigs, funcs) = unsafe { (&*c.table0, &*c.sigs, &*c.funcs) };
            indirect_callee(elems, sigs, funcs, &c.frame, own_funcs, ty, i)
        } else {
            // SAFETY: as above, for the whole store.
            let store = unsafe { &*c.store };
            indirect_fast(store, &c.frame, own_funcs, site, i)
        };
        let Some(callee) = callee else { exit!(ip) };
        enter!(FUEL, c, callee, args, ip, mem, len, ctx)
    }
}

/// Returns from the running function to its caller when that is a frame of
/// the same instance (else exits): `$move_results` moves the results to the
/// frame's first registers once the checks have passed, then the caller's
/// frame is restored and its next op dispatched.
macro_rules! leave {
    ($fuel:expr, $ip:ident, $mem:ident, $len:ident, $ctx:ident, $move_results:expr) => {{
        // SAFETY: as in `call`.
        let c = unsafe { &mut *$ctx };
        // Read in place, field by field: a return within the instance changes only
        // the function, base and pc of the running frame (copying the whole record
        // made the handler spill part of it to the native stack).
        let Some(caller) = c.frames.last() else {
            exit!($ip)
        };
        let (func, base, pc) = (caller.func, caller.base, caller.pc);
        let saved = c.frames.len();
        if caller.instance != c.frame.instance {
            exit!($ip)
        }
        $move_results;
        // SAFETY: `saved > 0`, and `Frame` is `Copy` (nothing to drop); not `pop`,
        // for the reason given in `enter!`.
        unsafe { c.frames.set_len(saved - 1) };
        // Same instance, hence the same module and memory 0 as the callee's frame.
        c.frame.func = func;
        c.frame.base = base;
        c.frame.pc = pc;
        c.depth -= 1;
        let caller_start = c.frame.func().threaded.as_ptr();
        // SAFETY: the caller's frame lies inside the value stack, and its saved `pc`
        // is the op after its call.
        let (caller_regs, resume) = unsafe { (c.stack.add(base), caller_start.add(pc)) };
        // With fuel, the run after the call (it ended one) is charged here.
        if $fuel {
            next_charging!(resume, caller_regs, $mem, $len, $ctx, 0, 0.0)
        }
        next!(resume, caller_regs, $mem, $len, $ctx, 0, 0.0)
    }};
}

handler! {
    /// A return to a caller of the same instance runs here; the return from the
    /// first frame of the run, or to another instance, exits.
    pub(super) fn ret<const FUEL: bool>(ip, regs, mem, len, ctx, iacc, acc) {
        if LOOP_MODE {
            exit!(ip)
        }
        operands!(ip, Op::Return { start: from, count });
        leave!(FUEL, ip, mem, len, ctx, if from != 0 {
            // SAFETY: registers `0..count` and `from..from + count` are the
            // function's own (`crate::verify`).
            unsafe { fill_regs(regs, regs.add(from as usize), count as usize) };
        })
    }
}

handler! {
    /// `ret` for a function with one result, which it takes from the integer
    /// accumulator when that holds it (see `thread`): one move, and no
    /// branches on the count.
    pub(super) fn ret1<const FUEL: bool, const FROM_ACC: bool>(ip, regs, mem, len, ctx, iacc, acc) {
        if LOOP_MODE {
            exit!(ip)
        }
        operands!(ip, Op::Return { start: from, .. });
        // Register 0 and register `from` are the function's own (`crate::verify`).
        leave!(FUEL, ip, mem, len, ctx, reg!(regs, 0) = int_operand!(FROM_ACC, iacc, regs, from))
    }
}
