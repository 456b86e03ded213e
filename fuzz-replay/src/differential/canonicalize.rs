//! Completes `wasm-smith`'s NaN canonicalisation.
//!
//! `wasm-smith`'s `canonicalize_nans` rewrites the NaN results of float
//! arithmetic, scalar and vector (`add` to `sqrt`, `min`, `max`, rounding, for
//! `f32`, `f64`, `f32x4` and `f64x2`), but not those of the conversions between
//! float widths: `f32.demote_f64`, `f64.promote_f32`,
//! `f32x4.demote_f64x2_zero` and `f64x2.promote_low_f32x4`, whose NaN results
//! the spec also leaves nondeterministic. Kiln canonicalises them (it is
//! configured to), per lane for vectors; wasmi keeps the operand's sign and
//! payload. A module that stores, reinterprets or extracts such a NaN would
//! then differ by NaN bits alone, which is no finding. This pass re-encodes
//! the module with the same canonicalisation after each of the four
//! conversions, through a scratch local of the conversion's result type added
//! to each function that has one:
//!
//! ```text
//! f32.demote_f64
//! local.tee $f32      ;; x
//! f32.const nan       ;; canonical NaN (0x7fc00000)
//! local.get $f32
//! local.get $f32
//! f32.eq              ;; x == x, false only for a NaN
//! select              ;; x, or the canonical NaN
//! ```
//!
//! and for a vector, lane by lane:
//!
//! ```text
//! f32x4.demote_f64x2_zero
//! local.tee $v128     ;; v
//! v128.const nan      ;; the canonical NaN in every f32 lane
//! local.get $v128
//! local.get $v128
//! f32x4.eq            ;; all ones in a lane unless it is a NaN
//! v128.bitselect      ;; (v & mask) | (nan & !mask)
//! ```
//!
//! `wasm-smith` does the same for the arithmetic. The other float lane
//! operators are deterministic and left alone: `abs`, `neg`, `pmin`, `pmax`,
//! lane moves and bitwise operators keep a NaN's bits, the comparisons and
//! `trunc_sat` produce integers, and an integer converted to a float is never
//! a NaN. The relaxed operators' results are implementation-defined anyway,
//! and a module using them is not compared with wasmi (see `relaxed.rs`).

use wasm_encoder::reencode::{Error, Reencode, RoundtripReencoder, utils};
use wasm_encoder::{CodeSection, Function, Ieee32, Ieee64, Instruction, ValType};
use wasmparser::{FunctionBody, Operator, Parser, Payload};

/// The canonical `f32` NaN.
const NAN_32: u32 = 0x7fc0_0000;
/// The canonical `f64` NaN.
const NAN_64: u64 = 0x7ff8_0000_0000_0000;

/// `module` with the conversions' NaNs canonicalised, or `None` if it cannot
/// be read back (never, for a module `wasm-smith` built).
pub(super) fn canonicalize_conversions(module: &[u8]) -> Option<Vec<u8>> {
    let mut pass = Canonicalize {
        params: param_counts(module)?,
        next_func: 0,
    };
    let mut out = wasm_encoder::Module::new();
    pass.parse_core_module(&mut out, Parser::new(0), module)
        .ok()?;
    Some(out.finish())
}

/// The number of parameters of each function defined in `module`, in order.
fn param_counts(module: &[u8]) -> Option<Vec<u32>> {
    let mut types = Vec::new();
    let mut counts = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        match payload.ok()? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    types.push(u32::try_from(ty.ok()?.params().len()).ok()?);
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    counts.push(*types.get(usize::try_from(ty.ok()?).ok()?)?);
                }
            }
            _ => {}
        }
    }
    Some(counts)
}

/// A conversion whose NaN results the pass canonicalises, by its result's
/// shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `f32.demote_f64`.
    F32,
    /// `f64.promote_f32`.
    F64,
    /// `f32x4.demote_f64x2_zero`.
    F32x4,
    /// `f64x2.promote_low_f32x4`.
    F64x2,
}

