//! What the host processor must offer before the JIT compiles SIMD code.
//!
//! `cranelift-native` detects the host's features and enables the matching
//! Cranelift settings (`has_ssse3`, `has_sse41`, ...); Cranelift then emits only
//! instructions those settings allow. Its x86-64 backend (0.135.8) needs nothing
//! beyond SSE2 for scalar code, and for vector code it has SSE2 fallbacks for
//! everything newer (SSE4.1's `round*`, `pinsr*`/`pextr*`, `pmovsx*`, `ptest`,
//! `blendv*`, `pmulld`, `pmin*`/`pmax*`; SSE4.2's `pcmpgtq`; AVX forms), with
//! one exception: without SSSE3's `pshufb` (`i8x16.shuffle`, `i8x16.swizzle`,
//! `i8x16.popcnt`, `i8x16.splat`, ...) it calls the `X86Pshufb` libcall, which
//! Kiln does not provide. (The vector roundings without SSE4.1 call the scalar
//! rounding libcalls once per lane, which Kiln does provide, in `libcalls.rs`.)
//!
//! Measured, not only read: the whole `simd` and `relaxed-simd` spec suites
//! pass with Cranelift limited to SSE2 + SSE3 + SSSE3, and with SSE2 alone every
//! module fails only for want of `X86Pshufb`. So a module that uses `v128`
//! needs SSSE3, and on a host without it [`CompiledModule::new`] refuses the
//! module with [`CompileError::Unsupported`] before compiling anything, instead
//! of the linker's "code needing the libcall X86Pshufb". Modules without `v128`
//! are not affected.
//!
//! [`CompiledModule::new`]: crate::CompiledModule::new

use cranelift_codegen::isa::TargetIsa;
use kiln_parser::{ImportKind, Module, ValType};
use kiln_runtime::TierName;
use kiln_validator::ModuleInfo;

use crate::CompileError;

/// The Cranelift x86-64 settings SIMD code needs, each with the processor
/// feature it stands for.
const X86_SIMD_SETTINGS: [(&str, &str); 1] = [("has_ssse3", "SSSE3")];

/// Decides whether code using `v128` can be compiled for an ISA whose enabled
/// boolean settings are `enabled` (Cranelift setting names, as
/// `TargetIsa::isa_flags` lists them).
///
/// # Errors
///
/// [`CompileError::Unsupported`] naming the missing processor features.
pub(crate) fn check_simd_settings(x86_64: bool, enabled: &[&str]) -> Result<(), CompileError> {
    if !x86_64 {
        return Ok(());
    }
    let missing: Vec<&str> = X86_SIMD_SETTINGS
        .iter()
        .filter(|(setting, _)| !enabled.contains(setting))
        .map(|&(_, feature)| feature)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CompileError::unsupported(
            TierName::Jit,
            format!(
                "SIMD on this processor (it lacks {}, which Cranelift's x86-64 SIMD code needs)",
                missing.join(" and ")
            ),
        ))
    }
}

/// [`check_simd_settings`] for the ISA the module is compiled for.
///
/// # Errors
///
/// [`CompileError::Unsupported`] if the host lacks what SIMD code needs.
pub(crate) fn check_simd_isa(isa: &dyn TargetIsa) -> Result<(), CompileError> {
    let flags = isa.isa_flags();
    let enabled: Vec<&str> = flags
        .iter()
        .filter(|v| v.as_bool() == Some(true))
        .map(|v| v.name)
        .collect();
    let x86_64 = matches!(
        isa.triple().architecture,
        target_lexicon::Architecture::X86_64
    );
    check_simd_settings(x86_64, &enabled)
}

/// Whether the module uses `v128` anywhere: a function type, a global (defined
/// or imported), a local, or an instruction.
pub(crate) fn uses_v128(module: &Module, info: &ModuleInfo) -> bool {
    let v = |t: &ValType| *t == ValType::V128;
    info.uses_v128_instrs
        || module.const_exprs_use_v128
        || module
            .types
            .iter()
            .filter_map(kiln_parser::CompositeType::as_func)
            .any(|t| t.params.iter().any(v) || t.results.iter().any(v))
        || module.globals.iter().any(|g| v(&g.ty.content))
        || module
            .imports
            .iter()
            .any(|i| matches!(i.kind, ImportKind::Global(g) if v(&g.content)))
        || module
            .code
            .iter()
            .any(|body| body.locals.iter().any(|(_, t)| v(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_needs_ssse3_on_x86_64() {
        let all = ["has_sse3", "has_ssse3", "has_sse41", "has_sse42", "has_avx"];
        assert_eq!(check_simd_settings(true, &all), Ok(()));
        assert_eq!(
            check_simd_settings(true, &["has_sse3", "has_ssse3"]),
            Ok(())
        );

        for without in [&["has_sse3", "has_sse41", "has_sse42", "has_avx"][..], &[]] {
            let Err(CompileError::Unsupported { tier, what }) = check_simd_settings(true, without)
            else {
                panic!("SSSE3 is required ({without:?})");
            };
            assert_eq!(tier, TierName::Jit);
            assert!(
                what.contains("SIMD") && what.contains("lacks SSSE3"),
                "{what}"
            );
        }
    }

    #[test]
    fn other_architectures_are_not_checked_here() {
        assert_eq!(check_simd_settings(false, &[]), Ok(()));
    }

    #[test]
    fn this_host_is_judged_by_its_own_settings() {
        let isa = cranelift_native::builder()
            .and_then(|b| {
                b.finish(cranelift_codegen::settings::Flags::new(
                    cranelift_codegen::settings::builder(),
                ))
                .map_err(|_| "no ISA")
            })
            .expect("host ISA");
        let enabled = |name: &str| {
            isa.isa_flags()
                .iter()
                .any(|v| v.name == name && v.as_bool() == Some(true))
        };
        let expected =
            !cfg!(target_arch = "x86_64") || (enabled("has_ssse3") && enabled("has_sse41"));
        assert_eq!(check_simd_isa(&*isa).is_ok(), expected);
    }
}
