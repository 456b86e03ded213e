//! Runs the built `kiln` binary on files written to a temporary directory and
//! checks its exit status, stdout and stderr.
//!
//! Tests marked "needs the validator" pass only because `kiln-validator`
//! rejects the module; the others are decided by the parser or the CLI.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};

/// A valid module exercising most section kinds, so that cutting it short
/// lands inside every kind of section (see `truncated_binary_never_passes`).
const SECTIONS_WAT: &str = r#"
(module
  (import "env" "log" (func $log (param i32)))
  (table 2 funcref)
  (memory 1)
  (global $counter (mut i32) (i32.const 7))
  (export "fib" (func $fib))
  (export "memory" (memory 0))
  (start $init)
  (elem (i32.const 0) $fib $init)
  (data $greeting "kiln")
  (func $init
    (memory.init $greeting (i32.const 0) (i32.const 0) (i32.const 4))
    (data.drop $greeting)
    (call $log (global.get $counter)))
  (func $fib (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else
        (i32.add
          (call $fib (i32.sub (local.get $n) (i32.const 1)))
          (call $fib (i32.sub (local.get $n) (i32.const 2))))))))
"#;

const FIB_WAT: &str = include_str!("../../examples/fib.wat");
const FAC_WAT: &str = include_str!("../../examples/fac.wat");

/// A directory of its own under the system temp dir, removed when dropped.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("kiln-cli-test-{}-{n}", std::process::id()));
        fs::create_dir_all(&path).expect("cannot create a temporary directory");
        TempDir { path }
    }

    /// Writes `contents` to `name` in this directory and returns its path.
    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path.join(name);
        fs::write(&path, contents).expect("cannot write a temporary file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// What one run of `kiln` did.
#[derive(Debug)]
struct Run {
    /// The exit code; `None` if a signal killed the process.
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts that the module was accepted.
    fn assert_valid(&self) {
        assert_eq!(self.code, Some(0), "{self:#?}");
        assert_eq!(self.stdout, "valid\n", "{self:#?}");
        assert_eq!(self.stderr, "", "{self:#?}");
    }

    /// Asserts a clean rejection of `path`: exit 1, nothing on stdout, one
    /// `error: PATH: ...` report containing each of `needles`.
    fn assert_rejected(&self, path: &Path, needles: &[&str]) {
        assert_eq!(self.code, Some(1), "{self:#?}");
        assert_eq!(self.stdout, "", "{self:#?}");
        let prefix = format!("error: {}: ", path.display());
        assert!(self.stderr.starts_with(&prefix), "{self:#?}");
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr lacks {needle:?}: {self:#?}"
            );
        }
    }
}

fn kiln<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .current_dir(workspace_root())
        // The compiled-module cache of these runs, not the user's.
        .env(
            "KILN_CACHE_DIR",
            std::env::temp_dir().join("kiln-cli-test-cache"),
        )
        .output()
        .expect("cannot run the kiln binary");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Where the README's commands run: relative paths such as `examples/fib.wat`
/// are the workspace's.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn validate(path: &Path) -> Run {
    kiln([OsStr::new("validate"), path.as_os_str()])
}

#[test]
fn valid_text_module() {
    let dir = TempDir::new();
    validate(&dir.file("fib.wat", FIB_WAT)).assert_valid();
}

#[test]
fn valid_binary_module() -> Result<()> {
    let dir = TempDir::new();
    let wasm = wat::parse_str(FIB_WAT)?;
    validate(&dir.file("fib.wasm", wasm)).assert_valid();
    let wasm = wat::parse_str(SECTIONS_WAT)?;
    validate(&dir.file("sections.wasm", wasm)).assert_valid();
    Ok(())
}

/// The format is decided by the content, so a misnamed file still works.
#[test]
fn format_is_detected_by_content() -> Result<()> {
    let dir = TempDir::new();
    validate(&dir.file("text.wasm", FIB_WAT)).assert_valid();
    validate(&dir.file("binary.wat", wat::parse_str(FIB_WAT)?)).assert_valid();
    validate(&dir.file("no-extension", FIB_WAT)).assert_valid();
    Ok(())
}

/// Every program the README points at is valid.
#[test]
fn examples_are_valid() -> Result<()> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut seen = Vec::new();
    for entry in fs::read_dir(&examples).context("reading examples/")? {
        let path = entry?.path();
        if path.extension() == Some(OsStr::new("wat")) {
            validate(&path).assert_valid();
            seen.push(path);
        }
    }
    assert!(seen.iter().any(|p| p.ends_with("fib.wat")), "{seen:?}");
    assert!(seen.iter().any(|p| p.ends_with("add.wat")), "{seen:?}");
    Ok(())
}

