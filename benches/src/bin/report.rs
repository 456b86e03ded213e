//! The side-by-side report: every C program in `benches/programs/` on every
//! engine and natively, in one table.
//!
//! ```sh
//! cargo run --release -p kiln-benches --bin report                  # all programs
//! cargo run --release -p kiln-benches --bin report -- --runs 5 fib  # some, more runs
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
//! engine, in the report's own process, the engines taking turns.
//!
//! Three ratio columns follow the times: each Kiln tier over the engine of
//! its kind (`kiln-interp / wasmi`, `kiln-jit / wasmtime`), and
//! `kiln-jit / native`; the last row gives their geometric means. A ratio is
//! paired: the median, over the rounds, of the ratio of the two columns'
//! fastest runs in that round. The order of the processes reverses from
//! round to round. `--verbose` prints each column's fastest run of every
//! round.
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
//! Progress goes to stderr; the table, in Markdown, to stdout.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use kiln_benches::engines::{self, Compiled, Engine, Outcome};
use kiln_benches::native::NativeProgram;
use kiln_benches::programs::{self, PROGRAMS, Program};

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
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--runs" => options.runs = count(&mut args, "--runs")?,
                "--processes" => options.processes = count(&mut args, "--processes")?,
                "--verbose" => options.verbose = true,
                "-h" | "--help" => {
                    println!("usage: report [--runs N] [--processes P] [--verbose] [PROGRAM...]");
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

/// One measurement in the table.
enum Cell {
    /// The median of all timed runs, and the fastest run of each round.
    Time {
        median: Duration,
        rounds: Vec<Duration>,
    },
    /// The engine cannot run on this host (Kiln's JIT off x86-64 Linux), or
    /// no native build could be made; the reason is printed.
    Unavailable,
    /// Wrong output, or an error; the reason was printed as progress.
    Failed,
}

impl Cell {
    fn time(&self) -> Option<Duration> {
        match self {
            Cell::Time { median, .. } => Some(*median),
            _ => None,
        }
    }

    /// A cell of one or more rounds of times; `None` when there are none.
    fn from_rounds(rounds: &[Vec<Duration>]) -> Option<Cell> {
        let all: Vec<Duration> = rounds.iter().flatten().copied().collect();
        if all.is_empty() || rounds.iter().any(Vec::is_empty) {
            return None;
        }
        Some(Cell::Time {
            median: median(all),
            rounds: rounds
                .iter()
                .filter_map(|r| r.iter().min().copied())
                .collect(),
        })
    }

    /// `self` over `other`, paired by rounds (see the module comment);
    /// the ratio of the medians when the rounds do not correspond.
    fn ratio(&self, other: &Cell) -> Option<f64> {
        let (
            Cell::Time {
                median: a,
                rounds: ra,
            },
            Cell::Time {
                median: b,
                rounds: rb,
            },
        ) = (self, other)
        else {
            return None;
        };
        if ra.len() != rb.len() || ra.len() < 2 {
            return Some(a.as_secs_f64() / b.as_secs_f64());
        }
        let mut ratios: Vec<f64> = ra
            .iter()
            .zip(rb)
            .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
            .collect();
        ratios.sort_unstable_by(f64::total_cmp);
        let n = ratios.len();
        Some(if n % 2 == 1 {
            ratios[n / 2]
        } else {
            (ratios[n / 2 - 1] * ratios[n / 2]).sqrt()
        })
    }
}

/// One row: a program's native time and each engine's, in engine order.
struct Row {
    name: &'static str,
    native: Cell,
    engines: Vec<Cell>,
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

/// `Ok` if `got` is what the reference run did.
fn check(got: &Outcome, reference: &Outcome) -> anyhow::Result<()> {
    anyhow::ensure!(
        got.status == reference.status && got.stdout == reference.stdout,
        "MISMATCH: exit {} with {:?} (stderr {:?}); natively exit {} with {:?}",
        got.status,
        got.stdout_lossy(),
        String::from_utf8_lossy(&got.stderr),
        reference.status,
        reference.stdout_lossy()
    );
    Ok(())
}

/// Builds `program` natively and runs it once; returns the build and the
/// reference outcome.
fn native_reference(program: &Program) -> anyhow::Result<(NativeProgram, Outcome)> {
    let native = NativeProgram::build(program)?;
    let (reference, _) = native.run(&[])?;
    anyhow::ensure!(
        reference.status == 0,
        "the native build exited {}: {}",
        reference.status,
        String::from_utf8_lossy(&reference.stderr)
    );
    if reference.stdout != program.expected.as_bytes() {
        eprintln!(
            "\n  warning: the native build of {} printed {:?}, but programs/expected/ has {:?}: \
             rerun programs/build.sh",
            program.name,
            reference.stdout_lossy(),
            program.expected
        );
    }
    Ok((native, reference))
}

/// Times `runs` runs of the native build, each checked against `reference`.
fn time_native(
    native: &NativeProgram,
    reference: &Outcome,
    runs: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (outcome, time) = native.run(&[])?;
        check(&outcome, reference)?;
        times.push(time);
    }
    Ok(times)
}

/// Compiles `program` on engine `name` and checks one run against
/// `reference`.
fn compile_checked(
    name: &str,
    program: &Program,
    reference: &Outcome,
) -> anyhow::Result<Box<dyn Compiled>> {
    let compiled = engines::by_name(name)?.compile(program.wasm)?;
    check(&compiled.run(program.name, &[])?, reference)?;
    Ok(compiled)
}

/// The child's side of [`measure_in_child`]: `report --child ENGINES PROGRAM
/// RUNS STATUS` (engines separated by commas), with the reference output on
/// standard input. Compiles the program on every engine and checks one run
/// of each, then times `RUNS` runs of each, the engines taking turns and the
/// order reversing every turn, each run checked too. Prints `INDEX NANOS` for
/// each timed run of the engine at `INDEX`, or `INDEX error MESSAGE` once for
/// one that failed, after which the others go on.
fn child(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let mut next = |what: &str| args.next().with_context(|| format!("--child needs {what}"));
    let names = next("engines")?;
    let name = next("a program")?;
    let program = programs::find(&name).with_context(|| format!("no program {name}"))?;
    let runs: usize = next("a run count")?.parse().context("--child run count")?;
    let status = next("a status")?.parse().context("--child status")?;
    let mut stdout = Vec::new();
    std::io::stdin().read_to_end(&mut stdout)?;
    let reference = Outcome {
        status,
        stdout,
        stderr: Vec::new(),
    };
    let mut out = String::new();
    let mut compiled: Vec<Option<Box<dyn Compiled>>> = Vec::new();
    let fail = |out: &mut String, i: usize, e: anyhow::Error| {
        let message = format!("{e:#}").replace('\n', " ");
        let _ = writeln!(out, "{i} error {message}");
    };
    for (i, name) in names.split(',').enumerate() {
        match compile_checked(name, program, &reference) {
            Ok(c) => compiled.push(Some(c)),
            Err(e) => {
                fail(&mut out, i, e.context(format!("on {name}")));
                compiled.push(None);
            }
        }
    }
    let mut order: Vec<usize> = (0..compiled.len()).collect();
    for _ in 0..runs {
        for &i in &order {
            let Some(c) = &compiled[i] else { continue };
            let start = Instant::now();
            let outcome = c.run(program.name, &[]);
            let time = start.elapsed();
            match outcome.and_then(|o| check(&o, &reference)) {
                Ok(()) => {
                    let _ = writeln!(out, "{i} {}", time.as_nanos());
                }
                Err(e) => {
                    fail(&mut out, i, e);
                    compiled[i] = None;
                }
            }
        }
        order.reverse();
    }
    print!("{out}");
    Ok(())
}

/// Runs [`child`] for `engines` in a fresh process of this program and
/// returns each engine's times, or why it has none.
fn measure_in_child(
    engines: &[&str],
    program: &Program,
    reference: &Outcome,
    runs: usize,
) -> anyhow::Result<Vec<anyhow::Result<Vec<Duration>>>> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--child", &engines.join(","), program.name])
        .arg(runs.to_string())
        .arg(reference.status.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("start a measuring process")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&reference.stdout)?;
    }
    let output = child.wait_with_output()?;
    anyhow::ensure!(
        output.status.success(),
        "the measuring process of {} failed: {}",
        engines.join(" and "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let mut results: Vec<anyhow::Result<Vec<Duration>>> =
        engines.iter().map(|_| Ok(Vec::new())).collect();
    for line in String::from_utf8(output.stdout)?.lines() {
        let (index, rest) = line
            .split_once(' ')
            .and_then(|(i, rest)| Some((i.parse::<usize>().ok()?, rest)))
            .filter(|(i, _)| *i < engines.len())
            .with_context(|| format!("the measuring process printed {line:?}"))?;
        if let Some(message) = rest.strip_prefix("error ") {
            results[index] = Err(anyhow::anyhow!("{message}"));
        } else if let Ok(times) = &mut results[index] {
            let nanos = rest
                .parse()
                .with_context(|| format!("the measuring process printed {line:?}"))?;
            times.push(Duration::from_nanos(nanos));
        }
    }
    for (result, engine) in results.iter_mut().zip(engines) {
        if let Ok(times) = result
            && times.len() != runs
        {
            *result = Err(anyhow::anyhow!(
                "the measuring process printed {} times for {engine}",
                times.len()
            ));
        }
    }
    Ok(results)
}

/// The time of one start-up (compile plus instantiate) of `wasm`.
fn time_startup(engine: &dyn Engine, wasm: &[u8]) -> anyhow::Result<Duration> {
    let start = Instant::now();
    engine.compile(wasm)?.instantiate()?;
    Ok(start.elapsed())
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

/// `2.53 s`, `81.2 ms`, `512 µs`: three significant digits.
fn format_time(t: Duration) -> String {
    let s = t.as_secs_f64();
    let (value, unit) = if s >= 1.0 {
        (s, "s")
    } else if s >= 1e-3 {
        (s * 1e3, "ms")
    } else {
        (s * 1e6, "µs")
    };
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$} {unit}")
}

fn geomean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let log_sum: f64 = values.iter().map(|v| v.ln()).sum();
    Some((log_sum / values.len() as f64).exp())
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
/// the engine of the same kind, and Kiln's JIT against native code.
const RATIOS: [(&str, &str); 3] = [
    ("kiln-interp", "wasmi"),
    ("kiln-jit", "wasmtime"),
    ("kiln-jit", "native"),
];

/// Prints the table in Markdown, then why each unavailable engine is.
fn print_table(
    names: &[&'static str],
    rows: &[Row],
    startup: &[Cell],
    unavailable: &[(&str, String)],
) {
    let mut out = String::new();
    let cell = |c: &Cell| match c {
        Cell::Time { median, .. } => format_time(*median),
        Cell::Unavailable => "n/a".into(),
        Cell::Failed => "MISMATCH/error".into(),
    };
    // The cell of column `name` (an engine, or `native`) in a row.
    fn column<'a>(
        names: &[&str],
        native: &'a Cell,
        engines: &'a [Cell],
        name: &str,
    ) -> Option<&'a Cell> {
        if name == "native" {
            return Some(native);
        }
        engines.get(names.iter().position(|n| *n == name)?)
    }
    let ratio = |native: &Cell, engines: &[Cell], (a, b): (&str, &str)| {
        column(names, native, engines, a)?.ratio(column(names, native, engines, b)?)
    };
    let format_ratio = |r: Option<f64>| match r {
        Some(r) => format!("{r:.2}x"),
        None => "n/a".into(),
    };

    let _ = write!(out, "| workload | native |");
    for name in names {
        let _ = write!(out, " {name} |");
    }
    for (a, b) in RATIOS {
        let _ = write!(out, " {a} / {b} |");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "|---|---:|{}{}",
        "---:|".repeat(names.len()),
        "---:|".repeat(RATIOS.len())
    );
    for row in rows {
        let _ = write!(out, "| {} | {} |", row.name, cell(&row.native));
        for c in &row.engines {
            let _ = write!(out, " {} |", cell(c));
        }
        for pair in RATIOS {
            let r = ratio(&row.native, &row.engines, pair);
            let _ = write!(out, " {} |", format_ratio(r));
        }
        let _ = writeln!(out);
    }

    // Geometric means over the programs each column has a time for.
    let mean = |times: Vec<Option<Duration>>| -> String {
        let n = times.len();
        let secs: Vec<f64> = times
            .into_iter()
            .flatten()
            .map(|t| t.as_secs_f64())
            .collect();
        match geomean(&secs) {
            Some(g) if secs.len() == n => format_time(Duration::from_secs_f64(g)),
            Some(g) => format!(
                "{} ({} of {n})",
                format_time(Duration::from_secs_f64(g)),
                secs.len()
            ),
            None => "n/a".into(),
        }
    };
    let _ = write!(
        out,
        "| **geometric mean** | {} |",
        mean(rows.iter().map(|r| r.native.time()).collect())
    );
    for i in 0..names.len() {
        let times: Vec<_> = rows.iter().map(|r| r.engines[i].time()).collect();
        let _ = write!(out, " {} |", mean(times));
    }
    for pair in RATIOS {
        let ratios: Vec<f64> = rows
            .iter()
            .filter_map(|r| ratio(&r.native, &r.engines, pair))
            .collect();
        let _ = write!(out, " {} |", format_ratio(geomean(&ratios)));
    }
    let _ = writeln!(out);

    // Start-up of the large program, outside the means.
    let _ = write!(
        out,
        "| {} start-up (compile + instantiate) | – |",
        programs::LARGE
    );
    for c in startup {
        let _ = write!(out, " {} |", cell(c));
    }
    for pair in RATIOS {
        let _ = write!(
            out,
            " {} |",
            format_ratio(ratio(&Cell::Unavailable, startup, pair))
        );
    }
    let _ = writeln!(out);
    for (name, reason) in unavailable {
        let _ = writeln!(out, "\n{name}: n/a, {reason}");
    }
    print!("{out}");
}

