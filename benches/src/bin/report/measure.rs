//! Taking the report's times: the native builds in the report's process,
//! the engines in fresh child processes (`report --child`), each run checked
//! against the native build's output.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kiln_benches::engines::{self, Compiled, Engine, Outcome};
use kiln_benches::native::NativeProgram;
use kiln_benches::programs::{self, Program};

/// `Ok` if `got` is what the reference run did.
pub fn check(got: &Outcome, reference: &Outcome) -> anyhow::Result<()> {
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
pub fn native_reference(program: &Program) -> anyhow::Result<(NativeProgram, Outcome)> {
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

/// Times `runs` runs of each native build, each checked against its
/// reference; the builds take turns run by run, the order reversing every
/// turn, as the engines do in [`child`].
pub fn time_natives(
    natives: &[(&NativeProgram, &Outcome)],
    runs: usize,
) -> Vec<anyhow::Result<Vec<Duration>>> {
    let mut results: Vec<anyhow::Result<Vec<Duration>>> = natives
        .iter()
        .map(|_| Ok(Vec::with_capacity(runs)))
        .collect();
    let mut order: Vec<usize> = (0..natives.len()).collect();
    for _ in 0..runs {
        for &i in &order {
            let Ok(times) = &mut results[i] else { continue };
            let (native, reference) = natives[i];
            match native
                .run(&[])
                .and_then(|(outcome, time)| check(&outcome, reference).map(|()| time))
            {
                Ok(time) => times.push(time),
                Err(e) => results[i] = Err(e),
            }
        }
        order.reverse();
    }
    results
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

/// One column a child process measures: a program on an engine, with the
/// output its native build printed.
pub struct Spec<'a> {
    pub engine: &'a str,
    pub program: &'a Program,
    pub reference: &'a Outcome,
}

/// The child's side of [`measure_in_child`]: `report --child RUNS SPEC...`,
/// each `SPEC` being `ENGINE:PROGRAM:STATUS:LENGTH`, with the specs'
/// reference outputs (`LENGTH` bytes each) one after the other on standard
/// input. Compiles each program on its engine and checks one run of each,
/// then times `RUNS` runs of each, the specs taking turns and the order
/// reversing every turn, each run checked too. Prints `INDEX NANOS` for each
/// timed run of the spec at `INDEX`, or `INDEX error MESSAGE` once for one
/// that failed, after which the others go on.
pub fn child(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let runs: usize = args
        .next()
        .context("--child needs a run count")?
        .parse()
        .context("--child run count")?;
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input)?;
    let mut input = &input[..];
    let mut specs: Vec<(String, &Program, Outcome)> = Vec::new();
    for spec in args {
        let parts: Vec<&str> = spec.split(':').collect();
        let [engine, name, status, length] = parts[..] else {
            anyhow::bail!("--child spec {spec:?} is not ENGINE:PROGRAM:STATUS:LENGTH");
        };
        let program = programs::find(name).with_context(|| format!("no program {name}"))?;
        let length: usize = length.parse().context("--child spec length")?;
        anyhow::ensure!(length <= input.len(), "--child: standard input too short");
        let (stdout, rest) = input.split_at(length);
        input = rest;
        let reference = Outcome {
            status: status.parse().context("--child spec status")?,
            stdout: stdout.to_vec(),
            stderr: Vec::new(),
        };
        specs.push((engine.to_owned(), program, reference));
    }
    let mut out = String::new();
    let mut compiled: Vec<Option<Box<dyn Compiled>>> = Vec::new();
    let fail = |out: &mut String, i: usize, e: anyhow::Error| {
        let message = format!("{e:#}").replace('\n', " ");
        let _ = writeln!(out, "{i} error {message}");
    };
    for (i, (engine, program, reference)) in specs.iter().enumerate() {
        match compile_checked(engine, program, reference) {
            Ok(c) => compiled.push(Some(c)),
            Err(e) => {
                fail(
                    &mut out,
                    i,
                    e.context(format!("{} on {engine}", program.name)),
                );
                compiled.push(None);
            }
        }
    }
    let mut order: Vec<usize> = (0..compiled.len()).collect();
    for _ in 0..runs {
        for &i in &order {
            let Some(c) = &compiled[i] else { continue };
            let (_, program, reference) = &specs[i];
            let start = Instant::now();
            let outcome = c.run(program.name, &[]);
            let time = start.elapsed();
            match outcome.and_then(|o| check(&o, reference)) {
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

/// Runs [`child`] for `specs` in a fresh process of this program and
/// returns each spec's times, or why it has none.
pub fn measure_in_child(
    specs: &[Spec<'_>],
    runs: usize,
) -> anyhow::Result<Vec<anyhow::Result<Vec<Duration>>>> {
    let mut command = Command::new(std::env::current_exe()?);
    command.arg("--child").arg(runs.to_string());
    let mut input = Vec::new();
    for spec in specs {
        command.arg(format!(
            "{}:{}:{}:{}",
            spec.engine,
            spec.program.name,
            spec.reference.status,
            spec.reference.stdout.len()
        ));
        input.extend_from_slice(&spec.reference.stdout);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("start a measuring process")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&input)?;
    }
    let output = child.wait_with_output()?;
    let what = || {
        let names: Vec<String> = specs
            .iter()
            .map(|s| format!("{} on {}", s.program.name, s.engine))
            .collect();
        names.join(" and ")
    };
    anyhow::ensure!(
        output.status.success(),
        "the measuring process of {} failed: {}",
        what(),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let mut results: Vec<anyhow::Result<Vec<Duration>>> =
        specs.iter().map(|_| Ok(Vec::new())).collect();
    for line in String::from_utf8(output.stdout)?.lines() {
        let (index, rest) = line
            .split_once(' ')
            .and_then(|(i, rest)| Some((i.parse::<usize>().ok()?, rest)))
            .filter(|(i, _)| *i < specs.len())
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
    for (result, spec) in results.iter_mut().zip(specs) {
        if let Ok(times) = result
            && times.len() != runs
        {
            *result = Err(anyhow::anyhow!(
                "the measuring process printed {} times for {} on {}",
                times.len(),
                spec.program.name,
                spec.engine
            ));
        }
    }
    Ok(results)
}

/// The time of one instantiation of `compiled`, averaged over `n` in a row:
/// through the linker, or through the `InstancePre` if `pre` (`None` if the
/// engine has none).
pub fn time_instantiation(
    compiled: &dyn Compiled,
    pre: bool,
    n: u32,
) -> Option<anyhow::Result<Duration>> {
    let start = Instant::now();
    for _ in 0..n {
        let done = if pre {
            compiled.instantiate_pre()?
        } else {
            compiled.instantiate()
        };
        if let Err(e) = done {
            return Some(Err(e));
        }
    }
    Some(Ok(start.elapsed() / n))
}

/// The time of one start-up from saved code: loading `saved` (what
/// `Engine::serialize` wrote) plus instantiate.
pub fn time_load(engine: &dyn Engine, saved: &[u8]) -> anyhow::Result<Duration> {
    let start = Instant::now();
    engine.load(saved)?.instantiate()?;
    Ok(start.elapsed())
}

/// The time of one start-up (compile plus instantiate) of `wasm`.
pub fn time_startup(engine: &dyn Engine, wasm: &[u8]) -> anyhow::Result<Duration> {
    let start = Instant::now();
    engine.compile(wasm)?.instantiate()?;
    Ok(start.elapsed())
}
