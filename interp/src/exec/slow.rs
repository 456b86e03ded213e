//! The slow path of the executor: any op, run one at a time, and the loop that
//! takes turns with the fast path.
//!
//! [`execute`] runs a frame until it returns. Each turn of its loop lets the
//! fast path ([`threaded`](super::threaded)) run ops until one exits, then runs
//! that one op here ([`Executor::step`]) and goes back to the fast path after
//! it. Ops come here when the fast path has no handler for them or leaves the
//! case at hand to this path: calls to imports, to other instances or to
//! functions not yet translated, tail calls, `ref.func` and `ref.is_null`,
//! accesses to memories other than a 32-bit memory 0, bulk memory and table
//! operations, and any op about to trap (the trap, with its message, is raised
//! here). In loop mode (no `kiln_tail_dispatch`, see `build.rs`) every call
//! and return comes here too.
//!
//! Every op is run here, by family: register arithmetic in [`numeric`],
//! branches in [`branches`], memory accesses in [`memory`], calls and returns
//! in [`calls`], vector ops in [`vector`], globals, `ref.func`, fuel and epochs in this
//! file, bulk operations in [`bulk`](super::bulk); their meaning comes from
//! the one definition each has (see `for_each_binary_op!` and `num`). A handler of the fast path is a faster
//! copy of the common case of one of them. The family methods are inlined into
//! the loop (`#[inline(always)]`), so the split into files costs no calls, and
//! [`Executor::step`] matches the ops that come here often (calls and returns,
//! all of them in loop mode; loads and stores, all of them on a 64-bit memory)
//! one by one, so that each is one jump away from the loop.

use std::any::Any;
use std::ops::ControlFlow;
use std::ptr::NonNull;

use kiln_runtime::{RawRef, Store, Trap, TrapCode};

use super::frames::{Modules, ensure_stack, half};
use super::threaded::{self, Threaded};
use super::{Frame, bulk};
use crate::bytecode::{Op, Reg};

/// Register `$r` of the running frame, as a place; `$regs` is the executor's
/// [`regs`](Executor::regs).
macro_rules! reg {
    ($regs:expr, $r:expr) => {
        // SAFETY: every register an op names is below its function's `frame_size`
        // (checked by `crate::verify`), and `regs` points to the running frame's registers, with
        // that many slots of the value stack behind it (see `Executor`).
        *unsafe { &mut *$regs.add($r as usize) }
    };
}

/// The high half of register `$r` (see `frames::half`), as a place; `$regs`
/// and `$half` are the executor's [`regs`](Executor::regs) and
/// [`half`](Executor::half).
macro_rules! hi {
    ($regs:expr, $half:expr, $r:expr) => {
        // SAFETY: as for `reg!`: the register is below the frame size, and the
        // value stack holds the high halves of all its registers `half` slots up.
        *unsafe { &mut *$regs.add($half + $r as usize) }
    };
}

mod branches;
mod calls;
mod exceptions;
mod gc;
mod memory;
mod numeric;
mod vector;

/// One execution's state: the store, the value stack, the running frame and
/// raw views of it.
///
/// The raw views (`start`, `regs`, `mem0`, `fast_len`) are taken again
/// ([`refresh`](Executor::refresh)) whenever the frame changes, the stack may
/// have been reallocated (calls) or memory 0 may have changed size (calls,
/// host calls, `memory.grow` and other bulk operations). So whenever an op
/// runs, `regs` points to the running frame's registers with the function's
/// `frame_size` slots of `stack` behind it, which the ops' register accesses
/// (`reg!`) rely on.
struct Executor<'a> {
    store: &'a mut Store,
    /// The embedder's data, passed to host functions.
    data: &'a mut dyn Any,
    /// The value stack that all frames of this execution share.
    stack: &'a mut Vec<u64>,
    /// The modules whose functions the frames run (see [`Frame`]).
    modules: &'a mut Modules,
    /// The fast path's context, which also holds the running frame and its
    /// callers. A reference, so that the executor needs no drop: the compiler
    /// then keeps its fields in registers.
    ctx: &'a mut threaded::Ctx,
    /// Index of the running frame's next op.
    pc: usize,
    /// Stack index of the running frame's register 0.
    base: usize,
    /// The running function's threaded code.
    start: *const Threaded,
    /// The running frame's registers, `stack[base..]`.
    regs: *mut u64,
    /// How far above a register's slot its high half is (`frames::half`).
    half: usize,
    /// Memory 0's base and accessible length (dangling and empty if there is none).
    mem0: (NonNull<u8>, usize),
    /// Memory 0's length for the fast path, which handles 32-bit memories only
    /// (a length of 0 sends every access to the slow path).
    fast_len: usize,
}

