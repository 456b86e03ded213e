//! Compiled modules saved to bytes and loaded again ([`Module::serialize`],
//! [`Module::deserialize`]), so that a module is compiled once and started
//! many times.
//!
//! # The format
//! An artifact is, in order (numbers little-endian, byte strings a `u64`
//! length and the bytes):
//! 1. the magic number [`MAGIC`] (`\0kilnmod`), which no binary or text
//!    module starts with;
//! 2. the artifact's whole length, as a `u64`, so a truncated file is named
//!    as such;
//! 3. the version string ([`version`]): Kiln's version, the JIT's code
//!    format and the hash of the sources the code comes from. Everything
//!    after it may change between versions;
//! 4. the engine's features (their `Debug` text) and strategy;
//! 5. the module's binary;
//! 6. the JIT's code section (`kiln_jit`'s `artifact.rs`: the host
//!    fingerprint, the compile options, the tables and the code);
//! 7. a CRC-32 of everything before it (`crc32fast`), little-endian.
//!
//! Loading checks, in order: the magic number, the length, the version, the
//! checksum, the features and strategy, then parses the binary (its
//! sections; function bodies are not decoded) and hands the code section to
//! the JIT, which checks the host fingerprint and the compile options before
//! it maps anything executable. The first failed check is the error
//! ([`ArtifactError`]); nothing of a refused artifact runs.
//!
//! The binary is not validated again: it was when it was compiled, and the
//! checksum says these are the same bytes. Validation decodes every function
//! body and took half of a warm start; [`Module::deserialize`]'s contract
//! covers the binary as it covers the code.

use std::sync::Arc;

use kiln_runtime::ArtifactError;
use kiln_runtime::artifact::{Reader, Writer};

use crate::module::{ModuleInner, compile_error};
use crate::{Engine, Error, Module, Strategy};

/// The first bytes of every artifact.
pub const MAGIC: &[u8; 8] = b"\0kilnmod";

/// Bytes of the checksum at the end.
const CHECKSUM_LEN: usize = 4;

/// This build's version string: Kiln's version, the JIT's code format and
/// the hash of the sources its code comes from (`kiln_jit::CODE_SOURCE`), so
/// that a build from changed sources refuses what an earlier one saved.
pub fn version() -> String {
    format!(
        "{} (code format {}, source {})",
        env!("CARGO_PKG_VERSION"),
        kiln_jit::CODE_FORMAT,
        kiln_jit::CODE_SOURCE
    )
}

