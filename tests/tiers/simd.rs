//! SIMD: the JIT executes it; the interpreter does not yet and refuses a module
//! that uses it when it is compiled, saying why.
//!
//! The JIT's cases (`jit_only`) pin what the spec suite checks only loosely or
//! not at all: NaN canonicalisation of vector lanes, the deterministic results
//! of relaxed SIMD, `v128` values crossing calls, host functions and globals,
//! and the bounds of vector accesses with and without guard regions. They move
//! to `tier_tests!` once the interpreter executes SIMD.

use kiln::{Error, FuncType, Linker, Module, Store, Trap, TrapCode, Val, ValType};

use crate::{Program, Tier};
use kiln_runtime::{CompileError, TierName};

use crate::raw;

tier_tests!(
    simd_modules_are_compiled_or_refused,
    simd_modules_are_refused_with_a_reason,
    simd_inside_a_body_only_is_refused_too,
);

/// Runs each listed case on the JIT only (see the module docs).
macro_rules! jit_only {
    ($($case:ident),* $(,)?) => {
        mod jit_only {
            $(
                #[test]
                fn $case() {
                    super::$case($crate::Tier::Jit)
                }
            )*
        }
    };
}

jit_only!(
    vector_nans_are_canonicalised_where_scalar_ones_are,
    relaxed_simd_gives_the_deterministic_results,
    v128_values_cross_calls_hosts_globals_and_joins,
    vector_accesses_are_bounds_checked_like_scalar_ones,
);

/// Whether `tier` executes SIMD.
fn runs_simd(tier: Tier) -> bool {
    tier == Tier::Jit
}

/// Modules with a SIMD instruction, or a `v128` type, local, parameter or
/// global: the JIT compiles them; the interpreter refuses them when compiled,
/// with its own error for SIMD. Others compile on both.
fn simd_modules_are_compiled_or_refused(tier: Tier) {
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
        if runs_simd(tier) {
            assert_eq!(compile(wat), Ok(()), "{wat}");
            continue;
        }
        let err = compile(wat)
            .err()
            .unwrap_or_else(|| panic!("{wat} should be refused"));
        let CompileError::Unsupported {
            tier: refused_by, ..
        } = &err
        else {
            panic!("{wat}: {err:?}");
        };
        assert_eq!(*refused_by, TierName::Interpreter, "{wat}");
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
    let result = Module::new(
        &engine,
        r#"(module (func (result v128) v128.const i64x2 0 0))"#,
    );
    if runs_simd(tier) {
        assert!(result.is_ok());
        return;
    }
    let err = result.expect_err("no SIMD execution yet");
    assert!(matches!(err, Error::Unsupported(_)), "{err}");
}

