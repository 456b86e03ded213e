//! Deterministic execution of jobs.
//!
//! Every node runs a job on one [`Engine`] configured for determinism: fuel
//! metering, NaN canonicalisation, a memory limit, a call-depth limit and a
//! table limit, all fixed by [`ExecLimits`]. The guest may import nothing but
//! the host API below, so the only inputs to a job are the module, the
//! export, the arguments, the input bytes and the fuel: the same job gives
//! the same [`JobResult`] on every node and on either tier.
//!
//! # The host API (import module `kiln`)
//!
//! | import | type | does |
//! |---|---|---|
//! | `input_len` | `() -> i32` | the length of the job's input bytes |
//! | `input_read` | `(ptr: i32, offset: i32, len: i32) -> i32` | copies up to `len` input bytes from `offset` to memory at `ptr`; returns how many were copied (0 past the end) |
//! | `output_write` | `(ptr: i32, len: i32) -> ()` | appends `len` bytes of memory at `ptr` to the job's output |
//!
//! The guest must export its memory as `memory` to use `input_read` and
//! `output_write`. Out-of-bounds pointers, a missing memory and output past
//! [`ExecLimits::max_output_bytes`] trap with a fixed message, so those traps
//! are deterministic too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kiln::{Caller, Config, Engine, Linker, Module, Store, Strategy, Val, ValType};
use serde::{Deserialize, Serialize};

use crate::reject::RejectReason;
use crate::store::{ModuleId, sha256_hex};

/// The import module name of the host API.
pub const HOST_MODULE: &str = "kiln";

/// The limits every job runs under. Nodes that are to agree must use the same
/// ones (they are part of what makes a result reproducible).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecLimits {
    /// The most fuel a job may ask for.
    pub max_fuel: u64,
    /// The largest size any linear memory may reach.
    pub max_memory_bytes: u64,
    /// The deepest call nesting.
    pub max_call_depth: u32,
    /// The largest number of elements of a table.
    pub max_table_elements: u64,
    /// The largest total size of the exceptions a job's store keeps.
    pub max_exception_bytes: u64,
    /// The largest input a job may carry.
    pub max_input_bytes: usize,
    /// The most output a job may write.
    pub max_output_bytes: usize,
}

impl Default for ExecLimits {
    fn default() -> ExecLimits {
        ExecLimits {
            max_fuel: 10_000_000_000,
            max_memory_bytes: 64 << 20,
            max_call_depth: 1_000,
            max_table_elements: 100_000,
            max_exception_bytes: 16 << 20,
            max_input_bytes: 64 << 10,
            max_output_bytes: 64 << 10,
        }
    }
}

/// One call to run: what a caller sends to each replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The module's id (hex SHA-256).
    pub module: String,
    /// The exported function to call.
    pub export: String,
    /// The arguments, typed by the export's signature: integers in decimal
    /// (signed or unsigned), floats as Rust parses them (`1.5`, `-0`, `inf`,
    /// `nan`), vectors in hexadecimal (`v128:0x...` or `0x...`).
    pub args: Vec<String>,
    /// The fuel the call may consume.
    pub fuel: u64,
    /// The bytes the guest reads with `input_read`.
    #[serde(with = "serde_bytes", default)]
    pub input: Vec<u8>,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The call returned these values (see [`format_val`]).
    Values(Vec<String>),
    /// The call (or the module's start function) trapped with this message.
    Trap(String),
    /// The job could not run: unknown export, wrong arguments, too much fuel
    /// asked, a module that cannot be instantiated.
    Error(String),
}

/// What a node reports for a job. Two nodes agree when their results are
/// equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobResult {
    /// Values, trap or error.
    pub outcome: Outcome,
    /// The fuel consumed, instantiation included.
    pub fuel_used: u64,
    /// The hex SHA-256 of the output bytes.
    pub output_sha256: String,
    /// The number of output bytes.
    pub output_len: u64,
}

impl JobResult {
    /// The result of a job that could not run: an [`Outcome::Error`] with
    /// `message`, no fuel used, no output.
    pub fn error(message: impl Into<String>) -> JobResult {
        JobResult {
            outcome: Outcome::Error(message.into()),
            fuel_used: 0,
            output_sha256: sha256_hex(&[]),
            output_len: 0,
        }
    }
}

