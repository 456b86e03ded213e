//! Translation of control instructions: blocks, loops, `if`/`else`, `end`,
//! branches and `return`, in reachable code and in unreachable code (where
//! only the block structure matters).

use kiln_parser::{BlockType, BrTable, Instr, Module, TagIdx, TryTable};

use super::{Ctrl, Kind, Translator};
use crate::bytecode::{Op, Reg};

impl Translator {
    /// `block` or `loop` (`kind`) of type `bt`.
    pub(super) fn block(&mut self, module: &Module, bt: BlockType, kind: Kind) {
        let (params, results) = Self::block_arity(module, bt);
        let loop_start = if kind == Kind::Loop {
            let start = self.label_here();
            self.epoch_check();
            start
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
            handler: None,
        });
    }

    /// `if` of type `bt`: a conditional jump to the `else` arm (or the end),
    /// patched when that is reached.
    pub(super) fn if_(&mut self, module: &Module, bt: BlockType) {
        let (params, results) = Self::block_arity(module, bt);
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
            handler: None,
        });
    }

    pub(super) fn else_(&mut self) {
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

    pub(super) fn end(&mut self) {
        let Some(frame) = self.ctrl.pop() else { return };
        if frame.kind == Kind::Func {
            if self.reachable {
                let start = self.reg(frame.height);
                self.move_high_halves(start, frame.results);
                self.emit(Op::Return {
                    start,
                    count: frame.results,
                });
            }
            self.reachable = false;
            return;
        }
        let here = self.label_here();
        if let Some(mut handler) = frame.handler {
            handler.end = here;
            self.handlers.push(*handler);
        }
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

    /// `try_table`: a jump over one landing pad per catch clause, then the
    /// body as a block. The executor writes a caught exception's payload
    /// (and exnref) at the block's operand height and runs the clause's
    /// pad, which branches to the clause's label as `br` would with those
    /// values on top of the stack.
    pub(super) fn try_table(&mut self, module: &Module, t: &TryTable) {
        let (params, results) = Self::block_arity(module, t.ty);
        let height = self.h - params;
        let skip = self.emit(Op::Br { target: 0 });
        let mut clauses = Vec::with_capacity(t.catches.len());
        for c in t.catches.iter() {
            let pad = self.label_here();
            let payload = c.tag.map_or(0, |tag| tag_arity(module, tag));
            let saved = self.h;
            self.h = height + payload + u32::from(c.with_ref);
            // The payload may reach above anything the body pushes: the
            // frame must hold it (the verifier checks `Handler::payload`).
            self.max_h = self.max_h.max(self.h);
            let idx = self.frame_index(c.label.0);
            self.branch_to(idx);
            self.h = saved;
            clauses.push(crate::Clause {
                tag: c.tag.map(|t| t.0),
                with_ref: c.with_ref,
                pad,
            });
        }
        let start = self.label_here();
        self.patch(skip, start);
        self.ctrl.push(Ctrl {
            kind: Kind::Block,
            height,
            params,
            results,
            live: true,
            branches: Vec::new(),
            loop_start: 0,
            if_jump: None,
            handler: Some(Box::new(crate::Handler {
                start,
                end: start,
                payload: self.reg(height),
                clauses: clauses.into_boxed_slice(),
            })),
        });
    }

    /// `throw` of `tag`: its payload is the top operands.
    pub(super) fn throw(&mut self, module: &Module, tag: TagIdx) {
        let n = tag_arity(module, tag);
        let args = self.reg(self.h - n);
        self.emit(Op::Throw { tag: tag.0, args });
        self.h -= n;
        self.reachable = false;
    }

    /// `br_on_null` to the label at `depth`: taken when the reference on top
    /// is null (which the branch drops), else the reference stays.
    pub(super) fn br_on_null(&mut self, depth: u32) {
        self.h -= 1;
        let r = self.reg(self.h);
        let idx = self.frame_index(depth);
        self.ref_branch(idx, r, true);
        self.h += 1;
    }

    /// `br_on_non_null` to the label at `depth`: taken, carrying the
    /// reference, when it is not null; else the reference is dropped.
    pub(super) fn br_on_non_null(&mut self, depth: u32) {
        let r = self.reg(self.h - 1);
        let idx = self.frame_index(depth);
        self.ref_branch(idx, r, false);
        self.h -= 1;
    }

    /// A branch to frame `idx` taken when the reference in `r` is null (or,
    /// without `on_null`, when it is not), the label's values on top of the
    /// stack as it stands.
    fn ref_branch(&mut self, idx: usize, r: Reg, on_null: bool) {
        if self.direct_branch(idx) {
            let frame = &self.ctrl[idx];
            let target = if frame.kind == Kind::Loop {
                frame.loop_start
            } else {
                0
            };
            let at = self.emit(if on_null {
                Op::BrIfEqz { cond: r, target }
            } else {
                Op::BrIfNez { cond: r, target }
            });
            if self.ctrl[idx].kind != Kind::Loop {
                self.ctrl[idx].branches.push(at);
            }
        } else {
            let skip = self.emit(if on_null {
                Op::BrIfNez { cond: r, target: 0 }
            } else {
                Op::BrIfEqz { cond: r, target: 0 }
            });
            self.branch_to(idx);
            let here = self.label_here();
            self.patch(skip, here);
        }
    }

    /// `br` to the label at `depth`.
    pub(super) fn br(&mut self, depth: u32) {
        let idx = self.frame_index(depth);
        self.branch_to(idx);
        self.reachable = false;
    }

    /// The copies of the values a branch to control frame `idx` carries, then
    /// the jump.
    fn branch_to(&mut self, idx: usize) {
        let (height, n) = (self.ctrl[idx].height, self.ctrl[idx].label_arity());
        if self.ctrl[idx].kind != Kind::Func {
            self.branch_copies(height, n);
        }
        self.branch_jump(idx);
    }

    /// `br_if` to the label at `depth`: one conditional jump when the branch
    /// carries no copies, else a conditional jump over the copies and the jump.
    pub(super) fn br_if(&mut self, depth: u32) {
        self.h -= 1;
        let lazy_cond = self.lazy_at(self.h);
        self.set_lazy(self.h, None);
        // The branch may carry values, read from their registers.
        self.materialize_all();
        let cond = self.reg(self.h);
        let idx = self.frame_index(depth);
        if self.direct_branch(idx) {
            let frame = &self.ctrl[idx];
            if frame.kind == Kind::Loop {
                let target = frame.loop_start;
                self.branch_on(lazy_cond, cond, false, target);
            } else {
                let at = self.branch_on(lazy_cond, cond, false, 0);
                self.ctrl[idx].branches.push(at);
            }
        } else {
            let skip = self.branch_on(lazy_cond, cond, true, 0);
            self.branch_to(idx);
            let here = self.label_here();
            self.patch(skip, here);
        }
    }

    /// A jump to `target` if the condition in register `cond` is not zero (or,
    /// with `negate`, if it is). A lazy condition is a local: the branch tests
    /// it as it is (fusing it with the op before would drop that op's write to
    /// the local).
    fn branch_on(&mut self, lazy_cond: Option<Reg>, cond: Reg, negate: bool, target: u32) -> usize {
        match lazy_cond {
            Some(local) => self.emit(if negate {
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
            None => self.emit_cond_branch(cond, negate, target),
        }
    }

    /// `br_table`: a `BrTable` followed by one `Br` per target, default last;
    /// a branch that carries copies jumps to a stub of its own after them.
    pub(super) fn br_table(&mut self, table: &BrTable) {
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
                self.branch_to(idx);
            }
        }
        self.reachable = false;
    }

    /// `return` (or the function's final `end`) of a single result that a
    /// `local.get` left lazy: returns straight from the local's register, without
    /// copying it to the stack slot first. Returns whether it did.
    pub(super) fn returns_lazy_local(&mut self, instr: &Instr) -> bool {
        let func_end = matches!(instr, Instr::End) && self.ctrl.len() == 1;
        if !(func_end || matches!(instr, Instr::Return)) || self.ctrl[0].results != 1 || self.h == 0
        {
            return false;
        }
        let Some(local) = self.lazy_at(self.h - 1) else {
            return false;
        };
        self.move_high_halves(local, 1);
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

    /// Unreachable code: only the block structure matters.
    pub(super) fn dead_instr(&mut self, module: &Module, instr: &Instr) {
        match instr {
            Instr::Block(_) | Instr::Loop(_) | Instr::If(_) | Instr::TryTable(_) => {
                let bt = match instr {
                    Instr::TryTable(t) => t.ty,
                    Instr::Block(bt) | Instr::Loop(bt) | Instr::If(bt) => *bt,
                    _ => BlockType::Empty,
                };
                let (params, results) = Self::block_arity(module, bt);
                self.ctrl.push(Ctrl {
                    kind: Kind::Block,
                    height: self.h,
                    params,
                    results,
                    live: false,
                    branches: Vec::new(),
                    loop_start: 0,
                    if_jump: None,
                    handler: None,
                });
            }
            Instr::Else => self.else_(),
            Instr::End => self.end(),
            _ => {}
        }
    }
}

/// The number of values in the payload of `tag`.
fn tag_arity(module: &Module, tag: TagIdx) -> u32 {
    module
        .tag_type(tag)
        .and_then(|t| module.get_func_type(t))
        .map_or(0, |t| t.params.len() as u32)
}
