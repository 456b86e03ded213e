//! Pairing each op with its handler, and the accumulators that handlers
//! pass along (see [`thread`]).

use kiln_parser::{LoadOp, StoreOp};

use super::calls::ret1;
use super::vector::copy_wide;
use super::{
    ACC_A, ACC_B, ACC_NONE, Handler, Threaded, binary, binary_handler, br, br_if_eqz,
    br_if_float_handler, br_if_nez, br_table, calls, canon_f32, canon_f64, compare_branch_handler,
    const32, const64, copy, copy2, epoch, fuel, global_get, global_set, i32_add_imm, i32_add_shl,
    i64_add_imm, memory, nop, numeric, select, slow, unary,
};
use crate::bytecode::{Op, Reg};

/// What the accumulators hold after an op, as far as translation knows (see
/// [`thread`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Acc {
    /// The integer accumulator holds this register's bits.
    Int(Reg),
    /// The float accumulator holds this register's `f64`.
    Float(Reg),
}

impl Acc {
    /// The register the integer accumulator holds, if known.
    fn int(acc: Option<Acc>) -> Option<Reg> {
        match acc? {
            Acc::Int(r) => Some(r),
            Acc::Float(_) => None,
        }
    }

    /// The register the float accumulator holds, if known.
    fn float(acc: Option<Acc>) -> Option<Reg> {
        match acc? {
            Acc::Float(r) => Some(r),
            Acc::Int(_) => None,
        }
    }
}

/// Which of the operands `a` and `b` (an `ACC_*`) to take from an accumulator
/// holding register `held`.
fn operand_of(held: Option<Reg>, a: Reg, b: Reg) -> u8 {
    match held {
        Some(r) if r == a => ACC_A,
        Some(r) if r == b => ACC_B,
        _ => ACC_NONE,
    }
}

/// Which of the operands `a` and `b` to take from the integer accumulator.
pub(super) fn int_operand_of(acc: Option<Acc>, a: Reg, b: Reg) -> u8 {
    operand_of(Acc::int(acc), a, b)
}

/// Which of the operands `a` and `b` to take from the float accumulator.
pub(super) fn float_operand_of(acc: Option<Acc>, a: Reg, b: Reg) -> u8 {
    operand_of(Acc::float(acc), a, b)
}

