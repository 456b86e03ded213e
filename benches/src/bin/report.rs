//! The side-by-side report: every C program in `benches/programs/` on every
//! engine and natively, in one table, then the SIMD builds in a second, and
//! each SIMD build over its scalar build in a third.
//!
//! ```sh
//! cargo run --release -p kiln-benches --bin report                  # all programs
//! cargo run --release -p kiln-benches --bin report -- --runs 5 fib  # some, more runs
//! cargo run --release -p kiln-benches --bin report -- matmul-simd   # with matmul
//! cargo run --release -p kiln-benches --bin report -- --epoch fib   # epoch checks' cost
//! cargo run --release -p kiln-benches --bin report -- --no-fuel     # without fuel's columns
//! ```
//!
//! For each program: the native build (`cc -O2`) runs once and its output
//! becomes the reference. Then come `--processes` rounds (default 5). In
//! each round the engines run in fresh processes (the report runs itself
//! with `--child`), the two engines of a ratio (`kiln-interp` and `wasmi`,
//! `kiln-jit` and `wasmtime`) sharing one: each engine compiles the module,
//! runs it once and must print exactly the same as natively (else the cell
//! reads `MISMATCH` and the report exits 1), then the two make `--runs` timed
//! runs each (default 2), taking turns run by run; the native build runs
//! `--runs` times after them. An engine's run is instantiation plus `_start`
//! (see `engines/mod.rs`); a native run is the process from spawn to exit. A
//! time cell is the median of all of a column's timed runs. Last, the large
//! program's start-up: compile plus instantiate, bytes to first call, per
//! engine, in the report's own process, the engines taking turns; and its
//! instantiation alone (compiled once), through the linker and through an
//! `InstancePre`, each cell the mean of 20 in a row, median over rounds.
//!
//! Three ratio columns follow the times: each Kiln tier over the engine of
//! its kind (`kiln-interp / wasmi`, `kiln-jit / wasmtime`), and
//! `kiln-jit / native`; the last row gives their geometric means. A ratio is
//! paired: the median, over the rounds, of the ratio of the two columns'
//! fastest runs in that round. The order of the processes reverses from
//! round to round. `--verbose` prints each column's fastest run of every
//! round.
//!
//! A SIMD build (`NAME-simd`: clang `-O3 -msimd128`, natively `cc -O3`) is
//! measured together with its scalar program `NAME`: in every round the two
//! share each process, all four of a ratio's program-engine pairs taking
//! turns run by run (the two native builds take turns too). So the third
//! table's `simd / scalar` per column (native and each engine) is paired by
//! round like the other ratios, geometric mean last. Naming a SIMD build on
//! the command line measures its scalar program with it.
//!
//! Why: on the machines measured so far the same binary's time moves by up
//! to 2.5x, natively too: between processes (a process can run at half speed
//! from start to end while the next one runs at full speed) and within one,
//! over periods of seconds. Runs taken in turn in one process see the same
//! conditions, so their ratio is steadier than either time; the median over
//! rounds drops the rounds where conditions changed in between. Other work
//! only ever slows a run down, so a round's fastest run is the one it
//! disturbed least.
//!
//! Kiln's two tiers also run with fuel metering on (`kiln-interp-fuel`,
//! `kiln-jit-fuel`; more fuel than any run uses), each in its tier's
//! process, with a ratio column for each over the same tier without: what
//! metering costs. `--no-fuel` leaves them out.
//!
//! `--instrumented` adds Kiln's JIT and wasmtime running each program
//! rewritten by `kiln::instrument` to count its own fuel, without fuel of
//! their own (`kiln-jit-instrumented`, `wasmtime-instrumented`), with a
//! ratio column for each over `kiln-jit-fuel`: what metering costs an engine
//! without fuel, such as a browser's, against Kiln's built-in fuel.
//!
//! `--epoch` adds Kiln's two tiers with epoch interruption on
//! (`kiln-interp-epoch`, `kiln-jit-epoch`; a deadline never reached, so
//! only the checks at function entries and loop headers cost), each in its
//! tier's process, and a ratio column for each over the same tier without.
//!
//! Progress goes to stderr; the tables, in Markdown, to stdout; the scalar
//! table's ratio columns, drawn as bars (`report/chart.rs`), to an SVG file
//! (`--chart FILE`, by default `benches/report.svg`, which the README shows).

