//! The deterministic executor on its own: results, the host API, every
//! misbehaviour a module can show, refused modules, and the same results on
//! both tiers.

use kiln::Strategy;
use kiln_netnode::cluster::EXAMPLE_WAT;
use kiln_netnode::reject::RejectReason;
use kiln_netnode::store::{ModuleId, sha256_hex};
use kiln_netnode::{ExecLimits, Executor, Job, JobResult, Outcome};

fn example() -> Vec<u8> {
    kiln::wat2wasm(EXAMPLE_WAT.as_bytes())
        .map(|b| b.into_owned())
        .unwrap_or_default()
}

fn limits() -> ExecLimits {
    ExecLimits {
        max_memory_bytes: 1 << 20,
        max_call_depth: 200,
        ..ExecLimits::default()
    }
}

fn job(bytes: &[u8], export: &str, args: &[&str], fuel: u64) -> Job {
    Job {
        module: ModuleId::of(bytes).to_string(),
        export: export.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        fuel,
        input: Vec::new(),
    }
}

fn run(executor: &Executor, bytes: &[u8], export: &str, args: &[&str], fuel: u64) -> JobResult {
    executor.run(&job(bytes, export, args, fuel), bytes)
}

fn interp() -> Result<Executor, kiln::Error> {
    Executor::new(Strategy::Interpreter, limits())
}

fn values(v: &[&str]) -> Outcome {
    Outcome::Values(v.iter().map(|s| s.to_string()).collect())
}

#[test]
fn returns_values_and_fuel() -> Result<(), kiln::Error> {
    let (executor, bytes) = (interp()?, example());
    let r = run(&executor, &bytes, "fib", &["90"], 100_000);
    assert_eq!(r.outcome, values(&["2880067194370816120"]));
    assert!(r.fuel_used > 0);
    assert_eq!(r.output_sha256, sha256_hex(b""));
    assert_eq!(
        run(&executor, &bytes, "fib", &["90"], 100_000),
        r,
        "repeatable"
    );
    Ok(())
}

#[test]
fn host_api_reads_input_and_writes_output() -> Result<(), kiln::Error> {
    let (executor, bytes) = (interp()?, example());
    let mut j = job(&bytes, "reverse", &[], 1_000_000);
    j.input = b"kiln".to_vec();
    let r = executor.run(&j, &bytes);
    assert_eq!(r.outcome, values(&["4"]));
    assert_eq!(r.output_sha256, sha256_hex(b"nlik"));
    assert_eq!(r.output_len, 4);
    Ok(())
}

#[test]
fn nans_are_canonical() -> Result<(), kiln::Error> {
    let (executor, bytes) = (interp()?, example());
    let r = run(&executor, &bytes, "nan", &[], 1000);
    assert_eq!(r.outcome, values(&["nan:0x7ff8000000000000"]));
    Ok(())
}

#[test]
fn an_infinite_loop_ends_by_fuel() -> Result<(), kiln::Error> {
    let (executor, bytes) = (interp()?, example());
    let r = run(&executor, &bytes, "spin", &[], 50_000);
    assert_eq!(r.outcome, Outcome::Trap("out of fuel".into()));
    assert!(r.fuel_used <= 50_000);
    Ok(())
}

#[test]
fn a_memory_bomb_stops_at_the_limit() -> Result<(), kiln::Error> {
    let (executor, bytes) = (interp()?, example());
    // 1 MiB is 16 pages; the module starts with one.
    let r = run(&executor, &bytes, "bomb", &["1"], 1_000_000);
    assert_eq!(r.outcome, values(&["15"]));
    let r = run(&executor, &bytes, "bomb", &["64"], 1_000_000);
    assert_eq!(r.outcome, values(&["0"]));
    // Asking for 4 GiB at once fails the same way (growth is charged by the
    // page, so it needs the fuel for it).
    let r = run(&executor, &bytes, "bomb", &["65535"], 10_000_000_000);
    assert_eq!(r.outcome, values(&["0"]));
    Ok(())
}

#[test]
fn deep_recursion_traps_at_the_depth_limit() -> Result<(), kiln::Error> {
    let (executor, bytes) = (interp()?, example());
    let r = run(&executor, &bytes, "deep", &["0"], 10_000_000);
    assert_eq!(r.outcome, Outcome::Trap("call stack exhausted".into()));
    Ok(())
}

