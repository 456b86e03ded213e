//! `kiln::instrument` against Kiln's fuel, over the spec suites: every module
//! a suite defines is run, original and rewritten, in independent "worlds",
//! and every call the script makes must end alike in all of them.
//!
//! The worlds of one `.wast` file ([`WORLDS`]), each with its own store and
//! `spectest`:
//! - the reference, the original modules on Kiln's interpreter with fuel
//!   metering, NaN canonicalisation and a call-depth limit of
//!   [`MAX_CALL_DEPTH`], and the same on the JIT;
//! - the rewritten modules (`instrument` with that call-depth limit, and
//!   [`LARGE_BUDGET`] as the initial fuel that start functions run on, as the
//!   originals' instantiations do) on Kiln's interpreter and JIT without fuel
//!   or NaN canonicalisation, with Kiln's own depth limit at
//!   [`ENGINE_CALL_DEPTH`], so that only the rewriting's counter can stop
//!   recursion first;
//! - the rewritten modules on wasmi, when it can compile and link them.
//!
//! The directives are replayed in order (modules, `register`, the calls of
//! `invoke`, `assert_return`, `assert_trap`, `assert_exhaustion` and
//! `assert_exception`, reads of globals, and the modules `assert_trap` and
//! `assert_unlinkable` carry), ignoring what the script expects: the worlds
//! are compared with the reference, not with the spec. Every call runs twice,
//! first on a small budget ([`small_budget`], so that many calls run out of
//! fuel part-way and leave partial side effects the next call sees), then on
//! [`LARGE_BUDGET`]. A run's outcome is its results (floats and `v128` by
//! bits, references by nullness), or how it trapped (out of fuel, call stack
//! exhausted, or another trap: Kiln's worlds by message, wasmi by kind), and
//! the fuel left: `Store::get_fuel` for the original, the `kiln_fuel` global
//! for the rewritten module, which the harness fills before every call and
//! whose `kiln_status` says why a trap happened ([`run`]).
//!
//! The rewritten module counts fuel and depth in its own globals, so a call
//! that can enter another instance's code (through an imported function, a
//! shared table or a reference global; see [`Script::imports`]) is counted
//! apart: every instance gets [`LARGE_BUDGET`], and only the results and
//! traps are compared. To be sure the others really stay in their instance,
//! every other instance's fuel is set to [`SENTINEL`] before the call and
//! must be untouched after it.
//!
//! Instantiations are compared too (the fuel they leave included): a start
//! function's trap in a rewritten module cannot be classified, since its
//! `kiln_status` needs the instance, so there its `unreachable` stands for
//! out of fuel and call depth as well. wasmi 2.0.0 loses the globals of an
//! instance whose instantiation trapped after putting its functions in an
//! imported table, and panics (aborting the process) when one is called, as
//! `linking.wast` does; after such an instantiation wasmi sits out the rest
//! of the file, and the summary names the files.
//!
//! `KILN_INSTRUMENT_FILES=simd/simd_lane,linking` runs only the files whose
//! `suite/file` contains one of the strings (the coverage minimums then fail,
//! the disagreements are listed first); `KILN_INSTRUMENT_VERBOSE=1` names
//! each file as it starts.

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};

use kiln::instrument::{
    DEPTH_EXPORT, FUEL_EXPORT, InstrumentConfig, InstrumentError, STATUS_CALL_STACK_EXHAUSTED,
    STATUS_EXPORT, STATUS_OUT_OF_FUEL, instrument,
};
use kiln::{Features, Strategy, TrapCode};
use kiln_parser::ImportKind;
use kiln_spec_tests::{SUITES, Suite, WastFile, panic_message};
use wast::core::WastArgCore;
use wast::token::Id;
use wast::{QuoteWat, WastArg, WastDirective, WastExecute, WastInvoke, Wat};