// The binary's modules live in `report/`; a crate root's modules are
// looked up beside it, hence the paths.
#[path = "report/cell.rs"]
mod cell;
#[path = "report/chart.rs"]
mod chart;
#[path = "report/measure.rs"]
mod measure;
#[path = "report/table.rs"]
mod table;

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use kiln_benches::engines::{self, Engine, Outcome};
use kiln_benches::native::NativeProgram;
use kiln_benches::programs::{self, PROGRAMS, Program};

use crate::cell::{Cell, format_time};
use crate::measure::{
    Spec, measure_in_child, native_reference, time_instantiation, time_load, time_natives,
    time_startup,
};
use crate::table::{Row, print_report};

/// The command line.
struct Options {
    /// Timed runs per program and engine in each process (after one checked run).
    runs: usize,
    /// Rounds, each running every engine in a fresh process.
    processes: usize,
    /// Program names to run; empty for all.
    only: Vec<String>,
    /// Print every round's times.
    verbose: bool,
    /// Also run Kiln's tiers with epoch interruption on.
    epoch: bool,
    /// Also run Kiln's tiers with fuel metering on (the default).
    fuel: bool,
    /// Also run Kiln's JIT and wasmtime on rewritten, self-metering modules.
    instrumented: bool,
    /// Where the chart of the ratios goes.
    chart: std::path::PathBuf,
}

/// A positive count following option `name`.
fn count(args: &mut impl Iterator<Item = String>, name: &str) -> anyhow::Result<usize> {
    let n: usize = args
        .next()
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("{name} needs a number"))?;
    anyhow::ensure!(n > 0, "{name} must be at least 1");
    Ok(n)
}

impl Options {
    fn parse() -> anyhow::Result<Options> {
        let mut options = Options {
            runs: 2,
            processes: 5,
            only: Vec::new(),
            verbose: false,
            epoch: false,
            fuel: true,
            instrumented: false,
            chart: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("report.svg"),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--runs" => options.runs = count(&mut args, "--runs")?,
                "--processes" => options.processes = count(&mut args, "--processes")?,
                "--verbose" => options.verbose = true,
                "--epoch" => options.epoch = true,
                "--no-fuel" => options.fuel = false,
                "--instrumented" => options.instrumented = true,
                "--chart" => {
                    options.chart = args.next().context("--chart needs a file name")?.into();
                }
                "-h" | "--help" => {
                    println!(
                        "usage: report [--runs N] [--processes P] [--verbose] [--epoch] [--no-fuel] [--instrumented] [--chart FILE.svg] [PROGRAM...]"
                    );
                    std::process::exit(0);
                }
                name if programs::find(name).is_some() => options.only.push(arg),
                // `cargo bench` passes `--bench` to every target.
                "--bench" => {}
                other => anyhow::bail!("unknown program or option `{other}`"),
            }
        }
        Ok(options)
    }
}

/// An engine's times by round before the first round, or why it has none.
fn no_times_yet(engine: &anyhow::Result<Box<dyn Engine>>) -> anyhow::Result<Vec<Vec<Duration>>> {
    match engine {
        Ok(_) => Ok(Vec::new()),
        Err(e) => Err(anyhow::anyhow!("{e:#}")),
    }
}

