//! SIMD: neither tier executes it yet, and both refuse a module that uses it
//! when it is compiled, saying why.

use kiln::{Error, Module};

use crate::Tier;
use kiln_runtime::{CompileError, TierName};

use crate::raw;

tier_tests!(
    simd_modules_are_refused,
    simd_modules_are_refused_with_a_reason,
    simd_inside_a_body_only_is_refused_too,
);

/// Modules with a SIMD instruction, or a `v128` type, local, parameter or
/// global, are refused when compiled, with the tier's own error for SIMD;
/// others are not.
fn simd_modules_are_refused(tier: Tier) {
    let compile = |wat: &str| raw::compile(wat, tier, raw::Options::default()).map(drop);
    for wat in [
        "(module (func (drop (v128.const i64x2 1 2))))",
        "(module (func (param i32) (drop (i32x4.splat (local.get 0)))))",
        "(module (func (drop (i32x4.splat (i32.const 1)))))",
        "(module (memory 1) (func (drop (v128.load (i32.const 0)))))",
        "(module (func (local v128)))",
        "(module (func (param v128)))",
        "(module (global v128 (v128.const i64x2 0 0)))",
    ] {
        let err = compile(wat)
            .err()
            .unwrap_or_else(|| panic!("{wat} should be refused"));
        let CompileError::Unsupported {
            tier: refused_by, ..
        } = &err
        else {
            panic!("{wat}: {err:?}");
        };
        assert_eq!(
            *refused_by,
            match tier {
                Tier::Interp => TierName::Interpreter,
                Tier::Jit => TierName::Jit,
            },
            "{wat}"
        );
        // The message names what is missing.
        let message = err.to_string();
        assert!(message.contains("SIMD"), "{wat}: {message}");
        assert!(message.contains("does not support"), "{wat}: {message}");
    }
    assert_eq!(
        compile("(module (func (result i32) (i32.const 1)))"),
        Ok(())
    );
}

fn simd_modules_are_refused_with_a_reason(tier: Tier) {
    let engine = tier.engine(|_| {});
    let err = Module::new(
        &engine,
        r#"(module (func (result v128) v128.const i64x2 0 0))"#,
    )
    .expect_err("no SIMD execution yet");
    assert!(matches!(err, Error::Unsupported(_)), "{err}");
}

fn simd_inside_a_body_only_is_refused_too(tier: Tier) {
    // No v128 type anywhere but in the body's operators, which are decoded
    // during validation.
    let engine = tier.engine(|_| {});
    let err = Module::new(&engine, r#"(module (func i32.const 0 i8x16.splat drop))"#)
        .expect_err("no SIMD execution yet");
    assert!(matches!(err, Error::Unsupported(_)), "{err}");
}
