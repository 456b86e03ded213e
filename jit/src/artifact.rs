//! Saving a module's native code and loading it again: the JIT's section of
//! a Kiln artifact (`kiln::Module::serialize`, whose container adds the magic
//! number, the versions, the module's binary and a checksum).
//!
//! The section holds, in order (numbers and byte strings as
//! [`kiln_runtime::artifact`] writes them):
//! 1. the format number [`CODE_FORMAT`] and the source hash [`CODE_SOURCE`];
//! 2. the host fingerprint ([`host_fingerprint`]): the target triple and every
//!    code generator setting, shared and ISA-specific (the processor features
//!    the code may use), one `name=value` per line;
//! 3. the compile options, one byte each;
//! 4. the largest frame, the functions' entry offsets, the trap sites, the
//!    exception handler sites and the load relocations;
//! 5. the code bytes, linked for wherever they were compiled.
//!
//! Loading checks the fingerprint and the options against this host's and the
//! engine's, checks every offset against the code's length and every
//! relocation's target, then maps fresh code memory, copies the code in,
//! patches the relocations for the new address and makes it executable. What
//! fails a check is refused with an [`ArtifactError`] before anything is
//! mapped executable.

use std::num::NonZeroU8;
use std::sync::{Arc, OnceLock};

use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::ir::{LibCall, TrapCode};
use kiln_parser::Module;
use kiln_runtime::artifact::{Reader, Writer};
use kiln_runtime::{ArtifactError, CompileError, CompileOptions};

use crate::code_memory::CodeMemoryBuilder;
use crate::compiled_module::{CompiledModule, FuncCode};
use crate::libcalls::{Libcall, cranelift_libcall_address};
use crate::reloc::{LoadReloc, LoadTarget, Symbol};
use crate::signals::TrapSite;
use crate::unwind::CallSite;

/// The version of the section's layout; bumped whenever it changes.
pub const CODE_FORMAT: u32 = 1;

/// A hash of the sources that decide the code (`build.rs`): the JIT's, the
/// runtime's, the parser's, the validator's and the lock file. Code saved by
/// a build from other sources is refused, whatever the version number says.
pub const CODE_SOURCE: &str = env!("KILN_CODE_SOURCE");

/// This host's fingerprint for code compiled with `options`: two artifacts
/// with the same fingerprint hold code for the same processor features and
/// code generator settings.
///
/// # Errors
///
/// As `CompiledModule::new` when the host has no usable ISA.
pub fn host_fingerprint(options: CompileOptions) -> Result<String, CompileError> {
    // Building the ISA costs more than the rest of a small module's loading,
    // and its answer never changes in a process: one per set of options.
    static FINGERPRINTS: [OnceLock<Result<String, CompileError>>; 16] =
        [const { OnceLock::new() }; 16];
    let slot = options_bytes(options)
        .iter()
        .fold(0, |acc, &b| acc * 2 + usize::from(b));
    FINGERPRINTS[slot]
        .get_or_init(|| fingerprint_of(options))
        .clone()
}

/// [`host_fingerprint`], computed.
fn fingerprint_of(options: CompileOptions) -> Result<String, CompileError> {
    let isa = crate::compiler::host_isa(options)?;
    let mut lines = vec![format!("triple={}", isa.triple())];
    lines.extend(isa.flags().iter().map(|v| v.to_string()));
    lines.extend(isa.isa_flags().iter().map(|v| format!("isa.{v}")));
    Ok(lines.join("\n"))
}

/// The compile options as bytes, in a fixed order.
fn options_bytes(o: CompileOptions) -> [u8; 4] {
    [
        u8::from(o.fuel),
        u8::from(o.epoch_interruption),
        u8::from(o.canonicalize_nans),
        u8::from(o.memory_guard),
    ]
}

/// Names of [`options_bytes`]' entries, for error messages.
const OPTION_NAMES: [&str; 4] = [
    "fuel",
    "epoch interruption",
    "NaN canonicalisation",
    "guard regions",
];

/// The first line of `found` that `expected` lacks, with `expected`'s line of
/// the same name, for [`ArtifactError::Host`].
fn first_difference(found: &str, expected: &str) -> ArtifactError {
    let name = |line: &str| line.split('=').next().unwrap_or(line).to_owned();
    let differing = found
        .lines()
        .find(|l| !expected.lines().any(|e| e == *l))
        .or_else(|| expected.lines().find(|e| !found.lines().any(|l| l == *e)));
    let Some(line) = differing else {
        return ArtifactError::Host {
            found: "settings in another order".into(),
            expected: "these settings".into(),
        };
    };
    let key = name(line);
    let pick = |text: &str| {
        text.lines()
            .find(|l| name(l) == key)
            .map_or_else(|| format!("{key} missing"), str::to_owned)
    };
    ArtifactError::Host {
        found: pick(found),
        expected: pick(expected),
    }
}

