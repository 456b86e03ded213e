//! Linking code in place: laying compiled pieces out in one code memory and
//! patching their relocations ([`link`]), and patching the relocations of
//! code loaded from an artifact ([`apply`]).

use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::isa::OwnedTargetIsa;

use crate::CompileError;
use crate::code_memory::{CodeMemory, CodeMemoryBuilder};
use crate::libcalls::{Libcall, cranelift_libcall_address};
use crate::reloc::{LoadReloc, LoadTarget, Symbol};
use crate::signals::TrapSite;
use crate::unwind::CallSite;
use kiln_runtime::TierName;

/// What a relocation points to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// Defined function `n`'s body.
    Func(u32),
    /// A function outside the code (a libcall).
    Symbol(Symbol),
    /// An offset inside the same piece.
    Local(u32),
}

/// A place in a piece of code to patch once addresses are known.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Relocation {
    pub(crate) offset: u32,
    pub(crate) kind: Reloc,
    pub(crate) target: Target,
    pub(crate) addend: i64,
}

/// One compiled function or trampoline, not yet placed.
#[derive(Debug)]
pub(crate) struct Piece {
    pub(crate) bytes: Vec<u8>,
    pub(crate) relocs: Vec<Relocation>,
    /// Trap sites, at offsets within the piece.
    pub(crate) traps: Vec<TrapSite>,
    /// Call sites with an exception handler, at offsets within the piece.
    pub(crate) call_sites: Vec<CallSite>,
    /// Bytes of stack the function takes, return address included.
    pub(crate) frame_size: u32,
}

/// Lays the pieces out in one code memory, patches every relocation and makes it
/// executable. Returns the memory, each piece's offset, and the relocations
/// that a copy of the code at another address needs patched again.
pub(crate) fn link(
    pieces: &[Piece],
    isa: &OwnedTargetIsa,
) -> Result<(CodeMemory, Vec<u32>, Vec<LoadReloc>), CompileError> {
    let align = isa.function_alignment().preferred.max(16) as usize;
    let mut offsets = Vec::with_capacity(pieces.len());
    let mut len = 0usize;
    for p in pieces {
        len = len.next_multiple_of(align);
        offsets.push(u32::try_from(len).map_err(|_| {
            CompileError::unsupported(TierName::Jit, "more than 4 GiB of code".into())
        })?);
        len += p.bytes.len();
    }
    let mut mem = CodeMemoryBuilder::new(len)?;
    let mut load_relocs = Vec::new();
    for (p, &at) in pieces.iter().zip(&offsets) {
        let start = at as usize;
        mem.bytes_mut()[start..start + p.bytes.len()].copy_from_slice(&p.bytes);
        for r in &p.relocs {
            let target = match r.target {
                Target::Func(f) => LoadTarget::Code(offsets[f as usize]),
                Target::Symbol(s) => LoadTarget::Symbol(s),
                Target::Local(o) => LoadTarget::Code(at + o),
            };
            let reloc = LoadReloc {
                offset: at + r.offset,
                kind: r.kind,
                target,
                addend: r.addend,
            };
            apply(&reloc, &mut mem)?;
            // A PC-relative reference inside the code stays right wherever the
            // code is placed; every other one depends on addresses.
            if reloc.depends_on_placement() {
                load_relocs.push(reloc);
            }
        }
    }
    Ok((mem.publish()?, offsets, load_relocs))
}

/// Patches `reloc` into code being built at `mem`'s address.
///
/// # Errors
///
/// [`CompileError::Codegen`] if the target is out of the encoding's range or
/// an unknown libcall, [`CompileError::Unsupported`] for a kind Kiln does not
/// patch.
pub(crate) fn apply(reloc: &LoadReloc, mem: &mut CodeMemoryBuilder) -> Result<(), CompileError> {
    let base = mem.base();
    let target = match reloc.target {
        LoadTarget::Code(o) => base + o as usize,
        LoadTarget::Symbol(s) => symbol_address(s)?,
    };
    patch(
        mem.bytes_mut(),
        base,
        reloc.offset as usize,
        reloc.kind,
        target,
        reloc.addend,
    )
}

/// A symbol's address in this process.
fn symbol_address(symbol: Symbol) -> Result<usize, CompileError> {
    let address = match symbol {
        Symbol::Kiln(n) => Libcall::from_index(n).map(Libcall::address),
        Symbol::Cranelift(c) => cranelift_libcall_address(c),
    };
    address.ok_or_else(|| CompileError::Codegen(format!("unknown libcall {symbol:?}")))
}

/// Applies one relocation at `bytes[at..]`, which will live at address `base + at`.
fn patch(
    bytes: &mut [u8],
    base: usize,
    at: usize,
    kind: Reloc,
    target: usize,
    addend: i64,
) -> Result<(), CompileError> {
    let value = (target as i64).wrapping_add(addend);
    let pc = (base + at) as i64;
    let out_of_range = || CompileError::Codegen(format!("{kind:?} relocation out of range"));
    match kind {
        Reloc::Abs8 => bytes[at..at + 8].copy_from_slice(&value.to_le_bytes()),
        Reloc::X86CallPCRel4 | Reloc::X86PCRel4 => {
            let delta = i32::try_from(value.wrapping_sub(pc)).map_err(|_| out_of_range())?;
            bytes[at..at + 4].copy_from_slice(&delta.to_le_bytes());
        }
        Reloc::Arm64Call => {
            // `bl`: a signed 26-bit word offset in the low bits of the instruction.
            let delta = value.wrapping_sub(pc);
            if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
                return Err(out_of_range());
            }
            let mut insn = [0u8; 4];
            insn.copy_from_slice(&bytes[at..at + 4]);
            let insn = u32::from_le_bytes(insn);
            let insn = (insn & 0xfc00_0000) | ((delta >> 2) as u32 & 0x03ff_ffff);
            bytes[at..at + 4].copy_from_slice(&insn.to_le_bytes());
        }
        other => {
            return Err(CompileError::unsupported(
                TierName::Jit,
                format!("code needing {other:?} relocations"),
            ));
        }
    }
    Ok(())
}