impl Shape {
    /// The conversion `op` is, if it is one.
    fn of(op: &Operator<'_>) -> Option<Shape> {
        match op {
            Operator::F32DemoteF64 => Some(Shape::F32),
            Operator::F64PromoteF32 => Some(Shape::F64),
            Operator::F32x4DemoteF64x2Zero => Some(Shape::F32x4),
            Operator::F64x2PromoteLowF32x4 => Some(Shape::F64x2),
            _ => None,
        }
    }

    /// The type of the scratch local that holds the result.
    fn scratch_type(self) -> ValType {
        match self {
            Shape::F32 => ValType::F32,
            Shape::F64 => ValType::F64,
            Shape::F32x4 | Shape::F64x2 => ValType::V128,
        }
    }

    /// Replaces the NaN (lanes) of the result on the stack by the canonical
    /// NaN, through `scratch` (see the module docs).
    fn canonicalize(self, f: &mut Function, scratch: u32) {
        let (nan, eq, select) = match self {
            Shape::F32 => (
                Instruction::F32Const(Ieee32::new(NAN_32)),
                Instruction::F32Eq,
                Instruction::Select,
            ),
            Shape::F64 => (
                Instruction::F64Const(Ieee64::new(NAN_64)),
                Instruction::F64Eq,
                Instruction::Select,
            ),
            Shape::F32x4 => (
                Instruction::V128Const(splat(NAN_32.into(), 32)),
                Instruction::F32x4Eq,
                Instruction::V128Bitselect,
            ),
            Shape::F64x2 => (
                Instruction::V128Const(splat(NAN_64.into(), 64)),
                Instruction::F64x2Eq,
                Instruction::V128Bitselect,
            ),
        };
        f.instruction(&Instruction::LocalTee(scratch));
        f.instruction(&nan);
        f.instruction(&Instruction::LocalGet(scratch));
        f.instruction(&Instruction::LocalGet(scratch));
        f.instruction(&eq);
        f.instruction(&select);
    }
}

/// `lane`, `bits` wide, in every lane of a v128, as `v128.const` takes it.
fn splat(lane: u128, bits: u32) -> i128 {
    (0..128 / bits)
        .fold(0u128, |v, i| v | lane << (i * bits))
        .cast_signed()
}

/// The re-encoder: everything as it was, but function bodies.
struct Canonicalize {
    /// Parameters of each defined function, to number the scratch locals.
    params: Vec<u32>,
    /// The defined function whose body comes next.
    next_func: usize,
}

