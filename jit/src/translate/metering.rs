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
    ///
    /// The fuel left lives in a variable ([`FuncState::fuel`]), so a loop's
    /// charges form no chain through memory; each charge still stores what is
    /// left into `VmContext::fuel`, which therefore is exact wherever the code
    /// traps. The variable is loaded again after anything that may change the
    /// context's fuel: a call of any kind ([`FuncState::reload_fuel`]), an
    /// exception's landing, an epoch check.
    pub(super) fn charge_fuel(&mut self, cost: u64) {
        let Some(var) = self.fuel else {
            return;
        };
        let flags = self.vmctx_flags();
        let fuel = self.b.use_var(var);
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
        self.b.def_var(var, left);
    }

    /// With fuel on, loads the fuel left from `VmContext::fuel` into its
    /// variable: at the function's entry, and after every call (of a
    /// function, a host function, a libcall), which may have charged fuel
    /// or, through the host, set it.
    pub(super) fn reload_fuel(&mut self) {
        if let Some(var) = self.fuel {
            let flags = self.vmctx_flags();
            let fuel = self
                .b
                .ins()
                .load(types::I64, flags, self.vmctx, vmctx::FUEL_OFFSET);
            self.b.def_var(var, fuel);
        }
    }

    /// With epoch interruption on, at a loop header: a read of one byte of the
    /// store's poll page (`VmContext::epoch_poll`, a loop-invariant pointer),
    /// whose value is not used. Once the epoch reaches the store's deadline
    /// the page is inaccessible and the read faults; the signal handler sees
    /// the trap code [`vmctx::EPOCH_POLL`], runs the epoch slow path, and the
    /// read again (`signals.rs`). One load per iteration, no compare, no
    /// branch, no call: a loop without calls stays a leaf.
    pub(super) fn check_epoch(&mut self) {
        if !self.env.options.epoch_interruption || self.loop_calls_a_checked_function() {
            return;
        }
        let pointer = self.env.pointer();
        let fixed = self.vmctx_flags().with_readonly().with_can_move();
        let page = self
            .b
            .ins()
            .load(pointer, fixed, self.vmctx, vmctx::EPOCH_POLL_OFFSET);
        // Not `notrap`, so never removed as unused; and atomic, so never taken
        // for a repeat of an earlier poll (redundant-load elimination would
        // drop an inner loop's poll after the outer loop's).
        let poll = MemFlagsData::new().with_trap_code(Some(vmctx::EPOCH_POLL));
        self.b.ins().atomic_load(types::I8, poll, page);
        // A poll that faults runs the deadline's callback, which may set the
        // store's fuel.
        self.reload_fuel();
    }

    /// Whether every iteration of the loop starting at the current instruction
    /// calls a defined function that checks the epoch on entry (one that
    /// calls anything): the loop's straight-line start, before any
    /// instruction that could branch or leave, holds a direct `call` of one.
    /// Its header then needs no check of its own: each iteration passes the
    /// callee's.
    fn loop_calls_a_checked_function(&self) -> bool {
        use kiln_parser::Instr;
        let imported = self.env.num_imported_funcs();
        for instr in self.body.iter().skip(self.pos + 1) {
            match instr {
                Instr::Call(f) => {
                    let checked = (f.0 as usize)
                        .checked_sub(imported as usize)
                        .and_then(|def| self.env.info.funcs.get(def))
                        .is_some_and(|info| info.calls);
                    if checked {
                        return true;
                    }
                }
                // Other calls return (or trap) to the next instruction.
                Instr::CallIndirect { .. } | Instr::CallRef(_) => {}
                // Any other control instruction (the fuel model's list, which a
                // new one must join) may branch back to the header or leave.
                other if kiln_runtime::fuel::ends_run(other) => return false,
                _ => {}
            }
        }
        false
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
        // The deadline's callback may have set the store's fuel.
        self.reload_fuel();
        self.b.ins().jump(cont, &[]);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
    }
}
