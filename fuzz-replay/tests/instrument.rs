//! `kiln::instrument` against Kiln's fuel, over `wasm-smith` modules from
//! fixed seeds: the rewritten module, run without fuel on Kiln's interpreter,
//! on its JIT and on wasmi, must do exactly what the original does on Kiln's
//! two tiers with fuel.
//!
//! Every module the differential target would build from a seed (no
//! imports, so the rewritten module's counters see all it runs) is rewritten
//! with the harness's call-depth limit and [`LARGE_BUDGET`] as its initial
//! fuel (what a start function runs on, as the original's instantiation
//! does), then instantiated on the five sides of [`SIDES`]. Every exported
//! function is called as the differential target calls it ([`argument`],
//! [`ROUNDS`] rounds), each call twice: on a small budget
//! ([`small_budget`]), so that many run out of fuel part-way, and then on
//! [`LARGE_BUDGET`]. After instantiation and after
//! every run, each side must match the reference (the original on the
//! interpreter) exactly: the same results (floats and `v128`s by bits,
//! references by nullness) or trap (out of fuel and call stack exhausted
//! read from `kiln_status` on the rewritten sides), the same fuel left
//! (`Store::get_fuel`, or the `kiln_fuel` global), and the same exported
//! memories, globals and tables. wasmi runs every module but those with
//! exception handling or typed function references, which it lacks; relaxed
//! SIMD included, since the rewriting replaces it by its deterministic
//! profile.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

use kiln::instrument::{
    DEPTH_EXPORT, FUEL_EXPORT, InstrumentConfig, InstrumentError, STATUS_CALL_STACK_EXHAUSTED,
    STATUS_EXPORT, STATUS_OUT_OF_FUEL, instrument,
};
use kiln::{Features, Strategy, ValType};
use kiln_fuzz_replay::differential::{
    Exports, MAX_CALL_DEPTH, ROUNDS, Snapshot, Step, TrapKind, Value, argument, kiln_side,
    smith_module, uses_exceptions, uses_function_references, wasmi_side,
};
use kiln_fuzz_replay::seeded_input;

/// Seeds, of their own series (not the differential test's).
const SEEDS: u64 = 1000;
const SERIES: u64 = 0x494e_5354;
/// Every call's second budget, and the fuel of instantiation.
const LARGE_BUDGET: u64 = 100_000;
/// The engines' own depth limit on the rewritten sides: only the rewriting's
/// counter (at [`MAX_CALL_DEPTH`]) may stop recursion.
const ENGINE_CALL_DEPTH: u32 = 2 * MAX_CALL_DEPTH;
/// The fewest runs each side must have compared with the reference (6,236
/// today, wasmi 1,636: it runs a quarter of the modules), and the fewest
/// reference runs that must have run out of fuel (1,880) and call depth
/// (342), so that a harness that stopped comparing, or a rewriting that
/// stopped counting, cannot pass.
const MIN_RUNS: usize = 4_000;
const MIN_WASMI_RUNS: usize = 1_000;
const MIN_OUT_OF_FUEL: usize = 1_000;
const MIN_EXHAUSTED: usize = 150;
/// How many findings the failure message lists.
const LISTED: usize = 20;

const SIDES: [&str; 5] = [
    "interp+fuel",
    "jit+fuel",
    "interp/instrumented",
    "jit/instrumented",
    "wasmi/instrumented",
];
const WASMI: usize = 4;

/// The `k`-th call's first budget in a module: 1 to 60 units, spread.
fn small_budget(k: u64) -> u64 {
    1 + k.wrapping_mul(7919) % 60
}

/// One engine running the module, original or rewritten.
trait Side {
    /// Calls export `name` on `budget`: how it ended.
    fn call(&mut self, name: &str, args: &[Value], budget: u64) -> Step;
    /// The fuel left after instantiation or the last call.
    fn fuel(&self) -> u64;
    fn snapshot(&self, exports: &Exports) -> Snapshot;
}

/// The original on one of Kiln's tiers, with fuel.
struct Original {
    store: kiln::Store<()>,
    instance: kiln::Instance,
}