impl Reencode for Canonicalize {
    type Error = std::convert::Infallible;

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        func: FunctionBody<'_>,
    ) -> Result<(), Error<Self::Error>> {
        let params = self.params.get(self.next_func).copied().unwrap_or(0);
        self.next_func += 1;
        let mut locals = Vec::new();
        let mut declared = 0;
        for pair in func.get_locals_reader()? {
            let (count, ty) = pair?;
            declared += count;
            locals.push((count, RoundtripReencoder.val_type(ty)?));
        }
        // One scratch local per result type the body's conversions need,
        // after the declared ones, so that no index moves.
        let mut scratch: Vec<ValType> = Vec::new();
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            if let Some(shape) = Shape::of(&reader.read()?) {
                let ty = shape.scratch_type();
                if !scratch.contains(&ty) {
                    scratch.push(ty);
                }
            }
        }
        let first_scratch = params + declared;
        locals.extend(scratch.iter().map(|&ty| (1, ty)));
        let mut f = Function::new(locals);
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            let shape = Shape::of(&op);
            f.instruction(&utils::instruction(self, op)?);
            if let Some(shape) = shape {
                let ty = shape.scratch_type();
                let at = (first_scratch..).zip(&scratch).find(|&(_, &t)| t == ty);
                shape.canonicalize(&mut f, at.map_or(first_scratch, |(index, _)| index));
            }
        }
        code.function(&f);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::wasmi_side::WasmiSide;
    use super::super::{Step, Value};
    use super::{NAN_32, NAN_64, canonicalize_conversions, splat};

    /// The four conversions, each in a function of its own, and one function
    /// without any (which gets no scratch local).
    const CONVERSIONS: &str = r#"(module
      (func (export "demote_f64") (param f64) (result f32) (f32.demote_f64 (local.get 0)))
      (func (export "promote_f32") (param f32) (result f64) (f64.promote_f32 (local.get 0)))
      (func (export "demote_f64x2") (param v128) (result v128)
        (f32x4.demote_f64x2_zero (local.get 0)))
      (func (export "promote_f32x4") (param v128) (result v128)
        (f64x2.promote_low_f32x4 (local.get 0)))
      (func (export "none") (param f32) (result f32) (f32.neg (local.get 0))))"#;

    /// Each function's argument (a NaN that is not canonical, beside a
    /// number in the vectors) and its result, canonicalised.
    fn cases() -> [(&'static str, Value, Value); 5] {
        [
            (
                "demote_f64",
                Value::F64(0xfff8_0000_0000_0001),
                Value::F32(NAN_32),
            ),
            ("promote_f32", Value::F32(0xffa0_0001), Value::F64(NAN_64)),
            (
                // Lanes: a negative NaN with a payload, 1.5.
                "demote_f64x2",
                Value::V128(0x3ff8_0000_0000_0000_fff8_0000_0000_0001),
                // Lanes: the canonical NaN, 1.5, zero, zero.
                Value::V128(0x3fc0_0000_7fc0_0000),
            ),
            (
                // Lanes: 2.0, a signalling NaN (and two ignored lanes).
                "promote_f32x4",
                Value::V128(0x1234_5678_9abc_def0_ffa0_0001_4000_0000),
                Value::V128(0x7ff8_0000_0000_0000_4000_0000_0000_0000),
            ),
            // Not a conversion: the NaN keeps its bits.
            ("none", Value::F32(0x7fa0_0001), Value::F32(0xffa0_0001)),
        ]
    }

    fn run(wasm: &[u8], name: &str, arg: Value) -> Step {
        let mut wasmi = WasmiSide::new(wasm).expect("wasmi instantiates the module");
        wasmi.call(name, &[arg])
    }

    #[test]
    fn conversions_return_the_canonical_nan() {
        let wasm = wat::parse_str(CONVERSIONS).expect("the module is well-formed text");
        let canonical = canonicalize_conversions(&wasm).expect("the module reads back");
        for (name, arg, expected) in cases() {
            // wasmi keeps the NaN's sign and payload where Kiln need not...
            if name != "none" {
                assert_ne!(
                    run(&wasm, name, arg),
                    Step::Returned(vec![expected]),
                    "{name}"
                );
            }
            // ...and after the pass, the module itself makes it canonical.
            assert_eq!(
                run(&canonical, name, arg),
                Step::Returned(vec![expected]),
                "{name}"
            );
        }
    }

    #[test]
    fn only_functions_with_a_conversion_get_scratch_locals() {
        let wasm = wat::parse_str(CONVERSIONS).expect("the module is well-formed text");
        let canonical = canonicalize_conversions(&wasm).expect("the module reads back");
        let mut locals = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(&canonical) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.expect("valid") {
                let reader = body.get_locals_reader().expect("valid");
                let declared: Vec<_> = reader.into_iter().map(|l| l.expect("valid")).collect();
                locals.push(declared);
            }
        }
        use wasmparser::ValType::{F32, F64, V128};
        assert_eq!(
            locals,
            [
                vec![(1, F32)],
                vec![(1, F64)],
                vec![(1, V128)],
                vec![(1, V128)],
                vec![]
            ]
        );
    }

    #[test]
    fn splat_repeats_the_lane() {
        assert_eq!(
            splat(NAN_32.into(), 32),
            0x7fc0_0000_7fc0_0000_7fc0_0000_7fc0_0000
        );
        assert_eq!(
            splat(NAN_64.into(), 64),
            0x7ff8_0000_0000_0000_7ff8_0000_0000_0000
        );
    }
}
