//! The `kiln` command-line tool.
//!
//! Each subcommand prints its result on stdout and exits 0, or prints
//! `error: FILE: <what went wrong>` on stderr and exits 1. Usage errors are
//! reported by clap and exit 2.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use kiln::Features;

mod cache;

/// Kiln, a WebAssembly engine written from scratch.
#[derive(Debug, Parser)]
#[command(
    name = "kiln",
    version,
    after_help = "Exit status: 0 on success, 1 if the file cannot be read or the module is rejected, 2 on a usage error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check that a module is well-formed and valid.
    ///
    /// FILE may be a binary module or a text module, whatever its extension:
    /// input that starts with `\0asm` (or is empty, contains a NUL byte or is
    /// not UTF-8) is read as binary, anything else as the text format.
    ///
    /// The module is checked against WebAssembly 2.0 (SIMD included) plus the
    /// tail-call, extended-const, multi-memory, memory64 and relaxed-simd
    /// proposals. A
    /// module that uses any other proposal is rejected with an error naming
    /// that proposal.
    ///
    /// Prints `valid` and exits 0, or prints the first error found on stderr
    /// and exits 1.
    Validate(ValidateArgs),
    /// Run a module: call an exported function, or its `_start`.
    ///
    /// With `--invoke NAME`, ARGS are WebAssembly values typed by the export's
    /// signature (`1`, `-3`, `2.5`, `nan`, `inf`, `null`), and the results are
    /// printed one per line: integers as signed decimals, floats in their
    /// shortest round-trip form, references as `null` or `ref#N`. Without it,
    /// the module is instantiated (running its start function) and its
    /// `_start` export, if any, is called.
    ///
    /// A module that imports `wasi_snapshot_preview1` runs as a WASI program:
    /// its arguments are FILE and ARGS, its standard streams are kiln's, it
    /// sees the directories granted with `--dir` and the variables set with
    /// `--env`, and kiln exits with its exit status (`proc_exit`, or 0 when
    /// `_start` returns).
    ///
    /// A trap prints its message on stderr and exits 1.
    ///
    /// FILE may also be a compiled module written by `kiln compile`. Its
    /// native code runs as it is, like an executable's: run only compiled
    /// modules you made or trust as much. One that another version of Kiln
    /// wrote, or that was compiled for another processor or with other
    /// settings (`--fuel`), is refused with an error saying so.
    ///
    /// On the JIT, `kiln run` keeps every module it compiles in a cache
    /// directory (`$KILN_CACHE_DIR`, else `$XDG_CACHE_HOME/kiln`, else
    /// `~/.cache/kiln`) and loads it from there the next time instead of
    /// compiling it again. An entry that is damaged or was written by
    /// another version or for another processor is ignored and replaced.
    /// The least recently used entries are removed when the cache grows past
    /// `$KILN_CACHE_MAX_SIZE` (default 1G; bytes, or a K, M or G suffix).
    Run(RunArgs),
    /// Compile a module to native code and save it, for `kiln run OUT`.
    ///
    /// The output holds the module and the JIT's code for this processor
    /// and this version of Kiln; `kiln run` refuses it anywhere else. Prints
    /// `compiled FILE to OUT` and exits 0.
    Compile(CompileArgs),
    /// Rewrite a module so that any engine computes what Kiln computes with
    /// fuel and NaN canonicalisation (the deterministic mode of `kiln-node`).
    ///
    /// The output counts fuel in its exported global `kiln_fuel` (an `i64`,
    /// read as unsigned) exactly as Kiln's cost model charges it, and traps
    /// where Kiln traps with `out of fuel`; canonicalises every NaN a float
    /// instruction produces; replaces relaxed SIMD by its deterministic
    /// profile; and counts the call depth in `kiln_depth`, trapping where
    /// Kiln would trap with `call stack exhausted`. After a trap, its global
    /// `kiln_status` says which: 1 out of fuel, 2 call stack exhausted, 0 any
    /// other. A host sets `kiln_fuel` (and `kiln_status` and `kiln_depth` to
    /// 0) before each call. Prints `instrumented FILE to OUT` and exits 0.
    Instrument(InstrumentArgs),
}