fn simd_inside_a_body_only_is_refused_too(tier: Tier) {
    // No v128 type anywhere but in the body's operators, which are decoded
    // during validation.
    let engine = tier.engine(|_| {});
    let result = Module::new(&engine, r#"(module (func i32.const 0 i8x16.splat drop))"#);
    if runs_simd(tier) {
        assert!(result.is_ok());
        return;
    }
    let err = result.expect_err("no SIMD execution yet");
    assert!(matches!(err, Error::Unsupported(_)), "{err}");
}

/// `n` lanes of `bits`, each `width` bits wide, lane 0 lowest.
fn splat(bits: u128, width: u32) -> u128 {
    (0..128 / width).fold(0, |v, i| v | (bits << (i * width)))
}

fn v128(r: Result<Vec<Val>, Trap>) -> u128 {
    match r.as_deref() {
        Ok([Val::V128(bits)]) => *bits,
        other => panic!("expected one v128, got {other:?}"),
    }
}

/// With canonicalisation on, every NaN lane of vector float arithmetic is the
/// canonical NaN the scalar path uses (positive, quiet, no payload); sign
/// operations and `pmin`/`pmax`, which only pick or flip bits, keep the payload.
fn vector_nans_are_canonicalised_where_scalar_ones_are(tier: Tier) {
    let wat = r#"(module
      (func (export "f32x4.div") (param v128 v128) (result v128) (f32x4.div (local.get 0) (local.get 1)))
      (func (export "f64x2.sqrt") (param v128) (result v128) (f64x2.sqrt (local.get 0)))
      (func (export "f32x4.ceil") (param v128) (result v128) (f32x4.ceil (local.get 0)))
      (func (export "f32x4.min") (param v128 v128) (result v128) (f32x4.min (local.get 0) (local.get 1)))
      (func (export "f32x4.demote") (param v128) (result v128) (f32x4.demote_f64x2_zero (local.get 0)))
      (func (export "f64x2.promote") (param v128) (result v128) (f64x2.promote_low_f32x4 (local.get 0)))
      (func (export "madd") (param v128 v128 v128) (result v128)
        (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))
      (func (export "f32x4.neg") (param v128) (result v128) (f32x4.neg (local.get 0)))
      (func (export "f32x4.pmin") (param v128 v128) (result v128) (f32x4.pmin (local.get 0) (local.get 1))))"#;
    let mut p = Program::with(tier, wat, |c| {
        c.nan_canonicalization(true);
    });
    let canon32 = splat(0x7fc0_0000, 32);
    let canon64 = splat(0x7ff8_0000_0000_0000, 64);
    let payload32 = splat(0xffc0_0001, 32);
    let payload64 = splat(0xfff0_0000_0000_0001, 64);
    let zero = Val::V128(0);
    let call = |p: &mut Program, name: &str, args: &[Val]| v128(p.call(name, args));
    assert_eq!(call(&mut p, "f32x4.div", &[zero, zero]), canon32);
    let minus_one = splat((-1.0f64).to_bits().into(), 64);
    assert_eq!(call(&mut p, "f64x2.sqrt", &[Val::V128(minus_one)]), canon64);
    assert_eq!(call(&mut p, "f32x4.ceil", &[Val::V128(payload32)]), canon32);
    assert_eq!(
        call(&mut p, "f32x4.min", &[Val::V128(payload32), zero]),
        canon32
    );
    assert_eq!(
        call(&mut p, "f32x4.demote", &[Val::V128(payload64)]),
        splat(0x7fc0_0000, 32) & u128::from(u64::MAX)
    );
    assert_eq!(
        call(&mut p, "f64x2.promote", &[Val::V128(payload32)]),
        canon64
    );
    assert_eq!(
        call(&mut p, "madd", &[Val::V128(payload32), zero, zero]),
        canon32
    );
    // Lanes that are not NaN are untouched.
    let one_two = Val::V128(0x4000_0000_3f80_0000);
    assert_eq!(
        call(&mut p, "f32x4.div", &[one_two, one_two]),
        0x3f80_0000_3f80_0000 | (canon32 & !u128::from(u64::MAX))
    );
    assert_eq!(
        call(&mut p, "f32x4.neg", &[Val::V128(payload32)]),
        splat(0x7fc0_0001, 32)
    );
    assert_eq!(
        call(&mut p, "f32x4.pmin", &[Val::V128(payload32), zero]),
        payload32
    );
}

