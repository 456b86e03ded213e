//! The per-instruction part of the translator.

use kiln_parser::{Instr, Module, NumOp};

use super::{Ctrl, Kind, Translator};
use crate::bytecode::{Op, Reg};

impl Translator {
    pub(super) fn instr(&mut self, module: &Module, instr: &Instr) {
        if !self.reachable {
            self.dead_instr(module, instr);
            return;
        }
        if self.returns_lazy_local(instr) {
            return;
        }
        if !knows_lazy_slots(instr) {
            self.materialize_all();
        }
        match instr {
            Instr::Nop => {}
            Instr::Unreachable => {
                self.emit(Op::Unreachable);
                self.reachable = false;
            }
            Instr::Block(bt) | Instr::Loop(bt) => {
                let (params, results) = Self::block_arity(module, *bt);
                let kind = if matches!(instr, Instr::Loop(_)) {
                    Kind::Loop
                } else {
                    Kind::Block
                };
                let loop_start = if kind == Kind::Loop {
                    self.label_here()
                } else {
                    0
                };
                self.ctrl.push(Ctrl {
                    kind,
                    height: self.h - params,
                    params,
                    results,
                    live: true,
                    branches: Vec::new(),
                    loop_start,
                    if_jump: None,
                });
            }
            Instr::If(bt) => {
                let (params, results) = Self::block_arity(module, *bt);
                self.h -= 1;
                let lazy_cond = self.lazy_at(self.h);
                self.set_lazy(self.h, None);
                // The block's parameters are read from their registers.
                self.materialize_all();
                let at = match lazy_cond {
                    // A lazy condition is a local: test it where it is, as `br_if`
                    // does, rather than copy it first.
                    Some(local) => self.emit(Op::BrIfEqz {
                        cond: local,
                        target: 0,
                    }),
                    None => {
                        let cond = self.reg(self.h);
                        self.emit_cond_branch(cond, true, 0)
                    }
                };
                self.ctrl.push(Ctrl {
                    kind: Kind::If,
                    height: self.h - params,
                    params,
                    results,
                    live: true,
                    branches: Vec::new(),
                    loop_start: 0,
                    if_jump: Some(at),
                });
            }
            Instr::Else => self.else_(),
            Instr::End => self.end(),
            Instr::Br(depth) => {
                let idx = self.frame_index(depth.0);
                let (height, n) = (self.ctrl[idx].height, self.ctrl[idx].label_arity());
                if self.ctrl[idx].kind != Kind::Func {
                    self.branch_copies(height, n);
                }
                self.branch_jump(idx);
                self.reachable = false;
            }
            Instr::BrIf(depth) => {
                self.h -= 1;
                let lazy_cond = self.lazy_at(self.h);
                self.set_lazy(self.h, None);
                // The branch may carry values, read from their registers.
                self.materialize_all();
                let cond = self.reg(self.h);
                let idx = self.frame_index(depth.0);
                // A lazy condition is a local: branch on it as it is (fusing it with
                // the op before would drop that op's write to the local).
                let branch_on = |t: &mut Self, negate: bool, target: u32| match lazy_cond {
                    Some(local) => t.emit(if negate {
                        Op::BrIfEqz {
                            cond: local,
                            target,
                        }
                    } else {
                        Op::BrIfNez {
                            cond: local,
                            target,
                        }
                    }),
                    None => t.emit_cond_branch(cond, negate, target),
                };
                if self.direct_branch(idx) {
                    let frame = &self.ctrl[idx];
                    if frame.kind == Kind::Loop {
                        let target = frame.loop_start;
                        branch_on(self, false, target);
                    } else {
                        let at = branch_on(self, false, 0);
                        self.ctrl[idx].branches.push(at);
                    }
                } else {
                    let skip = branch_on(self, true, 0);
                    let (height, n) = (self.ctrl[idx].height, self.ctrl[idx].label_arity());
                    if self.ctrl[idx].kind != Kind::Func {
                        self.branch_copies(height, n);
                    }
                    self.branch_jump(idx);
                    let here = self.label_here();
                    self.patch(skip, here);
                }
            }
            Instr::BrTable(table) => {
                self.h -= 1;
                // A lazy index is read from its local; the values the branches carry
                // are read from their registers.
                let index = self.lazy_at(self.h).unwrap_or(self.reg(self.h));
                self.set_lazy(self.h, None);
                self.materialize_all();
                let len = table.targets.len() as u32;
                self.emit(Op::BrTable { index, len });
                let first = self.code.len();
                for _ in 0..=len {
                    self.emit(Op::Br { target: 0 });
                }
                let targets = table.targets.iter().chain(std::iter::once(&table.default));
                for (i, depth) in targets.enumerate() {
                    let idx = self.frame_index(depth.0);
                    let entry = first + i;
                    if self.direct_branch(idx) {
                        let frame = &self.ctrl[idx];
                        if frame.kind == Kind::Loop {
                            let target = frame.loop_start;
                            self.patch(entry, target);
                        } else {
                            self.ctrl[idx].branches.push(entry);
                        }
                    } else {
                        let stub = self.code.len() as u32;
                        self.patch(entry, stub);
                        let (height, n) = (self.ctrl[idx].height, self.ctrl[idx].label_arity());
                        if self.ctrl[idx].kind != Kind::Func {
                            self.branch_copies(height, n);
                        }
                        self.branch_jump(idx);
                    }
                }
                self.reachable = false;
            }
            Instr::Return => {
                self.branch_jump(0);
                self.reachable = false;
            }
            Instr::Call(f) => {
                let ty = module.func_type_idx(*f).map(|t| &module.types[t.index()]);
                let (np, nr) =
                    ty.map_or((0, 0), |t| (t.params.len() as u32, t.results.len() as u32));
                let args = self.reg(self.h - np);
                self.emit(Op::Call { func: f.0, args });
                self.h = self.h - np + nr;
                self.boundary = self.code.len();
            }
            Instr::CallIndirect { ty, table } | Instr::ReturnCallIndirect { ty, table } => {
                let sig = &module.types[ty.index()];
                let (np, nr) = (sig.params.len() as u32, sig.results.len() as u32);
                self.h -= 1;
                let index = self.reg(self.h);
                let args = self.reg(self.h - np);
                let site = self.indirect.len() as u32;
                self.indirect.push((table.0, ty.0));
                if matches!(instr, Instr::CallIndirect { .. }) {
                    self.emit(Op::CallIndirect { index, args, site });
                    self.h = self.h - np + nr;
                    self.boundary = self.code.len();
                } else {
                    self.emit(Op::ReturnCallIndirect { index, args, site });
                    self.reachable = false;
                }
            }
            Instr::ReturnCall(f) => {
                let ty = module.func_type_idx(*f).map(|t| &module.types[t.index()]);
                let np = ty.map_or(0, |t| t.params.len() as u32);
                let args = self.reg(self.h - np);
                self.emit(Op::ReturnCall { func: f.0, args });
                self.reachable = false;
            }
            Instr::Drop => {
                self.h -= 1;
                self.set_lazy(self.h, None);
            }
            Instr::Select(_) => {
                self.h -= 2;
                let (a, b, cond) = (self.reg(self.h - 1), self.reg(self.h), self.reg(self.h + 1));
                self.emit(Op::Select { a, b, cond });
            }
            Instr::LocalGet(x) => {
                self.set_lazy(self.h, Some(x.0));
                self.h += 1;
            }
            Instr::LocalSet(x) => {
                self.h -= 1;
                if let Some(local) = self.lazy_at(self.h) {
                    self.set_lazy(self.h, None);
                    self.materialize_local(x.0);
                    if local != x.0 {
                        self.emit(Op::Copy {
                            dst: x.0,
                            src: local,
                        });
                    }
                    return;
                }
                let src = self.reg(self.h);
                self.write_local(x.0, src);
            }
            Instr::LocalTee(x) => {
                let top = self.h - 1;
                if let Some(local) = self.lazy_at(top) {
                    if local != x.0 {
                        self.set_lazy(top, None);
                        self.materialize_local(x.0);
                        self.emit(Op::Copy {
                            dst: x.0,
                            src: local,
                        });
                        // The slot now reads the local it was copied to.
                        self.set_lazy(top, Some(x.0));
                    }
                    return;
                }
                let src = self.reg(top);
                if self.write_local(x.0, src) {
                    // The producer now writes the local: let the slot read it there.
                    self.set_lazy(top, Some(x.0));
                }
            }
            Instr::GlobalGet(g) => {
                let dst = self.reg(self.h);
                self.emit(Op::GlobalGet { dst, global: g.0 });
                self.h += 1;
            }
            Instr::GlobalSet(g) => {
                self.h -= 1;
                let src = self.operand(self.h);
                self.emit(Op::GlobalSet { global: g.0, src });
            }
            Instr::I32Const(v) => self.push_const32(*v as u32),
            Instr::F32Const(v) => self.push_const32(*v),
            Instr::I64Const(v) => self.push_const64(*v as u64),
            Instr::F64Const(v) => self.push_const64(*v),
            Instr::RefNull(_) => self.push_const32(0),
            Instr::RefFunc(f) => {
                let dst = self.reg(self.h);
                self.emit(Op::RefFunc { dst, func: f.0 });
                self.h += 1;
            }
            Instr::RefIsNull => {
                let r = self.reg(self.h - 1);
                self.emit(Op::RefIsNull { dst: r, src: r });
            }
            Instr::Num(op) => self.numeric(*op),
            _ => self.memory(instr),
        }
    }

