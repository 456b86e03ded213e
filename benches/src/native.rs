//! Native builds of the programs, the baseline every engine is checked and
//! timed against: compiled at bench time with `$CC` (default `cc`) `-O2`,
//! beside the running executable (under `target/`), and rebuilt when the
//! source or `common.h` is newer than the binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::engines::Outcome;
use crate::programs::{Program, programs_dir};

/// A program built for the host.
#[derive(Debug, Clone)]
pub struct NativeProgram {
    path: PathBuf,
}

/// The C compiler: `$CC`, or `cc`.
fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

/// Where native binaries go: `kiln-benches-native/` beside the running
/// executable, which is in the target directory.
fn out_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locate the running executable")?;
    let dir = exe
        .parent()
        .context("the executable has no parent directory")?
        .join("kiln-benches-native");
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    Ok(dir)
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl NativeProgram {
    /// Builds `program` with `cc -O2` unless an up-to-date binary exists.
    ///
    /// # Errors
    ///
    /// If the compiler cannot be run or fails.
    pub fn build(program: &Program) -> anyhow::Result<NativeProgram> {
        let source = program.source();
        let path = out_dir()?.join(program.name);
        let inputs = [source.clone(), programs_dir().join("common.h")];
        let built = modified(&path);
        let stale = inputs.iter().any(|input| match (built, modified(input)) {
            (Some(built), Some(changed)) => changed > built,
            _ => true,
        });
        if stale {
            let out = Command::new(cc())
                .args(["-O2", "-o"])
                .arg(&path)
                .arg(&source)
                .arg("-lm")
                .output()
                .with_context(|| format!("run `{}`", cc()))?;
            anyhow::ensure!(
                out.status.success(),
                "`{} -O2` failed on {}: {}",
                cc(),
                source.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(NativeProgram { path })
    }

    /// Runs the binary with `args` and returns what it did and how long the
    /// process took, from spawn to exit.
    ///
    /// # Errors
    ///
    /// If the process cannot be started.
    pub fn run(&self, args: &[String]) -> anyhow::Result<(Outcome, Duration)> {
        let start = Instant::now();
        let out = Command::new(&self.path)
            .args(args)
            .output()
            .with_context(|| format!("run {}", self.path.display()))?;
        let elapsed = start.elapsed();
        let outcome = Outcome {
            // A signal has no status; report it as -1.
            status: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        };
        Ok((outcome, elapsed))
    }
}
