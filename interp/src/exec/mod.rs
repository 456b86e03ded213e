//! The interpreter's executor: one loop over the current function's ops.
//!
//! All WebAssembly frames of one host-to-wasm entry share a value stack of
//! 64-bit slots; a frame's registers are the window starting at its `base`.
//! A call places the callee's base at the caller's first argument register,
//! so arguments are passed and results returned in place, without copying.
//! Calls push the caller onto a `Vec` of frames rather than recursing, so
//! only host functions that call back into WebAssembly use native stack.

mod bulk;
mod frames;
mod memory;
mod threaded;

pub use threaded::stack_rescues;
pub(crate) use threaded::{Threaded, thread};

use std::any::Any;
use std::ptr::NonNull;

use kiln_runtime::invoke::WasmFunc;
use kiln_runtime::{FuncAddr, RawRef, Store, Trap, TrapCode, Val};

pub(crate) use frames::Frame;
use frames::{
    Callee, Modules, call_host, ensure_stack, enter, finish_return, frame_for, indirect_target,
    init_frame, resolve, slot_of, tail_call,
};

use crate::CompiledModule;
use crate::bytecode::Op;
use crate::num;

/// Calls `func` with `args`, writing its results to `results`.
///
/// The caller checks that `args` and `results` match the function's type. The
/// store's call depth is the same after the call as before it, trap or not.
/// (What does not depend on the tier is `kiln_runtime::invoke`'s, shared with
/// the JIT.)
///
/// # Errors
///
/// The trap that ended execution.
pub fn invoke(
    store: &mut Store,
    data: &mut dyn Any,
    func: FuncAddr,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    kiln_runtime::invoke::invoke(store, data, func, args, results, run)
}

/// Runs WebAssembly function `func` called from the host, on a fresh value stack.
fn run(
    store: &mut Store,
    data: &mut dyn Any,
    func: WasmFunc<CompiledModule>,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    let module = func.code;
    let code = module.func(func.def_index);
    if store.depth >= store.limits.max_call_depth {
        return Err(TrapCode::CallStackExhausted.into());
    }
    store.depth += 1;
    let mut stack = vec![0u64; (code.frame_size as usize).max(1024)];
    for (slot, a) in stack.iter_mut().zip(args) {
        *slot = slot_of(a);
    }
    init_frame(&mut stack, 0, &code);
    let mut modules = Modules::default();
    let callee = NonNull::from(&*code);
    let frame = frame_for(store, modules.hold(module), func.instance, callee, 0);
    execute(store, data, &mut stack, frame, &mut modules)?;
    let ty = store.sig(func.sig);
    for ((r, t), s) in results.iter_mut().zip(ty.results.iter()).zip(&stack) {
        *r = Val::from_bits(*t, u128::from(*s));
    }
    Ok(())
}

