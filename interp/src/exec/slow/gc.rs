//! GC instructions on the slow path: the operands gathered from their
//! registers (both halves, for `v128` fields), the runtime's
//! `gc_ops::execute` run, and the result written back; and the roots the
//! frames of one execution give a collection.

use kiln_runtime::{RawRef, Trap};

use super::{Executor, Frame};
use crate::bytecode::{Op, Reg};

impl Executor<'_> {
    /// `Op::Gc { args, site }`.
    #[inline(never)]
    pub(super) fn gc(&mut self, args: Reg, site: u32) -> Result<(), Trap> {
        let at = self.base + args as usize;
        let out = {
            let func = self.ctx.frame.func();
            let Some(entry) = func.gc.get(site as usize) else {
                // The verifier checked the site; this is only a guard.
                return Err(kiln_runtime::TrapCode::Unreachable.into());
            };
            // The operands, both halves, on the native stack when they are
            // few (all but `struct.new` of a large struct, `array.new_fixed`).
            let n = super::half(self.stack);
            let operand =
                |i: usize| u128::from(self.stack[i]) | u128::from(self.stack[n + i]) << 64;
            let count = entry.operands as usize;
            let mut few = [0u128; 8];
            let many: Vec<u128>;
            let values: &[u128] = if count <= few.len() {
                for (k, v) in few[..count].iter_mut().enumerate() {
                    *v = operand(at + k);
                }
                &few[..count]
            } else {
                many = (at..at + count).map(operand).collect();
                &many
            };
            let inst = self.ctx.frame.instance;
            let metered = self.ctx.frame.module().options.fuel;
            let (stack, current, callers) = (&*self.stack, &self.ctx.frame, &self.ctx.frames);
            let (base, op) = (self.base, self.pc - 1);
            let mut roots =
                |out: &mut Vec<RawRef>| frame_roots(stack, (current, base, op), callers, out);
            kiln_runtime::gc_ops::execute(
                self.store,
                inst,
                &entry.instr,
                values,
                metered,
                Some(&mut roots),
            )
        };
        self.refresh();
        if let Some(bits) = out? {
            let n = super::half(self.stack);
            self.stack[at] = bits as u64;
            self.stack[n + at] = (bits >> 64) as u64;
        }
        Ok(())
    }

    /// Before a call out of WebAssembly (a host function, or native code
    /// under the tiered strategy) at the current op: pushes this
    /// execution's roots onto the store's frozen roots, so that a
    /// collection during the call keeps them, and returns where to truncate
    /// them back to after it. Nothing is pushed while the heap is empty: no
    /// frame can hold an object allocated later.
    pub(super) fn freeze_roots(&mut self) -> usize {
        let mark = self.store.gc_frozen.len();
        if !self.store.gc.is_empty() {
            let current = (&self.ctx.frame, self.base, self.pc - 1);
            let mut out = std::mem::take(&mut self.store.gc_frozen);
            frame_roots(self.stack, current, &self.ctx.frames, &mut out);
            self.store.gc_frozen = out;
        }
        mark
    }
}

/// Adds to `out` what the frames of one execution may hold as GC objects:
/// `current` (a frame, its base, the op it runs) at every register of its
/// safepoint, and each of `callers` at its call, the registers below the
/// call's arguments (those are the callee's).
fn frame_roots(
    stack: &[u64],
    current: (&Frame, usize, usize),
    callers: &[Frame],
    out: &mut Vec<RawRef>,
) {
    let (frame, base, op) = current;
    if let Some(regs) = frame.func().roots_at(op) {
        out.extend(
            regs.iter()
                .map(|&r| RawRef(stack[base + r as usize] as u32)),
        );
    }
    for caller in callers {
        let func = caller.func();
        let Some(call) = caller.pc.checked_sub(1) else {
            continue;
        };
        let Some(regs) = func.roots_at(call) else {
            continue;
        };
        let below = match func.code.get(call) {
            Some(
                Op::Call { args, .. } | Op::CallIndirect { args, .. } | Op::CallRef { args, .. },
            ) => *args,
            _ => Reg::MAX,
        };
        out.extend(
            regs.iter()
                .filter(|&&r| r < below)
                .map(|&r| RawRef(stack[caller.base + r as usize] as u32)),
        );
    }
}
