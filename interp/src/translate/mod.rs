//! Translation of one validated function into interpreter bytecode.
//!
//! The translator walks the IR once, keeping the operand-stack height `h`
//! (register `L + h` is stack position `h`, where `L` is the number of
//! locals) and a control stack of open blocks. Forward branches are recorded
//! on their target block and patched at its `end`. Code after an unconditional
//! branch is skipped until the enclosing block ends.
//!
//! Two rewrites make the register form pay off, both limited to ops emitted
//! after the last jump target (`boundary`), so no branch can land between a
//! producer and its consumer:
//! - a `local.get` or constant immediately consumed by a numeric operator, a
//!   load or a store is folded into that operator's operands;
//! - a `local.set` right after the op that produced its value redirects that
//!   op's destination to the local.
//!
//! `local.get` emits nothing at first: the stack slot is marked as standing
//! for the local (`lazy`), and the op that consumes it reads the local's
//! register directly. A slot is *materialised* (a `Copy` into its own
//! register) before anything could observe the difference: before the local
//! is written while the slot is live, and before any instruction other than
//! the few that know about lazy slots (numeric ops, loads, stores, locals,
//! `drop`, `if`, `br_if`, `br_table`, constants, globals, the vector
//! instructions with immediates), which covers every other control
//! instruction, call and multi-operand op.
//!
//! `emit` sends each instruction to its family's translation: `control`
//! (blocks and branches), `calls`, `variables` (locals and globals), `numeric`
//! (constants and operators), `memory` (memory and table instructions) and
//! `vector` (vector instructions, and what makes a function wide).
//!
//! With fuel on, the first costly instruction of each metered run (see
//! `kiln_runtime::fuel`) is preceded by a `Fuel` op carrying the run's cost.
//! (Branches, calls and returns that lead to a `Fuel` op charge it themselves
//! on the fast path: `exec::threaded`'s `next_charging`.)
//! With epoch interruption on, an `Epoch` op starts the function and every
//! loop (it is the loop's branch target), before the run's `Fuel` op.

mod calls;
mod control;
mod emit;
mod gc;
mod memory;
mod numeric;
mod variables;
mod vector;

use std::collections::HashMap;

use kiln_parser::{BlockType, Instr, Module, NumOp, TypeIdx};
use kiln_runtime::fuel;
use kiln_validator::FuncInfo;

use crate::CompiledFunc;
use crate::bytecode::{FloatCmp, Op, Reg};

/// Most constants of one function that get a register of their own (preloaded when a
/// frame is entered, so operators read them like locals instead of executing a constant op).
const MAX_CONST_SLOTS: usize = 64;

/// The kind of an open control frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Func,
    Block,
    Loop,
    If,
    Else,
}

/// An open control frame.
#[derive(Debug)]
struct Ctrl {
    kind: Kind,
    /// Operand height at which the frame's parameters start.
    height: u32,
    params: u32,
    results: u32,
    /// Whether the frame was entered in reachable code (else everything in it is skipped).
    live: bool,
    /// Indices of ops whose target is this frame's end.
    branches: Vec<usize>,
    /// For loops: where branches to the loop jump.
    loop_start: u32,
    /// For `if`: the conditional jump to the `else` arm (or the end).
    if_jump: Option<usize>,
    /// For `try_table`: its handler, whose `end` is set at the block's end.
    handler: Option<Box<crate::Handler>>,
}

impl Ctrl {
    /// Number of values a branch to this frame carries.
    fn label_arity(&self) -> u32 {
        if self.kind == Kind::Loop {
            self.params
        } else {
            self.results
        }
    }
}