#[test]
fn bad_magic_is_malformed() {
    let dir = TempDir::new();
    let path = dir.file("bad-magic.wasm", b"\0ASM\x01\0\0\0");
    validate(&path).assert_rejected(&path, &["malformed module", "magic header"]);
}

#[test]
fn unknown_version_is_malformed() {
    let dir = TempDir::new();
    let path = dir.file("version2.wasm", b"\0asm\x02\0\0\0");
    validate(&path).assert_rejected(&path, &["malformed module", "(at offset 0x4)"]);
}

/// A file that is neither a module nor text (here the start of an ELF
/// executable) gets a binary-format error, not a text syntax error.
#[test]
fn other_binary_file_is_malformed() {
    let dir = TempDir::new();
    let path = dir.file("program", b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    validate(&path).assert_rejected(&path, &["malformed module", "magic header"]);
}

#[test]
fn empty_file_is_malformed() {
    let dir = TempDir::new();
    let path = dir.file("empty.wasm", b"");
    validate(&path).assert_rejected(&path, &["malformed module", "(at offset 0x0)"]);
}

/// Reads one unsigned LEB128 `u32` at `*pos`, advancing `*pos`.
fn read_leb_u32(bytes: &[u8], pos: &mut usize) -> u32 {
    let mut value = 0u32;
    for shift in (0..35).step_by(7) {
        let byte = bytes[*pos];
        *pos += 1;
        value |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
    }
    value
}

/// For each section boundary of a valid binary module (the header's end
/// included), whether the prefix ending there is itself a valid module.
///
/// A prefix is complete unless it has a function section without its code
/// section, or a data count section without its data section.
fn section_boundaries(wasm: &[u8]) -> Vec<(usize, bool)> {
    const FUNCTION: u8 = 3;
    const CODE: u8 = 10;
    const DATA: u8 = 11;
    const DATA_COUNT: u8 = 12;
    let mut seen = Vec::new();
    let mut pos = 8;
    let mut boundaries = vec![(pos, true)];
    while pos < wasm.len() {
        let id = wasm[pos];
        pos += 1;
        let size = read_leb_u32(wasm, &mut pos) as usize;
        pos += size;
        seen.push(id);
        let complete = (!seen.contains(&FUNCTION) || seen.contains(&CODE))
            && (!seen.contains(&DATA_COUNT) || seen.contains(&DATA));
        boundaries.push((pos, complete));
    }
    assert_eq!(
        pos,
        wasm.len(),
        "the section walk must end at the module's end"
    );
    boundaries
}

/// Cuts a valid module at every length from 0 to len - 1. Each cut exits 0 or
/// 1 with a report, never with a panic or a signal. A cut inside the header or
/// inside a section is malformed; a cut between sections is a shorter module,
/// malformed if it is incomplete (a function section without code, a data
/// count without data) and valid otherwise (the bare 8-byte header is the
/// empty module).
#[test]
fn truncated_binary_never_passes() -> Result<()> {
    let wasm = wat::parse_str(SECTIONS_WAT)?;
    let boundaries = section_boundaries(&wasm);
    // The module must have enough structure for the test to mean something.
    assert!(boundaries.len() >= 12, "{boundaries:?}");
    assert!(boundaries.iter().filter(|(_, ok)| !ok).count() >= 8);

    let dir = TempDir::new();
    for len in 0..wasm.len() {
        let path = dir.file("cut.wasm", &wasm[..len]);
        let run = validate(&path);
        match boundaries.iter().find(|&&(at, _)| at == len) {
            Some(&(_, true)) => run.assert_valid(),
            _ => run.assert_rejected(&path, &["malformed module"]),
        }
    }
    Ok(())
}

/// Needs the validator: the parser alone accepts this module.
#[test]
fn type_mismatch_is_invalid() {
    let dir = TempDir::new();
    let path = dir.file(
        "mismatch.wat",
        "(module (func (export \"f\") (result i32) i64.const 0))",
    );
    validate(&path).assert_rejected(&path, &["invalid module: type mismatch", "function 0"]);
}

/// `kiln run --engine interp` runs GC; the default engine (the JIT) refuses
/// it, naming the proposal and the way to run it.
#[test]
fn gc_runs_on_the_interpreter() {
    let dir = TempDir::new();
    let path = dir.file(
        "gc.wat",
        "(module (type $s (struct (field i32))) \
         (func (export \"f\") (result i32) (struct.get $s 0 (struct.new $s (i32.const 7)))) \
         (func (export \"i\") (result i31ref) (ref.i31 (i32.const -3))))",
    );
    let run = kiln([
        OsStr::new("run"),
        OsStr::new("--engine"),
        OsStr::new("interp"),
        OsStr::new("--invoke"),
        OsStr::new("f"),
        path.as_os_str(),
    ]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert_eq!(run.stdout.trim(), "7");
    let run = kiln([
        OsStr::new("run"),
        OsStr::new("--engine"),
        OsStr::new("interp"),
        OsStr::new("--invoke"),
        OsStr::new("i"),
        path.as_os_str(),
    ]);
    assert_eq!(run.stdout.trim(), "i31#-3", "{run:#?}");
    let run = kiln([
        OsStr::new("run"),
        OsStr::new("--invoke"),
        OsStr::new("f"),
        path.as_os_str(),
    ]);
    run.assert_rejected(&path, &["gc proposal", "--engine interp"]);
}

/// GC's rules are checked: an immutable field cannot be set.
#[test]
fn gc_rules_are_checked() {
    let dir = TempDir::new();
    let path = dir.file(
        "immutable.wat",
        "(module (type $s (struct (field i32))) \
         (func (param (ref $s)) (struct.set $s 0 (local.get 0) (i32.const 1))))",
    );
    validate(&path).assert_rejected(&path, &["invalid module: immutable field", "function 0"]);
}

/// Needs the validator: the parser alone accepts these modules.
#[test]
fn broken_rules_are_invalid() {
    let dir = TempDir::new();
    let cases = [
        (
            "unknown-local.wat",
            "(module (func local.get 0 drop))",
            "unknown local",
        ),
        (
            "duplicate-export.wat",
            "(module (func (export \"a\")) (func (export \"a\")))",
            "duplicate export",
        ),
        (
            "immutable-global.wat",
            "(module (global i32 (i32.const 0)) (func i32.const 1 global.set 0))",
            "immutable",
        ),
    ];
    for (name, text, needle) in cases {
        let path = dir.file(name, text);
        validate(&path).assert_rejected(&path, &["invalid module", needle]);
    }
}

/// Proposals Kiln does not implement are rejected, and the error names them.
#[test]
fn unsupported_proposals_are_named() {
    let dir = TempDir::new();
    let cases = [
        ("threads.wat", "(module (memory 1 1 shared))", "threads"),
        (
            "custom-page-sizes.wat",
            "(module (memory 1 (pagesize 1)))",
            "custom-page-sizes",
        ),
        (
            "wide-arithmetic.wat",
            "(module (func (param i64 i64 i64 i64) (result i64 i64) \
             local.get 0 local.get 1 local.get 2 local.get 3 i64.add128))",
            "wide-arithmetic",
        ),
    ];
    for (name, text, proposal) in cases {
        let path = dir.file(name, text);
        let needle = format!("the {proposal} proposal");
        validate(&path).assert_rejected(&path, &["unsupported feature", &needle]);
    }
}

/// The proposals Kiln implements beyond 2.0 are on by default and switched
/// off by `--wasm2`.
#[test]
fn wasm2_switches_proposals_off() {
    let dir = TempDir::new();
    let tail_call = dir.file("fac.wat", FAC_WAT);
    let memory64 = dir.file("memory64.wat", "(module (memory i64 1))");
    let relaxed = dir.file(
        "relaxed-simd.wat",
        "(module (func (param v128) (result v128) \
         local.get 0 local.get 0 local.get 0 i8x16.relaxed_laneselect))",
    );
    for path in [&tail_call, &memory64, &relaxed] {
        validate(path).assert_valid();
    }
    let run = kiln([
        OsStr::new("validate"),
        OsStr::new("--wasm2"),
        tail_call.as_os_str(),
    ]);
    run.assert_rejected(&tail_call, &["tail-call"]);
    let run = kiln([
        OsStr::new("validate"),
        OsStr::new("--wasm2"),
        memory64.as_os_str(),
    ]);
    run.assert_rejected(&memory64, &["memory64"]);
    let run = kiln([
        OsStr::new("validate"),
        OsStr::new("--wasm2"),
        relaxed.as_os_str(),
    ]);
    run.assert_rejected(&relaxed, &["relaxed-simd"]);
    let tags = dir.file(
        "tag.wat",
        "(module (tag (param i32)) (export \"t\" (tag 0)))",
    );
    let typed = dir.file(
        "typed.wat",
        "(module (type $f (func)) (func (param (ref null $f))))",
    );
    // `kiln validate` checks GC too, which the tiers do not run yet.
    let gc = dir.file(
        "gc.wat",
        "(module (type $s (struct (field (mut i32)))) \
         (func (param (ref $s)) (struct.set $s 0 (local.get 0) (i32.const 1))))",
    );
    for (path, proposal) in [
        (&tags, "exception-handling"),
        (&typed, "function-references"),
        (&gc, "gc"),
    ] {
        validate(path).assert_valid();
        let run = kiln([
            OsStr::new("validate"),
            OsStr::new("--wasm2"),
            path.as_os_str(),
        ]);
        run.assert_rejected(path, &[proposal]);
    }
}

/// Text syntax errors point at the file, line and column.
#[test]
fn text_syntax_error_has_a_location() {
    let dir = TempDir::new();
    let path = dir.file("typo.wat", "(module\n  (fnuc))\n");
    let location = format!("{}:2:4", path.display());
    validate(&path).assert_rejected(&path, &[&location]);
}

#[test]
fn unreadable_file_is_reported() {
    let dir = TempDir::new();
    let missing = dir.path.join("missing.wasm");
    validate(&missing).assert_rejected(&missing, &["cannot read the file"]);
    validate(&dir.path).assert_rejected(&dir.path, &["cannot read the file"]);
}

#[test]
fn help_documents_validate() {
    let run = kiln(["--help"]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(run.stdout.contains("validate"), "{run:#?}");
    assert!(run.stdout.contains("Exit status"), "{run:#?}");

    let run = kiln(["validate", "--help"]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(run.stdout.contains("--wasm2"), "{run:#?}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [&[][..], &["validate"][..], &["frobnicate"][..]] {
        let run = kiln(args);
        assert_eq!(run.code, Some(2), "{args:?}: {run:#?}");
        assert_eq!(run.stdout, "", "{args:?}: {run:#?}");
        assert!(run.stderr.contains("Usage"), "{args:?}: {run:#?}");
    }
}

// ---- kiln run ----------------------------------------------------------------

const PROGRAMS_WAT: &str = r#"(module
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "pair") (param i64 f64) (result i64 f64) (local.get 0) (local.get 1))
  (func (export "half") (param f32) (result f32) (f32.div (local.get 0) (f32.const 2)))
  (func (export "null") (result funcref) ref.null func)
  (func $rec (export "recurse") (call $rec))
  (func (export "spin") (loop (br 0)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1))))"#;