    /// `return` (or the function's final `end`) of a single result that a
    /// `local.get` left lazy: returns straight from the local's register, without
    /// copying it to the stack slot first. Returns whether it did.
    fn returns_lazy_local(&mut self, instr: &Instr) -> bool {
        let func_end = matches!(instr, Instr::End) && self.ctrl.len() == 1;
        if !(func_end || matches!(instr, Instr::Return)) || self.ctrl[0].results != 1 || self.h == 0
        {
            return false;
        }
        let Some(local) = self.lazy_at(self.h - 1) else {
            return false;
        };
        self.emit(Op::Return {
            start: local,
            count: 1,
        });
        self.forget_lazy_slots();
        self.reachable = false;
        if func_end {
            self.end();
        }
        true
    }

    /// Writes register `src` (a stack slot's own register) to `local`, after
    /// materialising the slots that stand for the local: by redirecting the op
    /// that just produced `src` when it can (returns `true`), else by a copy.
    /// No redirect when slots were materialised after the producer: they must
    /// read the local's old value.
    fn write_local(&mut self, local: Reg, src: Reg) -> bool {
        let pending = self.nlazy;
        self.materialize_local(local);
        match self.last_rewritable() {
            Some(op) if op.pure_dst() == Some(src) && self.nlazy == pending => {
                if let Some(last) = self.code.last_mut() {
                    last.set_dst(local);
                }
                true
            }
            _ => {
                self.emit(Op::Copy { dst: local, src });
                false
            }
        }
    }

