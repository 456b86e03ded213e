//! Validation of constant expressions: global initialisers, segment offsets,
//! element items.

use kiln_parser::{
    ConstExpr, GcInstr, GlobalIdx, HeapType, Instr, NumOp, RefType, TypeIdx, ValType,
};

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
            Instr::Gc(gc) if cx.features.gc => {
                if let Err(kind) = const_gc(cx, gc, &mut stack) {
                    return err(kind);
                }
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

/// A GC instruction of a constant expression: the allocations and the
/// conversions, each popping its operands from `stack` and pushing its
/// result.
fn const_gc(
    cx: &Context<'_>,
    instr: &GcInstr,
    stack: &mut Vec<ValType>,
) -> Result<(), ValidationErrorKind> {
    let mut pop = |t: ValType| match stack.pop() {
        Some(a) if cx.matches(a, t) => Ok(a),
        _ => Err(ValidationErrorKind::TypeMismatch),
    };
    let exists = |t: TypeIdx| {
        if t.index() < cx.types.len() {
            Ok(())
        } else {
            Err(ValidationErrorKind::unknown(IndexSpace::Type, t.0))
        }
    };
    let made = |t: TypeIdx| ValType::Ref(RefType::non_null(HeapType::Concrete(t)));
    let result = match *instr {
        GcInstr::StructNew(t) | GcInstr::StructNewDefault(t) => {
            exists(t)?;
            let fields = cx
                .struct_fields(t)
                .ok_or(ValidationErrorKind::TypeMismatch)?;
            if matches!(instr, GcInstr::StructNew(_)) {
                for f in fields.iter().rev() {
                    pop(f.storage.unpacked())?;
                }
            } else if !fields.iter().all(|f| f.is_defaultable()) {
                return Err(ValidationErrorKind::TypeMismatch);
            }
            made(t)
        }
        GcInstr::ArrayNew(t) | GcInstr::ArrayNewDefault(t) => {
            exists(t)?;
            let elem = cx.array_elem(t).ok_or(ValidationErrorKind::TypeMismatch)?;
            pop(ValType::I32)?;
            if matches!(instr, GcInstr::ArrayNew(_)) {
                pop(elem.storage.unpacked())?;
            } else if !elem.is_defaultable() {
                return Err(ValidationErrorKind::TypeMismatch);
            }
            made(t)
        }
        GcInstr::ArrayNewFixed { ty, len } => {
            exists(ty)?;
            let elem = cx.array_elem(ty).ok_or(ValidationErrorKind::TypeMismatch)?;
            // A constant expression has no unknown operands: more than the
            // stack holds is a mismatch, found at the first missing one.
            for _ in 0..len {
                pop(elem.storage.unpacked())?;
            }
            made(ty)
        }
        GcInstr::RefI31 => {
            pop(ValType::I32)?;
            RefType::non_null(HeapType::I31).into()
        }
        GcInstr::AnyConvertExtern | GcInstr::ExternConvertAny => {
            let (from, to) = if matches!(instr, GcInstr::AnyConvertExtern) {
                (HeapType::Extern, HeapType::Any)
            } else {
                (HeapType::Any, HeapType::Extern)
            };
            let r = pop(RefType::null(from).into())?;
            let nullable = r.as_ref().is_none_or(|r| r.nullable);
            RefType::new(nullable, to).into()
        }
        _ => return Err(ValidationErrorKind::ConstantExpressionRequired),
    };
    stack.push(result);
    Ok(())
}
