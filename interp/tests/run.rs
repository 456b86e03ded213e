//! The interpreter on small programs, driven through the runtime store directly.

use std::sync::Arc;

use kiln_parser::Features;
use kiln_runtime::instantiate::instantiate;
use kiln_runtime::{Extern, Store, StoreLimits, Trap, TrapCode, Val};

struct Program {
    store: Store,
    instance: kiln_runtime::InstanceAddr,
}

fn load_with(wat: &str, fuel: bool, limits: StoreLimits) -> Program {
    load_opts(
        wat,
        kiln_interp::Options {
            fuel,
            canonicalize_nans: false,
        },
        limits,
    )
}

fn load_opts(wat: &str, options: kiln_interp::Options, limits: StoreLimits) -> Program {
    let bytes = wat::parse_str(wat).expect("test module should be well-formed text");
    let module = kiln_parser::parse(&bytes, Features::ALL).expect("parse");
    let info = kiln_validator::validate(&module, Features::ALL).expect("valid");
    let compiled =
        kiln_interp::CompiledModule::new(Arc::new(module.clone()), Arc::new(info), options)
            .expect("no SIMD");
    let mut store = Store::new(limits);
    let (instance, start) =
        instantiate(&mut store, &module, &[], Arc::new(compiled)).expect("instantiate");
    assert!(start.is_none());
    Program { store, instance }
}

fn load(wat: &str) -> Program {
    load_with(wat, false, StoreLimits::default())
}

impl Program {
    fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, Trap> {
        let Some(Extern::Func(f)) = self.store.instances[self.instance.index()]
            .exports
            .get(name)
            .copied()
        else {
            panic!("no function export {name}");
        };
        let n = self.store.func_type(f).results.len();
        let mut results = vec![Val::I32(0); n];
        kiln_interp::invoke(&mut self.store, &mut (), f, args, &mut results)?;
        Ok(results)
    }
}

const FIB: &str = r#"(module
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "loop_sum") (param i32) (result i64) (local i64)
    (block $done
      (loop $top
        (br_if $done (i32.eqz (local.get 0)))
        (local.set 1 (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $top)))
    (local.get 1))
  (func (export "forever") (loop (br 0)))
  (func $down (export "recurse") (call $down))
)"#;

#[test]
fn recursion_and_loops_compute() {
    let mut p = load(FIB);
    assert_eq!(p.call("fib", &[Val::I32(20)]), Ok(vec![Val::I32(6765)]));
    assert_eq!(
        p.call("loop_sum", &[Val::I32(100_000)]),
        Ok(vec![Val::I64(5_000_050_000)])
    );
}

#[test]
fn infinite_recursion_exhausts_the_call_stack() {
    let mut p = load(FIB);
    let err = p.call("recurse", &[]).expect_err("must trap");
    assert_eq!(err.code(), Some(TrapCode::CallStackExhausted));
    // The store is still usable afterwards.
    assert_eq!(p.call("fib", &[Val::I32(10)]), Ok(vec![Val::I32(55)]));
}

#[test]
fn fuel_stops_an_infinite_loop() {
    let mut p = load_with(FIB, true, StoreLimits::default());
    p.store.fuel = 10_000;
    let err = p.call("forever", &[]).expect_err("must run out");
    assert_eq!(err.code(), Some(TrapCode::OutOfFuel));
    assert!(p.store.fuel < 10_000);
}

#[test]
fn traps_carry_spec_codes() {
    let mut p = load(
        r#"(module (memory 1)
          (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
          (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
          (func (export "unreachable") unreachable))"#,
    );
    let code = |r: Result<Vec<Val>, Trap>| r.expect_err("trap").code();
    assert_eq!(
        code(p.call("div", &[Val::I32(1), Val::I32(0)])),
        Some(TrapCode::IntegerDivisionByZero)
    );
    assert_eq!(
        code(p.call("div", &[Val::I32(i32::MIN), Val::I32(-1)])),
        Some(TrapCode::IntegerOverflow)
    );
    assert_eq!(
        code(p.call("load", &[Val::I32(65533)])),
        Some(TrapCode::MemoryOutOfBounds)
    );
    assert_eq!(p.call("load", &[Val::I32(65532)]), Ok(vec![Val::I32(0)]));
    assert_eq!(
        code(p.call("unreachable", &[])),
        Some(TrapCode::Unreachable)
    );
}

#[test]
fn nan_canonicalisation_rewrites_arithmetic_nans_only() {
    let wat = r#"(module
      (func (export "div") (param f32 f32) (result f32) (f32.div (local.get 0) (local.get 1)))
      (func (export "neg") (param f32) (result f32) (f32.neg (local.get 0)))
      (func (export "sqrt") (param f64) (result f64) (f64.sqrt (local.get 0))))"#;
    let options = kiln_interp::Options {
        fuel: false,
        canonicalize_nans: true,
    };
    let mut p = load_opts(wat, options, StoreLimits::default());
    assert_eq!(
        p.call("div", &[Val::F32(0), Val::F32(0)]),
        Ok(vec![Val::F32(0x7fc0_0000)])
    );
    assert_eq!(
        p.call("sqrt", &[Val::F64((-1.0f64).to_bits())]),
        Ok(vec![Val::F64(0x7ff8_0000_0000_0000)])
    );
    // Sign operations keep the payload: they are bit operations, not arithmetic.
    assert_eq!(
        p.call("neg", &[Val::F32(0x7fc0_0001)]),
        Ok(vec![Val::F32(0xffc0_0001)])
    );
}

