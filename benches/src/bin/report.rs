//! The side-by-side report: every C program in `benches/programs/` on every
//! engine and natively, in one table.
//!
//! ```sh
//! cargo run --release -p kiln-benches --bin report                  # all programs
//! cargo run --release -p kiln-benches --bin report -- --runs 5 fib  # some, more runs
//! ```
//!
//! For each program: the native build (`cc -O2`) runs once and its output
//! becomes the reference. Each engine's runs happen in `--processes` fresh
//! processes (default 3; the report runs itself with `--child`), the engines
//! taking turns: in each, the engine compiles the module, runs it once and
//! must print exactly the same as natively (else the cell reads `MISMATCH`
//! and the report exits 1), then makes `--runs` timed runs (default 3). The
//! cell is the median of all the timed runs. An engine's run is
//! instantiation plus `_start` (see `engines/mod.rs`); a native run is the
//! process from spawn to exit, `--runs` times `--processes` of them. Last,
//! the large program's start-up: compile plus instantiate, bytes to first
//! call, per engine, in the report's own process.
//!
//! Why several processes: on the machines measured so far, one program's
//! time in a fresh process moves by up to 1.7x between processes of the same
//! binary (where its memory and code land), while runs within one process
//! agree. A median over one process takes one such draw; over several it
//! takes the typical one, for every engine alike.
//! Three ratio columns follow the times: each Kiln tier over the engine of
//! its kind (`kiln-interp / wasmi`, `kiln-jit / wasmtime`), and
//! `kiln-jit / native`; the last row gives their geometric means.
//!
//! Progress goes to stderr; the table, in Markdown, to stdout.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use kiln_benches::engines::{self, Engine, Outcome};
use kiln_benches::native::NativeProgram;
use kiln_benches::programs::{self, PROGRAMS, Program};

