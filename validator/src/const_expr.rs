//! Validation of constant expressions: global initialisers, segment offsets,
//! element items.

use kiln_parser::{ConstExpr, GlobalIdx, Instr, NumOp, ValType};

use crate::context::Context;
use crate::error::{IndexSpace, ValidationError, ValidationErrorKind};

/// Checks that `expr` is constant and produces exactly one value of type `expected`.
///
/// `visible_globals` is how many globals a `global.get` may refer to (only the
/// imported ones in WebAssembly 2.0).
pub(crate) fn check_const_expr(
    cx: &Context<'_>,
    expr: &ConstExpr,
    expected: ValType,
    visible_globals: usize,
) -> Result<(), ValidationError> {
    let err = |kind| Err(ValidationError::new(kind, expr.offset));
    let mut stack: Vec<ValType> = Vec::new();
    for instr in expr.instrs.iter() {
        match instr {
            Instr::I32Const(_) => stack.push(ValType::I32),
            Instr::I64Const(_) => stack.push(ValType::I64),
            Instr::F32Const(_) => stack.push(ValType::F32),
            Instr::F64Const(_) => stack.push(ValType::F64),
            Instr::V128Const(_) => stack.push(ValType::V128),
            Instr::RefNull(t) => stack.push((*t).into()),
            Instr::RefFunc(f) => {
                if f.index() >= cx.num_funcs() {
                    return err(ValidationErrorKind::unknown(IndexSpace::Function, f.0));
                }
                stack.push(ValType::FuncRef);
            }
            Instr::GlobalGet(GlobalIdx(g)) => {
                let Some(ty) = cx.globals.get(*g as usize) else {
                    return err(ValidationErrorKind::unknown(IndexSpace::Global, *g));
                };
                if *g as usize >= visible_globals {
                    return err(ValidationErrorKind::unknown(IndexSpace::Global, *g));
                }
                if ty.mutable {
                    return err(ValidationErrorKind::ConstantExpressionRequired);
                }
                stack.push(ty.content);
            }
            Instr::Num(op) if cx.features.extended_const && is_extended_const(*op) => {
                let t = op.result();
                for _ in 0..2 {
                    if stack.pop() != Some(t) {
                        return err(ValidationErrorKind::TypeMismatch);
                    }
                }
                stack.push(t);
            }
            _ => return err(ValidationErrorKind::ConstantExpressionRequired),
        }
    }
    if stack.len() != 1 || stack[0] != expected {
        return err(ValidationErrorKind::TypeMismatch);
    }
    Ok(())
}

fn is_extended_const(op: NumOp) -> bool {
    matches!(
        op,
        NumOp::I32Add
            | NumOp::I32Sub
            | NumOp::I32Mul
            | NumOp::I64Add
            | NumOp::I64Sub
            | NumOp::I64Mul
    )
}
