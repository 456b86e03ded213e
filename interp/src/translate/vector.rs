//! Translation of vector instructions, and of what makes a function *wide*
//! (see the `v128` registers in [`bytecode`](crate::bytecode)).
//!
//! Vector operators become `VUnary`, `VBinary` and `VTernary` ops, whose
//! semantics are in [`num::simd`](crate::num::simd); constants, shuffles,
//! lanes and lane loads and stores get ops of their own. Ops whose immediates
//! do not fit an op's 16 bytes read one operand from the register after
//! their destination, which is then materialised there (see
//! [`Translator::own_register`]).

use kiln_parser::{BlockType, FuncType, Instr, LoadOp, Module, NumOp, StoreOp, ValType};
use kiln_validator::FuncInfo;

use super::Translator;
use crate::bytecode::{Op, Reg};
use crate::num::simd::{self, FloatLanes};

impl Translator {
    /// A vector operator: one op, then NaN canonicalisation of its float lanes
    /// when that is on.
    pub(super) fn vector_numeric(&mut self, op: NumOp) {
        let n = op.params().len() as u32;
        let first = self.h - n;
        let dst = self.reg(first);
        match n {
            1 => {
                let src = self.operand(first);
                self.emit(Op::VUnary { op, dst, src });
            }
            2 => {
                let b = self.operand(first + 1);
                let a = self.operand(first);
                self.emit(Op::VBinary { op, dst, a, b });
            }
            _ => {
                self.own_register(first + 2);
                let b = self.operand(first + 1);
                let a = self.operand(first);
                self.emit(Op::VTernary { op, dst, a, b });
            }
        }
        self.h = first + 1;
        if self.canonicalize {
            match simd::nan_lanes(op) {
                Some(FloatLanes::F32x4) => _ = self.emit(Op::CanonF32x4 { reg: dst }),
                Some(FloatLanes::F64x2) => _ = self.emit(Op::CanonF64x2 { reg: dst }),
                None => {}
            }
        }
    }

    /// A vector instruction with immediates (`Translator::instr` sends no
    /// other here).
    pub(super) fn vector_instr(&mut self, instr: &Instr) {
        match *instr {
            Instr::V128Const(bytes) => {
                let dst = self.reg(self.h);
                let idx = self.vconst(u128::from_le_bytes(bytes));
                self.emit(Op::V128Const { dst, idx });
                self.h += 1;
            }
            Instr::Shuffle(lanes) => {
                self.h -= 1;
                let dst = self.reg(self.h - 1);
                self.own_register(self.h);
                let a = self.operand(self.h - 1);
                let idx = self.vconst(u128::from_le_bytes(lanes));
                self.emit(Op::Shuffle { dst, a, idx });
            }
            Instr::ExtractLane(shape, lane) => {
                let dst = self.reg(self.h - 1);
                let src = self.operand(self.h - 1);
                self.emit(Op::ExtractLane {
                    shape,
                    lane,
                    dst,
                    src,
                });
            }
            Instr::ReplaceLane(shape, lane) => {
                self.h -= 1;
                let dst = self.reg(self.h - 1);
                let x = self.operand(self.h);
                let v = self.operand(self.h - 1);
                self.emit(Op::ReplaceLane {
                    shape,
                    lane,
                    dst,
                    v,
                    x,
                });
            }
            Instr::LoadLane(width, ref m, lane) => {
                self.h -= 1;
                let dst = self.reg(self.h - 1);
                self.own_register(self.h);
                let addr = self.operand(self.h - 1);
                let memarg = self.memarg_entry(m);
                self.emit(Op::LoadLane {
                    width,
                    lane,
                    dst,
                    addr,
                    memarg,
                });
            }
            Instr::StoreLane(width, ref m, lane) => {
                self.h -= 2;
                let v = self.operand(self.h + 1);
                let addr = self.operand(self.h);
                let memarg = self.memarg_entry(m);
                self.emit(Op::StoreLane {
                    width,
                    lane,
                    addr,
                    v,
                    memarg,
                });
            }
            _ => {
                self.emit(Op::Unreachable);
            }
        }
    }

