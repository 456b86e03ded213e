//! Numeric operators (`NumOp`): one Cranelift instruction each, except where
//! WebAssembly traps.
//!
//! Cranelift's own trapping forms (`sdiv` by zero, `fcvt_to_sint` of NaN)
//! raise a hardware trap whose signal does not say which WebAssembly trap it
//! was (`SIGFPE` for a zero divisor and for `MIN / -1` alike). So every
//! trapping operator tests its operands first and branches to the trap block
//! (`trap_if`) with the right code, and the instruction that follows can no
//! longer trap:
//! - `div_s`: zero divisor, then `MIN / -1` (integer overflow);
//! - `div_u`, `rem_u`: zero divisor;
//! - `rem_s`: zero divisor; a divisor of -1 is replaced by 1 (same remainder,
//!   0), since `MIN % -1` faults on x86;
//! - `trunc_f*`: NaN (invalid conversion), then the exact range test of
//!   `kiln_interp::num::convert` (`lo < x < hi` in the float's own type), then
//!   the saturating conversion, which is exact inside the range.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Type, Value, types};
use kiln_parser::{NumOp, ValType};
use kiln_runtime::TrapCode;

use super::FuncState;
use crate::CompileError;
use kiln_runtime::TierName;

impl FuncState<'_, '_> {
    /// Translates a numeric operator.
    pub(super) fn visit_num(&mut self, op: NumOp) -> Result<(), CompileError> {
        let params = op.params();
        if op.result() == ValType::V128 || params.contains(&ValType::V128) {
            return self.visit_simd_num(op);
        }
        let v = if params.len() == 1 {
            let x = self.pop();
            self.unary(op, x)?
        } else {
            let b = self.pop();
            let a = self.pop();
            self.binary(op, a, b)?
        };
        self.push(v);
        Ok(())
    }

    /// A comparison result (`i8` in Cranelift) as a WebAssembly `i32`.
    fn bool_to_i32(&mut self, b: Value) -> Value {
        self.b.ins().uextend(types::I32, b)
    }

    fn icmp(&mut self, cc: IntCC, a: Value, b: Value) -> Value {
        let c = self.b.ins().icmp(cc, a, b);
        self.bool_to_i32(c)
    }

    fn fcmp(&mut self, cc: FloatCC, a: Value, b: Value) -> Value {
        let c = self.b.ins().fcmp(cc, a, b);
        self.bool_to_i32(c)
    }