/// The rewritten module on one of Kiln's tiers, without fuel.
struct KilnRewritten {
    store: kiln::Store<()>,
    instance: kiln::Instance,
    /// `kiln_fuel`, `kiln_status`, `kiln_depth`.
    counters: [kiln::Global; 3],
}

/// The rewritten module on wasmi, without fuel.
struct WasmiRewritten {
    store: wasmi::Store<wasmi::StoreLimits>,
    instance: wasmi::Instance,
    counters: [wasmi::Global; 3],
}

/// Compiles and instantiates `wasm` on Kiln under `config` (instantiation
/// on [`LARGE_BUDGET`] when it meters fuel).
fn kiln_instance(
    wasm: &[u8],
    config: &kiln::Config,
    fuel: bool,
) -> Result<(kiln::Store<()>, kiln::Instance), Step> {
    let engine = kiln::Engine::new(config).map_err(kiln_side::failed)?;
    let module = kiln::Module::new(&engine, wasm).map_err(kiln_side::failed)?;
    let mut store = kiln::Store::new(&engine, ());
    if fuel {
        store.set_fuel(LARGE_BUDGET).map_err(kiln_side::failed)?;
    }
    let instance = kiln::Linker::new(&engine)
        .instantiate(&mut store, &module)
        .map_err(kiln_side::failed)?;
    Ok((store, instance))
}

fn kiln_call(
    store: &mut kiln::Store<()>,
    instance: &kiln::Instance,
    name: &str,
    args: &[Value],
) -> Step {
    let Some(func) = instance.get_func(&*store, name) else {
        return Step::Failed(format!("no exported function `{name}`"));
    };
    let ty = func.ty(&*store);
    let params: Vec<kiln::Val> = args.iter().map(|&a| kiln_side::to_val(a)).collect();
    let mut results: Vec<kiln::Val> = ty
        .results
        .iter()
        .map(|&t| kiln::Val::default_for(t))
        .collect();
    match func.call(&mut *store, &params, &mut results) {
        Ok(()) => Step::Returned(results.iter().map(kiln_side::from_val).collect()),
        Err(e) => kiln_side::failed(e),
    }
}

/// Whether a rewritten module's failed instantiation ends as the
/// reference's: its `kiln_status` cannot be read without an instance, so an
/// `unreachable` there stands for out of fuel and out of call depth too.
fn same_instantiation(side: usize, reference: &Step, step: &Step) -> bool {
    let status_unread = side >= 2
        && matches!(
            (reference, step),
            (
                Step::Trapped(TrapKind::OutOfFuel | TrapKind::CallStackExhausted),
                Step::Trapped(TrapKind::Unreachable)
            )
        );
    status_unread || same_step(side, reference, step)
}

/// A rewritten module's step, given its `kiln_status` after it.
fn classify(step: Step, status: i32) -> Step {
    match (status, step) {
        (STATUS_OUT_OF_FUEL, Step::Trapped(TrapKind::Unreachable)) => {
            Step::Trapped(TrapKind::OutOfFuel)
        }
        (STATUS_CALL_STACK_EXHAUSTED, Step::Trapped(TrapKind::Unreachable)) => {
            Step::Trapped(TrapKind::CallStackExhausted)
        }
        (0, Step::Trapped(TrapKind::CallStackExhausted)) => Step::Trapped(TrapKind::Other(
            "call stack exhausted by the engine's own limit".into(),
        )),
        (0, step) => step,
        (s, step) => Step::Trapped(TrapKind::Other(format!("kiln_status {s} after {step}"))),
    }
}

impl Side for Original {
    fn call(&mut self, name: &str, args: &[Value], budget: u64) -> Step {
        if let Err(e) = self.store.set_fuel(budget) {
            return kiln_side::failed(e);
        }
        kiln_call(&mut self.store, &self.instance, name, args)
    }

    fn fuel(&self) -> u64 {
        self.store.get_fuel().unwrap_or(u64::MAX)
    }