/// A loop of 200,000 iterations whose body uses most of the fast path's
/// handlers (copies, constants, integer, float and comparison ops, loads and
/// stores, `select`, `br_table`, backward fused branches): in an optimised
/// build each handler jumps to the next, so a handler that called its
/// successor instead would grow the native stack every iteration, and the
/// loop's backward branch would count a stack rescue.
#[test]
fn long_loops_run_without_growing_the_native_stack() {
    let mut p = load(
        r#"(module
          (memory 1)
          (func (export "spin") (param $n i32) (result i64)
            (local $i i32) (local $acc i64) (local $f f64) (local $t i32)
            (loop $top
              (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $i))))
              (local.set $f (f64.add (local.get $f) (f64.convert_i32_u (local.get $i))))
              (i32.store offset=8 (i32.const 0) (i32.xor (local.get $i) (i32.const 0x55)))
              (local.set $t (i32.load offset=8 (i32.const 0)))
              (local.set $t (select (local.get $t) (i32.const 7) (i32.and (local.get $i) (i32.const 1))))
              (block $b2 (block $b1 (block $b0
                (br_table $b0 $b1 $b2 (i32.rem_u (local.get $i) (i32.const 3))))
                (local.set $acc (i64.add (local.get $acc) (i64.const 1))))
                (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $t)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $top (i32.lt_u (local.get $i) (local.get $n))))
            (i64.add (local.get $acc) (i64.trunc_f64_u (local.get $f)))))"#,
    );
    let n = 200_000u32;
    let mut expected: u64 = 0;
    let mut f = 0f64;
    for i in 0..n {
        expected = expected.wrapping_add(u64::from(i));
        f += f64::from(i);
        let t = if i & 1 != 0 { i ^ 0x55 } else { 7 };
        match i % 3 {
            0 => expected += 1 + u64::from(t),
            1 => expected += u64::from(t),
            _ => {}
        }
    }
    expected = expected.wrapping_add(f as u64);
    let got = p.call("spin", &[Val::I32(n as i32)]).expect("no trap");
    assert_eq!(got, vec![Val::I64(expected as i64)]);
    assert_eq!(kiln_interp::stack_rescues(), 0);
}

