//! What the host processor must offer before the JIT compiles SIMD code.
//!
//! `cranelift-native` detects the host's features and enables the matching
//! Cranelift settings (`has_ssse3`, `has_sse41`, ...); Cranelift then emits only
//! instructions those settings allow. Its x86-64 backend (0.135.8) needs nothing
//! beyond SSE2 for scalar code, but lowers the vector instructions Kiln uses
//! inline only with:
//! - **SSSE3**: `pshufb` (`i8x16.shuffle`, `i8x16.swizzle`, `i8x16.popcnt`,
//!   `i8x16.splat`), `pabs*`, `pmulhrsw`, `pmaddubsw`;
//! - **SSE4.1**: `roundps`/`roundpd` (vector `ceil`, `floor`, `trunc`,
//!   `nearest`), `pinsr*`/`pextr*` (lane access), `pmovsx*`/`pmovzx*`
//!   (widening), `ptest` (`any_true`/`all_true`), `blendv*`, `pmulld`,
//!   `pmin*`/`pmax*` on 32-bit lanes, `packusdw`, `pcmpeqq`.
//!
//! Without them the backend falls back to longer SSE2 sequences and, for
//! `pshufb` and the vector roundings, to libcalls (`X86Pshufb`, per-lane
//! `CeilF32`, ...), some of which Kiln does not provide and none of which are
//! exercised as much as the inline forms. So a module that uses `v128` needs
//! both features, and on a host without them [`CompiledModule::new`] refuses it
//! with [`CompileError::Unsupported`] before compiling anything (never emitting
//! an instruction the processor would fault on). Modules without `v128` are not
//! affected.
//!
//! [`CompiledModule::new`]: crate::CompiledModule::new

use cranelift_codegen::isa::TargetIsa;
use kiln_parser::{ImportKind, Module, ValType};
use kiln_runtime::TierName;
use kiln_validator::ModuleInfo;

use crate::CompileError;

/// The Cranelift x86-64 settings SIMD code needs, each with the processor
/// feature it stands for.
const X86_SIMD_SETTINGS: [(&str, &str); 2] = [("has_ssse3", "SSSE3"), ("has_sse41", "SSE4.1")];

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
    fn simd_needs_ssse3_and_sse41_on_x86_64() {
        let all = ["has_sse3", "has_ssse3", "has_sse41", "has_sse42", "has_avx"];
        assert_eq!(check_simd_settings(true, &all), Ok(()));
        assert_eq!(
            check_simd_settings(true, &["has_ssse3", "has_sse41"]),
            Ok(())
        );

        let Err(CompileError::Unsupported { tier, what }) =
            check_simd_settings(true, &["has_sse3", "has_ssse3"])
        else {
            panic!("SSE4.1 is required");
        };
        assert_eq!(tier, TierName::Jit);
        assert!(what.contains("SSE4.1") && !what.contains("SSSE3"), "{what}");

        let Err(CompileError::Unsupported { what, .. }) = check_simd_settings(true, &["has_sse3"])
        else {
            panic!("SSSE3 and SSE4.1 are required");
        };
        assert!(what.contains("SSSE3 and SSE4.1"), "{what}");
        assert!(check_simd_settings(true, &[]).is_err());
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
