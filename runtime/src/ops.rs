//! The memory and table management instructions, executed on the store: one
//! implementation both tiers call (the interpreter from its executor, the JIT
//! from a libcall), so sizes, growth, bulk operations, their bounds checks,
//! their trap order and their dynamic fuel are the same everywhere.
//!
//! Operands are passed as `u64`s the way both tiers hold them: a 32-bit index
//! operand in the low half (the high half is ignored), a 64-bit one whole, a
//! reference as its [`RawRef`] bits. [`execute`] returns the instruction's
//! result (0 for instructions without one). The operations themselves, and
//! which instruction is which, are [`BulkOp`]'s (`bulk_op.rs`).

use std::sync::Arc;

use kiln_parser::IndexType;

use crate::PAGE_SIZE;
pub use crate::bulk_op::BulkOp;
use crate::fuel::{DynamicCost, dynamic_cost};
use crate::store::{InstanceAddr, Store};
use crate::table;
use crate::trap::{Trap, TrapCode};
use crate::value::RawRef;

/// Reads an index-typed operand: 32-bit operands are zero-extended from the low half.
fn index(operand: u64, is64: bool) -> u64 {
    if is64 {
        operand
    } else {
        u64::from(operand as u32)
    }
}

/// The "-1" that a failed `grow` returns, in the index type.
fn minus_one(is64: bool) -> u64 {
    if is64 { u64::MAX } else { u64::from(u32::MAX) }
}

/// The byte range `[start, start + n)` of a memory or segment of `len` bytes, or
/// `out of bounds memory access`.
pub fn byte_range(start: u64, n: u64, len: usize) -> Result<std::ops::Range<usize>, TrapCode> {
    match start.checked_add(n) {
        Some(end) if end <= len as u64 => Ok(start as usize..end as usize),
        _ => Err(TrapCode::MemoryOutOfBounds),
    }
}

/// Charges `units` of dynamic fuel when `metered`. If less is left, a
/// resumable call waits for the host to add fuel
/// ([`crate::resumable::wait_for_fuel`]; the caller must then take again what it
/// caches from the store); anywhere else it is `out of fuel`, and no charge.
pub fn charge(store: &mut Store, metered: bool, units: u64) -> Result<(), Trap> {
    if metered {
        crate::resumable::wait_for_fuel(store, units)?;
        store.fuel -= units;
    }
    Ok(())
}

/// Grows store memory `m` by `delta` pages if the store's limiter agrees
/// (see [`crate::limiter`]): its old size in pages, or `None` if it cannot grow
/// that far or the limiter denies it.
///
/// # Errors
///
/// The limiter's trap.
pub fn grow_memory(store: &mut Store, m: usize, delta: u64) -> Result<Option<u64>, Trap> {
    let mem = &store.memories[m];
    let current = mem.pages() * PAGE_SIZE;
    let maximum = mem.ty().limits.max.map(|p| p.saturating_mul(PAGE_SIZE));
    let desired = delta
        .checked_mul(PAGE_SIZE)
        .and_then(|d| d.checked_add(current));
    if let Some(desired) = desired
        && delta > 0
        && !store.limiter.memory_growing(current, desired, maximum)?
    {
        return Ok(None);
    }
    Ok(store.memories[m].grow(delta))
}

/// Grows store table `t` by `delta` elements of `init` if the store's limiter
/// agrees: its old size, or `None`.
///
/// # Errors
///
/// The limiter's trap.
pub fn grow_table(
    store: &mut Store,
    t: usize,
    delta: u64,
    init: RawRef,
) -> Result<Option<u64>, Trap> {
    let table = &store.tables[t];
    let current = table.size();
    let maximum = table.ty().limits.max;
    if let Some(desired) = current.checked_add(delta)
        && delta > 0
        && !store.limiter.table_growing(current, desired, maximum)?
    {
        return Ok(None);
    }
    Ok(store.tables[t].grow(delta, init))
}

