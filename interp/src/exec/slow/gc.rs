//! GC instructions on the slow path: the operands gathered from their
//! registers (both halves, for `v128` fields), the runtime's
//! `gc::exec::execute` run, and the result written back.

use kiln_runtime::Trap;

use super::Executor;
use crate::bytecode::Reg;

impl Executor<'_> {
    /// `Op::Gc { args, site }`.
    #[inline(never)]
    pub(super) fn gc(&mut self, args: Reg, site: u32) -> Result<(), Trap> {
        let func = self.ctx.frame.func();
        let Some(entry) = func.gc.get(site as usize) else {
            // The verifier checked the site; this is only a guard.
            return Err(kiln_runtime::TrapCode::Unreachable.into());
        };
        let instr = entry.instr.clone();
        let (operands, result) = (entry.operands as usize, entry.result);
        let at = self.base + args as usize;
        let n = super::half(self.stack);
        let values: Vec<u128> = (at..at + operands)
            .map(|i| u128::from(self.stack[i]) | u128::from(self.stack[n + i]) << 64)
            .collect();
        let inst = self.ctx.frame.instance;
        let metered = self.ctx.frame.module().options.fuel;
        let out = kiln_runtime::gc::exec::execute(self.store, inst, &instr, &values, metered, None);
        self.refresh();
        if let Some(bits) = out? {
            debug_assert!(result);
            let n = super::half(self.stack);
            self.stack[at] = bits as u64;
            self.stack[n + at] = (bits >> 64) as u64;
        }
        Ok(())
    }
}
