//! [`WasiCtx`] and its builder: what a WASI program sees of the host.

use std::fmt;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use cap_std::fs::Dir;

use super::abi::{filetype, rights};
use super::fd_table::{Descriptor, DirDesc, FdTable, Input, Kind, Output};
use super::sandbox;

/// Why a [`WasiCtx`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WasiError {
    /// A preopened directory cannot be opened.
    #[error("cannot preopen `{path}`: {source}")]
    Preopen {
        /// The host path given.
        path: PathBuf,
        /// What the host said.
        #[source]
        source: io::Error,
    },
    /// A preopened directory is not a directory.
    #[error("cannot preopen `{0}`: not a directory")]
    NotADirectory(PathBuf),
    /// An argument, variable or guest directory name contains a NUL byte,
    /// which C strings cannot carry.
    #[error("{what} contains a NUL byte: {value:?}")]
    Nul {
        /// Which kind of string.
        what: &'static str,
        /// The string.
        value: String,
    },
    /// An environment variable's name is empty or contains `=`.
    #[error("invalid environment variable name {0:?}")]
    EnvName(String),
}

/// The host state of one WASI program: its arguments, environment, clocks,
/// random source and descriptor table (standard streams and preopened
/// directories first).
///
/// Build one with [`WasiCtx::builder`], put it in the store's host state,
/// and give [`add_to_linker`](super::add_to_linker) a function that finds it.
/// The default context has no arguments, no environment, no directories,
/// an empty standard input and standard output and error that discard what
/// is written.
#[derive(Debug)]
pub struct WasiCtx {
    /// `None` only while a WASI function runs: the state is moved out so that
    /// it and the guest's memory (both borrowed from the store) can be used
    /// at once.
    pub(crate) state: Option<State>,
}

impl Default for WasiCtx {
    fn default() -> WasiCtx {
        WasiCtx {
            state: Some(State::new(
                Vec::new(),
                Vec::new(),
                FdTable::default(),
                Random::Os(None),
            )),
        }
    }
}

impl WasiCtx {
    /// A builder for a context.
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::default()
    }
}

/// The state behind a [`WasiCtx`].
#[derive(Debug)]
pub(crate) struct State {
    /// Arguments, each without its terminating NUL.
    pub args: Vec<Vec<u8>>,
    /// Environment variables as `NAME=value`, each without its NUL.
    pub env: Vec<Vec<u8>>,
    pub fds: FdTable,
    pub clock: Clock,
    pub random: Random,
}

impl State {
    fn new(args: Vec<Vec<u8>>, env: Vec<Vec<u8>>, mut fds: FdTable, random: Random) -> State {
        if fds.get(0).is_err() {
            // A context without streams still has descriptors 0 to 2, so that
            // preopens are numbered from 3 as wasi-libc expects.
            for d in [null_input(), null_output(), null_output()] {
                let _ = fds.insert(d);
            }
        }
        State {
            args,
            env,
            fds,
            clock: Clock::new(),
            random,
        }
    }
}

/// The clocks' origin.
#[derive(Debug)]
pub(crate) struct Clock {
    start: Instant,
    /// Wall-clock time at `start`, in nanoseconds since the Unix epoch: the
    /// monotonic clock counts from there, so it never reads 0.
    start_ns: u64,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            start: Instant::now(),
            start_ns: realtime_ns(),
        }
    }

    /// The monotonic clock, in nanoseconds.
    pub(crate) fn monotonic_ns(&self) -> u64 {
        let elapsed = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.start_ns.saturating_add(elapsed)
    }

    /// Nanoseconds since the context was made (the CPU-time clocks: the
    /// standard library has no CPU clock, so they count wall time).
    pub(crate) fn elapsed_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The wall clock, in nanoseconds since the Unix epoch (0 before it).
pub(crate) fn realtime_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Where `random_get` takes its bytes from.
#[derive(Debug)]
pub(crate) enum Random {
    /// The host's `/dev/urandom`, opened on first use.
    Os(Option<File>),
    /// A SplitMix64 stream: reproducible, not secure.
    Seeded(u64),
}

impl Random {
    /// Fills `buf`.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) -> io::Result<()> {
        match self {
            Random::Os(file) => {
                let f = match file {
                    Some(f) => f,
                    None => file.insert(File::open("/dev/urandom")?),
                };
                f.read_exact(buf)
            }
            Random::Seeded(state) => {
                for chunk in buf.chunks_mut(8) {
                    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                    let mut z = *state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                    z ^= z >> 31;
                    chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
                }
                Ok(())
            }
        }
    }
}

fn input(reader: Box<dyn Read + Send>, tty: bool) -> Descriptor {
    Descriptor {
        kind: Kind::Input(Input { reader, tty }),
        rights_base: rights::STREAM,
        rights_inheriting: 0,
        flags: 0,
    }
}

