//! Kiln's fuel cost model: the one definition both tiers implement.
//!
//! Fuel is defined on WebAssembly instructions, not on what a tier executes,
//! so every tier consumes exactly the same fuel for the same execution, and a
//! module rewritten to count fuel in a global (for engines without fuel)
//! agrees to the unit.
//!
//! **Static cost.** Every instruction costs 1, except `nop`, `block`, `loop`,
//! `try_table`, `else`, `end` and `drop`, which cost 0 ([`static_cost`]). Vector
//! instructions (SIMD and relaxed SIMD: lane arithmetic, shuffles, lane
//! accesses, `v128` loads and stores) are instructions like any other and
//! cost 1 each, whatever their lane count.
//!
//! **Metered runs.** A function body is cut into runs: a run starts at the
//! first instruction and right after every control instruction (`block`,
//! `loop`, `if`, `else`, `end`, `br`, `br_if`, `br_table`, `br_on_null`,
//! `br_on_non_null`, GC's `br_on_cast` and `br_on_cast_fail`, `return`, calls
//! (`call_ref` too), `unreachable`, `throw`, `throw_ref`, `try_table`; see
//! [`ends_run`]). The control instruction itself is the
//! last of its run. Every branch and every return from a call lands on the
//! start of a run, so a run is entered only at its start. On entering a run,
//! its summed static cost is charged at once; if less fuel is left, execution
//! traps with `out of fuel` before any instruction of the run executes. A run
//! whose cost is 0 needs no check.
//!
//! **Exceptions.** `throw` and `throw_ref` cost 1 like other instructions,
//! charged with their run. Unwinding costs nothing: the frames left behind
//! keep what their runs were charged, and a catch clause branches to its
//! label, which is the start of a run (after an `end`, or a `loop`'s start),
//! charged on entry as after any branch. An exception that reaches the host
//! has cost only the runs entered before it was thrown.
//!
//! **Dynamic cost.** Instructions whose work depends on an operand charge
//! extra when they execute, before doing anything ([`dynamic_cost`]):
//! `memory.fill`/`memory.copy`/`memory.init` one unit per 64 bytes (rounded
//! up), `table.fill`/`table.copy`/`table.init` one per element, `memory.grow`
//! 64 per page requested, `table.grow` one per element requested. If too
//! little fuel is left, the instruction traps with `out of fuel` and has no
//! effect.
//!
//! **GC.** An allocation (`struct.new`, `struct.new_default` and the
//! `array.new` family) charges one unit per 64 bytes of the object it makes,
//! rounded up, counted as the GC heap counts it (`crate::gc`: 16 bytes and
//! the data), before allocating (after the checks of a segment's range);
//! `array.fill`, `array.copy`, `array.init_data` and `array.init_elem` one
//! unit per 64 bytes of elements written, rounded up ([`DynamicCost::Bytes`]
//! for both), charged after their null and range checks (which need the
//! array; a trap of those comes before `out of fuel`), unlike the memory
//! instructions, which charge first. A collection is not an instruction and costs nothing, so fuel
//! does not depend on when one runs.
//!
//! **Epoch checks cost nothing.** With epoch interruption on
//! ([`crate::epoch`]), the checks both tiers make at function entries and
//! loop headers are not WebAssembly instructions and charge no fuel, and the
//! runs are cut exactly as without them: a program consumes the same fuel with
//! epochs on or off. The deadline callback is host code: what it does with
//! the store (a call into WebAssembly, say) costs what it would cost from a
//! host function.

use kiln_parser::Instr;

/// The static cost of one instruction.
pub fn static_cost(instr: &Instr) -> u64 {
    match instr {
        Instr::Nop
        | Instr::Block(_)
        | Instr::Loop(_)
        | Instr::TryTable(_)
        | Instr::Else
        | Instr::End
        | Instr::Drop => 0,
        _ => 1,
    }
}