/// Relaxed SIMD gives the spec's first alternative, on every host.
fn relaxed_simd_gives_the_deterministic_results(tier: Tier) {
    let wat = r#"(module
      (func (export "madd") (param v128 v128 v128) (result v128)
        (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))
      (func (export "nmadd") (param v128 v128 v128) (result v128)
        (f64x2.relaxed_nmadd (local.get 0) (local.get 1) (local.get 2)))
      (func (export "dot") (param v128 v128) (result v128)
        (i16x8.relaxed_dot_i8x16_i7x16_s (local.get 0) (local.get 1)))
      (func (export "dot_add") (param v128 v128 v128) (result v128)
        (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get 0) (local.get 1) (local.get 2)))
      (func (export "q15mulr") (param v128 v128) (result v128)
        (i16x8.relaxed_q15mulr_s (local.get 0) (local.get 1)))
      (func (export "swizzle") (param v128 v128) (result v128)
        (i8x16.relaxed_swizzle (local.get 0) (local.get 1)))
      (func (export "laneselect") (param v128 v128 v128) (result v128)
        (i32x4.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
      (func (export "trunc_u") (param v128) (result v128)
        (i32x4.relaxed_trunc_f64x2_u_zero (local.get 0)))
      (func (export "min") (param v128 v128) (result v128)
        (f32x4.relaxed_min (local.get 0) (local.get 1))))"#;
    let mut p = Program::load(tier, wat);
    let call = |p: &mut Program, name: &str, args: &[u128]| {
        let args: Vec<Val> = args.iter().map(|&a| Val::V128(a)).collect();
        v128(p.call(name, &args))
    };
    // (1 + 2^-12)^2 - (1 + 2^-11) is 2^-24 exactly (a fused multiply-add), but the
    // product rounds to 1 + 2^-11 first (a tie, to even), so madd gives 0.
    let a = splat(0x3f80_0800, 32);
    let c = splat(0xbf80_1000, 32);
    assert_eq!(call(&mut p, "madd", &[a, a, c]), 0);
    // nmadd(a, b, c) = -(a * b) + c, also with two roundings.
    let a = splat((1.0f64 + f64::EPSILON.sqrt()).to_bits().into(), 64);
    let product = (1.0f64 + f64::EPSILON.sqrt()) * (1.0f64 + f64::EPSILON.sqrt());
    let c = splat(product.to_bits().into(), 64);
    assert_eq!(call(&mut p, "nmadd", &[a, a, c]), 0);
    // Signed times signed; each pair of products added with saturation: -128 * -128
    // twice is 32768, saturated to 32767; dot_add sums the saturated pairs, plus c.
    let min8 = splat(0x80, 8);
    assert_eq!(call(&mut p, "dot", &[min8, min8]), splat(0x7fff, 16));
    assert_eq!(
        call(&mut p, "dot_add", &[min8, min8, splat(1, 32)]),
        splat(65535, 32)
    );
    let (neg2, three) = (splat(0xfe, 8), splat(3, 8));
    assert_eq!(call(&mut p, "dot", &[neg2, three]), splat(0xfff4, 16));
    // q15mulr_sat_s: only 0x8000 * 0x8000 saturates.
    let min16 = splat(0x8000, 16);
    assert_eq!(call(&mut p, "q15mulr", &[min16, min16]), splat(0x7fff, 16));
    // Indices of 16 and more select 0.
    let bytes = u128::from_le_bytes(std::array::from_fn(|i| i as u8 + 1));
    let idx = u128::from_le_bytes([15, 16, 0, 0x80, 31, 255, 1, 17, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(
        call(&mut p, "swizzle", &[bytes, idx]),
        u128::from_le_bytes([16, 0, 1, 0, 0, 0, 2, 0, 3, 4, 5, 6, 7, 8, 9, 10])
    );
    // Bitwise selection, whatever the mask's lanes hold.
    assert_eq!(
        call(
            &mut p,
            "laneselect",
            &[u128::MAX, 0, splat(0x8000_0001, 32)]
        ),
        splat(0x8000_0001, 32)
    );
    // trunc_sat: NaN gives 0, out-of-range values saturate; lanes 2 and 3 are 0.
    let nan_and_big = (u128::from(1e10f64.to_bits()) << 64) | u128::from(f64::NAN.to_bits());
    assert_eq!(
        call(&mut p, "trunc_u", &[nan_and_big]),
        0xffff_ffff_0000_0000
    );
    // fmin: NaN-propagating, -0 below +0.
    let minus_zero = splat(0x8000_0000, 32);
    assert_eq!(call(&mut p, "min", &[0, minus_zero]), minus_zero);
}

/// `v128` values as parameters and results of direct, indirect and host calls,
/// in globals, block parameters and `select`.
fn v128_values_cross_calls_hosts_globals_and_joins(tier: Tier) {
    let wat = r#"(module
      (import "host" "swap" (func $swap (param v128) (result v128)))
      (type $vv (func (param v128 v128) (result v128)))
      (table funcref (elem $add))
      (global $g (mut v128) (v128.const i64x2 7 8))
      (func $add (param v128 v128) (result v128) (i64x2.add (local.get 0) (local.get 1)))
      (func (export "run") (param $c i32) (param $x v128) (result v128)
        (local $y v128)
        (local.set $y (call $swap (local.get $x)))
        (global.set $g (call_indirect (type $vv) (local.get $y) (local.get $x) (i32.const 0)))
        (global.get $g)
        (block (param v128) (result v128)
          (if (param v128) (result v128) (local.get $c)
            (then (i32x4.neg))
            (else (f32x4.abs))))
        (select (local.get $x) (local.get $y) (local.get $c))
        (i64x2.add)))"#;
    let engine = tier.engine(|_| {});
    let module = Module::new(&engine, wat).expect("compiles");
    let mut linker = Linker::new(&engine);
    let ty = FuncType {
        params: [ValType::V128].into(),
        results: [ValType::V128].into(),
    };
    linker
        .func_new("host", "swap", ty, |_, args, results| {
            let Val::V128(x) = args[0] else {
                return Err(Trap::from(TrapCode::Unreachable));
            };
            results[0] = Val::V128(x.rotate_left(64));
            Ok(())
        })
        .expect("define");
    let mut store = Store::new(&engine, ());
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiate");
    let mut run = |c: i32, x: u128| {
        let r = crate::call(&mut store, &instance, "run", &[Val::I32(c), Val::V128(x)]);
        v128(r.map_err(|e| panic!("{e}")))
    };
    // x = (1, 2), y = (2, 1), g = x + y = (3, 3). With c = 0: |g| + y = (5, 4).
    // With c = 1: the i32 lanes of g negated, (0xffff_fffd, 0xffff_fffd), plus x.
    assert_eq!(run(0, (2 << 64) | 1), (4 << 64) | 5);
    assert_eq!(run(1, (2 << 64) | 1), (0xffff_ffff << 64) | 0xffff_fffe);
}

/// A vector access traps exactly when its last byte is past the memory's end,
/// with or without guard regions, on 32- and 64-bit memories.
fn vector_accesses_are_bounds_checked_like_scalar_ones(tier: Tier) {
    for guard in [true, false] {
        for index in ["i32", "i64"] {
            let wat = format!(
                r#"(module (memory {index} 1)
                  (func (export "load") (param {index}) (result v128) (v128.load (local.get 0)))
                  (func (export "splat") (param {index}) (result v128) (v128.load64_splat (local.get 0)))
                  (func (export "lane") (param {index}) (result v128)
                    (v128.load32_lane 3 (local.get 0) (v128.const i64x2 0 0)))
                  (func (export "store") (param {index}) (v128.store offset=1 (local.get 0) (v128.const i64x2 -1 -1)))
                  (func (export "store_lane") (param {index})
                    (v128.store16_lane 7 (local.get 0) (v128.const i64x2 -1 -1))))"#
            );
            let mut p = Program::with(tier, &wat, |c| {
                c.memory_guard(guard);
            });
            let addr = |a: u64| {
                if index == "i32" {
                    Val::I32(a as i32)
                } else {
                    Val::I64(a as i64)
                }
            };
            let oob = Some(TrapCode::MemoryOutOfBounds);
            let end = 65536u64;
            for (name, size) in [("load", 16), ("splat", 8), ("lane", 4), ("store", 17)] {
                let mut at = |a| p.call(name, &[addr(a)]).err().and_then(|t| t.code());
                assert_eq!(at(end - size), None, "{name} guard={guard} {index}");
                assert_eq!(at(end - size + 1), oob, "{name} guard={guard} {index}");
                assert_eq!(at(u64::from(u32::MAX)), oob, "{name} guard={guard} {index}");
            }
            assert!(p.call("store_lane", &[addr(end - 2)]).is_ok());
            assert_eq!(crate::code(p.call("store_lane", &[addr(end - 1)])), oob);
        }
    }
}