/// The handler of `op`, the `at`-th op of its function, entered with the
/// accumulators holding `acc` (if known); and what they hold when that handler
/// goes on to the next op (see [`thread`]).
///
/// A jump gets its checked handler (`BACK`: the stack check of a backward
/// jump, and the charge of a `Fuel` op it goes on to, see `jump!` and
/// `fall_through!`) when it jumps backwards or goes on to a `Fuel` op
/// (`to_fuel`, [`jumps_to_fuel`]): a branch to a run, or a conditional branch
/// not taken before one, with fuel on, then charges it without dispatching
/// the `Fuel` op. A `BrTable` any of whose targets is one gets its charging
/// handler. With `metered` (the code holds `Fuel` ops), calls and returns get
/// the handlers that charge the run they go on to; code without fuel keeps
/// the ones that do not look.
pub(super) fn handler_for(
    op: &Op,
    at: usize,
    acc: Option<Acc>,
    to_fuel: bool,
    metered: bool,
) -> (Handler, Option<Acc>) {
    let back = op.target().is_some_and(|t| t as usize <= at) || to_fuel;
    let int_from = |r: Reg| Acc::int(acc) == Some(r);
    let float_from = |r: Reg| Acc::float(acc) == Some(r);
    match *op {
        for_each_binary_op!(binary_op_pattern) => binary_handler(op, acc).unwrap_or((slow, None)),
        for_each_binary_op!(compare_branch_pattern) => {
            (compare_branch_handler(op, back, acc).unwrap_or(slow), None)
        }
        Op::CopyWide { dst, src } => (
            pick_from_acc!(copy_wide; int_from(src)),
            Some(Acc::Int(dst)),
        ),
        Op::LoadLane { .. } | Op::StoreLane { .. } => (memory::lane_handler(op), None),
        Op::CopyHi { .. }
        | Op::SelectHi { .. }
        | Op::V128Const { .. }
        | Op::VUnary { .. }
        | Op::VBinary { .. }
        | Op::VTernary { .. }
        | Op::Shuffle { .. }
        | Op::ExtractLane { .. }
        | Op::ReplaceLane { .. }
        | Op::CanonF32x4 { .. }
        | Op::CanonF64x2 { .. } => (super::vector::vector_handler(op).unwrap_or(slow), None),
        // Passes the accumulators on untouched.
        Op::Nop => (nop, acc),
        Op::Copy { dst, src } => (pick_from_acc!(copy; int_from(src)), Some(Acc::Int(dst))),
        Op::Copy2 { .. } => (copy2, None),
        Op::Const32 { .. } => (const32, None),
        Op::Const64 { .. } => (const64, None),
        Op::I32AddImm { dst, a, .. } => (
            pick_from_acc!(i32_add_imm; int_from(a)),
            Some(Acc::Int(dst)),
        ),
        Op::I64AddImm { dst, a, .. } => (
            pick_from_acc!(i64_add_imm; int_from(a)),
            Some(Acc::Int(dst)),
        ),
        Op::I32AddShl { dst, a, b, .. } => (
            pick_operand!(i32_add_shl, int_operand_of(acc, a, b)),
            Some(Acc::Int(dst)),
        ),
        Op::Unary { op, dst, src } => {
            if let Some(h) = numeric::f64_unary_handler(op, float_from(src)) {
                (h, Some(Acc::Float(dst)))
            } else if let Some(h) = numeric::unary_handler(op, int_from(src)) {
                (h, Some(Acc::Int(dst)))
            } else {
                (unary, None)
            }
        }
        Op::Binary { op, dst, a, b } => {
            match numeric::binary_handler(op, int_operand_of(acc, a, b)) {
                Some(h) => (h, Some(Acc::Int(dst))),
                None => (binary, None),
            }
        }
        Op::Select { cond, .. } => (pick_from_acc!(select; int_from(cond)), None),
        Op::BrIfNez { cond, .. } if back => (pick_from_acc!(br_if_nez, true; int_from(cond)), None),
        Op::BrIfNez { cond, .. } => (pick_from_acc!(br_if_nez, false; int_from(cond)), None),
        Op::BrIfEqz { cond, .. } if back => (pick_from_acc!(br_if_eqz, true; int_from(cond)), None),
        Op::BrIfEqz { cond, .. } => (pick_from_acc!(br_if_eqz, false; int_from(cond)), None),
        Op::Br { .. } if back => (br::<true>, None),
        Op::Br { .. } => (br::<false>, None),
        Op::BrTable { index, .. } if to_fuel => {
            (pick_from_acc!(br_table, true; int_from(index)), None)
        }
        Op::BrTable { index, .. } => (pick_from_acc!(br_table, false; int_from(index)), None),
        Op::BrIfFloat { cmp, .. } => (br_if_float_handler(cmp, back), None),
        Op::CanonF32 { .. } => (canon_f32, None),
        Op::CanonF64 { .. } => (canon_f64, None),
        Op::Fuel { .. } => (fuel, None),
        Op::Epoch => (epoch, None),
        Op::Call { .. } if metered => (calls::call::<true>, None),
        Op::Call { .. } => (calls::call::<false>, None),
        Op::CallIndirect { .. } if metered => (calls::call_indirect::<true>, None),
        Op::CallIndirect { .. } => (calls::call_indirect::<false>, None),
        Op::GlobalGet { dst, .. } => (global_get, Some(Acc::Int(dst))),
        Op::GlobalSet { src, .. } => (pick_from_acc!(global_set; int_from(src)), None),
        Op::Return { start, count: 1 } if metered => {
            (pick_from_acc!(ret1, true; int_from(start)), None)
        }
        Op::Return { start, count: 1 } => (pick_from_acc!(ret1, false; int_from(start)), None),
        Op::Return { .. } if metered => (calls::ret::<true>, None),
        Op::Return { .. } => (calls::ret::<false>, None),
        Op::Load {
            kind, dst, addr, ..
        } => load(kind, memory::OFFSET, int_from(addr), dst),
        Op::LoadWrapped {
            kind, dst, addr, ..
        } => load(kind, memory::WRAPPED, int_from(addr), dst),
        Op::LoadScaled {
            kind,
            dst,
            index,
            shift,
            ..
        } => load(kind, memory::scaled_mode(shift), int_from(index), dst),
        Op::Store { kind, val, .. } => (store(kind, memory::OFFSET, val, acc), None),
        Op::StoreWrapped { kind, val, .. } => (store(kind, memory::WRAPPED, val, acc), None),
        Op::StoreScaled {
            kind, val, shift, ..
        } => (store(kind, memory::scaled_mode(shift), val, acc), None),
        // Left to the slow path: rare, or needing more than the fast path
        // holds (other memories, tables, the store, the host).
        Op::Unreachable
        | Op::RefFunc { .. }
        | Op::RefIsNull { .. }
        | Op::ReturnCall { .. }
        | Op::ReturnCallIndirect { .. }
        | Op::CallRef { .. }
        | Op::ReturnCallRef { .. }
        | Op::RefAsNonNull { .. }
        | Op::Gc { .. }
        | Op::Throw { .. }
        | Op::ThrowRef { .. }
        | Op::LoadExt { .. }
        | Op::StoreExt { .. }
        | bulk_op_pattern!()
        | Op::GlobalGetV128 { .. }
        | Op::GlobalSetV128 { .. } => (slow, None),
    }
}

