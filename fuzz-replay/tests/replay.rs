//! Replays every fuzz target over its committed corpus in
//! `fuzz/corpus/<target>/`, and the `differential` target over fixed
//! `wasm-smith` seeds, on stable Rust. An input that libFuzzer once found and
//! that was fixed is added to the corpus, so it stays fixed.
//!
//! A failing test lists every failing input, not only the first;
//! `KILN_REPLAY_VERBOSE=1` names each input before it runs.
//! `KILN_REPLAY=<file> cargo test -p kiln-fuzz-replay one_file -- --nocapture`
//! replays one file through every target, printing each outcome, and writes
//! the module `wasm-smith` builds from it to `<file>.wasm` (for
//! `wasm2wat`), to debug a finding; a `.wasm` or `.wat` file is run on every
//! engine as it is.

use std::path::{Path, PathBuf};

use kiln_fuzz_replay::differential::{
    Agreement, SimdUse, simd_use, smith_module, uses_exceptions, uses_function_references,
};
use kiln_fuzz_replay::{
    Finding, differential_outcome, differential_wasm, gc_smith_config, gc_validate_outcome,
    node_input_outcome, parse_validate_outcome, seeded_input, wat_outcome,
};

/// `wasm-smith` seeds for the `differential` target.
const DIFFERENTIAL_SEEDS: u64 = 1000;
/// The fewest of the seeds' modules that must use SIMD and be compared three
/// ways, and relaxed SIMD (compared on Kiln's tiers): with `wasm-smith` 0.263
/// almost every module uses `v128`, and the modules without relaxed SIMD are
/// compared three ways only if they use neither exception handling nor typed
/// function references (139 and 468 of the 1000 seeds' modules today; see
/// `differential::smith_config`), so a lower count means the generator or the
/// harness stopped producing them.
const MIN_SIMD_MODULES: usize = 100;
const MIN_RELAXED_MODULES: usize = 300;
/// The fewest without relaxed SIMD that must use exception handling, and
/// typed function references (each knob is on for half the inputs; a module
/// can use both; 268 and 250 today).
const MIN_EXCEPTION_MODULES: usize = 150;
const MIN_TYPED_REF_MODULES: usize = 150;
/// At least this many runs whose tiered side switched to native code in
/// the middle of a call (`kiln_side::TierUp`).
const MIN_TIER_UPS: usize = 50;

/// At least this many stops for fuel, each resumed, of the calls the
/// differential splits at random fuel points (105,000 today).
const MIN_RESUMED: u64 = 50_000;

/// The corpus folder of a target.
fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

/// Every file of a target's corpus, sorted by name.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| {
            let bytes = std::fs::read(e.path())
                .unwrap_or_else(|err| panic!("reading {}: {err}", e.path().display()));
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    files.sort();
    files
}

/// Runs `check` on every input, then fails with every finding, if any.
fn replay<'a>(
    target: &str,
    inputs: impl IntoIterator<Item = (String, &'a [u8])>,
    mut check: impl FnMut(&[u8]) -> Result<(), Finding>,
) -> usize {
    let mut count = 0;
    let mut findings = Vec::new();
    let verbose = std::env::var_os("KILN_REPLAY_VERBOSE").is_some();
    for (name, bytes) in inputs {
        count += 1;
        if verbose {
            eprintln!("{target}/{name}");
        }
        // A panic outside Kiln (in the oracle or the harness) is a finding too.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(bytes)))
            .unwrap_or_else(|_| Err(Finding("the check itself panicked".into())));
        if let Err(f) = outcome {
            findings.push(format!("{target}/{name}: {f}"));
        }
    }
    assert!(
        findings.is_empty(),
        "{} of {count} {target} inputs failed:\n\n{}",
        findings.len(),
        findings.join("\n\n")
    );
    count
}

#[test]
fn parse_validate_corpus() {
    let files = corpus("parse_validate");
    assert!(files.len() >= 10, "the parse_validate corpus is missing");
    replay(
        "parse_validate",
        files.iter().map(|(n, b)| (n.clone(), b.as_slice())),
        parse_validate_outcome,
    );
}

/// `wasm-smith` seeds for the `gc_validate` check.
const GC_VALIDATE_SEEDS: u64 = 1000;