/// How a round runs the columns (`native` and the engines): in groups, one
/// after the other, the engines of a group in one process taking turns run
/// by run. The two engines of each ratio in [`RATIOS`] share a group; every
/// other column is alone, `native` last.
fn round_groups(columns: &[&str]) -> Vec<Vec<usize>> {
    let index = |name: &str| columns.iter().position(|c| *c == name);
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let grouped = |groups: &Vec<Vec<usize>>, i: usize| groups.iter().flatten().any(|&g| g == i);
    for (a, b) in RATIOS {
        if let (Some(a), Some(b)) = (index(a), index(b))
            && a != b
            && columns[a] != "native"
            && columns[b] != "native"
            && !grouped(&groups, a)
            && !grouped(&groups, b)
        {
            groups.push(vec![a, b]);
        }
    }
    let native = index("native");
    for i in 0..columns.len() {
        if Some(i) != native && !grouped(&groups, i) {
            groups.push(vec![i]);
        }
    }
    groups.extend(native.map(|n| vec![n]));
    groups
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--child") {
        return child(args);
    }
    let options = Options::parse()?;
    let selected: Vec<&Program> = PROGRAMS
        .iter()
        .filter(|p| options.only.is_empty() || options.only.iter().any(|o| o == p.name))
        .collect();
    let engines = engines::all();
    let names: Vec<&'static str> = engines.iter().map(|(name, _)| *name).collect();
    let unavailable: Vec<(&str, String)> = engines
        .iter()
        .filter_map(|(name, e)| Some((*name, format!("{:#}", e.as_ref().err()?))))
        .collect();
    eprintln!(
        "{} programs, {} rounds of {} timed runs each (each ratio's engines sharing a fresh process, after a checked run), on native, {}",
        selected.len(),
        options.processes,
        options.runs,
        names.join(", ")
    );
    let load_before = load_average();
    let mut failed = false;
    let mut rows = Vec::new();
    for (i, program) in selected.iter().enumerate() {
        eprint!("[{:2}/{}] {:<10}", i + 1, selected.len(), program.name);
        let (native, reference) = match native_reference(program) {
            Ok((native, reference)) => (Some(native), reference),
            // Without a native build, check against the recorded output.
            Err(e) => {
                eprint!(" native n/a ({e:#}; checking against programs/expected/)");
                let reference = Outcome {
                    status: 0,
                    stdout: program.expected.as_bytes().to_vec(),
                    stderr: Vec::new(),
                };
                (None, reference)
            }
        };
        // Column 0 is native, then the engines; each holds its times by
        // round, or why it has none.
        let mut columns: Vec<anyhow::Result<Vec<Vec<Duration>>>> = std::iter::once(match &native {
            Some(_) => Ok(Vec::new()),
            None => Err(anyhow::anyhow!("no native build")),
        })
        .chain(engines.iter().map(|(_, e)| no_times_yet(e)))
        .collect();
        let column_names: Vec<&str> = std::iter::once("native")
            .chain(names.iter().copied())
            .collect();
        let mut order = round_groups(&column_names);
        for _ in 0..options.processes {
            for group in &order {
                // The group's columns that still measure.
                let live: Vec<usize> = group
                    .iter()
                    .copied()
                    .filter(|&c| columns[c].is_ok())
                    .collect();
                if live.is_empty() {
                    continue;
                }
                let results = if live == [0] {
                    let Some(native) = &native else { continue };
                    vec![time_native(native, &reference, options.runs)]
                } else {
                    let names: Vec<&str> = live.iter().map(|&c| column_names[c]).collect();
                    match measure_in_child(&names, program, &reference, options.runs) {
                        Ok(results) => results,
                        Err(e) => live.iter().map(|_| Err(anyhow::anyhow!("{e:#}"))).collect(),
                    }
                };
                for (c, result) in live.into_iter().zip(results) {
                    match (result, &mut columns[c]) {
                        (Ok(t), Ok(rounds)) => rounds.push(t),
                        (Err(e), slot) => *slot = Err(e),
                        (Ok(_), Err(_)) => {}
                    }
                }
            }
            order.reverse();
        }
        let mut cells = Vec::new();
        for (c, result) in columns.into_iter().enumerate() {
            let name = column_names[c];
            let available = if c == 0 {
                native.is_some()
            } else {
                engines[c - 1].1.is_ok()
            };
            let separator = if c == 0 { " " } else { ", " };
            cells.push(finish_cell(name, separator, available, result, &mut failed));
            let _ = std::io::stderr().flush();
        }
        if options.verbose {
            for (name, cell) in column_names.iter().zip(&cells) {
                if let Cell::Time { rounds, .. } = cell {
                    let times: Vec<String> = rounds.iter().map(|t| format_time(*t)).collect();
                    eprint!("\n  {name:<12} fastest of each round: {}", times.join(", "));
                }
            }
        }
        let native_cell = cells.remove(0);
        eprintln!();
        rows.push(Row {
            name: program.name,
            native: native_cell,
            engines: cells,
        });
    }

    let large = programs::find(programs::LARGE).context("the large program is listed")?;
    eprint!("start-up of {}:", large.name);
    let _ = std::io::stderr().flush();
    // One untimed start-up per engine, then rounds of one each, taking
    // turns as above; every round is paired.
    let startup_runs = (options.runs * options.processes).max(5);
    let mut startup_times: Vec<anyhow::Result<Vec<Vec<Duration>>>> =
        engines.iter().map(|(_, e)| no_times_yet(e)).collect();
    let mut order = round_groups(&names).concat();
    for round in 0..=startup_runs {
        for &i in &order {
            let (Ok(engine), Ok(rounds)) = (&engines[i].1, &mut startup_times[i]) else {
                continue;
            };
            match time_startup(engine.as_ref(), large.wasm) {
                Ok(t) if round > 0 => rounds.push(vec![t]),
                Ok(_) => {}
                Err(e) => startup_times[i] = Err(e),
            }
        }
        order.reverse();
    }
    let startup: Vec<Cell> = startup_times
        .into_iter()
        .enumerate()
        .map(|(i, result)| {
            let (name, engine) = &engines[i];
            finish_cell(name, " ", engine.is_ok(), result, &mut failed)
        })
        .collect();
    eprintln!("\n");

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
    print_table(&names, &rows, &startup, &unavailable);
    if failed {
        anyhow::bail!("some engine printed something else than the native build, or failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(rounds_ms: &[&[u64]]) -> Cell {
        let rounds: Vec<Vec<Duration>> = rounds_ms
            .iter()
            .map(|r| r.iter().map(|&ms| Duration::from_millis(ms)).collect())
            .collect();
        Cell::from_rounds(&rounds).expect("times")
    }

    #[test]
    fn a_ratio_is_the_median_of_the_rounds_ratios() {
        // Conditions changed after the first round for `b`, after the
        // second for `a`: each round's pair still agrees in two of three.
        let a = cell(&[&[100, 102], &[300, 300], &[300, 310]]);
        let b = cell(&[&[100, 98], &[300, 290], &[100, 100]]);
        assert_eq!(a.time(), Some(Duration::from_millis(300)));
        assert_eq!(b.time(), Some(Duration::from_millis(100)));
        let r = a.ratio(&b).expect("a ratio");
        assert!((r - 300.0 / 290.0).abs() < 1e-9, "{r}");
        // A round counts its fastest run: the slow one was disturbed.
        let a = cell(&[&[100, 300], &[310, 100]]);
        let b = cell(&[&[100, 100], &[100, 100]]);
        assert!((a.ratio(&b).expect("a ratio") - 1.0).abs() < 1e-9);
        // Two rounds: the geometric mean of the two ratios.
        let a = cell(&[&[100], &[400]]);
        let b = cell(&[&[100], &[100]]);
        assert!((a.ratio(&b).expect("a ratio") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn unpaired_cells_compare_medians() {
        let a = cell(&[&[30, 10, 20]]);
        let b = cell(&[&[10], &[10]]);
        assert!((a.ratio(&b).expect("a ratio") - 2.0).abs() < 1e-9);
        assert_eq!(a.ratio(&Cell::Unavailable), None);
        assert_eq!(Cell::Failed.ratio(&a), None);
        assert!(Cell::from_rounds(&[vec![], vec![Duration::from_millis(1)]]).is_none());
    }

    #[test]
    fn each_ratio_s_engines_share_a_process() {
        let columns = ["native", "kiln-interp", "kiln-jit", "wasmi", "wasmtime"];
        assert_eq!(round_groups(&columns), [vec![1, 3], vec![2, 4], vec![0]]);
        // Columns no ratio names still run, alone; an engine missing from a
        // ratio leaves its partner alone.
        assert_eq!(
            round_groups(&["other", "wasmi", "kiln-interp", "native"]),
            [vec![2, 1], vec![0], vec![3]]
        );
        assert_eq!(round_groups(&["native", "wasmtime"]), [vec![1], vec![0]]);
    }
}
