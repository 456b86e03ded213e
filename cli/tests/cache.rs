//! `kiln compile`, `kiln run` of its output, and the compiled-module cache of
//! `kiln run`: a module compiled in one process runs in another, and a saved
//! module that is truncated, corrupted, from another version or for another
//! processor is refused (given explicitly) or ignored and replaced (in the
//! cache), never run.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

const MAGIC_LEN: usize = 8;
const CHECKSUM_LEN: usize = 4;

/// A loop that runs long enough to use fuel, and a trap.
const WAT: &str = r#"(module
    (func (export "sum") (param $n i64) (result i64) (local $s i64)
        (block $done (loop $next
            (br_if $done (i64.eqz (local.get $n)))
            (local.set $s (i64.add (local.get $s) (local.get $n)))
            (local.set $n (i64.sub (local.get $n) (i64.const 1)))
            (br $next)))
        (local.get $s))
    (func (export "div") (param i32 i32) (result i32)
        (i32.div_u (local.get 0) (local.get 1))))"#;

/// A directory of its own under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("kiln-cache-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("a temporary directory");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A temporary directory holding `m.wat` (the module [`WAT`]) and a cache
/// directory, `cache/`.
struct Fixture {
    tmp: TempDir,
    cache: PathBuf,
    wat: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = TempDir::new();
        let cache = tmp.0.join("cache");
        let wat = tmp.0.join("m.wat");
        fs::write(&wat, WAT).unwrap();
        Fixture { tmp, cache, wat }
    }

    /// `kiln compile [EXTRA...] m.wat -o m.kilnc`: its output, and the path written.
    fn compile(&self, extra: &[&str]) -> ((Option<i32>, String, String), PathBuf) {
        let out = self.tmp.0.join("m.kilnc");
        let mut args: Vec<&OsStr> = vec!["compile".as_ref()];
        args.extend(extra.iter().map(OsStr::new));
        args.extend([self.wat.as_os_str(), "-o".as_ref(), out.as_os_str()]);
        (kiln(&self.cache, &args), out)
    }

    /// `kiln run ARGS...` with this fixture's cache.
    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let mut all = vec!["run"];
        all.extend(args);
        kiln(&self.cache, &all)
    }
}

/// Exit code, stdout and stderr of one `kiln` run with `cache` as its cache
/// directory.
fn kiln<S: AsRef<OsStr>>(cache: &Path, args: &[S]) -> (Option<i32>, String, String) {
    kiln_bounded(cache, None, args)
}

/// [`kiln`], with `$KILN_CACHE_MAX_SIZE` set to `max` if given.
fn kiln_bounded<S: AsRef<OsStr>>(
    cache: &Path,
    max: Option<u64>,
    args: &[S],
) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kiln"));
    command.args(args).env("KILN_CACHE_DIR", cache);
    match max {
        Some(max) => command.env("KILN_CACHE_MAX_SIZE", max.to_string()),
        None => command.env_remove("KILN_CACHE_MAX_SIZE"),
    };
    let out = command.output().expect("run kiln");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// The cache entries in `dir`.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(list) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = list.map(|e| e.expect("a directory entry").path()).collect();
    v.sort();
    v
}

fn ok(out: (Option<i32>, String, String), stdout: &str) {
    assert_eq!(out, (Some(0), stdout.to_owned(), String::new()));
}

