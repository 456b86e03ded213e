//! `kiln run` on WASI programs: C programs from `wasi/tests/c/`, built with
//! clang for wasm32-wasi, run by the built binary with inherited standard
//! streams, `--dir`, `--env` and program arguments; kiln's exit status is
//! the program's.
//!
//! Each test skips (saying why) only when clang cannot build wasm32-wasi
//! programs on this machine; in CI that is a failure instead.

#[path = "../../wasi/tests/common/mod.rs"]
mod common;

use std::ffi::OsStr;
use std::io::Write;
use std::process::{Command, Stdio};

/// What `kiln` did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `kiln run ARGS...` with `stdin` as standard input.
fn kiln_run<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>, stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("run")
        .args(args)
        // The compiled-module cache of these runs, not the user's.
        .env(
            "KILN_CACHE_DIR",
            std::env::temp_dir().join("kiln-cli-test-cache"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kiln");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).expect("write stdin");
    drop(input);
    let out = child.wait_with_output().expect("wait for kiln");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn hello_world_uses_the_inherited_streams() {
    let Some(wasm) = common::wasm("hello") else {
        return;
    };
    let out = kiln_run([&wasm], b"");
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.stdout, "hello, world\n");
    assert_eq!(out.stderr, "hello, stderr\n");
}

#[test]
fn arguments_follow_the_file_and_env_sets_variables() {
    let Some(wasm) = common::wasm("args_env") else {
        return;
    };
    let mut args = vec![
        "--env".into(),
        "GREETING=hello there".into(),
        "--env".into(),
        "EMPTY=".into(),
        wasm.clone().into_os_string(),
    ];
    // Program arguments may look like kiln's own options.
    args.extend(["one", "--dir", "-x"].map(Into::into));
    let out = kiln_run(args, b"");
    assert_eq!(out.code, Some(0), "{out:#?}");
    let argv0 = wasm.display();
    assert_eq!(
        out.stdout,
        format!(
            "argc=4\nargv[0]={argv0}\nargv[1]=one\nargv[2]=--dir\nargv[3]=-x\n\
             env GREETING=hello there\nenv EMPTY=\nGREETING=hello there\n"
        )
    );
}

#[test]
fn the_host_environment_is_not_passed_by_default() {
    let Some(wasm) = common::wasm("args_env") else {
        return;
    };
    let out = kiln_run([&wasm], b"");
    assert_eq!(
        out.stdout,
        format!("argc=1\nargv[0]={}\nGREETING=(unset)\n", wasm.display())
    );
}

#[test]
fn standard_input_is_inherited() {
    let Some(wasm) = common::wasm("cat_upper") else {
        return;
    };
    let out = kiln_run([&wasm], b"piped in\n");
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.stdout, "PIPED IN\n");
    assert_eq!(out.stderr, "9 bytes\n");
}

#[test]
fn exit_status_is_the_programs() {
    let Some(wasm) = common::wasm("exit_code") else {
        return;
    };
    let out = kiln_run([&wasm], b"");
    assert_eq!(out.code, Some(3), "{out:#?}");
    assert_eq!(out.stdout, "exiting with 3\n");
    assert_eq!(out.stderr, "");
}

#[test]
fn dir_grants_a_directory_under_a_guest_name() {
    let Some(wasm) = common::wasm("files") else {
        return;
    };
    let dir = common::TempDir::new("cli-files");
    let grant = format!("{}::/work", dir.path().display());
    let out = kiln_run(
        [
            OsStr::new("--dir"),
            OsStr::new(&grant),
            wasm.as_os_str(),
            OsStr::new("/work"),
        ],
        b"",
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.stdout.ends_with("files done\n"), "{out:#?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("kept.txt")).expect("kept.txt"),
        "from the guest\n"
    );
}

#[test]
fn dir_without_a_guest_name_uses_the_host_path() {
    let Some(wasm) = common::wasm("files") else {
        return;
    };
    let dir = common::TempDir::new("cli-files-same");
    let host = dir.path().to_str().expect("UTF-8 temp path");
    let out = kiln_run(["--dir", host, wasm.to_str().expect("UTF-8"), host], b"");
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(dir.path().join("kept.txt").is_file());
}