/// The command line.
struct Options {
    /// Timed runs per program and engine in each process (after one checked run).
    runs: usize,
    /// Fresh processes per program and engine.
    processes: usize,
    /// Program names to run; empty for all.
    only: Vec<String>,
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
            runs: 3,
            processes: 3,
            only: Vec::new(),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--runs" => options.runs = count(&mut args, "--runs")?,
                "--processes" => options.processes = count(&mut args, "--processes")?,
                "-h" | "--help" => {
                    println!("usage: report [--runs N] [--processes P] [PROGRAM...]");
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
    /// The median time.
    Time(Duration),
    /// The engine cannot run on this host (Kiln's JIT off x86-64 Linux), or
    /// no native build could be made; the reason is printed.
    Unavailable,
    /// Wrong output, or an error; the reason was printed as progress.
    Failed,
}

impl Cell {
    fn time(&self) -> Option<Duration> {
        match self {
            Cell::Time(t) => Some(*t),
            _ => None,
        }
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

/// Times `runs` runs of the native build after one reference run; returns
/// the reference outcome and the median.
fn measure_native(program: &Program, runs: usize) -> anyhow::Result<(Outcome, Duration)> {
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
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (outcome, time) = native.run(&[])?;
        check(&outcome, &reference)?;
        times.push(time);
    }
    Ok((reference, median(times)))
}

/// Compiles `program` on `engine`, checks one run against `reference`, then
/// times `runs` runs, each checked too.
fn time_engine(
    engine: &dyn Engine,
    program: &Program,
    reference: &Outcome,
    runs: usize,
) -> anyhow::Result<Vec<Duration>> {
    let compiled = engine.compile(program.wasm)?;
    check(&compiled.run(program.name, &[])?, reference)?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let outcome = compiled.run(program.name, &[])?;
        times.push(start.elapsed());
        check(&outcome, reference)?;
    }
    Ok(times)
}

/// The child's side of [`measure_in_child`]: `report --child ENGINE PROGRAM RUNS
/// STATUS`, with the reference output on standard input. Prints one timed run's
/// nanoseconds per line.
fn child(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let mut next = |what: &str| args.next().with_context(|| format!("--child needs {what}"));
    let engine = engines::by_name(&next("an engine")?)?;
    let name = next("a program")?;
    let program = programs::find(&name).with_context(|| format!("no program {name}"))?;
    let runs = next("a run count")?.parse().context("--child run count")?;
    let status = next("a status")?.parse().context("--child status")?;
    let mut stdout = Vec::new();
    std::io::stdin().read_to_end(&mut stdout)?;
    let reference = Outcome {
        status,
        stdout,
        stderr: Vec::new(),
    };
    for time in time_engine(engine.as_ref(), program, &reference, runs)? {
        println!("{}", time.as_nanos());
    }
    Ok(())
}

/// Runs [`time_engine`] in a fresh process of this program and returns its
/// times.
fn measure_in_child(
    engine: &str,
    program: &Program,
    reference: &Outcome,
    runs: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--child", engine, program.name])
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
        "{}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let times = String::from_utf8(output.stdout)?
        .lines()
        .map(|l| l.parse().map(Duration::from_nanos))
        .collect::<Result<Vec<_>, _>>()
        .context("the measuring process printed something else than times")?;
    anyhow::ensure!(
        times.len() == runs,
        "the measuring process printed {} times",
        times.len()
    );
    Ok(times)
}

/// The median of `runs` start-ups (compile plus instantiate) of `wasm`, after
/// one untimed.
fn measure_startup(engine: &dyn Engine, wasm: &[u8], runs: usize) -> anyhow::Result<Duration> {
    engine.compile(wasm)?.instantiate()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        engine.compile(wasm)?.instantiate()?;
        times.push(start.elapsed());
    }
    Ok(median(times))
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
        Cell::Time(t) => format_time(*t),
        Cell::Unavailable => "n/a".into(),
        Cell::Failed => "MISMATCH/error".into(),
    };
    // The time of column `name` (an engine, or `native`) in a row.
    let time = |native: Option<Duration>, engines: &[Cell], name: &str| -> Option<Duration> {
        if name == "native" {
            return native;
        }
        engines[names.iter().position(|n| *n == name)?].time()
    };
    let ratio = |native: Option<Duration>, engines: &[Cell], (a, b): (&str, &str)| {
        let a = time(native, engines, a)?;
        let b = time(native, engines, b)?;
        Some(a.as_secs_f64() / b.as_secs_f64())
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
            let r = ratio(row.native.time(), &row.engines, pair);
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
            .filter_map(|r| ratio(r.native.time(), &r.engines, pair))
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
        let _ = write!(out, " {} |", format_ratio(ratio(None, startup, pair)));
    }
    let _ = writeln!(out);
    for (name, reason) in unavailable {
        let _ = writeln!(out, "\n{name}: n/a, {reason}");
    }
    print!("{out}");
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
        "{} programs, {} timed runs in each of {} processes after a checked run, on native, {}",
        selected.len(),
        options.runs,
        options.processes,
        names.join(", ")
    );
    let load_before = load_average();
    let mut failed = false;
    let mut rows = Vec::new();
    for (i, program) in selected.iter().enumerate() {
        eprint!(
            "[{:2}/{}] {:<10} native",
            i + 1,
            selected.len(),
            program.name
        );
        let (reference, native) = match measure_native(program, options.runs * options.processes) {
            Ok((reference, time)) => {
                eprint!(" {}", format_time(time));
                (reference, Cell::Time(time))
            }
            // Without a native build, check against the recorded output.
            Err(e) => {
                eprint!(" n/a ({e:#}; checking against programs/expected/)");
                let reference = Outcome {
                    status: 0,
                    stdout: program.expected.as_bytes().to_vec(),
                    stderr: Vec::new(),
                };
                (reference, Cell::Unavailable)
            }
        };
        // The engines take turns, one process each per round.
        let mut times: Vec<anyhow::Result<Vec<Duration>>> = engines
            .iter()
            .map(|(_, e)| match e {
                Ok(_) => Ok(Vec::new()),
                Err(e) => Err(anyhow::anyhow!("{e:#}")),
            })
            .collect();
        for _ in 0..options.processes {
            for ((name, _), slot) in engines.iter().zip(&mut times) {
                let Ok(so_far) = slot else { continue };
                match measure_in_child(name, program, &reference, options.runs) {
                    Ok(t) => so_far.extend(t),
                    Err(e) => *slot = Err(e),
                }
            }
        }
        let mut cells = Vec::new();
        for ((name, engine), result) in engines.iter().zip(times) {
            let cell = match (engine, result) {
                (Err(_), _) => Cell::Unavailable,
                (Ok(_), Ok(times)) => {
                    let time = median(times);
                    eprint!(", {name} {}", format_time(time));
                    Cell::Time(time)
                }
                (Ok(_), Err(e)) => {
                    eprint!("\n  {name} failed on {}: {e:#}\n ", program.name);
                    failed = true;
                    Cell::Failed
                }
            };
            cells.push(cell);
            let _ = std::io::stderr().flush();
        }
        eprintln!();
        rows.push(Row {
            name: program.name,
            native,
            engines: cells,
        });
    }

    let large = programs::find(programs::LARGE).context("the large program is listed")?;
    eprint!("start-up of {}:", large.name);
    let mut startup = Vec::new();
    for (name, engine) in &engines {
        let _ = std::io::stderr().flush();
        startup.push(match engine {
            Err(_) => Cell::Unavailable,
            Ok(engine) => match measure_startup(engine.as_ref(), large.wasm, options.runs.max(5)) {
                Ok(time) => {
                    eprint!(" {name} {}", format_time(time));
                    Cell::Time(time)
                }
                Err(e) => {
                    eprint!("\n  {name} failed: {e:#}\n ");
                    failed = true;
                    Cell::Failed
                }
            },
        });
    }
    eprintln!("\n");

    println!(
        "Kiln benchmark report, {}, {}; wasmi {}, wasmtime {} (Cranelift); \
         median of {} runs in {} processes (start-up: of {} in one); load average {} before, \
         {} after.\n",
        today(),
        machine(),
        engines::WASMI_VERSION,
        engines::WASMTIME_VERSION,
        options.runs * options.processes,
        options.processes,
        options.runs.max(5),
        load_before,
        load_average()
    );
    print_table(&names, &rows, &startup, &unavailable);
    if failed {
        anyhow::bail!("some engine printed something else than the native build, or failed");
    }
    Ok(())
}