/// Translates function bodies; reuse one for a whole module to keep its buffers.
#[derive(Debug, Default)]
pub(crate) struct Translator {
    /// The body being translated, decoded (reused across functions).
    instrs: Vec<Instr>,
    /// Decodes bodies (its frame stack is reused across functions).
    decoder: kiln_parser::BodyDecoder,
    code: Vec<Op>,
    memargs: Vec<(u32, u64)>,
    indirect: Vec<(u32, u32)>,
    /// The GC instructions of `Op::Gc`, by site.
    gc: Vec<crate::GcSite>,
    /// The GC safepoints of the function, by op (see `crate::Safepoint`).
    safepoints: Vec<crate::Safepoint>,
    /// The `try_table` handlers closed so far (innermost first, as they end).
    handlers: Vec<crate::Handler>,
    ctrl: Vec<Ctrl>,
    /// Operand-stack height.
    h: u32,
    /// Number of constant registers, placed right after the locals.
    nconsts: u32,
    /// Their values, in register order.
    consts: Vec<u64>,
    /// Register holding each constant value that has one.
    const_slots: HashMap<u64, Reg>,
    /// Largest operand-stack height reached after any instruction.
    max_h: u32,
    /// Number of locals, parameters included: register of stack position 0.
    l: u32,
    reachable: bool,
    /// Ops before this index may not be rewritten or removed.
    boundary: usize,
    fuel: bool,
    /// Emit `Epoch` ops at the function's entry and its loop headers.
    epoch: bool,
    /// Emit NaN canonicalisation after float arithmetic.
    canonicalize: bool,
    /// The `Fuel` op of the current run, once emitted.
    fuel_op: Option<usize>,
    run_cost: u64,
    /// For each stack position, the local it stands for if it was pushed by a
    /// `local.get` not yet materialised (see the module documentation).
    lazy: Vec<Option<Reg>>,
    /// How many entries of `lazy` are `Some`.
    nlazy: usize,
    /// Whether the function can hold `v128` values, so that moves of values of
    /// unknown type must move high halves too (see [`crate::bytecode`]).
    wide: bool,
    /// The vector constants and shuffle lane indices of the function.
    vconsts: Vec<u128>,
}

impl Translator {
    /// Translates function `def_index` of `module` (validated, facts in `info`).
    ///
    /// The body is decoded again here. It decoded when it was validated, so
    /// it can fail only if the module was changed since; the function then
    /// traps as `unreachable` when called.
    pub(crate) fn translate(
        &mut self,
        module: &Module,
        def_index: usize,
        ty: TypeIdx,
        info: &FuncInfo,
        options: crate::CompileOptions,
    ) -> CompiledFunc {
        let mut instrs = std::mem::take(&mut self.instrs);
        instrs.clear();
        if self.decoder.decode(module, def_index, &mut instrs).is_err() {
            instrs.clear();
            instrs.extend([Instr::Unreachable, Instr::End]);
        }
        let compiled = self.translate_instrs(module, &instrs, ty, info, options);
        self.instrs = instrs;
        compiled
    }

    fn translate_instrs(
        &mut self,
        module: &Module,
        instrs: &[Instr],
        ty: TypeIdx,
        info: &FuncInfo,
        options: crate::CompileOptions,
    ) -> CompiledFunc {
        let sig = module.types[ty.index()].func();
        self.code.clear();
        self.memargs.clear();
        self.indirect.clear();
        self.gc.clear();
        self.handlers.clear();
        self.ctrl.clear();
        self.h = 0;
        self.max_h = 0;
        self.l = info.locals.len() as u32;
        self.assign_const_slots(instrs);
        self.reachable = true;
        self.boundary = 0;
        self.fuel = options.fuel;
        self.epoch = options.epoch_interruption;
        self.canonicalize = options.canonicalize_nans;
        self.fuel_op = None;
        self.run_cost = 0;
        self.lazy.clear();
        self.nlazy = 0;
        self.vconsts.clear();
        self.wide = vector::is_wide(module, sig, info, instrs);
        if self.wide {
            self.zero_vector_locals(&info.locals, sig.params.len());
        }
        self.ctrl.push(Ctrl {
            kind: Kind::Func,
            height: 0,
            params: 0,
            results: sig.results.len() as u32,
            live: true,
            branches: Vec::new(),
            loop_start: 0,
            if_jump: None,
            handler: None,
        });
        self.epoch_check();
        self.safepoints.clear();
        let roots = info.gc_roots.as_deref();
        let mut next_safepoint = 0;
        for (i, instr) in instrs.iter().enumerate() {
            let before = self.code.len();
            if self.fuel && self.reachable {
                let cost = fuel::static_cost(instr);
                if cost > 0 && self.fuel_op.is_none() {
                    self.fuel_op = Some(self.code.len());
                    self.code.push(Op::Fuel { cost: 0 });
                    self.boundary = self.code.len();
                }
                self.run_cost += cost;
            }
            self.instr(module, instr);
            if let Some(roots) = roots
                && let Some(point) = roots.safepoints.get(next_safepoint)
                && point.instr as usize == i
            {
                next_safepoint += 1;
                self.record_safepoint(before, &roots.locals, &point.slots);
            }
            self.max_h = self.max_h.max(self.h);
            if fuel::ends_run(instr) {
                self.close_run();
            }
        }
        self.close_run();
        // A sentinel, so that execution can never run past the end of the code.
        self.code.push(Op::Unreachable);
        // Jump targets, registers and the rest of the executor's contract are
        // checked by the verifier (`crate::verify`) before the function can run.
        CompiledFunc {
            code: self.code.as_slice().into(),
            // Threaded once verified (`CompiledModule::translate`).
            threaded: Box::new([]),
            memargs: self.memargs.as_slice().into(),
            indirect: self.indirect.as_slice().into(),
            gc: self.gc.as_slice().into(),
            safepoints: std::mem::take(&mut self.safepoints).into_boxed_slice(),
            vconsts: self.vconsts.as_slice().into(),
            handlers: self.handlers.as_slice().into(),
            num_params: sig.params.len() as u32,
            num_locals: self.l,
            // Every register is a local or `l + h` for a height `h <= max_h`.
            frame_size: self.l + self.nconsts + info.max_stack.max(self.max_h) + 1,
            init: std::iter::repeat_n(0, (self.l - sig.params.len() as u32) as usize)
                .chain(self.consts.iter().copied())
                .collect(),
            num_results: sig.results.len() as u32,
        }
    }

