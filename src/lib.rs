//! `kiln` is the public face of Kiln, a WebAssembly engine written from
//! scratch: the embedding API that Rust programs use, and the library behind
//! the `kiln` command-line tool.
//!
//! The embedding API is shaped like wasmtime's so programs can switch:
//! an [`Engine`] (configured by [`Config`]) compiles a [`Module`]; a
//! [`Store`] owns instances and the embedder's host state; a [`Linker`]
//! resolves imports from host functions ([`Linker::func_wrap`]) and other
//! instances; [`Func`] and [`TypedFunc`] call functions; [`Memory`],
//! [`Table`] and [`Global`] are shared objects; a [`Tag`] names a kind of
//! exception and an [`Exn`] is one. Traps, and exceptions no handler caught
//! ([`Error::exception`]), come back as [`Error::Trap`], never as a crash of
//! the host.
//!
//! ```
//! use kiln::{Engine, Linker, Module, Store};
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"(module
//!     (import "host" "double" (func $double (param i32) (result i32)))
//!     (func (export "run") (param i32) (result i32)
//!         (call $double (i32.add (local.get 0) (i32.const 1)))))"#)?;
//! let mut linker = Linker::new(&engine);
//! linker.func_wrap("host", "double", |x: i32| x * 2)?;
//! let mut store = Store::new(&engine, ());
//! let instance = linker.instantiate(&mut store, &module)?;
//! let run = instance.get_typed_func::<i32, i32>(&store, "run")?;
//! assert_eq!(run.call(&mut store, 20)?, 42);
//! # Ok::<(), kiln::Error>(())
//! ```
//!
//! [`wat2wasm`] reads either module format and [`validate`] checks a module
//! without compiling it. This crate must stay a thin layer: decoding belongs
//! to `kiln-parser`, validation to `kiln-validator`, execution to the tiers,
//! and the store model to `kiln-runtime`.
//!
//! No `unsafe` code, with one exception: [`Module::deserialize`] is an
//! `unsafe fn`, because it runs native code it did not compile (its
//! `# Safety` section is the contract), and `artifact.rs` is the only module
//! allowed `unsafe`.

#![deny(unsafe_code)]
#![warn(missing_docs)]

use std::borrow::Cow;
use std::path::Path;

#[allow(unsafe_code)]
pub mod artifact;
mod engine;
mod exn;
mod externals;
mod func;
mod gc;
mod instance;
pub mod instrument;
mod linker;
mod module;
mod resumable;
mod store;
mod tiered;
mod values;

pub use engine::{Config, Engine, Strategy};
pub use exn::Exn;
pub use externals::{Extern, ExternRef, Global, Memory, Table, Tag};
pub use func::{Func, IntoFunc, TypedFunc, WasmParams, WasmResults, WasmRet, WasmTy};
pub use gc::AnyRefKind;
pub use instance::Instance;
pub use kiln_parser::{
    Features, FuncType, GlobalType, HeapType, IndexType, Limits, MemoryType, ParseError,
    ParseErrorKind, RefType, TableType, ValType,
};
pub use kiln_runtime::gc::{AnyRef, GcStats};
pub use kiln_runtime::{
    ArtifactError, ExnAddr, FuncAddr, GcRef, ResourceLimiter, Trap, TrapCode, Val,
};
pub use kiln_validator::{
    ImplLimit, IndexSpace, ModuleError, ValidationError, ValidationErrorKind,
};
pub use linker::{InstancePre, Linker};
pub use module::{ExternType, Module};
pub use resumable::{
    ResumableCall, ResumableInvocation, TypedResumableCall, TypedResumableInvocation,
};
pub use store::{
    AsContext, AsContextMut, Caller, Store, StoreContext, StoreContextMut, UpdateDeadline,
};
#[doc(hidden)]
pub use tiered::CompileHold;

/// The four bytes every binary module starts with.
const WASM_MAGIC: &[u8; 4] = b"\0asm";

