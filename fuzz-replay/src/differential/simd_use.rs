//! Which of the SIMD proposals a module uses, which decides the engines it is
//! compared on: a module with relaxed SIMD operators runs on Kiln's two tiers
//! only.
//!
//! The relaxed operators' results are implementation-defined: wasmi computes
//! them its own way, Kiln's tiers both by the proposal's deterministic profile.
//! So Kiln's interpreter and JIT must agree exactly on such a module, as on
//! every other, and wasmi is not consulted. Any other module, SIMD or not, is
//! compared three ways.
//!
//! The use is read off `wasmparser`'s validator rather than a list of
//! operators: a module uses a proposal if it is valid with it and invalid
//! without it. That counts `v128` in a signature, a local or a global as SIMD
//! too, and stays right as `wasmparser` files operators under proposals.

use wasmparser::{Validator, WasmFeatures};

/// How much of SIMD a module uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SimdUse {
    /// No `v128` anywhere (or the module is invalid).
    None,
    /// The SIMD proposal, no relaxed operator: compared three ways.
    Simd,
    /// Relaxed SIMD operators: compared on Kiln's tiers only.
    Relaxed,
}

impl SimdUse {
    /// Whether wasmi, the oracle, is consulted on a module with this use.
    pub fn wasmi_consulted(self) -> bool {
        self != SimdUse::Relaxed
    }
}

/// Whether `wasm` uses exception handling (tags, `throw`, `try_table`,
/// `exnref`): read off `wasmparser`'s validator like [`simd_use`]. wasmi has
/// no exception handling, so such a module is compared on Kiln's tiers only.
pub fn uses_exceptions(wasm: &[u8]) -> bool {
    let valid_with = |features| valid_with(wasm, features);
    let all = WasmFeatures::all();
    valid_with(all) && !valid_with(all.difference(WasmFeatures::EXCEPTIONS))
}

/// Whether `wasm` uses typed function references or what comes with them in
/// Kiln (`(ref null? $t)`, `call_ref`, `br_on_null`, ..., recursion groups and
/// declared subtypes, which `wasmparser` files under GC): read off
/// `wasmparser`'s validator like [`simd_use`]. wasmi has none of them, so
/// such a module is compared on Kiln's tiers only, or with wasmtime.
pub fn uses_function_references(wasm: &[u8]) -> bool {
    let valid_with = |features| valid_with(wasm, features);
    let all = WasmFeatures::all();
    let without = all.difference(WasmFeatures::GC | WasmFeatures::FUNCTION_REFERENCES);
    valid_with(all) && !valid_with(without)
}

/// How much of SIMD `wasm` uses (see the module docs).
pub fn simd_use(wasm: &[u8]) -> SimdUse {
    let valid_with = |features| valid_with(wasm, features);
    let all = WasmFeatures::all();
    let without_relaxed = all.difference(WasmFeatures::RELAXED_SIMD);
    let without_simd = without_relaxed.difference(WasmFeatures::SIMD);
    if !valid_with(all) || valid_with(without_simd) {
        SimdUse::None
    } else if valid_with(without_relaxed) {
        SimdUse::Simd
    } else {
        SimdUse::Relaxed
    }
}

/// Whether `wasm` is valid with `features`.
fn valid_with(wasm: &[u8], features: WasmFeatures) -> bool {
    Validator::new_with_features(features)
        .validate_all(wasm)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::{SimdUse, simd_use, uses_exceptions, uses_function_references};

    fn use_of(wat: &str) -> SimdUse {
        simd_use(&wat::parse_str(wat).expect("the module is well-formed text"))
    }

    #[test]
    fn modules_are_told_apart() {
        assert_eq!(
            use_of("(module (func (result i32) i32.const 1))"),
            SimdUse::None
        );
        assert_eq!(use_of("(module (func (local v128)))"), SimdUse::Simd);
        assert_eq!(
            use_of("(module (func (result v128) v128.const i64x2 1 2 f32x4.abs))"),
            SimdUse::Simd
        );
        assert_eq!(
            use_of(
                "(module (func (param v128) (result v128)
                   local.get 0 local.get 0 local.get 0 f32x4.relaxed_madd))"
            ),
            SimdUse::Relaxed
        );
        // Invalid: no engine runs it, none is left out.
        assert_eq!(use_of("(module (func (result i32)))"), SimdUse::None);
    }

    #[test]
    fn proposals_are_told_apart() {
        let module = |wat: &str| wat::parse_str(wat).expect("the module is well-formed text");
        let plain = module("(module (func (param funcref) (result i32) i32.const 1))");
        let typed = module(
            "(module (type $t (func)) (func (param (ref null $t)) local.get 0 call_ref $t))",
        );
        let rec = module("(module (rec (type (func)) (type (func))))");
        let exn = module("(module (tag) (func throw 0))");
        assert!(!uses_function_references(&plain) && !uses_exceptions(&plain));
        assert!(uses_function_references(&typed) && !uses_exceptions(&typed));
        assert!(uses_function_references(&rec));
        assert!(uses_exceptions(&exn) && !uses_function_references(&exn));
    }
}