fn output(writer: Box<dyn Write + Send>, tty: bool) -> Descriptor {
    Descriptor {
        kind: Kind::Output(Output { writer, tty }),
        rights_base: rights::STREAM,
        rights_inheriting: 0,
        flags: 0,
    }
}

fn null_input() -> Descriptor {
    input(Box::new(io::empty()), false)
}

fn null_output() -> Descriptor {
    output(Box::new(io::sink()), false)
}

/// The file type `fd_fdstat_get` reports for a stream.
pub(crate) fn stream_filetype(tty: bool) -> u8 {
    if tty {
        filetype::CHARACTER_DEVICE
    } else {
        filetype::UNKNOWN
    }
}

/// A preopened directory, as given to the builder.
#[derive(Debug)]
struct Preopen {
    /// The host directory, opened when it was granted.
    dir: Dir,
    guest: String,
}

/// Builds a [`WasiCtx`].
///
/// ```
/// use kiln_wasi::{OutputBuffer, WasiCtx};
///
/// let stdout = OutputBuffer::new();
/// let ctx = WasiCtx::builder()
///     .args(["prog", "--verbose"])
///     .env("HOME", "/home")
///     .stdout(stdout.clone())
///     .build()?;
/// # drop(ctx);
/// # Ok::<(), kiln_wasi::WasiError>(())
/// ```
#[derive(Default)]
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    preopens: Vec<Preopen>,
    stdin: Option<Descriptor>,
    stdout: Option<Descriptor>,
    stderr: Option<Descriptor>,
    random_seed: Option<u64>,
}

impl fmt::Debug for WasiCtxBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasiCtxBuilder")
            .field("args", &self.args)
            .field("env", &self.env)
            .field("preopens", &self.preopens)
            .finish_non_exhaustive()
    }
}

impl WasiCtxBuilder {
    /// A builder for the default context (see [`WasiCtx`]).
    pub fn new() -> WasiCtxBuilder {
        WasiCtxBuilder::default()
    }

    /// Appends an argument. The first is the program's name (`argv[0]`).
    pub fn arg(&mut self, arg: impl Into<String>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<S: Into<String>>(&mut self, args: impl IntoIterator<Item = S>) -> &mut Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let name = name.into();
        self.env.retain(|(n, _)| *n != name);
        self.env.push((name, value.into()));
        self
    }

    /// Passes the host's environment (variables that are not UTF-8 are
    /// converted lossily).
    pub fn inherit_env(&mut self) -> &mut Self {
        for (k, v) in std::env::vars_os() {
            self.env(k.to_string_lossy(), v.to_string_lossy());
        }
        self
    }

