//! `kiln-validator` implements the WebAssembly validation algorithm over the
//! module IR of `kiln-parser`: the module-level rules and the operand/control
//! stack algorithm for function bodies (the spec's validation appendix).
//!
//! It records what the execution tiers need per function ([`FuncInfo`]: local
//! types, maximum operand-stack height, block shapes). It must not call
//! `wasmparser`'s validator; that one is used only as an oracle in tests.
//! Error messages use the spec test suite's wording ("type mismatch",
//! "unknown local 3", ...) and carry the function and byte offset.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod const_expr;
mod error;
mod func;
pub mod limits;
mod module;

pub use error::ValidationError;
pub use func::{BlockShape, FuncInfo};

use kiln_parser::{Features, Module};

/// Facts about a valid module that the tiers use.
#[derive(Debug, Clone, Default)]
pub struct ModuleInfo {
    /// One entry per function defined in the module (imports excluded), in order.
    pub funcs: Vec<FuncInfo>,
}

/// Validates `module` under `features`.
///
/// # Errors
///
/// The first rule the module breaks, with the function and byte offset.
pub fn validate(module: &Module, features: Features) -> Result<ModuleInfo, ValidationError> {
    module::validate_module(module, features)
}