/// The call-depth limit of the reference worlds and of the rewriting.
const MAX_CALL_DEPTH: u32 = 1000;
/// The engines' own limit in the worlds that run rewritten modules.
const ENGINE_CALL_DEPTH: u32 = 2 * MAX_CALL_DEPTH;
/// Every call's second budget, and the fuel of instantiations.
const LARGE_BUDGET: u64 = 10_000_000;
/// The fuel of every instance but the called one, in the rewritten worlds.
const SENTINEL: u64 = 1 << 40;
/// The fewest runs each world, wasmi included, must have compared with the
/// reference (133,508 today, wasmi 132,472), and the fewest reference runs
/// that must have run out of fuel (7,741) and out of call depth (30), so
/// that a harness that stopped comparing, or a rewriting that stopped
/// counting, cannot pass.
const MIN_RUNS: usize = 100_000;
const MIN_OUT_OF_FUEL: usize = 5_000;
const MIN_EXHAUSTED: usize = 20;
/// How many disagreements the failure message lists.
const LISTED: usize = 40;

/// The `k`-th call's first budget in a file: 1 to 20 units, spread (most
/// spec functions cost a few units).
fn small_budget(k: u64) -> u64 {
    1 + k.wrapping_mul(7919) % 20
}

/// The worlds, by index; [`REFERENCE`] is the one the others must match.
const WORLDS: [&str; 5] = [
    "interp+fuel",
    "jit+fuel",
    "interp/instrumented",
    "jit/instrumented",
    "wasmi/instrumented",
];
const REFERENCE: usize = 0;
const WASMI: usize = 4;

/// A value as every world reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    FuncRef { null: bool },
    ExternRef { null: bool },
    ExnRef { null: bool },
}

/// An argument a script passes: a number, a null reference (of the
/// parameter's type) or `ref.extern N`.
#[derive(Debug, Clone, Copy)]
enum Arg {
    Num(Value),
    Null,
    Extern(u32),
}

/// How a call or an instantiation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ending {
    Returned(Vec<Value>),
    OutOfFuel,
    Exhausted,
    /// Any other trap, by the engine's message.
    Trap(String),
    /// A WebAssembly exception left the call.
    Exception,
    /// Not a trap: compiling, linking, argument types.
    Failed(String),
}

/// One run in one world.
#[derive(Debug, Clone)]
struct Outcome {
    ending: Ending,
    fuel: u64,
    /// A rewritten world saw another instance's fuel change.
    crossed: bool,
}

/// Where a rewritten world puts the budget.
#[derive(Debug, Clone, Copy)]
enum Fuel {
    /// In the called instance; every other gets [`SENTINEL`].
    Only(u64),
    /// In every instance (a call that may cross instances).
    Everywhere(u64),
}

impl Fuel {
    fn budget(self) -> u64 {
        match self {
            Fuel::Only(b) | Fuel::Everywhere(b) => b,
        }
    }
}

/// A module in the two forms the worlds run.
struct Binaries<'a> {
    original: &'a [u8],
    instrumented: &'a [u8],
}

/// What a world made of a module.
enum Instantiated {
    /// The instance's index in the world.
    Ready(usize),
    /// The world cannot run it (wasmi: a proposal it lacks, an import from a
    /// module it could not run), why.
    Unavailable(String),
    Failed(Ending),
}