    fn snapshot(&self, exports: &Exports) -> Snapshot {
        kiln_side::snapshot(&self.store, &self.instance, exports)
    }
}

impl KilnRewritten {
    fn new(wasm: &[u8], strategy: Strategy) -> Result<KilnRewritten, Step> {
        let mut config = kiln_side::config(strategy);
        config
            .consume_fuel(false)
            .nan_canonicalization(false)
            .max_call_depth(ENGINE_CALL_DEPTH);
        let (store, instance) = kiln_instance(wasm, &config, false)?;
        let global = |name| instance.get_global(&store, name);
        let (Some(f), Some(s), Some(d)) = (
            global(FUEL_EXPORT),
            global(STATUS_EXPORT),
            global(DEPTH_EXPORT),
        ) else {
            return Err(Step::Failed("the counters are not exported".into()));
        };
        Ok(KilnRewritten {
            store,
            instance,
            counters: [f, s, d],
        })
    }
}

impl Side for KilnRewritten {
    fn call(&mut self, name: &str, args: &[Value], budget: u64) -> Step {
        let [fuel, status, depth] = self.counters;
        let set = [
            (fuel, kiln::Val::I64(budget as i64)),
            (status, kiln::Val::I32(0)),
            (depth, kiln::Val::I32(0)),
        ];
        for (global, value) in set {
            if let Err(e) = global.set(&mut self.store, value) {
                return kiln_side::failed(e);
            }
        }
        let step = kiln_call(&mut self.store, &self.instance, name, args);
        match status.get(&self.store) {
            kiln::Val::I32(s) => classify(step, s),
            _ => Step::Failed("kiln_status is not an i32".into()),
        }
    }

    fn fuel(&self) -> u64 {
        match self.counters[0].get(&self.store) {
            kiln::Val::I64(left) => left as u64,
            _ => u64::MAX,
        }
    }

    fn snapshot(&self, exports: &Exports) -> Snapshot {
        kiln_side::snapshot(&self.store, &self.instance, exports)
    }
}

impl WasmiRewritten {
    fn new(wasm: &[u8]) -> Result<WasmiRewritten, Step> {
        let engine = wasmi::Engine::new(&wasmi_side::config(false, ENGINE_CALL_DEPTH));
        let module = wasmi::Module::new(&engine, wasm).map_err(wasmi_side::failed)?;
        let mut store = wasmi::Store::new(&engine, wasmi_side::limits());
        store.limiter(|limits| limits);
        let instance = wasmi::Linker::new(&engine)
            .instantiate_and_start(&mut store, &module)
            .map_err(wasmi_side::failed)?;
        let global = |name| instance.get_global(&store, name);
        let (Some(f), Some(s), Some(d)) = (
            global(FUEL_EXPORT),
            global(STATUS_EXPORT),
            global(DEPTH_EXPORT),
        ) else {
            return Err(Step::Failed("the counters are not exported".into()));
        };
        Ok(WasmiRewritten {
            store,
            instance,
            counters: [f, s, d],
        })
    }
}

impl Side for WasmiRewritten {
    fn call(&mut self, name: &str, args: &[Value], budget: u64) -> Step {
        let [fuel, status, depth] = self.counters;
        let set = [
            (fuel, wasmi::Val::I64(budget as i64)),
            (status, wasmi::Val::I32(0)),
            (depth, wasmi::Val::I32(0)),
        ];
        for (global, value) in set {
            if let Err(e) = global.set(&mut self.store, value) {
                return Step::Failed(format!("setting a counter: {e}"));
            }
        }
        let Some(func) = self.instance.get_func(&self.store, name) else {
            return Step::Failed(format!("no exported function `{name}`"));
        };
        let ty = func.ty(&self.store);
        let params: Vec<wasmi::Val> = args.iter().map(|&a| wasmi_side::to_val(a)).collect();
        let mut results: Vec<wasmi::Val> = ty
            .results()
            .iter()
            .map(|&t| wasmi::Val::default_for_ty(t))
            .collect();
        let step = match func.call(&mut self.store, &params, &mut results) {
            Ok(()) => Step::Returned(results.iter().map(wasmi_side::from_val).collect()),
            Err(e) => wasmi_side::failed(e),
        };
        match status.get(&self.store) {
            wasmi::Val::I32(s) => classify(step, s),
            _ => Step::Failed("kiln_status is not an i32".into()),
        }
    }

