//! Why a module is refused ([`RejectReason`]): the executor's check, which
//! the store runs before it writes a module.

/// Why a module cannot be accepted for execution.
#[derive(Debug, thiserror::Error)]
pub enum RejectReason {
    /// Kiln refused the module (malformed, invalid, unsupported).
    #[error("{0}")]
    Kiln(#[from] kiln::Error),
    /// The module is not in the binary format.
    #[error("not a binary WebAssembly module")]
    NotBinary,
    /// The module imports something outside the host API.
    #[error("import {module}.{name} is not part of the deterministic host API")]
    Import {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
    },
}
