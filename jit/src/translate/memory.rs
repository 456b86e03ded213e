//! Loads, stores, and the memory and table management instructions.
//!
//! A guarded memory (32-bit, with the runtime's guard region, and
//! `CompileOptions::memory_guard` on) needs no bounds check: the effective address
//! (the zero-extended operand plus the static offset, computed in 64 bits)
//! always lands inside the memory's reservation, and an access past the
//! accessible length faults on the inaccessible tail; the signal handler turns
//! the fault into `out of bounds memory access` (Cranelift records every
//! load and store as a trap site). Other memories (64-bit ones, or with guards
//! off) are checked explicitly: the end of the access is compared with the
//! memory's current length, and the access traps past it.
//!
//! Each memory's base and length live in the `MemoryDef` array the
//! `VmContext` points to. The base of a guarded memory never changes, so its
//! load may be hoisted and shared freely; lengths (and the bases of unguarded
//! memories) are reloaded after anything that may grow a memory (Cranelift's
//! alias analysis removes the repeats in between).
//!
//! Everything else (`memory.size/grow/fill/copy/init`, `data.drop`, and the
//! table instructions) goes through the `bulk` libcall, the runtime's shared
//! implementation, so both tiers agree on bounds, trap order and fuel.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Endianness, InstBuilder, MemFlagsData, Value, types};
use kiln_parser::{Instr, LoadOp, MemArg, StoreOp};
use kiln_runtime::TrapCode;
use kiln_runtime::ops::BulkOp;

use super::FuncState;
use crate::CompileError;
use crate::libcalls::Libcall;
use crate::vmctx;
use kiln_runtime::TierName;

impl FuncState<'_, '_> {
    /// Flags of linear-memory accesses: possibly unaligned, little-endian, disjoint
    /// from the `VmContext`, trapping (out of bounds) if they fault.
    pub(super) fn heap_flags(&self) -> MemFlagsData {
        MemFlagsData::new()
            .with_endianness(Endianness::Little)
            .with_alias_region(Some(self.heap_region))
            .with_trap_code(Some(vmctx::clif_trap(TrapCode::MemoryOutOfBounds)))
    }

    /// Address of memory `m`'s `MemoryDef`.
    fn memory_def(&mut self, m: u32) -> Value {
        let defs = self.load_vmctx_table(vmctx::MEMORIES_OFFSET);
        let offset = i64::from(m) * i64::from(vmctx::MEMORY_DEF_SIZE);
        if offset == 0 {
            defs
        } else {
            self.b.ins().iadd_imm_s(defs, offset)
        }
    }

    /// The current length in bytes of memory `m`.
    fn memory_len(&mut self, m: u32) -> Value {
        let def = self.memory_def(m);
        let flags = self.vmctx_flags();
        self.b
            .ins()
            .load(types::I64, flags, def, vmctx::MEMORY_DEF_LEN)
    }