#[test]
fn run_invoke_prints_typed_results() {
    let dir = TempDir::new();
    let path = dir.file("programs.wat", PROGRAMS_WAT);
    let run = |args: &[&str]| {
        let mut all = vec![OsStr::new("run")];
        all.extend(args.iter().map(OsStr::new));
        all.push(path.as_os_str());
        kiln(all)
    };
    let out = kiln([
        OsStr::new("run"),
        OsStr::new("--invoke"),
        OsStr::new("add"),
        path.as_os_str(),
        OsStr::new("2"),
        OsStr::new("-3"),
    ]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "-1\n"),
        "{out:#?}"
    );
    let out = kiln([
        OsStr::new("run"),
        OsStr::new("--invoke"),
        OsStr::new("pair"),
        path.as_os_str(),
        OsStr::new("-9000000000"),
        OsStr::new("2.5"),
    ]);
    assert_eq!(out.stdout, "-9000000000\n2.5\n", "{out:#?}");
    let out = kiln([
        OsStr::new("run"),
        OsStr::new("--invoke"),
        OsStr::new("half"),
        path.as_os_str(),
        OsStr::new("0.1"),
    ]);
    assert_eq!(out.stdout, "0.05\n", "{out:#?}");
    let out = run(&["--invoke", "null"]);
    assert_eq!(out.stdout, "null\n", "{out:#?}");
    // The largest unsigned 32-bit value is accepted for an i32 and shown signed.
    let out = kiln([
        OsStr::new("run"),
        OsStr::new("--invoke"),
        OsStr::new("add"),
        path.as_os_str(),
        OsStr::new("4294967295"),
        OsStr::new("0"),
    ]);
    assert_eq!(out.stdout, "-1\n", "{out:#?}");
}