#[test]
fn compiled_modules_run_in_another_process() {
    let f = Fixture::new();
    let ((code, stdout, _), out) = f.compile(&[]);
    assert_eq!(code, Some(0));
    let (wat, out) = (f.wat.to_str().unwrap(), out.to_str().unwrap());
    assert_eq!(stdout, format!("compiled {wat} to {out}\n"));
    let run = |flags: &[&str], args: &[&str]| {
        let all: Vec<&str> = flags.iter().chain([&out]).chain(args).copied().collect();
        f.run(&all)
    };
    ok(run(&["--invoke", "sum"], &["100000"]), "5000050000\n");
    let (code, _, stderr) = run(&["--invoke", "div"], &["1", "0"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("integer divide by zero"), "{stderr}");
    // Fuel needs a module compiled with fuel.
    let (code, _, stderr) = run(&["--fuel", "10", "--invoke", "sum"], &["5"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("fuel off in the module, on in the engine"),
        "{stderr}"
    );
    assert_eq!(f.compile(&["--fuel"]).0.0, Some(0));
    // The same fuel, to the unit, as the module compiled in the running process.
    for fuel in ["1000", "10"] {
        let saved = run(&["--fuel", fuel, "--invoke", "sum"], &["100"]);
        let fresh = f.run(&["--no-cache", "--fuel", fuel, "--invoke", "sum", wat, "100"]);
        assert_eq!(saved, fresh);
    }
    // Compiled modules hold the JIT's code: the interpreter refuses them.
    let (code, _, stderr) = run(&["--engine", "interp", "--invoke", "sum"], &["5"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("use the JIT"), "{stderr}");
    assert!(
        entries(&f.cache).is_empty(),
        "running a compiled module caches nothing"
    );
}

/// Ways a saved module goes bad, each with what `deserialize` says of it.
fn tampered(good: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut corrupted = good.to_vec();
    let at = corrupted.len() / 2;
    corrupted[at] ^= 1;
    let truncated = good[..good.len() - 100].to_vec();
    let version = with_version(good, "0.0.0-other (code format 0)");
    vec![
        ("corrupted", corrupted),
        ("truncated", truncated),
        ("written by Kiln 0.0.0-other", version),
        ("another processor", for_another_processor(good)),
        ("truncated", b"\0kilnmod".to_vec()),
    ]
}

/// `good` with its version string replaced and its length and checksum fixed.
fn with_version(good: &[u8], version: &str) -> Vec<u8> {
    let at = MAGIC_LEN + 8;
    let old = u64::from_le_bytes(good[at..at + 8].try_into().unwrap()) as usize;
    let mut out = good[..at].to_vec();
    out.extend_from_slice(&(version.len() as u64).to_le_bytes());
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(&good[at + 8 + old..good.len() - CHECKSUM_LEN]);
    reseal(out)
}

/// `good` with one processor feature of its host fingerprint flipped
/// (`isa.NAME=1` to `=0` or back), length and checksum fixed.
fn for_another_processor(good: &[u8]) -> Vec<u8> {
    let needle = b"\nisa.";
    let at = good
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("an ISA flag in the fingerprint");
    let eq = at + good[at..].iter().position(|&b| b == b'=').unwrap();
    let mut out = good[..good.len() - CHECKSUM_LEN].to_vec();
    out[eq + 1] = if out[eq + 1] == b'1' { b'0' } else { b'1' };
    reseal(out)
}

fn reseal(mut body: Vec<u8>) -> Vec<u8> {
    let len = (body.len() + CHECKSUM_LEN) as u64;
    body[MAGIC_LEN..MAGIC_LEN + 8].copy_from_slice(&len.to_le_bytes());
    let sum = crc32fast::hash(&body);
    body.extend_from_slice(&sum.to_le_bytes());
    body
}

#[test]
fn bad_compiled_modules_are_refused() {
    let f = Fixture::new();
    let ((code, ..), out) = f.compile(&[]);
    assert_eq!(code, Some(0));
    let good = fs::read(&out).unwrap();
    for (why, bad) in tampered(&good) {
        let path = f.tmp.0.join("bad.kilnc");
        fs::write(&path, &bad).unwrap();
        let (code, stdout, stderr) = f.run(&["--invoke", "sum", path.to_str().unwrap(), "3"]);
        assert_eq!((code, stdout.as_str()), (Some(1), ""), "{why}: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: {}: ", path.display())) && stderr.contains(why),
            "{why}: {stderr}"
        );
    }
}

#[test]
fn the_cache_is_used_and_bad_entries_are_replaced() {
    let f = Fixture::new();
    let wat = f.wat.to_str().unwrap();
    let run = || f.run(&["--invoke", "sum", wat, "1000"]);
    ok(run(), "500500\n");
    let list = entries(&f.cache);
    assert_eq!(list.len(), 1, "{list:?}");
    let entry = &list[0];
    let good = fs::read(entry).unwrap();
    // The entry is what `kiln compile` writes for the same module.
    let (_, out) = f.compile(&[]);
    assert_eq!(fs::read(&out).unwrap(), good);
    // A hit leaves the entry as it is.
    ok(run(), "500500\n");
    assert_eq!(fs::read(entry).unwrap(), good);
    for (why, bad) in tampered(&good) {
        fs::write(entry, &bad).unwrap();
        ok(run(), "500500\n");
        assert!(
            fs::read(entry).unwrap() == good,
            "{why}: the entry was not replaced"
        );
    }
    assert_eq!(entries(&f.cache), list, "no temporary file left behind");
    // Other settings are other entries.
    ok(
        f.run(&["--fuel", "100000", "--invoke", "sum", wat, "10"]),
        "55\n",
    );
    assert_eq!(entries(&f.cache).len(), 2);
}

#[test]
fn the_cache_can_be_bypassed() {
    let f = Fixture::new();
    let wat = f.wat.to_str().unwrap();
    ok(f.run(&["--no-cache", "--invoke", "sum", wat, "4"]), "10\n");
    ok(
        f.run(&["--engine", "interp", "--invoke", "sum", wat, "4"]),
        "10\n",
    );
    assert!(entries(&f.cache).is_empty());
    // An unwritable cache only costs the saving.
    let file = f.tmp.0.join("not-a-directory");
    fs::write(&file, "").unwrap();
    ok(kiln(&file, &["run", "--invoke", "sum", wat, "4"]), "10\n");
}

/// A module like [`WAT`] whose `sum` adds `k` to its result, and its file.
fn variant(f: &Fixture, k: u32) -> PathBuf {
    let path = f.tmp.0.join(format!("m{k}.wat"));
    let wat = WAT.replace(
        "(local.get $s))",
        &format!("(i64.add (local.get $s) (i64.const {k})))"),
    );
    fs::write(&path, wat).unwrap();
    path
}

/// Runs `sum 3` of `module` with the fixture's cache bounded by `max` bytes.
fn run_bounded(f: &Fixture, module: &Path, max: u64, expected: &str) {
    let module = module.to_str().unwrap();
    ok(
        kiln_bounded(
            &f.cache,
            Some(max),
            &["run", "--invoke", "sum", module, "3"],
        ),
        expected,
    );
    // Modification times set in the same clock tick would tie.
    std::thread::sleep(std::time::Duration::from_millis(20));
}

/// The size of each cache entry, by file.
fn sizes(dir: &Path) -> Vec<(PathBuf, u64)> {
    entries(dir)
        .into_iter()
        .map(|p| {
            let len = fs::metadata(&p).unwrap().len();
            (p, len)
        })
        .collect()
}

#[test]
fn the_cache_keeps_to_its_size_bound_dropping_the_least_recently_used() {
    let f = Fixture::new();
    let (a, b, c) = (variant(&f, 1), variant(&f, 2), variant(&f, 3));
    let roomy = 1 << 30;
    run_bounded(&f, &a, roomy, "7\n");
    let after_a = sizes(&f.cache);
    run_bounded(&f, &b, roomy, "8\n");
    let after_b = sizes(&f.cache);
    assert_eq!(after_b.len(), 2, "{after_b:?}");
    let entry_a = after_a[0].clone();
    let entry_b = after_b.iter().find(|e| *e != &entry_a).unwrap().clone();
    // A hit on `a` makes `b` the least recently used.
    run_bounded(&f, &a, roomy, "7\n");
    assert_eq!(sizes(&f.cache), after_b, "a hit writes nothing");
    // Room for two entries of this size, not three: `c` is written, `b` goes.
    let two = entry_a.1 + entry_b.1.max(entry_a.1) + 64;
    run_bounded(&f, &c, two, "9\n");
    let now = sizes(&f.cache);
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(
        now.contains(&entry_a),
        "the recently used entry stays: {now:?}"
    );
    assert!(
        !now.contains(&entry_b),
        "the least recently used goes: {now:?}"
    );
    // A bound smaller than one entry keeps the entry just written only.
    run_bounded(&f, &b, 1, "8\n");
    assert_eq!(sizes(&f.cache), vec![entry_b]);
}

#[test]
fn writing_the_cache_removes_stale_temporary_files_only() {
    let f = Fixture::new();
    fs::create_dir_all(&f.cache).unwrap();
    let stale = f.cache.join(".abandoned.kilnc.123.tmp");
    let fresh = f.cache.join(".in-progress.kilnc.456.tmp");
    let other = f.cache.join("notes.txt");
    for file in [&stale, &fresh, &other] {
        fs::write(file, b"x").unwrap();
    }
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    for file in [&stale, &other] {
        fs::File::options()
            .append(true)
            .open(file)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
    }
    run_bounded(&f, &f.wat, 1 << 30, "6\n");
    assert!(
        !stale.exists(),
        "a temporary file left an hour ago is removed"
    );
    assert!(
        fresh.exists(),
        "a write that may be in progress is left alone"
    );
    assert!(other.exists(), "what is not the cache's is left alone");
}

/// Under `--engine tiered`, a run long enough for the background compile to
/// finish saves the native code; the next run loads it (and saves nothing
/// new), with the same results. A cache entry of the JIT's is not the tiered
/// strategy's: each keeps its own.
#[test]
fn a_tiered_run_saves_its_native_code_for_the_next() {
    let f = Fixture::new();
    let wat = f.wat.to_str().unwrap();
    // About a second on the interpreter: the compile of a two-function module
    // finishes long before.
    let run = || f.run(&["--engine", "tiered", "--invoke", "sum", wat, "50000000"]);
    ok(run(), "1250000025000000\n");
    let saved = entries(&f.cache);
    assert_eq!(saved.len(), 1, "{saved:?}");
    let modified = fs::metadata(&saved[0]).unwrap().len();
    ok(run(), "1250000025000000\n");
    assert_eq!(entries(&f.cache), saved, "loaded, not saved again");
    assert_eq!(fs::metadata(&saved[0]).unwrap().len(), modified);
    ok(
        f.run(&["--engine", "jit", "--invoke", "sum", wat, "5"]),
        "15\n",
    );
    assert_eq!(entries(&f.cache).len(), 2, "the JIT's entry is its own");
    // A short tiered run of an uncached module ends before its compile (or
    // not): either way it answers at once, and saves at most one entry.
    let other = f.tmp.0.join("other.wat");
    fs::write(&other, WAT.replace("sum", "total")).unwrap();
    ok(
        f.run(&[
            "--engine",
            "tiered",
            "--invoke",
            "total",
            other.to_str().unwrap(),
            "3",
        ]),
        "6\n",
    );
    assert!(entries(&f.cache).len() <= 3);
}