/// Whether `bytes` start like an artifact (they may still fail to load).
pub fn is_artifact(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// The engine settings an artifact records besides the JIT's own.
fn engine_settings(engine: &Engine) -> String {
    format!(
        "strategy={:?} features={:?}",
        engine.config().strategy,
        engine.config().features
    )
}

impl Engine {
    /// A text that changes whenever this engine would compile a module into
    /// different code: Kiln's version and code format, the host's processor
    /// features and code generator settings, the compile options and the
    /// features. A cache of compiled modules keys its entries by it and the
    /// module's bytes.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] on an engine without native code (the
    /// interpreter's modules are not saved), or where the JIT cannot run.
    pub fn compatibility_key(&self) -> Result<String, Error> {
        require_jit(self)?;
        let fingerprint =
            kiln_jit::host_fingerprint(self.config().compile_options()).map_err(compile_error)?;
        Ok(format!(
            "{}\n{}\n{:?}\n{fingerprint}",
            version(),
            engine_settings(self),
            self.config().compile_options()
        ))
    }
}

/// Refuses engines whose modules hold no native code.
fn require_jit(engine: &Engine) -> Result<(), Error> {
    match engine.config().strategy {
        Strategy::Jit | Strategy::Tiered => Ok(()),
        Strategy::Interpreter => Err(Error::Unsupported(
            "compiled modules on the interpreter (they hold the JIT's native code; use the JIT)"
                .into(),
        )),
    }
}

impl Module {
    /// Saves the compiled module as bytes that [`Module::deserialize`] loads
    /// without compiling again (the module's doc describes the format).
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] for a module of an interpreter engine: only the
    /// JIT's native code is saved.
    pub fn serialize(&self) -> Result<Vec<u8>, Error> {
        require_jit(&self.inner.engine)?;
        // A tiered module's native code, once its compile has finished.
        self.wait_native();
        let code = kiln_runtime::invoke::code_as::<kiln_jit::CompiledModule>(&*self.inner.code)
            .ok_or_else(|| Error::Compile("a module without native code".into()))?;
        let mut w = Writer::default();
        w.bytes.extend_from_slice(MAGIC);
        w.u64(0); // the length, filled in below
        w.str(&version());
        w.str(&engine_settings(&self.inner.engine));
        w.bytes(&self.inner.binary);
        let mut section = Writer::default();
        code.serialize(&mut section).map_err(compile_error)?;
        w.bytes(&section.bytes);
        let len = (w.bytes.len() + CHECKSUM_LEN) as u64;
        w.bytes[MAGIC.len()..MAGIC.len() + 8].copy_from_slice(&len.to_le_bytes());
        let sum = crc32fast::hash(&w.bytes);
        w.bytes.extend_from_slice(&sum.to_le_bytes());
        Ok(w.bytes)
    }

    /// Loads a module that [`Module::serialize`] saved, for `engine`, without
    /// compiling it again.
    ///
    /// # Errors
    ///
    /// [`Error::Artifact`] if the bytes are not an artifact this engine can
    /// run: not one at all, truncated, corrupted, written by another version
    /// of Kiln, compiled for another processor or with other settings (each
    /// named by its [`ArtifactError`]). [`Error::Parse`] if the module inside
    /// uses a proposal the engine's features leave out (the features are
    /// compared first, so only a forged artifact gets here);
    /// [`Error::Unsupported`] on an interpreter engine.
    ///
    /// # Safety
    ///
    /// The native code inside is executed as it is. The checks above catch
    /// accidents (a truncated or damaged file, another version, another
    /// processor), but a checksum is no signature: `bytes` must come from
    /// [`Module::serialize`] of this build of Kiln, or from a source trusted
    /// as much as this process's own executable. Never load an artifact that
    /// someone else could have written. The module inside is not validated
    /// again (it was when it was compiled).
    pub unsafe fn deserialize(engine: &Engine, bytes: &[u8]) -> Result<Module, Error> {
        require_jit(engine)?;
        let body = check_container(bytes)?;
        let mut r = Reader::new(body);
        let settings = r.str()?;
        let expected = engine_settings(engine);
        if settings != expected {
            return Err(ArtifactError::Settings {
                what: format!("`{settings}` in the module, `{expected}` in the engine"),
            }
            .into());
        }
        let binary = r.bytes()?;
        let section = r.bytes()?;
        if !r.is_empty() {
            return Err(ArtifactError::Malformed("bytes after the code".into()).into());
        }
        let features = engine.config().features;
        let ir = Arc::new(kiln_parser::parse(binary, features)?);
        // SAFETY: the caller vouches that the bytes came from `serialize` of
        // this build; the checksum, version, settings and host checks hold, so
        // the section is the code compiled from this very binary.
        let code = unsafe {
            kiln_jit::CompiledModule::deserialize(
                Arc::clone(&ir),
                engine.config().compile_options(),
                section,
            )
        }?;
        let code: Arc<dyn std::any::Any + Send + Sync> = match engine.config().strategy {
            // The interpreter's form beside the loaded native code, for calls
            // from interpreted code of modules still compiling.
            Strategy::Tiered => {
                let info = Arc::new(kiln_validator::validate(&ir, features)?);
                let interp = kiln_interp::CompiledModule::new(
                    Arc::clone(&ir),
                    info,
                    engine.config().compile_options(),
                )
                .map_err(compile_error)?;
                let native = std::sync::OnceLock::new();
                let _ = native.set(Arc::new(code) as Arc<dyn std::any::Any + Send + Sync>);
                Arc::new(kiln_runtime::invoke::TieredCode {
                    interp: Arc::new(interp),
                    native,
                })
            }
            _ => Arc::new(code),
        };
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                ir,
                binary: binary.into(),
                code,
                tier_up: None,
            }),
        })
    }
}

/// Checks an artifact's magic number, length, version and checksum, and
/// returns what lies between the version and the checksum.
fn check_container(bytes: &[u8]) -> Result<&[u8], ArtifactError> {
    if !is_artifact(bytes) {
        return Err(ArtifactError::NotAnArtifact);
    }
    let mut r = Reader::new(&bytes[MAGIC.len()..]);
    let len = r.u64()?;
    if (bytes.len() as u64) < len {
        return Err(ArtifactError::Truncated);
    }
    if bytes.len() as u64 != len {
        return Err(ArtifactError::Corrupted);
    }
    let found = r.str()?;
    let expected = version();
    if found != expected {
        return Err(ArtifactError::Version {
            found: found.to_owned(),
            expected,
        });
    }
    // The magic number, the length and the version string's length and bytes.
    let body_start = MAGIC.len() + 16 + found.len();
    let split = bytes
        .len()
        .checked_sub(CHECKSUM_LEN)
        .filter(|&s| s >= body_start)
        .ok_or(ArtifactError::Corrupted)?;
    let (covered, sum) = bytes.split_at(split);
    if crc32fast::hash(covered).to_le_bytes() != sum {
        return Err(ArtifactError::Corrupted);
    }
    Ok(&bytes[body_start..split])
}
