//! Relocations of linked code: the places in a module's code that hold an
//! address (a libcall's, or an absolute one of the code itself), kept with the
//! compiled module so that a copy of the code loaded elsewhere
//! (`artifact.rs`) can be patched again. `link.rs` applies them.
//!
//! Only data lives here, so that the compiled module can hold relocations
//! without depending on the libcalls (which depend on what runs the module).

use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::ir::LibCall;

/// A function outside the compiled code that the code calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Symbol {
    /// One of Kiln's libcalls, by its number (`Libcall::from_index`; checked
    /// wherever a symbol is made).
    Kiln(u32),
    /// A libcall Cranelift's own lowering asks for (float rounding; checked
    /// to be one Kiln provides wherever a symbol is made).
    Cranelift(LibCall),
}

/// What a load-time relocation points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoadTarget {
    /// A byte of the module's code, by offset.
    Code(u32),
    /// A function outside the code.
    Symbol(Symbol),
}

/// A relocation of a module's linked code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LoadReloc {
    /// Offset of the patched bytes from the start of the code.
    pub(crate) offset: u32,
    /// How the address is encoded there.
    pub(crate) kind: Reloc,
    /// What it points to.
    pub(crate) target: LoadTarget,
    /// Added to the target's address.
    pub(crate) addend: i64,
}

impl LoadReloc {
    /// Whether the patched bytes change when the code moves: an absolute
    /// address, or a PC-relative one of something outside the code.
    pub(crate) fn depends_on_placement(&self) -> bool {
        !matches!(
            (self.kind, self.target),
            (
                Reloc::X86CallPCRel4 | Reloc::X86PCRel4 | Reloc::Arm64Call,
                LoadTarget::Code(_)
            )
        )
    }

    /// Bytes the relocation patches.
    pub(crate) fn width(kind: Reloc) -> Option<usize> {
        match kind {
            Reloc::Abs8 => Some(8),
            Reloc::X86CallPCRel4 | Reloc::X86PCRel4 | Reloc::Arm64Call => Some(4),
            _ => None,
        }
    }
}
