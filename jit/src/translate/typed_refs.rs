//! Typed function references: `call_ref`, `return_call_ref`,
//! `ref.as_non_null`, `br_on_null` and `br_on_non_null`.
//!
//! `call_ref` is `call_indirect` without the table and without the type check:
//! validation guarantees that the reference's function has the immediate type
//! or a declared subtype of it, and a subtype's Cranelift signature is the
//! same (every reference is an `i32`). So after the null check the inline path
//! compares only the instance half of the callee's `FuncEntry` with this
//! instance: compiled code of this instance is called directly (a real tail
//! call for `return_call_ref`); anything else (a host function, another
//! instance's, one the entry cache lacks) goes through the `call_ref_slow`
//! libcall.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{BlockArg, InstBuilder, types};
use kiln_runtime::TrapCode;

use super::FuncState;
use crate::CompileError;
use crate::libcalls::Libcall;
use crate::vmctx;

impl FuncState<'_, '_> {
    /// `call_ref ty` (or `return_call_ref ty` when `tail`).
    pub(super) fn visit_call_ref(&mut self, ty: u32, tail: bool) -> Result<(), CompileError> {
        let module: &kiln_parser::Module = self.env.module;
        let fty = module.types[ty as usize].func();
        let raw = self.pop();
        let depth = if tail { self.depth_in } else { self.depth_out };
        self.pop_call_args(fty.params.len(), depth);
        self.b
            .ins()
            .trapz(raw, vmctx::clif_trap(TrapCode::NullFunctionReference));

        // The function's entry, when the store's cache has one.
        let flags = self.vmctx_flags();
        let pointer = self.env.pointer();
        let (entry, fast, slow) = self.func_entry(raw);
        let instance = self
            .b
            .ins()
            .load(types::I32, flags, entry, vmctx::FUNC_ENTRY_INSTANCE);
        let this = self.b.ins().load(
            types::I32,
            flags.with_readonly().with_can_move(),
            self.vmctx,
            vmctx::INSTANCE_OFFSET,
        );
        let native = self.b.ins().icmp(IntCC::Equal, instance, this);
        self.dispatch_call(ty, tail, (native, entry), (fast, slow), |s, buf| {
            let call = s.libcall(
                Libcall::CallRefSlow,
                &[types::I32, types::I32, pointer],
                &[],
            );
            s.b.ins().call(call, &[s.vmctx, s.depth_out, raw, buf]);
            s.reload_fuel();
        })
    }

    /// `ref.as_non_null`: traps on null, else leaves the reference.
    pub(super) fn visit_ref_as_non_null(&mut self) {
        let r = self.peek();
        self.b
            .ins()
            .trapz(r, vmctx::clif_trap(TrapCode::NullReference));
    }

    /// `br_on_null l`: branches with the operands below the reference when it is
    /// null; else continues with the reference.
    pub(super) fn visit_br_on_null(&mut self, depth: u32) {
        let r = self.pop();
        let (target, n) = self.branch_to(depth);
        self.s.args.clear();
        let start = self.s.stack.len() - n;
        self.s
            .args
            .extend(self.s.stack[start..].iter().map(|&v| BlockArg::Value(v)));
        let cont = self.b.create_block();
        self.b.ins().brif(r, cont, &[], target, &self.s.args);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
        self.push(r);
    }

    /// `br_on_non_null l`: branches with the reference (the label's last value)
    /// when it is not null; else continues without it.
    pub(super) fn visit_br_on_non_null(&mut self, depth: u32) {
        let r = self.pop();
        let (target, n) = self.branch_to(depth);
        self.s.args.clear();
        let start = self.s.stack.len() + 1 - n;
        self.s
            .args
            .extend(self.s.stack[start..].iter().map(|&v| BlockArg::Value(v)));
        self.s.args.push(BlockArg::Value(r));
        let cont = self.b.create_block();
        self.b.ins().brif(r, target, &self.s.args, cont, &[]);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
    }
}
