//! The engine Kiln is compared with: wasmi, or for the modules wasmi cannot
//! run, wasmtime (see the parent module's docs), behind one interface.

#[cfg(feature = "wasmtime-oracle")]
use super::wasmtime_side;
use super::{
    Exports, Snapshot, Step, TrapKind, Value, simd_use, uses_exceptions, uses_function_references,
    wasmi_side,
};

/// Which engine besides Kiln a module is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Consult {
    /// wasmi: every module of what wasmi runs.
    Wasmi,
    /// wasmtime: a module with exception handling or typed function
    /// references, when the `wasmtime-oracle` feature is on.
    Wasmtime,
    /// None: relaxed SIMD, or exception handling or typed function
    /// references without the feature.
    Nobody,
}

/// Whom to consult on `wasm` (see the module docs).
pub(super) fn consult(wasm: &[u8]) -> Consult {
    if !simd_use(wasm).wasmi_consulted() {
        Consult::Nobody
    } else if !uses_exceptions(wasm) && !uses_function_references(wasm) {
        Consult::Wasmi
    } else if cfg!(feature = "wasmtime-oracle") {
        Consult::Wasmtime
    } else {
        Consult::Nobody
    }
}

/// The engine Kiln is compared with.
pub(super) enum Oracle {
    /// Boxed: wasmi's store is large beside wasmtime's handle.
    Wasmi(Box<wasmi_side::WasmiSide>),
    #[cfg(feature = "wasmtime-oracle")]
    Wasmtime(wasmtime_side::WasmtimeSide),
}

/// A module compiled on the engine Kiln is compared with.
pub(super) enum OracleModule {
    Wasmi(wasmi::Module),
    #[cfg(feature = "wasmtime-oracle")]
    Wasmtime(wasmtime::Module),
}

impl OracleModule {
    pub(super) fn compile(wasm: &[u8], consult: Consult) -> Result<OracleModule, Step> {
        match consult {
            #[cfg(feature = "wasmtime-oracle")]
            Consult::Wasmtime => wasmtime_side::WasmtimeSide::compile(wasm).map(Self::Wasmtime),
            _ => wasmi_side::WasmiSide::compile(wasm).map(Self::Wasmi),
        }
    }

    pub(super) fn instantiate(&self) -> Result<Oracle, Step> {
        match self {
            Self::Wasmi(module) => {
                wasmi_side::WasmiSide::instantiate(module).map(|w| Oracle::Wasmi(Box::new(w)))
            }
            #[cfg(feature = "wasmtime-oracle")]
            Self::Wasmtime(module) => {
                wasmtime_side::WasmtimeSide::instantiate(module).map(Oracle::Wasmtime)
            }
        }
    }
}

impl Oracle {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Oracle::Wasmi(_) => "wasmi",
            #[cfg(feature = "wasmtime-oracle")]
            Oracle::Wasmtime(_) => "wasmtime",
        }
    }

    pub(super) fn call(&mut self, name: &str, args: &[Value]) -> Step {
        match self {
            Oracle::Wasmi(w) => w.call(name, args),
            #[cfg(feature = "wasmtime-oracle")]
            Oracle::Wasmtime(w) => w.call(name, args),
        }
    }

    pub(super) fn snapshot(&mut self, exports: &Exports) -> Snapshot {
        match self {
            Oracle::Wasmi(w) => w.snapshot(exports),
            #[cfg(feature = "wasmtime-oracle")]
            Oracle::Wasmtime(w) => w.snapshot(exports),
        }
    }

    /// Whether a step cannot be compared with this oracle: out of fuel
    /// (the fuel models differ), or, on wasmtime, whose only depth limit is
    /// its native stack, out of call depth.
    pub(super) fn inconclusive(&self, step: &Step) -> bool {
        step.out_of_fuel()
            || (self.name() == "wasmtime"
                && matches!(step, Step::Trapped(TrapKind::CallStackExhausted)))
    }
}