#[derive(Debug, Args)]
struct InstrumentArgs {
    /// The module to rewrite (`.wasm` or `.wat`).
    file: PathBuf,

    /// Where to write the rewritten module (binary).
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,

    /// The fuel `kiln_fuel` starts with (default: 2^64 - 1).
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,

    /// The call-depth limit to enforce (default: Kiln's, 10000).
    #[arg(long, value_name = "N")]
    max_call_depth: Option<u32>,

    /// Do not count fuel.
    #[arg(long)]
    no_fuel: bool,

    /// Do not canonicalise NaNs.
    #[arg(long)]
    no_nan_canonicalization: bool,

    /// Do not count the call depth.
    #[arg(long, conflicts_with = "max_call_depth")]
    no_call_depth: bool,

    /// Export the start function as `kiln_start` instead of running it at
    /// instantiation, for a host that must read the counters after it.
    #[arg(long)]
    defer_start: bool,

    /// Lower the maximum of every memory the module defines to this many
    /// bytes, as `Config::max_memory_bytes` bounds memories on Kiln.
    #[arg(long, value_name = "BYTES")]
    max_memory_bytes: Option<u64>,

    /// Lower the maximum of every table the module defines to this many
    /// elements, as `Config::max_table_elements` bounds tables on Kiln.
    #[arg(long, value_name = "N")]
    max_table_elements: Option<u64>,
}

#[derive(Debug, Args)]
struct CompileArgs {
    /// The module to compile (`.wasm` or `.wat`).
    file: PathBuf,

    /// Where to write the compiled module.
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,

    /// Compile with fuel metering, for `kiln run --fuel N OUT`.
    #[arg(long)]
    fuel: bool,
}

/// Which execution tier `kiln run` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EngineArg {
    /// Kiln's interpreter.
    Interp,
    /// Kiln's Cranelift JIT (x86-64 Linux).
    Jit,
    /// Both: starts on the interpreter while Cranelift compiles the module
    /// in the background, then runs native code for calls that start after
    /// (x86-64 Linux). A module whose compile finished during the run is
    /// saved to the compiled-module cache, and the next run starts native.
    Tiered,
}