#[test]
fn out_of_bounds_access_traps() -> Result<(), kiln::Error> {
    let (executor, bytes) = (interp()?, example());
    let r = run(&executor, &bytes, "oob", &[], 1000);
    assert_eq!(
        r.outcome,
        Outcome::Trap("out of bounds memory access".into())
    );
    Ok(())
}

#[test]
fn bad_jobs_are_errors() -> Result<(), kiln::Error> {
    let (executor, bytes) = (interp()?, example());
    let error = |r: JobResult| matches!(r.outcome, Outcome::Error(_));
    assert!(error(run(&executor, &bytes, "missing", &[], 1000)));
    assert!(error(run(&executor, &bytes, "fib", &[], 1000)));
    assert!(error(run(&executor, &bytes, "fib", &["x"], 1000)));
    assert!(error(run(&executor, &bytes, "fib", &["1"], u64::MAX)));
    let mut big = job(&bytes, "reverse", &[], 1000);
    big.input = vec![0; limits().max_input_bytes + 1];
    assert!(error(executor.run(&big, &bytes)));
    let mut bad_id = job(&bytes, "fib", &["1"], 1000);
    bad_id.module = "nope".into();
    assert!(error(executor.run(&bad_id, &bytes)));
    Ok(())
}

#[test]
fn modules_outside_the_host_api_or_invalid_are_refused() -> Result<(), kiln::Error> {
    let executor = interp()?;
    let wasm = |wat: &str| kiln::wat2wasm(wat.as_bytes()).map(|b| b.into_owned());
    let clock = wasm(r#"(module (import "wasi_snapshot_preview1" "clock_time_get" (func)))"#)?;
    assert!(matches!(
        executor.validate(&clock),
        Err(RejectReason::Import { .. })
    ));
    let wrong_type = wasm(r#"(module (import "kiln" "input_len" (func (result i64))))"#)?;
    assert!(matches!(
        executor.validate(&wrong_type),
        Err(RejectReason::Import { .. })
    ));
    let memory = wasm(r#"(module (import "kiln" "memory" (memory 1)))"#)?;
    assert!(executor.validate(&memory).is_err());
    let invalid = wasm("(module (func (result i32) i64.const 0))")?;
    assert!(matches!(
        executor.validate(&invalid),
        Err(RejectReason::Kiln(kiln::Error::Invalid(_)))
    ));
    assert!(matches!(
        executor.validate(b"(module)"),
        Err(RejectReason::NotBinary)
    ));
    assert!(executor.validate(b"\0asm\x01\0\0").is_err(), "truncated");
    assert!(executor.validate(&example()).is_ok());
    Ok(())
}

#[test]
fn a_start_function_that_traps_is_a_trap_result() -> Result<(), kiln::Error> {
    let executor = interp()?;
    let bytes = kiln::wat2wasm(b"(module (func $s unreachable) (start $s) (func (export \"f\")))")?
        .into_owned();
    let r = run(&executor, &bytes, "f", &[], 1000);
    assert_eq!(r.outcome, Outcome::Trap("unreachable".into()));
    Ok(())
}

/// Every export of the example module gives the same result, fuel included,
/// on the interpreter, the JIT and the tiered strategy (where the JIT runs).
#[test]
fn both_tiers_agree() -> Result<(), kiln::Error> {
    for strategy in [Strategy::Jit, Strategy::Tiered] {
        tiers_agree(strategy)?;
    }
    Ok(())
}

fn tiers_agree(strategy: Strategy) -> Result<(), kiln::Error> {
    let jit = match Executor::new(strategy, limits()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("skipped: the JIT is not available here ({e})");
            return Ok(());
        }
    };
    let (interp, bytes) = (interp()?, example());
    let cases: &[(&str, &[&str], u64)] = &[
        ("fib", &["90"], 100_000),
        ("fib", &["1000"], 3_000),
        ("nan", &[], 1000),
        ("spin", &[], 20_000),
        ("bomb", &["1"], 1_000_000),
        ("deep", &["0"], 10_000_000),
        ("oob", &[], 1000),
    ];
    for (export, args, fuel) in cases {
        let mut j = job(&bytes, export, args, *fuel);
        j.input = b"input".to_vec();
        assert_eq!(
            interp.run(&j, &bytes),
            jit.run(&j, &bytes),
            "{export}{args:?} with {fuel} fuel"
        );
    }
    let mut j = job(&bytes, "reverse", &[], 100_000);
    j.input = b"both tiers".to_vec();
    assert_eq!(interp.run(&j, &bytes), jit.run(&j, &bytes));
    Ok(())
}

/// SIMD and relaxed SIMD jobs run, with vector arguments and results, NaN
/// lanes canonical, and the same result and fuel on both tiers.
#[test]
fn simd_jobs_are_deterministic_on_both_tiers() -> Result<(), kiln::Error> {
    let bytes = kiln::wat2wasm(
        br#"(module
          (func (export "lanes") (param v128 v128) (result v128)
            (f32x4.relaxed_madd (local.get 0) (local.get 1) (f32x4.sqrt (local.get 1))))
          (func (export "sum") (param v128) (result i32)
            (i32x4.extract_lane 0
              (i32x4.add (local.get 0) (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11
                (local.get 0) (local.get 0))))))"#,
    )
    .map(|b| b.into_owned())
    .unwrap_or_default();
    let interp = interp()?;
    // a * b + sqrt(b), lane by lane: 4 * 4 + 2 = 18; a NaN with a payload
    // (canonical in the result); 0 * -1 + sqrt(-1), a NaN; 2 * 0.25 + 0.5 = 1.
    let a = "v128:0x40000000000000007fc0123440800000"; // [4.0, NaN(0x123400), 0, 2.0] (lane 0 lowest)
    let b = "v128:0x3e800000bf8000003f80000040800000"; // [4.0, 1.0, -1.0, 0.25]
    let r = run(&interp, &bytes, "lanes", &[a, b], 1000);
    assert_eq!(
        r.outcome,
        values(&["v128:0x3f8000007fc000007fc0000041900000"]),
        "{r:?}"
    );
    let r = run(
        &interp,
        &bytes,
        "sum",
        &["0x00000004000000030000000200000001"],
        1000,
    );
    assert_eq!(r.outcome, values(&["3"]));
    if let Ok(jit) = Executor::new(Strategy::Jit, limits()) {
        for (export, args) in [("lanes", [a, b].as_slice()), ("sum", &["0x1"])] {
            let j = job(&bytes, export, args, 1000);
            assert_eq!(interp.run(&j, &bytes), jit.run(&j, &bytes), "{export}");
        }
    }
    Ok(())
}

/// Jobs using typed function references and exception handling run, and an
/// exception no handler catches is a trap result; the same result and fuel
/// on both tiers.
#[test]
fn reference_and_exception_jobs_are_deterministic_on_both_tiers() -> Result<(), kiln::Error> {
    let bytes = kiln::wat2wasm(
        br#"(module
          (type $f (func (param i32) (result i32)))
          (tag $e (param i32))
          (func $inc (type $f) (i32.add (local.get 0) (i32.const 1)))
          (elem declare func $inc)
          (func $check (param i32)
            (if (i32.gt_u (local.get 0) (i32.const 10)) (then (throw $e (local.get 0)))))
          (func (export "caught") (param i32) (result i32)
            (block $h (result i32)
              (try_table (catch $e $h)
                (call $check (call_ref $f (local.get 0) (ref.func $inc)))
                (return (i32.const -1)))
              (unreachable))
            (i32.mul (i32.const 2)))
          (func (export "uncaught") (param i32) (result i32)
            (call $check (local.get 0))
            (local.get 0)))"#,
    )
    .map(|b| b.into_owned())
    .unwrap_or_default();
    let interp = interp()?;
    assert_eq!(
        run(&interp, &bytes, "caught", &["20"], 1000).outcome,
        values(&["42"])
    );
    assert_eq!(
        run(&interp, &bytes, "caught", &["3"], 1000).outcome,
        values(&["-1"])
    );
    let r = run(&interp, &bytes, "uncaught", &["11"], 1000);
    assert!(
        matches!(&r.outcome, kiln_netnode::Outcome::Trap(m) if m.contains("exception")),
        "{r:?}"
    );
    if let Ok(jit) = Executor::new(Strategy::Jit, limits()) {
        for (export, arg) in [("caught", "20"), ("caught", "3"), ("uncaught", "11")] {
            let j = job(&bytes, export, &[arg], 1000);
            assert_eq!(
                interp.run(&j, &bytes),
                jit.run(&j, &bytes),
                "{export}({arg})"
            );
        }
    }
    Ok(())
}