/// Runs `frame` (already on the stack) until it returns, leaving its results
/// at `stack[frame.base..]`.
pub(super) fn execute(
    store: &mut Store,
    data: &mut dyn Any,
    stack: &mut Vec<u64>,
    frame: Frame,
    modules: &mut Modules,
) -> Result<(), Trap> {
    ensure_stack(stack, frame.base + frame.func().frame_size as usize)?;
    let mut ctx = threaded::Ctx {
        fuel: 0,
        epoch: std::ptr::null(),
        epoch_deadline: 0,
        stack_limit: threaded::stack_limit(),
        globals: std::ptr::null_mut(),
        instance_globals: std::ptr::null(),
        frame,
        frames: Vec::new(),
        store: std::ptr::null(),
        table0: &[],
        sigs: &[],
        funcs: &[],
        own_funcs: &[],
        num_imported_funcs: 0,
        native: &threaded::NEVER_NATIVE,
        depth: 0,
        max_depth: store.limits.max_call_depth,
        stack: std::ptr::null_mut(),
        stack_len: 0,
    };
    let mut exec = Executor {
        store,
        data,
        stack,
        modules,
        ctx: &mut ctx,
        pc: 0,
        base: frame.base,
        start: std::ptr::null(),
        regs: std::ptr::null_mut(),
        half: 0,
        mem0: (NonNull::dangling(), 0),
        fast_len: 0,
    };
    exec.refresh();
    loop {
        let op = exec.run_fast();
        match exec.step(op) {
            Ok(flow) if flow.is_break() => return Ok(()),
            Ok(_) => {}
            Err(trap) => match trap.as_exception() {
                Some(exn) => exec.unwind(exn)?,
                None => return Err(trap),
            },
        }
    }
}