/// Executes `op` for `instance` with operands `args` (unused ones are ignored),
/// charging its dynamic fuel first when `metered`.
///
/// # Errors
///
/// The instruction's trap: out-of-bounds accesses, or `out of fuel`.
pub fn execute(
    store: &mut Store,
    instance: InstanceAddr,
    op: BulkOp,
    args: [u64; 3],
    metered: bool,
) -> Result<u64, Trap> {
    let inst = instance.index();
    let mem = |store: &Store, m: u32| store.instances[inst].memories[m as usize].index();
    let tab = |store: &Store, t: u32| store.instances[inst].tables[t as usize].index();
    let table64 = |store: &Store, t: usize| store.tables[t].ty().index == IndexType::I64;
    let [a, b, c] = args;
    match op {
        BulkOp::MemorySize { mem: m } => {
            let m = mem(store, m);
            Ok(store.memories[m].pages())
        }
        BulkOp::MemoryGrow { mem: m } => {
            let m = mem(store, m);
            let is64 = store.memories[m].is_64();
            let delta = index(a, is64);
            charge(store, metered, dynamic_cost(DynamicCost::Pages, delta))?;
            Ok(grow_memory(store, m, delta)?.unwrap_or(minus_one(is64)))
        }
        BulkOp::MemoryFill { mem: m } => {
            let m = mem(store, m);
            let is64 = store.memories[m].is_64();
            let (d, n) = (index(a, is64), index(c, is64));
            charge(store, metered, dynamic_cost(DynamicCost::Bytes, n))?;
            let bytes = store.memories[m].data_mut();
            let r = byte_range(d, n, bytes.len())?;
            bytes[r].fill(b as u8);
            Ok(0)
        }
        BulkOp::MemoryCopy { dst, src } => {
            let (dm, sm) = (mem(store, dst), mem(store, src));
            let (d64, s64) = (store.memories[dm].is_64(), store.memories[sm].is_64());
            let (d, s, n) = (index(a, d64), index(b, s64), index(c, d64 && s64));
            charge(store, metered, dynamic_cost(DynamicCost::Bytes, n))?;
            if dm == sm {
                let bytes = store.memories[dm].data_mut();
                let (dr, sr) = (
                    byte_range(d, n, bytes.len())?,
                    byte_range(s, n, bytes.len())?,
                );
                bytes.copy_within(sr, dr.start);
            } else {
                let sr = byte_range(s, n, store.memories[sm].data().len())?;
                let dr = byte_range(d, n, store.memories[dm].data().len())?;
                // Two memories of the store: copied directly, with no buffer of
                // `n` bytes (which may be gigabytes) in between.
                let Ok([to, from]) = store.memories.get_disjoint_mut([dm, sm]) else {
                    unreachable!("distinct memories of the store");
                };
                to.data_mut()[dr].copy_from_slice(&from.data()[sr]);
            }
            Ok(0)
        }
        BulkOp::MemoryInit { mem: m, data } => {
            let m = mem(store, m);
            let is64 = store.memories[m].is_64();
            let (d, s, n) = (index(a, is64), u64::from(b as u32), u64::from(c as u32));
            charge(store, metered, dynamic_cost(DynamicCost::Bytes, n))?;
            let seg = store.instances[inst].datas[data as usize].index();
            let src = Arc::clone(&store.datas[seg].bytes);
            let sr = byte_range(s, n, src.len())?;
            let bytes = store.memories[m].data_mut();
            let dr = byte_range(d, n, bytes.len())?;
            bytes[dr].copy_from_slice(&src[sr]);
            Ok(0)
        }
        BulkOp::DataDrop { data } => {
            let seg = store.instances[inst].datas[data as usize].index();
            store.datas[seg].bytes = Arc::from([]);
            Ok(0)
        }
        BulkOp::TableGet { table: t } => {
            let t = tab(store, t);
            let i = index(a, table64(store, t));
            Ok(u64::from(store.tables[t].get(i)?.0))
        }
        BulkOp::TableSet { table: t } => {
            let t = tab(store, t);
            let i = index(a, table64(store, t));
            store.tables[t].set(i, RawRef(b as u32))?;
            Ok(0)
        }
        BulkOp::TableSize { table: t } => {
            let t = tab(store, t);
            Ok(store.tables[t].size())
        }
        BulkOp::TableGrow { table: t } => {
            let t = tab(store, t);
            let is64 = table64(store, t);
            let n = index(b, is64);
            charge(store, metered, dynamic_cost(DynamicCost::Elements, n))?;
            Ok(grow_table(store, t, n, RawRef(a as u32))?.unwrap_or(minus_one(is64)))
        }
        BulkOp::TableFill { table: t } => {
            let t = tab(store, t);
            let is64 = table64(store, t);
            let (i, n) = (index(a, is64), index(c, is64));
            charge(store, metered, dynamic_cost(DynamicCost::Elements, n))?;
            store.tables[t].fill(i, RawRef(b as u32), n)?;
            Ok(0)
        }
        BulkOp::TableCopy { dst, src } => {
            let (dt, st) = (tab(store, dst), tab(store, src));
            let (d64, s64) = (table64(store, dt), table64(store, st));
            let (d, s, n) = (index(a, d64), index(b, s64), index(c, d64 && s64));
            charge(store, metered, dynamic_cost(DynamicCost::Elements, n))?;
            if dt == st {
                store.tables[dt].copy_within(d, s, n)?;
            } else {
                let sr = table::range(s, n, store.tables[st].size())?;
                let items = store.tables[st].elems()[sr].to_vec();
                store.tables[dt].init(d, &items)?;
            }
            Ok(0)
        }
        BulkOp::TableInit { table: t, elem } => {
            let t = tab(store, t);
            let is64 = table64(store, t);
            let (d, s, n) = (index(a, is64), u64::from(b as u32), u64::from(c as u32));
            charge(store, metered, dynamic_cost(DynamicCost::Elements, n))?;
            let seg = store.instances[inst].elems[elem as usize].index();
            let sr = table::range(s, n, store.elems[seg].items.len() as u64)?;
            let items = &store.elems[seg].items[sr];
            store.tables[t].init(d, items)?;
            Ok(0)
        }
        BulkOp::ElemDrop { elem } => {
            let seg = store.instances[inst].elems[elem as usize].index();
            store.elems[seg].items = Box::default();
            Ok(0)
        }
    }
}