impl CompiledModule {
    /// Appends the module's code section (this module's doc says what it holds).
    ///
    /// # Errors
    ///
    /// As [`host_fingerprint`].
    pub fn serialize(&self, out: &mut Writer) -> Result<(), CompileError> {
        out.u32(CODE_FORMAT);
        out.str(CODE_SOURCE);
        out.str(&host_fingerprint(self.options)?);
        for b in options_bytes(self.options) {
            out.u8(b);
        }
        out.u32(self.max_frame_size);
        out.u64(self.funcs.len() as u64);
        for f in &self.funcs {
            out.u32(f.body);
            out.u32(f.trampoline);
        }
        out.u64(self.traps.len() as u64);
        for t in &self.traps {
            out.u32(t.offset);
            out.u8(t.code.as_raw().get());
        }
        out.u64(self.call_sites.len() as u64);
        for s in &self.call_sites {
            out.u32(s.ret_addr);
            out.u32(s.frame_offset);
            out.u32(s.handler);
        }
        out.u64(self.relocs.len() as u64);
        for r in &self.relocs {
            write_reloc(out, r);
        }
        // The code with every placement-dependent site zeroed, so the
        // section does not depend on where this process put things (the same
        // module gives the same bytes in every process) and a site left
        // unpatched on loading could never point at anything.
        let mut code = self.code.bytes().to_vec();
        for r in &self.relocs {
            let at = r.offset as usize;
            let width = LoadReloc::width(r.kind).unwrap_or(0);
            match r.kind {
                // `bl` keeps its opcode bits; the offset is the low 26.
                Reloc::Arm64Call => {
                    code[at..at + 3].fill(0);
                    code[at + 3] &= 0xfc;
                }
                _ => code[at..at + width].fill(0),
            }
        }
        out.bytes(&code);
        Ok(())
    }

    /// Loads code that [`CompiledModule::serialize`] saved, for `module`
    /// (whose IR must be that of the module it was compiled from), to run
    /// with `options`.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Version`] for another layout, [`ArtifactError::Host`]
    /// for another processor or code generator settings,
    /// [`ArtifactError::Settings`] for other options,
    /// [`ArtifactError::Truncated`] or [`ArtifactError::Malformed`] for bytes
    /// that contradict themselves or the module, and
    /// [`ArtifactError::Malformed`] if code memory cannot be mapped.
    ///
    /// # Safety
    ///
    /// The code is executed as it is: `bytes` must be exactly what `serialize`
    /// wrote for a module with `module`'s IR, in a build of Kiln with the same
    /// [`CODE_FORMAT`]. The checks above catch accidents (another version,
    /// host or setting, a truncated section), not forgeries.
    pub unsafe fn deserialize(
        module: Arc<Module>,
        options: CompileOptions,
        bytes: &[u8],
    ) -> Result<CompiledModule, ArtifactError> {
        let mut r = Reader::new(bytes);
        let format = r.u32()?;
        let source = if format == CODE_FORMAT { r.str()? } else { "" };
        if format != CODE_FORMAT || source != CODE_SOURCE {
            return Err(ArtifactError::Version {
                found: format!("(code format {format}, source {source})"),
                expected: format!("(code format {CODE_FORMAT}, source {CODE_SOURCE})"),
            });
        }
        let found = r.str()?;
        let expected = host_fingerprint(options)
            .map_err(|e| ArtifactError::Malformed(format!("no host ISA: {e}")))?;
        if found != expected {
            return Err(first_difference(found, &expected));
        }
        for (i, want) in options_bytes(options).into_iter().enumerate() {
            let got = r.u8()?;
            if got != want {
                let on = |b: u8| if b == 1 { "on" } else { "off" };
                return Err(ArtifactError::Settings {
                    what: format!(
                        "{} {} in the module, {} in the engine",
                        OPTION_NAMES[i],
                        on(got),
                        on(want)
                    ),
                });
            }
        }
        let max_frame_size = r.u32()?;
        let funcs = read_funcs(&mut r, module.funcs.len())?;
        let traps = read_traps(&mut r)?;
        let call_sites = read_call_sites(&mut r)?;
        let n = r.count(17)?;
        let relocs = (0..n)
            .map(|_| read_reloc(&mut r))
            .collect::<Result<Box<[LoadReloc]>, _>>()?;
        let code = r.bytes()?;
        if !r.is_empty() {
            return Err(ArtifactError::Malformed("bytes after the code".into()));
        }
        check_offsets(code.len(), &funcs, &traps, &call_sites, &relocs)?;
        let mem = place(code, &relocs)
            .map_err(|e| ArtifactError::Malformed(format!("loading the code: {e}")))?;
        Ok(CompiledModule {
            module,
            code: mem,
            funcs,
            traps,
            call_sites,
            max_frame_size,
            relocs,
            options,
        })
    }
}

/// Copies `code` into fresh code memory, patches `relocs` for its address and
/// makes it executable.
fn place(
    code: &[u8],
    relocs: &[LoadReloc],
) -> Result<crate::code_memory::CodeMemory, CompileError> {
    let mut mem = CodeMemoryBuilder::new(code.len())?;
    mem.bytes_mut()[..code.len()].copy_from_slice(code);
    for r in relocs {
        crate::link::apply(r, &mut mem)?;
    }
    mem.publish()
}