/// Valid GC modules (and copies with a byte changed) get the same verdict
/// from Kiln's validator as from `wasmparser`'s.
#[test]
fn gc_validate_seeds() {
    let inputs: Vec<(String, Vec<u8>)> = (0..GC_VALIDATE_SEEDS)
        .map(|s| (format!("seed {s}"), seeded_input(0x4743_5641, s)))
        .collect();
    // The seeds must give GC modules: struct or array types, or GC
    // instructions, in most of the valid ones.
    let gc_modules = inputs
        .iter()
        .filter(|(_, b)| {
            let mut u = arbitrary::Unstructured::new(&b[1..]);
            wasm_smith::Module::new(gc_smith_config(false), &mut u).is_ok_and(|m| {
                let wasm = m.to_bytes();
                kiln_parser::parse(&wasm, kiln_parser::Features::ALL_WITH_GC)
                    .ok()
                    .and_then(|ir| {
                        kiln_validator::validate(&ir, kiln_parser::Features::ALL_WITH_GC).ok()
                    })
                    .is_some_and(|info| info.uses_gc)
            })
        })
        .count();
    assert!(
        gc_modules >= GC_VALIDATE_SEEDS as usize / 4,
        "only {gc_modules} of {GC_VALIDATE_SEEDS} seeds gave a module that uses GC"
    );
    replay(
        "gc_validate",
        inputs.iter().map(|(n, b)| (n.clone(), b.as_slice())),
        gc_validate_outcome,
    );
}

#[test]
fn gc_validate_corpus() {
    let files = corpus("gc_validate");
    assert!(files.len() >= 10, "the gc_validate corpus is missing");
    replay(
        "gc_validate",
        files.iter().map(|(n, b)| (n.clone(), b.as_slice())),
        gc_validate_outcome,
    );
}

#[test]
fn wat_corpus() {
    let files = corpus("wat");
    assert!(files.len() >= 10, "the wat corpus is missing");
    replay(
        "wat",
        files.iter().map(|(n, b)| (n.clone(), b.as_slice())),
        wat_outcome,
    );
}

#[test]
fn differential_corpus() {
    let files = corpus("differential");
    assert!(files.len() >= 10, "the differential corpus is missing");
    replay(
        "differential",
        files.iter().map(|(n, b)| (n.clone(), b.as_slice())),
        |b| differential_outcome(b).map(drop),
    );
}

#[test]
fn node_input_corpus() {
    let files = corpus("node_input");
    assert!(files.len() >= 10, "the node_input corpus is missing");
    replay(
        "node_input",
        files.iter().map(|(n, b)| (n.clone(), b.as_slice())),
        node_input_outcome,
    );
}

/// Where wasmi 2.0.0, the oracle, is wrong, with what Kiln must compute
/// instead. Each case keeps the differential harness away from the pattern
/// (the comment at its use says how); the test fails when wasmi starts to
/// agree, so that the workaround can go.
#[test]
fn known_oracle_bugs() {
    // `select(1, d, i32.eqz(d))` as a divisor, the guard wasm-smith's
    // `disallow_traps` emits: wasmi divides by 1 whatever `d` is.
    let wat = r#"(module
        (func (export "div") (param i32) (result i32)
          (i32.div_u (i32.const 100)
            (select (i32.const 1) (local.get 0) (i32.eqz (local.get 0))))))"#;
    let wasm = wat::parse_str(wat).expect("the module is well-formed text");
    let engine = kiln::Engine::default();
    let module = kiln::Module::new(&engine, &wasm).expect("Kiln compiles the module");
    let mut store = kiln::Store::new(&engine, ());
    let instance = kiln::Linker::new(&engine)
        .instantiate(&mut store, &module)
        .expect("Kiln instantiates the module");
    let div = instance
        .get_typed_func::<i32, i32>(&store, "div")
        .expect("the export is `div`");
    assert_eq!(div.call(&mut store, 7).expect("no trap"), 14);
    assert_eq!(div.call(&mut store, 0).expect("no trap"), 100);
    let finding = kiln_fuzz_replay::differential_wasm(&wasm)
        .expect_err("wasmi 2.0.0 divides by 1: if it now agrees, allow `disallow_traps` again");
    assert!(finding.0.contains("wasmi: returned [i32 100]"), "{finding}");
}