#[test]
fn escapes_from_a_granted_directory_fail() {
    let Some(wasm) = common::wasm("escape") else {
        return;
    };
    let dir = common::TempDir::new("cli-escape");
    let granted = common::escape_tree(dir.path());
    let grant = format!("{}::/box", granted.display());
    let out = kiln_run(
        [
            OsStr::new("--dir"),
            OsStr::new(&grant),
            wasm.as_os_str(),
            OsStr::new("/box"),
        ],
        b"",
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.stdout.ends_with("all blocked\n"), "{out:#?}");
    assert!(!out.stdout.contains("ESCAPED"), "{out:#?}");
}

#[test]
fn a_missing_directory_is_an_error() {
    let Some(wasm) = common::wasm("hello") else {
        return;
    };
    let out = kiln_run(
        [
            OsStr::new("--dir"),
            OsStr::new("/definitely/not/here"),
            wasm.as_os_str(),
        ],
        b"",
    );
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(
        out.stderr.contains("cannot preopen `/definitely/not/here`"),
        "{out:#?}"
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn invoke_still_calls_an_export_of_a_wasi_module() {
    // A WASI module (it imports fd_write) whose export is called directly.
    let dir = common::TempDir::new("cli-invoke");
    let wat = dir.path().join("m.wat");
    std::fs::write(
        &wat,
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
             (func (export "quit") (param i32) (call $exit (local.get 0))))"#,
    )
    .expect("write m.wat");
    let out = kiln_run(
        [
            OsStr::new("--invoke"),
            OsStr::new("add"),
            wat.as_os_str(),
            OsStr::new("2"),
            OsStr::new("40"),
        ],
        b"",
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "42\n"),
        "{out:#?}"
    );
    let out = kiln_run(
        [
            OsStr::new("--invoke"),
            OsStr::new("quit"),
            wat.as_os_str(),
            OsStr::new("5"),
        ],
        b"",
    );
    assert_eq!(out.code, Some(5), "{out:#?}");
}

#[test]
fn invoke_initialises_a_wasi_reactor_first() {
    let dir = common::TempDir::new("cli-reactor");
    let wat = dir.path().join("reactor.wat");
    std::fs::write(
        &wat,
        r#"(module
             (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
             (memory (export "memory") 1)
             (global $ready (mut i32) (i32.const 0))
             (func (export "_initialize") (global.set $ready (i32.const 100)))
             (func (export "get") (result i32) (global.get $ready)))"#,
    )
    .expect("write reactor.wat");
    let out = kiln_run(
        [OsStr::new("--invoke"), OsStr::new("get"), wat.as_os_str()],
        b"",
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "100\n"),
        "{out:#?}"
    );
}

/// `kiln run` of a C program built with `-O3 -msimd128` prints what the
/// program built for this machine prints, on either tier.
#[test]
fn a_simd_program_runs_on_either_tier() {
    let (Some(wasm), Some(native)) = (
        common::wasm_with("simd", "-simd128", &["-O3", "-msimd128"]),
        common::native_output("simd"),
    ) else {
        return;
    };
    for engine in ["interp", "jit"] {
        let out = kiln_run(
            [OsStr::new("--engine"), OsStr::new(engine), wasm.as_os_str()],
            b"",
        );
        assert_eq!(out.code, Some(0), "{engine}: {out:#?}");
        assert_eq!(out.stdout, native, "{engine}");
    }
}

/// `--invoke` takes and prints `v128` values as hexadecimal.
#[test]
fn invoke_takes_and_prints_vectors() {
    let dir = common::TempDir::new("cli-v128");
    let wat = dir.path().join("v.wat");
    std::fs::write(
        &wat,
        r#"(module (func (export "inc") (param v128) (result v128)
             (i32x4.add (local.get 0) (v128.const i32x4 1 1 1 1))))"#,
    )
    .expect("write v.wat");
    let out = kiln_run(
        [
            OsStr::new("--invoke"),
            OsStr::new("inc"),
            wat.as_os_str(),
            OsStr::new("0x000000ff000000020000000100000000"),
        ],
        b"",
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "0x00000100000000030000000200000001\n"),
        "{out:#?}"
    );
}
