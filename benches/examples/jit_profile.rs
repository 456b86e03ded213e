//! Runs one workload on Kiln's JIT or on wasmtime in a loop, for a profiler,
//! and saves the engine's machine code so that the profile's addresses can be
//! read against its disassembly (neither engine writes a perf map here).
//!
//! ```sh
//! cargo build --release -p kiln-benches --example jit_profile
//! perf record -o kiln.data target/release/examples/jit_profile kiln-jit sieve 5 /tmp/kiln-code
//! perf report -i kiln.data --sort dso,sym   # compiled code shows as raw addresses
//! objdump -D -b binary -m i386:x86-64 --adjust-vma=0xSTART /tmp/kiln-code/0xSTART.bin
//! ```
//!
//! Arguments: the engine (`kiln-jit` or `wasmtime`); the workload: a name of
//! `kiln_benches::workloads` (`benches/wat/`, run with its `jit_size`),
//! `FILE.wat=SIZE` for a variant of one, or `program:NAME` for a C program of
//! `kiln_benches::programs` (one run of it per iteration); the seconds to run
//! (default 5); and a directory to write the code into (optional). After
//! compiling and instantiating, every executable mapping not backed by a file
//! (where both engines put compiled code) is copied from `/proc/self/mem` to
//! `DIR/0xSTART.bin`, and its range printed, before the loop starts.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kiln_benches::engines::{Engine as _, KilnEngine, WasmtimeEngine};
use kiln_benches::{programs, workloads};

/// Something that runs the workload once and says what it computed.
type Run = Box<dyn FnMut() -> anyhow::Result<String>>;

/// Something that calls `run(size)` of a workload and returns its checksum.
type RunWat = Box<dyn FnMut(i32) -> anyhow::Result<i64>>;

fn kiln_jit(wasm: &[u8]) -> anyhow::Result<RunWat> {
    let mut config = kiln::Config::new();
    config.strategy(kiln::Strategy::Jit);
    let engine = kiln::Engine::new(&config)?;
    let module = kiln::Module::new(&engine, wasm)?;
    let mut store = kiln::Store::new(&engine, ());
    let instance = kiln::Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<i32, i64>(&store, "run")?;
    Ok(Box::new(move |n| Ok(run.call(&mut store, n)?)))
}

fn wasmtime(wasm: &[u8]) -> anyhow::Result<RunWat> {
    let engine = wasmtime::Engine::new(&wasmtime::Config::new())?;
    let module = wasmtime::Module::new(&engine, wasm)?;
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = wasmtime::Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<i32, i64>(&mut store, "run")?;
    Ok(Box::new(move |n| Ok(run.call(&mut store, n)?)))
}

/// Copies every executable mapping without a file behind it into `dir`.
fn dump_code(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let mut mem = std::fs::File::open("/proc/self/mem")?;
    for line in maps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(range), Some(perms)) = (fields.first(), fields.get(1)) else {
            continue;
        };
        let path = fields.get(5).copied().unwrap_or("");
        let anonymous = path.is_empty() || path.starts_with("/memfd:");
        if !perms.contains('x') || !anonymous {
            continue;
        }
        let (start, end) = range.split_once('-').context("a range")?;
        let start = u64::from_str_radix(start, 16)?;
        let end = u64::from_str_radix(end, 16)?;
        let mut bytes = vec![0; usize::try_from(end - start)?];
        mem.seek(SeekFrom::Start(start))?;
        mem.read_exact(&mut bytes)?;
        let file = dir.join(format!("{start:#x}.bin"));
        std::fs::write(&file, &bytes)?;
        println!("code {start:#x}-{end:#x} ({path}) -> {}", file.display());
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [engine, name, rest @ ..] = args.as_slice() else {
        anyhow::bail!(
            "usage: jit_profile kiln-jit|wasmtime WORKLOAD|FILE.wat=SIZE|program:NAME [SECONDS] [DIR]"
        );
    };
    let seconds: f64 = rest.first().map_or(Ok(5.0), |s| s.parse())?;
    let mut run: Run = if let Some(program) = name.strip_prefix("program:") {
        let program = programs::find(program).with_context(|| format!("no program `{name}`"))?;
        let compiled = match engine.as_str() {
            "kiln-jit" => KilnEngine::new(kiln::Strategy::Jit)?.compile(program.wasm)?,
            "wasmtime" => WasmtimeEngine::new()?.compile(program.wasm)?,
            other => anyhow::bail!("unknown engine `{other}`"),
        };
        Box::new(move || Ok(compiled.run(program.name, &[])?.stdout_lossy()))
    } else {
        let (wat, size) = match name.split_once('=') {
            Some((file, size)) => (std::fs::read_to_string(file)?, size.parse()?),
            None => {
                let w = workloads::find(name).with_context(|| format!("no workload `{name}`"))?;
                (w.wat.to_owned(), w.jit_size)
            }
        };
        let wasm = kiln::wat2wasm(wat.as_bytes())?;
        let mut call = match engine.as_str() {
            "kiln-jit" => kiln_jit(&wasm)?,
            "wasmtime" => wasmtime(&wasm)?,
            other => anyhow::bail!("unknown engine `{other}`"),
        };
        Box::new(move || Ok(format!("run({size}) = {:#x}", call(size)?)))
    };
    if let Some(dir) = rest.get(1) {
        dump_code(Path::new(dir))?;
    }
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut calls = 0u64;
    let start = Instant::now();
    let mut result = String::new();
    while Instant::now() < deadline {
        result = run()?;
        calls += 1;
    }
    let per_call = start.elapsed() / u32::try_from(calls.max(1))?;
    println!(
        "{engine} {name}: {calls} calls, {per_call:?} each; {}",
        result.trim()
    );
    Ok(())
}
