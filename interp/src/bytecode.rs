//! Kiln's interpreter bytecode: a register machine over the function's frame.
//!
//! A frame is a window of 64-bit slots: the parameters, then the declared
//! locals, then one slot per operand-stack height. Because WebAssembly fixes
//! the operand-stack height at every instruction, the translator turns each
//! stack position into a register number and every instruction reads and
//! writes registers directly: `local.get 0; local.get 1; i32.add; local.set 2`
//! becomes one `I32Add { dst: 2, a: 0, b: 1 }`. There is no run-time stack
//! pointer.
//!
//! Branches carry absolute instruction indices, resolved at translation.
//! Values a branch carries to its label are moved with `Copy` before the jump.
//! Rare operations keep their bulky immediates in side tables of the
//! [`CompiledFunc`](crate::CompiledFunc) (`memargs`, `indirect`, `vconsts`).
//!
//! # `v128` registers
//! A register is 16 bytes: its low 64 bits are the slot the register number
//! names in the value stack, and its high 64 bits are a second slot at the
//! same index in the upper half of the value stack (`exec::frames`). Scalar
//! ops touch only the low slot, so scalar code runs exactly as if registers
//! were 8 bytes. Vector ops read and write both. In a function that holds
//! `v128` values (a *wide* function), every op that moves a value without
//! knowing its type moves both halves: copies are `CopyWide`, and `select`,
//! returns and tail-call arguments are followed by `SelectHi` or `CopyHi`,
//! which move the high slots.

use kiln_parser::{LaneShape, LaneWidth, LoadOp, NumOp, StoreOp};
use kiln_runtime::ops::BulkOp;

/// A register: a slot index relative to the frame's base.
pub type Reg = u32;

/// The one list of the register-to-register binary operators that get an op
/// of their own (the others run as the generic `Op::Binary`), with their
/// semantics. Every other place that needs one of these operators' meaning is
/// generated from this list: the `Op` variants and their accessors here, the
/// slow path's evaluation ([`Op::eval_binary`], [`Op::branch_taken`]) and the
/// fast path's handlers (`exec/threaded.rs`).
///
/// `for_each_binary_op!(m)` expands to `m! { rows }`, one row per operator:
/// - `Name(int) => |a, b| value;`: operands and result are slots (`u64`,
///   see [`num`](crate::num)), and the fast path passes the result on in the
///   integer accumulator;
/// - `Name(f64) => |a, b| value;`: operands and result are `f64`s, passed on
///   in the float accumulator;
/// - a comparison (or `i32.and`) also names the fused branch op that jumps
///   when its value is not zero, and how that branch is negated: `branch
///   BrIfName if not Other` (the branch of operator `Other`, which holds
///   exactly when this one does not) or `branch BrIfName else BrIfNotName` (a
///   branch op of its own that jumps when the value is zero).
macro_rules! for_each_binary_op {
    ($m:ident) => {
        $m! {
            I32Add(int) => |a, b| u64::from((a as u32).wrapping_add(b as u32));
            I32Sub(int) => |a, b| u64::from((a as u32).wrapping_sub(b as u32));
            I32Mul(int) => |a, b| u64::from((a as u32).wrapping_mul(b as u32));
            I32And(int) => |a, b| (a & b) & 0xffff_ffff, branch BrIfI32And else BrIfI32NotAnd;
            I32Or(int) => |a, b| (a | b) & 0xffff_ffff;
            I32Xor(int) => |a, b| (a ^ b) & 0xffff_ffff;
            I32Shl(int) => |a, b| u64::from((a as u32).wrapping_shl(b as u32));
            I32ShrS(int) => |a, b| u64::from((a as i32).wrapping_shr(b as u32) as u32);
            I32ShrU(int) => |a, b| u64::from((a as u32).wrapping_shr(b as u32));
            I32Eq(int) => |a, b| u64::from(a as u32 == b as u32), branch BrIfI32Eq if not I32Ne;
            I32Ne(int) => |a, b| u64::from(a as u32 != b as u32), branch BrIfI32Ne if not I32Eq;
            I32LtS(int) => |a, b| u64::from((a as i32) < (b as i32)), branch BrIfI32LtS if not I32GeS;
            I32LtU(int) => |a, b| u64::from((a as u32) < (b as u32)), branch BrIfI32LtU if not I32GeU;
            I32GtS(int) => |a, b| u64::from((a as i32) > (b as i32)), branch BrIfI32GtS if not I32LeS;
            I32GtU(int) => |a, b| u64::from((a as u32) > (b as u32)), branch BrIfI32GtU if not I32LeU;
            I32LeS(int) => |a, b| u64::from((a as i32) <= (b as i32)), branch BrIfI32LeS if not I32GtS;
            I32LeU(int) => |a, b| u64::from((a as u32) <= (b as u32)), branch BrIfI32LeU if not I32GtU;
            I32GeS(int) => |a, b| u64::from((a as i32) >= (b as i32)), branch BrIfI32GeS if not I32LtS;
            I32GeU(int) => |a, b| u64::from((a as u32) >= (b as u32)), branch BrIfI32GeU if not I32LtU;
            I64Add(int) => |a, b| a.wrapping_add(b);
            I64Sub(int) => |a, b| a.wrapping_sub(b);
            I64Mul(int) => |a, b| a.wrapping_mul(b);
            I64And(int) => |a, b| a & b;
            I64Or(int) => |a, b| a | b;
            I64Xor(int) => |a, b| a ^ b;
            I64Shl(int) => |a, b| a.wrapping_shl(b as u32);
            I64ShrS(int) => |a, b| (a as i64).wrapping_shr(b as u32) as u64;
            I64ShrU(int) => |a, b| a.wrapping_shr(b as u32);
            I64Eq(int) => |a, b| u64::from(a == b), branch BrIfI64Eq if not I64Ne;
            I64Ne(int) => |a, b| u64::from(a != b), branch BrIfI64Ne if not I64Eq;
            I64LtS(int) => |a, b| u64::from((a as i64) < (b as i64)), branch BrIfI64LtS if not I64GeS;
            I64LtU(int) => |a, b| u64::from(a < b), branch BrIfI64LtU if not I64GeU;
            I64GtS(int) => |a, b| u64::from((a as i64) > (b as i64)), branch BrIfI64GtS if not I64LeS;
            I64GtU(int) => |a, b| u64::from(a > b), branch BrIfI64GtU if not I64LeU;
            I64LeS(int) => |a, b| u64::from((a as i64) <= (b as i64)), branch BrIfI64LeS if not I64GtS;
            I64LeU(int) => |a, b| u64::from(a <= b), branch BrIfI64LeU if not I64GtU;
            I64GeS(int) => |a, b| u64::from((a as i64) >= (b as i64)), branch BrIfI64GeS if not I64LtS;
            I64GeU(int) => |a, b| u64::from(a >= b), branch BrIfI64GeU if not I64LtU;
            F32Add(int) => |a, b| $crate::bytecode::f32_op(a, b, |x, y| x + y);
            F32Sub(int) => |a, b| $crate::bytecode::f32_op(a, b, |x, y| x - y);
            F32Mul(int) => |a, b| $crate::bytecode::f32_op(a, b, |x, y| x * y);
            F32Div(int) => |a, b| $crate::bytecode::f32_op(a, b, |x, y| x / y);
            F64Add(f64) => |a, b| a + b;
            F64Sub(f64) => |a, b| a - b;
            F64Mul(f64) => |a, b| a * b;
            F64Div(f64) => |a, b| a / b;
        }
    };
}