/// The same for calls and returns, which run on the fast path when the callee
/// is a function of the same instance: 200,000 iterations of a loop that makes
/// a direct call and an indirect call, each returning.
#[test]
fn loops_of_calls_run_without_growing_the_native_stack() {
    let mut p = load(
        r#"(module
          (type $t (func (param i32) (result i32)))
          (table 2 funcref)
          (elem (i32.const 0) $double $inc)
          (func $double (type $t) (i32.add (local.get 0) (local.get 0)))
          (func $inc (type $t) (local $unused i64) (i32.add (local.get 0) (i32.const 1)))
          (func (export "calls") (param $n i32) (result i32)
            (local $i i32) (local $acc i32)
            (loop $top
              (local.set $acc (i32.add (local.get $acc) (call $double (local.get $i))))
              (local.set $acc
                (i32.add (local.get $acc)
                  (call_indirect (type $t) (local.get $i) (i32.and (local.get $i) (i32.const 1)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $top (i32.lt_u (local.get $i) (local.get $n))))
            (local.get $acc)))"#,
    );
    let n = 200_000u32;
    let expected = (0..n).fold(0u32, |acc, i| {
        let indirect = if i & 1 == 0 { i * 2 } else { i + 1 };
        acc.wrapping_add(i * 2).wrapping_add(indirect)
    });
    // Twice: the first run translates the callees on the slow path.
    for _ in 0..2 {
        let got = p.call("calls", &[Val::I32(n as i32)]).expect("no trap");
        assert_eq!(got, vec![Val::I32(expected as i32)]);
    }
    assert_eq!(kiln_interp::stack_rescues(), 0);
}

/// `local.get` leaves its slot standing for the local until the value is
/// consumed; writes to the local while such a slot is live must not change
/// what the slot holds (set, tee, redirected producers, conditions).
#[test]
fn pending_local_reads_see_the_value_at_the_read() {
    let mut p = load(
        r#"(module
          (func (export "set") (param $x i32) (result i32)
            (local.get $x)
            (local.set $x (i32.const 5))
            (i32.add (i32.mul (local.get $x) (i32.const 100))))
          (func (export "redirect") (param $x i32) (param $y i32) (result i32)
            (local.get $x)
            (local.set $x (i32.add (local.get $y) (i32.const 1)))
            (i32.add (i32.mul (local.get $x) (i32.const 1000))))
          (func (export "tee") (param $x i32) (result i32)
            (local.get $x)
            (local.tee $x (i32.add (local.get $x) (i32.const 1)))
            (local.set $x (i32.const 7))
            (i32.mul (i32.const 100))
            (i32.add)
            (i32.add (i32.mul (local.get $x) (i32.const 10000))))
          (func (export "swap") (param $x i32) (param $y i32) (result i32)
            (local.get $x)
            (local.get $y)
            (local.set $x)
            (local.set $y)
            (i32.sub (i32.mul (local.get $x) (i32.const 10)) (local.get $y)))
          (func (export "cond") (param $x i32) (result i32)
            (block $out (result i32)
              (i32.const 1)
              (local.tee $x (i32.sub (local.get $x) (i32.const 1)))
              (br_if $out)
              (drop)
              (i32.const 2))))"#,
    );
    assert_eq!(
        p.call("set", &[Val::I32(3)]).expect("no trap"),
        vec![Val::I32(503)]
    );
    assert_eq!(
        p.call("redirect", &[Val::I32(3), Val::I32(8)])
            .expect("no trap"),
        vec![Val::I32(9003)]
    );
    // old 3, tee'd 4 (times 100), then x = 7 (times 10000).
    assert_eq!(
        p.call("tee", &[Val::I32(3)]).expect("no trap"),
        vec![Val::I32(70403)]
    );
    assert_eq!(
        p.call("swap", &[Val::I32(3), Val::I32(8)])
            .expect("no trap"),
        vec![Val::I32(77)]
    );
    assert_eq!(
        p.call("cond", &[Val::I32(1)]).expect("no trap"),
        vec![Val::I32(2)]
    );
    assert_eq!(
        p.call("cond", &[Val::I32(5)]).expect("no trap"),
        vec![Val::I32(1)]
    );
}

/// `x + (y << c)` becomes one op; either operand order, shift counts of 32
/// and more (taken modulo 32), wrapping, and a shift whose result is also kept
/// in a local (which must not be fused away).
#[test]
fn shifted_adds_keep_their_meaning() {
    let mut p = load(
        r#"(module
          (func (export "base_first") (param $b i32) (param $i i32) (result i32)
            (i32.add (local.get $b) (i32.shl (local.get $i) (i32.const 2))))
          (func (export "shift_first") (param $b i32) (param $i i32) (result i32)
            (i32.add (i32.shl (local.get $i) (i32.const 35)) (local.get $b)))
          (func (export "kept") (param $b i32) (param $i i32) (result i32) (local $t i32)
            (i32.add (local.get $b) (local.tee $t (i32.shl (local.get $i) (i32.const 4))))
            (i32.mul (local.get $t) (i32.const 1000))
            (i32.add)))"#,
    );
    let call = |p: &mut Program, name: &str, b: i32, i: i32| {
        p.call(name, &[Val::I32(b), Val::I32(i)]).expect("no trap")
    };
    assert_eq!(call(&mut p, "base_first", 100, 5), vec![Val::I32(120)]);
    assert_eq!(call(&mut p, "base_first", -1, i32::MAX), vec![Val::I32(-5)]);
    assert_eq!(call(&mut p, "shift_first", 1, 3), vec![Val::I32(25)]);
    // 7 + 48, plus t = 48 times 1000.
    assert_eq!(call(&mut p, "kept", 7, 3), vec![Val::I32(48_055)]);
}