/// A column's cell from its times by round (or why it has none), with its
/// progress printed after `separator`; a failure sets `failed`.
fn finish_cell(
    name: &str,
    separator: &str,
    available: bool,
    result: anyhow::Result<Vec<Vec<Duration>>>,
    failed: &mut bool,
) -> Cell {
    let cell = match result.map(|rounds| Cell::from_rounds(&rounds)) {
        _ if !available => Cell::Unavailable,
        Ok(Some(cell)) => cell,
        Ok(None) => Cell::Unavailable,
        Err(e) => {
            eprint!("\n  {name} failed: {e:#}\n ");
            *failed = true;
            Cell::Failed
        }
    };
    if let Some(time) = cell.time() {
        eprint!("{separator}{name} {}", format_time(time));
    }
    let _ = std::io::stderr().flush();
    cell
}

/// Today's date (UTC) as `YYYY-MM-DD`, from the days since 1970-01-01 by
/// the proleptic Gregorian calendar's 400-year cycles (eras of 146,097
/// days, years counted from March so the leap day comes last).
fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64 + 719_468; // days since 0000-03-01
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The 1-minute load average, to show whether other work shared the
/// machine during the run.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// The machine, for the report's heading: core count and CPU model.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim());
    format!("{cores} cores, {model}")
}

/// The ratio columns, numerator over denominator: each Kiln tier against
/// the engine of the same kind, the tiered strategy against the JIT alone,
/// and Kiln's JIT against native code; with
/// fuel metering on, and with `--epoch` epoch interruption, each tier so
/// configured over the same tier without; with `--instrumented`, the
/// self-metering modules on Kiln's JIT and wasmtime over Kiln's JIT with fuel
/// (see [`ratios`]).
const RATIOS: [(&str, &str); 10] = [
    ("kiln-interp", "wasmi"),
    ("kiln-jit", "wasmtime"),
    ("kiln-tiered", "kiln-jit"),
    ("kiln-jit", "native"),
    ("kiln-interp-fuel", "kiln-interp"),
    ("kiln-jit-fuel", "kiln-jit"),
    ("kiln-interp-epoch", "kiln-interp"),
    ("kiln-jit-epoch", "kiln-jit"),
    ("kiln-jit-instrumented", "kiln-jit-fuel"),
    ("wasmtime-instrumented", "kiln-jit-fuel"),
];

/// The [`RATIOS`] whose engines are among `names` (`native` always is).
fn ratios(names: &[&str]) -> Vec<(&'static str, &'static str)> {
    let present = |n: &str| n == "native" || names.contains(&n);
    RATIOS
        .into_iter()
        .filter(|&(a, b)| present(a) && present(b))
        .collect()
}

/// How a round runs the columns (`native` and the engines): in groups, one
/// after the other, the engines of a group in one process taking turns run
/// by run. The engines of each ratio in [`RATIOS`] share a group (a group
/// grows to three where an engine is in two ratios); every other column is
/// alone, `native` last.
fn round_groups(columns: &[&str]) -> Vec<Vec<usize>> {
    let index = |name: &str| columns.iter().position(|c| *c == name);
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let group_of = |groups: &Vec<Vec<usize>>, i: usize| groups.iter().position(|g| g.contains(&i));
    for (a, b) in RATIOS {
        let (Some(a), Some(b)) = (index(a), index(b)) else {
            continue;
        };
        if a == b || columns[a] == "native" || columns[b] == "native" {
            continue;
        }
        match (group_of(&groups, a), group_of(&groups, b)) {
            (None, None) => groups.push(vec![a, b]),
            (Some(g), None) => groups[g].push(b),
            (None, Some(g)) => groups[g].push(a),
            (Some(_), Some(_)) => {}
        }
    }
    let grouped = |groups: &Vec<Vec<usize>>, i: usize| group_of(groups, i).is_some();
    let native = index("native");
    for i in 0..columns.len() {
        if Some(i) != native && !grouped(&groups, i) {
            groups.push(vec![i]);
        }
    }
    groups.extend(native.map(|n| vec![n]));
    groups
}