/// The meaning of the register ops with immediates and of the other small
/// register ops, on slots: the one definition both the slow path and the fast
/// path's handlers use.
pub(crate) mod sem {
    /// `Op::I32AddImm`.
    #[inline(always)]
    pub fn i32_add_imm(a: u64, imm: u32) -> u64 {
        u64::from((a as u32).wrapping_add(imm))
    }

    /// `Op::I64AddImm` (the immediate sign-extended).
    #[inline(always)]
    pub fn i64_add_imm(a: u64, imm: i32) -> u64 {
        a.wrapping_add(imm as i64 as u64)
    }

    /// `Op::I32AddShl`.
    #[inline(always)]
    pub fn i32_add_shl(a: u64, b: u64, shift: u8) -> u64 {
        u64::from((a as u32).wrapping_add((b as u32) << (shift & 31)))
    }

    /// `Op::Select`: `a` if `cond` (an `i32`) is not zero, else `b`.
    #[inline(always)]
    pub fn select(cond: u64, a: u64, b: u64) -> u64 {
        std::hint::select_unpredictable(cond as u32 != 0, a, b)
    }

    /// `Op::CanonF32`: the canonical NaN for a NaN, else the value.
    #[inline(always)]
    pub fn canon_f32(x: u64) -> u64 {
        if f32::from_bits(x as u32).is_nan() {
            u64::from(kiln_runtime::nan::CANONICAL_F32)
        } else {
            x
        }
    }

    /// `Op::CanonF64`.
    #[inline(always)]
    pub fn canon_f64(x: u64) -> u64 {
        if f64::from_bits(x).is_nan() {
            kiln_runtime::nan::CANONICAL_F64
        } else {
            x
        }
    }

    /// `Op::RefIsNull`: 1 for the null reference (0), else 0.
    #[inline(always)]
    pub fn ref_is_null(r: u64) -> u64 {
        u64::from(r as u32 == 0)
    }
}

