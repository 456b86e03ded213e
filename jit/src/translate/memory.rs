//! Loads, stores, `memory.size` and `memory.grow` on memory 0.
//!
//! Every access is bounds-checked explicitly in this slice: the effective
//! address (the zero-extended 32-bit operand plus the static offset, computed
//! in 64 bits so it cannot wrap) plus the access size is compared with
//! `VmContext::memory_len`, and the access traps with `out of bounds memory
//! access` past it. Both `memory_base` and `memory_len` are reloaded from the
//! `VmContext` at each access (Cranelift's alias analysis removes the repeats
//! between calls), because a call or `memory.grow` may change them.
//!
//! Guard pages would make the check unnecessary for 32-bit memories (the
//! runtime already reserves 8 GiB per memory for that), but an access that
//! faults needs a signal handler to become a trap; that is the next step.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    AbiParam, Endianness, ExtFuncData, ExternalName, FuncRef, InstBuilder, MemFlagsData, Signature,
    UserExternalName, Value, types,
};
use kiln_parser::{LoadOp, MemArg, StoreOp};
use kiln_runtime::TrapCode;

use super::{FuncState, LIBCALL_NAMESPACE};
use crate::CompileError;
use crate::libcalls::Libcall;
use crate::vmctx;

impl FuncState<'_, '_> {
    /// Flags of linear-memory accesses: checked beforehand (no trap), possibly
    /// unaligned, little-endian, and disjoint from the `VmContext`.
    fn heap_flags(&self) -> MemFlagsData {
        MemFlagsData::new()
            .with_notrap()
            .with_endianness(Endianness::Little)
            .with_alias_region(Some(self.heap_region))
    }

    /// Pops an address and returns the native address of a checked `size`-byte access.
    fn heap_addr(&mut self, memarg: &MemArg, size: u64) -> Result<Value, CompileError> {
        if memarg.memory.0 != 0 {
            return Err(CompileError::Unsupported("multi-memory".into()));
        }
        let index = self.pop();
        let ea = self.b.ins().uextend(types::I64, index);
        // offset < 2^32 for 32-bit memories, so offset + size cannot overflow and
        // ea + offset + size < 2^33.
        let end = self
            .b
            .ins()
            .iadd_imm_s(ea, memarg.offset.wrapping_add(size) as i64);
        let flags = self.vmctx_flags();
        let len = self
            .b
            .ins()
            .load(types::I64, flags, self.vmctx, vmctx::MEMORY_LEN_OFFSET);
        let oob = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
        self.trap_if(oob, TrapCode::MemoryOutOfBounds);
        let base = self.b.ins().load(
            self.env.pointer(),
            flags,
            self.vmctx,
            vmctx::MEMORY_BASE_OFFSET,
        );
        let addr = self.b.ins().iadd(base, ea);
        Ok(if memarg.offset == 0 {
            addr
        } else {
            self.b.ins().iadd_imm_s(addr, memarg.offset as i64)
        })
    }

    pub(super) fn visit_load(&mut self, op: LoadOp, memarg: &MemArg) -> Result<(), CompileError> {
        use LoadOp::*;
        use types::{F32, F64, I32, I64};
        let ty = match op {
            I32Load | I32Load8S | I32Load8U | I32Load16S | I32Load16U => I32,
            I64Load | I64Load8S | I64Load8U | I64Load16S | I64Load16U | I64Load32S | I64Load32U => {
                I64
            }
            F32Load => F32,
            F64Load => F64,
            _ => return Err(CompileError::Unsupported("SIMD".into())),
        };
        let size = 1u64 << op.max_align();
        let addr = self.heap_addr(memarg, size)?;
        let f = self.heap_flags();
        let ins = self.b.ins();
        let v = match op {
            I32Load8S | I64Load8S => ins.sload8(ty, f, addr, 0),
            I32Load8U | I64Load8U => ins.uload8(ty, f, addr, 0),
            I32Load16S | I64Load16S => ins.sload16(ty, f, addr, 0),
            I32Load16U | I64Load16U => ins.uload16(ty, f, addr, 0),
            I64Load32S => ins.sload32(f, addr, 0),
            I64Load32U => ins.uload32(f, addr, 0),
            _ => ins.load(ty, f, addr, 0),
        };
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_store(&mut self, op: StoreOp, memarg: &MemArg) -> Result<(), CompileError> {
        use StoreOp::*;
        if op == V128Store {
            return Err(CompileError::Unsupported("SIMD".into()));
        }
        let v = self.pop();
        let size = 1u64 << op.max_align();
        let addr = self.heap_addr(memarg, size)?;
        let f = self.heap_flags();
        let ins = self.b.ins();
        match op {
            I32Store8 | I64Store8 => ins.istore8(f, v, addr, 0),
            I32Store16 | I64Store16 => ins.istore16(f, v, addr, 0),
            I64Store32 => ins.istore32(f, v, addr, 0),
            _ => ins.store(f, v, addr, 0),
        };
        Ok(())
    }

    /// `memory.size`: the accessible length in pages.
    pub(super) fn visit_memory_size(&mut self, m: u32) -> Result<(), CompileError> {
        if m != 0 {
            return Err(CompileError::Unsupported("multi-memory".into()));
        }
        let flags = self.vmctx_flags();
        let len = self
            .b
            .ins()
            .load(types::I64, flags, self.vmctx, vmctx::MEMORY_LEN_OFFSET);
        let pages = self.b.ins().ushr_imm_u(len, 16);
        let pages = self.b.ins().ireduce(types::I32, pages);
        self.push(pages);
        Ok(())
    }

    /// `memory.grow`: a call into Rust ([`crate::libcalls`]), which also refreshes
    /// the `VmContext`'s base and length.
    pub(super) fn visit_memory_grow(&mut self, m: u32) -> Result<(), CompileError> {
        if m != 0 {
            return Err(CompileError::Unsupported("multi-memory".into()));
        }
        let grow = self.grow_libcall();
        let delta = self.pop();
        let call = self.b.ins().call(grow, &[self.vmctx, delta]);
        let old = self.b.func.dfg.first_result(call);
        self.push(old);
        Ok(())
    }

    /// Imports the `memory.grow` libcall (once per function).
    fn grow_libcall(&mut self) -> FuncRef {
        if let Some(f) = self.grow {
            return f;
        }
        let mut sig = Signature::new(self.env.call_conv);
        sig.params.push(AbiParam::new(self.env.pointer()));
        sig.params.push(AbiParam::new(types::I32));
        sig.returns.push(AbiParam::new(types::I32));
        let sig = self.b.import_signature(sig);
        let name = self
            .b
            .func
            .declare_imported_user_function(UserExternalName::new(
                LIBCALL_NAMESPACE,
                Libcall::MemoryGrow as u32,
            ));
        let f = self.b.import_function(ExtFuncData {
            name: ExternalName::user(name),
            signature: sig,
            colocated: false,
            patchable: false,
        });
        self.grow = Some(f);
        f
    }
}