    fn unary(&mut self, op: NumOp, x: Value) -> Result<Value, CompileError> {
        use NumOp::*;
        use types::{F32 as TF32, F64 as TF64, I8, I16, I32 as TI32, I64 as TI64};
        Ok(match op {
            I32Eqz | I64Eqz => {
                let c = self.b.ins().icmp_imm_s(IntCC::Equal, x, 0);
                self.bool_to_i32(c)
            }
            I32Clz | I64Clz => self.b.ins().clz(x),
            I32Ctz | I64Ctz => self.b.ins().ctz(x),
            I32Popcnt | I64Popcnt => self.b.ins().popcnt(x),
            F32Abs | F64Abs => self.b.ins().fabs(x),
            F32Neg | F64Neg => self.b.ins().fneg(x),
            F32Ceil | F64Ceil => self.b.ins().ceil(x),
            F32Floor | F64Floor => self.b.ins().floor(x),
            F32Trunc | F64Trunc => self.b.ins().trunc(x),
            F32Nearest | F64Nearest => self.b.ins().nearest(x),
            F32Sqrt | F64Sqrt => self.b.ins().sqrt(x),
            I32WrapI64 => self.b.ins().ireduce(TI32, x),
            I64ExtendI32S => self.b.ins().sextend(TI64, x),
            I64ExtendI32U => self.b.ins().uextend(TI64, x),
            I32TruncF32S => self.trunc(x, TI32, true, -2147483904.0, 2147483648.0),
            I32TruncF32U => self.trunc(x, TI32, false, -1.0, 4294967296.0),
            I32TruncF64S => self.trunc(x, TI32, true, -2147483649.0, 2147483648.0),
            I32TruncF64U => self.trunc(x, TI32, false, -1.0, 4294967296.0),
            I64TruncF32S => {
                self.trunc(x, TI64, true, -9223373136366403584.0, 9223372036854775808.0)
            }
            I64TruncF32U => self.trunc(x, TI64, false, -1.0, 18446744073709551616.0),
            I64TruncF64S => {
                self.trunc(x, TI64, true, -9223372036854777856.0, 9223372036854775808.0)
            }
            I64TruncF64U => self.trunc(x, TI64, false, -1.0, 18446744073709551616.0),
            I32TruncSatF32S | I32TruncSatF64S => self.b.ins().fcvt_to_sint_sat(TI32, x),
            I32TruncSatF32U | I32TruncSatF64U => self.b.ins().fcvt_to_uint_sat(TI32, x),
            I64TruncSatF32S | I64TruncSatF64S => self.b.ins().fcvt_to_sint_sat(TI64, x),
            I64TruncSatF32U | I64TruncSatF64U => self.b.ins().fcvt_to_uint_sat(TI64, x),
            F32ConvertI32S | F32ConvertI64S => self.b.ins().fcvt_from_sint(TF32, x),
            F32ConvertI32U | F32ConvertI64U => self.b.ins().fcvt_from_uint(TF32, x),
            F64ConvertI32S | F64ConvertI64S => self.b.ins().fcvt_from_sint(TF64, x),
            F64ConvertI32U | F64ConvertI64U => self.b.ins().fcvt_from_uint(TF64, x),
            F32DemoteF64 => self.b.ins().fdemote(TF32, x),
            F64PromoteF32 => self.b.ins().fpromote(TF64, x),
            I32ReinterpretF32 => self.b.ins().bitcast(TI32, MemFlagsData::new(), x),
            I64ReinterpretF64 => self.b.ins().bitcast(TI64, MemFlagsData::new(), x),
            F32ReinterpretI32 => self.b.ins().bitcast(TF32, MemFlagsData::new(), x),
            F64ReinterpretI64 => self.b.ins().bitcast(TF64, MemFlagsData::new(), x),
            I32Extend8S => self.sign_extend(x, I8, TI32),
            I32Extend16S => self.sign_extend(x, I16, TI32),
            I64Extend8S => self.sign_extend(x, I8, TI64),
            I64Extend16S => self.sign_extend(x, I16, TI64),
            I64Extend32S => self.sign_extend(x, TI32, TI64),
            other => {
                return Err(CompileError::unsupported(
                    TierName::Jit,
                    format!("numeric operator {}", other.name()),
                ));
            }
        })
    }