    fn fuel(&self) -> u64 {
        match self.counters[0].get(&self.store) {
            wasmi::Val::I64(left) => left as u64,
            _ => u64::MAX,
        }
    }

    fn snapshot(&self, exports: &Exports) -> Snapshot {
        wasmi_side::snapshot(&self.store, &self.instance, exports)
    }
}

/// What the seeds ran.
#[derive(Debug, Default)]
struct Tally {
    modules: usize,
    /// Modules Kiln rejects (the differential target's business), and those
    /// that already export a counter's name.
    rejected: usize,
    name_taken: usize,
    /// Modules whose instantiation failed or trapped, alike everywhere.
    not_instantiated: usize,
    /// Modules run on wasmi too.
    on_wasmi: usize,
    /// Runs compared with the reference, per side.
    runs: [usize; 5],
    /// Reference runs by how they ended.
    out_of_fuel: usize,
    exhausted: usize,
    other_traps: usize,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.modules += o.modules;
        self.rejected += o.rejected;
        self.name_taken += o.name_taken;
        self.not_instantiated += o.not_instantiated;
        self.on_wasmi += o.on_wasmi;
        for (a, b) in self.runs.iter_mut().zip(o.runs) {
            *a += b;
        }
        self.out_of_fuel += o.out_of_fuel;
        self.exhausted += o.exhausted;
        self.other_traps += o.other_traps;
    }
}

/// Whether two sides' steps are the same; wasmi's failures (not traps) are
/// worded its own way.
fn same_step(side: usize, a: &Step, b: &Step) -> bool {
    a == b || (side == WASMI && matches!((a, b), (Step::Failed(_), Step::Failed(_))))
}

/// Describes the first side whose fuel left differs from the reference's.
fn fuel_differs(sides: &[Option<Box<dyn Side>>]) -> Option<String> {
    let mut fuel = sides
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, s.as_ref()?.fuel())));
    let (_, reference) = fuel.next()?;
    fuel.find(|&(_, f)| f != reference)
        .map(|(i, f)| format!("fuel left: {} {reference}, {} {f}", SIDES[0], SIDES[i]))
}

/// Describes how the first side whose snapshot differs from the
/// reference's differs, if one does.
fn snapshots_differ(sides: &[Option<Box<dyn Side>>], exports: &Exports) -> Option<String> {
    let mut snapshots = sides
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, s.as_ref()?.snapshot(exports))));
    let (_, reference) = snapshots.next()?;
    let (i, snapshot) = snapshots.find(|(_, s)| *s != reference)?;
    let mut differ: Vec<String> = reference
        .globals
        .iter()
        .zip(&snapshot.globals)
        .filter(|(a, b)| a != b)
        .map(|((name, a), (_, b))| format!("global `{name}` {a} vs {b}"))
        .collect();
    /// The names of the `kind`s whose contents differ.
    fn named<T: PartialEq>(kind: &str, a: &[(String, T)], b: &[(String, T)]) -> Vec<String> {
        a.iter()
            .zip(b)
            .filter(|(a, b)| a != b)
            .map(|((name, _), _)| format!("{kind} `{name}`"))
            .collect()
    }
    differ.extend(named("memory", &reference.memories, &snapshot.memories));
    differ.extend(named("table", &reference.tables, &snapshot.tables));
    Some(format!(
        "{} differs from {} in exported state: {}",
        SIDES[i],
        SIDES[0],
        differ.join(", ")
    ))
}