/// A module reduced from a `differential` finding (`cargo fuzz tmin`) on
/// which wasmi 2.0.0 leaves another value in global `4` after the fourth call
/// than Kiln's tiers do, and a different one in a debug and an optimised
/// build; wasmtime 48, made the oracle in the fuzz build, agrees with Kiln on
/// it and on the input it was reduced from (see `fuzz/README.md`).
const WASMI_GLOBAL_AFTER_SIMD_BRANCH: &str = r#"(module
  (type (;0;) (func (param f32) (result externref)))
  (func (;0;) (type 0) (param f32) (result externref)
    loop (result f32)  ;; label = @1
      i64.const -17179869185
      f32.convert_i64_s
      local.set 0
      f32.const -0x1.fffffep+127 (;=-3.40282e+38;)
    end
    i32.reinterpret_f32
    global.get 0
    i32.xor
    global.set 0
    ref.null extern)
  (func (;1;) (type 0) (param f32) (result externref)
    block  ;; label = @1
    end
    ref.null extern)
  (func (;2;) (type 0) (param f32) (result externref)
    i32.const -134217729
    i32.const 511
    f32.convert_i32_u
    i64.trunc_f32_s
    block  ;; label = @1
      block (result f32)  ;; label = @2
        f32.const 0x1.fep-142 (;=3.57331e-43;)
      end
      drop
    end
    global.get 1
    i64.xor
    global.set 1
    global.get 2
    i32.xor
    global.set 2
    ref.null extern)
  (func (;3;) (type 0) (param f32) (result externref)
    f64.const -nan:0xffffffffff000 (;=-nan;)
    local.get 0
    i32.const 1949502122
    f32.convert_i32_u
    loop (param f32) (result externref)  ;; label = @1
      f64.const 0x1.fffffffffffffp-1008 (;=7.29112e-304;)
      i32.const -931240572
      i8x16.splat
      i16x8.extract_lane_s 1
      i32.ctz
      i64.extend_i32_s
      f64.convert_i64_s
      f64.eq
      if (param f32) (result externref)  ;; label = @2
        i64.trunc_sat_f32_u
        i64.eqz
        block  ;; label = @3
        end
        global.get 2
        i32.xor
        global.set 2
        ref.null extern
      else
        i32.reinterpret_f32
        global.get 0
        i32.xor
        global.set 0
        ref.null extern
      end
    end
    drop
    i32.reinterpret_f32
    global.get 0
    i32.xor
    global.set 0
    i64.reinterpret_f64
    global.get 3
    i64.xor
    global.set 3
    ref.null extern)
  (global (;0;) (mut i32) (i32.const 0))
  (global (;1;) (mut i64) (i64.const 0))
  (global (;2;) (mut i32) (i32.const 0))
  (global (;3;) (mut i64) (i64.const 0))
  (export "" (func 0))
  (export "1" (func 1))
  (export "2" (func 2))
  (export "3" (func 3))
  (export "4" (global 0)))"#;

#[test]
fn wasmi_differs_after_a_simd_branch_where_wasmtime_agrees_with_kiln() {
    let wasm = wat::parse_str(WASMI_GLOBAL_AFTER_SIMD_BRANCH).expect("well-formed text");
    let finding = kiln_fuzz_replay::differential_wasm(&wasm)
        .expect_err("wasmi 2.0.0 differs: if it now agrees, remove this test");
    let finding = finding.0;
    assert!(
        finding.contains("Kiln and wasmi differ in exported state after round 0, call 3"),
        "{finding}"
    );
    // Kiln's value, which wasmtime computes too.
    assert!(finding.contains("Kiln i32 -23619094"), "{finding}");
}

/// What the `differential` seeds ran, for one kind of module.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    modules: usize,
    instantiated: usize,
    calls: usize,
    out_of_fuel: usize,
    /// Stops for fuel of calls split at random fuel points, each resumed.
    resumed: u64,
    /// Runs whose tiered side switched to native code in the middle of a
    /// call.
    tier_ups: usize,
}

