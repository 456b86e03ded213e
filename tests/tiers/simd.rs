//! SIMD: `v128` values through every path a value takes (parameters and
//! results, locals, blocks, branches, `select`, calls and tail calls, host
//! functions, globals, memory), lane arithmetic, NaN canonicalisation of float
//! lanes and fuel. The spec suite checks each operator's results; these cases
//! check what it does not: the plumbing, the API and the deterministic mode.

use kiln::{
    Func, FuncType, Global, GlobalType, Linker, Module, Store, Trap, TrapCode, Val, ValType,
};

use crate::{Program, Tier};

tier_tests!(
    vectors_cross_the_api,
    vectors_flow_through_control_and_calls,
    vectors_survive_callees_and_stack_growth,
    host_functions_take_and_return_vectors,
    vector_globals_are_read_and_written,
    vector_memory_accesses_and_lanes,
    float_lanes_are_canonical_in_deterministic_mode,
    vector_instructions_cost_one_unit_of_fuel,
    vector_nans_are_canonicalised_where_scalar_ones_are,
    relaxed_simd_gives_the_deterministic_results,
    v128_values_cross_calls_hosts_globals_and_joins,
    vector_accesses_are_bounds_checked_like_scalar_ones,
    common_vector_ops_keep_the_native_stack_flat,
);

/// `i32x4` lanes `[a, b, c, d]` as a `v128` (lane 0 lowest).
fn i32x4(lanes: [u32; 4]) -> u128 {
    lanes
        .iter()
        .enumerate()
        .fold(0, |v, (i, l)| v | u128::from(*l) << (32 * i))
}

const ARITH: &str = r#"
(module
  (func (export "add") (param v128 v128) (result v128)
    (i32x4.add (local.get 0) (local.get 1)))
  (func (export "splat_mul") (param i32 v128) (result v128)
    (i32x4.mul (i32x4.splat (local.get 0)) (local.get 1)))
  (func (export "lane") (param v128) (result i32)
    (i32x4.extract_lane 2 (local.get 0)))
  (func (export "swap") (param v128) (result v128)
    (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 (local.get 0) (local.get 0)))
  (func (export "const") (result v128)
    (v128.const i32x4 1 2 3 4)))
"#;

/// Parameters and results of type `v128`, through `Func::call` and `TypedFunc`.
fn vectors_cross_the_api(tier: Tier) {
    let mut p = Program::load(tier, ARITH);
    let (a, b) = (i32x4([1, 2, 3, u32::MAX]), i32x4([10, 20, 30, 2]));
    assert_eq!(
        p.call("add", &[Val::V128(a), Val::V128(b)]),
        Ok(vec![Val::V128(i32x4([11, 22, 33, 1]))])
    );
    assert_eq!(
        p.call("splat_mul", &[Val::I32(3), Val::V128(b)]),
        Ok(vec![Val::V128(i32x4([30, 60, 90, 6]))])
    );
    assert_eq!(p.call("lane", &[Val::V128(b)]), Ok(vec![Val::I32(30)]));
    assert_eq!(
        p.call("swap", &[Val::V128(a)]),
        Ok(vec![Val::V128(i32x4([2, 1, u32::MAX, 3]))])
    );
    let add = p
        .instance
        .get_typed_func::<(u128, u128), u128>(&p.store, "add")
        .expect("typed");
    assert_eq!(
        add.call(&mut p.store, (a, b)).ok(),
        Some(i32x4([11, 22, 33, 1]))
    );
    let konst = p
        .instance
        .get_typed_func::<(), u128>(&p.store, "const")
        .expect("typed");
    assert_eq!(konst.call(&mut p.store, ()).ok(), Some(i32x4([1, 2, 3, 4])));
}