/// A function returning a local returns it from the local's register, by
/// `return` inside blocks or by its final `end`, and still returns the value
/// read even when the local changes between the read and the return.
#[test]
fn returning_a_local() {
    let mut p = load(
        r#"(module
          (func (export "early") (param $x i32) (result i32)
            (block (block (br_if 1 (i32.eqz (local.get $x)))
              (return (local.get $x))))
            (i32.const -1))
          (func (export "at_end") (param $x i64) (result i64) (local.get $x))
          (func (export "changed") (param $x i32) (result i32)
            (local.get $x)
            (local.set $x (i32.const 5))))"#,
    );
    assert_eq!(
        p.call("early", &[Val::I32(7)]).expect("no trap"),
        vec![Val::I32(7)]
    );
    assert_eq!(
        p.call("early", &[Val::I32(0)]).expect("no trap"),
        vec![Val::I32(-1)]
    );
    assert_eq!(
        p.call("at_end", &[Val::I64(-3)]).expect("no trap"),
        vec![Val::I64(-3)]
    );
    assert_eq!(
        p.call("changed", &[Val::I32(8)]).expect("no trap"),
        vec![Val::I32(8)]
    );
}

/// The interpreter does not execute SIMD: modules with a SIMD instruction, or
/// a `v128` type, local or global, are refused when compiled, and others are
/// not.
#[test]
fn simd_modules_are_refused() {
    let compile = |wat: &str| {
        let bytes = wat::parse_str(wat).expect("test module should be well-formed text");
        let module = kiln_parser::parse(&bytes, Features::ALL).expect("parse");
        let info = kiln_validator::validate(&module, Features::ALL).expect("valid");
        kiln_interp::CompiledModule::new(
            Arc::new(module),
            Arc::new(info),
            kiln_interp::Options::default(),
        )
        .map(drop)
    };
    let refused = Err(kiln_interp::CompileError::SimdUnsupported);
    for wat in [
        "(module (func (drop (v128.const i64x2 1 2))))",
        "(module (func (param i32) (drop (i32x4.splat (local.get 0)))))",
        "(module (memory 1) (func (drop (v128.load (i32.const 0)))))",
        "(module (func (local v128)))",
        "(module (func (param v128)))",
        "(module (global v128 (v128.const i64x2 0 0)))",
    ] {
        assert_eq!(compile(wat), refused, "{wat}");
    }
    assert_eq!(
        compile("(module (func (result i32) (i32.const 1)))"),
        Ok(())
    );
}

/// An `i32.add` of a constant feeding a load or store with offset 0 becomes
/// one op, which must wrap the address at 2^32 as the add does (unlike an
/// offset, which must not wrap and makes the same access trap).
#[test]
fn added_constants_in_addresses_wrap() {
    let mut p = load(
        r#"(module
          (memory 1)
          (func (export "store_load") (param $p i32) (param $v i32) (result i32)
            (i32.store (i32.add (local.get $p) (i32.const 16)) (local.get $v))
            (i32.load (i32.add (local.get $p) (i32.const 16))))
          (func (export "load_offset") (param $p i32) (result i32)
            (i32.load offset=16 (local.get $p))))"#,
    );
    // 0xffff_fff8 + 16 wraps to 8.
    let got = p
        .call("store_load", &[Val::I32(-8), Val::I32(77)])
        .expect("no trap");
    assert_eq!(got, vec![Val::I32(77)]);
    let got = p.call("load_offset", &[Val::I32(-8)]);
    assert!(matches!(got, Err(e) if e.code() == Some(TrapCode::MemoryOutOfBounds)));
    // Out of bounds after wrapping nothing: a trap, from the slow path.
    let got = p.call("store_load", &[Val::I32(65_536 - 16), Val::I32(1)]);
    assert!(matches!(got, Err(e) if e.code() == Some(TrapCode::MemoryOutOfBounds)));
}

/// Float comparisons fused into branches keep NaN semantics whichever way the
/// branch goes (`br_if` on the comparison, and `if`, which branches when it
/// fails).
#[test]
fn float_compare_branches_with_nan() {
    let mut p = load(
        r#"(module
          (func (export "br_if_lt") (param f64 f64) (result i32)
            (block (br_if 0 (f64.lt (local.get 0) (local.get 1))) (return (i32.const 0)))
            (i32.const 1))
          (func (export "if_ge") (param f32 f32) (result i32)
            (if (result i32) (f32.ge (local.get 0) (local.get 1))
              (then (i32.const 1)) (else (i32.const 0)))))"#,
    );
    let lt = |p: &mut Program, a: f64, b: f64| {
        p.call("br_if_lt", &[Val::F64(a.to_bits()), Val::F64(b.to_bits())])
            .expect("no trap")
    };
    assert_eq!(lt(&mut p, 1.0, 2.0), vec![Val::I32(1)]);
    assert_eq!(lt(&mut p, 2.0, 1.0), vec![Val::I32(0)]);
    assert_eq!(lt(&mut p, f64::NAN, 1.0), vec![Val::I32(0)]);
    let ge = |p: &mut Program, a: f32, b: f32| {
        p.call("if_ge", &[Val::F32(a.to_bits()), Val::F32(b.to_bits())])
            .expect("no trap")
    };
    assert_eq!(ge(&mut p, 2.0, 1.0), vec![Val::I32(1)]);
    assert_eq!(ge(&mut p, 1.0, 2.0), vec![Val::I32(0)]);
    assert_eq!(ge(&mut p, 1.0, f32::NAN), vec![Val::I32(0)]);
}