/// Expands the rows of [`for_each_binary_op!`] into a pattern matching every
/// specialised binary op: `for_each_binary_op!(binary_op_pattern)` in a
/// `match` on an `Op`.
macro_rules! binary_op_pattern {
    ($($name:ident($kind:ident) => |$a:ident, $b:ident| $value:expr
        $(, branch $br:ident $(if not $neg:ident)? $(else $nbr:ident)?)?;)*) => {
        $($crate::bytecode::Op::$name { .. })|*
    };
}

/// Expands the rows of [`for_each_binary_op!`] into a pattern matching every
/// fused comparison branch.
macro_rules! compare_branch_pattern {
    ($($name:ident($kind:ident) => |$a:ident, $b:ident| $value:expr
        $(, branch $br:ident $(if not $neg:ident)? $(else $nbr:ident)?)?;)*) => {
        $($(| $crate::bytecode::Op::$br { .. } $(| $crate::bytecode::Op::$nbr { .. })?)?)*
    };
}

/// `f(a, b)` on the `f32`s in slots `a` and `b`, as a slot.
#[inline(always)]
pub(crate) fn f32_op(a: u64, b: u64, f: impl Fn(f32, f32) -> f32) -> u64 {
    u64::from(f(f32::from_bits(a as u32), f32::from_bits(b as u32)).to_bits())
}