#[test]
fn differential_seeds() {
    let inputs: Vec<(String, Vec<u8>)> = (0..DIFFERENTIAL_SEEDS)
        .map(|s| (format!("seed {s}"), seeded_input(0x4b49_4c4e, s)))
        .collect();
    let (mut scalar, mut simd, mut relaxed) = <[Tally; 3]>::default().into();
    let (mut exceptions, mut typed_refs) = <[Tally; 2]>::default().into();
    replay(
        "differential",
        inputs.iter().map(|(n, b)| (n.clone(), b.as_slice())),
        |b| {
            let Some(wasm) = smith_module(b) else {
                return Ok(());
            };
            // Relaxed SIMD first: such a module is compared on Kiln's tiers
            // only, whatever else it uses; then the 3.0 proposals wasmi
            // lacks (a module can count for both).
            let simd_use = simd_use(&wasm);
            let proposals = simd_use != SimdUse::Relaxed;
            let mut tallies = Vec::new();
            if proposals && uses_exceptions(&wasm) {
                tallies.push(&mut exceptions);
            }
            if proposals && uses_function_references(&wasm) {
                tallies.push(&mut typed_refs);
            }
            if tallies.is_empty() {
                tallies.push(match simd_use {
                    SimdUse::None => &mut scalar,
                    SimdUse::Simd => &mut simd,
                    SimdUse::Relaxed => &mut relaxed,
                });
            }
            let outcome = differential_wasm(&wasm)?;
            for tally in tallies {
                tally.modules += 1;
                if let Agreement::Complete {
                    calls,
                    out_of_fuel,
                    resumed,
                    tiered_up,
                } = outcome
                {
                    tally.instantiated += 1;
                    tally.calls += calls;
                    tally.out_of_fuel += out_of_fuel;
                    tally.resumed += resumed;
                    tally.tier_ups += usize::from(tiered_up);
                }
            }
            Ok(())
        },
    );
    let kinds = [
        ("without SIMD (three ways)", scalar),
        ("with SIMD (three ways)", simd),
        ("with relaxed SIMD (Kiln's tiers only)", relaxed),
        ("with exception handling (Kiln's tiers only)", exceptions),
        (
            "with typed function references (Kiln's tiers only)",
            typed_refs,
        ),
    ];
    for (kind, t) in &kinds {
        println!(
            "{} modules {kind}, {} instantiated alike; {} calls compared, {} exports out of fuel; \
             split calls stopped and resumed {} times; {} switched to native code mid-call",
            t.modules, t.instantiated, t.calls, t.out_of_fuel, t.resumed, t.tier_ups
        );
    }
    let tier_ups: usize = kinds.iter().map(|(_, t)| t.tier_ups).sum();
    assert!(
        tier_ups >= MIN_TIER_UPS,
        "only {tier_ups} runs switched to native code in the middle of a call"
    );
    let resumed: u64 = kinds.iter().map(|(_, t)| t.resumed).sum();
    assert!(
        resumed >= MIN_RESUMED,
        "calls split at fuel points stopped only {resumed} times"
    );
    assert!(
        simd.modules >= MIN_SIMD_MODULES && relaxed.modules >= MIN_RELAXED_MODULES,
        "too few SIMD ({}) or relaxed SIMD ({}) modules among the seeds",
        simd.modules,
        relaxed.modules
    );
    assert!(
        exceptions.modules >= MIN_EXCEPTION_MODULES && typed_refs.modules >= MIN_TYPED_REF_MODULES,
        "too few modules with exception handling ({}) or typed function references ({}) \
         among the seeds",
        exceptions.modules,
        typed_refs.modules
    );
}

/// Hand-written modules at the edges where the engines' limits meet: the
/// call-depth limit must stop recursion at the same depth on both (a global
/// counts the frames entered), and a loop must end on fuel on both.
#[test]
fn limits_agree() {
    let modules = [
        r#"(module
            (global $depth (export "depth") (mut i32) (i32.const 0))
            (func $down (export "down")
              (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
              (call $down)))"#,
        r#"(module
            (global $depth (export "depth") (mut i32) (i32.const 0))
            (func $down (export "down") (param i32) (result i32)
              (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
              (if (result i32) (i32.eqz (local.get 0))
                (then (i32.const 0))
                (else (i32.add (i32.const 1)
                  (call $down (i32.sub (local.get 0) (i32.const 1))))))))"#,
        r#"(module (func (export "spin") (loop (br 0))))"#,
    ];
    for wat in modules {
        let wasm = wat::parse_str(wat).expect("the module is well-formed text");
        let agreement =
            kiln_fuzz_replay::differential_wasm(&wasm).unwrap_or_else(|f| panic!("{f}\nin {wat}"));
        println!("{agreement:?}");
    }
}

/// Replays the file named by `KILN_REPLAY`, if any (see the module docs).
#[test]
fn one_file() {
    let Some(path) = std::env::var_os("KILN_REPLAY") else {
        return;
    };
    let bytes = std::fs::read(&path).expect("KILN_REPLAY names a readable file");
    if Path::new(&path)
        .extension()
        .is_some_and(|e| e == "wasm" || e == "wat")
    {
        // A module itself: run it on every engine.
        let wasm = kiln::wat2wasm(&bytes).expect("the module is well-formed text");
        println!("SIMD use: {:?}", simd_use(&wasm));
        match differential_wasm(&wasm) {
            Ok(agreement) => println!("differential: {agreement:?}"),
            Err(finding) => println!("differential: {finding}"),
        }
        return;
    }
    println!("parse_validate: {:?}", parse_validate_outcome(&bytes));
    println!("wat: {:?}", wat_outcome(&bytes));
    println!("node_input: {:?}", node_input_outcome(&bytes));
    if let Some(wasm) = smith_module(&bytes) {
        let out = PathBuf::from(format!("{}.wasm", Path::new(&path).display()));
        std::fs::write(&out, &wasm).expect("the module can be written beside the input");
        println!("wasm-smith module written to {}", out.display());
        println!("SIMD use: {:?}", simd_use(&wasm));
    }
    match differential_outcome(&bytes) {
        Ok(agreement) => println!("differential: {agreement:?}"),
        Err(finding) => println!("differential: {finding}"),
    }
}