/// The host state of one job.
#[derive(Debug)]
struct JobData {
    input: Vec<u8>,
    output: Vec<u8>,
    max_output: usize,
}

/// Runs jobs on one deterministic engine, caching compiled modules.
#[derive(Debug, Clone)]
pub struct Executor {
    engine: Engine,
    limits: ExecLimits,
    /// Compiled modules by id. The engine is fixed per executor, so the id
    /// alone is the key; bounded by [`Executor::CACHE_ENTRIES`].
    cache: Arc<Mutex<HashMap<ModuleId, Module>>>,
}

impl Executor {
    /// The number of compiled modules kept in memory.
    pub const CACHE_ENTRIES: usize = 64;

    /// An executor on `strategy` (the interpreter by default; the tier is the
    /// only thing a node may choose freely, since both give the same results).
    ///
    /// # Errors
    ///
    /// [`kiln::Error::Unsupported`] if the tier is not available here.
    pub fn new(strategy: Strategy, limits: ExecLimits) -> Result<Executor, kiln::Error> {
        let mut config = Config::new();
        config
            .strategy(strategy)
            .consume_fuel(true)
            .nan_canonicalization(true)
            .max_memory_bytes(limits.max_memory_bytes)
            .max_call_depth(limits.max_call_depth)
            .max_table_elements(limits.max_table_elements)
            .max_exception_bytes(limits.max_exception_bytes);
        Ok(Executor {
            engine: Engine::new(&config)?,
            limits,
            cache: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The limits jobs run under.
    pub fn limits(&self) -> &ExecLimits {
        &self.limits
    }

    /// Checks that `bytes` are a binary module Kiln accepts and that it
    /// imports only the host API.
    ///
    /// # Errors
    ///
    /// The reason it is refused.
    pub fn validate(&self, bytes: &[u8]) -> Result<(), RejectReason> {
        self.compile(bytes).map(drop)
    }

    fn compile(&self, bytes: &[u8]) -> Result<Module, RejectReason> {
        if !bytes.starts_with(b"\0asm") {
            return Err(RejectReason::NotBinary);
        }
        let module = Module::new(&self.engine, bytes)?;
        for (module_name, name, ty) in module.imports() {
            if module_name != HOST_MODULE || !host_import_matches(name, &ty) {
                return Err(RejectReason::Import {
                    module: module_name.to_string(),
                    name: name.to_string(),
                });
            }
        }
        Ok(module)
    }

    fn cached(&self, id: &ModuleId, bytes: &[u8]) -> Result<Module, RejectReason> {
        if let Some(m) = self.lock_cache().get(id) {
            return Ok(m.clone());
        }
        let module = self.compile(bytes)?;
        let mut cache = self.lock_cache();
        if cache.len() >= Self::CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(*id, module.clone());
        Ok(module)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<ModuleId, Module>> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The type of the function `export` of the module `bytes` (whose id,
    /// `module`, the caller has verified).
    ///
    /// # Errors
    ///
    /// Why the module is refused, or that it exports no such function.
    pub fn export_type(
        &self,
        module: &ModuleId,
        bytes: &[u8],
        export: &str,
    ) -> Result<kiln::FuncType, String> {
        let module = self
            .cached(module, bytes)
            .map_err(|e| format!("module rejected: {e}"))?;
        module
            .exports()
            .find_map(|(name, ty)| match ty {
                kiln::ExternType::Func(f) if name == export => Some(f),
                _ => None,
            })
            .ok_or_else(|| format!("no exported function {export:?}"))
    }

    /// Runs `job` against `bytes` (whose id the caller has verified). Blocks
    /// for as long as the guest runs, which fuel bounds.
    pub fn run(&self, job: &Job, bytes: &[u8]) -> JobResult {
        let Ok(id) = job.module.parse::<ModuleId>() else {
            return JobResult::error("bad module id");
        };
        if job.fuel > self.limits.max_fuel {
            return JobResult::error(format!(
                "fuel {} is above the limit of {}",
                job.fuel, self.limits.max_fuel
            ));
        }
        if job.input.len() > self.limits.max_input_bytes {
            return JobResult::error(format!(
                "input of {} bytes is above the limit of {}",
                job.input.len(),
                self.limits.max_input_bytes
            ));
        }
        let module = match self.cached(&id, bytes) {
            Ok(m) => m,
            Err(e) => return JobResult::error(format!("module rejected: {e}")),
        };
        let mut linker = Linker::new(&self.engine);
        if let Err(e) = define_host_api(&mut linker) {
            return JobResult::error(format!("host API: {e}"));
        }
        let data = JobData {
            input: job.input.clone(),
            output: Vec::new(),
            max_output: self.limits.max_output_bytes,
        };
        let mut store = Store::new(&self.engine, data);
        if let Err(e) = store.set_fuel(job.fuel) {
            return JobResult::error(e.to_string());
        }
        let outcome = call(&mut store, &linker, &module, job);
        let fuel_used = job.fuel - store.get_fuel().unwrap_or(job.fuel).min(job.fuel);
        let output = &store.data().output;
        JobResult {
            outcome,
            fuel_used,
            output_sha256: sha256_hex(output),
            output_len: output.len() as u64,
        }
    }
}

fn call(
    store: &mut Store<JobData>,
    linker: &Linker<JobData>,
    module: &Module,
    job: &Job,
) -> Outcome {
    let instance = match linker.instantiate(&mut *store, module) {
        Ok(i) => i,
        Err(kiln::Error::Trap(t)) => return Outcome::Trap(t.to_string()),
        Err(e) => return Outcome::Error(format!("instantiation: {e}")),
    };
    let Some(func) = instance.get_func(&*store, &job.export) else {
        return Outcome::Error(format!("no exported function {:?}", job.export));
    };
    let ty = func.ty(&*store);
    let params = match typed_args(job, &ty) {
        Ok(params) => params,
        Err(e) => return Outcome::Error(e),
    };
    let mut results: Vec<Val> = ty.results.iter().map(|t| zero(*t)).collect();
    match func.call(&mut *store, &params, &mut results) {
        Ok(()) => Outcome::Values(results.iter().map(format_val).collect()),
        Err(kiln::Error::Trap(t)) => Outcome::Trap(t.to_string()),
        Err(e) => Outcome::Error(e.to_string()),
    }
}

/// `job`'s arguments typed by the export's signature `ty`.
///
/// # Errors
///
/// What an [`Outcome::Error`] says of a wrong count or an argument that is
/// not of its type.
pub fn typed_args(job: &Job, ty: &kiln::FuncType) -> Result<Vec<Val>, String> {
    if ty.params.len() != job.args.len() {
        return Err(format!(
            "{} takes {} arguments, {} given",
            job.export,
            ty.params.len(),
            job.args.len()
        ));
    }
    job.args
        .iter()
        .zip(ty.params.iter())
        .map(|(arg, ty)| {
            parse_arg(arg, *ty).ok_or_else(|| format!("argument {arg:?} is not a valid {ty}"))
        })
        .collect()
}

fn host_import_matches(name: &str, ty: &kiln::ExternType) -> bool {
    let kiln::ExternType::Func(f) = ty else {
        return false;
    };
    let (params, results): (&[ValType], &[ValType]) = match name {
        "input_len" => (&[], &[ValType::I32]),
        "input_read" => (&[ValType::I32; 3], &[ValType::I32]),
        "output_write" => (&[ValType::I32; 2], &[]),
        _ => return false,
    };
    *f.params == *params && *f.results == *results
}

fn memory_of(caller: &Caller<'_, JobData>) -> Result<kiln::Memory, kiln::Trap> {
    caller
        .get_export("memory")
        .and_then(kiln::Extern::into_memory)
        .ok_or_else(|| kiln::Trap::host("the guest exports no memory named \"memory\""))
}

fn define_host_api(linker: &mut Linker<JobData>) -> Result<(), kiln::Error> {
    linker.func_wrap(HOST_MODULE, "input_len", |caller: Caller<'_, JobData>| {
        caller.data().input.len() as i32
    })?;
    linker.func_wrap(
        HOST_MODULE,
        "input_read",
        |mut caller: Caller<'_, JobData>,
         ptr: i32,
         offset: i32,
         len: i32|
         -> Result<i32, kiln::Trap> {
            let memory = memory_of(&caller)?;
            let (ptr, offset, len) = (
                ptr as u32 as usize,
                offset as u32 as usize,
                len as u32 as usize,
            );
            let input = &caller.data().input;
            let start = offset.min(input.len());
            let end = start.saturating_add(len).min(input.len());
            let chunk = input[start..end].to_vec();
            let dest = memory
                .data_mut(&mut caller)
                .get_mut(ptr..ptr.saturating_add(chunk.len()))
                .ok_or_else(|| kiln::Trap::host("input_read: out of bounds"))?;
            dest.copy_from_slice(&chunk);
            Ok(chunk.len() as i32)
        },
    )?;
    linker.func_wrap(
        HOST_MODULE,
        "output_write",
        |mut caller: Caller<'_, JobData>, ptr: i32, len: i32| -> Result<(), kiln::Trap> {
            let memory = memory_of(&caller)?;
            let (ptr, len) = (ptr as u32 as usize, len as u32 as usize);
            let data = caller.data();
            if data.output.len().saturating_add(len) > data.max_output {
                return Err(kiln::Trap::host("output_write: output limit exceeded"));
            }
            let bytes = memory
                .data(&caller)
                .get(ptr..ptr.saturating_add(len))
                .ok_or_else(|| kiln::Trap::host("output_write: out of bounds"))?
                .to_vec();
            caller.data_mut().output.extend_from_slice(&bytes);
            Ok(())
        },
    )?;
    Ok(())
}

fn zero(ty: ValType) -> Val {
    match ty {
        ValType::I32 => Val::I32(0),
        ValType::I64 => Val::I64(0),
        ValType::F32 => Val::F32(0),
        ValType::F64 => Val::F64(0),
        ValType::V128 => Val::V128(0),
        ValType::Ref(r) => Val::null(r),
    }
}

/// Parses an argument of type `ty`; `None` if it is not one, or the type
/// cannot be given on a command line (references). A `v128` is written as
/// [`format_val`] writes it (`v128:0x` and 32 hex digits) or as `0x` and
/// hex digits.
pub fn parse_arg(s: &str, ty: ValType) -> Option<Val> {
    let s = s.trim();
    match ty {
        ValType::I32 => s
            .parse::<i32>()
            .ok()
            .or_else(|| s.parse::<u32>().ok().map(|u| u as i32))
            .map(Val::I32),
        ValType::I64 => s
            .parse::<i64>()
            .ok()
            .or_else(|| s.parse::<u64>().ok().map(|u| u as i64))
            .map(Val::I64),
        ValType::F32 => s.parse::<f32>().ok().map(|f| Val::F32(f.to_bits())),
        ValType::F64 => s.parse::<f64>().ok().map(|f| Val::F64(f.to_bits())),
        ValType::V128 => {
            let hex = s.strip_prefix("v128:").unwrap_or(s).strip_prefix("0x")?;
            u128::from_str_radix(hex, 16).ok().map(Val::V128)
        }
        _ => None,
    }
}

/// A result value as text that identifies it exactly: integers in signed
/// decimal, floats in shortest round-trip form (NaNs with their bits),
/// references by kind.
pub fn format_val(v: &Val) -> String {
    match *v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(bits) => {
            let f = f32::from_bits(bits);
            if f.is_nan() {
                format!("nan:0x{bits:08x}")
            } else {
                format!("{f:?}")
            }
        }
        Val::F64(bits) => {
            let f = f64::from_bits(bits);
            if f.is_nan() {
                format!("nan:0x{bits:016x}")
            } else {
                format!("{f:?}")
            }
        }
        Val::V128(bits) => format!("v128:0x{bits:032x}"),
        Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None) => {
            "null".into()
        }
        // An `i31` is a value; an object's index is this node's own.
        Val::AnyRef(Some(g)) => match g.decode() {
            kiln::AnyRef::I31(v) => format!("i31:{v}"),
            _ => "anyref".into(),
        },
        Val::ExnRef(Some(_)) => "exnref".into(),
        Val::FuncRef(Some(_)) => "funcref".into(),
        Val::ExternRef(Some(_)) => "externref".into(),
    }
}