/// Declares, from the rows of [`for_each_binary_op!`], the `Op` enum (one
/// `Op::Name { dst, a, b }` per operator, and one `Op::BrIfName { a, b,
/// target }` per fused branch, besides the ops listed here), the accessors
/// that map the operators to and from `NumOp` and fuse them into branches, and
/// their evaluation.
macro_rules! declare_ops {
    ($($name:ident($kind:ident) => |$a:ident, $b:ident| $value:expr
        $(, branch $br:ident $(if not $neg:ident)? $(else $nbr:ident)?)?;)*) => {
        /// One interpreter instruction.
        #[derive(Debug, Clone, Copy, PartialEq)]
        #[allow(missing_docs)]
        pub enum Op {
            $($name { dst: Reg, a: Reg, b: Reg },)*
            $($($br { a: Reg, b: Reg, target: u32 },)?)*
            $($($($nbr { a: Reg, b: Reg, target: u32 },)?)?)*
            /// Does nothing (left where a translation-time rewrite removed an op).
            Nop,
            /// `dst = src`.
            Copy { dst: Reg, src: Reg },
            /// `dst = a`, then `dst + 1 = b`.
            Copy2 { dst: Reg, a: Reg, b: Reg },
            /// `dst = val` (zero-extended).
            Const32 { dst: Reg, val: u32 },
            /// `dst = val`.
            Const64 { dst: Reg, val: u64 },
            /// `dst = a + imm` on 32 bits.
            I32AddImm { dst: Reg, a: Reg, imm: u32 },
            /// `dst = a + imm` on 64 bits (immediate sign-extended).
            I64AddImm { dst: Reg, a: Reg, imm: i32 },
            /// `dst = a + (b << shift)` on 32 bits (`shift < 32`): an `i32.shl` by a
            /// constant feeding an `i32.add`, as in array indexing.
            I32AddShl { dst: Reg, a: Reg, b: Reg, shift: u8 },
            /// Any one-operand numeric operator.
            Unary { op: NumOp, dst: Reg, src: Reg },
            /// Any two-operand numeric operator.
            Binary { op: NumOp, dst: Reg, a: Reg, b: Reg },
            /// `a = if cond != 0 { a } else { b }`.
            Select { a: Reg, b: Reg, cond: Reg },
            /// Jump to `target`.
            Br { target: u32 },
            /// Jump to `target` if `cond != 0`.
            BrIfNez { cond: Reg, target: u32 },
            /// Jump to `target` if `cond == 0`.
            BrIfEqz { cond: Reg, target: u32 },
            /// Jump to `target` if float comparison `cmp` of `a` and `b` holds.
            BrIfFloat { cmp: FloatCmp, a: Reg, b: Reg, target: u32 },
            /// Jump to the `min(index, len)`-th of the `len + 1` `Br`s that follow.
            BrTable { index: Reg, len: u32 },
            /// Return `count` values starting at `start`.
            Return { start: Reg, count: u32 },
            /// Call function `func` of the module's index space; arguments start at `args`,
            /// results are written from `args` on.
            Call { func: u32, args: Reg },
            /// `call_indirect` with the table and type of side-table entry `site`.
            CallIndirect { index: Reg, args: Reg, site: u32 },
            /// `return_call`.
            ReturnCall { func: u32, args: Reg },
            /// `return_call_indirect`.
            ReturnCallIndirect { index: Reg, args: Reg, site: u32 },
            /// `call_ref` of the function reference in `func`; arguments from `args`.
            CallRef { func: Reg, args: Reg },
            /// `return_call_ref`.
            ReturnCallRef { func: Reg, args: Reg },
            /// `ref.as_non_null`: trap if the reference in `src` is null.
            RefAsNonNull { src: Reg },
            /// A GC instruction, entry `site` of the function's `gc` table,
            /// on the operands from `args` (as many as it takes), its result
            /// written to `args`; `br_on_cast`'s is its branch condition.
            Gc { args: Reg, site: u32 },
            /// `throw` of tag `tag` (the module's tag index space), the payload
            /// from `args`.
            Throw { tag: u32, args: Reg },
            /// `throw_ref` of the exception reference in `src`.
            ThrowRef { src: Reg },
            /// Trap with `unreachable`.
            Unreachable,
            /// Replace a NaN in `reg` (an `f32`) by the canonical NaN.
            CanonF32 { reg: Reg },
            /// Replace a NaN in `reg` (an `f64`) by the canonical NaN.
            CanonF64 { reg: Reg },
            /// Charge `cost` fuel for the metered run that starts here.
            Fuel { cost: u32 },
            /// Stop if the engine's epoch has reached the store's deadline
            /// (`kiln_runtime::epoch`): at function entries and loop headers,
            /// emitted only with epoch interruption on.
            Epoch,
            /// `global.get`.
            GlobalGet { dst: Reg, global: u32 },
            /// `global.set`.
            GlobalSet { global: u32, src: Reg },
            /// `ref.func`.
            RefFunc { dst: Reg, func: u32 },
            /// `ref.is_null`.
            RefIsNull { dst: Reg, src: Reg },
            /// A load from memory 0 with a 32-bit offset.
            Load { kind: LoadOp, dst: Reg, addr: Reg, offset: u32 },
            /// A store to memory 0 with a 32-bit offset.
            Store { kind: StoreOp, addr: Reg, val: Reg, offset: u32 },
            /// A load from 32-bit memory 0 at `(addr + imm) mod 2^32`: an `i32.add`
            /// of a constant feeding a load with offset 0.
            LoadWrapped { kind: LoadOp, dst: Reg, addr: Reg, imm: u32 },
            /// A store to 32-bit memory 0 at `(addr + imm) mod 2^32`.
            StoreWrapped { kind: StoreOp, addr: Reg, val: Reg, imm: u32 },
            /// A load from 32-bit memory 0 at `(base + (index << shift)) mod 2^32`:
            /// an `I32AddShl` feeding a load with offset 0 (array indexing).
            LoadScaled { kind: LoadOp, shift: u8, dst: Reg, base: Reg, index: Reg },
            /// A store to 32-bit memory 0 at `(base + (index << shift)) mod 2^32`.
            StoreScaled { kind: StoreOp, shift: u8, base: Reg, index: Reg, val: Reg },
            /// A load with memarg side-table entry `memarg` (other memories, 64-bit offsets).
            LoadExt { kind: LoadOp, dst: Reg, addr: Reg, memarg: u32 },
            /// A store with memarg side-table entry `memarg`.
            StoreExt { kind: StoreOp, addr: Reg, val: Reg, memarg: u32 },
            /// `memory.size`.
            MemorySize { dst: Reg, mem: u32 },
            /// `memory.grow`: delta in `dst`, result written to `dst`.
            MemoryGrow { dst: Reg, mem: u32 },
            /// `memory.fill` with operands `args, args+1, args+2`.
            MemoryFill { args: Reg, mem: u32 },
            /// `memory.copy` with operands from `args`.
            MemoryCopy { args: Reg, dst: u32, src: u32 },
            /// `memory.init` with operands from `args`.
            MemoryInit { args: Reg, mem: u32, data: u32 },
            /// `data.drop`.
            DataDrop { data: u32 },
            /// `table.get`: index in `dst`, result written to `dst`.
            TableGet { dst: Reg, table: u32 },
            /// `table.set` with operands from `args`.
            TableSet { args: Reg, table: u32 },
            /// `table.size`.
            TableSize { dst: Reg, table: u32 },
            /// `table.grow` with operands from `args`, result to `args`.
            TableGrow { args: Reg, table: u32 },
            /// `table.fill` with operands from `args`.
            TableFill { args: Reg, table: u32 },
            /// `table.copy` with operands from `args`.
            TableCopy { args: Reg, dst: u32, src: u32 },
            /// `table.init` with operands from `args`.
            TableInit { args: Reg, table: u32, elem: u32 },
            /// `elem.drop`.
            ElemDrop { elem: u32 },
            /// Copies the high half of a `v128` register (after the `Copy` of its
            /// low half; see the module documentation).
            CopyHi { dst: Reg, src: Reg },
            /// `dst = src`, both halves: a `Copy` in a wide function.
            CopyWide { dst: Reg, src: Reg },
            /// The high halves of `select` (after the `Select` of the low halves).
            SelectHi { a: Reg, b: Reg, cond: Reg },
            /// `v128.const`, entry `idx` of the function's vector constants.
            V128Const { dst: Reg, idx: u32 },
            /// A vector operator with one operand.
            VUnary { op: NumOp, dst: Reg, src: Reg },
            /// A vector operator with two operands.
            VBinary { op: NumOp, dst: Reg, a: Reg, b: Reg },
            /// A vector operator with three operands; the third is in `dst + 2`.
            VTernary { op: NumOp, dst: Reg, a: Reg, b: Reg },
            /// `i8x16.shuffle` of `a` and `dst + 1`, with the lane indices in
            /// vector constant `idx`.
            Shuffle { dst: Reg, a: Reg, idx: u32 },
            /// `*.extract_lane`.
            ExtractLane { shape: LaneShape, lane: u8, dst: Reg, src: Reg },
            /// `*.replace_lane`: `dst = v` with lane `lane` set to `x`.
            ReplaceLane { shape: LaneShape, lane: u8, dst: Reg, v: Reg, x: Reg },
            /// `v128.loadN_lane` at register `addr` into the vector in `dst + 1`,
            /// result to `dst`, with memarg side-table entry `memarg`.
            LoadLane { width: LaneWidth, lane: u8, dst: Reg, addr: Reg, memarg: u32 },
            /// `v128.storeN_lane` of lane `lane` of `v`.
            StoreLane { width: LaneWidth, lane: u8, addr: Reg, v: Reg, memarg: u32 },
            /// `global.get` of a `v128` global.
            GlobalGetV128 { dst: Reg, global: u32 },
            /// `global.set` of a `v128` global.
            GlobalSetV128 { global: u32, src: Reg },
            /// Replaces each NaN lane of `reg` (`f32x4`) by the canonical NaN.
            CanonF32x4 { reg: Reg },
            /// Replaces each NaN lane of `reg` (`f64x2`) by the canonical NaN.
            CanonF64x2 { reg: Reg },
        }

        impl Op {
            /// The specialised op for a binary `NumOp`, if there is one.
            #[inline(always)]
            pub fn specialised_binary(op: NumOp, dst: Reg, a: Reg, b: Reg) -> Option<Op> {
                match op {
                    $(NumOp::$name => Some(Op::$name { dst, a, b }),)*
                    _ => None,
                }
            }

            /// `(dst, a, b)` of a specialised binary op.
            pub fn binary_parts(&self) -> Option<(Reg, Reg, Reg)> {
                match *self {
                    $(Op::$name { dst, a, b } => Some((dst, a, b)),)*
                    _ => None,
                }
            }

            fn binary_dst_mut(&mut self) -> Option<&mut Reg> {
                match self {
                    $(Op::$name { dst, .. })|* => Some(dst),
                    _ => None,
                }
            }

            /// The value of specialised binary operator `self` on the slots
            /// `a` and `b`.
            #[inline(always)]
            pub fn eval_binary(&self, a: u64, b: u64) -> Option<u64> {
                Some(match self {
                    $(Op::$name { .. } => declare_ops!(@eval $kind, a, b, |$a, $b| $value),)*
                    _ => return None,
                })
            }

            /// Whether fused branch `self` jumps for the slots `a` and `b`.
            #[inline(always)]
            pub fn branch_taken(&self, a: u64, b: u64) -> Option<bool> {
                Some(match self {
                    $($(Op::$br { .. } => declare_ops!(@eval $kind, a, b, |$a, $b| $value) != 0,)?)*
                    $($($(Op::$nbr { .. } => declare_ops!(@eval $kind, a, b, |$a, $b| $value) == 0,)?)?)*
                    _ => return None,
                })
            }

            /// The conditional branch that jumps when binary op `op` (on `a`,
            /// `b`) gives a non-zero value, or, with `negate`, zero.
            pub fn branch_on(op: &Op, negate: bool, target: u32) -> Option<Op> {
                match (*op, negate) {
                    $($(
                        (Op::$name { a, b, .. }, false) => Some(Op::$br { a, b, target }),
                        $((Op::$name { a, b, .. }, true) => {
                            Op::branch_on(&Op::$neg { dst: 0, a, b }, false, target)
                        })?
                        $((Op::$name { a, b, .. }, true) => Some(Op::$nbr { a, b, target }),)?
                    )?)*
                    _ => None,
                }
            }

            /// The operands and target of a fused comparison branch.
            pub fn compare_branch_parts(&self) -> Option<(Reg, Reg, u32)> {
                match *self {
                    $($(Op::$br { a, b, target } => Some((a, b, target)),)?)*
                    $($($(Op::$nbr { a, b, target } => Some((a, b, target)),)?)?)*
                    _ => None,
                }
            }

            fn compare_branch_target_mut(&mut self) -> Option<&mut u32> {
                match self {
                    $($(Op::$br { target, .. } => Some(target),)?)*
                    $($($(Op::$nbr { target, .. } => Some(target),)?)?)*
                    _ => None,
                }
            }
        }
    };
    (@eval int, $x:ident, $y:ident, |$a:ident, $b:ident| $value:expr) => {{
        let ($a, $b) = ($x, $y);
        $value
    }};
    (@eval f64, $x:ident, $y:ident, |$a:ident, $b:ident| $value:expr) => {{
        let ($a, $b): (f64, f64) = (f64::from_bits($x), f64::from_bits($y));
        ($value).to_bits()
    }};
}