/// `base + (index << c)` feeding a load or store with offset 0 becomes one
/// op; the address wraps at 2^32 as the add does, and an access out of bounds
/// still traps.
#[test]
fn scaled_addresses_wrap_and_trap() {
    let mut p = load(
        r#"(module
          (memory 1)
          (func (export "put_get") (param $base i32) (param $i i32) (param $v i32) (result i32)
            (i32.store (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 2)))
              (local.get $v))
            (i32.load (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 2))))))"#,
    );
    let call = |p: &mut Program, base: i32, i: i32, v: i32| {
        p.call("put_get", &[Val::I32(base), Val::I32(i), Val::I32(v)])
    };
    assert_eq!(call(&mut p, 64, 3, 9).expect("no trap"), vec![Val::I32(9)]);
    // 0x4000_0000 << 2 wraps to 0: the access is at `base`.
    assert_eq!(
        call(&mut p, 8, 0x4000_0000, 5).expect("no trap"),
        vec![Val::I32(5)]
    );
    let got = call(&mut p, 65_536, 0, 1);
    assert!(matches!(got, Err(e) if e.code() == Some(TrapCode::MemoryOutOfBounds)));
}

/// Scaled accesses by each shift the handlers fix (1, 2, 3) and by one they
/// read from the op (4) reach `base + (index << shift)`, wrapping at 2^32 and
/// trapping out of bounds; the index here comes from the accumulator.
#[test]
fn scaled_accesses_by_every_shift() {
    let mut wat = String::from("(module (memory 1)\n");
    for s in 1..=4 {
        let addr = format!(
            "(i32.add (local.get $b) (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const {s})))"
        );
        wat += &format!(
            "(func (export \"put{s}\") (param $b i32) (param $i i32) (param $v i64) \
               (i64.store {addr} (local.get $v)))
             (func (export \"get{s}\") (param $b i32) (param $i i32) (result i64) \
               (i64.load {addr}))\n"
        );
    }
    wat += "(func (export \"at\") (param $a i32) (result i64) (i64.load (local.get $a))))";
    let mut p = load(&wat);
    for s in 1..=4u32 {
        let v = 0x0123_4567_89ab_cdef_i64 + i64::from(s);
        let (b, i) = (100, 5);
        let put = format!("put{s}");
        let get = format!("get{s}");
        p.call(&put, &[Val::I32(b), Val::I32(i), Val::I64(v)])
            .expect("no trap");
        let at = b + ((i + 1) << s);
        assert_eq!(
            p.call("at", &[Val::I32(at)]),
            Ok(vec![Val::I64(v)]),
            "shift {s}"
        );
        assert_eq!(
            p.call(&get, &[Val::I32(b), Val::I32(i)]),
            Ok(vec![Val::I64(v)])
        );
        // `(i + 1) << s` is 2^32: the access is at `b`.
        let i = ((1u64 << (32 - s)) - 1) as u32 as i32;
        p.call(&put, &[Val::I32(8), Val::I32(i), Val::I64(-v)])
            .expect("no trap");
        assert_eq!(
            p.call("at", &[Val::I32(8)]),
            Ok(vec![Val::I64(-v)]),
            "shift {s}"
        );
        // Eight bytes at 65,532 run past the end.
        let got = p.call(&get, &[Val::I32(65_532), Val::I32(-1)]);
        assert!(matches!(got, Err(e) if e.code() == Some(TrapCode::MemoryOutOfBounds)));
        let got = p.call(&put, &[Val::I32(65_532), Val::I32(-1), Val::I64(1)]);
        assert!(matches!(got, Err(e) if e.code() == Some(TrapCode::MemoryOutOfBounds)));
    }
}

/// A callee's declared locals start at zero and its constant registers hold
/// its constants, for every count the call handler writes differently (none,
/// one, two overlapping runs of 2 or of 4, and more than 8), even where an
/// earlier callee left other values in the same stack slots.
#[test]
fn callee_locals_are_zeroed_and_constants_set_for_every_count() {
    for k in 0..=12usize {
        let locals = " i64".repeat(k);
        let mut body = String::from("i64.const 0\n");
        for j in 0..k {
            body += &format!("local.get {j} i64.add\n");
        }
        let mut expected = 0i64;
        for j in 0..k {
            let c = 1000 + 7 * j as i64;
            expected += c;
            body += &format!("i64.const {c} i64.add\n");
        }
        let sets: String = (1..=12)
            .map(|j| format!("local.get 0 local.set {j}\n"))
            .collect();
        let wat = format!(
            r#"(module
              (func $dirty (param i64) (local{dirty_locals})
                {sets})
              (func $clean (result i64) (local{locals})
                {body})
              (func (export "run") (result i64)
                i64.const -1
                call $dirty
                call $clean))"#,
            dirty_locals = " i64".repeat(12),
        );
        let mut p = load(&wat);
        // The first run translates the callees on the slow path; the second
        // calls them from the call handler.
        for run in 0..2 {
            let got = p.call("run", &[]).expect("no trap");
            assert_eq!(
                got,
                vec![Val::I64(expected)],
                "{k} locals and constants, run {run}"
            );
        }
    }
}

/// Returns move every result to the caller, for every count the return
/// handler copies differently (the results sit above two locals, so they
/// are moved down, overlapping their destination from 3 results on).
#[test]
fn returns_move_every_result_for_every_count() {
    for k in 1..=12usize {
        let results = " i64".repeat(k);
        let pushes: String = (0..k)
            .map(|j| format!("local.get 0 i64.const {} i64.mul\n", j + 1))
            .collect();
        // `run` keeps result j in local j + 1 and weighs it by 3^j, so that a
        // misplaced result shows.
        let sets: String = (1..=k).rev().map(|j| format!("local.set {j}\n")).collect();
        let mut combine = String::from("i64.const 0\n");
        for j in 0..k {
            combine += &format!(
                "local.get {} i64.const {} i64.mul i64.add\n",
                j + 1,
                3i64.pow(j as u32)
            );
        }
        let wat = format!(
            r#"(module
              (func $many (param i64) (result{results}) (local i64 i64)
                {pushes}
                return)
              (func (export "run") (param i64) (result i64) (local{results})
                local.get 0
                call $many
                {sets}
                {combine}))"#
        );
        let mut p = load(&wat);
        let x = 5i64;
        let expected: i64 = (0..k)
            .map(|j| x * (j as i64 + 1) * 3i64.pow(j as u32))
            .sum();
        // The first run translates `$many` on the slow path; the second
        // returns from it in the return handler.
        for run in 0..2 {
            let got = p.call("run", &[Val::I64(x)]).expect("no trap");
            assert_eq!(got, vec![Val::I64(expected)], "{k} results, run {run}");
        }
    }
}