    /// Grants the guest the host directory `host` under the name `guest`
    /// (what the program passes to `open`, for example `/data` or `.`).
    ///
    /// The directory is opened now (following symlinks) and held open: the
    /// guest can reach what is below it and nothing else, even if the host
    /// path is later renamed or replaced.
    ///
    /// # Errors
    ///
    /// [`WasiError::Preopen`] if `host` cannot be opened,
    /// [`WasiError::NotADirectory`] if it is not a directory.
    pub fn preopened_dir(
        &mut self,
        host: impl AsRef<Path>,
        guest: impl Into<String>,
    ) -> Result<&mut Self, WasiError> {
        let path = host.as_ref();
        let dir = sandbox::open_preopen(path, cap_std::ambient_authority()).map_err(|source| {
            if source.kind() == io::ErrorKind::NotADirectory {
                WasiError::NotADirectory(path.to_path_buf())
            } else {
                WasiError::Preopen {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        self.preopens.push(Preopen {
            dir,
            guest: guest.into(),
        });
        Ok(self)
    }

    /// Standard input reads from `reader`.
    pub fn stdin(&mut self, reader: impl Read + Send + 'static) -> &mut Self {
        self.stdin = Some(input(Box::new(reader), false));
        self
    }

    /// Standard output writes to `writer` (an [`OutputBuffer`] captures it).
    pub fn stdout(&mut self, writer: impl Write + Send + 'static) -> &mut Self {
        self.stdout = Some(output(Box::new(writer), false));
        self
    }

    /// Standard error writes to `writer`.
    pub fn stderr(&mut self, writer: impl Write + Send + 'static) -> &mut Self {
        self.stderr = Some(output(Box::new(writer), false));
        self
    }

    /// Standard input is the host process's.
    pub fn inherit_stdin(&mut self) -> &mut Self {
        let tty = io::stdin().is_terminal();
        self.stdin = Some(input(Box::new(io::stdin()), tty));
        self
    }

    /// Standard output is the host process's (flushed after every write).
    pub fn inherit_stdout(&mut self) -> &mut Self {
        let tty = io::stdout().is_terminal();
        self.stdout = Some(output(Box::new(io::stdout()), tty));
        self
    }

    /// Standard error is the host process's.
    pub fn inherit_stderr(&mut self) -> &mut Self {
        let tty = io::stderr().is_terminal();
        self.stderr = Some(output(Box::new(io::stderr()), tty));
        self
    }

    /// All three standard streams are the host process's.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// `random_get` returns a reproducible stream seeded by `seed` instead of
    /// the host's random bytes. For tests and deterministic execution only:
    /// the stream is predictable.
    pub fn insecure_random_seed(&mut self, seed: u64) -> &mut Self {
        self.random_seed = Some(seed);
        self
    }

    /// Builds the context, leaving the builder empty.
    ///
    /// # Errors
    ///
    /// [`WasiError::Nul`] for a string with a NUL byte, [`WasiError::EnvName`]
    /// for an environment variable named `""` or with `=` in its name.
    pub fn build(&mut self) -> Result<WasiCtx, WasiError> {
        let b = std::mem::take(self);
        let no_nul = |what: &'static str, s: String| -> Result<Vec<u8>, WasiError> {
            if s.contains('\0') {
                return Err(WasiError::Nul { what, value: s });
            }
            Ok(s.into_bytes())
        };
        let args = b
            .args
            .into_iter()
            .map(|a| no_nul("argument", a))
            .collect::<Result<_, _>>()?;
        let env = b
            .env
            .into_iter()
            .map(|(k, v)| {
                if k.is_empty() || k.contains('=') {
                    return Err(WasiError::EnvName(k));
                }
                no_nul("environment variable", format!("{k}={v}"))
            })
            .collect::<Result<_, _>>()?;
        let mut fds = FdTable::default();
        for d in [
            b.stdin.unwrap_or_else(null_input),
            b.stdout.unwrap_or_else(null_output),
            b.stderr.unwrap_or_else(null_output),
        ] {
            let _ = fds.insert(d);
        }
        for p in b.preopens {
            if p.guest.contains('\0') {
                return Err(WasiError::Nul {
                    what: "directory name",
                    value: p.guest,
                });
            }
            let root = Arc::new(p.dir);
            let _ = fds.insert(Descriptor {
                kind: Kind::Dir(DirDesc {
                    dir: Arc::clone(&root),
                    root,
                    preopen: Some(p.guest),
                    listing: None,
                }),
                rights_base: rights::DIRECTORY,
                rights_inheriting: rights::ALL,
                flags: 0,
            });
        }
        let random = match b.random_seed {
            Some(seed) => Random::Seeded(seed),
            None => Random::Os(None),
        };
        Ok(WasiCtx {
            state: Some(State::new(args, env, fds, random)),
        })
    }
}

/// A byte buffer that a guest's output can be captured into, shared between
/// the [`WasiCtx`] (which writes) and the embedder (which reads).
///
/// ```
/// use std::io::Write;
/// let out = kiln_wasi::OutputBuffer::new();
/// let mut writer = out.clone();
/// writer.write_all(b"hi")?;
/// assert_eq!(out.contents(), b"hi");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct OutputBuffer(Arc<Mutex<Vec<u8>>>);

impl OutputBuffer {
    /// An empty buffer.
    pub fn new() -> OutputBuffer {
        OutputBuffer::default()
    }

    /// A copy of what was written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What was written so far, as text (invalid UTF-8 replaced).
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.contents()).into_owned()
    }
}

impl Write for OutputBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_random_is_reproducible() -> io::Result<()> {
        let (mut a, mut b) = (Random::Seeded(7), Random::Seeded(7));
        let (mut x, mut y) = ([0u8; 13], [0u8; 13]);
        a.fill(&mut x)?;
        b.fill(&mut y)?;
        assert_eq!(x, y);
        assert_ne!(x, [0; 13]);
        Ok(())
    }

    #[test]
    fn bad_strings_are_refused() {
        assert!(matches!(
            WasiCtx::builder().arg("a\0b").build(),
            Err(WasiError::Nul { .. })
        ));
        assert!(matches!(
            WasiCtx::builder().env("A=B", "c").build(),
            Err(WasiError::EnvName(_))
        ));
        assert!(matches!(
            WasiCtx::builder().preopened_dir("/definitely/not/here", "x"),
            Err(WasiError::Preopen { .. })
        ));
    }

    #[test]
    fn preopens_follow_the_streams() -> Result<(), WasiError> {
        let dir = std::env::temp_dir();
        let ctx = WasiCtx::builder().preopened_dir(&dir, "/tmp")?.build()?;
        let state = ctx.state.as_ref().expect("state present");
        let d = state.fds.dir(3).expect("fd 3 is the preopen");
        assert_eq!(d.preopen.as_deref(), Some("/tmp"));
        assert!(state.fds.get(2).is_ok());
        assert!(state.fds.get(4).is_err());
        Ok(())
    }

    #[test]
    fn the_default_context_has_three_streams() {
        let ctx = WasiCtx::default();
        let state = ctx.state.as_ref().expect("state present");
        assert!(state.fds.get(2).is_ok());
        assert!(state.fds.get(3).is_err());
    }
}