for_each_binary_op!(declare_ops);

impl Op {
    /// Whether the GC heap may be collected while this op runs: a call (its
    /// callee may allocate) or a `Gc` op (which may allocate). A function's
    /// GC safepoints are at these ops only.
    pub fn is_gc_safepoint(&self) -> bool {
        matches!(
            self,
            Op::Call { .. }
                | Op::CallIndirect { .. }
                | Op::CallRef { .. }
                | Op::ReturnCall { .. }
                | Op::ReturnCallIndirect { .. }
                | Op::ReturnCallRef { .. }
                | Op::Gc { .. }
        )
    }
}

impl Op {
    /// The register this op writes, if it is a pure register definition that a
    /// following `local.set` may redirect.
    pub fn pure_dst(&self) -> Option<Reg> {
        let mut op = *self;
        op.pure_dst_mut().copied()
    }

    /// Rewrites the destination of a pure definition (see [`Op::pure_dst`]).
    pub fn set_dst(&mut self, new: Reg) {
        if let Some(dst) = self.pure_dst_mut() {
            *dst = new;
        }
    }

    /// The destination of a pure definition (see [`Op::pure_dst`]), as a place.
    fn pure_dst_mut(&mut self) -> Option<&mut Reg> {
        match self {
            Op::Copy { dst, .. }
            | Op::CopyWide { dst, .. }
            | Op::Const32 { dst, .. }
            | Op::Const64 { dst, .. }
            | Op::I32AddImm { dst, .. }
            | Op::I64AddImm { dst, .. }
            | Op::I32AddShl { dst, .. }
            | Op::Unary { dst, .. }
            | Op::Binary { dst, .. }
            | Op::GlobalGet { dst, .. }
            | Op::RefIsNull { dst, .. }
            | Op::Load { dst, .. }
            | Op::LoadWrapped { dst, .. }
            | Op::LoadScaled { dst, .. }
            | Op::LoadExt { dst, .. }
            | Op::V128Const { dst, .. }
            | Op::VUnary { dst, .. }
            | Op::VBinary { dst, .. }
            | Op::ExtractLane { dst, .. }
            | Op::ReplaceLane { dst, .. }
            | Op::GlobalGetV128 { dst, .. } => Some(dst),
            other => other.binary_dst_mut(),
        }
    }
}

