//! Validation of constant expressions: global initialisers, segment offsets,
//! element items.

use kiln_parser::{ConstExpr, GlobalIdx, HeapType, Instr, NumOp, RefType, ValType};

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
            Instr::RefNull(h) => {
                if !cx.heap_type_ok(*h, usize::MAX) {
                    return err(ValidationErrorKind::unknown(IndexSpace::Type, 0));
                }
                stack.push(RefType::null(*h).into());
            }
            Instr::RefFunc(f) => {
                let Some(&t) = cx.funcs.get(f.index()) else {
                    return err(ValidationErrorKind::unknown(IndexSpace::Function, f.0));
                };
                stack.push(RefType::non_null(HeapType::Concrete(t)).into());
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
                    if stack.pop().is_none_or(|a| !cx.matches(a, t)) {
                        return err(ValidationErrorKind::TypeMismatch);
                    }
                }
                stack.push(t);
            }
            _ => return err(ValidationErrorKind::ConstantExpressionRequired),
        }
    }
    if stack.len() != 1 || !cx.matches(stack[0], expected) {
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