    fn push_const32(&mut self, val: u32) {
        let dst = self.reg(self.h);
        self.emit(Op::Const32 { dst, val });
        self.h += 1;
    }

    fn push_const64(&mut self, val: u64) {
        let dst = self.reg(self.h);
        self.emit(Op::Const64 { dst, val });
        self.h += 1;
    }

    fn numeric(&mut self, op: NumOp) {
        self.numeric_op(op);
        if self.canonicalize && produces_nan(op) {
            let reg = self.reg(self.h - 1);
            self.emit(if op.result() == kiln_parser::ValType::F32 {
                Op::CanonF32 { reg }
            } else {
                Op::CanonF64 { reg }
            });
        }
    }

    fn numeric_op(&mut self, op: NumOp) {
        if op.params().len() == 1 {
            let dst = self.reg(self.h - 1);
            let src = self.operand(self.h - 1);
            self.emit(Op::Unary { op, dst, src });
            return;
        }
        self.h -= 1;
        let (dst, b) = (self.reg(self.h - 1), self.reg(self.h));
        // `x + constant`: fold the constant into the instruction.
        let b_lazy = self.lazy_at(self.h).is_some();
        match (op, self.last_rewritable()) {
            (NumOp::I32Add, Some(Op::Const32 { dst: d, val })) if d == b && !b_lazy => {
                self.code.pop();
                let a = self.operand(self.h - 1);
                self.emit(Op::I32AddImm { dst, a, imm: val });
                return;
            }
            (NumOp::I64Add, Some(Op::Const64 { dst: d, val })) if d == b && !b_lazy => {
                if let Ok(imm) = i32::try_from(val as i64) {
                    self.code.pop();
                    let a = self.operand(self.h - 1);
                    self.emit(Op::I64AddImm { dst, a, imm });
                    return;
                }
            }
            _ => {}
        }
        if op == NumOp::I32Add
            && let Some(fused) = self.add_shifted(dst)
        {
            self.emit(fused);
            return;
        }
        let b = self.operand(self.h);
        let a = self.operand(self.h - 1);
        let op = Op::specialised_binary(op, dst, a, b).unwrap_or(Op::Binary { op, dst, a, b });
        self.emit(op);
    }