impl Op {
    /// The target of a conditional or unconditional jump.
    pub fn target(&self) -> Option<u32> {
        let mut op = *self;
        op.target_mut().copied()
    }

    /// Sets the target of a conditional or unconditional jump.
    pub fn set_target(&mut self, new: u32) {
        if let Some(target) = self.target_mut() {
            *target = new;
        }
    }

    /// The target of a conditional or unconditional jump, as a place.
    fn target_mut(&mut self) -> Option<&mut u32> {
        match self {
            Op::Br { target }
            | Op::BrIfNez { target, .. }
            | Op::BrIfEqz { target, .. }
            | Op::BrIfFloat { target, .. } => Some(target),
            other => other.compare_branch_target_mut(),
        }
    }
}

/// Declares [`FloatCmp`] from `Variant => NumOp, negated, |a, b| condition` rows.
macro_rules! float_cmps {
    ($($name:ident => $op:ident, $negated:literal, |$a:ident, $b:ident| $cond:expr;)*) => {
        /// A float comparison a fused branch tests: one of the six of each float
        /// type, or its negation (not the opposite comparison: with a NaN operand
        /// both `a < b` and `a >= b` are false).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        #[allow(missing_docs)]
        pub enum FloatCmp {
            $($name,)*
        }

        impl FloatCmp {
            /// Every comparison, in declaration order (`ALL[c as usize] == c`).
            pub const ALL: &[FloatCmp] = &[$(FloatCmp::$name,)*];

            /// The comparison a branch on `op`'s result tests, negated if the
            /// branch is taken when `op` gives 0; `None` if `op` is not a float
            /// comparison.
            #[inline(always)]
            pub fn of(op: NumOp, negated: bool) -> Option<FloatCmp> {
                match (op, negated) {
                    $((NumOp::$op, $negated) => Some(FloatCmp::$name),)*
                    _ => None,
                }
            }

            /// Whether the comparison holds for the slots `a` and `b`.
            #[inline(always)]
            // The negations are the point: `!(x < y)` holds for a NaN operand.
            #[allow(clippy::neg_cmp_op_on_partial_ord)]
            pub fn holds(self, a: u64, b: u64) -> bool {
                match self {
                    $(FloatCmp::$name => {
                        let ($a, $b) = (a, b);
                        $cond
                    })*
                }
            }
        }
    };
}