/// What one pass of rounds measures together: a scalar program, with its
/// SIMD build if that is selected too. With `only` empty, every program;
/// else the named ones, a SIMD build bringing its scalar program.
fn units(only: &[String]) -> Vec<Vec<&'static Program>> {
    let selected = |p: &Program| only.is_empty() || only.iter().any(|o| o == p.name);
    PROGRAMS
        .iter()
        .filter(|p| !p.is_simd())
        .filter_map(|p| {
            let simd = p.simd().filter(|s| selected(s));
            let unit: Vec<&'static Program> = std::iter::once(p)
                .filter(|p| selected(p) || simd.is_some())
                .chain(simd)
                .collect();
            (!unit.is_empty()).then_some(unit)
        })
        .collect()
}

/// An engine of [`engines::all`], or why it cannot run here.
type EngineSlot = (&'static str, anyhow::Result<Box<dyn Engine>>);

/// Measures the programs of one unit (see [`units`]) over all rounds and
/// returns their rows, printing progress; a failure sets `failed`.
fn measure_unit(
    unit: &[&'static Program],
    engines: &[EngineSlot],
    options: &Options,
    failed: &mut bool,
) -> Vec<Row> {
    let mut natives: Vec<Option<NativeProgram>> = Vec::new();
    let mut references: Vec<Outcome> = Vec::new();
    for program in unit {
        match native_reference(program) {
            Ok((native, reference)) => {
                natives.push(Some(native));
                references.push(reference);
            }
            // Without a native build, check against the recorded output.
            Err(e) => {
                eprint!(
                    " {}: native n/a ({e:#}; checking against programs/expected/)",
                    program.name
                );
                natives.push(None);
                references.push(Outcome {
                    status: 0,
                    stdout: program.expected.as_bytes().to_vec(),
                    stderr: Vec::new(),
                });
            }
        }
    }
    // Column 0 is native, then the engines; `columns[m][c]` holds program
    // `m`'s times by round in column `c`, or why it has none.
    let column_names: Vec<&str> = std::iter::once("native")
        .chain(engines.iter().map(|(name, _)| *name))
        .collect();
    let mut columns: Vec<Vec<anyhow::Result<Vec<Vec<Duration>>>>> = natives
        .iter()
        .map(|native| {
            std::iter::once(match native {
                Some(_) => Ok(Vec::new()),
                None => Err(anyhow::anyhow!("no native build")),
            })
            .chain(engines.iter().map(|(_, e)| no_times_yet(e)))
            .collect()
        })
        .collect();
    let mut order = round_groups(&column_names);
    for _ in 0..options.processes {
        for group in &order {
            // The group's (program, column) pairs that still measure.
            let live: Vec<(usize, usize)> = (0..unit.len())
                .flat_map(|m| group.iter().map(move |&c| (m, c)))
                .filter(|&(m, c)| columns[m][c].is_ok() && (c != 0 || natives[m].is_some()))
                .collect();
            if live.is_empty() {
                continue;
            }
            let results = if group == &[0] {
                let runs: Vec<(&NativeProgram, &Outcome)> = live
                    .iter()
                    .filter_map(|&(m, _)| Some((natives[m].as_ref()?, &references[m])))
                    .collect();
                time_natives(&runs, options.runs)
            } else {
                let specs: Vec<Spec<'_>> = live
                    .iter()
                    .map(|&(m, c)| Spec {
                        engine: column_names[c],
                        program: unit[m],
                        reference: &references[m],
                    })
                    .collect();
                match measure_in_child(&specs, options.runs) {
                    Ok(results) => results,
                    Err(e) => live.iter().map(|_| Err(anyhow::anyhow!("{e:#}"))).collect(),
                }
            };
            for ((m, c), result) in live.into_iter().zip(results) {
                match (result, &mut columns[m][c]) {
                    (Ok(t), Ok(rounds)) => rounds.push(t),
                    (Err(e), slot) => *slot = Err(e),
                    (Ok(_), Err(_)) => {}
                }
            }
        }
        order.reverse();
    }
    let mut rows = Vec::new();
    for (m, (program, program_columns)) in unit.iter().zip(columns).enumerate() {
        if m > 0 {
            eprint!("\n{:8}", "");
        }
        eprint!("{:<12}", program.name);
        let mut cells = Vec::new();
        for (c, result) in program_columns.into_iter().enumerate() {
            let available = if c == 0 {
                natives[m].is_some()
            } else {
                engines[c - 1].1.is_ok()
            };
            let separator = if c == 0 { " " } else { ", " };
            cells.push(finish_cell(
                column_names[c],
                separator,
                available,
                result,
                failed,
            ));
        }
        if options.verbose {
            for (name, cell) in column_names.iter().zip(&cells) {
                if let Cell::Time { rounds, .. } = cell {
                    let times: Vec<String> = rounds.iter().map(|t| format_time(*t)).collect();
                    eprint!("\n  {name:<12} fastest of each round: {}", times.join(", "));
                }
            }
        }
        let native = cells.remove(0);
        rows.push(Row {
            name: program.name,
            scalar: program.scalar,
            native,
            engines: cells,
        });
    }
    eprintln!();
    rows
}

/// The time of one start-up of `wasm` on each engine, taking turns, `rounds`
/// times after an untimed one: compile plus instantiate, or with `warm`,
/// loading code saved once beforehand plus instantiate (a warm cache; engines
/// without saved code get no cell). Progress printed; a failure sets `failed`.
fn startups(
    engines: &[EngineSlot],
    wasm: &[u8],
    rounds: usize,
    warm: bool,
    failed: &mut bool,
) -> Vec<Cell> {
    let names: Vec<&str> = engines.iter().map(|(n, _)| *n).collect();
    let _ = std::io::stderr().flush();
    let saved: Vec<Option<anyhow::Result<Vec<u8>>>> = engines
        .iter()
        .map(|(_, e)| match e {
            Ok(e) if warm => e.serialize(wasm),
            _ => None,
        })
        .collect();
    let mut times: Vec<anyhow::Result<Vec<Vec<Duration>>>> = engines
        .iter()
        .zip(&saved)
        .map(|((_, e), s)| match s {
            Some(Err(e)) => Err(anyhow::anyhow!("{e:#}")),
            _ => no_times_yet(e),
        })
        .collect();
    let mut order = round_groups(&names).concat();
    for round in 0..=rounds {
        for &i in &order {
            let (Ok(engine), Ok(done)) = (&engines[i].1, &mut times[i]) else {
                continue;
            };
            let timed = match (&saved[i], warm) {
                (_, false) => time_startup(engine.as_ref(), wasm),
                (Some(Ok(bytes)), true) => time_load(engine.as_ref(), bytes),
                _ => continue,
            };
            match timed {
                Ok(t) if round > 0 => done.push(vec![t]),
                Ok(_) => {}
                Err(e) => times[i] = Err(e),
            }
        }
        order.reverse();
    }
    times
        .into_iter()
        .enumerate()
        .map(|(i, result)| {
            let available = engines[i].1.is_ok() && (!warm || saved[i].is_some());
            finish_cell(names[i], " ", available, result, failed)
        })
        .collect()
}

/// How many instantiations one timing of [`instantiations`] averages.
const INSTANTIATIONS_PER_TIMING: u32 = 20;

/// The time of one instantiation of `wasm` (compiled once per engine), each
/// engine in turn as for start-up, `rounds` times: through the linker, and
/// through a pre-linked `InstancePre` where the engine has one (Kiln's
/// tiers, wasmtime). Progress printed; a failure sets `failed`.
fn instantiations(
    engines: &[EngineSlot],
    wasm: &[u8],
    rounds: usize,
    failed: &mut bool,
) -> [Vec<Cell>; 2] {
    let compiled: Vec<anyhow::Result<Box<dyn engines::Compiled>>> = engines
        .iter()
        .map(|(_, e)| match e {
            Ok(e) => e.compile(wasm),
            Err(e) => Err(anyhow::anyhow!("{e:#}")),
        })
        .collect();
    let names: Vec<&str> = engines.iter().map(|(n, _)| *n).collect();
    let mut order = round_groups(&names).concat();
    let mut times: [Vec<anyhow::Result<Vec<Vec<Duration>>>>; 2] = [0, 1].map(|_| {
        compiled
            .iter()
            .map(|c| match c {
                Ok(_) => Ok(Vec::new()),
                Err(e) => Err(anyhow::anyhow!("{e:#}")),
            })
            .collect()
    });
    let mut has_pre = vec![true; engines.len()];
    for round in 0..=rounds {
        for &i in &order {
            let Ok(c) = &compiled[i] else { continue };
            for (form, pre) in [false, true].into_iter().enumerate() {
                let Ok(rounds) = &mut times[form][i] else {
                    continue;
                };
                match time_instantiation(c.as_ref(), pre, INSTANTIATIONS_PER_TIMING) {
                    None => has_pre[i] = false,
                    Some(Ok(t)) if round > 0 => rounds.push(vec![t]),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => times[form][i] = Err(e),
                }
            }
        }
        order.reverse();
    }
    let [linked, pre] = times;
    let mut cells = |label: &str, results: Vec<anyhow::Result<Vec<Vec<Duration>>>>, pre: bool| {
        eprint!("instantiation of {}, {label}:", programs::LARGE);
        results
            .into_iter()
            .enumerate()
            .map(|(i, result)| {
                let available = compiled[i].is_ok() && (!pre || has_pre[i]);
                finish_cell(names[i], " ", available, result, failed)
            })
            .collect::<Vec<Cell>>()
    };
    let linked = cells("through the linker", linked, false);
    eprintln!();
    let pre = cells("pre-linked", pre, true);
    [linked, pre]
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--child") {
        return measure::child(args);
    }
    let options = Options::parse()?;
    let units = units(&options.only);
    let mut engines = engines::all();
    if options.fuel {
        engines.extend(engines::with_fuel());
    }
    if options.epoch {
        engines.extend(engines::with_epochs());
    }
    if options.instrumented {
        engines.extend(engines::instrumented());
    }
    let names: Vec<&'static str> = engines.iter().map(|(name, _)| *name).collect();
    let unavailable: Vec<(&str, String)> = engines
        .iter()
        .filter_map(|(name, e)| Some((*name, format!("{:#}", e.as_ref().err()?))))
        .collect();
    eprintln!(
        "{} programs, {} rounds of {} timed runs each (each ratio's engines sharing a fresh process, \
         after a checked run; a SIMD build sharing its scalar build's), on native, {}",
        units.iter().map(Vec::len).sum::<usize>(),
        options.processes,
        options.runs,
        names.join(", ")
    );
    let load_before = load_average();
    let mut failed = false;
    let mut rows = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        eprint!("[{:2}/{}] ", i + 1, units.len());
        rows.extend(measure_unit(unit, &engines, &options, &mut failed));
    }
    // Report order: the scalar programs, then the SIMD builds.
    rows.sort_by_key(|r| r.scalar.is_some());

    let large = programs::find(programs::LARGE).context("the large program is listed")?;
    // One untimed start-up per engine, then rounds of one each, taking
    // turns as above; every round is paired.
    let startup_runs = (options.runs * options.processes).max(5);
    eprint!("start-up of {}:", large.name);
    let startup = startups(&engines, large.wasm, startup_runs, false, &mut failed);
    eprint!("\nstart-up of {} from saved code:", large.name);
    let warm = startups(&engines, large.wasm, startup_runs, true, &mut failed);
    eprintln!();
    let [linked, pre] = instantiations(&engines, large.wasm, startup_runs, &mut failed);
    eprintln!("\n");
    let extra = [
        (
            format!("{} start-up (compile + instantiate)", large.name),
            startup,
        ),
        (
            format!(
                "{} start-up from saved code (load + instantiate)",
                large.name
            ),
            warm,
        ),
        (
            format!("{} instantiation (`Linker::instantiate`)", large.name),
            linked,
        ),
        (format!("{} instantiation (`InstancePre`)", large.name), pre),
    ];

    println!(
        "Kiln benchmark report, {}, {}; wasmi {}, wasmtime {} (Cranelift); \
         median of {} runs in {} rounds, ratios paired by round (start-up: of {} in one process, \
         taking turns); load average {} before, {} after.\n",
        today(),
        machine(),
        engines::WASMI_VERSION,
        engines::WASMTIME_VERSION,
        options.runs * options.processes,
        options.processes,
        startup_runs,
        load_before,
        load_average()
    );
    print_report(&names, &rows, &extra, &unavailable);
    let scalar: Vec<&table::Row> = rows.iter().filter(|r| r.scalar.is_none()).collect();
    let (labels, series) = table::ratio_series(&names, &scalar);
    let title = format!("Kiln benchmark report, {}: ratios of median times", today());
    chart::write_chart(&options.chart, &title, &labels, &series)?;
    eprintln!("chart: {}", options.chart.display());
    if failed {
        anyhow::bail!("some engine printed something else than the native build, or failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ratio_s_engines_share_a_process() {
        let columns = ["native", "kiln-interp", "kiln-jit", "wasmi", "wasmtime"];
        assert_eq!(round_groups(&columns), [vec![1, 3], vec![2, 4], vec![0]]);
        // With the epoch variants, each joins its tier's group.
        let epochs = [
            "native",
            "kiln-interp",
            "kiln-jit",
            "wasmi",
            "wasmtime",
            "kiln-interp-epoch",
            "kiln-jit-epoch",
        ];
        assert_eq!(
            round_groups(&epochs),
            [vec![1, 3, 5], vec![2, 4, 6], vec![0]]
        );
        assert_eq!(ratios(&columns).len(), 3);
        // So do the fuel variants.
        let fuel = [
            "native",
            "kiln-interp",
            "kiln-jit",
            "wasmi",
            "wasmtime",
            "kiln-interp-fuel",
            "kiln-jit-fuel",
        ];
        assert_eq!(round_groups(&fuel), [vec![1, 3, 5], vec![2, 4, 6], vec![0]]);
        assert_eq!(ratios(&fuel).len(), 5);
        // The self-metering modules join Kiln's JIT with fuel, which they are
        // measured against.
        let instrumented = [
            &fuel[..],
            &["kiln-jit-instrumented", "wasmtime-instrumented"],
        ]
        .concat();
        assert_eq!(ratios(&instrumented).len(), 7);
        assert_eq!(
            round_groups(&instrumented),
            [vec![1, 3, 5], vec![2, 4, 6, 7, 8], vec![0]]
        );
        assert_eq!(ratios(&epochs).len(), 5);
        // Columns no ratio names still run, alone; an engine missing from a
        // ratio leaves its partner alone.
        assert_eq!(
            round_groups(&["other", "wasmi", "kiln-interp", "native"]),
            [vec![2, 1], vec![0], vec![3]]
        );
        assert_eq!(round_groups(&["native", "wasmtime"]), [vec![1], vec![0]]);
    }

    #[test]
    fn a_simd_build_is_measured_with_its_scalar_program() {
        let names = |units: Vec<Vec<&Program>>| -> Vec<Vec<&str>> {
            units
                .iter()
                .map(|u| u.iter().map(|p| p.name).collect())
                .collect()
        };
        let only = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            names(units(&only(&["fib", "matmul"]))),
            [["fib"].as_slice(), &["matmul"]]
        );
        assert_eq!(
            names(units(&only(&["matmul-simd", "fib"]))),
            [["fib"].as_slice(), &["matmul", "matmul-simd"]]
        );
        let all = units(&[]);
        assert_eq!(all.iter().map(Vec::len).sum::<usize>(), PROGRAMS.len());
        assert!(
            all.iter()
                .all(|u| !u[0].is_simd() && u[1..].iter().all(|p| p.is_simd()))
        );
    }
}