    /// The register of stack position `pos`, holding its value: a slot that
    /// stands for a local gets a copy of it.
    fn own_register(&mut self, pos: u32) -> Reg {
        let reg = self.reg(pos);
        if let Some(local) = self.lazy_at(pos) {
            self.set_lazy(pos, None);
            self.emit_copy(reg, local);
        }
        reg
    }

    /// The index of vector constant `v` in the function's side table.
    fn vconst(&mut self, v: u128) -> u32 {
        self.vconsts.push(v);
        self.vconsts.len() as u32 - 1
    }

    /// `dst = src`, both halves in a wide function.
    pub(super) fn emit_copy(&mut self, dst: Reg, src: Reg) {
        if self.wide {
            self.emit(Op::CopyWide { dst, src });
        } else {
            self.emit(Op::Copy { dst, src });
        }
    }

    /// The high halves of `count` values moved from register `from` down to
    /// register 0, before a return or a tail call moves their low halves.
    pub(super) fn move_high_halves(&mut self, from: Reg, count: u32) {
        if self.wide && from != 0 {
            for i in 0..count {
                self.emit(Op::CopyHi {
                    dst: i,
                    src: from + i,
                });
            }
        }
    }

    /// Zeroes the high halves of the declared `v128` locals (a call zeroes
    /// only the low halves of the locals).
    pub(super) fn zero_vector_locals(&mut self, locals: &[ValType], num_params: usize) {
        for (i, t) in locals.iter().enumerate().skip(num_params) {
            if *t == ValType::V128 {
                let idx = self.vconst(0);
                self.emit(Op::V128Const { dst: i as Reg, idx });
            }
        }
    }
}

/// Whether a function can hold `v128` values: its signature or locals have
/// the type, or an instruction of its body makes, takes or passes one.
pub(super) fn is_wide(module: &Module, sig: &FuncType, info: &FuncInfo, instrs: &[Instr]) -> bool {
    let v = |types: &[ValType]| types.contains(&ValType::V128);
    let ty_wide = |t: &FuncType| v(&t.params) || v(&t.results);
    let tag_wide = |tag: kiln_parser::TagIdx| {
        module
            .tag_type(tag)
            .is_some_and(|t| ty_wide(module.types[t.index()].func()))
    };
    let block_wide = |bt: BlockType| match bt {
        BlockType::Empty => false,
        BlockType::Value(t) => t == ValType::V128,
        BlockType::Func(t) => ty_wide(module.types[t.index()].func()),
    };
    ty_wide(sig)
        || v(&info.locals)
        || instrs.iter().any(|instr| match instr {
            Instr::Num(op) => op.result() == ValType::V128 || v(op.params()),
            Instr::Load(op, _) => load_is_vector(*op),
            Instr::Store(op, _) => *op == StoreOp::V128Store,
            Instr::V128Const(_)
            | Instr::Shuffle(_)
            | Instr::ExtractLane(..)
            | Instr::ReplaceLane(..)
            | Instr::LoadLane(..)
            | Instr::StoreLane(..) => true,
            Instr::Select(Some(t)) => *t == ValType::V128,
            Instr::Call(f) | Instr::ReturnCall(f) => module
                .func_type_idx(*f)
                .is_some_and(|t| ty_wide(module.types[t.index()].func())),
            Instr::CallIndirect { ty, .. }
            | Instr::ReturnCallIndirect { ty, .. }
            | Instr::CallRef(ty)
            | Instr::ReturnCallRef(ty) => ty_wide(module.types[ty.index()].func()),
            // A payload moves like an operand.
            Instr::Throw(tag) => tag_wide(*tag),
            // A struct field or an array element may be a `v128` (checked
            // for every GC instruction: they run on the slow path anyway).
            Instr::Gc(_) => true,
            Instr::TryTable(t) => {
                block_wide(t.ty) || t.catches.iter().any(|c| c.tag.is_some_and(tag_wide))
            }
            Instr::GlobalGet(g) | Instr::GlobalSet(g) => {
                module.global_type(*g).map(|g| g.content) == Some(ValType::V128)
            }
            Instr::Block(bt) | Instr::Loop(bt) | Instr::If(bt) => block_wide(*bt),
            _ => false,
        })
}

/// Whether `op` loads a `v128`.
pub(crate) fn load_is_vector(op: LoadOp) -> bool {
    op.val_type() == ValType::V128
}
