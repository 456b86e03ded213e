// C programs built with wasi-libc (`tests/c/`), run through the library API
// with their output captured: hello world, arguments and environment,
// standard input, a file round trip in a granted directory, escape attempts,
// clocks and randomness, and exit statuses. Included by `programs.rs`
// (interpreter) and `programs_jit.rs` (JIT), which each define `STRATEGY`.
//
// Each test skips (saying why) only when clang cannot build wasm32-wasi
// programs on this machine; see `common/mod.rs`.

use std::path::Path;

use kiln::{Config, Engine, Linker, Module, Store};
use kiln_wasi::{OutputBuffer, WasiCtx, WasiCtxBuilder};

/// What a program did.
#[derive(Debug)]
struct Outcome {
    status: i32,
    stdout: String,
    stderr: String,
}

/// Runs the module at `wasm` as a WASI program: the builder gets captured
/// stdout and stderr, then `configure` adds the rest.
fn run(wasm: &Path, configure: impl FnOnce(&mut WasiCtxBuilder)) -> Outcome {
    let mut config = Config::new();
    config.strategy(STRATEGY);
    let engine = Engine::new(&config).expect("the tier is available");
    let bytes = std::fs::read(wasm).expect("read the module");
    let module = Module::new(&engine, &bytes).expect("compile the module");
    let mut linker = Linker::new(&engine);
    kiln_wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx).expect("define WASI");
    let (stdout, stderr) = (OutputBuffer::new(), OutputBuffer::new());
    let mut builder = WasiCtx::builder();
    builder.stdout(stdout.clone()).stderr(stderr.clone());
    configure(&mut builder);
    let mut store = Store::new(&engine, builder.build().expect("build the context"));
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiate");
    let start = instance
        .get_typed_func::<(), ()>(&store, "_start")
        .expect("_start");
    let status = match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => match e.trap().and_then(kiln::Trap::exit_status) {
            Some(status) => status,
            None => panic!("the program trapped: {e}"),
        },
    };
    Outcome {
        status,
        stdout: stdout.to_string_lossy(),
        stderr: stderr.to_string_lossy(),
    }
}

#[test]
fn hello_world() {
    let Some(wasm) = common::wasm("hello") else {
        return;
    };
    let out = run(&wasm, |_| {});
    assert_eq!(out.status, 0, "{out:#?}");
    assert_eq!(out.stdout, "hello, world\n");
    assert_eq!(out.stderr, "hello, stderr\n");
}

#[test]
fn arguments_and_environment() {
    let Some(wasm) = common::wasm("args_env") else {
        return;
    };
    let out = run(&wasm, |b| {
        b.args(["args_env", "one", "two words", "--flag"])
            .env("GREETING", "hi there")
            .env("EMPTY", "");
    });
    assert_eq!(out.status, 0, "{out:#?}");
    assert_eq!(
        out.stdout,
        "argc=4\nargv[0]=args_env\nargv[1]=one\nargv[2]=two words\nargv[3]=--flag\n\
         env GREETING=hi there\nenv EMPTY=\nGREETING=hi there\n"
    );
}

#[test]
fn no_arguments_no_environment() {
    let Some(wasm) = common::wasm("args_env") else {
        return;
    };
    let out = run(&wasm, |_| {});
    assert_eq!(out.stdout, "argc=0\nGREETING=(unset)\n", "{out:#?}");
}

#[test]
fn standard_input() {
    let Some(wasm) = common::wasm("cat_upper") else {
        return;
    };
    let input = "line one\nline two\n".repeat(500);
    let out = run(&wasm, |b| {
        b.stdin(std::io::Cursor::new(input.clone().into_bytes()));
    });
    assert_eq!(out.status, 0, "{out:#?}");
    assert_eq!(out.stdout, input.to_uppercase());
    assert_eq!(out.stderr, format!("{} bytes\n", input.len()));
}

#[test]
fn exit_status_from_exit() {
    let Some(wasm) = common::wasm("exit_code") else {
        return;
    };
    let out = run(&wasm, |_| {});
    assert_eq!(out.status, 3, "{out:#?}");
    // exit() flushes stdio before proc_exit.
    assert_eq!(out.stdout, "exiting with 3\n");
}

#[test]
fn clocks_sleep_and_randomness() {
    let Some(wasm) = common::wasm("misc") else {
        return;
    };
    let out = run(&wasm, |_| {});
    assert_eq!(out.status, 0, "{out:#?}");
    assert_eq!(
        out.stdout,
        "slept at least 20ms: yes\nrandom differs: yes\nsched_yield: 0\n"
    );
    // A seeded context is reproducible and still advances.
    let out = run(&wasm, |b| {
        b.insecure_random_seed(42);
    });
    assert!(out.stdout.contains("random differs: yes"), "{out:#?}");
}

