//! Memory and table management instructions: sizes, growth and bulk operations.

use std::sync::Arc;

use kiln_parser::IndexType;
use kiln_runtime::fuel::{DynamicCost, dynamic_cost};
use kiln_runtime::{RawRef, Store, Trap, TrapCode, table};

use super::memory::range;
use super::{Frame, charge};
use crate::bytecode::Op;

/// Reads an index-typed operand: 32-bit operands are zero-extended from the slot's low half.
fn index(slot: u64, is64: bool) -> u64 {
    if is64 { slot } else { u64::from(slot as u32) }
}

/// The "-1" that a failed `grow` returns, in the index type.
fn minus_one(is64: bool) -> u64 {
    if is64 { u64::MAX } else { u64::from(u32::MAX) }
}

/// Runs one of the less frequent instructions.
pub(super) fn execute(
    store: &mut Store,
    frame: &Frame,
    stack: &mut [u64],
    base: usize,
    op: Op,
    metered: bool,
) -> Result<(), Trap> {
    let inst = frame.instance.index();
    let mem = |store: &Store, m: u32| store.instances[inst].memories[m as usize].index();
    let tab = |store: &Store, t: u32| store.instances[inst].tables[t as usize].index();
    let reg = |r: u32| base + r as usize;
    match op {
        Op::MemorySize { dst, mem: m } => {
            let m = mem(store, m);
            stack[reg(dst)] = store.memories[m].pages();
        }
        Op::MemoryGrow { dst, mem: m } => {
            let m = mem(store, m);
            let is64 = store.memories[m].is_64();
            let delta = index(stack[reg(dst)], is64);
            charge(store, metered, dynamic_cost(DynamicCost::Pages, delta))?;
            stack[reg(dst)] = store.memories[m].grow(delta).unwrap_or(minus_one(is64));
        }
        Op::MemoryFill { args, mem: m } => {
            let m = mem(store, m);
            let is64 = store.memories[m].is_64();
            let (d, v, n) = (stack[reg(args)], stack[reg(args) + 1], stack[reg(args) + 2]);
            let (d, n) = (index(d, is64), index(n, is64));
            charge(store, metered, dynamic_cost(DynamicCost::Bytes, n))?;
            let bytes = store.memories[m].data_mut();
            let r = range(d, n, bytes.len())?;
            bytes[r].fill(v as u8);
        }
        Op::MemoryCopy { args, dst, src } => {
            let (dm, sm) = (mem(store, dst), mem(store, src));
            let (d64, s64) = (store.memories[dm].is_64(), store.memories[sm].is_64());
            let d = index(stack[reg(args)], d64);
            let s = index(stack[reg(args) + 1], s64);
            let n = index(stack[reg(args) + 2], d64 && s64);
            charge(store, metered, dynamic_cost(DynamicCost::Bytes, n))?;
            if dm == sm {
                let bytes = store.memories[dm].data_mut();
                let (dr, sr) = (range(d, n, bytes.len())?, range(s, n, bytes.len())?);
                bytes.copy_within(sr, dr.start);
            } else {
                let sr = range(s, n, store.memories[sm].data().len())?;
                let dr = range(d, n, store.memories[dm].data().len())?;
                let tmp = store.memories[sm].data()[sr].to_vec();
                store.memories[dm].data_mut()[dr].copy_from_slice(&tmp);
            }
        }
        Op::MemoryInit { args, mem: m, data } => {
            let m = mem(store, m);
            let is64 = store.memories[m].is_64();
            let d = index(stack[reg(args)], is64);
            let s = u64::from(stack[reg(args) + 1] as u32);
            let n = u64::from(stack[reg(args) + 2] as u32);
            charge(store, metered, dynamic_cost(DynamicCost::Bytes, n))?;
            let seg = store.instances[inst].datas[data as usize].index();
            let src = Arc::clone(&store.datas[seg].bytes);
            let sr = range(s, n, src.len())?;
            let bytes = store.memories[m].data_mut();
            let dr = range(d, n, bytes.len())?;
            bytes[dr].copy_from_slice(&src[sr]);
        }
        Op::DataDrop { data } => {
            let seg = store.instances[inst].datas[data as usize].index();
            store.datas[seg].bytes = Arc::from([]);
        }
        Op::TableGet { dst, table: t } => {
            let t = tab(store, t);
            let is64 = store.tables[t].ty().index == IndexType::I64;
            let i = index(stack[reg(dst)], is64);
            stack[reg(dst)] = u64::from(store.tables[t].get(i)?.0);
        }
        Op::TableSet { args, table: t } => {
            let t = tab(store, t);
            let is64 = store.tables[t].ty().index == IndexType::I64;
            let i = index(stack[reg(args)], is64);
            let v = RawRef(stack[reg(args) + 1] as u32);
            store.tables[t].set(i, v)?;
        }
        Op::TableSize { dst, table: t } => {
            let t = tab(store, t);
            stack[reg(dst)] = store.tables[t].size();
        }
        Op::TableGrow { args, table: t } => {
            let t = tab(store, t);
            let is64 = store.tables[t].ty().index == IndexType::I64;
            let init = RawRef(stack[reg(args)] as u32);
            let n = index(stack[reg(args) + 1], is64);
            charge(store, metered, dynamic_cost(DynamicCost::Elements, n))?;
            stack[reg(args)] = store.tables[t].grow(n, init).unwrap_or(minus_one(is64));
        }
        Op::TableFill { args, table: t } => {
            let t = tab(store, t);
            let is64 = store.tables[t].ty().index == IndexType::I64;
            let i = index(stack[reg(args)], is64);
            let v = RawRef(stack[reg(args) + 1] as u32);
            let n = index(stack[reg(args) + 2], is64);
            charge(store, metered, dynamic_cost(DynamicCost::Elements, n))?;
            store.tables[t].fill(i, v, n)?;
        }
        Op::TableCopy { args, dst, src } => {
            let (dt, st) = (tab(store, dst), tab(store, src));
            let d64 = store.tables[dt].ty().index == IndexType::I64;
            let s64 = store.tables[st].ty().index == IndexType::I64;
            let d = index(stack[reg(args)], d64);
            let s = index(stack[reg(args) + 1], s64);
            let n = index(stack[reg(args) + 2], d64 && s64);
            charge(store, metered, dynamic_cost(DynamicCost::Elements, n))?;
            if dt == st {
                store.tables[dt].copy_within(d, s, n)?;
            } else {
                let sr = table::range(s, n, store.tables[st].size())?;
                let items = store.tables[st].elems()[sr].to_vec();
                store.tables[dt].init(d, &items)?;
            }
        }
        Op::TableInit {
            args,
            table: t,
            elem,
        } => {
            let t = tab(store, t);
            let is64 = store.tables[t].ty().index == IndexType::I64;
            let d = index(stack[reg(args)], is64);
            let s = u64::from(stack[reg(args) + 1] as u32);
            let n = u64::from(stack[reg(args) + 2] as u32);
            charge(store, metered, dynamic_cost(DynamicCost::Elements, n))?;
            let seg = store.instances[inst].elems[elem as usize].index();
            let sr = table::range(s, n, store.elems[seg].items.len() as u64)?;
            let items = &store.elems[seg].items[sr];
            store.tables[t].init(d, items)?;
        }
        Op::ElemDrop { elem } => {
            let seg = store.instances[inst].elems[elem as usize].index();
            store.elems[seg].items = Box::default();
        }
        _ => return Err(TrapCode::Unreachable.into()),
    }
    Ok(())
}
