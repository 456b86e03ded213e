//! Where a collection may run in a function, and which of its values may
//! then be GC objects: what a tier needs to find its roots precisely.
//!
//! Recorded only when GC is on. A value may be a GC object if its type is
//! of the `any` hierarchy, or of the `extern` one (`extern.convert_any`
//! makes an `externref` of an object). A collection may run at a call (the
//! callee, or a host function it reaches, may allocate) and at an
//! instruction that allocates (`struct.new`, the `array.new` family). The
//! roots of a frame at such a point are its locals of those types and the
//! operand slots of those types below the stack's height when the
//! instruction starts, its own operands included (an allocation's operands
//! must survive the collection it may cause; a call's arguments have become
//! the callee's locals, which a tier may skip in the caller).

use kiln_parser::{GcInstr, HeapType, Instr, ValType};

use super::FuncValidator;
use crate::context::Context;

/// The GC roots of one function: see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcRoots {
    /// The locals (parameters first) whose values may be GC objects.
    pub locals: Box<[u32]>,
    /// Each point where a collection may run, in the body's order.
    pub safepoints: Box<[Safepoint]>,
}

/// One point where a collection may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Safepoint {
    /// The instruction's index in the body.
    pub instr: u32,
    /// The operand-stack positions (0 at the bottom of the function's own
    /// stack) whose values may be GC objects when the instruction starts.
    pub slots: Box<[u32]>,
}

/// Whether a value of type `t` may be a GC object, in context `cx`.
pub(crate) fn may_hold_gc_ref(cx: &Context<'_>, t: ValType) -> bool {
    match t {
        ValType::Ref(r) => matches!(cx.top_of(r.heap), HeapType::Any | HeapType::Extern),
        _ => false,
    }
}

/// Whether a collection may run at `instr`.
pub(crate) fn is_safepoint(instr: &Instr) -> bool {
    matches!(
        instr,
        Instr::Call(_)
            | Instr::CallIndirect { .. }
            | Instr::CallRef(_)
            | Instr::ReturnCall(_)
            | Instr::ReturnCallIndirect { .. }
            | Instr::ReturnCallRef(_)
            | Instr::Gc(
                GcInstr::StructNew(_)
                    | GcInstr::StructNewDefault(_)
                    | GcInstr::ArrayNew(_)
                    | GcInstr::ArrayNewDefault(_)
                    | GcInstr::ArrayNewFixed { .. }
                    | GcInstr::ArrayNewData { .. }
                    | GcInstr::ArrayNewElem { .. }
            )
    )
}

impl FuncValidator<'_, '_> {
    /// Records the safepoint at the instruction about to be checked.
    pub(super) fn record_safepoint(&mut self) {
        let cx = self.cx;
        let slots: Box<[u32]> = self
            .operands
            .iter()
            .enumerate()
            .filter(|(_, t)| t.is_some_and(|t| may_hold_gc_ref(cx, t)))
            .map(|(i, _)| i as u32)
            .collect();
        self.safepoints.push(Safepoint {
            instr: self.pc,
            slots,
        });
    }

    /// The roots recorded for the function just checked, if GC is on.
    pub(super) fn gc_roots(&mut self) -> Option<Box<GcRoots>> {
        if !self.cx.features.gc {
            return None;
        }
        let cx = self.cx;
        let locals = self
            .locals
            .iter()
            .enumerate()
            .filter(|(_, t)| may_hold_gc_ref(cx, **t))
            .map(|(i, _)| i as u32)
            .collect();
        Some(Box::new(GcRoots {
            locals,
            safepoints: std::mem::take(&mut self.safepoints).into_boxed_slice(),
        }))
    }
}