#[test]
fn file_round_trip_in_a_granted_directory() {
    let Some(wasm) = common::wasm("files") else {
        return;
    };
    let dir = common::TempDir::new("files");
    let host = dir.path().to_path_buf();
    let out = run(&wasm, |b| {
        b.args(["files", "/data"]);
        b.preopened_dir(&host, "/data").expect("preopen");
    });
    assert_eq!(out.status, 0, "{out:#?}");
    assert!(!out.stdout.contains("FAIL"), "{}", out.stdout);
    assert!(
        out.stdout.contains("entry b.txt\nentry c.txt\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("files done\n"), "{}", out.stdout);
    // The guest's writes are the host's files, and nothing else is left.
    assert_eq!(
        std::fs::read_to_string(host.join("kept.txt")).expect("kept.txt"),
        "from the guest\n"
    );
    let left: Vec<_> = std::fs::read_dir(&host)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, ["kept.txt"]);
}

#[test]
fn a_relative_guest_name_works_too() {
    let Some(wasm) = common::wasm("files") else {
        return;
    };
    let dir = common::TempDir::new("files-dot");
    let host = dir.path().to_path_buf();
    let out = run(&wasm, |b| {
        b.args(["files", "."]);
        b.preopened_dir(&host, ".").expect("preopen");
    });
    assert_eq!(out.status, 0, "{out:#?}");
    assert!(host.join("kept.txt").is_file());
}

#[test]
fn escape_attempts_fail() {
    let Some(wasm) = common::wasm("escape") else {
        return;
    };
    let dir = common::TempDir::new("escape");
    let granted = common::escape_tree(dir.path());
    let out = run(&wasm, |b| {
        b.args(["escape", "/box"]);
        b.preopened_dir(&granted, "/box").expect("preopen");
    });
    assert_eq!(out.status, 0, "{out:#?}");
    assert!(
        out.stdout.contains("control read: inside\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("all blocked\n"), "{}", out.stdout);
    // Every raw attempt was refused by the sandbox as such (ENOTCAPABLE).
    let raw: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("raw "))
        .collect();
    assert_eq!(raw.len(), 12, "{}", out.stdout);
    for line in raw {
        assert!(line.ends_with(": errno 76"), "{line}");
    }
    // Nothing outside changed.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("secret")).expect("secret"),
        "the secret\n"
    );
    assert!(!dir.path().join("made").exists());
    assert!(!dir.path().join("moved").exists());
    assert!(granted.join("inside.txt").exists());
    assert!(!granted.join("evil").exists());
}

#[test]
fn no_directory_no_files() {
    let Some(wasm) = common::wasm("files") else {
        return;
    };
    let out = run(&wasm, |b| {
        b.args(["files", "/data"]);
    });
    assert_eq!(out.status, 1, "{out:#?}");
    assert!(out.stdout.starts_with("FAIL mkdir sub"), "{}", out.stdout);
}

#[test]
fn removing_entries_while_reading_a_directory() {
    let Some(wasm) = common::wasm("rm_tree") else {
        return;
    };
    let dir = common::TempDir::new("rm-tree");
    let host = dir.path().to_path_buf();
    let out = run(&wasm, |b| {
        b.args(["rm_tree", "/d"]);
        b.preopened_dir(&host, "/d").expect("preopen");
    });
    assert_eq!(out.status, 0, "{out:#?}");
    assert_eq!(out.stdout, "removed 200, left 0\n");
    assert!(!host.join("many").exists());
}

/// A program built with `-O3 -msimd128` (explicit SIMD intrinsics and
/// auto-vectorised loops) prints what the same program built for this
/// machine prints; so does its scalar build.
#[test]
fn simd_program_matches_its_native_build() {
    let (Some(simd), Some(scalar), Some(native)) = (
        common::wasm_with("simd", "-simd128", &["-O3", "-msimd128"]),
        common::wasm_with("simd", "-scalar", &["-O3"]),
        common::native_output("simd"),
    ) else {
        return;
    };
    assert!(native.starts_with("byte sum "), "{native}");
    for wasm in [&simd, &scalar] {
        let out = run(wasm, |_| {});
        assert_eq!(out.status, 0, "{out:#?}");
        assert_eq!(out.stdout, native, "{}", wasm.display());
    }
}
