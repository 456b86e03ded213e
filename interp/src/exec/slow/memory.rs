//! Loads and stores on the slow path: every addressing form, on memory 0 of
//! either index type and on any other memory, with the bounds checks that
//! raise `out of bounds memory access`.

use kiln_parser::{LoadOp, StoreOp};
use kiln_runtime::{Store, Trap, TrapCode};

use super::Executor;
use crate::bytecode::Reg;
use crate::exec::memory::{load, store};

impl Executor<'_> {
    /// A load of `kind` from memory 0 at effective address `ea` into register `dst`.
    #[inline(always)]
    pub(super) fn load0(&mut self, kind: LoadOp, dst: Reg, ea: u64) -> Result<(), Trap> {
        let v = load(kind, self.mem0(), ea)?;
        self.set_wide(dst, v);
        Ok(())
    }

    /// A store of register `val` as `kind` to memory 0 at effective address `ea`.
    #[inline(always)]
    pub(super) fn store0(&mut self, kind: StoreOp, val: Reg, ea: u64) -> Result<(), Trap> {
        let v = self.wide(val);
        store(kind, self.mem0(), ea, v)?;
        Ok(())
    }

    /// Effective address of a memory-0 access at register `addr` plus `offset`,
    /// or the trap when it overflows a 64-bit memory's index type.
    #[inline(always)]
    pub(super) fn ea(&self, addr: Reg, offset: u32) -> Result<u64, Trap> {
        let ea = match self.ctx.frame.mem0 {
            Some((_, true)) => reg!(self.regs, addr).checked_add(u64::from(offset)),
            _ => Some(u64::from(reg!(self.regs, addr) as u32) + u64::from(offset)),
        };
        ea.ok_or_else(|| TrapCode::MemoryOutOfBounds.into())
    }

    /// Effective address `(addr + imm) mod 2^32` of a wrapped access.
    #[inline(always)]
    pub(super) fn wrapped(&self, addr: Reg, imm: u32) -> u64 {
        u64::from((reg!(self.regs, addr) as u32).wrapping_add(imm))
    }

    /// Effective address `(base + (index << shift)) mod 2^32` of a scaled access.
    #[inline(always)]
    pub(super) fn scaled(&self, base: Reg, index: Reg, shift: u8) -> u64 {
        let (base, index) = (reg!(self.regs, base), reg!(self.regs, index));
        u64::from((base as u32).wrapping_add((index as u32) << (shift & 31)))
    }

    /// A load of `kind` with memarg side-table entry `memarg` (any memory, any
    /// offset) at register `addr`, into register `dst`.
    #[inline(always)]
    pub(super) fn load_ext(
        &mut self,
        kind: LoadOp,
        dst: Reg,
        addr: Reg,
        memarg: u32,
    ) -> Result<(), Trap> {
        let (m, ea) = self.ext_address(memarg, addr)?;
        let v = load(kind, self.store.memories[m].data(), ea)?;
        self.set_wide(dst, v);
        Ok(())
    }

    /// A store of register `val` as `kind` with memarg side-table entry
    /// `memarg` at register `addr`.
    #[inline(always)]
    pub(super) fn store_ext(
        &mut self,
        kind: StoreOp,
        addr: Reg,
        val: Reg,
        memarg: u32,
    ) -> Result<(), Trap> {
        let (m, ea) = self.ext_address(memarg, addr)?;
        let val = self.wide(val);
        store(kind, self.store.memories[m].data_mut(), ea, val)?;
        Ok(())
    }

    /// Memory 0's bytes.
    #[inline(always)]
    fn mem0(&mut self) -> &mut [u8] {
        // SAFETY: `mem0` is memory 0's base and accessible length, taken after the last
        // operation that could grow it; bases never move (growth is in place), and
        // nothing else borrows the bytes while this slice lives.
        unsafe { std::slice::from_raw_parts_mut(self.mem0.0.as_ptr(), self.mem0.1) }
    }

    /// The store index of the memory of memarg side-table entry `memarg` of the
    /// running function, and the effective address of its access at register `addr`.
    #[inline(always)]
    pub(super) fn ext_address(&self, memarg: u32, addr: Reg) -> Result<(usize, u64), Trap> {
        let (mem, offset) = self.ctx.frame.func().memargs[memarg as usize];
        let inst = &self.store.instances[self.ctx.frame.instance.index()];
        let m = inst.memories[mem as usize].index();
        let ea = effective(self.store, m, reg!(self.regs, addr), offset)?;
        Ok((m, ea))
    }
}

/// Effective address of an access to store memory `m`.
fn effective(store: &Store, m: usize, addr: u64, offset: u64) -> Result<u64, Trap> {
    let addr = if store.memories[m].is_64() {
        addr
    } else {
        u64::from(addr as u32)
    };
    addr.checked_add(offset)
        .ok_or_else(|| TrapCode::MemoryOutOfBounds.into())
}
