//! What the translator emits to bound a guest: fuel charges at the start of
//! metered runs (`kiln_runtime::fuel`) and epoch checks at function entries
//! and loop headers (`kiln_runtime::epoch`). Both are compile options; off,
//! nothing is emitted.

use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, types};
use kiln_runtime::TrapCode;

use super::FuncState;
use crate::libcalls::Libcall;
use crate::vmctx;

impl FuncState<'_, '_> {
    /// Charges `cost` units of fuel, trapping with `out of fuel` (and charging
    /// nothing) if less is left.
    pub(super) fn charge_fuel(&mut self, cost: u64) {
        let flags = self.vmctx_flags();
        let fuel = self
            .b
            .ins()
            .load(types::I64, flags, self.vmctx, vmctx::FUEL_OFFSET);
        let short =
            self.b
                .ins()
                .icmp_imm_u(ir::condcodes::IntCC::UnsignedLessThan, fuel, cost as i64);
        self.trap_if(short, TrapCode::OutOfFuel);
        let left = self.b.ins().iadd_imm_s(fuel, (cost as i64).wrapping_neg());
        self.b
            .ins()
            .store(flags, left, self.vmctx, vmctx::FUEL_OFFSET);
    }

    /// With epoch interruption on: calls the epoch libcall if the engine's epoch
    /// has reached the store's deadline (two loads and a compare on the way
    /// through; the pointer to the counter is loop-invariant).
    pub(super) fn check_epoch(&mut self) {
        if !self.env.options.epoch_interruption {
            return;
        }
        let pointer = self.env.pointer();
        let fixed = self.vmctx_flags().with_readonly().with_can_move();
        let counter = self
            .b
            .ins()
            .load(pointer, fixed, self.vmctx, vmctx::EPOCH_COUNTER_OFFSET);
        // An atomic load, so that it is never merged with an earlier one: another
        // thread advances the counter.
        let epoch = self
            .b
            .ins()
            .atomic_load(types::I64, MemFlagsData::trusted(), counter);
        let flags = self.vmctx_flags();
        let deadline =
            self.b
                .ins()
                .load(types::I64, flags, self.vmctx, vmctx::EPOCH_DEADLINE_OFFSET);
        let reached = self.b.ins().icmp(
            ir::condcodes::IntCC::UnsignedGreaterThanOrEqual,
            epoch,
            deadline,
        );
        let slow = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(reached, slow, &[], cont, &[]);
        self.b.seal_block(slow);
        self.b.switch_to_block(slow);
        let call = self.libcall(Libcall::EpochReached, &[types::I32], &[]);
        let (vmctx, depth) = (self.vmctx, self.depth_out);
        self.b.ins().call(call, &[vmctx, depth]);
        self.check_pending();
        self.b.ins().jump(cont, &[]);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
    }
}
