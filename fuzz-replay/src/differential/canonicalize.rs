//! Completes `wasm-smith`'s NaN canonicalisation.
//!
//! `wasm-smith`'s `canonicalize_nans` rewrites the NaN results of float
//! arithmetic (`add` to `sqrt`, `min`, `max`, rounding), but not those of
//! `f32.demote_f64` and `f64.promote_f32`, whose NaN results the spec also
//! leaves nondeterministic. Kiln canonicalises them (it is configured to);
//! wasmi keeps the operand's sign and payload. A module that stores or
//! reinterprets such a NaN would then differ by NaN bits alone, which is no
//! finding. This pass re-encodes the module with the same canonicalisation
//! after each of the two conversions, through two scratch locals added to
//! every function:
//!
//! ```text
//! f32.demote_f64
//! local.tee $f32      ;; x
//! f32.const nan       ;; canonical NaN
//! local.get $f32
//! local.get $f32
//! f32.eq              ;; x == x, false only for a NaN
//! select              ;; x, or the canonical NaN
//! ```

use wasm_encoder::reencode::{Error, Reencode, RoundtripReencoder, utils};
use wasm_encoder::{CodeSection, Function, Ieee32, Ieee64, Instruction, ValType};
use wasmparser::{FunctionBody, Operator, Parser, Payload};

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
        let scratch_f32 = params + declared;
        let scratch_f64 = scratch_f32 + 1;
        locals.push((1, ValType::F32));
        locals.push((1, ValType::F64));
        let mut f = Function::new(locals);
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            let canonicalize = match op {
                Operator::F32DemoteF64 => Some(false),
                Operator::F64PromoteF32 => Some(true),
                _ => None,
            };
            f.instruction(&utils::instruction(self, op)?);
            match canonicalize {
                Some(false) => {
                    f.instruction(&Instruction::LocalTee(scratch_f32));
                    f.instruction(&Instruction::F32Const(Ieee32::new(0x7fc0_0000)));
                    f.instruction(&Instruction::LocalGet(scratch_f32));
                    f.instruction(&Instruction::LocalGet(scratch_f32));
                    f.instruction(&Instruction::F32Eq);
                    f.instruction(&Instruction::Select);
                }
                Some(true) => {
                    f.instruction(&Instruction::LocalTee(scratch_f64));
                    f.instruction(&Instruction::F64Const(Ieee64::new(0x7ff8_0000_0000_0000)));
                    f.instruction(&Instruction::LocalGet(scratch_f64));
                    f.instruction(&Instruction::LocalGet(scratch_f64));
                    f.instruction(&Instruction::F64Eq);
                    f.instruction(&Instruction::Select);
                }
                None => {}
            }
        }
        code.function(&f);
        Ok(())
    }
}