/// One engine, configured one way, with its store, its `spectest` and the
/// instances made so far, which it names by index. What the rewriting's
/// counters mean is [`run`]'s business, not the worlds'.
trait World {
    /// Whether it runs the rewritten modules (fuel in their globals) rather
    /// than the originals (fuel in the store).
    fn rewritten(&self) -> bool;
    /// Compiles and instantiates the form of `module` it runs (an original
    /// on [`LARGE_BUDGET`]), resolving imports among the registered names.
    fn instantiate(&mut self, module: &Binaries<'_>) -> Instantiated;
    /// Makes an instance's exports importable as `name`; `None` removes what
    /// was registered, so that importing it is unavailable.
    fn register(&mut self, name: &str, instance: Option<usize>);
    /// Calls export `func`: how it ended, and whether it trapped at an
    /// `unreachable`.
    fn call(&mut self, instance: usize, func: &str, args: &[Arg]) -> (Ending, bool);
    fn get(&mut self, instance: usize, global: &str) -> Result<Value, String>;
    /// The store's fuel (the originals' worlds).
    fn set_fuel(&mut self, fuel: u64) -> Result<(), String>;
    fn fuel(&self) -> u64;
    /// The rewritten instances' counters: how many instances there are;
    /// setting an instance's fuel (and its status and depth to 0); reading
    /// its fuel and status.
    fn instances(&self) -> usize;
    fn set_counters(&mut self, instance: usize, fuel: u64) -> Result<(), String>;
    fn counters(&self, instance: usize) -> (u64, i32);
}

/// Runs `func` of `target` in `world` on `fuel`. A rewritten world's
/// instances get their counters set first; after a trap, the first non-zero
/// `kiln_status` says whether the rewriting caused it (see
/// [`rewritten_ending`]).
fn run(world: &mut dyn World, target: usize, func: &str, args: &[Arg], fuel: Fuel) -> Outcome {
    let failed = |e: String| Outcome {
        ending: Ending::Failed(e),
        fuel: 0,
        crossed: false,
    };
    if !world.rewritten() {
        if let Err(e) = world.set_fuel(fuel.budget()) {
            return failed(e);
        }
        let (ending, _) = world.call(target, func, args);
        return Outcome {
            ending,
            fuel: world.fuel(),
            crossed: false,
        };
    }
    let everywhere = matches!(fuel, Fuel::Everywhere(_));
    for i in 0..world.instances() {
        let budget = if everywhere || i == target {
            fuel.budget()
        } else {
            SENTINEL
        };
        if let Err(e) = world.set_counters(i, budget) {
            return failed(e);
        }
    }
    let (raw, unreachable) = world.call(target, func, args);
    let (mut status, mut left, mut crossed) = (0, 0, false);
    for i in 0..world.instances() {
        let (f, s) = world.counters(i);
        if status == 0 {
            status = s;
        }
        if i == target {
            left = f;
        } else {
            crossed |= !everywhere && f != SENTINEL;
        }
    }
    Outcome {
        ending: rewritten_ending(status, raw, unreachable, everywhere),
        fuel: left,
        crossed,
    }
}

/// How a rewritten module's call ended, given its status, whether it
/// trapped at an `unreachable`, and whether it may cross instances (where the
/// engine's own depth limit may stop recursion first).
fn rewritten_ending(status: i32, raw: Ending, unreachable: bool, crossing: bool) -> Ending {
    match (status, raw) {
        (STATUS_OUT_OF_FUEL, _) if unreachable => Ending::OutOfFuel,
        (STATUS_CALL_STACK_EXHAUSTED, _) if unreachable => Ending::Exhausted,
        (0, Ending::Exhausted) if !crossing => {
            Ending::Trap("call stack exhausted by the engine's own limit".into())
        }
        (0, raw) => raw,
        (s, raw) => Ending::Trap(format!("kiln_status {s} after {raw:?}")),
    }
}

mod kiln_world;

mod wasmi_world;

/// A disagreement, or a harness failure, at one directive.
#[derive(Debug, Clone)]
struct Disagreement {
    /// `suite/file.wast:line`.
    at: String,
    world: &'static str,
    what: String,
    reference: String,
    other: String,
}

/// What the runs saw, summed over files.
#[derive(Debug, Default)]
struct Tally {
    files: usize,
    /// Modules instantiated in the reference world, and those of them whose
    /// calls may cross instances.
    modules: usize,
    crossing_modules: usize,
    /// Per world: runs compared with the reference, fuel included; runs of
    /// calls that may cross instances (results only); global reads.
    runs: [usize; 5],
    crossing_runs: [usize; 5],
    gets: [usize; 5],
    /// Reference runs (calls on their own instance) by how they ended.
    out_of_fuel: usize,
    exhausted: usize,
    other_traps: usize,
    skipped_modules: BTreeMap<String, usize>,
    skipped_calls: BTreeMap<String, usize>,
    /// Modules wasmi did not run, by suite, with the first reason; files
    /// wasmi left part-way (see [`Script::instantiate`]).
    not_on_wasmi: BTreeMap<String, (usize, String)>,
    wasmi_left: Vec<String>,
    disagreements: Vec<Disagreement>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.files += other.files;
        self.modules += other.modules;
        self.crossing_modules += other.crossing_modules;
        for w in 0..WORLDS.len() {
            self.runs[w] += other.runs[w];
            self.crossing_runs[w] += other.crossing_runs[w];
            self.gets[w] += other.gets[w];
        }
        self.out_of_fuel += other.out_of_fuel;
        self.exhausted += other.exhausted;
        self.other_traps += other.other_traps;
        for (why, n) in other.skipped_modules {
            *self.skipped_modules.entry(why).or_default() += n;
        }
        for (why, n) in other.skipped_calls {
            *self.skipped_calls.entry(why).or_default() += n;
        }
        for (suite, (n, why)) in other.not_on_wasmi {
            self.not_on_wasmi.entry(suite).or_insert((0, why)).0 += n;
        }
        self.wasmi_left.extend(other.wasmi_left);
        self.disagreements.extend(other.disagreements);
    }
}

