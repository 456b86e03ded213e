//! `kiln-validator` implements the WebAssembly validation algorithm over the
//! module IR of `kiln-parser`: the module-level rules and the operand/control
//! stack algorithm for function bodies (the spec's validation appendix). It
//! decodes each function body (with [`kiln_parser::BodyDecoder`]) and checks
//! every instruction as it is decoded, so no list of a module's instructions
//! is built; a body found malformed on the way is a [`ModuleError::Malformed`].
//!
//! It records what the execution tiers need per function ([`FuncInfo`]: local
//! types, maximum operand-stack height, block shapes). It must not call
//! `wasmparser`'s validator; that one is used only as an oracle in tests.
//! Errors carry a [`ValidationErrorKind`] a caller can branch on, whose
//! message is the spec test suite's wording ("type mismatch", "unknown
//! local 3", ...), and the function and byte offset.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod const_expr;
mod context;
mod error;
mod func;
pub mod limits;
mod module;

pub use error::{ImplLimit, IndexSpace, ModuleError, ValidationError, ValidationErrorKind};
pub use func::{BlockShape, FuncInfo, GcRoots, Safepoint};

use kiln_parser::{BodyDecoder, Features, Instr, InstrSink, Module};

/// Facts about a valid module that the tiers use.
#[derive(Debug, Clone, Default)]
pub struct ModuleInfo {
    /// One entry per function defined in the module (imports excluded), in order.
    pub funcs: Vec<FuncInfo>,
    /// Whether any instruction of a body or a constant expression operates
    /// on `v128` values: a SIMD operator, or a `select` typed `v128`. Types,
    /// globals and locals of type `v128` are not counted here.
    pub uses_v128_instrs: bool,
    /// Whether any body uses an instruction of typed function references
    /// (`call_ref`, `return_call_ref`, `ref.as_non_null`, `br_on_null`,
    /// `br_on_non_null`).
    pub uses_typed_ref_instrs: bool,
    /// Whether any body uses an instruction of exception handling (`throw`,
    /// `throw_ref`, `try_table`).
    pub uses_exception_instrs: bool,
    /// Whether any type of the module declares a supertype.
    pub declares_subtypes: bool,
    /// Whether the module has a struct or array type, or any body or
    /// constant expression uses a GC instruction.
    pub uses_gc: bool,
}

/// A sink that only lets the decoder run on.
struct Discard;

impl InstrSink for Discard {
    fn push(&mut self, _: Instr, _: u64) -> bool {
        true
    }
}

/// Validates `module` under `features`, decoding its function bodies.
///
/// # Errors
///
/// [`ModuleError::Malformed`] if a function body is malformed (the parser
/// reads only the bodies' locals); else [`ModuleError::Invalid`] with the
/// first rule the module breaks, with the function and byte offset.
pub fn validate(module: &Module, features: Features) -> Result<ModuleInfo, ModuleError> {
    match module::validate_module(module, features) {
        Ok(info) => Ok(info),
        Err(ModuleError::Invalid(e)) => {
            // A malformed body anywhere wins over the invalid construct.
            let mut decoder = BodyDecoder::new();
            for index in 0..module.code.len() {
                decoder.decode(module, index, Discard)?;
            }
            Err(ModuleError::Invalid(e))
        }
        Err(malformed) => Err(malformed),
    }
}