/// Float chains pass values from op to op in the accumulator (see
/// `exec/threaded.rs`): each kind of op that reads it, from each operand,
/// gives the result the same program gives through registers.
#[test]
fn float_chains_compute_through_the_accumulator() {
    let mut p = load(
        r#"(module
          (memory 1)
          (func (export "chain") (param $x f64) (param $y f64) (result f64)
            (f64.store (i32.const 8) (f64.mul (local.get $x) (local.get $y)))
            (f64.store
              (i32.const 16)
              (f64.neg
                (f64.sub
                  (local.get $x)
                  (f64.div
                    (f64.const 3)
                    (f64.sqrt (f64.add (f64.load (i32.const 8)) (f64.const 0.5)))))))
            (f64.load (i32.const 16))))"#,
    );
    for (x, y) in [(1.5f64, 2.25f64), (-4.0, 0.125), (7.0, 1e300)] {
        let expected = -(x - 3.0 / (x * y + 0.5).sqrt());
        let got = p.call("chain", &[Val::F64(x.to_bits()), Val::F64(y.to_bits())]);
        assert_eq!(
            got,
            Ok(vec![Val::F64(expected.to_bits())]),
            "x = {x}, y = {y}"
        );
    }
}

/// A return of one value between functions of the module moves it to the
/// caller whether it comes from the integer accumulator (the op before the
/// return computed it), from a register (a parameter, the second of two) or
/// from the float accumulator, and keeps all 64 bits.
#[test]
fn single_results_return_from_the_accumulator_or_a_register() {
    let mut p = load(
        r#"(module
          (func $inc (param i64) (result i64) (i64.add (local.get 0) (i64.const 0x100000001)))
          (func $id (param i64) (result i64) (local.get 0))
          (func $second (param i64 i64) (result i64) (local.get 1))
          (func $half (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5)))
          (func $sum (param i32) (result i32)
            (if (result i32) (i32.eqz (local.get 0))
              (then (i32.const 0))
              (else (i32.add (local.get 0) (call $sum (i32.sub (local.get 0) (i32.const 1)))))))
          (func (export "ints") (param $x i64) (result i64)
            (i64.add
              (call $inc (local.get $x))
              (i64.mul (i64.const 3) (call $second (i64.const 7) (call $id (local.get $x))))))
          (func (export "half") (param f64) (result f64) (call $half (local.get 0)))
          (func (export "sum") (param i32) (result i32) (call $sum (local.get 0))))"#,
    );
    for x in [0i64, 5, -1, 0x7fff_ffff_ffff_0000] {
        let expected = x
            .wrapping_add(0x1_0000_0001)
            .wrapping_add(x.wrapping_mul(3));
        assert_eq!(
            p.call("ints", &[Val::I64(x)]),
            Ok(vec![Val::I64(expected)]),
            "x = {x}"
        );
    }
    assert_eq!(
        p.call("half", &[Val::F64(5.0f64.to_bits())]),
        Ok(vec![Val::F64(2.5f64.to_bits())])
    );
    assert_eq!(
        p.call("sum", &[Val::I32(500)]),
        Ok(vec![Val::I32(500 * 501 / 2)])
    );
}

