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
    /// tail-call, extended-const, multi-memory and memory64 proposals. A
    /// module that uses any other proposal is rejected with an error naming
    /// that proposal.
    ///
    /// Prints `valid` and exits 0, or prints the first error found on stderr
    /// and exits 1.
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// The module to check (`.wasm` or `.wat`).
    file: PathBuf,

    /// Accept exactly WebAssembly 2.0: reject tail-call, extended-const,
    /// multi-memory and memory64 as well.
    #[arg(long)]
    wasm2: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Validate(args) => validate(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
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
        Features::ALL
    };
    if let Err(mut e) = kiln::validate(&bytes, features) {
        e.set_path(path);
        return Err(anyhow::Error::new(e).context(shown.to_string()));
    }
    writeln!(std::io::stdout(), "valid").context("cannot write to stdout")?;
    Ok(())
}