/// Runs one module on every side and compares; the first difference.
fn compare_module(wasm: &[u8], tally: &mut Tally) -> Result<(), String> {
    if kiln::validate(wasm, Features::ALL).is_err() {
        tally.rejected += 1;
        return Ok(());
    }
    let config = InstrumentConfig {
        fuel: true,
        initial_fuel: LARGE_BUDGET,
        canonicalize_nans: true,
        max_call_depth: Some(MAX_CALL_DEPTH),
        defer_start: false,
        ..InstrumentConfig::default()
    };
    let rewritten = match instrument(wasm, &config) {
        Ok(bytes) => bytes,
        Err(InstrumentError::NameTaken(_)) => {
            tally.name_taken += 1;
            return Ok(());
        }
        Err(e) => return Err(format!("instrument refused a module Kiln validates: {e}")),
    };
    tally.modules += 1;
    // The interpreter translates a function on its first call: compiling
    // costs nothing here.
    let exports = match kiln::Engine::new(&kiln_side::config(Strategy::Interpreter))
        .and_then(|engine| kiln::Module::new(&engine, wasm))
    {
        Ok(module) => kiln_side::exports(&module),
        Err(e) => return Err(format!("Kiln does not compile a module it validates: {e}")),
    };
    let jit = Strategy::JIT_AVAILABLE;
    let original = |strategy| -> Result<Box<dyn Side>, Step> {
        let (store, instance) = kiln_instance(wasm, &kiln_side::config(strategy), true)?;
        Ok(Box::new(Original { store, instance }))
    };
    let wasmi = !uses_exceptions(wasm) && !uses_function_references(wasm);
    tally.on_wasmi += usize::from(wasmi);
    let made: [Option<Result<Box<dyn Side>, Step>>; 5] = [
        Some(original(Strategy::Interpreter)),
        jit.then(|| original(Strategy::Jit)),
        Some(
            KilnRewritten::new(&rewritten, Strategy::Interpreter)
                .map(|s| Box::new(s) as Box<dyn Side>),
        ),
        jit.then(|| {
            KilnRewritten::new(&rewritten, Strategy::Jit).map(|s| Box::new(s) as Box<dyn Side>)
        }),
        wasmi.then(|| WasmiRewritten::new(&rewritten).map(|s| Box::new(s) as Box<dyn Side>)),
    ];
    let step = |made: &Option<Result<Box<dyn Side>, Step>>| match made {
        Some(Ok(_)) => Some(Step::Returned(Vec::new())),
        Some(Err(step)) => Some(step.clone()),
        None => None,
    };
    let reference = step(&made[0]).unwrap_or(Step::Failed("no reference".into()));
    for (i, m) in made.iter().enumerate().skip(1) {
        if let Some(s) = step(m)
            && !same_instantiation(i, &reference, &s)
        {
            return Err(format!(
                "instantiation: {} {reference}, {} {s}",
                SIDES[0], SIDES[i]
            ));
        }
    }
    if reference != Step::Returned(Vec::new()) {
        tally.not_instantiated += 1;
        return Ok(());
    }
    let mut sides: Vec<Option<Box<dyn Side>>> =
        made.into_iter().map(|m| m.and_then(Result::ok)).collect();
    if let Some(d) = fuel_differs(&sides).or_else(|| snapshots_differ(&sides, &exports)) {
        return Err(format!("after instantiation: {d}"));
    }
    let mut calls = 0;
    for round in 0..ROUNDS {
        for (name, params) in &exports.funcs {
            // Only null references are passed.
            if params
                .iter()
                .any(|t| matches!(t, ValType::Ref(r) if !r.nullable))
            {
                continue;
            }
            let args: Vec<Value> = params
                .iter()
                .enumerate()
                .map(|(p, &ty)| argument(ty, calls, p))
                .collect();
            for budget in [small_budget(calls as u64), LARGE_BUDGET] {
                let what = format!("round {round}, call {calls}: `{name}`{args:?} on {budget}");
                let outcomes: Vec<Option<(Step, u64)>> = sides
                    .iter_mut()
                    .map(|s| {
                        let s = s.as_mut()?;
                        let step = s.call(name, &args, budget);
                        Some((step, s.fuel()))
                    })
                    .collect();
                let Some((reference, fuel)) = &outcomes[0] else {
                    return Err("no reference side".into());
                };
                match reference {
                    Step::Trapped(TrapKind::OutOfFuel) => tally.out_of_fuel += 1,
                    Step::Trapped(TrapKind::CallStackExhausted) => tally.exhausted += 1,
                    Step::Trapped(_) => tally.other_traps += 1,
                    _ => {}
                }
                for (i, outcome) in outcomes.iter().enumerate().skip(1) {
                    let Some((step, left)) = outcome else {
                        continue;
                    };
                    tally.runs[i] += 1;
                    if !same_step(i, reference, step) || fuel != left {
                        return Err(format!(
                            "{what}\n  {}: {reference} (fuel left {fuel})\n  {}: {step} (fuel left {left})",
                            SIDES[0], SIDES[i]
                        ));
                    }
                }
                if let Some(d) = snapshots_differ(&sides, &exports) {
                    return Err(format!("after {what}: {d}"));
                }
            }
            calls += 1;
        }
    }
    Ok(())
}