/// An op that a jump can reach reads its operand from its register, not from
/// the accumulator that the op before it (in the code) left: on the back edge
/// the accumulator holds `$b`, not `$a`.
#[test]
fn jump_targets_do_not_read_the_accumulator() {
    let mut p = load(
        r#"(module
          (func (export "loop") (param $n i32) (param $x f64) (result f64)
            (local $a f64) (local $b f64)
            (local.set $a (f64.mul (local.get $x) (f64.const 2)))
            (loop $l
              (local.set $a (f64.add (local.get $a) (f64.const 1)))
              (local.set $b (f64.mul (local.get $a) (f64.const 3)))
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (f64.add (local.get $a) (local.get $b))))"#,
    );
    // a: 2, then 3, 4, 5; b: 3a; 5 + 15.
    let got = p.call("loop", &[Val::I32(3), Val::F64(1f64.to_bits())]);
    assert_eq!(got, Ok(vec![Val::F64(20f64.to_bits())]));
}

/// Where the fast path resumes after an op ran on the slow path (every access
/// to a 64-bit memory does), the accumulator is loaded from that op's result.
#[test]
fn the_accumulator_is_reloaded_where_the_fast_path_resumes() {
    let mut p = load(
        r#"(module
          (memory i64 1)
          (func (export "f") (param $x f64) (result f64)
            (f64.store (i64.const 8) (local.get $x))
            (f64.add (f64.load (i64.const 8)) (f64.const 1))))"#,
    );
    let got = p.call("f", &[Val::F64(2.5f64.to_bits())]);
    assert_eq!(got, Ok(vec![Val::F64(3.5f64.to_bits())]));
}

/// Integer chains pass values in the integer accumulator the same way: a
/// jump target reads its register (on the back edge the accumulator holds the
/// sum, not `$i`), and so does an op entered after a 64-bit memory's load ran
/// on the slow path.
#[test]
fn integer_chains_compute_through_the_accumulator() {
    let mut p = load(
        r#"(module
          (memory i64 1)
          (func (export "loop") (param $n i32) (result i32)
            (local $i i32) (local $sum i32)
            (local.set $i (i32.mul (local.get $n) (i32.const 2)))
            (loop $l
              (local.set $i (i32.sub (local.get $i) (i32.const 1)))
              (local.set $sum (i32.add (local.get $sum) (i32.mul (local.get $i) (i32.const 3))))
              (br_if $l (i32.gt_s (local.get $i) (local.get $n))))
            (i32.add (local.get $sum) (local.get $i)))
          (func (export "load") (param $x i64) (result i64)
            (i64.store (i64.const 8) (local.get $x))
            (i64.mul (i64.load (i64.const 8)) (i64.const 3))))"#,
    );
    // n = 4: i runs 7, 6, 5, 4; sum = 3 * 22 = 66; plus 4.
    assert_eq!(p.call("loop", &[Val::I32(4)]), Ok(vec![Val::I32(70)]));
    assert_eq!(p.call("load", &[Val::I64(14)]), Ok(vec![Val::I64(42)]));
}