impl Default for EngineArg {
    fn default() -> EngineArg {
        match kiln::Strategy::default() {
            kiln::Strategy::Interpreter => EngineArg::Interp,
            kiln::Strategy::Jit => EngineArg::Jit,
            kiln::Strategy::Tiered => EngineArg::Tiered,
        }
    }
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The execution tier (default: the JIT where Kiln has one, x86-64
    /// Linux; the interpreter elsewhere).
    #[arg(long, value_enum, default_value_t = EngineArg::default())]
    engine: EngineArg,

    /// Call this exported function instead of `_start`.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,

    /// Meter execution with this much fuel; running out traps with `out of fuel`.
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,

    /// Limit every linear memory to SIZE bytes (`K`, `M`, `G` or `T` for
    /// KiB, MiB, GiB, TiB): a module whose memory starts larger is refused,
    /// and growth past it fails. Without it, 32-bit memories may reach 4 GiB
    /// and 64-bit ones may start as large as the host can reserve and grow
    /// 64 GiB past their initial size.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<u64>,

    /// Grant a WASI program the host directory HOST, named GUEST inside
    /// (HOST as written by default). Nothing outside it is reachable.
    /// Repeatable.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,

    /// Set an environment variable of a WASI program; `--env NAME` passes
    /// the host's value. Repeatable.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<String>,

    /// Neither load the module from the compiled-module cache nor save it there.
    #[arg(long)]
    no_cache: bool,

    /// The module to run (`.wasm`, `.wat`, or the output of `kiln compile`).
    file: PathBuf,

    /// Arguments for `--invoke`, or for a WASI program.
    #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
    args: Vec<String>,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// The module to check (`.wasm` or `.wat`).
    file: PathBuf,

    /// Accept exactly WebAssembly 2.0: reject tail-call, extended-const,
    /// multi-memory, memory64, relaxed SIMD, typed function references,
    /// exception handling and GC as well. Without it, GC's types and
    /// instructions are checked too (`kiln run --engine interp` runs them).
    #[arg(long)]
    wasm2: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Validate(args) => validate(args).map(|()| ExitCode::SUCCESS),
        Command::Run(args) => run(args),
        Command::Compile(args) => compile(args).map(|()| ExitCode::SUCCESS),
        Command::Instrument(args) => instrument(args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // `{:#}` prints the whole chain on one line: "FILE: cause".
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn validate(args: &ValidateArgs) -> anyhow::Result<()> {
    let path = &args.file;
    let shown = path.display();
    let bytes = std::fs::read(path).with_context(|| format!("{shown}: cannot read the file"))?;
    let features = if args.wasm2 {
        Features::WASM2
    } else {
        Features::ALL_WITH_GC
    };
    if let Err(mut e) = kiln::validate(&bytes, features) {
        e.set_path(path);
        return Err(anyhow::Error::new(e).context(shown.to_string()));
    }
    writeln!(std::io::stdout(), "valid").context("cannot write to stdout")?;
    Ok(())
}

fn compile(args: &CompileArgs) -> anyhow::Result<()> {
    let path = &args.file;
    let shown = path.display();
    let bytes = std::fs::read(path).with_context(|| format!("{shown}: cannot read the file"))?;
    let mut config = kiln::Config::new();
    config.strategy(kiln::Strategy::Jit).consume_fuel(args.fuel);
    let engine = kiln::Engine::new(&config)?;
    let module = kiln::Module::new(&engine, &bytes).map_err(|mut e| {
        e.set_path(path);
        anyhow::Error::new(e).context(shown.to_string())
    })?;
    let saved = module.serialize()?;
    let out = args.output.display();
    std::fs::write(&args.output, saved).with_context(|| format!("{out}: cannot write the file"))?;
    writeln!(std::io::stdout(), "compiled {shown} to {out}").context("cannot write to stdout")?;
    Ok(())
}

fn instrument(args: &InstrumentArgs) -> anyhow::Result<()> {
    let path = &args.file;
    let shown = path.display();
    let bytes = std::fs::read(path).with_context(|| format!("{shown}: cannot read the file"))?;
    let bytes = kiln::wat2wasm(&bytes).map_err(|mut e| {
        e.set_path(path);
        anyhow::Error::new(e).context(shown.to_string())
    })?;
    let defaults = kiln::instrument::InstrumentConfig::default();
    let config = kiln::instrument::InstrumentConfig {
        fuel: !args.no_fuel,
        initial_fuel: args.fuel.unwrap_or(defaults.initial_fuel),
        canonicalize_nans: !args.no_nan_canonicalization,
        max_call_depth: match args.no_call_depth {
            true => None,
            false => args.max_call_depth.or(defaults.max_call_depth),
        },
        defer_start: args.defer_start,
        max_memory_bytes: args.max_memory_bytes,
        max_table_elements: args.max_table_elements,
    };
    let rewritten = kiln::instrument::instrument(&bytes, &config).context(shown.to_string())?;
    let out = args.output.display();
    std::fs::write(&args.output, rewritten)
        .with_context(|| format!("{out}: cannot write the file"))?;
    writeln!(std::io::stdout(), "instrumented {shown} to {out}")
        .context("cannot write to stdout")?;
    Ok(())
}

/// The WASI context for `kiln run`: argv, `--env`, `--dir`, inherited stdio.
fn wasi_ctx(args: &RunArgs, argv: &[String]) -> anyhow::Result<kiln_wasi::WasiCtx> {
    let mut builder = kiln_wasi::WasiCtx::builder();
    builder.args(argv).inherit_stdio();
    for env in &args.envs {
        match env.split_once('=') {
            Some((name, value)) => builder.env(name, value),
            None => match std::env::var(env) {
                Ok(value) => builder.env(env, value),
                Err(_) => continue,
            },
        };
    }
    for dir in &args.dirs {
        let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
        builder.preopened_dir(host, guest)?;
    }
    Ok(builder.build()?)
}

/// The exit status a WASI program asked for, if `e` is its `proc_exit`.
fn exit_status(e: &kiln::Error) -> Option<ExitCode> {
    let status = e.trap()?.exit_status()?;
    // As a Unix shell sees it: the low 8 bits.
    Some(ExitCode::from(status as u8))
}

fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let path = &args.file;
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("{shown}: cannot read the file"))?;
    let mut config = kiln::Config::new();
    config.strategy(match args.engine {
        EngineArg::Interp => kiln::Strategy::Interpreter,
        EngineArg::Jit => kiln::Strategy::Jit,
        EngineArg::Tiered => kiln::Strategy::Tiered,
    });
    // GC runs on the interpreter (the JIT refuses it, so it stays off there
    // and a GC module is refused by the parser, naming the proposal).
    if args.engine == EngineArg::Interp {
        config.features(Features::ALL_WITH_GC);
    }
    config.consume_fuel(args.fuel.is_some());
    if let Some(bytes) = args.max_memory {
        config.max_memory_bytes(bytes);
    }
    let engine = kiln::Engine::new(&config)?;
    let cache = matches!(args.engine, EngineArg::Jit | EngineArg::Tiered) && !args.no_cache;
    let tiered = args.engine == EngineArg::Tiered;
    let module = cache::module(&engine, &bytes, cache, tiered).map_err(|mut e| {
        e.set_path(path);
        anyhow::Error::new(e).context(shown.clone())
    })?;
    // Dropped when the run ends, whichever way.
    let _save = cache::TieredSave::new(&engine, &bytes, &module, cache, tiered);
    let is_wasi = module.imports().any(|(m, _, _)| m == kiln_wasi::MODULE);
    let mut linker = kiln::Linker::new(&engine);
    let ctx = if is_wasi {
        kiln_wasi::add_to_linker(&mut linker, |ctx: &mut kiln_wasi::WasiCtx| ctx)?;
        // A WASI program's arguments are its own, unless they are `--invoke`'s.
        let mut argv = vec![shown.clone()];
        if args.invoke.is_none() {
            argv.extend(args.args.iter().cloned());
        }
        wasi_ctx(args, &argv)?
    } else {
        kiln_wasi::WasiCtx::default()
    };
    let mut store = kiln::Store::new(&engine, ctx);
    if let Some(fuel) = args.fuel {
        store.set_fuel(fuel)?;
    }
    let instance = match linker.instantiate(&mut store, &module) {
        Ok(instance) => instance,
        Err(e) => return exit_status(&e).ok_or_else(|| e.into()),
    };
    if is_wasi && args.invoke.is_none() {
        let Some(start) = instance.get_func(&store, "_start") else {
            return Ok(ExitCode::SUCCESS);
        };
        return match start.call(&mut store, &[], &mut []) {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e) => exit_status(&e).ok_or_else(|| e.into()),
        };
    }
    // A WASI reactor is initialised before any of its exports is called.
    if is_wasi
        && let Some(init) = instance.get_func(&store, "_initialize")
        && let Err(e) = init.call(&mut store, &[], &mut [])
    {
        return exit_status(&e).ok_or_else(|| e.into());
    }
    let (name, func) = match &args.invoke {
        Some(name) => {
            let f = instance
                .get_func(&store, name)
                .with_context(|| format!("{shown}: no exported function named `{name}`"))?;
            (name.as_str(), f)
        }
        None => match instance.get_func(&store, "_start") {
            Some(f) => ("_start", f),
            None if args.args.is_empty() => return Ok(ExitCode::SUCCESS),
            None => anyhow::bail!("{shown}: arguments given, but no `--invoke` and no `_start`"),
        },
    };
    let ty = func.ty(&store);
    if args.args.len() != ty.params.len() {
        anyhow::bail!(
            "`{name}` takes {} argument(s) ({ty}), {} given",
            ty.params.len(),
            args.args.len()
        );
    }
    let params = ty
        .params
        .iter()
        .zip(&args.args)
        .map(|(t, a)| {
            parse_val(*t, a).with_context(|| format!("argument `{a}` is not a valid {t}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut results: Vec<kiln::Val> = ty
        .results
        .iter()
        .map(|t| kiln::Val::default_for(*t))
        .collect();
    if let Err(e) = func.call(&mut store, &params, &mut results) {
        return exit_status(&e).ok_or_else(|| e.into());
    }
    let mut out = std::io::stdout().lock();
    for r in &results {
        writeln!(out, "{}", show_val(r)).context("cannot write to stdout")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Parses a size in bytes: digits, then optionally `K`, `M`, `G` or `T`
/// (powers of 1024; `KiB`, ... too).
fn parse_size(s: &str) -> Result<u64, String> {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let shift = match &s[digits.len()..] {
        "" => 0,
        "K" | "KiB" => 10,
        "M" | "MiB" => 20,
        "G" | "GiB" => 30,
        "T" | "TiB" => 40,
        other => return Err(format!("unknown unit `{other}` (use K, M, G or T)")),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size in bytes"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// Parses a command-line argument as a value of type `ty`.
fn parse_val(ty: kiln::ValType, s: &str) -> anyhow::Result<kiln::Val> {
    use kiln::{Val, ValType};
    Ok(match ty {
        ValType::I32 => {
            let v: i64 = s.parse()?;
            let v = i32::try_from(v).or_else(|_| u32::try_from(v).map(|u| u as i32))?;
            Val::I32(v)
        }
        ValType::I64 => Val::I64(
            s.parse::<i64>()
                .or_else(|_| s.parse::<u64>().map(|u| u as i64))?,
        ),
        ValType::F32 => Val::F32(s.parse::<f32>()?.to_bits()),
        ValType::F64 => Val::F64(s.parse::<f64>()?.to_bits()),
        // As `show_val` prints one: `0x` and 32 hex digits (or any u128).
        ValType::V128 => Val::V128(match s.strip_prefix("0x") {
            Some(hex) => u128::from_str_radix(hex, 16)?,
            None => s.parse::<u128>()?,
        }),
        ValType::Ref(r) if r.nullable && s == "null" => Val::default_for(ty),
        _ => anyhow::bail!("values of type {ty} cannot be given on the command line"),
    })
}

/// Formats a result as `wasmtime run --invoke` does.
fn show_val(v: &kiln::Val) -> String {
    use kiln::Val;
    match *v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(b) => f32::from_bits(b).to_string(),
        Val::F64(b) => f64::from_bits(b).to_string(),
        Val::V128(x) => format!("{x:#034x}"),
        Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None) => {
            "null".into()
        }
        Val::FuncRef(Some(a)) => format!("ref#{}", a.0),
        Val::ExternRef(Some(a)) => format!("ref#{}", a.0),
        Val::ExnRef(Some(a)) => format!("exn#{}", a.0),
        Val::AnyRef(Some(g)) => match g.decode() {
            kiln::AnyRef::I31(v) => format!("i31#{v}"),
            kiln::AnyRef::Object(o) => format!("obj#{}", o.0),
            kiln::AnyRef::Host(a) => format!("ref#{a}"),
            kiln::AnyRef::Null => "null".into(),
        },
    }
}