    /// `x + (y << c)` (either operand order) for an `i32.add` whose operands are
    /// at `self.h - 1` and `self.h`, when the shift by a constant was the last op
    /// and wrote the stack slot of one operand: the shift is removed and the
    /// fused op returned.
    fn add_shifted(&mut self, dst: Reg) -> Option<Op> {
        let Some(Op::I32Shl { dst: d, a: x, b: c }) = self.last_rewritable() else {
            return None;
        };
        let shift = (self.const_value(c)? as u32 & 31) as u8;
        let (top, below) = (self.h, self.h - 1);
        if self.lazy_at(top).is_none() && d == self.reg(top) {
            // `base; (y << c); add`: the shift produced the top operand.
            self.code.pop();
            let a = self.operand(below);
            return Some(Op::I32AddShl {
                dst,
                a,
                b: x,
                shift,
            });
        }
        if self.lazy_at(below).is_none() && d == self.reg(below) && self.lazy_at(top).is_some() {
            // `(y << c); local.get base; add`: the local emitted nothing after the shift.
            self.code.pop();
            let a = self.operand(top);
            return Some(Op::I32AddShl {
                dst,
                a,
                b: x,
                shift,
            });
        }
        None
    }

    fn else_(&mut self) {
        let Some(top) = self.ctrl.len().checked_sub(1) else {
            return;
        };
        if self.reachable {
            let at = self.emit(Op::Br { target: 0 });
            self.ctrl[top].branches.push(at);
        }
        let here = self.label_here();
        if let Some(j) = self.ctrl[top].if_jump.take() {
            self.patch(j, here);
        }
        let frame = &mut self.ctrl[top];
        frame.kind = Kind::Else;
        self.h = frame.height + frame.params;
        self.reachable = frame.live;
    }

    fn end(&mut self) {
        let Some(frame) = self.ctrl.pop() else { return };
        if frame.kind == Kind::Func {
            if self.reachable {
                let start = self.reg(frame.height);
                self.emit(Op::Return {
                    start,
                    count: frame.results,
                });
            }
            self.reachable = false;
            return;
        }
        let here = self.label_here();
        for &at in &frame.branches {
            self.patch(at, here);
        }
        let falls_from_if = frame.if_jump.is_some();
        if let Some(j) = frame.if_jump {
            self.patch(j, here);
        }
        self.h = frame.height + frame.results;
        self.reachable =
            frame.live && (self.reachable || !frame.branches.is_empty() || falls_from_if);
    }

    /// Unreachable code: only the block structure matters.
    fn dead_instr(&mut self, module: &Module, instr: &Instr) {
        match instr {
            Instr::Block(bt) | Instr::Loop(bt) | Instr::If(bt) => {
                let (params, results) = Self::block_arity(module, *bt);
                self.ctrl.push(Ctrl {
                    kind: Kind::Block,
                    height: self.h,
                    params,
                    results,
                    live: false,
                    branches: Vec::new(),
                    loop_start: 0,
                    if_jump: None,
                });
            }
            Instr::Else => self.else_(),
            Instr::End => self.end(),
            _ => {}
        }
    }
}

/// Whether `op` is float arithmetic that may produce a NaN of unspecified bits.
/// Sign operations and reinterpretations move bits exactly and are left alone.
fn produces_nan(op: NumOp) -> bool {
    use NumOp::*;
    matches!(
        op,
        F32Add
            | F32Sub
            | F32Mul
            | F32Div
            | F32Sqrt
            | F32Min
            | F32Max
            | F32Ceil
            | F32Floor
            | F32Trunc
            | F32Nearest
            | F32DemoteF64
            | F64Add
            | F64Sub
            | F64Mul
            | F64Div
            | F64Sqrt
            | F64Min
            | F64Max
            | F64Ceil
            | F64Floor
            | F64Trunc
            | F64Nearest
            | F64PromoteF32
    )
}

/// Whether the translator of `instr` handles lazy stack slots itself (see the
/// module documentation of `translate`); before any other instruction, every
/// lazy slot is materialised.
fn knows_lazy_slots(instr: &Instr) -> bool {
    matches!(
        instr,
        Instr::LocalGet(_)
            | Instr::LocalSet(_)
            | Instr::LocalTee(_)
            | Instr::Drop
            | Instr::If(_)
            | Instr::BrIf(_)
            | Instr::BrTable(_)
            | Instr::Num(_)
            | Instr::Load(..)
            | Instr::Store(..)
            | Instr::I32Const(_)
            | Instr::I64Const(_)
            | Instr::F32Const(_)
            | Instr::F64Const(_)
            | Instr::GlobalGet(_)
            | Instr::GlobalSet(_)
    )
}
