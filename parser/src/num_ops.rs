//! The table of numeric and vector operators: every instruction that only pops
//! operands and pushes one result, with no immediate.
//!
//! One line per operator gives its name (the same spelling as `wasmparser`'s
//! `Operator` variant) and its stack signature. From that one table
//! `numeric_ops!` generates the [`NumOp`] enum, its signature lookups, and the
//! conversion from `wasmparser`'s operator names, so that the validator checks every such
//! operator with one rule and the tiers match on a typed enum.

use crate::types::ValType;

/// Whether two names are equal, in a `const fn` (`str`'s `==` is not one).
pub(crate) const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Expands the table below into:
/// - `pub enum NumOp { Name, ... }`,
/// - `NumOp::params()` / `NumOp::result()` from the `[params] -> result` column,
/// - `NumOp::name()` (the variant name, for messages),
/// - `NumOp::from_name()` mapping the name `wasmparser` gives an operator to `NumOp::Name`.
macro_rules! numeric_ops {
    ($($name:ident : [$($param:ident),*] -> $result:ident;)*) => {
        /// A numeric or vector operator without immediates (see the module docs).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum NumOp {
            $($name,)*
        }

        impl NumOp {
            /// The operand types, bottom of the stack first.
            #[inline]
            pub fn params(self) -> &'static [ValType] {
                // Tables indexed by discriminant: one load where a `match`
                // compiles to a jump table and is often left out of line.
                static PARAMS: &[&[ValType]] = &[$(&[$(ValType::$param),*],)*];
                PARAMS[self as usize]
            }

            /// The type of the single result.
            #[inline]
            pub fn result(self) -> ValType {
                static RESULTS: &[ValType] = &[$(ValType::$result,)*];
                RESULTS[self as usize]
            }

            /// The operator's name, as spelled in this table.
            pub fn name(self) -> &'static str {
                match self {
                    $(NumOp::$name => stringify!($name),)*
                }
            }

            /// The operator spelled `name` in this table (as in `wasmparser`), if any;
            /// evaluated at compile time by the decoder.
            pub(crate) const fn from_name(name: &str) -> Option<NumOp> {
                $(if same_name(name, stringify!($name)) {
                    return Some(NumOp::$name);
                })*
                None
            }
        }
    };
}