#[inline(always)]
fn f32s(a: u64, b: u64) -> (f32, f32) {
    (f32::from_bits(a as u32), f32::from_bits(b as u32))
}

#[inline(always)]
fn f64s(a: u64, b: u64) -> (f64, f64) {
    (f64::from_bits(a), f64::from_bits(b))
}

float_cmps! {
    F32Eq => F32Eq, false, |a, b| { let (x, y) = f32s(a, b); x == y };
    F32Ne => F32Ne, false, |a, b| { let (x, y) = f32s(a, b); x != y };
    F32Lt => F32Lt, false, |a, b| { let (x, y) = f32s(a, b); x < y };
    F32Gt => F32Gt, false, |a, b| { let (x, y) = f32s(a, b); x > y };
    F32Le => F32Le, false, |a, b| { let (x, y) = f32s(a, b); x <= y };
    F32Ge => F32Ge, false, |a, b| { let (x, y) = f32s(a, b); x >= y };
    F64Eq => F64Eq, false, |a, b| { let (x, y) = f64s(a, b); x == y };
    F64Ne => F64Ne, false, |a, b| { let (x, y) = f64s(a, b); x != y };
    F64Lt => F64Lt, false, |a, b| { let (x, y) = f64s(a, b); x < y };
    F64Gt => F64Gt, false, |a, b| { let (x, y) = f64s(a, b); x > y };
    F64Le => F64Le, false, |a, b| { let (x, y) = f64s(a, b); x <= y };
    F64Ge => F64Ge, false, |a, b| { let (x, y) = f64s(a, b); x >= y };
    NotF32Eq => F32Eq, true, |a, b| { let (x, y) = f32s(a, b); !(x == y) };
    NotF32Ne => F32Ne, true, |a, b| { let (x, y) = f32s(a, b); !(x != y) };
    NotF32Lt => F32Lt, true, |a, b| { let (x, y) = f32s(a, b); !(x < y) };
    NotF32Gt => F32Gt, true, |a, b| { let (x, y) = f32s(a, b); !(x > y) };
    NotF32Le => F32Le, true, |a, b| { let (x, y) = f32s(a, b); !(x <= y) };
    NotF32Ge => F32Ge, true, |a, b| { let (x, y) = f32s(a, b); !(x >= y) };
    NotF64Eq => F64Eq, true, |a, b| { let (x, y) = f64s(a, b); !(x == y) };
    NotF64Ne => F64Ne, true, |a, b| { let (x, y) = f64s(a, b); !(x != y) };
    NotF64Lt => F64Lt, true, |a, b| { let (x, y) = f64s(a, b); !(x < y) };
    NotF64Gt => F64Gt, true, |a, b| { let (x, y) = f64s(a, b); !(x > y) };
    NotF64Le => F64Le, true, |a, b| { let (x, y) = f64s(a, b); !(x <= y) };
    NotF64Ge => F64Ge, true, |a, b| { let (x, y) = f64s(a, b); !(x >= y) };
}

/// A pattern matching every memory and table management op (the ones
/// [`Op::from_bulk`] makes), for the executor's matches that name every op.
macro_rules! bulk_op_pattern {
    () => {
        $crate::bytecode::Op::MemorySize { .. }
            | $crate::bytecode::Op::MemoryGrow { .. }
            | $crate::bytecode::Op::MemoryFill { .. }
            | $crate::bytecode::Op::MemoryCopy { .. }
            | $crate::bytecode::Op::MemoryInit { .. }
            | $crate::bytecode::Op::DataDrop { .. }
            | $crate::bytecode::Op::TableGet { .. }
            | $crate::bytecode::Op::TableSet { .. }
            | $crate::bytecode::Op::TableSize { .. }
            | $crate::bytecode::Op::TableGrow { .. }
            | $crate::bytecode::Op::TableFill { .. }
            | $crate::bytecode::Op::TableCopy { .. }
            | $crate::bytecode::Op::TableInit { .. }
            | $crate::bytecode::Op::ElemDrop { .. }
    };
}

