//! What the translator emits to bound a guest: fuel charges at the start of
//! metered runs (`kiln_runtime::fuel`) and epoch checks at function entries
//! and loop headers (`kiln_runtime::epoch`: the stack-limit check, which an
//! epoch poke fails). Both are compile options; off, nothing is emitted.

use super::FuncState;
use crate::libcalls::Libcall;
use crate::vmctx;
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, types};

impl FuncState<'_, '_> {
    /// Charges `cost` units of fuel. If less is left, the out-of-fuel libcall
    /// runs (cold): it suspends a resumable call until the host adds fuel, and
    /// leaves the fuel then left (at least `cost`) in the context, or ends the
    /// entry with `out of fuel` (nothing charged).
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
        let slow = self.b.create_block();
        let cont = self.b.create_block();
        let fuel_now = self.b.append_block_param(cont, types::I64);
        self.b.set_cold_block(slow);
        self.b.ins().brif(short, slow, &[], cont, &[fuel.into()]);
        self.b.seal_block(slow);
        self.b.switch_to_block(slow);
        // The libcall ends the entry itself if the call cannot go on: no check
        // of `pending` follows it.
        let needed = self.b.ins().iconst(types::I64, cost as i64);
        let call = self.libcall(Libcall::OutOfFuel, &[types::I64], &[]);
        let vmctx = self.vmctx;
        self.b.ins().call(call, &[vmctx, needed]);
        let refilled = self
            .b
            .ins()
            .load(types::I64, flags, self.vmctx, vmctx::FUEL_OFFSET);
        self.b.ins().jump(cont, &[refilled.into()]);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
        let left = self
            .b
            .ins()
            .iadd_imm_s(fuel_now, (cost as i64).wrapping_neg());
        self.b
            .ins()
            .store(flags, left, self.vmctx, vmctx::FUEL_OFFSET);
    }

    /// With epoch interruption on, at a loop header: whether
    /// `VmContext::stack_limit` was poked (an atomic load, so it is never
    /// merged with an earlier one: another thread sets it to `POKED` when the
    /// epoch reaches the store's deadline; see `kiln_runtime::epoch`); if so,
    /// the `epoch_reached` libcall (cold). A compare with a constant: the stack
    /// pointer is not needed, and no value is kept for the slow path.
    pub(super) fn check_epoch(&mut self) {
        if !self.env.options.epoch_interruption {
            return;
        }
        let limit = self.load_stack_limit();
        let poked = self.b.ins().icmp_imm_s(
            ir::condcodes::IntCC::Equal,
            limit,
            kiln_runtime::epoch::POKED as i64,
        );
        self.epoch_slow_path_if(poked);
    }

    /// With epoch interruption on, at a function entry: the stack-limit
    /// check, with the stack pointer `sp`, which a poke fails too; the slow
    /// path tells the two apart.
    pub(super) fn check_stack_and_epoch(&mut self, sp: ir::Value) {
        let limit = self.load_stack_limit();
        let low = self
            .b
            .ins()
            .icmp(ir::condcodes::IntCC::UnsignedLessThan, sp, limit);
        self.epoch_slow_path_if(low);
    }

    /// `VmContext::stack_limit`, by an atomic load.
    fn load_stack_limit(&mut self) -> ir::Value {
        let slot = self
            .b
            .ins()
            .iadd_imm_s(self.vmctx, i64::from(vmctx::STACK_LIMIT_OFFSET));
        let pointer = self.env.pointer();
        self.b
            .ins()
            .atomic_load(pointer, MemFlagsData::trusted(), slot)
    }

    /// If `cond`, calls the `epoch_reached` libcall from a cold block: it runs
    /// the deadline's callback, or ends the entry with a trap (`interrupt`, or
    /// `call stack exhausted` for a real overflow).
    fn epoch_slow_path_if(&mut self, cond: ir::Value) {
        let slow = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(cond, slow, &[], cont, &[]);
        self.b.seal_block(slow);
        self.b.switch_to_block(slow);
        let call = self.libcall(Libcall::EpochReached, &[], &[]);
        let vmctx = self.vmctx;
        // The libcall ends the entry itself on a trap: no check of `pending`.
        self.b.ins().call(call, &[vmctx]);
        self.b.ins().jump(cont, &[]);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
    }
}
