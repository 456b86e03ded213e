//! Translation of memory and table instructions.

use kiln_parser::{Instr, LoadOp, MemArg, StoreOp};
use kiln_runtime::ops::BulkOp;

use super::Translator;
use crate::bytecode::{Op, Reg};

impl Translator {
    /// The 32-bit offset of a memory-0 access, or `None` if it needs the side table.
    fn short_offset(m: &MemArg) -> Option<u32> {
        if m.memory.0 == 0 {
            u32::try_from(m.offset).ok()
        } else {
            None
        }
    }

    pub(super) fn memarg_entry(&mut self, m: &MemArg) -> u32 {
        self.memargs.push((m.memory.0, m.offset));
        self.memargs.len() as u32 - 1
    }

    /// For an access with offset 0 to memory 0 whose address (stack position
    /// `pos`) the last op computed as `a + imm` or `base + (index << shift)` on
    /// 32 bits: removes that op and returns the address in that form, for the
    /// wrapped and scaled accesses. (Folding `imm` into the offset instead would
    /// be wrong: the offset is added without wrapping.)
    fn fused_address(&mut self, m: &MemArg, pos: u32) -> Option<FusedAddress> {
        if m.memory.0 != 0 || m.offset != 0 || self.lazy_at(pos).is_some() {
            return None;
        }
        let fused = match self.last_rewritable()? {
            Op::I32AddImm { dst, a, imm } if dst == self.reg(pos) => FusedAddress::Wrapped(a, imm),
            Op::I32AddShl { dst, a, b, shift } if dst == self.reg(pos) => {
                FusedAddress::Scaled(a, b, shift)
            }
            _ => return None,
        };
        self.code.pop();
        Some(fused)
    }

    /// Pops `n` operands and returns the register of the first.
    pub(super) fn pop_args(&mut self, n: u32) -> u32 {
        self.h -= n;
        self.reg(self.h)
    }

    pub(super) fn memory(&mut self, instr: &Instr) {
        match instr {
            Instr::Load(kind, m) => {
                let dst = self.reg(self.h - 1);
                if let Some(fused) = self.fused_address(m, self.h - 1) {
                    self.emit(fused.load(*kind, dst));
                    return;
                }
                let addr = self.operand(self.h - 1);
                let op = match Self::short_offset(m) {
                    Some(offset) => Op::Load {
                        kind: *kind,
                        dst,
                        addr,
                        offset,
                    },
                    None => Op::LoadExt {
                        kind: *kind,
                        dst,
                        addr,
                        memarg: self.memarg_entry(m),
                    },
                };
                self.emit(op);
            }
            Instr::Store(kind, m) => {
                self.h -= 2;
                let val = self.operand(self.h + 1);
                if let Some(fused) = self.fused_address(m, self.h) {
                    self.emit(fused.store(*kind, val));
                    return;
                }
                let addr = self.operand(self.h);
                let op = match Self::short_offset(m) {
                    Some(offset) => Op::Store {
                        kind: *kind,
                        addr,
                        val,
                        offset,
                    },
                    None => Op::StoreExt {
                        kind: *kind,
                        addr,
                        val,
                        memarg: self.memarg_entry(m),
                    },
                };
                self.emit(op);
            }
            other => match BulkOp::from_instr(other) {
                // Its operands, and its result if it has one, start at the first
                // operand's register.
                Some(op) => {
                    let at = self.pop_args(op.operands() as u32);
                    self.emit(Op::from_bulk(at, op));
                    if op.has_result() {
                        self.h += 1;
                    }
                }
                // `Translator::instr` sends only memory and table
                // instructions here.
                None => {
                    self.emit(Op::Unreachable);
                }
            },
        }
    }
}

/// An address computation an access with offset 0 absorbs.
#[derive(Clone, Copy)]
enum FusedAddress {
    /// `(a + imm) mod 2^32`.
    Wrapped(Reg, u32),
    /// `(base + (index << shift)) mod 2^32`.
    Scaled(Reg, Reg, u8),
}

impl FusedAddress {
    /// A load of `kind` into `dst` at this address.
    fn load(self, kind: LoadOp, dst: Reg) -> Op {
        match self {
            FusedAddress::Wrapped(addr, imm) => Op::LoadWrapped {
                kind,
                dst,
                addr,
                imm,
            },
            FusedAddress::Scaled(base, index, shift) => Op::LoadScaled {
                kind,
                shift,
                dst,
                base,
                index,
            },
        }
    }

    /// A store of `kind` of `val` at this address.
    fn store(self, kind: StoreOp, val: Reg) -> Op {
        match self {
            FusedAddress::Wrapped(addr, imm) => Op::StoreWrapped {
                kind,
                addr,
                val,
                imm,
            },
            FusedAddress::Scaled(base, index, shift) => Op::StoreScaled {
                kind,
                shift,
                base,
                index,
                val,
            },
        }
    }
}