/// The memory and table management ops and the runtime's [`BulkOp`]s, one
/// for one: each op is the operation plus the register its operands start at
/// (and its result goes to). They stay separate variants because a `BulkOp`
/// and a register together do not fit an op's 16 bytes.
impl Op {
    /// The op for `op` with its operands from register `at` (ignored by the
    /// operations without operands or result).
    pub fn from_bulk(at: Reg, op: BulkOp) -> Op {
        match op {
            BulkOp::MemorySize { mem } => Op::MemorySize { dst: at, mem },
            BulkOp::MemoryGrow { mem } => Op::MemoryGrow { dst: at, mem },
            BulkOp::MemoryFill { mem } => Op::MemoryFill { args: at, mem },
            BulkOp::MemoryCopy { dst, src } => Op::MemoryCopy { args: at, dst, src },
            BulkOp::MemoryInit { mem, data } => Op::MemoryInit {
                args: at,
                mem,
                data,
            },
            BulkOp::DataDrop { data } => Op::DataDrop { data },
            BulkOp::TableGet { table } => Op::TableGet { dst: at, table },
            BulkOp::TableSet { table } => Op::TableSet { args: at, table },
            BulkOp::TableSize { table } => Op::TableSize { dst: at, table },
            BulkOp::TableGrow { table } => Op::TableGrow { args: at, table },
            BulkOp::TableFill { table } => Op::TableFill { args: at, table },
            BulkOp::TableCopy { dst, src } => Op::TableCopy { args: at, dst, src },
            BulkOp::TableInit { table, elem } => Op::TableInit {
                args: at,
                table,
                elem,
            },
            BulkOp::ElemDrop { elem } => Op::ElemDrop { elem },
        }
    }

    /// The register and operation of a memory or table management op (the
    /// inverse of [`Op::from_bulk`], with register 0 for the operations without
    /// operands or result); `None` for every other op.
    pub fn as_bulk(&self) -> Option<(Reg, BulkOp)> {
        Some(match *self {
            Op::MemorySize { dst, mem } => (dst, BulkOp::MemorySize { mem }),
            Op::MemoryGrow { dst, mem } => (dst, BulkOp::MemoryGrow { mem }),
            Op::MemoryFill { args, mem } => (args, BulkOp::MemoryFill { mem }),
            Op::MemoryCopy { args, dst, src } => (args, BulkOp::MemoryCopy { dst, src }),
            Op::MemoryInit { args, mem, data } => (args, BulkOp::MemoryInit { mem, data }),
            Op::DataDrop { data } => (0, BulkOp::DataDrop { data }),
            Op::TableGet { dst, table } => (dst, BulkOp::TableGet { table }),
            Op::TableSet { args, table } => (args, BulkOp::TableSet { table }),
            Op::TableSize { dst, table } => (dst, BulkOp::TableSize { table }),
            Op::TableGrow { args, table } => (args, BulkOp::TableGrow { table }),
            Op::TableFill { args, table } => (args, BulkOp::TableFill { table }),
            Op::TableCopy { args, dst, src } => (args, BulkOp::TableCopy { dst, src }),
            Op::TableInit { args, table, elem } => (args, BulkOp::TableInit { table, elem }),
            Op::ElemDrop { elem } => (0, BulkOp::ElemDrop { elem }),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dispatch walks an array of these; keep each one two words.
    #[test]
    fn op_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Op>(), 16);
    }

    /// Each memory or table management op reads back as the operation it was made from.
    #[test]
    fn bulk_ops_round_trip() {
        let ops = [
            BulkOp::MemorySize { mem: 1 },
            BulkOp::MemoryGrow { mem: 2 },
            BulkOp::MemoryFill { mem: 3 },
            BulkOp::MemoryCopy { dst: 4, src: 5 },
            BulkOp::MemoryInit { mem: 6, data: 7 },
            BulkOp::TableGet { table: 9 },
            BulkOp::TableSet { table: 10 },
            BulkOp::TableSize { table: 11 },
            BulkOp::TableGrow { table: 12 },
            BulkOp::TableFill { table: 13 },
            BulkOp::TableCopy { dst: 14, src: 15 },
            BulkOp::TableInit {
                table: 16,
                elem: 17,
            },
        ];
        for op in ops {
            assert_eq!(Op::from_bulk(42, op).as_bulk(), Some((42, op)));
        }
        for op in [BulkOp::DataDrop { data: 8 }, BulkOp::ElemDrop { elem: 18 }] {
            assert_eq!(Op::from_bulk(42, op).as_bulk(), Some((0, op)));
        }
        assert_eq!(Op::Nop.as_bulk(), None);
    }

    /// `FloatCmp::ALL` is indexed by discriminant (the fast path relies on it).
    #[test]
    fn float_comparisons_are_listed_in_order() {
        for (i, c) in FloatCmp::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
        assert_eq!(FloatCmp::ALL.len(), 24);
    }

    /// A negated comparison is not the opposite one: NaN compares false both ways.
    #[test]
    fn negated_float_comparisons_hold_for_nan() {
        let (nan, one) = (f64::NAN.to_bits(), 1f64.to_bits());
        assert!(!FloatCmp::F64Lt.holds(nan, one));
        assert!(!FloatCmp::F64Ge.holds(nan, one));
        assert!(FloatCmp::NotF64Lt.holds(nan, one));
        assert!(FloatCmp::NotF64Ge.holds(nan, one));
        assert!(FloatCmp::F32Ne.holds(u64::from(f32::NAN.to_bits()), u64::from(1f32.to_bits())));
    }
}