/// Whether `instr` is a control instruction: the last of its run.
pub fn ends_run(instr: &Instr) -> bool {
    matches!(
        instr,
        Instr::Block(_)
            | Instr::Loop(_)
            | Instr::If(_)
            | Instr::Else
            | Instr::End
            | Instr::Br(_)
            | Instr::BrIf(_)
            | Instr::BrTable(_)
            | Instr::Return
            | Instr::Call(_)
            | Instr::CallIndirect { .. }
            | Instr::ReturnCall(_)
            | Instr::ReturnCallIndirect { .. }
            | Instr::CallRef(_)
            | Instr::ReturnCallRef(_)
            | Instr::BrOnNull(_)
            | Instr::BrOnNonNull(_)
            | Instr::Gc(kiln_parser::GcInstr::BrOnCast(_))
            | Instr::Throw(_)
            | Instr::ThrowRef
            | Instr::TryTable(_)
            | Instr::Unreachable
    )
}

/// What an operand-dependent instruction costs beyond its static cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynamicCost {
    /// Bulk memory operations: per 64 bytes, rounded up.
    Bytes,
    /// Bulk table operations and `table.grow`: per element.
    Elements,
    /// `memory.grow`: per page requested.
    Pages,
}

/// Units of dynamic cost for `n` bytes, elements or pages.
pub fn dynamic_cost(kind: DynamicCost, n: u64) -> u64 {
    match kind {
        DynamicCost::Bytes => n.div_ceil(64),
        DynamicCost::Elements => n,
        DynamicCost::Pages => n.saturating_mul(64),
    }
}

/// Splits a body into metered runs: calls `f(start, end, cost)` for each run
/// `instrs[start..end]` in order.
pub fn for_each_run(instrs: &[Instr], mut f: impl FnMut(usize, usize, u64)) {
    let mut start = 0;
    let mut cost = 0;
    for (i, instr) in instrs.iter().enumerate() {
        cost += static_cost(instr);
        if ends_run(instr) {
            f(start, i + 1, cost);
            start = i + 1;
            cost = 0;
        }
    }
    if start < instrs.len() {
        f(start, instrs.len(), cost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_parser::{BlockType, LabelIdx, NumOp};

    #[test]
    fn runs_end_at_control_instructions() {
        let body = [
            Instr::I32Const(1),
            Instr::Block(BlockType::Empty),
            Instr::I32Const(2),
            Instr::Num(NumOp::I32Eqz),
            Instr::BrIf(LabelIdx(0)),
            Instr::Nop,
            Instr::End,
            Instr::End,
        ];
        let mut runs = Vec::new();
        for_each_run(&body, |s, e, c| runs.push((s, e, c)));
        assert_eq!(runs, vec![(0, 2, 1), (2, 5, 3), (5, 7, 0), (7, 8, 0)]);
    }

    #[test]
    fn gc_branches_end_runs_and_other_gc_instructions_do_not() {
        use kiln_parser::{BrOnCast, GcInstr, HeapType, RefType, TypeIdx};
        let cast = BrOnCast {
            label: LabelIdx(0),
            from: RefType::null(HeapType::Any),
            to: RefType::null(HeapType::I31),
            on_fail: true,
        };
        assert!(ends_run(&Instr::Gc(GcInstr::BrOnCast(Box::new(cast)))));
        for gc in [
            GcInstr::StructNew(TypeIdx(0)),
            GcInstr::RefCast(RefType::null(HeapType::Eq)),
            GcInstr::ArrayLen,
        ] {
            let instr = Instr::Gc(gc);
            assert!(!ends_run(&instr), "{instr:?}");
            assert_eq!(static_cost(&instr), 1);
        }
    }

    #[test]
    fn dynamic_costs_round_up() {
        assert_eq!(dynamic_cost(DynamicCost::Bytes, 0), 0);
        assert_eq!(dynamic_cost(DynamicCost::Bytes, 65), 2);
        assert_eq!(dynamic_cost(DynamicCost::Pages, 2), 128);
    }
}