#[test]
fn run_traps_exit_1_with_the_spec_message() {
    let dir = TempDir::new();
    let path = dir.file("programs.wat", PROGRAMS_WAT);
    let invoke = |name: &str, extra: &[&str]| {
        let mut all = vec![OsStr::new("run"), OsStr::new("--invoke"), OsStr::new(name)];
        all.extend(extra.iter().map(OsStr::new));
        all.push(path.as_os_str());
        kiln(all)
    };
    let out = invoke("recurse", &[]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stderr.contains("call stack exhausted"), "{out:#?}");
    let out = invoke("spin", &["--fuel", "100000"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stderr.contains("out of fuel"), "{out:#?}");
    let out = kiln([
        OsStr::new("run"),
        OsStr::new("--invoke"),
        OsStr::new("div"),
        path.as_os_str(),
        OsStr::new("1"),
        OsStr::new("0"),
    ]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stderr.contains("integer divide by zero"), "{out:#?}");
    assert!(!out.stderr.contains("panicked"), "{out:#?}");
}

#[test]
fn run_rejects_bad_arguments() {
    let dir = TempDir::new();
    let path = dir.file("programs.wat", PROGRAMS_WAT);
    let out = kiln([
        OsStr::new("run"),
        OsStr::new("--invoke"),
        OsStr::new("add"),
        path.as_os_str(),
        OsStr::new("1"),
    ]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stderr.contains("takes 2 argument"), "{out:#?}");
    let out = kiln([
        OsStr::new("run"),
        OsStr::new("--invoke"),
        OsStr::new("add"),
        path.as_os_str(),
        OsStr::new("x"),
        OsStr::new("1"),
    ]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stderr.contains("not a valid i32"), "{out:#?}");
    let out = kiln([
        OsStr::new("run"),
        OsStr::new("--invoke"),
        OsStr::new("missing"),
        path.as_os_str(),
    ]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stderr.contains("no exported function"), "{out:#?}");
}

#[test]
fn run_examples_from_the_readme() {
    let out = kiln(["run", "--invoke", "fib", "examples/fib.wat", "90"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "2880067194370816120\n"),
        "{out:#?}"
    );
    let out = kiln(["run", "--invoke", "fac", "examples/fac.wat", "20"]);
    assert_eq!(out.stdout, "2432902008176640000\n", "{out:#?}");
}

/// Every kind of trap the CLI reports, on each tier and on the default one.
#[test]
fn the_cli_runs_either_tier() {
    const TRAPS: &str = r#"(module
      (memory 1)
      (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
      (func (export "works") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))"#;
    let dir = TempDir::new();
    let path = dir.file("traps.wat", TRAPS);
    // `None`: the default tier (the JIT on x86-64 Linux).
    for engine in [Some("jit"), Some("interp"), Some("tiered"), None] {
        let run = |args: &[&OsStr]| {
            let mut all: Vec<&OsStr> = vec![OsStr::new("run")];
            if let Some(engine) = engine {
                all.extend([OsStr::new("--engine"), OsStr::new(engine)]);
            }
            all.extend(args);
            kiln(all)
        };
        let ok = run(&[
            OsStr::new("--invoke"),
            OsStr::new("works"),
            path.as_os_str(),
            OsStr::new("1"),
        ]);
        assert_eq!(
            (ok.code, ok.stdout.as_str()),
            (Some(0), "2\n"),
            "{engine:?}: {ok:#?}"
        );
        let trap = run(&[
            OsStr::new("--invoke"),
            OsStr::new("load"),
            path.as_os_str(),
            OsStr::new("70000"),
        ]);
        assert_eq!(trap.code, Some(1), "{engine:?}: {trap:#?}");
        assert!(
            trap.stderr.contains("out of bounds memory access"),
            "{engine:?}: {trap:#?}"
        );
    }
}

/// A 64-bit memory one page past 4 GiB runs by default on every tier;
/// `--max-memory` refuses it when smaller, and stops its growth.
#[test]
fn max_memory_caps_memories() {
    const BIG: &str = r#"(module
      (memory i64 0x10001)
      (func (export "poke") (param i64 i64) (result i64)
        (i64.store (local.get 0) (local.get 1))
        (i64.load (local.get 0)))
      (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0))))"#;
    let dir = TempDir::new();
    let path = dir.file("big.wat", BIG);
    let run = |opts: &[&str], func: &str, args: &[&str]| {
        let mut all = vec![OsStr::new("run")];
        all.extend(opts.iter().map(OsStr::new));
        all.extend([OsStr::new("--invoke"), OsStr::new(func), path.as_os_str()]);
        all.extend(args.iter().map(OsStr::new));
        kiln(all)
    };
    for engine in ["jit", "interp", "tiered"] {
        let out = run(&["--engine", engine], "poke", &["4294967312", "7"]);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (Some(0), "7\n"),
            "{engine}: {out:#?}"
        );
        let out = run(&["--engine", engine, "--max-memory", "64M"], "grow", &["0"]);
        assert_eq!(out.code, Some(1), "{engine}: {out:#?}");
        assert!(
            out.stderr
                .contains("memory of 65537 pages exceeds the limit of 1024 pages"),
            "{engine}: {out:#?}"
        );
        // 4 GiB + 128 KiB: room for one more page.
        let limit = ((1u64 << 32) + (2 << 16)).to_string();
        let out = run(
            &["--engine", engine, "--max-memory", &limit],
            "grow",
            &["1"],
        );
        assert_eq!(out.stdout, "65537\n", "{engine}: {out:#?}");
        let out = run(
            &["--engine", engine, "--max-memory", &limit],
            "grow",
            &["2"],
        );
        assert_eq!(out.stdout, "-1\n", "{engine}: {out:#?}");
    }
    let out = run(&["--max-memory", "5G"], "grow", &["0"]);
    assert_eq!(out.stdout, "65537\n", "{out:#?}");
    let out = run(&["--max-memory", "lots"], "grow", &["0"]);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stderr.contains("--max-memory"), "{out:#?}");
    let help = kiln(["run", "--help"]);
    assert!(help.stdout.contains("--max-memory <SIZE>"), "{help:#?}");
}