/// Every way a value moves between registers moves all 128 bits: blocks with
/// vector results, `br_if` and `br_table` carrying one, untyped `select`,
/// `local.tee`, loops, calls, and tail calls.
fn vectors_flow_through_control_and_calls(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"
(module
  (func $id (param v128) (result v128) (local.get 0))
  (func $twice (param v128) (result v128)
    (return_call $id (i64x2.add (local.get 0) (local.get 0))))
  (func (export "choose") (param v128 v128 i32) (result v128)
    (select (local.get 0) (local.get 1) (local.get 2)))
  (func (export "blocks") (param v128 i32) (result v128)
    (local v128)
    (block (result v128)
      (local.tee 2 (local.get 0))
      (br_if 0 (local.get 1))
      (drop)
      (block (result v128)
        (v128.const i64x2 7 8)
        (br_table 0 1 (local.get 1)))))
  (func (export "loop") (param v128 i32) (result v128)
    (local $acc v128)
    (loop $l
      (local.set $acc (i64x2.add (local.get $acc) (local.get 0)))
      (br_if $l (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
    (local.get $acc))
  (func (export "calls") (param v128) (result v128)
    (call $twice (call $id (local.get 0)))))
"#,
    );
    let x = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
    let y = 0x1111_2222_3333_4444_5555_6666_7777_8888u128;
    for (cond, expected) in [(1, x), (0, y)] {
        assert_eq!(
            p.call("choose", &[Val::V128(x), Val::V128(y), Val::I32(cond)]),
            Ok(vec![Val::V128(expected)])
        );
    }
    assert_eq!(
        p.call("blocks", &[Val::V128(x), Val::I32(1)]),
        Ok(vec![Val::V128(x)])
    );
    let seven_eight = (8u128 << 64) | 7;
    assert_eq!(
        p.call("blocks", &[Val::V128(x), Val::I32(0)]),
        Ok(vec![Val::V128(seven_eight)])
    );
    let lanes = (5u128 << 64) | 3;
    assert_eq!(
        p.call("loop", &[Val::V128(lanes), Val::I32(4)]),
        Ok(vec![Val::V128((20u128 << 64) | 12)])
    );
    assert_eq!(
        p.call("calls", &[Val::V128(lanes)]),
        Ok(vec![Val::V128((10u128 << 64) | 6)])
    );
}

/// A caller's vectors are intact after a callee used the same registers for
/// its own, and after recursion deep enough to grow the interpreter's value
/// stack (which moves the registers' high halves).
fn vectors_survive_callees_and_stack_growth(tier: Tier) {
    let mut p = Program::with(
        tier,
        r#"
(module
  (func $clobber (result i32)
    (local v128 v128 v128)
    (local.set 0 (v128.const i64x2 -1 -1))
    (local.set 1 (v128.const i64x2 -1 -1))
    (local.set 2 (v128.const i64x2 -1 -1))
    (i32.const 0))
  (func $deep (param $n i32) (param $v v128) (result v128)
    (if (result v128) (i32.eqz (local.get $n))
      (then (local.get $v))
      (else
        (i64x2.add
          (call $deep (i32.sub (local.get $n) (i32.const 1)) (local.get $v))
          (v128.const i64x2 1 1)))))
  (func (export "keep") (param v128) (result v128)
    (local v128)
    (local.set 1 (local.get 0))
    (drop (call $clobber))
    (local.get 1))
  (func (export "deep") (param i32 v128) (result v128)
    (call $deep (local.get 0) (local.get 1))))
"#,
        |c| {
            c.max_call_depth(100_000);
        },
    );
    let x = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
    assert_eq!(p.call("keep", &[Val::V128(x)]), Ok(vec![Val::V128(x)]));
    let v = (1u128 << 64) | 2;
    let n = 20_000u64;
    assert_eq!(
        p.call("deep", &[Val::I32(n as i32), Val::V128(v)]),
        Ok(vec![Val::V128(
            (u128::from(1 + n) << 64) | u128::from(2 + n)
        )])
    );
    // Vector handlers jump to the next op (regression: the lane functions,
    // inlined into them, kept them from it, and this recursion overflowed a
    // test thread's native stack).
    tier.assert_native_stack_flat();
}

/// Host functions called from WebAssembly take and return `v128` values.
fn host_functions_take_and_return_vectors(tier: Tier) {
    let engine = tier.engine(|_| {});
    let mut store = Store::new(&engine, ());
    let flip = Func::wrap(&mut store, |v: u128| v.rotate_left(64));
    let mut linker = Linker::new(&engine);
    linker.define("host", "flip", flip).expect("define");
    let module = Module::new(
        &engine,
        r#"
(module
  (import "host" "flip" (func $flip (param v128) (result v128)))
  (func (export "twice") (param v128) (result v128)
    (i64x2.add (call $flip (local.get 0)) (v128.const i64x2 1 0))))
"#,
    )
    .expect("compile");
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiate");
    let twice = instance
        .get_typed_func::<u128, u128>(&store, "twice")
        .expect("typed");
    let v = (5u128 << 64) | 9;
    assert_eq!(twice.call(&mut store, v).ok(), Some((9u128 << 64) | 6));
}

/// `v128` globals: defined, imported and exported, read and written from both sides.
fn vector_globals_are_read_and_written(tier: Tier) {
    let engine = tier.engine(|_| {});
    let mut store = Store::new(&engine, ());
    let ty = GlobalType {
        content: ValType::V128,
        mutable: true,
    };
    let imported = Global::new(&mut store, ty, Val::V128(u128::MAX - 1)).expect("global");
    let mut linker = Linker::new(&engine);
    linker.define("host", "g", imported).expect("define");
    let module = Module::new(
        &engine,
        r#"
(module
  (import "host" "g" (global $in (mut v128)))
  (global $own (export "own") (mut v128) (v128.const i32x4 1 2 3 4))
  (func (export "swap")
    (local v128)
    (local.set 0 (global.get $in))
    (global.set $in (global.get $own))
    (global.set $own (local.get 0))))
"#,
    )
    .expect("compile");
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiate");
    let swap = instance
        .get_typed_func::<(), ()>(&store, "swap")
        .expect("typed");
    swap.call(&mut store, ()).expect("swap");
    assert_eq!(imported.get(&store), Val::V128(i32x4([1, 2, 3, 4])));
    let own = instance.get_global(&store, "own").expect("export");
    assert_eq!(own.get(&store), Val::V128(u128::MAX - 1));
}

/// Vector loads and stores in all their forms, and their bounds checks.
fn vector_memory_accesses_and_lanes(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"
(module
  (memory 1)
  (data (i32.const 0) "\00\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\80\ff")
  (func (export "load") (param i32) (result v128) (v128.load (local.get 0)))
  (func (export "extend") (result v128) (v128.load8x8_s (i32.const 10)))
  (func (export "splat") (result v128) (v128.load16_splat (i32.const 16)))
  (func (export "zero") (result v128) (v128.load32_zero (i32.const 4)))
  (func (export "lane") (param v128) (result v128)
    (v128.load8_lane 3 (i32.const 17) (local.get 0)))
  (func (export "roundtrip") (param v128) (result v128)
    (v128.store offset=100 (i32.const 0) (local.get 0))
    (v128.store32_lane 1 (i32.const 200) (local.get 0))
    (v128.load32_zero (i32.const 200))
    (v128.load offset=100 (i32.const 0))
    (i64x2.add)))
"#,
    );
    let bytes: [u8; 16] = std::array::from_fn(|i| i as u8);
    assert_eq!(
        p.call("load", &[Val::I32(0)]),
        Ok(vec![Val::V128(u128::from_le_bytes(bytes))])
    );
    // Bytes 10..18: 0a 0b 0c 0d 0e 0f 80 ff, each sign-extended to 16 bits.
    let extend: u128 = [0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xff80, 0xffff]
        .iter()
        .enumerate()
        .fold(0, |v, (i, l)| v | (*l as u128) << (16 * i));
    assert_eq!(p.call("extend", &[]), Ok(vec![Val::V128(extend)]));
    assert_eq!(
        p.call("splat", &[]),
        Ok(vec![Val::V128(0xff80_u128 * (u128::MAX / 0xffff))])
    );
    assert_eq!(p.call("zero", &[]), Ok(vec![Val::V128(0x0706_0504)]));
    assert_eq!(
        p.call("lane", &[Val::V128(0)]),
        Ok(vec![Val::V128(0xff00_0000)])
    );
    let v = i32x4([1, 2, 3, 4]);
    assert_eq!(
        p.call("roundtrip", &[Val::V128(v)]),
        Ok(vec![Val::V128(i32x4([3, 2, 3, 4]))])
    );
    for addr in [65_521, -1] {
        let trap = p
            .call("load", &[Val::I32(addr)])
            .expect_err("out of bounds");
        assert_eq!(trap.code(), Some(TrapCode::MemoryOutOfBounds));
    }
    assert!(p.call("load", &[Val::I32(65_520)]).is_ok());
}

/// With NaN canonicalisation on, each float lane that is NaN is the canonical
/// NaN, whatever NaN the operands held; other lanes are untouched.
fn float_lanes_are_canonical_in_deterministic_mode(tier: Tier) {
    let wat = r#"
(module
  (func (export "f32") (param v128 v128) (result v128) (f32x4.add (local.get 0) (local.get 1)))
  (func (export "f64") (param v128 v128) (result v128) (f64x2.mul (local.get 0) (local.get 1)))
  (func (export "madd") (param v128 v128 v128) (result v128)
    (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))
"#;
    let mut p = Program::with(tier, wat, |c| {
        c.nan_canonicalization(true);
    });
    let quiet_payload = 0xffc0_1234u32; // a negative NaN with a payload
    let a = i32x4([quiet_payload, 0x3f80_0000, 0x7f80_0000, 0]);
    let b = i32x4([0, 0x3f80_0000, 0xff80_0000, 0x7fa0_0001]);
    // NaN + 0, 1 + 1, inf + -inf, 0 + sNaN.
    let expected = i32x4([0x7fc0_0000, 0x4000_0000, 0x7fc0_0000, 0x7fc0_0000]);
    assert_eq!(
        p.call("f32", &[Val::V128(a), Val::V128(b)]),
        Ok(vec![Val::V128(expected)])
    );
    let nan64 = 0xfff8_0000_0000_0abcu128;
    let two = 2f64.to_bits() as u128;
    assert_eq!(
        p.call(
            "f64",
            &[Val::V128(nan64 | two << 64), Val::V128(two | two << 64)]
        ),
        Ok(vec![Val::V128(
            0x7ff8_0000_0000_0000 | (4f64.to_bits() as u128) << 64
        )])
    );
    let r = p.call("madd", &[Val::V128(a), Val::V128(b), Val::V128(b)]);
    let Ok(r) = r else { panic!("{r:?}") };
    let Val::V128(r) = r[0] else { panic!("{r:?}") };
    // Lanes 0 (NaN * 0 + 0) and 3 (0 * sNaN + sNaN) are NaN; lane 2 is
    // inf * -inf + -inf = -inf.
    for lane in [0, 3] {
        assert_eq!((r >> (32 * lane)) as u32, 0x7fc0_0000, "lane {lane}");
    }
}

/// Vector instructions follow the scalar cost model: one unit each.
fn vector_instructions_cost_one_unit_of_fuel(tier: Tier) {
    let mut p = Program::with(
        tier,
        r#"
(module
  (func (export "f") (param v128) (result i32)
    (i32x4.extract_lane 0
      (i32x4.add (local.get 0) (i32x4.splat (i32.const 1))))))
"#,
        |c| {
            c.consume_fuel(true);
        },
    );
    p.store.set_fuel(100).expect("fuel");
    assert_eq!(p.call("f", &[Val::V128(41)]), Ok(vec![Val::I32(42)]));
    // local.get, i32.const, i32x4.splat, i32x4.add, i32x4.extract_lane.
    assert_eq!(p.store.get_fuel().expect("fuel"), 95);
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

/// The vector operators the interpreter computes inside their handlers, and
/// its lane and vector memory accesses, each run 100,000 times in a loop:
/// every handler still jumps to the next op
/// (a handler that called it instead would grow the native stack by a frame
/// per op, and the loop's back edge would have to leave the fast path).
fn common_vector_ops_keep_the_native_stack_flat(tier: Tier) {
    let ops = [
        "v128.and",
        "v128.andnot",
        "v128.or",
        "v128.xor",
        "i8x16.add",
        "i8x16.sub",
        "i16x8.add",
        "i16x8.sub",
        "i16x8.mul",
        "i32x4.add",
        "i32x4.sub",
        "i32x4.mul",
        "i64x2.add",
        "i64x2.sub",
        "f32x4.add",
        "f32x4.sub",
        "f32x4.mul",
        "f32x4.div",
        "f64x2.add",
        "f64x2.sub",
        "f64x2.mul",
        "f64x2.div",
    ];
    let body: String = ops
        .iter()
        .map(|op| format!("(local.set $a ({op} (local.get $a) (local.get $b)))\n"))
        .collect();
    // Lane accesses, lane loads and stores, and the v128 loads and stores,
    // which the fast path also runs inline.
    let lanes = "(local.set $a (i32x4.replace_lane 1 (local.get $a)
                   (i32x4.extract_lane 2 (local.get $b))))
                 (local.set $a (v128.load32_lane 3 (i32.const 16) (local.get $a)))
                 (v128.store16_lane 5 (i32.const 32) (local.get $a))
                 (v128.store (i32.const 48) (local.get $b))
                 (local.set $b (v128.load (i32.const 48)))
                 (local.set $b (v128.load64_splat (i32.const 8)))";
    let wat = format!(
        r#"(module
          (memory 1)
          (func (export "run") (param $n i32) (result v128)
            (local $a v128) (local $b v128)
            (local.set $a (v128.const i32x4 1 2 3 4))
            (local.set $b (v128.const i32x4 5 6 7 8))
            (loop $l
              {body}
              {lanes}
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (local.get $a)))"#
    );
    let mut p = Program::load(tier, &wat);
    assert!(p.call("run", &[Val::I32(100_000)]).is_ok());
    tier.assert_native_stack_flat();
}
