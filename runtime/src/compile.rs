//! What a tier is told when it compiles a module, and how it refuses one: one
//! definition that the interpreter, the JIT and the embedding API share.

use std::fmt;

/// How a tier compiles a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileOptions {
    /// Charge fuel per metered run ([`crate::fuel`]).
    pub fuel: bool,
    /// Check the engine's epoch against the store's deadline at every
    /// function entry and loop header ([`crate::epoch`]).
    pub epoch_interruption: bool,
    /// Replace every NaN produced by float arithmetic by the canonical NaN.
    pub canonicalize_nans: bool,
    /// Rely on the guard regions of 32-bit memories instead of bounds checks
    /// (the store's memories must have them: `MemoryConfig::guard`). 64-bit
    /// memories are always checked. Only native code can rely on a fault: the
    /// interpreter checks every access and ignores this.
    pub memory_guard: bool,
}

impl Default for CompileOptions {
    /// No fuel, no epoch checks, NaNs as the hardware computes them, guard regions on (the
    /// store's default memories have them).
    fn default() -> CompileOptions {
        CompileOptions {
            fuel: false,
            epoch_interruption: false,
            canonicalize_nans: false,
            memory_guard: true,
        }
    }
}

/// Which tier refused a module, for [`CompileError`]'s message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierName {
    /// Kiln's interpreter.
    Interpreter,
    /// Kiln's Cranelift JIT.
    Jit,
}

impl fmt::Display for TierName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TierName::Interpreter => "interpreter",
            TierName::Jit => "JIT",
        })
    }
}

/// Why a tier cannot compile a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// The module uses something this tier does not run yet; `what` names it
    /// (`SIMD (v128 values)`, for example).
    Unsupported {
        /// The tier that refused it.
        tier: TierName,
        /// What the module uses.
        what: String,
    },
    /// Code generation failed (a bug in the translation, or one of the code
    /// generator's implementation limits).
    Codegen(String),
    /// Executable memory could not be mapped or protected.
    CodeMemory(String),
    /// The interpreter's bytecode verifier rejected a translated function: a
    /// bug in the translation, caught before the function could run.
    InvalidBytecode {
        /// The function (the module's function index space).
        func: u32,
        /// The op at fault (its index in the function's code), or `None` for a
        /// fault of the function's other tables (exception handlers, frame set-up).
        op_index: Option<u32>,
        /// What is wrong.
        what: Box<str>,
    },
}

impl CompileError {
    /// A tier's refusal of `what`.
    pub fn unsupported(tier: TierName, what: String) -> CompileError {
        CompileError::Unsupported { tier, what }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Unsupported { tier, what } => {
                write!(f, "the {tier} does not support {what} yet")
            }
            CompileError::Codegen(e) => write!(f, "code generation failed: {e}"),
            CompileError::CodeMemory(e) => write!(f, "executable memory: {e}"),
            CompileError::InvalidBytecode {
                func,
                op_index: Some(at),
                what,
            } => write!(
                f,
                "internal error: invalid interpreter bytecode in function {func}, op {at}: {what}"
            ),
            CompileError::InvalidBytecode {
                func,
                op_index: None,
                what,
            } => write!(
                f,
                "internal error: invalid interpreter bytecode in function {func}: {what}"
            ),
        }
    }
}

impl std::error::Error for CompileError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_error_stays_small() {
        assert!(std::mem::size_of::<CompileError>() <= 32);
    }

    #[test]
    fn messages_name_the_tier() {
        let e = CompileError::unsupported(TierName::Interpreter, "SIMD instructions".into());
        assert_eq!(
            e.to_string(),
            "the interpreter does not support SIMD instructions yet"
        );
        let e = CompileError::unsupported(TierName::Jit, "SIMD (v128 values)".into());
        assert_eq!(
            e.to_string(),
            "the JIT does not support SIMD (v128 values) yet"
        );
    }

    #[test]
    fn invalid_bytecode_names_the_function_and_op() {
        let e = CompileError::InvalidBytecode {
            func: 3,
            op_index: Some(7),
            what: "jump target 9 is not below the code length 9".into(),
        };
        assert_eq!(
            e.to_string(),
            "internal error: invalid interpreter bytecode in function 3, op 7: \
             jump target 9 is not below the code length 9"
        );
    }

    #[test]
    fn guard_regions_are_on_by_default() {
        let o = CompileOptions::default();
        assert!(o.memory_guard && !o.fuel && !o.epoch_interruption && !o.canonicalize_nans);
    }
}