/// An `i32.and` feeding a `br_if` or an `if` becomes one branch on the bits
/// it tests, taken in both senses; a `local.tee` of the mask keeps its write.
#[test]
fn and_feeding_a_branch_tests_the_bits() {
    let mut p = load(
        r#"(module
          (func (export "any") (param $x i32) (param $m i32) (result i32)
            (block $set
              (br_if $set (i32.and (local.get $x) (local.get $m)))
              (return (i32.const 0)))
            (i32.const 1))
          (func (export "none") (param $x i32) (param $m i32) (result i32)
            (if (result i32) (i32.and (local.get $x) (local.get $m))
              (then (i32.const 1))
              (else (i32.const 0))))
          (func (export "tee") (param $x i32) (result i32) (local $t i32)
            (block $set
              (br_if $set (local.tee $t (i32.and (local.get $x) (i32.const 12))))
              (return (i32.sub (i32.const 0) (local.get $t))))
            (local.get $t)))"#,
    );
    for (x, m) in [(0b1010, 0b0100), (0b1010, 0b0010), (-1, i32::MIN), (7, 0)] {
        let expected = i32::from(x & m != 0);
        assert_eq!(
            p.call("any", &[Val::I32(x), Val::I32(m)]),
            Ok(vec![Val::I32(expected)])
        );
        assert_eq!(
            p.call("none", &[Val::I32(x), Val::I32(m)]),
            Ok(vec![Val::I32(expected)])
        );
    }
    assert_eq!(p.call("tee", &[Val::I32(0b0110)]), Ok(vec![Val::I32(4)]));
    assert_eq!(p.call("tee", &[Val::I32(0b0011)]), Ok(vec![Val::I32(0)]));
}

/// A copy right before a jump (a loop's back edge after a variable's update,
/// a branch carrying a value out of a block) takes effect, backwards and
/// forwards.
#[test]
fn a_copy_then_a_jump_does_both() {
    let mut p = load(
        r#"(module
          (func (export "tri") (param $n i32) (result i32) (local $i i32) (local $j i32) (local $s i32)
            (block $done
              (loop $l
                (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                (local.set $j (i32.add (local.get $i) (i32.const 1)))
                (local.set $s (i32.add (local.get $s) (local.get $j)))
                (local.set $i (local.get $j))
                (br $l)))
            (local.get $s))
          (func (export "pick") (param $c i32) (param $x i32) (param $y i32) (result i32)
            (i32.add
              (block $b (result i32)
                (if (local.get $c) (then (br $b (local.get $x))))
                (local.get $y))
              (i32.const 100))))"#,
    );
    assert_eq!(p.call("tri", &[Val::I32(10)]), Ok(vec![Val::I32(55)]));
    assert_eq!(p.call("tri", &[Val::I32(0)]), Ok(vec![Val::I32(0)]));
    let pick = |p: &mut Program, c| p.call("pick", &[Val::I32(c), Val::I32(1), Val::I32(2)]);
    assert_eq!(pick(&mut p, 1), Ok(vec![Val::I32(101)]));
    assert_eq!(pick(&mut p, 0), Ok(vec![Val::I32(102)]));
}

/// An `if` on a local tests the local where it is, and sees the value it had
/// at the `local.get`, even when the local is written before the `if`.
#[test]
fn if_tests_a_local_as_read() {
    let mut p = load(
        r#"(module
          (func (export "direct") (param $c i32) (result i32)
            (if (result i32) (local.get $c) (then (i32.const 1)) (else (i32.const 2))))
          (func (export "overwritten") (param $c i32) (result i32)
            (local.get $c)
            (local.set $c (i32.eqz (local.get $c)))
            (if (result i32) (then (local.get $c)) (else (i32.add (local.get $c) (i32.const 10))))))"#,
    );
    assert_eq!(p.call("direct", &[Val::I32(5)]), Ok(vec![Val::I32(1)]));
    assert_eq!(p.call("direct", &[Val::I32(0)]), Ok(vec![Val::I32(2)]));
    // c = 5: the `if` sees 5 (taken), then c is 0.
    assert_eq!(p.call("overwritten", &[Val::I32(5)]), Ok(vec![Val::I32(0)]));
    // c = 0: the `if` sees 0 (not taken), then c is 1.
    assert_eq!(
        p.call("overwritten", &[Val::I32(0)]),
        Ok(vec![Val::I32(11)])
    );
}