/// The handler of a store of `kind` in address mode `mode` of register `val`,
/// taken from whichever accumulator `acc` says holds it.
fn store(kind: StoreOp, mode: u8, val: Reg, acc: Option<Acc>) -> Handler {
    if kind == StoreOp::V128Store {
        return memory::store_v128_handler(mode);
    }
    let from = if Acc::int(acc) == Some(val) {
        memory::FROM_INT
    } else if Acc::float(acc) == Some(val) {
        memory::FROM_FLOAT
    } else {
        memory::FROM_NONE
    };
    memory::store_handler(kind, mode, from).unwrap_or(slow)
}

/// The handler of a load of `kind` in address mode `mode` into `dst`, with its
/// address (or index) from the integer accumulator if `from_acc`; and what the
/// accumulators hold after it.
fn load(kind: LoadOp, mode: u8, from_acc: bool, dst: Reg) -> (Handler, Option<Acc>) {
    if let Some(h) = memory::load_v128_handler(kind, mode, from_acc) {
        return (h, None);
    }
    match memory::load_handler(kind, mode, from_acc) {
        Some(h) if kind == LoadOp::F64Load => (h, Some(Acc::Float(dst))),
        Some(h) => (h, Some(Acc::Int(dst))),
        None => (slow, None),
    }
}

/// Pairs every op of a function with its handler.
///
/// Jump targets in the threaded copy count ops from the jump itself (the
/// `code` the slow path runs keeps them absolute), so handlers need not know
/// where the function's code starts.
///
/// # The accumulators
///
/// Handlers pass two values along besides the registers, each staying in a
/// machine register from one handler to the next: the *integer accumulator*
/// (`r9` on x86-64) and the *float accumulator* (`xmm0`). An op whose handler
/// produces a value (integer arithmetic, comparisons, loads, `global.get`,
/// `copy`; `f64` arithmetic and `f64.load` for the float one) writes it to its
/// destination register as always, and also leaves it in an accumulator. When
/// the very next op reads that register, it gets a handler that takes the
/// operand from the accumulator instead, and so does not wait for the store to
/// memory and the load back that a chain of operations through registers
/// otherwise costs on every step.
///
/// Since the register is always written too, an accumulator is only ever a
/// faster copy: the slow path, and every op that does not expect it, read the
/// register. An op expects it only if the op before it set it and no jump can
/// reach the op from elsewhere (it is no jump target); calls and returns enter
/// an op that follows no producer. Where the fast path is entered anew (after
/// an op ran on the slow path), [`run`](super::run) loads both accumulators from the
/// destination of the op before. In loop mode, where handlers return between
/// ops, consumers read the register.
pub(crate) fn thread(code: &[Op]) -> Box<[Threaded]> {
    let mut is_target = vec![false; code.len()];
    for op in code {
        if let Some(flag) = op.target().and_then(|t| is_target.get_mut(t as usize)) {
            *flag = true;
        }
    }
    let metered = code.iter().any(|op| matches!(op, Op::Fuel { .. }));
    let mut acc: Option<Acc> = None;
    code.iter()
        .enumerate()
        .map(|(at, op)| {
            let known = if is_target[at] { None } else { acc };
            let to_fuel = jumps_to_fuel(code, at);
            let (handler, after) = handler_for(op, at, known, to_fuel, metered);
            acc = after;
            let mut op = *op;
            if let Some(target) = op.target() {
                op.set_target((i64::from(target) - at as i64) as i32 as u32);
            }
            Threaded { handler, op }
        })
        .collect()
}

/// Whether op `at` of `code` goes on to a `Fuel` op: its target, or for a
/// `BrTable` the target of any of the `Br` ops that follow it; or, for a
/// conditional branch, the op after it.
fn jumps_to_fuel(code: &[Op], at: usize) -> bool {
    let fuel_at = |i: usize| matches!(code.get(i), Some(Op::Fuel { .. }));
    let targets_fuel = |op: &Op| op.target().is_some_and(|t| fuel_at(t as usize));
    match code[at] {
        Op::BrTable { len, .. } => code
            .iter()
            .skip(at + 1)
            .take(len as usize + 1)
            .any(targets_fuel),
        Op::Br { .. } => targets_fuel(&code[at]),
        ref op => targets_fuel(op) || (op.target().is_some() && fuel_at(at + 1)),
    }
}

/// The accumulators on entering the fast path at `ip`: the destination
/// register of the op before, which is what a handler that sets either would
/// have left in it (see [`thread`]).
///
/// # Safety
///
/// `ip` and `start` point into the same code, and `regs` is its frame.
pub(super) unsafe fn entry_accs(
    ip: *const Threaded,
    regs: *mut u64,
    start: *const Threaded,
) -> (u64, f64) {
    if ip == start {
        return (0, 0.0);
    }
    // SAFETY: `ip` is not the first op, so the one before is of the same code.
    let before = unsafe { (*ip.sub(1)).op };
    let bits = before.pure_dst().map_or(0, |dst| reg!(regs, dst));
    (bits, f64::from_bits(bits))
}