    fn binary(&mut self, op: NumOp, a: Value, b: Value) -> Result<Value, CompileError> {
        use NumOp::*;
        Ok(match op {
            I32Eq | I64Eq => self.icmp(IntCC::Equal, a, b),
            I32Ne | I64Ne => self.icmp(IntCC::NotEqual, a, b),
            I32LtS | I64LtS => self.icmp(IntCC::SignedLessThan, a, b),
            I32LtU | I64LtU => self.icmp(IntCC::UnsignedLessThan, a, b),
            I32GtS | I64GtS => self.icmp(IntCC::SignedGreaterThan, a, b),
            I32GtU | I64GtU => self.icmp(IntCC::UnsignedGreaterThan, a, b),
            I32LeS | I64LeS => self.icmp(IntCC::SignedLessThanOrEqual, a, b),
            I32LeU | I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual, a, b),
            I32GeS | I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual, a, b),
            I32GeU | I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual, a, b),
            F32Eq | F64Eq => self.fcmp(FloatCC::Equal, a, b),
            F32Ne | F64Ne => self.fcmp(FloatCC::NotEqual, a, b),
            F32Lt | F64Lt => self.fcmp(FloatCC::LessThan, a, b),
            F32Gt | F64Gt => self.fcmp(FloatCC::GreaterThan, a, b),
            F32Le | F64Le => self.fcmp(FloatCC::LessThanOrEqual, a, b),
            F32Ge | F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual, a, b),
            I32Add | I64Add => self.b.ins().iadd(a, b),
            I32Sub | I64Sub => self.b.ins().isub(a, b),
            I32Mul | I64Mul => self.b.ins().imul(a, b),
            I32DivS | I64DivS => {
                self.trap_if_zero(b);
                let ty = self.b.func.dfg.value_type(a);
                let min = if ty == types::I32 {
                    i64::from(i32::MIN)
                } else {
                    i64::MIN
                };
                let a_min = self.b.ins().icmp_imm_s(IntCC::Equal, a, min);
                let b_neg1 = self.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
                let overflow = self.b.ins().band(a_min, b_neg1);
                self.trap_if(overflow, TrapCode::IntegerOverflow);
                self.b.ins().sdiv(a, b)
            }
            I32DivU | I64DivU => {
                self.trap_if_zero(b);
                self.b.ins().udiv(a, b)
            }
            I32RemS | I64RemS => {
                self.trap_if_zero(b);
                let ty = self.b.func.dfg.value_type(b);
                let b_neg1 = self.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
                let one = self.b.ins().iconst(ty, 1);
                let divisor = self.b.ins().select(b_neg1, one, b);
                self.b.ins().srem(a, divisor)
            }
            I32RemU | I64RemU => {
                self.trap_if_zero(b);
                self.b.ins().urem(a, b)
            }
            I32And | I64And => self.b.ins().band(a, b),
            I32Or | I64Or => self.b.ins().bor(a, b),
            I32Xor | I64Xor => self.b.ins().bxor(a, b),
            // Cranelift masks shift and rotate amounts to the type's width, as WebAssembly does.
            I32Shl | I64Shl => self.b.ins().ishl(a, b),
            I32ShrS | I64ShrS => self.b.ins().sshr(a, b),
            I32ShrU | I64ShrU => self.b.ins().ushr(a, b),
            I32Rotl | I64Rotl => self.b.ins().rotl(a, b),
            I32Rotr | I64Rotr => self.b.ins().rotr(a, b),
            F32Add | F64Add => self.b.ins().fadd(a, b),
            F32Sub | F64Sub => self.b.ins().fsub(a, b),
            F32Mul | F64Mul => self.b.ins().fmul(a, b),
            F32Div | F64Div => self.b.ins().fdiv(a, b),
            // Cranelift's `fmin`/`fmax` are WebAssembly's: NaN-propagating, -0 < +0.
            F32Min | F64Min => self.b.ins().fmin(a, b),
            F32Max | F64Max => self.b.ins().fmax(a, b),
            F32Copysign | F64Copysign => self.b.ins().fcopysign(a, b),
            other => {
                return Err(CompileError::unsupported(
                    TierName::Jit,
                    format!("numeric operator {}", other.name()),
                ));
            }
        })
    }

    /// Traps with `integer divide by zero` if `divisor` is 0.
    fn trap_if_zero(&mut self, divisor: Value) {
        let zero = self.b.ins().icmp_imm_s(IntCC::Equal, divisor, 0);
        self.trap_if(zero, TrapCode::IntegerDivisionByZero);
    }

    /// The low `from` bits of `x`, sign-extended to `to`.
    fn sign_extend(&mut self, x: Value, from: Type, to: Type) -> Value {
        let narrow = self.b.ins().ireduce(from, x);
        self.b.ins().sextend(to, narrow)
    }

    /// A trapping float-to-integer truncation: `lo < x < hi` (exclusive bounds, exact
    /// in `x`'s type) or trap; see the module docs.
    fn trunc(&mut self, x: Value, to: Type, signed: bool, lo: f64, hi: f64) -> Value {
        let nan = self.b.ins().fcmp(FloatCC::Unordered, x, x);
        self.trap_if(nan, TrapCode::InvalidConversionToInteger);
        let (lo, hi) = if self.b.func.dfg.value_type(x) == types::F32 {
            // The bounds are exact `f32`s, so the narrowing is exact.
            (
                self.b.ins().f32const(lo as f32),
                self.b.ins().f32const(hi as f32),
            )
        } else {
            (self.b.ins().f64const(lo), self.b.ins().f64const(hi))
        };
        // x is not NaN here, so `x <= lo` is exactly "not lo < x".
        let below = self.b.ins().fcmp(FloatCC::LessThanOrEqual, x, lo);
        let above = self.b.ins().fcmp(FloatCC::GreaterThanOrEqual, x, hi);
        let out = self.b.ins().bor(below, above);
        self.trap_if(out, TrapCode::IntegerOverflow);
        if signed {
            self.b.ins().fcvt_to_sint_sat(to, x)
        } else {
            self.b.ins().fcvt_to_uint_sat(to, x)
        }
    }
}