/// Runs `frame` (already on the stack) until it returns; results end at `stack[ctx.frame.base..]`.
fn execute(
    store: &mut Store,
    data: &mut dyn Any,
    stack: &mut Vec<u64>,
    frame: Frame,
    modules: &mut Modules,
) -> Result<(), Trap> {
    let mut pc = 0usize;
    let mut base = frame.base;
    ensure_stack(stack, base + frame.func().frame_size as usize)?;
    let mut ctx = threaded::Ctx {
        fuel: 0,
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
        depth: 0,
        max_depth: store.limits.max_call_depth,
        stack: std::ptr::null_mut(),
        stack_len: 0,
    };

    // Raw views of the current frame, taken again (`refresh!`) whenever the frame
    // changes, the stack may have been reallocated (calls) or memory 0 may have
    // changed size (calls, host calls, `memory.grow` and other bulk operations).
    let mut code: *const Op;
    let mut start: *const Threaded;
    let mut regs: *mut u64;
    let mut mem0: (NonNull<u8>, usize);
    // Memory 0's length for the fast path, which handles 32-bit memories only
    // (a length of 0 sends every access to the slow path).
    let mut fast_len: usize;
    macro_rules! refresh {
        () => {
            start = ctx.frame.func().threaded.as_ptr();
            regs = stack.as_mut_ptr().wrapping_add(base);
            mem0 = memory0(store, &ctx.frame);
            fast_len = match ctx.frame.mem0 {
                Some((_, false)) => mem0.1,
                _ => 0,
            };
        };
    }
    refresh!();

    /// Register `$r` of the current frame, as a place.
    macro_rules! r {
        ($r:expr) => {
            // SAFETY: every register is below `frame_size` (translation), `stack` holds
            // `base + frame_size` slots (`ensure_stack` on entry), and `regs` is re-derived
            // from `stack` after anything that could reallocate it.
            *unsafe { &mut *regs.add($r as usize) }
        };
    }
    /// Effective address of a memory-0 access.
    macro_rules! ea {
        ($addr:expr, $offset:expr) => {
            match ctx.frame.mem0 {
                Some((_, true)) => r!($addr).checked_add(u64::from($offset)),
                _ => Some(u64::from(r!($addr) as u32) + u64::from($offset)),
            }
        };
    }
    /// Memory 0's bytes.
    macro_rules! mem0 {
        () => {
            // SAFETY: `mem0` is memory 0's base and accessible length, taken after the last
            // operation that could grow it; bases never move (growth is in place), and
            // nothing else borrows the bytes while this slice lives.
            unsafe { std::slice::from_raw_parts_mut(mem0.0.as_ptr(), mem0.1) }
        };
    }

    /// Calls function `$addr` with arguments from register `$args`: a WebAssembly
    /// callee becomes the current frame, a host callee runs to completion.
    macro_rules! call {
        ($addr:expr, $args:expr) => {
            let callee_base = base + $args as usize;
            match resolve(store, &ctx.frame, $addr, callee_base, modules)? {
                Callee::Wasm(callee) => {
                    if store.depth >= store.limits.max_call_depth {
                        return Err(TrapCode::CallStackExhausted.into());
                    }
                    store.depth += 1;
                    enter(stack, &callee)?;
                    ctx.frame.pc = pc;
                    ctx.frames.push(std::mem::replace(&mut ctx.frame, callee));
                    pc = 0;
                    base = callee_base;
                    refresh!();
                }
                Callee::Host(host, sig) => {
                    call_host(
                        store,
                        data,
                        ctx.frame.instance,
                        &host,
                        sig,
                        stack,
                        callee_base,
                    )?;
                    refresh!();
                }
            }
        };
    }

    /// Replaces the current frame by a call to `$addr` with arguments from register
    /// `$args`; a host callee's results are returned at once.
    macro_rules! tail {
        ($addr:expr, $args:expr) => {
            tail_call(store, data, stack, &mut ctx.frame, $addr, $args, modules)?;
            pc = ctx.frame.pc;
            refresh!();
            if pc == usize::MAX {
                // The callee was a host function: return its results.
                match finish_return(store, &mut ctx.frames, &mut ctx.frame) {
                    None => return Ok(()),
                    Some(()) => {
                        pc = ctx.frame.pc;
                        base = ctx.frame.base;
                        refresh!();
                    }
                }
            }
        };
    }

    loop {
        // The fast path runs ops until one needs this loop (a call, a return, a trap...).
        ctx.fuel = store.fuel;
        ctx.depth = store.depth;
        ctx.globals = store.globals.as_mut_ptr();
        ctx.stack = stack.as_mut_ptr();
        ctx.stack_len = stack.len();
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
        ctx.own_funcs = module.own_funcs();
        ctx.num_imported_funcs = module.num_imported_funcs();
        // Room for the fast path's calls, which never grow `frames` themselves.
        if ctx.frames.len() == ctx.frames.capacity() {
            ctx.frames.reserve(64);
        }
        // SAFETY: `pc` is 0 or a jump target (checked to be inside `code` at
        // translation), or follows an op that is not the last: every function's code
        // ends with an `Unreachable` sentinel, so execution never runs past the end.
        // `threaded` is `code` with handlers, of the same length; registers and memory
        // are as for the ops below.
        let at = unsafe {
            threaded::run(
                start.add(pc),
                regs,
                mem0.0.as_ptr(),
                fast_len,
                &mut ctx,
                start,
            )
        };
        store.fuel = ctx.fuel;
        store.depth = ctx.depth;
        // Calls and returns on the fast path may have changed the current frame
        // (always to one of the same instance: memory 0 is unchanged).
        base = ctx.frame.base;
        code = ctx.frame.func().code.as_ptr();
        start = ctx.frame.func().threaded.as_ptr();
        regs = stack.as_mut_ptr().wrapping_add(base);
        // SAFETY: `run` returns an op of the current frame's code.
        pc = unsafe { at.offset_from(start) } as usize;
        // SAFETY: `pc` is inside `code`, as above.
        let op = unsafe { *code.add(pc) };
        pc += 1;
        match op {
            Op::Nop => {}
            Op::Copy { dst, src } => r!(dst) = r!(src),
            Op::Copy2 { dst, a, b } => {
                r!(dst) = r!(a);
                r!(dst + 1) = r!(b);
            }
            Op::Const32 { dst, val } => r!(dst) = u64::from(val),
            Op::Const64 { dst, val } => r!(dst) = val,
            Op::I32AddImm { dst, a, imm } => r!(dst) = u64::from((r!(a) as u32).wrapping_add(imm)),
            Op::I64AddImm { dst, a, imm } => r!(dst) = r!(a).wrapping_add(imm as i64 as u64),
            Op::I32AddShl { dst, a, b, shift } => {
                r!(dst) = u64::from((r!(a) as u32).wrapping_add((r!(b) as u32) << (shift & 31)))
            }
            Op::Unary { op, dst, src } => r!(dst) = num::unary(op, r!(src))?,
            Op::Binary { op, dst, a, b } => r!(dst) = num::binary(op, r!(a), r!(b))?,
            Op::I32Add { dst, a, b } => {
                r!(dst) = u64::from((r!(a) as u32).wrapping_add(r!(b) as u32))
            }
            Op::I32Sub { dst, a, b } => {
                r!(dst) = u64::from((r!(a) as u32).wrapping_sub(r!(b) as u32))
            }
            Op::I32Mul { dst, a, b } => {
                r!(dst) = u64::from((r!(a) as u32).wrapping_mul(r!(b) as u32))
            }
            Op::I32And { dst, a, b } => r!(dst) = u64::from(r!(a) as u32 & r!(b) as u32),
            Op::I32Or { dst, a, b } => r!(dst) = u64::from(r!(a) as u32 | r!(b) as u32),
            Op::I32Xor { dst, a, b } => r!(dst) = u64::from(r!(a) as u32 ^ r!(b) as u32),
            Op::I32Shl { dst, a, b } => {
                r!(dst) = u64::from((r!(a) as u32).wrapping_shl(r!(b) as u32))
            }
            Op::I32ShrS { dst, a, b } => {
                r!(dst) = u64::from((r!(a) as i32).wrapping_shr(r!(b) as u32) as u32)
            }
            Op::I32ShrU { dst, a, b } => {
                r!(dst) = u64::from((r!(a) as u32).wrapping_shr(r!(b) as u32))
            }
            Op::I32Eq { dst, a, b } => r!(dst) = u64::from(r!(a) as u32 == r!(b) as u32),
            Op::I32Ne { dst, a, b } => r!(dst) = u64::from(r!(a) as u32 != r!(b) as u32),
            Op::I32LtS { dst, a, b } => r!(dst) = u64::from((r!(a) as i32) < (r!(b) as i32)),
            Op::I32LtU { dst, a, b } => r!(dst) = u64::from((r!(a) as u32) < (r!(b) as u32)),
            Op::I32GtS { dst, a, b } => r!(dst) = u64::from((r!(a) as i32) > (r!(b) as i32)),
            Op::I32GtU { dst, a, b } => r!(dst) = u64::from((r!(a) as u32) > (r!(b) as u32)),
            Op::I32LeS { dst, a, b } => r!(dst) = u64::from((r!(a) as i32) <= (r!(b) as i32)),
            Op::I32LeU { dst, a, b } => r!(dst) = u64::from((r!(a) as u32) <= (r!(b) as u32)),
            Op::I32GeS { dst, a, b } => r!(dst) = u64::from((r!(a) as i32) >= (r!(b) as i32)),
            Op::I32GeU { dst, a, b } => r!(dst) = u64::from((r!(a) as u32) >= (r!(b) as u32)),
            Op::I64Add { dst, a, b } => r!(dst) = r!(a).wrapping_add(r!(b)),
            Op::I64Sub { dst, a, b } => r!(dst) = r!(a).wrapping_sub(r!(b)),
            Op::I64Mul { dst, a, b } => r!(dst) = r!(a).wrapping_mul(r!(b)),
            Op::I64And { dst, a, b } => r!(dst) = r!(a) & r!(b),
            Op::I64Or { dst, a, b } => r!(dst) = r!(a) | r!(b),
            Op::I64Xor { dst, a, b } => r!(dst) = r!(a) ^ r!(b),
            Op::I64Shl { dst, a, b } => r!(dst) = r!(a).wrapping_shl(r!(b) as u32),
            Op::I64ShrS { dst, a, b } => r!(dst) = (r!(a) as i64).wrapping_shr(r!(b) as u32) as u64,
            Op::I64ShrU { dst, a, b } => r!(dst) = r!(a).wrapping_shr(r!(b) as u32),
            Op::I64Eq { dst, a, b } => r!(dst) = u64::from(r!(a) == r!(b)),
            Op::I64Ne { dst, a, b } => r!(dst) = u64::from(r!(a) != r!(b)),
            Op::I64LtS { dst, a, b } => r!(dst) = u64::from((r!(a) as i64) < (r!(b) as i64)),
            Op::I64LtU { dst, a, b } => r!(dst) = u64::from(r!(a) < r!(b)),
            Op::I64GtS { dst, a, b } => r!(dst) = u64::from((r!(a) as i64) > (r!(b) as i64)),
            Op::I64GtU { dst, a, b } => r!(dst) = u64::from(r!(a) > r!(b)),
            Op::I64LeS { dst, a, b } => r!(dst) = u64::from((r!(a) as i64) <= (r!(b) as i64)),
            Op::I64LeU { dst, a, b } => r!(dst) = u64::from(r!(a) <= r!(b)),
            Op::I64GeS { dst, a, b } => r!(dst) = u64::from((r!(a) as i64) >= (r!(b) as i64)),
            Op::I64GeU { dst, a, b } => r!(dst) = u64::from(r!(a) >= r!(b)),
            Op::F32Add { dst, a, b } => r!(dst) = f32_op(r!(a), r!(b), |x, y| x + y),
            Op::F32Sub { dst, a, b } => r!(dst) = f32_op(r!(a), r!(b), |x, y| x - y),
            Op::F32Mul { dst, a, b } => r!(dst) = f32_op(r!(a), r!(b), |x, y| x * y),
            Op::F32Div { dst, a, b } => r!(dst) = f32_op(r!(a), r!(b), |x, y| x / y),
            Op::F64Add { dst, a, b } => r!(dst) = f64_op(r!(a), r!(b), |x, y| x + y),
            Op::F64Sub { dst, a, b } => r!(dst) = f64_op(r!(a), r!(b), |x, y| x - y),
            Op::F64Mul { dst, a, b } => r!(dst) = f64_op(r!(a), r!(b), |x, y| x * y),
            Op::F64Div { dst, a, b } => r!(dst) = f64_op(r!(a), r!(b), |x, y| x / y),
            Op::Select { a, b, cond } => {
                if r!(cond) as u32 == 0 {
                    r!(a) = r!(b);
                }
            }
            Op::Br { target } => pc = target as usize,
            Op::BrIfFloat { cmp, a, b, target } => {
                if cmp.holds(r!(a), r!(b)) {
                    pc = target as usize;
                }
            }
            Op::BrIfNez { cond, target } => {
                if r!(cond) as u32 != 0 {
                    pc = target as usize;
                }
            }
            Op::BrIfEqz { cond, target } => {
                if r!(cond) as u32 == 0 {
                    pc = target as usize;
                }
            }
            Op::BrIfI32And { a, b, target } => {
                if (r!(a) as u32) & (r!(b) as u32) != 0 {
                    pc = target as usize;
                }
            }
            Op::BrIfI32NotAnd { a, b, target } => {
                if (r!(a) as u32) & (r!(b) as u32) == 0 {
                    pc = target as usize;
                }
            }
            Op::BrIfI32Eq { a, b, target } => {
                if (r!(a) as u32) == (r!(b) as u32) {
                    pc = target as usize;
                }
            }
            Op::BrIfI32Ne { a, b, target } => {
                if (r!(a) as u32) != (r!(b) as u32) {
                    pc = target as usize;
                }
            }
            Op::BrIfI32LtS { a, b, target } => {
                if (r!(a) as i32) < (r!(b) as i32) {
                    pc = target as usize;
                }
            }
            Op::BrIfI32LtU { a, b, target } => {
                if (r!(a) as u32) < (r!(b) as u32) {
                    pc = target as usize;
                }
            }
            Op::BrIfI32GtS { a, b, target } => {
                if (r!(a) as i32) > (r!(b) as i32) {
                    pc = target as usize;
                }
            }
            Op::BrIfI32GtU { a, b, target } => {
                if (r!(a) as u32) > (r!(b) as u32) {
                    pc = target as usize;
                }
            }
            Op::BrIfI32LeS { a, b, target } => {
                if (r!(a) as i32) <= (r!(b) as i32) {
                    pc = target as usize;
                }
            }
            Op::BrIfI32LeU { a, b, target } => {
                if (r!(a) as u32) <= (r!(b) as u32) {
                    pc = target as usize;
                }
            }
            Op::BrIfI32GeS { a, b, target } => {
                if (r!(a) as i32) >= (r!(b) as i32) {
                    pc = target as usize;
                }
            }
            Op::BrIfI32GeU { a, b, target } => {
                if (r!(a) as u32) >= (r!(b) as u32) {
                    pc = target as usize;
                }
            }
            Op::BrIfI64Eq { a, b, target } => {
                if r!(a) == r!(b) {
                    pc = target as usize;
                }
            }
            Op::BrIfI64Ne { a, b, target } => {
                if r!(a) != r!(b) {
                    pc = target as usize;
                }
            }
            Op::BrIfI64LtS { a, b, target } => {
                if (r!(a) as i64) < (r!(b) as i64) {
                    pc = target as usize;
                }
            }
            Op::BrIfI64LtU { a, b, target } => {
                if r!(a) < r!(b) {
                    pc = target as usize;
                }
            }
            Op::BrIfI64GtS { a, b, target } => {
                if (r!(a) as i64) > (r!(b) as i64) {
                    pc = target as usize;
                }
            }
            Op::BrIfI64GtU { a, b, target } => {
                if r!(a) > r!(b) {
                    pc = target as usize;
                }
            }
            Op::BrIfI64LeS { a, b, target } => {
                if (r!(a) as i64) <= (r!(b) as i64) {
                    pc = target as usize;
                }
            }
            Op::BrIfI64LeU { a, b, target } => {
                if r!(a) <= r!(b) {
                    pc = target as usize;
                }
            }
            Op::BrIfI64GeS { a, b, target } => {
                if (r!(a) as i64) >= (r!(b) as i64) {
                    pc = target as usize;
                }
            }
            Op::BrIfI64GeU { a, b, target } => {
                if r!(a) >= r!(b) {
                    pc = target as usize;
                }
            }
            Op::BrTable { index, len } => pc += (r!(index) as u32).min(len) as usize,
            Op::Return { start, count } => {
                let (start, count) = (base + start as usize, count as usize);
                if start != base {
                    if count == 1 {
                        stack[base] = stack[start];
                    } else {
                        stack.copy_within(start..start + count, base);
                    }
                }
                match ctx.frames.pop() {
                    None => return Ok(()),
                    Some(caller) => {
                        ctx.frame = caller;
                        pc = ctx.frame.pc;
                        base = ctx.frame.base;
                        store.depth -= 1;
                        refresh!();
                    }
                }
            }
            Op::Call { func, args } => {
                let addr = store.instances[ctx.frame.instance.index()].funcs[func as usize];
                call!(addr, args);
            }
            Op::CallIndirect { index, args, site } => {
                let addr = indirect_target(store, &ctx.frame, site, r!(index))?;
                call!(addr, args);
            }
            Op::ReturnCall { func, args } => {
                let addr = store.instances[ctx.frame.instance.index()].funcs[func as usize];
                tail!(addr, args);
            }
            Op::ReturnCallIndirect { index, args, site } => {
                let addr = indirect_target(store, &ctx.frame, site, r!(index))?;
                tail!(addr, args);
            }
            Op::Unreachable => return Err(TrapCode::Unreachable.into()),
            Op::CanonF32 { reg } => {
                if f32::from_bits(r!(reg) as u32).is_nan() {
                    r!(reg) = 0x7fc0_0000;
                }
            }
            Op::CanonF64 { reg } => {
                if f64::from_bits(r!(reg)).is_nan() {
                    r!(reg) = 0x7ff8_0000_0000_0000;
                }
            }
            Op::Fuel { cost } => {
                let cost = u64::from(cost);
                if store.fuel < cost {
                    return Err(TrapCode::OutOfFuel.into());
                }
                store.fuel -= cost;
            }
            Op::GlobalGet { dst, global } => {
                let g = store.instances[ctx.frame.instance.index()].globals[global as usize];
                r!(dst) = store.globals[g.index()].bits as u64;
            }
            Op::GlobalSet { global, src } => {
                let g = store.instances[ctx.frame.instance.index()].globals[global as usize];
                store.globals[g.index()].bits = u128::from(r!(src));
            }
            Op::RefFunc { dst, func } => {
                let f = store.instances[ctx.frame.instance.index()].funcs[func as usize];
                r!(dst) = u64::from(RawRef::from_addr(f.0).0);
            }
            Op::RefIsNull { dst, src } => r!(dst) = u64::from(r!(src) as u32 == 0),
            Op::Load {
                kind,
                dst,
                addr,
                offset,
            } => {
                let ea = ea!(addr, offset).ok_or(TrapCode::MemoryOutOfBounds)?;
                r!(dst) = memory::load(kind, mem0!(), ea)?;
            }
            Op::Store {
                kind,
                addr,
                val,
                offset,
            } => {
                let ea = ea!(addr, offset).ok_or(TrapCode::MemoryOutOfBounds)?;
                memory::store(kind, mem0!(), ea, r!(val))?;
            }
            Op::LoadWrapped {
                kind,
                dst,
                addr,
                imm,
            } => {
                let ea = u64::from((r!(addr) as u32).wrapping_add(imm));
                r!(dst) = memory::load(kind, mem0!(), ea)?;
            }
            Op::StoreWrapped {
                kind,
                addr,
                val,
                imm,
            } => {
                let ea = u64::from((r!(addr) as u32).wrapping_add(imm));
                memory::store(kind, mem0!(), ea, r!(val))?;
            }
            Op::LoadScaled {
                kind,
                shift,
                dst,
                base,
                index,
            } => {
                let ea = scaled(r!(base), r!(index), shift);
                r!(dst) = memory::load(kind, mem0!(), ea)?;
            }
            Op::StoreScaled {
                kind,
                shift,
                base,
                index,
                val,
            } => {
                let ea = scaled(r!(base), r!(index), shift);
                memory::store(kind, mem0!(), ea, r!(val))?;
            }
            Op::LoadExt {
                kind,
                dst,
                addr,
                memarg,
            } => {
                let (mem, offset) = ctx.frame.func().memargs[memarg as usize];
                let m = store.instances[ctx.frame.instance.index()].memories[mem as usize].index();
                let ea = effective(store, m, r!(addr), offset)?;
                r!(dst) = memory::load(kind, store.memories[m].data(), ea)?;
            }
            Op::StoreExt {
                kind,
                addr,
                val,
                memarg,
            } => {
                let (mem, offset) = ctx.frame.func().memargs[memarg as usize];
                let m = store.instances[ctx.frame.instance.index()].memories[mem as usize].index();
                let ea = effective(store, m, r!(addr), offset)?;
                memory::store(kind, store.memories[m].data_mut(), ea, r!(val))?;
            }
            other => {
                let metered = ctx.frame.module().options.fuel;
                bulk::execute(store, &ctx.frame, stack, base, other, metered)?;
                refresh!();
            }
        }
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

/// The address `(base + (index << shift)) mod 2^32` of a scaled access.
#[inline(always)]
fn scaled(base: u64, index: u64, shift: u8) -> u64 {
    u64::from((base as u32).wrapping_add((index as u32) << (shift & 31)))
}

/// Effective address of an access to store memory `m`.
fn effective(store: &Store, m: usize, addr: u64, offset: u64) -> Result<u64, Trap> {
    let addr = if store.memories[m].is_64() {
        addr
    } else {
        u64::from(addr as u32)
    };
    addr.checked_add(offset)
        .ok_or_else(|| TrapCode::MemoryOutOfBounds.into())
}

#[inline(always)]
fn f32_op(a: u64, b: u64, f: impl Fn(f32, f32) -> f32) -> u64 {
    u64::from(f(f32::from_bits(a as u32), f32::from_bits(b as u32)).to_bits())
}

#[inline(always)]
fn f64_op(a: u64, b: u64, f: impl Fn(f64, f64) -> f64) -> u64 {
    f(f64::from_bits(a), f64::from_bits(b)).to_bits()
}