/// The table itself: `for_each_num_op!(m)` expands to `m! { rows }`, one
/// `Name: [params] -> result;` row per operator. [`NumOp`] is declared from it
/// here; a tier that wants one piece of code per operator (a handler each,
/// say) generates it from the same rows, so that the table stays the only
/// list of operators.
#[macro_export]
macro_rules! for_each_num_op {
    ($m:ident) => {
        $m! {
            // 2.0 core
            I32Eqz: [I32] -> I32;
            I32Eq: [I32, I32] -> I32;
            I32Ne: [I32, I32] -> I32;
            I32LtS: [I32, I32] -> I32;
            I32LtU: [I32, I32] -> I32;
            I32GtS: [I32, I32] -> I32;
            I32GtU: [I32, I32] -> I32;
            I32LeS: [I32, I32] -> I32;
            I32LeU: [I32, I32] -> I32;
            I32GeS: [I32, I32] -> I32;
            I32GeU: [I32, I32] -> I32;
            I64Eqz: [I64] -> I32;
            I64Eq: [I64, I64] -> I32;
            I64Ne: [I64, I64] -> I32;
            I64LtS: [I64, I64] -> I32;
            I64LtU: [I64, I64] -> I32;
            I64GtS: [I64, I64] -> I32;
            I64GtU: [I64, I64] -> I32;
            I64LeS: [I64, I64] -> I32;
            I64LeU: [I64, I64] -> I32;
            I64GeS: [I64, I64] -> I32;
            I64GeU: [I64, I64] -> I32;
            F32Eq: [F32, F32] -> I32;
            F32Ne: [F32, F32] -> I32;
            F32Lt: [F32, F32] -> I32;
            F32Gt: [F32, F32] -> I32;
            F32Le: [F32, F32] -> I32;
            F32Ge: [F32, F32] -> I32;
            F64Eq: [F64, F64] -> I32;
            F64Ne: [F64, F64] -> I32;
            F64Lt: [F64, F64] -> I32;
            F64Gt: [F64, F64] -> I32;
            F64Le: [F64, F64] -> I32;
            F64Ge: [F64, F64] -> I32;
            I32Clz: [I32] -> I32;
            I32Ctz: [I32] -> I32;
            I32Popcnt: [I32] -> I32;
            I32Add: [I32, I32] -> I32;
            I32Sub: [I32, I32] -> I32;
            I32Mul: [I32, I32] -> I32;
            I32DivS: [I32, I32] -> I32;
            I32DivU: [I32, I32] -> I32;
            I32RemS: [I32, I32] -> I32;
            I32RemU: [I32, I32] -> I32;
            I32And: [I32, I32] -> I32;
            I32Or: [I32, I32] -> I32;
            I32Xor: [I32, I32] -> I32;
            I32Shl: [I32, I32] -> I32;
            I32ShrS: [I32, I32] -> I32;
            I32ShrU: [I32, I32] -> I32;
            I32Rotl: [I32, I32] -> I32;
            I32Rotr: [I32, I32] -> I32;
            I64Clz: [I64] -> I64;
            I64Ctz: [I64] -> I64;
            I64Popcnt: [I64] -> I64;
            I64Add: [I64, I64] -> I64;
            I64Sub: [I64, I64] -> I64;
            I64Mul: [I64, I64] -> I64;
            I64DivS: [I64, I64] -> I64;
            I64DivU: [I64, I64] -> I64;
            I64RemS: [I64, I64] -> I64;
            I64RemU: [I64, I64] -> I64;
            I64And: [I64, I64] -> I64;
            I64Or: [I64, I64] -> I64;
            I64Xor: [I64, I64] -> I64;
            I64Shl: [I64, I64] -> I64;
            I64ShrS: [I64, I64] -> I64;
            I64ShrU: [I64, I64] -> I64;
            I64Rotl: [I64, I64] -> I64;
            I64Rotr: [I64, I64] -> I64;
            F32Abs: [F32] -> F32;
            F32Neg: [F32] -> F32;
            F32Ceil: [F32] -> F32;
            F32Floor: [F32] -> F32;
            F32Trunc: [F32] -> F32;
            F32Nearest: [F32] -> F32;
            F32Sqrt: [F32] -> F32;
            F32Add: [F32, F32] -> F32;
            F32Sub: [F32, F32] -> F32;
            F32Mul: [F32, F32] -> F32;
            F32Div: [F32, F32] -> F32;
            F32Min: [F32, F32] -> F32;
            F32Max: [F32, F32] -> F32;
            F32Copysign: [F32, F32] -> F32;
            F64Abs: [F64] -> F64;
            F64Neg: [F64] -> F64;
            F64Ceil: [F64] -> F64;
            F64Floor: [F64] -> F64;
            F64Trunc: [F64] -> F64;
            F64Nearest: [F64] -> F64;
            F64Sqrt: [F64] -> F64;
            F64Add: [F64, F64] -> F64;
            F64Sub: [F64, F64] -> F64;
            F64Mul: [F64, F64] -> F64;
            F64Div: [F64, F64] -> F64;
            F64Min: [F64, F64] -> F64;
            F64Max: [F64, F64] -> F64;
            F64Copysign: [F64, F64] -> F64;
            I32WrapI64: [I64] -> I32;
            I32TruncF32S: [F32] -> I32;
            I32TruncF32U: [F32] -> I32;
            I32TruncF64S: [F64] -> I32;
            I32TruncF64U: [F64] -> I32;
            I64ExtendI32S: [I32] -> I64;
            I64ExtendI32U: [I32] -> I64;
            I64TruncF32S: [F32] -> I64;
            I64TruncF32U: [F32] -> I64;
            I64TruncF64S: [F64] -> I64;
            I64TruncF64U: [F64] -> I64;
            F32ConvertI32S: [I32] -> F32;
            F32ConvertI32U: [I32] -> F32;
            F32ConvertI64S: [I64] -> F32;
            F32ConvertI64U: [I64] -> F32;
            F32DemoteF64: [F64] -> F32;
            F64ConvertI32S: [I32] -> F64;
            F64ConvertI32U: [I32] -> F64;
            F64ConvertI64S: [I64] -> F64;
            F64ConvertI64U: [I64] -> F64;
            F64PromoteF32: [F32] -> F64;
            I32ReinterpretF32: [F32] -> I32;
            I64ReinterpretF64: [F64] -> I64;
            F32ReinterpretI32: [I32] -> F32;
            F64ReinterpretI64: [I64] -> F64;

            // sign extension
            I32Extend8S: [I32] -> I32;
            I32Extend16S: [I32] -> I32;
            I64Extend8S: [I64] -> I64;
            I64Extend16S: [I64] -> I64;
            I64Extend32S: [I64] -> I64;

            // non-trapping float-to-int
            I32TruncSatF32S: [F32] -> I32;
            I32TruncSatF32U: [F32] -> I32;
            I32TruncSatF64S: [F64] -> I32;
            I32TruncSatF64U: [F64] -> I32;
            I64TruncSatF32S: [F32] -> I64;
            I64TruncSatF32U: [F32] -> I64;
            I64TruncSatF64S: [F64] -> I64;
            I64TruncSatF64U: [F64] -> I64;

            // SIMD
            I8x16Swizzle: [V128, V128] -> V128;
            I8x16Splat: [I32] -> V128;
            I16x8Splat: [I32] -> V128;
            I32x4Splat: [I32] -> V128;
            I64x2Splat: [I64] -> V128;
            F32x4Splat: [F32] -> V128;
            F64x2Splat: [F64] -> V128;
            I8x16Eq: [V128, V128] -> V128;
            I8x16Ne: [V128, V128] -> V128;
            I8x16LtS: [V128, V128] -> V128;
            I8x16LtU: [V128, V128] -> V128;
            I8x16GtS: [V128, V128] -> V128;
            I8x16GtU: [V128, V128] -> V128;
            I8x16LeS: [V128, V128] -> V128;
            I8x16LeU: [V128, V128] -> V128;
            I8x16GeS: [V128, V128] -> V128;
            I8x16GeU: [V128, V128] -> V128;
            I16x8Eq: [V128, V128] -> V128;
            I16x8Ne: [V128, V128] -> V128;
            I16x8LtS: [V128, V128] -> V128;
            I16x8LtU: [V128, V128] -> V128;
            I16x8GtS: [V128, V128] -> V128;
            I16x8GtU: [V128, V128] -> V128;
            I16x8LeS: [V128, V128] -> V128;
            I16x8LeU: [V128, V128] -> V128;
            I16x8GeS: [V128, V128] -> V128;
            I16x8GeU: [V128, V128] -> V128;
            I32x4Eq: [V128, V128] -> V128;
            I32x4Ne: [V128, V128] -> V128;
            I32x4LtS: [V128, V128] -> V128;
            I32x4LtU: [V128, V128] -> V128;
            I32x4GtS: [V128, V128] -> V128;
            I32x4GtU: [V128, V128] -> V128;
            I32x4LeS: [V128, V128] -> V128;
            I32x4LeU: [V128, V128] -> V128;
            I32x4GeS: [V128, V128] -> V128;
            I32x4GeU: [V128, V128] -> V128;
            I64x2Eq: [V128, V128] -> V128;
            I64x2Ne: [V128, V128] -> V128;
            I64x2LtS: [V128, V128] -> V128;
            I64x2GtS: [V128, V128] -> V128;
            I64x2LeS: [V128, V128] -> V128;
            I64x2GeS: [V128, V128] -> V128;
            F32x4Eq: [V128, V128] -> V128;
            F32x4Ne: [V128, V128] -> V128;
            F32x4Lt: [V128, V128] -> V128;
            F32x4Gt: [V128, V128] -> V128;
            F32x4Le: [V128, V128] -> V128;
            F32x4Ge: [V128, V128] -> V128;
            F64x2Eq: [V128, V128] -> V128;
            F64x2Ne: [V128, V128] -> V128;
            F64x2Lt: [V128, V128] -> V128;
            F64x2Gt: [V128, V128] -> V128;
            F64x2Le: [V128, V128] -> V128;
            F64x2Ge: [V128, V128] -> V128;
            V128Not: [V128] -> V128;
            V128And: [V128, V128] -> V128;
            V128AndNot: [V128, V128] -> V128;
            V128Or: [V128, V128] -> V128;
            V128Xor: [V128, V128] -> V128;
            V128Bitselect: [V128, V128, V128] -> V128;
            V128AnyTrue: [V128] -> I32;
            I8x16Abs: [V128] -> V128;
            I8x16Neg: [V128] -> V128;
            I8x16Popcnt: [V128] -> V128;
            I8x16AllTrue: [V128] -> I32;
            I8x16Bitmask: [V128] -> I32;
            I8x16NarrowI16x8S: [V128, V128] -> V128;
            I8x16NarrowI16x8U: [V128, V128] -> V128;
            I8x16Shl: [V128, I32] -> V128;
            I8x16ShrS: [V128, I32] -> V128;
            I8x16ShrU: [V128, I32] -> V128;
            I8x16Add: [V128, V128] -> V128;
            I8x16AddSatS: [V128, V128] -> V128;
            I8x16AddSatU: [V128, V128] -> V128;
            I8x16Sub: [V128, V128] -> V128;
            I8x16SubSatS: [V128, V128] -> V128;
            I8x16SubSatU: [V128, V128] -> V128;
            I8x16MinS: [V128, V128] -> V128;
            I8x16MinU: [V128, V128] -> V128;
            I8x16MaxS: [V128, V128] -> V128;
            I8x16MaxU: [V128, V128] -> V128;
            I8x16AvgrU: [V128, V128] -> V128;
            I16x8ExtAddPairwiseI8x16S: [V128] -> V128;
            I16x8ExtAddPairwiseI8x16U: [V128] -> V128;
            I16x8Abs: [V128] -> V128;
            I16x8Neg: [V128] -> V128;
            I16x8Q15MulrSatS: [V128, V128] -> V128;
            I16x8AllTrue: [V128] -> I32;
            I16x8Bitmask: [V128] -> I32;
            I16x8NarrowI32x4S: [V128, V128] -> V128;
            I16x8NarrowI32x4U: [V128, V128] -> V128;
            I16x8ExtendLowI8x16S: [V128] -> V128;
            I16x8ExtendHighI8x16S: [V128] -> V128;
            I16x8ExtendLowI8x16U: [V128] -> V128;
            I16x8ExtendHighI8x16U: [V128] -> V128;
            I16x8Shl: [V128, I32] -> V128;
            I16x8ShrS: [V128, I32] -> V128;
            I16x8ShrU: [V128, I32] -> V128;
            I16x8Add: [V128, V128] -> V128;
            I16x8AddSatS: [V128, V128] -> V128;
            I16x8AddSatU: [V128, V128] -> V128;
            I16x8Sub: [V128, V128] -> V128;
            I16x8SubSatS: [V128, V128] -> V128;
            I16x8SubSatU: [V128, V128] -> V128;
            I16x8Mul: [V128, V128] -> V128;
            I16x8MinS: [V128, V128] -> V128;
            I16x8MinU: [V128, V128] -> V128;
            I16x8MaxS: [V128, V128] -> V128;
            I16x8MaxU: [V128, V128] -> V128;
            I16x8AvgrU: [V128, V128] -> V128;
            I16x8ExtMulLowI8x16S: [V128, V128] -> V128;
            I16x8ExtMulHighI8x16S: [V128, V128] -> V128;
            I16x8ExtMulLowI8x16U: [V128, V128] -> V128;
            I16x8ExtMulHighI8x16U: [V128, V128] -> V128;
            I32x4ExtAddPairwiseI16x8S: [V128] -> V128;
            I32x4ExtAddPairwiseI16x8U: [V128] -> V128;
            I32x4Abs: [V128] -> V128;
            I32x4Neg: [V128] -> V128;
            I32x4AllTrue: [V128] -> I32;
            I32x4Bitmask: [V128] -> I32;
            I32x4ExtendLowI16x8S: [V128] -> V128;
            I32x4ExtendHighI16x8S: [V128] -> V128;
            I32x4ExtendLowI16x8U: [V128] -> V128;
            I32x4ExtendHighI16x8U: [V128] -> V128;
            I32x4Shl: [V128, I32] -> V128;
            I32x4ShrS: [V128, I32] -> V128;
            I32x4ShrU: [V128, I32] -> V128;
            I32x4Add: [V128, V128] -> V128;
            I32x4Sub: [V128, V128] -> V128;
            I32x4Mul: [V128, V128] -> V128;
            I32x4MinS: [V128, V128] -> V128;
            I32x4MinU: [V128, V128] -> V128;
            I32x4MaxS: [V128, V128] -> V128;
            I32x4MaxU: [V128, V128] -> V128;
            I32x4DotI16x8S: [V128, V128] -> V128;
            I32x4ExtMulLowI16x8S: [V128, V128] -> V128;
            I32x4ExtMulHighI16x8S: [V128, V128] -> V128;
            I32x4ExtMulLowI16x8U: [V128, V128] -> V128;
            I32x4ExtMulHighI16x8U: [V128, V128] -> V128;
            I64x2Abs: [V128] -> V128;
            I64x2Neg: [V128] -> V128;
            I64x2AllTrue: [V128] -> I32;
            I64x2Bitmask: [V128] -> I32;
            I64x2ExtendLowI32x4S: [V128] -> V128;
            I64x2ExtendHighI32x4S: [V128] -> V128;
            I64x2ExtendLowI32x4U: [V128] -> V128;
            I64x2ExtendHighI32x4U: [V128] -> V128;
            I64x2Shl: [V128, I32] -> V128;
            I64x2ShrS: [V128, I32] -> V128;
            I64x2ShrU: [V128, I32] -> V128;
            I64x2Add: [V128, V128] -> V128;
            I64x2Sub: [V128, V128] -> V128;
            I64x2Mul: [V128, V128] -> V128;
            I64x2ExtMulLowI32x4S: [V128, V128] -> V128;
            I64x2ExtMulHighI32x4S: [V128, V128] -> V128;
            I64x2ExtMulLowI32x4U: [V128, V128] -> V128;
            I64x2ExtMulHighI32x4U: [V128, V128] -> V128;
            F32x4Ceil: [V128] -> V128;
            F32x4Floor: [V128] -> V128;
            F32x4Trunc: [V128] -> V128;
            F32x4Nearest: [V128] -> V128;
            F32x4Abs: [V128] -> V128;
            F32x4Neg: [V128] -> V128;
            F32x4Sqrt: [V128] -> V128;
            F32x4Add: [V128, V128] -> V128;
            F32x4Sub: [V128, V128] -> V128;
            F32x4Mul: [V128, V128] -> V128;
            F32x4Div: [V128, V128] -> V128;
            F32x4Min: [V128, V128] -> V128;
            F32x4Max: [V128, V128] -> V128;
            F32x4PMin: [V128, V128] -> V128;
            F32x4PMax: [V128, V128] -> V128;
            F64x2Ceil: [V128] -> V128;
            F64x2Floor: [V128] -> V128;
            F64x2Trunc: [V128] -> V128;
            F64x2Nearest: [V128] -> V128;
            F64x2Abs: [V128] -> V128;
            F64x2Neg: [V128] -> V128;
            F64x2Sqrt: [V128] -> V128;
            F64x2Add: [V128, V128] -> V128;
            F64x2Sub: [V128, V128] -> V128;
            F64x2Mul: [V128, V128] -> V128;
            F64x2Div: [V128, V128] -> V128;
            F64x2Min: [V128, V128] -> V128;
            F64x2Max: [V128, V128] -> V128;
            F64x2PMin: [V128, V128] -> V128;
            F64x2PMax: [V128, V128] -> V128;
            I32x4TruncSatF32x4S: [V128] -> V128;
            I32x4TruncSatF32x4U: [V128] -> V128;
            F32x4ConvertI32x4S: [V128] -> V128;
            F32x4ConvertI32x4U: [V128] -> V128;
            I32x4TruncSatF64x2SZero: [V128] -> V128;
            I32x4TruncSatF64x2UZero: [V128] -> V128;
            F64x2ConvertLowI32x4S: [V128] -> V128;
            F64x2ConvertLowI32x4U: [V128] -> V128;
            F32x4DemoteF64x2Zero: [V128] -> V128;
            F64x2PromoteLowF32x4: [V128] -> V128;

            // relaxed SIMD (3.0; only with `Features::relaxed_simd`)
            I8x16RelaxedSwizzle: [V128, V128] -> V128;
            I32x4RelaxedTruncF32x4S: [V128] -> V128;
            I32x4RelaxedTruncF32x4U: [V128] -> V128;
            I32x4RelaxedTruncF64x2SZero: [V128] -> V128;
            I32x4RelaxedTruncF64x2UZero: [V128] -> V128;
            F32x4RelaxedMadd: [V128, V128, V128] -> V128;
            F32x4RelaxedNmadd: [V128, V128, V128] -> V128;
            F64x2RelaxedMadd: [V128, V128, V128] -> V128;
            F64x2RelaxedNmadd: [V128, V128, V128] -> V128;
            I8x16RelaxedLaneselect: [V128, V128, V128] -> V128;
            I16x8RelaxedLaneselect: [V128, V128, V128] -> V128;
            I32x4RelaxedLaneselect: [V128, V128, V128] -> V128;
            I64x2RelaxedLaneselect: [V128, V128, V128] -> V128;
            F32x4RelaxedMin: [V128, V128] -> V128;
            F32x4RelaxedMax: [V128, V128] -> V128;
            F64x2RelaxedMin: [V128, V128] -> V128;
            F64x2RelaxedMax: [V128, V128] -> V128;
            I16x8RelaxedQ15mulrS: [V128, V128] -> V128;
            I16x8RelaxedDotI8x16I7x16S: [V128, V128] -> V128;
            I32x4RelaxedDotI8x16I7x16AddS: [V128, V128, V128] -> V128;
        }
    };
}

for_each_num_op!(numeric_ops);
