//! The `kiln` command runs a module on either tier (`--engine`) or on the
//! default one, printing results and reporting traps. (The tiers' own
//! behaviour is tested once for every tier in `tests/tiers/`.)

use std::process::Command;

/// One export per way WebAssembly can trap, and a function that still works.
const TRAPS: &str = include_str!("tiers/traps.wat");

#[test]
fn the_cli_runs_either_tier() {
    let dir = std::env::temp_dir().join(format!("kiln-jit-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("traps.wat");
    std::fs::write(&path, TRAPS).expect("write");
    let p = path.to_str().expect("utf-8 path");
    // `None`: the default tier (the JIT here).
    for engine in [Some("jit"), Some("interp"), None] {
        let run = |args: &[&str]| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_kiln"));
            command.arg("run");
            if let Some(engine) = engine {
                command.args(["--engine", engine]);
            }
            command.args(args).output().expect("run kiln")
        };
        let ok = run(&["--invoke", "works", p, "1"]);
        assert!(ok.status.success(), "{engine:?}: {ok:?}");
        assert_eq!(String::from_utf8_lossy(&ok.stdout), "2\n", "{engine:?}");
        let trap = run(&["--invoke", "load", p, "70000"]);
        assert_eq!(trap.status.code(), Some(1), "{engine:?}");
        assert!(
            String::from_utf8_lossy(&trap.stderr).contains("out of bounds memory access"),
            "{engine:?}: {trap:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