    /// Pops an address and returns the native address of a `size`-byte access,
    /// checked explicitly unless the memory is guarded.
    pub(super) fn heap_addr(&mut self, memarg: &MemArg, size: u64) -> Result<Value, CompileError> {
        let m = memarg.memory.0;
        let info = self.env.memories[m as usize];
        let index = self.pop();
        let ea = if info.is64 {
            index
        } else {
            self.b.ins().uextend(types::I64, index)
        };
        let def = self.memory_def(m);
        if !info.guarded {
            // ea + offset + size, with overflow out of 64 bits as out of bounds.
            let extra = memarg.offset.checked_add(size);
            let len = self.memory_len(m);
            match extra {
                Some(extra) if extra <= i64::MAX as u64 => {
                    let extra = self.b.ins().iconst(types::I64, extra as i64);
                    let (end, carry) = self.b.ins().uadd_overflow(ea, extra);
                    let past = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
                    let oob = self.b.ins().bor(past, carry);
                    self.trap_if(oob, TrapCode::MemoryOutOfBounds);
                }
                // An offset plus width past 2^63: no memory is that long (its
                // reservation is part of the host's address space), so every
                // such access is out of bounds, whatever the address.
                _ => {
                    self.b
                        .ins()
                        .trap(vmctx::clif_trap(TrapCode::MemoryOutOfBounds));
                    // Keep building valid (dead) code after the trap.
                    let cont = self.b.create_block();
                    self.b.switch_to_block(cont);
                    self.b.seal_block(cont);
                }
            }
        }
        let flags = if info.guarded {
            self.vmctx_flags().with_readonly().with_can_move()
        } else {
            self.vmctx_flags()
        };
        let base = self
            .b
            .ins()
            .load(self.env.pointer(), flags, def, vmctx::MEMORY_DEF_BASE);
        let addr = self.b.ins().iadd(base, ea);
        Ok(if memarg.offset == 0 {
            addr
        } else if let Ok(offset) = i64::try_from(memarg.offset) {
            self.b.ins().iadd_imm_s(addr, offset)
        } else {
            // Only reachable after the explicit check above has trapped.
            addr
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
            V128Load | V128Load8x8S | V128Load8x8U | V128Load16x4S | V128Load16x4U
            | V128Load32x2S | V128Load32x2U | V128Load8Splat | V128Load16Splat
            | V128Load32Splat | V128Load64Splat | V128Load32Zero | V128Load64Zero => {
                return self.visit_v128_load(op, memarg);
            }
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
        let v = self.pop();
        let size = 1u64 << op.max_align();
        let addr = self.heap_addr(memarg, size)?;
        let f = self.heap_flags();
        let ins = self.b.ins();
        match op {
            I32Store8 | I64Store8 => ins.istore8(f, v, addr, 0),
            I32Store16 | I64Store16 => ins.istore16(f, v, addr, 0),
            I64Store32 => ins.istore32(f, v, addr, 0),
            // Every other store writes its whole value (`v128.store` an `I8X16`).
            _ => ins.store(f, v, addr, 0),
        };
        Ok(())
    }

    /// A memory or table management instruction: the `bulk` libcall with up to three
    /// operands, and its result when the instruction has one.
    pub(super) fn visit_bulk(&mut self, instr: &Instr) -> Result<(), CompileError> {
        let Some(op) = BulkOp::from_instr(instr) else {
            return Err(CompileError::unsupported(
                TierName::Jit,
                "this instruction".into(),
            ));
        };
        let result = self.bulk_result(op);
        let operands = op.operands();
        let start = self.s.stack.len() - operands;
        let mut args = [None; 3];
        for (slot, &v) in args.iter_mut().zip(&self.s.stack[start..]) {
            *slot = Some(v);
        }
        self.s.stack.truncate(start);
        let mut call_args = vec![self.vmctx];
        for imm in op.encode() {
            call_args.push(self.b.ins().iconst(types::I32, i64::from(imm)));
        }
        for a in args {
            let v = match a {
                // Operands go as i64; 32-bit ones zero-extended (the runtime reads the
                // low half of 32-bit operands).
                Some(v) if self.b.func.dfg.value_type(v) == types::I64 => v,
                Some(v) => self.b.ins().uextend(types::I64, v),
                None => self.b.ins().iconst(types::I64, 0),
            };
            call_args.push(v);
        }
        let bulk = self.libcall(
            Libcall::Bulk,
            &[
                types::I32,
                types::I32,
                types::I32,
                types::I64,
                types::I64,
                types::I64,
            ],
            &[types::I64],
        );
        let call = self.b.ins().call(bulk, &call_args);
        let out = self.b.func.dfg.first_result(call);
        // A bulk operation charges its dynamic cost from the context's fuel.
        self.reload_fuel();
        self.check_pending();
        if let Some(ty) = result {
            let v = if ty == types::I64 {
                out
            } else {
                self.b.ins().ireduce(ty, out)
            };
            self.push(v);
        }
        Ok(())
    }

    /// The type of `op`'s result, if it has one: an address in the memory's or the
    /// table's index type, or a reference (`table.get`).
    fn bulk_result(&self, op: BulkOp) -> Option<types::Type> {
        let index_ty = |is64: bool| if is64 { types::I64 } else { types::I32 };
        match op {
            _ if !op.has_result() => None,
            BulkOp::MemorySize { mem } | BulkOp::MemoryGrow { mem } => {
                Some(index_ty(self.env.memories[mem as usize].is64))
            }
            BulkOp::TableSize { table } | BulkOp::TableGrow { table } => {
                Some(index_ty(self.env.tables[table as usize].is64))
            }
            _ => Some(types::I32),
        }
    }
}
