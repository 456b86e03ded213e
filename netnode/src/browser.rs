//! Jobs for browser peers.
//!
//! A browser tab that joins through the node's web listener (`web.rs`) is a
//! peer with its own libp2p key, but it runs jobs on the browser's own
//! WebAssembly engine, which has no fuel, does not canonicalise NaNs and has
//! its own stack limit. The node that asks it:
//! 1. rewrites the module with `kiln::instrument` for its executor's limits
//!    (fuel counted in a global, NaNs canonicalised, the call depth bounded,
//!    memories and tables capped, the start function deferred), so that the
//!    browser computes what Kiln's executor computes, to the unit of fuel;
//! 2. sends the rewritten module with the job and its arguments in exact form
//!    ([`BrowserJob`], as a [`WireRequest::Run`](crate::wire::WireRequest));
//! 3. takes back a [`JobResult`] whose values are in exact form and writes
//!    them as native peers do ([`normalize`]): a browser cannot print an
//!    `f32` the way Rust does, but it can give its bits.
//!
//! The page (`web/page.js`, `web/worker.js`) is the other half of this
//! contract: it reads the counters the rewriting exports and names traps
//! with Kiln's messages. A job a browser cannot call as Kiln would (an export
//! taking or returning `v128` or references, which JavaScript cannot pass,
//! or a job Kiln itself would refuse before running it) is not sent; the
//! replica's report says why.

use kiln::instrument::{InstrumentConfig, instrument};
use kiln::{Val, ValType};

use crate::exec::{Executor, Job, JobResult, Outcome, format_val, typed_args};
use crate::store::ModuleId;
use crate::wire::BrowserJob;

/// The job `job` on the module `bytes` (whose id the caller has verified),
/// ready for a browser peer.
///
/// # Errors
///
/// Why it cannot be sent to a browser.
pub fn browser_job(executor: &Executor, job: &Job, bytes: &[u8]) -> Result<BrowserJob, String> {
    let limits = executor.limits();
    if job.fuel > limits.max_fuel || job.input.len() > limits.max_input_bytes {
        return Err("the job is over this node's limits".into());
    }
    let id: ModuleId = job.module.parse().map_err(|_| "bad module id")?;
    let ty = executor.export_type(&id, bytes, &job.export)?;
    if let Some(t) = ty
        .params
        .iter()
        .chain(ty.results.iter())
        .find(|t| !matches!(t, ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64))
    {
        return Err(format!(
            "{} has a {t} in its signature, which a browser cannot pass",
            job.export
        ));
    }
    // Every parameter is a number (checked above), which has an exact form.
    let args = typed_args(job, &ty)?
        .iter()
        .map(|v| exact(v).ok_or_else(|| format!("{v:?} has no exact form")))
        .collect::<Result<Vec<_>, _>>()?;
    let config = InstrumentConfig {
        fuel: true,
        initial_fuel: job.fuel,
        canonicalize_nans: true,
        max_call_depth: Some(limits.max_call_depth),
        defer_start: true,
        max_memory_bytes: Some(limits.max_memory_bytes),
        max_table_elements: Some(limits.max_table_elements),
    };
    let module = instrument(bytes, &config).map_err(|e| format!("cannot instrument: {e}"))?;
    Ok(BrowserJob {
        job: job.clone(),
        module,
        args,
        results: ty.results.iter().map(|t| number_type(*t).into()).collect(),
        max_output_bytes: limits.max_output_bytes as u64,
    })
}

/// A number type's name in the text format.
fn number_type(ty: ValType) -> &'static str {
    match ty {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
        ValType::F32 => "f32",
        _ => "f64",
    }
}

/// A number in exact form: its type and, for floats, its bits.
fn exact(v: &Val) -> Option<String> {
    match *v {
        Val::I32(x) => Some(format!("i32:{x}")),
        Val::I64(x) => Some(format!("i64:{x}")),
        Val::F32(bits) => Some(format!("f32:0x{bits:08x}")),
        Val::F64(bits) => Some(format!("f64:0x{bits:016x}")),
        _ => None,
    }
}

/// The value `s` in exact form, written as [`format_val`] writes it; `None`
/// if `s` is not in exact form.
fn from_exact(s: &str) -> Option<String> {
    let (ty, value) = s.split_once(':')?;
    let val = match ty {
        "i32" => Val::I32(value.parse().ok()?),
        "i64" => Val::I64(value.parse().ok()?),
        "f32" => Val::F32(u32::from_str_radix(value.strip_prefix("0x")?, 16).ok()?),
        "f64" => Val::F64(u64::from_str_radix(value.strip_prefix("0x")?, 16).ok()?),
        _ => return None,
    };
    Some(format_val(&val))
}

/// A browser peer's result with its values written as native peers write
/// them. A value not in exact form is kept as it is (and so disagrees).
pub fn normalize(result: &mut JobResult) {
    if let Outcome::Values(values) = &mut result.outcome {
        for v in values.iter_mut() {
            if let Some(native) = from_exact(v) {
                *v = native;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_values_read_back_as_native_peers_write_them() {
        for v in [
            Val::I32(-7),
            Val::I64(i64::MIN),
            Val::F32(1.5f32.to_bits()),
            Val::F32(0x7fc0_0001),
            Val::F64((-0.0f64).to_bits()),
            Val::F64(f64::INFINITY.to_bits()),
        ] {
            let text = exact(&v).expect("a number");
            assert_eq!(from_exact(&text), Some(format_val(&v)), "{text}");
        }
        assert_eq!(from_exact("f32:1.5"), None);
        assert_eq!(from_exact("7"), None);
        let mut r = JobResult {
            outcome: Outcome::Values(vec!["f64:0x3ff8000000000000".into(), "9".into()]),
            fuel_used: 1,
            output_sha256: String::new(),
            output_len: 0,
        };
        normalize(&mut r);
        assert_eq!(r.outcome, Outcome::Values(vec!["1.5".into(), "9".into()]));
    }
}
