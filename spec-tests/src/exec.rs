//! What an executing tier offers the runner: an [`Executor`] per `.wast`
//! file, which compiles, instantiates, registers and invokes, and speaks in
//! the harness's own [`Value`]s and [`ExecError`]s.
//!
//! The runner owns the script's bookkeeping (the current module, `$M` names,
//! what each assertion expects); the executor owns the store, the `spectest`
//! host module and the registry of instances that imports resolve against.
//! Keeping the boundary this narrow is what lets the JIT reuse every rule.

use std::fmt;

use crate::rejection::Rejection;

/// A module compiled by an [`Executor`], for `module definition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleId(pub usize);

/// An instance made by an [`Executor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceId(pub usize);

/// A WebAssembly value as the harness sees it: floats as raw bits, and
/// references by what a script can say about them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as its bits (so NaN payloads are compared exactly).
    F32(u32),
    /// An `f64`, as its bits.
    F64(u64),
    /// A `v128`.
    V128(u128),
    /// A `funcref`: null, or a function identified by the executor (the
    /// identity only distinguishes functions within one store).
    FuncRef(Option<usize>),
    /// An `externref`: null, or the host value `N` of `ref.extern N`. Scripts
    /// create and compare externrefs by that payload.
    ExternRef(Option<u32>),
    /// An `exnref`: null, or an exception identified by the executor. Scripts
    /// can only say `ref.null exn` of one; a non-null one matches no result
    /// pattern of the text format.
    ExnRef(Option<usize>),
    /// A reference of the `any` hierarchy (or an `externref` made of one by
    /// `extern.convert_any`): null, or what it is.
    AnyRef(Option<AnyKind>),
}

/// What a non-null reference of the `any` hierarchy is, as scripts tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnyKind {
    /// An `i31` with this value.
    I31(i32),
    /// A struct.
    Struct,
    /// An array.
    Array,
    /// The host value `N` of `ref.host N` (or of `ref.extern N`, converted
    /// by `any.convert_extern`).
    Host(u32),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I32(v) => write!(f, "i32 {v}"),
            Value::I64(v) => write!(f, "i64 {v}"),
            Value::F32(bits) => write!(f, "f32 {} ({bits:#010x})", f32::from_bits(*bits)),
            Value::F64(bits) => write!(f, "f64 {} ({bits:#018x})", f64::from_bits(*bits)),
            Value::V128(bits) => write!(f, "v128 {bits:#034x}"),
            Value::FuncRef(None) => write!(f, "ref.null func"),
            Value::FuncRef(Some(i)) => write!(f, "ref.func #{i}"),
            Value::ExternRef(None) => write!(f, "ref.null extern"),
            Value::ExternRef(Some(n)) => write!(f, "ref.extern {n}"),
            Value::ExnRef(None) => write!(f, "ref.null exn"),
            Value::ExnRef(Some(i)) => write!(f, "exnref #{i}"),
            Value::AnyRef(None) => write!(f, "ref.null any"),
            Value::AnyRef(Some(AnyKind::I31(v))) => write!(f, "ref.i31 {v}"),
            Value::AnyRef(Some(AnyKind::Struct)) => write!(f, "ref.struct"),
            Value::AnyRef(Some(AnyKind::Array)) => write!(f, "ref.array"),
            Value::AnyRef(Some(AnyKind::Host(n))) => write!(f, "ref.host {n}"),
        }
    }
}

/// How an executor operation failed.
#[derive(Debug, Clone)]
pub enum ExecError {
    /// The tier cannot execute this yet (today: SIMD in the interpreter).
    /// The only error that makes a directive skipped rather than failed.
    Unsupported(String),
    /// The module is malformed or invalid.
    Rejected(Rejection),
    /// Instantiation failed at link time: a missing or mistyped import.
    Unlinkable(String),
    /// A WebAssembly exception escaped the call (or the start function):
    /// thrown, and caught by no handler.
    Exception,
    /// Execution (a call, a start function, a segment) trapped.
    Trap {
        /// The trap's message; for WebAssembly traps, the spec's text.
        message: String,
        /// Whether the trap is `call stack exhausted`.
        exhausted: bool,
    },
    /// Anything else: a resource limit, a missing export, a type mismatch
    /// between a script's arguments and the function, a harness problem.
    Other(String),
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::Unsupported(m) => write!(f, "unsupported: {m}"),
            ExecError::Rejected(r) => write!(f, "rejected: {r}"),
            ExecError::Unlinkable(m) => write!(f, "unlinkable: {m}"),
            ExecError::Exception => write!(f, "an uncaught exception"),
            ExecError::Trap { message, .. } => write!(f, "trapped: {message}"),
            ExecError::Other(m) => write!(f, "{m}"),
        }
    }
}

/// One `.wast` file's execution context: a store with the `spectest` module
/// registered, and the instances made so far.
pub trait Executor {
    /// Decodes, validates and compiles `bytes`.
    ///
    /// # Errors
    ///
    /// [`ExecError::Rejected`] for a malformed or invalid module,
    /// [`ExecError::Unsupported`] if the tier cannot run it.
    fn compile(&mut self, bytes: &[u8]) -> Result<ModuleId, ExecError>;

    /// Instantiates `module`, resolving its imports by name among the
    /// registered instances (and `spectest`), and runs its start function.
    ///
    /// # Errors
    ///
    /// [`ExecError::Unlinkable`], [`ExecError::Trap`] (segments, start), and
    /// [`ExecError::Unsupported`] when an import names a module registered
    /// with [`Executor::register_unsupported`].
    fn instantiate(&mut self, module: ModuleId) -> Result<InstanceId, ExecError>;

    /// Makes `instance`'s exports importable under the module name `name`,
    /// replacing whatever was registered under it.
    ///
    /// # Errors
    ///
    /// [`ExecError::Other`] if the instance is unknown.
    fn register(&mut self, name: &str, instance: InstanceId) -> Result<(), ExecError>;

    /// Records that `name` was registered from a module the tier could not
    /// run, so that importing from it is unsupported rather than unlinkable.
    fn register_unsupported(&mut self, name: &str);

    /// Calls the exported function `func` of `instance` with `args`.
    ///
    /// # Errors
    ///
    /// [`ExecError::Trap`] if the call traps, [`ExecError::Exception`] if an
    /// exception escapes it, [`ExecError::Other`] for a missing export or
    /// arguments of the wrong types.
    fn invoke(
        &mut self,
        instance: InstanceId,
        func: &str,
        args: &[Value],
    ) -> Result<Vec<Value>, ExecError>;

    /// Reads the exported global `global` of `instance`.
    ///
    /// # Errors
    ///
    /// [`ExecError::Other`] if there is no such global.
    fn get(&mut self, instance: InstanceId, global: &str) -> Result<Value, ExecError>;
}