mod script;
use script::Script;

/// An `invoke`'s arguments, or why the harness cannot pass them.
fn args(args: &[WastArg<'_>]) -> Result<Vec<Arg>, &'static str> {
    let arg = |a: &WastArg<'_>| {
        let WastArg::Core(a) = a else {
            return Err("a component-model argument");
        };
        Ok(match a {
            WastArgCore::I32(v) => Arg::Num(Value::I32(*v)),
            WastArgCore::I64(v) => Arg::Num(Value::I64(*v)),
            WastArgCore::F32(v) => Arg::Num(Value::F32(v.bits)),
            WastArgCore::F64(v) => Arg::Num(Value::F64(v.bits)),
            WastArgCore::V128(v) => Arg::Num(Value::V128(u128::from_le_bytes(v.to_le_bytes()))),
            WastArgCore::RefNull(_) => Arg::Null,
            WastArgCore::RefExtern(n) => Arg::Extern(*n),
            WastArgCore::RefHost(_) => return Err("`ref.host` arguments need GC"),
        })
    };
    args.iter().map(arg).collect()
}

/// The worlds of one file, in [`WORLDS`] order (`None` for the JIT where
/// Kiln has none).
fn worlds(features: Features) -> Result<Vec<Option<Box<dyn World>>>, String> {
    let kiln = |strategy, rewritten| -> Result<Option<Box<dyn World>>, String> {
        if strategy == Strategy::Jit && !Strategy::JIT_AVAILABLE {
            return Ok(None);
        }
        let world = kiln_world::KilnWorld::new(strategy, features, rewritten)
            .map_err(|e| format!("a Kiln world: {e}"))?;
        Ok(Some(Box::new(world)))
    };
    let wasmi = wasmi_world::WasmiWorld::new().map_err(|e| format!("the wasmi world: {e}"))?;
    Ok(vec![
        kiln(Strategy::Interpreter, false)?,
        kiln(Strategy::Jit, false)?,
        kiln(Strategy::Interpreter, true)?,
        kiln(Strategy::Jit, true)?,
        Some(Box::new(wasmi)),
    ])
}

/// Replays one file into `tally`.
fn run_file(suite: &'static Suite, file: &WastFile, tally: &mut Tally) {
    tally.files += 1;
    let features = suite.features_for(&file.name);
    let harness_failure = |tally: &mut Tally, what: &str, why: String| {
        tally.disagreements.push(Disagreement {
            at: format!("{}/{}", suite.name, file.name),
            world: "harness",
            what: what.into(),
            reference: String::new(),
            other: why,
        });
    };
    let worlds = match worlds(features) {
        Ok(w) => w,
        Err(e) => return harness_failure(tally, "setting up", e),
    };
    let mut script = Script::new(suite, file, features, worlds, tally);
    let mut lexer = wast::lexer::Lexer::new(file.text);
    lexer.allow_confusing_unicode(true);
    let parsed = wast::parser::ParseBuffer::new_with_lexer(lexer).and_then(|buf| {
        wast::parser::parse::<wast::Wast<'_>>(&buf).map(|wast| {
            for directive in wast.directives {
                script.directive(directive);
            }
        })
    });
    if let Err(e) = parsed {
        harness_failure(script.tally(), "reading the file", e.to_string());
    }
}