impl Executor<'_> {
    /// Takes the raw views of the running frame again (see [`Executor`]).
    #[inline(always)]
    fn refresh(&mut self) {
        self.start = self.ctx.frame.func().threaded.as_ptr();
        self.regs = self.stack.as_mut_ptr().wrapping_add(self.base);
        self.half = half(self.stack);
        self.mem0 = memory0(self.store, &self.ctx.frame);
        self.fast_len = match self.ctx.frame.mem0 {
            Some((_, false)) => self.mem0.1,
            _ => 0,
        };
    }

    /// Lets the fast path run ops from `pc` until one needs the slow path (a
    /// call, a return, a trap...); returns that op, with `pc` after it.
    #[inline(always)]
    fn run_fast(&mut self) -> Op {
        self.enter_fast();
        // SAFETY: `pc` is 0, a jump target or landing pad (checked to be inside `code`
        // by `crate::verify`), or follows an op that is not the last: every function's
        // code ends with an `Unreachable` sentinel (checked likewise), so execution
        // never runs past the end.
        // `threaded` is `code` with handlers, of the same length; registers and memory
        // are as for the ops of the slow path (see `Executor`).
        let at = unsafe {
            threaded::run(
                self.start.add(self.pc),
                self.regs,
                self.mem0.0.as_ptr(),
                self.fast_len,
                &mut *self.ctx,
                self.start,
            )
        };
        self.store.fuel = self.ctx.fuel;
        self.store.depth = self.ctx.depth;
        // Calls and returns on the fast path may have changed the current frame
        // (always to one of the same instance: memory 0 is unchanged).
        self.base = self.ctx.frame.base;
        let code = self.ctx.frame.func().code.as_ptr();
        self.start = self.ctx.frame.func().threaded.as_ptr();
        self.regs = self.stack.as_mut_ptr().wrapping_add(self.base);
        // SAFETY: `run` returns an op of the current frame's code.
        self.pc = unsafe { at.offset_from(self.start) } as usize;
        // SAFETY: `pc` is inside `code`, as above.
        let op = unsafe { *code.add(self.pc) };
        self.pc += 1;
        op
    }

    /// Gives the fast path's context the views of the store it reads, taken
    /// again before each run since the slow path may have changed them.
    #[inline(always)]
    fn enter_fast(&mut self) {
        let (ctx, store) = (&mut *self.ctx, &mut *self.store);
        ctx.fuel = store.fuel;
        ctx.epoch = std::sync::Arc::as_ptr(&store.epoch.counter);
        ctx.epoch_deadline = store.epoch.deadline();
        ctx.depth = store.depth;
        ctx.globals = store.globals.as_mut_ptr();
        ctx.stack = self.stack.as_mut_ptr();
        ctx.stack_len = half(self.stack);
        ctx.store = &raw const *store;
        let inst = &store.instances[ctx.frame.instance.index()];
        ctx.instance_globals = inst.globals.as_ptr();
        ctx.table0 = match inst.tables.first().map(|t| &store.tables[t.index()]) {
            Some(t) if t.ty().index == kiln_parser::IndexType::I32 => t.elems(),
            _ => &[],
        };
        ctx.sigs = inst.sigs.as_slice();
        ctx.funcs = store.funcs.as_slice();
        let module = ctx.frame.module();
        // Under the tiered strategy, once the module has native code, its
        // calls leave the fast path for the slow one, which calls native
        // code (`frames::resolve`).
        let native = match inst.code.downcast_ref::<kiln_runtime::invoke::TieredCode>() {
            Some(tiered) if store.wasm_invoke.is_some() => &tiered.native,
            _ => &threaded::NEVER_NATIVE,
        };
        ctx.own_funcs = match native.get() {
            Some(_) => &[],
            None => module.own_funcs(),
        };
        ctx.native = native;
        ctx.num_imported_funcs = module.num_imported_funcs();
        // Room for the fast path's calls, which never grow `frames` themselves.
        if ctx.frames.len() == ctx.frames.capacity() {
            ctx.frames.reserve(64);
        }
    }

    /// Runs `op`, the op before `pc`, by family; breaks when it returned from
    /// the frame the execution started with.
    #[inline(always)]
    fn step(&mut self, op: Op) -> Result<ControlFlow<()>, Trap> {
        match op {
            Op::Call { func, args } => self.call(self.func_addr(func), args)?,
            Op::CallIndirect { index, args, site } => {
                let addr = self.indirect_target(site, index)?;
                self.call(addr, args)?;
            }
            Op::ReturnCall { func, args } => return self.return_call(self.func_addr(func), args),
            Op::ReturnCallIndirect { index, args, site } => {
                let addr = self.indirect_target(site, index)?;
                return self.return_call(addr, args);
            }
            Op::Return { start, count } => return Ok(self.ret(start, count)),
            Op::CallRef { func, args } => {
                let addr = self.func_ref(func)?;
                self.call(addr, args)?;
            }
            Op::ReturnCallRef { func, args } => {
                let addr = self.func_ref(func)?;
                return self.return_call(addr, args);
            }
            Op::RefAsNonNull { src } => {
                if reg!(self.regs, src) == 0 {
                    return Err(TrapCode::NullReference.into());
                }
            }
            Op::Gc { args, site } => self.gc(args, site)?,
            Op::Throw { tag, args } => return Err(self.throw(tag, args)),
            Op::ThrowRef { src } => return Err(self.throw_ref(src)),
            Op::Load {
                kind,
                dst,
                addr,
                offset,
            } => self.load0(kind, dst, self.ea(addr, offset)?)?,
            Op::Store {
                kind,
                addr,
                val,
                offset,
            } => self.store0(kind, val, self.ea(addr, offset)?)?,
            Op::LoadWrapped {
                kind,
                dst,
                addr,
                imm,
            } => self.load0(kind, dst, self.wrapped(addr, imm))?,
            Op::StoreWrapped {
                kind,
                addr,
                val,
                imm,
            } => self.store0(kind, val, self.wrapped(addr, imm))?,
            Op::LoadScaled {
                kind,
                shift,
                dst,
                base,
                index,
            } => self.load0(kind, dst, self.scaled(base, index, shift))?,
            Op::StoreScaled {
                kind,
                shift,
                base,
                index,
                val,
            } => self.store0(kind, val, self.scaled(base, index, shift))?,
            Op::LoadExt {
                kind,
                dst,
                addr,
                memarg,
            } => self.load_ext(kind, dst, addr, memarg)?,
            Op::StoreExt {
                kind,
                addr,
                val,
                memarg,
            } => self.store_ext(kind, addr, val, memarg)?,
            Op::Unreachable => return Err(TrapCode::Unreachable.into()),
            Op::Fuel { cost } => self.charge(cost)?,
            Op::Epoch => self.epoch()?,
            Op::GlobalGet { dst, global } => self.global_get(dst, global),
            Op::GlobalSet { global, src } => self.global_set(global, src),
            Op::RefFunc { dst, func } => {
                let addr = self.func_addr(func);
                reg!(self.regs, dst) = u64::from(RawRef::from_addr(addr.0).0);
            }
            bulk_op_pattern!() => self.bulk(op)?,
            Op::CopyHi { .. }
            | Op::CopyWide { .. }
            | Op::SelectHi { .. }
            | Op::V128Const { .. }
            | Op::VUnary { .. }
            | Op::VBinary { .. }
            | Op::VTernary { .. }
            | Op::Shuffle { .. }
            | Op::ExtractLane { .. }
            | Op::ReplaceLane { .. }
            | Op::LoadLane { .. }
            | Op::StoreLane { .. }
            | Op::GlobalGetV128 { .. }
            | Op::GlobalSetV128 { .. }
            | Op::CanonF32x4 { .. }
            | Op::CanonF64x2 { .. } => self.vector(op)?,
            Op::Br { .. }
            | Op::BrIfNez { .. }
            | Op::BrIfEqz { .. }
            | Op::BrIfFloat { .. }
            | Op::BrTable { .. }
            | for_each_binary_op!(compare_branch_pattern) => self.branch(op),
            Op::Nop
            | Op::Copy { .. }
            | Op::Copy2 { .. }
            | Op::Const32 { .. }
            | Op::Const64 { .. }
            | Op::I32AddImm { .. }
            | Op::I64AddImm { .. }
            | Op::I32AddShl { .. }
            | Op::Unary { .. }
            | Op::Binary { .. }
            | Op::Select { .. }
            | Op::CanonF32 { .. }
            | Op::CanonF64 { .. }
            | Op::RefIsNull { .. }
            | for_each_binary_op!(binary_op_pattern) => self.numeric(op)?,
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Charges the `cost` of a metered run; if too little fuel is left, a
    /// resumable call waits for more ([`Executor::wait_for_fuel`]), any other
    /// traps with `out of fuel`.
    #[inline(always)]
    fn charge(&mut self, cost: u32) -> Result<(), Trap> {
        let cost = u64::from(cost);
        if self.store.fuel < cost {
            self.wait_for_fuel(cost)?;
        }
        self.store.fuel -= cost;
        Ok(())
    }

    /// Until the store holds `needed` fuel: suspends a resumable call of this
    /// store (`kiln_runtime::resumable`), then takes again what the executor
    /// caches from the store, which the host may have changed meanwhile.
    ///
    /// # Errors
    ///
    /// `out of fuel` outside a resumable call, or when the host cancels it.
    #[cold]
    #[inline(never)]
    fn wait_for_fuel(&mut self, needed: u64) -> Result<(), Trap> {
        kiln_runtime::resumable::wait_for_fuel(self.store, needed)?;
        self.refresh();
        Ok(())
    }

    /// An epoch check: the deadline reached runs the store's callback, or traps
    /// with `interrupt`.
    #[inline(always)]
    fn epoch(&mut self) -> Result<(), Trap> {
        if !self.store.epoch.reached() {
            return Ok(());
        }
        kiln_runtime::epoch::deadline_reached(self.store, self.data)?;
        // The callback may have changed the store (grown memory 0, for one).
        self.refresh();
        Ok(())
    }

    /// `global.get` of the running instance's global `global` into register `dst`.
    #[inline(always)]
    fn global_get(&mut self, dst: Reg, global: u32) {
        let g = self.store.instances[self.ctx.frame.instance.index()].globals[global as usize];
        reg!(self.regs, dst) = self.store.globals[g.index()].bits as u64;
    }

    /// `global.set` of the running instance's global `global` from register `src`.
    #[inline(always)]
    fn global_set(&mut self, global: u32, src: Reg) {
        let g = self.store.instances[self.ctx.frame.instance.index()].globals[global as usize];
        self.store.globals[g.index()].bits = u128::from(reg!(self.regs, src));
    }

    /// A memory or table operation other than a load or a store (see [`bulk`]).
    #[inline(always)]
    fn bulk(&mut self, op: Op) -> Result<(), Trap> {
        let metered = self.ctx.frame.module().options.fuel;
        bulk::execute(
            self.store,
            &self.ctx.frame,
            self.stack,
            self.base,
            op,
            metered,
        )?;
        self.refresh();
        Ok(())
    }
}

/// Base and length of `frame`'s memory 0 (dangling and empty if it has none).
fn memory0(store: &Store, frame: &Frame) -> (NonNull<u8>, usize) {
    match frame.mem0 {
        Some((m, _)) => {
            let view = store.memories[m].view();
            (view.base, view.len)
        }
        None => (NonNull::dangling(), 0),
    }
}
