//! Native builds of the programs, the baseline every engine is checked and
//! timed against: compiled at bench time with `$CC` (default `cc`) `-O2`
//! (`-O3` for a SIMD build's, see [`Program::native_opt`]), beside the
//! running executable (under `target/`), and rebuilt when the source or
//! `common.h` is newer than the binary. A program with a [`Library`] is
//! compiled with the library's source, found where `build.sh` finds it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::engines::Outcome;
use crate::programs::{LUA_SOURCES, Library, Program, SQLITE_FLAGS, programs_dir};

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

/// The directory of `library`'s source: its [`Library::env_var`] if set,
/// else its [`Library::source_dir`] in the pinned crate's copy in cargo's
/// registry (`$CARGO_HOME`, default `~/.cargo`), where `programs/build.sh`
/// puts it.
fn library_dir(library: Library) -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os(library.env_var()) {
        return Ok(PathBuf::from(dir));
    }
    let cargo_home = match std::env::var_os("CARGO_HOME") {
        Some(home) => PathBuf::from(home),
        None => PathBuf::from(std::env::var_os("HOME").context("no $HOME")?).join(".cargo"),
    };
    let registry = cargo_home.join("registry").join("src");
    let crate_dir = format!("{}-{}", library.crate_name(), library.crate_version());
    std::fs::read_dir(&registry)
        .into_iter()
        .flatten()
        .flatten()
        .map(|index| index.path().join(&crate_dir).join(library.source_dir()))
        .find(|dir| dir.join(library.marker()).is_file())
        .with_context(|| {
            format!(
                "no {crate_dir} under {}: run programs/build.sh once, or set ${}",
                registry.display(),
                library.env_var()
            )
        })
}

/// `-I` followed by `dir`, as one argument.
fn include(dir: &Path) -> OsString {
    let mut arg = OsString::from("-I");
    arg.push(dir);
    arg
}

/// The sources and flags `library` adds to a build, as `build.sh` gives them
/// (where it compiles a library's sources on their own, without warnings,
/// this build gives no warning flags at all).
fn library_args(library: Library) -> anyhow::Result<Vec<OsString>> {
    let lib = library_dir(library)?;
    match library {
        Library::Zstd => {
            let mut args = vec!["-DZSTD_DISABLE_ASM".into(), include(&lib)];
            for dir in ["common", "compress", "decompress"] {
                let dir = lib.join(dir);
                let mut sources: Vec<PathBuf> = std::fs::read_dir(&dir)
                    .with_context(|| format!("read {}", dir.display()))?
                    .map(|e| Ok(e?.path()))
                    .collect::<std::io::Result<_>>()?;
                sources.retain(|p| p.extension().is_some_and(|e| e == "c"));
                sources.sort();
                args.extend(sources.into_iter().map(Into::into));
            }
            Ok(args)
        }
        Library::Sqlite => {
            let mut args: Vec<OsString> = SQLITE_FLAGS.iter().map(Into::into).collect();
            args.push(include(&lib));
            args.push(lib.join("sqlite3.c").into());
            Ok(args)
        }
        Library::Lua => {
            let nojmp = programs_dir().join("lua-nojmp");
            let mut args = vec![
                include(&nojmp),
                "-include".into(),
                nojmp.join("nojmp.h").into(),
                include(&lib),
            ];
            args.extend(
                LUA_SOURCES
                    .iter()
                    .map(|s| lib.join(format!("{s}.c")).into()),
            );
            Ok(args)
        }
    }
}

/// The files beside its source and `common.h` whose change makes a native
/// build of a program with `library` stale.
fn library_inputs(library: Option<Library>) -> Vec<PathBuf> {
    match library {
        Some(Library::Lua) => {
            let nojmp = programs_dir().join("lua-nojmp");
            vec![nojmp.join("nojmp.h"), nojmp.join("setjmp.h")]
        }
        _ => Vec::new(),
    }
}

impl NativeProgram {
    /// Builds `program` with `cc -O2` (or `-O3`, [`Program::native_opt`])
    /// unless an up-to-date binary exists.
    ///
    /// # Errors
    ///
    /// If the compiler cannot be run or fails, or a library's source is
    /// missing.
    pub fn build(program: &Program) -> anyhow::Result<NativeProgram> {
        let source = program.source();
        let path = out_dir()?.join(program.name);
        let mut inputs = vec![source.clone(), programs_dir().join("common.h")];
        inputs.extend(library_inputs(program.library));
        let built = modified(&path);
        let stale = inputs.iter().any(|input| match (built, modified(input)) {
            (Some(built), Some(changed)) => changed > built,
            _ => true,
        });
        if stale {
            let library = match program.library {
                Some(library) => library_args(library)?,
                None => Vec::new(),
            };
            let opt = program.native_opt();
            let out = Command::new(cc())
                .args([opt, "-o"])
                .arg(&path)
                .arg(&source)
                .args(library)
                .arg("-lm")
                .output()
                .with_context(|| format!("run `{}`", cc()))?;
            anyhow::ensure!(
                out.status.success(),
                "`{} {opt}` failed on {}: {}",
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