/// Why Kiln could not accept a module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input was read as the text format and is not well-formed text.
    ///
    /// The message carries the line and column; see [`Error::set_path`] to
    /// name the file in it.
    #[error(transparent)]
    Wat(#[from] wat::Error),
    /// The binary module is malformed, or uses a proposal that is switched
    /// off or that Kiln does not implement.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The module is well-formed but breaks a validation rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The engine cannot do what was asked (a tier that is not available, a
    /// feature the tier cannot run here, such as SIMD in the JIT on a
    /// processor without SSSE3, fuel calls on an engine without fuel).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The JIT failed to compile a valid module (code generation or executable
    /// memory); a bug or a resource limit, never the module's fault.
    #[error("compilation failed: {0}")]
    Compile(String),
    /// An import is missing or has the wrong type.
    #[error("unlinkable: {0}")]
    Unlinkable(String),
    /// A memory or table could not be created within the configured limits.
    #[error("instantiation failed: {0}")]
    Instantiation(String),
    /// Execution trapped.
    #[error(transparent)]
    Trap(#[from] Trap),
    /// Values or Rust types do not match a function's or global's type.
    #[error("type mismatch: {0}")]
    Type(String),
    /// An object was used with a store it does not belong to.
    #[error("object used with a store it does not belong to")]
    Store,
    /// A saved compiled module cannot be loaded ([`Module::deserialize`]).
    /// (Boxed: it is rare, and the error stays 48 bytes.)
    #[error(transparent)]
    Artifact(Box<ArtifactError>),
}

impl From<ArtifactError> for Error {
    fn from(e: ArtifactError) -> Error {
        Error::Artifact(Box::new(e))
    }
}

impl Error {
    /// The trap, if execution trapped.
    pub fn trap(&self) -> Option<&Trap> {
        match self {
            Error::Trap(t) => Some(t),
            _ => None,
        }
    }
}

impl Error {
    /// Names the file a text-format error came from, so that its message
    /// points at `path:line:column` rather than at an anonymous input.
    ///
    /// Errors about binary modules locate themselves by byte offset and are
    /// left unchanged.
    pub fn set_path(&mut self, path: &Path) {
        if let Error::Wat(e) = self {
            e.set_path(path);
        }
    }
}

/// Whether `bytes` are to be read as a binary module rather than as text.
///
/// A binary module starts with `\0asm`. Beyond that, input that is empty,
/// contains a control byte other than tab, line feed, carriage return or form
/// feed (NUL included), or is not UTF-8 cannot be meaningful text, so it is
/// read as binary too: a damaged binary (a wrong magic number, a file cut
/// short) then gets the binary format's error, not a text syntax error.
fn is_binary(bytes: &[u8]) -> bool {
    bytes.starts_with(WASM_MAGIC)
        || bytes.is_empty()
        || bytes
            .iter()
            .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
        || std::str::from_utf8(bytes).is_err()
}

/// Returns the binary encoding of a module given in either format.
///
/// Binary input (see below) is returned as it is, borrowed and unchecked.
/// Anything else is parsed as the WebAssembly text format with the `wat`
/// crate and encoded. The input is read as binary when it starts with the
/// magic bytes `\0asm`, and also when it is empty, contains a NUL byte or is
/// not UTF-8, which no meaningful text module does.
///
/// # Errors
///
/// [`Error::Wat`] if the input is read as text and is not a well-formed text
/// module.
pub fn wat2wasm(bytes: &[u8]) -> Result<Cow<'_, [u8]>, Error> {
    if is_binary(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    // `is_binary` returned false, so the bytes are UTF-8; `parse_bytes` reads
    // them as text because they do not start with the magic bytes.
    Ok(wat::parse_bytes(bytes)?)
}

impl From<ModuleError> for Error {
    fn from(e: ModuleError) -> Error {
        match e {
            ModuleError::Malformed(e) => Error::Parse(e),
            ModuleError::Invalid(e) => Error::Invalid(e),
        }
    }
}

/// Checks that a module, binary or text (read as by [`wat2wasm`]), is
/// well-formed and valid under `features`.
///
/// # Errors
///
/// - [`Error::Wat`] if text input is not well-formed;
/// - [`Error::Parse`] if the binary is malformed or uses a proposal outside
///   `features` (the error names the proposal);
/// - [`Error::Invalid`] if the module breaks a validation rule.
pub fn validate(bytes: &[u8], features: Features) -> Result<(), Error> {
    let binary = wat2wasm(bytes)?;
    let module = kiln_parser::parse(&binary, features)?;
    kiln_validator::validate(&module, features)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_passes_through_unchanged() -> Result<(), Error> {
        let bytes = b"\0asm\x01\0\0\0";
        assert!(matches!(wat2wasm(bytes)?, Cow::Borrowed(b) if b == bytes));
        Ok(())
    }

    #[test]
    fn text_is_encoded() -> Result<(), Error> {
        assert_eq!(&*wat2wasm(b"(module)")?, b"\0asm\x01\0\0\0");
        Ok(())
    }

    #[test]
    fn damaged_binaries_are_not_read_as_text() {
        assert!(is_binary(b""));
        assert!(is_binary(b"\0as"));
        assert!(is_binary(b"\0ASM\x01\0\0\0"));
        assert!(is_binary(b"\xff\xfe(module)"));
        assert!(is_binary(b"\x01"), "a one-byte file cut from a binary");
        assert!(!is_binary(b"(module)"));
        assert!(!is_binary(b";; \xc3\xa9\n(module)"));
    }

    #[test]
    fn each_stage_reports_its_own_error() {
        let features = Features::ALL;
        assert!(matches!(validate(b"(module", features), Err(Error::Wat(_))));
        assert!(matches!(
            validate(b"\0asm\x02\0\0\0", features),
            Err(Error::Parse(_))
        ));
        assert!(matches!(
            validate(b"(module (memory 1 1 shared))", features),
            Err(Error::Parse(e)) if e.kind() == ParseErrorKind::Unsupported { proposal: "threads" }
        ));
        assert!(matches!(
            validate(b"(module (func (result i32) i64.const 0))", features),
            Err(Error::Invalid(_))
        ));
        assert!(validate(b"(module (func (export \"f\")))", features).is_ok());
    }

    /// `Result<_, Error>` is returned by every fallible call of the API; keep
    /// it small. This pins the size so that growth is a deliberate choice.
    #[test]
    fn error_size_is_pinned() {
        assert_eq!(std::mem::size_of::<Error>(), 48);
    }
}