    /// An `Epoch` op here, with epoch interruption on; nothing is folded across it.
    fn epoch_check(&mut self) {
        if self.epoch {
            self.code.push(Op::Epoch);
            self.boundary = self.code.len();
        }
    }

    fn close_run(&mut self) {
        if let Some(i) = self.fuel_op.take() {
            self.code[i] = Op::Fuel {
                cost: u32::try_from(self.run_cost).unwrap_or(u32::MAX),
            };
        }
        self.run_cost = 0;
    }

    /// Register of operand-stack position `pos`.
    fn reg(&self, pos: u32) -> Reg {
        self.l + self.nconsts + pos
    }

    /// Gives the first [`MAX_CONST_SLOTS`] distinct constants of `body` a register each.
    fn assign_const_slots(&mut self, instrs: &[Instr]) {
        self.consts.clear();
        self.const_slots.clear();
        for instr in instrs {
            let bits = match *instr {
                Instr::I32Const(v) => u64::from(v as u32),
                Instr::I64Const(v) => v as u64,
                Instr::F32Const(v) => u64::from(v),
                Instr::F64Const(v) => v,
                _ => continue,
            };
            if self.consts.len() == MAX_CONST_SLOTS {
                break;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = self.const_slots.entry(bits) {
                e.insert(self.l + self.consts.len() as u32);
                self.consts.push(bits);
            }
        }
        self.nconsts = self.consts.len() as u32;
    }

    /// The value of register `r` if it is one of the constant registers.
    fn const_value(&self, r: Reg) -> Option<u64> {
        let i = r.checked_sub(self.l)?;
        self.consts.get(i as usize).copied()
    }

    /// The local stack position `pos` stands for, if it is lazy.
    fn lazy_at(&self, pos: u32) -> Option<Reg> {
        self.lazy.get(pos as usize).copied().flatten()
    }

    /// Marks stack position `pos` as standing for `local` (or, with `None`, as
    /// holding its own value).
    fn set_lazy(&mut self, pos: u32, local: Option<Reg>) {
        let pos = pos as usize;
        if self.lazy.len() <= pos {
            if local.is_none() {
                return;
            }
            self.lazy.resize(pos + 1, None);
        }
        match (self.lazy[pos].is_some(), local.is_some()) {
            (false, true) => self.nlazy += 1,
            (true, false) => self.nlazy -= 1,
            _ => {}
        }
        self.lazy[pos] = local;
    }

    /// The register to read stack position `pos` from, as its consumer pops it:
    /// the local of a lazy slot, a folded local or constant, or its own register.
    fn operand(&mut self, pos: u32) -> Reg {
        match self.lazy_at(pos) {
            Some(local) => {
                self.set_lazy(pos, None);
                local
            }
            None => self.fold_operand(self.reg(pos)),
        }
    }

    /// Materialises the lazy slots below the current height that satisfy `which`.
    fn materialize(&mut self, which: impl Fn(Reg) -> bool) {
        if self.nlazy == 0 {
            return;
        }
        // Copies into adjacent slots (the arguments of a call, say) are paired
        // into one `Copy2`. Their sources are locals or constants, which none of
        // them writes, so the order does not matter.
        let mut pending: Option<(Reg, Reg)> = None;
        for pos in 0..self.h.min(self.lazy.len() as u32) {
            if let Some(local) = self.lazy_at(pos)
                && which(local)
            {
                let dst = self.reg(pos);
                if self.wide {
                    // No `Copy2`: each copy moves its high half too.
                    self.emit_copy(dst, local);
                    self.set_lazy(pos, None);
                    continue;
                }
                match pending.take() {
                    Some((d, a)) if d + 1 == dst => {
                        self.emit(Op::Copy2 {
                            dst: d,
                            a,
                            b: local,
                        });
                    }
                    other => {
                        if let Some((d, a)) = other {
                            self.emit(Op::Copy { dst: d, src: a });
                        }
                        pending = Some((dst, local));
                    }
                }
                self.set_lazy(pos, None);
            }
        }
        if let Some((dst, src)) = pending {
            self.emit(Op::Copy { dst, src });
        }
    }

    /// Materialises every lazy slot.
    pub(super) fn materialize_all(&mut self) {
        self.materialize(|_| true);
        // Slots above the height are dead; forget them too.
        self.lazy.clear();
        self.nlazy = 0;
    }

    /// Forgets every lazy slot without materialising it, after an unconditional
    /// transfer of control (nothing reads the slots afterwards).
    pub(super) fn forget_lazy_slots(&mut self) {
        self.lazy.clear();
        self.nlazy = 0;
    }

    /// Materialises the lazy slots standing for `local`, before it is written.
    fn materialize_local(&mut self, local: Reg) {
        self.materialize(|l| l == local);
    }

    fn emit(&mut self, op: Op) -> usize {
        self.code.push(op);
        self.code.len() - 1
    }

    /// Marks the current position as a jump target: nothing before it may be rewritten.
    fn label_here(&mut self) -> u32 {
        self.boundary = self.code.len();
        self.code.len() as u32
    }

    fn block_arity(module: &Module, bt: BlockType) -> (u32, u32) {
        match bt {
            BlockType::Empty => (0, 0),
            BlockType::Value(_) => (0, 1),
            BlockType::Func(t) => {
                let ft = module.types[t.index()].func();
                (ft.params.len() as u32, ft.results.len() as u32)
            }
        }
    }

    /// The last emitted op, if it may still be rewritten.
    fn last_rewritable(&self) -> Option<Op> {
        if self.code.len() > self.boundary {
            self.code.last().copied()
        } else {
            None
        }
    }

    /// If the last op only copied local `x` (or nothing else) into `reg`, removes it
    /// and returns the register to read instead (`x`); otherwise `reg`.
    fn fold_operand(&mut self, reg: Reg) -> Reg {
        let folded = match self.last_rewritable() {
            Some(Op::Copy { dst, src } | Op::CopyWide { dst, src })
                if dst == reg && src < self.l =>
            {
                Some(src)
            }
            Some(Op::Const32 { dst, val }) if dst == reg => {
                self.const_slots.get(&u64::from(val)).copied()
            }
            Some(Op::Const64 { dst, val }) if dst == reg => self.const_slots.get(&val).copied(),
            _ => None,
        };
        match folded {
            Some(r) => {
                self.code.pop();
                r
            }
            None => reg,
        }
    }

    /// Moves the top `n` operands to the base of frame `depth` levels out, for a branch there.
    fn branch_copies(&mut self, target_height: u32, n: u32) {
        let from = self.h - n;
        if from != target_height {
            for i in 0..n {
                let (dst, src) = (self.reg(target_height + i), self.reg(from + i));
                self.emit_copy(dst, src);
            }
        }
    }

    /// Emits the jump of a branch to frame index `idx` (copies already done).
    fn branch_jump(&mut self, idx: usize) {
        let frame = &self.ctrl[idx];
        match frame.kind {
            Kind::Loop => {
                let target = frame.loop_start;
                self.emit(Op::Br { target });
            }
            Kind::Func => {
                let n = frame.results;
                let start = self.reg(self.h - n);
                self.move_high_halves(start, n);
                self.emit(Op::Return { start, count: n });
            }
            _ => {
                let at = self.emit(Op::Br { target: 0 });
                self.ctrl[idx].branches.push(at);
            }
        }
    }

    /// Index in `ctrl` of the frame `depth` levels out.
    fn frame_index(&self, depth: u32) -> usize {
        self.ctrl.len() - 1 - depth as usize
    }

    /// Whether a branch to frame `idx` needs no copies and no return.
    fn direct_branch(&self, idx: usize) -> bool {
        let frame = &self.ctrl[idx];
        let arity = frame.label_arity();
        frame.kind != Kind::Func && (arity == 0 || self.h - arity == frame.height)
    }

    /// Sets the target of the jump op at `at`.
    fn patch(&mut self, at: usize, target: u32) {
        self.code[at].set_target(target);
    }

    /// Emits a jump to `target` taken when register `cond` is non-zero (or zero, with
    /// `negate`), fused with the comparison or `eqz` that just computed `cond`.
    fn emit_cond_branch(&mut self, cond: Reg, negate: bool, target: u32) -> usize {
        if let Some(last) = self.last_rewritable()
            && last.pure_dst() == Some(cond)
        {
            if let Some(fused) = Op::branch_on(&last, negate, target) {
                self.code.pop();
                return self.emit(fused);
            }
            if let Op::Binary { op, a, b, .. } = last
                && let Some(cmp) = FloatCmp::of(op, negate)
            {
                self.code.pop();
                return self.emit(Op::BrIfFloat { cmp, a, b, target });
            }
            if let Op::Unary {
                op: NumOp::I32Eqz,
                src,
                ..
            } = last
            {
                self.code.pop();
                let op = if negate {
                    Op::BrIfNez { cond: src, target }
                } else {
                    Op::BrIfEqz { cond: src, target }
                };
                return self.emit(op);
            }
        }
        let op = if negate {
            Op::BrIfEqz { cond, target }
        } else {
            Op::BrIfNez { cond, target }
        };
        self.emit(op)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kiln_parser::Features;

    use crate::CompiledModule;
    use crate::bytecode::Op;

    /// The ops of a module's function 0, compiled with or without epoch checks.
    fn ops(wat: &str, epoch_interruption: bool) -> Vec<Op> {
        let bytes = wat::parse_str(wat).expect("well-formed text");
        let module = kiln_parser::parse(&bytes, Features::ALL).expect("parse");
        let info = kiln_validator::validate(&module, Features::ALL).expect("valid");
        let options = crate::CompileOptions {
            epoch_interruption,
            ..crate::CompileOptions::default()
        };
        let code = CompiledModule::new(Arc::new(module), Arc::new(info), options).expect("new");
        code.func(0).expect("verified").code.to_vec()
    }

    const LOOPS: &str = "(module (func (param i32)
        (loop (br_if 0 (local.get 0)))
        (loop (br_if 0 (local.get 0)))))";

    #[test]
    fn epoch_ops_only_when_on() {
        let off = ops(LOOPS, false);
        assert!(!off.contains(&Op::Epoch));
        let on = ops(LOOPS, true);
        assert_eq!(on[0], Op::Epoch, "the function's entry");
        assert_eq!(on.iter().filter(|op| **op == Op::Epoch).count(), 3);
        assert_eq!(on.len(), off.len() + 3);
    }

    #[test]
    fn loops_branch_back_to_their_epoch_op() {
        let on = ops(LOOPS, true);
        for op in &on {
            if let Some(t) = op.target() {
                assert_eq!(on[t as usize], Op::Epoch, "{op:?} in {on:?}");
            }
        }
    }
}