/// Reads the functions' entry offsets, `defined` of them.
fn read_funcs(r: &mut Reader<'_>, defined: usize) -> Result<Box<[FuncCode]>, ArtifactError> {
    let n = r.count(8)?;
    if n != defined {
        return Err(ArtifactError::Malformed(format!(
            "code for {n} functions, the module defines {defined}"
        )));
    }
    (0..n)
        .map(|_| {
            Ok(FuncCode {
                body: r.u32()?,
                trampoline: r.u32()?,
            })
        })
        .collect()
}

/// Reads the trap sites.
fn read_traps(r: &mut Reader<'_>) -> Result<Box<[TrapSite]>, ArtifactError> {
    let n = r.count(5)?;
    (0..n)
        .map(|_| {
            let offset = r.u32()?;
            let code = NonZeroU8::new(r.u8()?)
                .ok_or_else(|| ArtifactError::Malformed("a trap code of 0".into()))?;
            Ok(TrapSite {
                offset,
                code: TrapCode::from_raw(code),
            })
        })
        .collect()
}

/// Reads the exception handler sites.
fn read_call_sites(r: &mut Reader<'_>) -> Result<Box<[CallSite]>, ArtifactError> {
    let n = r.count(12)?;
    (0..n)
        .map(|_| {
            Ok(CallSite {
                ret_addr: r.u32()?,
                frame_offset: r.u32()?,
                handler: r.u32()?,
            })
        })
        .collect()
}

/// The relocation kinds a section may hold, by their number in it.
const RELOC_KINDS: [Reloc; 4] = [
    Reloc::Abs8,
    Reloc::X86PCRel4,
    Reloc::X86CallPCRel4,
    Reloc::Arm64Call,
];

/// Appends one relocation: offset, kind, target (tag and value), addend (17
/// bytes).
fn write_reloc(out: &mut Writer, r: &LoadReloc) {
    out.u32(r.offset);
    // `link` records only kinds `patch` applies, all of them in the list.
    let kind = RELOC_KINDS.iter().position(|k| *k == r.kind).unwrap_or(0);
    out.u8(kind as u8);
    let (tag, value) = match r.target {
        LoadTarget::Code(o) => (0, o),
        LoadTarget::Symbol(Symbol::Kiln(n)) => (1, n),
        LoadTarget::Symbol(Symbol::Cranelift(c)) => (
            2,
            LibCall::all_libcalls()
                .iter()
                .position(|x| *x == c)
                .unwrap_or(0) as u32,
        ),
    };
    // Tag and value share one u32: the tag in the top byte.
    out.u32((tag << 24) | value);
    out.i64(r.addend);
}

/// Reads one relocation that [`write_reloc`] wrote.
fn read_reloc(r: &mut Reader<'_>) -> Result<LoadReloc, ArtifactError> {
    let offset = r.u32()?;
    let kind = *RELOC_KINDS
        .get(usize::from(r.u8()?))
        .ok_or_else(|| ArtifactError::Malformed("an unknown relocation kind".into()))?;
    let target = r.u32()?;
    let value = target & 0x00ff_ffff;
    let bad_symbol = || ArtifactError::Malformed(format!("an unknown libcall {target:#x}"));
    let target = match target >> 24 {
        0 => LoadTarget::Code(value),
        1 => {
            Libcall::from_index(value).ok_or_else(bad_symbol)?;
            LoadTarget::Symbol(Symbol::Kiln(value))
        }
        2 => {
            let call = *LibCall::all_libcalls()
                .get(value as usize)
                .ok_or_else(bad_symbol)?;
            cranelift_libcall_address(call).ok_or_else(bad_symbol)?;
            LoadTarget::Symbol(Symbol::Cranelift(call))
        }
        _ => return Err(bad_symbol()),
    };
    Ok(LoadReloc {
        offset,
        kind,
        target,
        addend: r.i64()?,
    })
}

/// Checks that every offset the runtime will follow lies inside the code.
fn check_offsets(
    len: usize,
    funcs: &[FuncCode],
    traps: &[TrapSite],
    call_sites: &[CallSite],
    relocs: &[LoadReloc],
) -> Result<(), ArtifactError> {
    let inside = |o: u32| (o as usize) < len;
    let bad = |what: &str| Err(ArtifactError::Malformed(format!("{what} outside the code")));
    if !funcs.iter().all(|f| inside(f.body) && inside(f.trampoline)) {
        return bad("a function entry");
    }
    if !traps.iter().all(|t| inside(t.offset)) || !traps.is_sorted_by_key(|t| t.offset) {
        return bad("a trap site");
    }
    if !call_sites
        .iter()
        .all(|s| inside(s.ret_addr) && inside(s.handler))
        || !call_sites.is_sorted_by_key(|s| s.ret_addr)
    {
        return bad("a handler site");
    }
    for r in relocs {
        let end = (r.offset as usize).checked_add(LoadReloc::width(r.kind).unwrap_or(usize::MAX));
        if end.is_none_or(|e| e > len) || matches!(r.target, LoadTarget::Code(o) if !inside(o)) {
            return bad("a relocation");
        }
    }
    Ok(())
}