#[test]
fn instrumented_smith_modules_run_as_kiln_with_fuel() {
    let next = AtomicU64::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut tally = Tally::default();
    let mut findings = Vec::new();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut tally = Tally::default();
                    let mut findings = Vec::new();
                    loop {
                        let seed = next.fetch_add(1, Ordering::Relaxed);
                        if seed >= SEEDS {
                            break;
                        }
                        let Some(wasm) = smith_module(&seeded_input(SERIES, seed)) else {
                            continue;
                        };
                        let mut t = Tally::default();
                        let outcome =
                            catch_unwind(AssertUnwindSafe(|| compare_module(&wasm, &mut t)))
                                .unwrap_or_else(|_| Err("the comparison panicked".into()));
                        tally.add(&t);
                        if let Err(finding) = outcome {
                            findings.push((seed, finding));
                        }
                    }
                    (tally, findings)
                })
            })
            .collect();
        for worker in workers {
            let (t, f) = worker
                .join()
                .expect("workers catch the panics of their modules");
            tally.add(&t);
            findings.extend(f);
        }
    });
    findings.sort_by_key(|(seed, _)| *seed);
    eprintln!(
        "instrument equivalence over {SEEDS} wasm-smith seeds: {} modules rewritten \
         ({} Kiln rejects, {} export a counter's name), {} not instantiated alike, {} on wasmi too",
        tally.modules, tally.rejected, tally.name_taken, tally.not_instantiated, tally.on_wasmi
    );
    for (i, side) in SIDES.iter().enumerate().skip(1) {
        eprintln!("  {side} vs {}: {} runs compared", SIDES[0], tally.runs[i]);
    }
    eprintln!(
        "  reference runs: {} out of fuel, {} call stack exhausted, {} other traps; {} findings",
        tally.out_of_fuel,
        tally.exhausted,
        tally.other_traps,
        findings.len()
    );
    let listed: Vec<String> = findings
        .iter()
        .take(LISTED)
        .map(|(seed, f)| format!("seed {seed}: {f}"))
        .collect();
    assert!(
        findings.is_empty(),
        "{} of the seeds' modules differ; the first:\n\n{}",
        findings.len(),
        listed.join("\n\n")
    );
    for (i, side) in SIDES.iter().enumerate().skip(1) {
        if side.starts_with("jit") && !Strategy::JIT_AVAILABLE {
            continue;
        }
        let min = if i == WASMI { MIN_WASMI_RUNS } else { MIN_RUNS };
        assert!(
            tally.runs[i] >= min,
            "only {} runs compared on {side}",
            tally.runs[i]
        );
    }
    let (out_of_fuel, exhausted) = (tally.out_of_fuel, tally.exhausted);
    assert!(
        out_of_fuel >= MIN_OUT_OF_FUEL,
        "only {out_of_fuel} runs out of fuel"
    );
    assert!(
        exhausted >= MIN_EXHAUSTED,
        "only {exhausted} runs out of call depth"
    );
}