#[test]
fn instrumented_spec_modules_run_as_kiln_with_fuel() {
    let only = std::env::var("KILN_INSTRUMENT_FILES").ok();
    let verbose = std::env::var_os("KILN_INSTRUMENT_VERBOSE").is_some();
    let files: Vec<(&'static Suite, WastFile)> = SUITES
        .iter()
        // The files every tier runs: `kiln instrument` does not rewrite GC
        // modules yet, and the JIT (one of the worlds) does not run them.
        .flat_map(|s| {
            s.files_for(kiln_spec_tests::Tier::Jit)
                .into_iter()
                .map(move |f| (s, f))
        })
        .filter(|(s, f)| {
            let name = format!("{}/{}", s.name, f.name);
            only.as_ref()
                .is_none_or(|only| only.split(',').any(|o| name.contains(o)))
        })
        .collect();
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut tally = Tally::default();
        while let Some((suite, file)) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
            if verbose {
                eprintln!("{}/{}", suite.name, file.name);
            }
            let run = catch_unwind(AssertUnwindSafe(|| {
                let mut t = Tally::default();
                run_file(suite, file, &mut t);
                t
            }));
            match run {
                Ok(t) => tally.add(t),
                Err(panic) => tally.disagreements.push(Disagreement {
                    at: format!("{}/{}", suite.name, file.name),
                    world: "harness",
                    what: "the file's replay".into(),
                    reference: String::new(),
                    other: format!("panicked: {}", panic_message(panic.as_ref())),
                }),
            }
        }
        tally
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut tally = Tally::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                std::thread::Builder::new()
                    // Deep recursion on the JIT runs on the thread's stack.
                    .stack_size(64 << 20)
                    .spawn_scoped(scope, worker)
                    .expect("a worker thread starts")
            })
            .collect();
        for w in workers {
            tally.add(w.join().expect("workers catch the panics of their files"));
        }
    });
    report(&tally);
    let mut listed = String::new();
    for d in tally.disagreements.iter().take(LISTED) {
        listed += &format!(
            "\n{} [{}] {}\n    reference: {}\n    {}: {}",
            d.at, d.world, d.what, d.reference, d.world, d.other
        );
    }
    assert!(
        tally.disagreements.is_empty(),
        "{} disagreements; the first {}:{listed}",
        tally.disagreements.len(),
        LISTED.min(tally.disagreements.len())
    );
    for (world, runs) in WORLDS.iter().zip(tally.runs).skip(1) {
        if world.starts_with("jit") && !Strategy::JIT_AVAILABLE {
            continue;
        }
        assert!(runs >= MIN_RUNS, "only {runs} runs compared on {world}");
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

/// The summary, on stderr.
fn report(t: &Tally) {
    eprintln!(
        "instrument equivalence over the spec suites: {} files, {} modules instantiated \
         ({} whose calls may cross instances)",
        t.files, t.modules, t.crossing_modules
    );
    for (w, world) in WORLDS.iter().enumerate().skip(1) {
        eprintln!(
            "  {world} vs {}: {} runs compared (fuel included), {} crossing runs (results only), \
             {} globals",
            WORLDS[REFERENCE], t.runs[w], t.crossing_runs[w], t.gets[w]
        );
    }
    eprintln!(
        "  reference runs: {} out of fuel, {} call stack exhausted, {} other traps",
        t.out_of_fuel, t.exhausted, t.other_traps
    );
    for (why, n) in &t.skipped_modules {
        eprintln!("  modules skipped: {n} ({why})");
    }
    for (why, n) in &t.skipped_calls {
        eprintln!("  calls skipped: {n} ({why})");
    }
    for (suite, (n, why)) in &t.not_on_wasmi {
        eprintln!("  not on wasmi: {n} modules of {suite} (first: {why})");
    }
    if !t.wasmi_left.is_empty() {
        eprintln!(
            "  wasmi left {} files after an instantiation trapped with its functions in a \
             shared table: {}",
            t.wasmi_left.len(),
            t.wasmi_left.join(", ")
        );
    }
    eprintln!("  disagreements: {}", t.disagreements.len());
}