/// `kiln instrument` writes a module that computes what the original does,
/// counts the same fuel (so a budget too small for the original with
/// `--fuel` is too small for the rewritten one without), and refuses a module
/// it cannot rewrite.
#[test]
fn instrument_writes_a_module_that_meters_itself() {
    let dir = TempDir::new();
    let original = dir.file("fib.wat", FIB_WAT);
    let out = dir.path.join("fib.instrumented.wasm");
    let run = |file: &Path, extra: &[&str]| {
        let mut args = vec![
            OsStr::new("run"),
            OsStr::new("--engine"),
            OsStr::new("interp"),
        ];
        args.extend(extra.iter().map(OsStr::new));
        args.extend([OsStr::new("--invoke"), OsStr::new("fib"), file.as_os_str()]);
        args.push(OsStr::new("90"));
        kiln(args)
    };
    // fib(90) takes 90 turns of its loop: with 700 fuel it runs out on Kiln.
    let metered = run(&original, &["--fuel", "700"]);
    assert_eq!(metered.code, Some(1), "{metered:#?}");
    assert!(metered.stderr.contains("out of fuel"), "{metered:#?}");
    let enough = run(&original, &["--fuel", "100000"]);
    assert_eq!(enough.stdout, "2880067194370816120\n", "{enough:#?}");

    for (fuel, wants) in [("700", None), ("100000", Some("2880067194370816120\n"))] {
        let made = kiln([
            OsStr::new("instrument"),
            original.as_os_str(),
            OsStr::new("-o"),
            out.as_os_str(),
            OsStr::new("--fuel"),
            OsStr::new(fuel),
        ]);
        assert_eq!(made.code, Some(0), "{made:#?}");
        let said = format!("instrumented {} to {}\n", original.display(), out.display());
        assert_eq!(made.stdout, said);
        let ran = run(&out, &[]);
        match wants {
            Some(result) => assert_eq!(ran.stdout, result, "{ran:#?}"),
            None => {
                assert_eq!(ran.code, Some(1), "{ran:#?}");
                assert!(ran.stderr.contains("unreachable"), "{ran:#?}");
            }
        }
    }

    let taken = dir.file(
        "taken.wat",
        r#"(module (global (export "kiln_fuel") i32 (i32.const 0)))"#,
    );
    let refused = kiln([
        OsStr::new("instrument"),
        taken.as_os_str(),
        OsStr::new("-o"),
        out.as_os_str(),
    ]);
    refused.assert_rejected(&taken, &["already exports `kiln_fuel`"]);
}
