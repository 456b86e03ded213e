//! Instantiation in the spec's order: match imports, allocate the module's
//! functions, tables, memories and globals, evaluate segments, write the
//! active ones, and hand back the start function for a tier to run.

use std::any::Any;
use std::sync::Arc;

use kiln_parser::{
    ConstExpr, DataMode, ElemItems, ElemMode, ExternKind, ImportKind, Instr, Limits, Module, NumOp,
};

use crate::memory::LinearMemory;
use crate::store::{
    DataAddr, DataInstance, ElemAddr, ElemInstance, Extern, FuncEntity, GlobalAddr, GlobalEntity,
    InstanceAddr, InstanceData, MemAddr, Store, TableAddr, store_ref_type, store_val_type,
};
use crate::table::Table;
use crate::trap::{Trap, TrapCode};
use crate::value::{FuncAddr, RawRef};

/// Why a module could not be instantiated.
#[derive(Debug, Clone, PartialEq)]
pub enum InstantiationError {
    /// An import is missing or of the wrong type (the spec's "unlinkable").
    Unlinkable(String),
    /// A memory or table could not be created within the limits.
    Resource(String),
    /// Writing a segment trapped (the spec's "uninstantiable"); earlier writes remain.
    Trap(Trap),
}

impl std::fmt::Display for InstantiationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstantiationError::Unlinkable(m) | InstantiationError::Resource(m) => f.write_str(m),
            InstantiationError::Trap(t) => t.fmt(f),
        }
    }
}

impl std::error::Error for InstantiationError {}

fn unlinkable(m: &str, i: &kiln_parser::Import) -> InstantiationError {
    InstantiationError::Unlinkable(format!("{m}: {}::{}", i.module, i.name))
}

/// Whether limits `actual` (of what is provided) fit the import's limits `expected`.
fn limits_match(actual: Limits, expected: Limits) -> bool {
    actual.min >= expected.min
        && match expected.max {
            None => true,
            Some(emax) => actual.max.is_some_and(|amax| amax <= emax),
        }
}

/// Instantiates `module` (already validated) in `store` with `imports` in the
/// order of its import section. `code` is the tier's compiled module.
///
/// Returns the instance and its start function, which the caller must run.
///
/// # Errors
///
/// See [`InstantiationError`].
pub fn instantiate(
    store: &mut Store,
    module: &Module,
    imports: &[Extern],
    code: Arc<dyn Any + Send + Sync>,
) -> Result<(InstanceAddr, Option<FuncAddr>), InstantiationError> {
    if imports.len() != module.imports.len() {
        return Err(InstantiationError::Unlinkable(format!(
            "expected {} imports, found {}",
            module.imports.len(),
            imports.len()
        )));
    }
    let sigs = store.intern_module_types(module);
    let addr = InstanceAddr(store.instances.len() as u32);
    let mut inst = InstanceData {
        funcs: Vec::with_capacity(module.num_funcs()),
        tables: Vec::new(),
        memories: Vec::new(),
        globals: Vec::new(),
        elems: Vec::new(),
        datas: Vec::new(),
        tags: Vec::new(),
        sigs,
        exports: Default::default(),
        code,
    };
    resolve_imports(store, module, imports, &mut inst)?;
    check_limiter(store, module)?;
    allocate_definitions(store, module, addr, &mut inst)?;
    allocate_segments(store, module, &mut inst).map_err(InstantiationError::Trap)?;
    export(module, &mut inst);
    let start = module.start.map(|f| inst.funcs[f.index()]);
    store.instances.push(inst);
    // Active and declared segments are applied in order, then dropped.
    init_tables(store, module, addr)?;
    init_memories(store, module, addr)?;
    Ok((addr, start))
}

/// Checks each of `imports` against the type the module imports it as, and
/// adds it to the instance's index spaces.
fn resolve_imports(
    store: &Store,
    module: &Module,
    imports: &[Extern],
    inst: &mut InstanceData,
) -> Result<(), InstantiationError> {
    for (imp, ext) in module.imports.iter().zip(imports) {
        match (imp.kind, *ext) {
            (ImportKind::Func(t), Extern::Func(f)) => {
                if !store.sig_matches(store.funcs[f.index()].sig(), inst.sigs[t.index()]) {
                    return Err(unlinkable("incompatible import type", imp));
                }
                inst.funcs.push(f);
            }
            (ImportKind::Table(ty), Extern::Table(t)) => {
                let table = &store.tables[t.index()];
                let actual = Limits {
                    min: table.size(),
                    max: table.ty().limits.max,
                };
                let element = store_ref_type(&inst.sigs, ty.element);
                if !(store.ref_matches(table.element(), element)
                    && store.ref_matches(element, table.element()))
                    || table.ty().index != ty.index
                    || !limits_match(actual, ty.limits)
                {
                    return Err(unlinkable("incompatible import type", imp));
                }
                inst.tables.push(t);
            }
            (ImportKind::Memory(ty), Extern::Memory(m)) => {
                let mem = &store.memories[m.index()];
                let actual = Limits {
                    min: mem.pages(),
                    max: mem.ty().limits.max,
                };
                if mem.ty().index != ty.index || !limits_match(actual, ty.limits) {
                    return Err(unlinkable("incompatible import type", imp));
                }
                inst.memories.push(m);
            }
            (ImportKind::Global(ty), Extern::Global(g)) => {
                let actual = store.globals[g.index()].ty;
                let expected = store_val_type(&inst.sigs, ty.content);
                let fits = store.val_matches(actual.content, expected)
                    && (!ty.mutable || store.val_matches(expected, actual.content));
                if actual.mutable != ty.mutable || !fits {
                    return Err(unlinkable("incompatible import type", imp));
                }
                inst.globals.push(g);
            }
            (ImportKind::Tag(t), Extern::Tag(tag)) => {
                if store.tags[tag.index()].sig != inst.sigs[t.index()] {
                    return Err(unlinkable("incompatible import type", imp));
                }
                inst.tags.push(tag);
            }
            _ => return Err(unlinkable("incompatible import type", imp)),
        }
    }
    Ok(())
}

/// Allocates the module's own functions, tables, memories and globals (in
/// that order, after the imports), evaluating the globals' initialisers.
fn allocate_definitions(
    store: &mut Store,
    module: &Module,
    addr: InstanceAddr,
    inst: &mut InstanceData,
) -> Result<(), InstantiationError> {
    for (i, &t) in module.funcs.iter().enumerate() {
        store.funcs.push(FuncEntity::Wasm {
            instance: addr,
            def_index: i as u32,
            sig: inst.sigs[t.index()],
        });
        inst.funcs.push(FuncAddr(store.funcs.len() as u32 - 1));
    }
    for t in &module.tables {
        let mut ty = t.ty;
        ty.element = store_ref_type(&inst.sigs, ty.element);
        let init = t
            .init
            .as_ref()
            .map_or(Ok(0), |e| eval_const_alloc(store, inst, e))
            .map(|bits| RawRef(bits as u32))
            .map_err(InstantiationError::Trap)?;
        let table = Table::new(ty, init, store.limits.max_table_elements).ok_or_else(|| {
            InstantiationError::Resource("table exceeds the configured limit".into())
        })?;
        store.tables.push(table);
        inst.tables.push(TableAddr(store.tables.len() as u32 - 1));
    }
    for ty in &module.memories {
        let mem = LinearMemory::new(*ty, &store.limits.memory)
            .map_err(|e| InstantiationError::Resource(e.to_string()))?;
        store.memories.push(mem);
        inst.memories.push(MemAddr(store.memories.len() as u32 - 1));
    }
    for &t in &module.tags {
        let tag = store.add_tag(inst.sigs[t.index()]);
        inst.tags.push(tag);
    }
    for g in &module.globals {
        let bits = eval_const_alloc(store, inst, &g.init).map_err(InstantiationError::Trap)?;
        let mut ty = g.ty;
        ty.content = store_val_type(&inst.sigs, ty.content);
        store.globals.push(GlobalEntity { ty, bits });
        inst.globals
            .push(GlobalAddr(store.globals.len() as u32 - 1));
    }
    Ok(())
}

/// Asks the store's limiter (see [`crate::limiter`]) whether one more instance,
/// and the module's own memories and tables at their initial sizes, fit the
/// store.
fn check_limiter(store: &mut Store, module: &Module) -> Result<(), InstantiationError> {
    let (instances, memories, tables) = store.limiter.counts();
    let over = |what: &str| {
        InstantiationError::Resource(format!(
            "the store's resource limiter allows no more {what}"
        ))
    };
    if store.instances.len() >= instances {
        return Err(over("instances"));
    }
    if store.memories.len() + module.memories.len() > memories {
        return Err(over("memories"));
    }
    if store.tables.len() + module.tables.len() > tables {
        return Err(over("tables"));
    }
    let denied = |what: &str| {
        InstantiationError::Resource(format!("the store's resource limiter denied a {what}"))
    };
    for ty in &module.memories {
        let max = ty.limits.max.map(|p| p.saturating_mul(crate::PAGE_SIZE));
        let initial = ty.limits.min.saturating_mul(crate::PAGE_SIZE);
        if !store
            .limiter
            .memory_growing(0, initial, max)
            .map_err(InstantiationError::Trap)?
        {
            return Err(denied("memory"));
        }
    }
    for t in &module.tables {
        if !store
            .limiter
            .table_growing(0, t.ty.limits.min, t.ty.limits.max)
            .map_err(InstantiationError::Trap)?
        {
            return Err(denied("table"));
        }
    }
    Ok(())
}

/// Allocates every element segment (its items evaluated) and data segment.
///
/// # Errors
///
/// `out of GC heap memory` if an item's allocation does not fit.
fn allocate_segments(
    store: &mut Store,
    module: &Module,
    inst: &mut InstanceData,
) -> Result<(), Trap> {
    for seg in &module.elems {
        let items: Box<[RawRef]> = match &seg.items {
            ElemItems::Funcs(fs) => fs
                .iter()
                .map(|f| RawRef::from_addr(inst.funcs[f.index()].0))
                .collect(),
            ElemItems::Exprs(es) => es
                .iter()
                .map(|e| eval_const_alloc(store, inst, e).map(|bits| RawRef(bits as u32)))
                .collect::<Result<_, _>>()?,
        };
        let ty = crate::store::store_ref_type(&inst.sigs, seg.ty);
        let gc = crate::gc_store::holds_gc_refs(store, ty);
        store.elems.push(ElemInstance { items, gc });
        inst.elems.push(ElemAddr(store.elems.len() as u32 - 1));
    }
    for seg in &module.datas {
        store.datas.push(DataInstance {
            bytes: Arc::from(&*seg.bytes),
        });
        inst.datas.push(DataAddr(store.datas.len() as u32 - 1));
    }
    Ok(())
}

/// Fills the instance's exports by name.
fn export(module: &Module, inst: &mut InstanceData) {
    for e in &module.exports {
        let i = e.index as usize;
        let ext = match e.kind {
            ExternKind::Func => Extern::Func(inst.funcs[i]),
            ExternKind::Table => Extern::Table(inst.tables[i]),
            ExternKind::Memory => Extern::Memory(inst.memories[i]),
            ExternKind::Global => Extern::Global(inst.globals[i]),
            ExternKind::Tag => Extern::Tag(inst.tags[i]),
        };
        inst.exports.insert(e.name.clone(), ext);
    }
}

/// Writes the active element segments of instance `addr` into their tables,
/// in order, and drops them and the declared ones.
///
/// # Errors
///
/// [`InstantiationError::Trap`] when a segment does not fit its table; the
/// segments before it stay written.
fn init_tables(
    store: &mut Store,
    module: &Module,
    addr: InstanceAddr,
) -> Result<(), InstantiationError> {
    let inst = &store.instances[addr.index()];
    let (elems, tables) = (inst.elems.clone(), inst.tables.clone());
    for (seg, e) in module.elems.iter().zip(&elems) {
        match &seg.mode {
            ElemMode::Active { table, offset } => {
                let at = eval_const(store, &store.instances[addr.index()], offset) as u64;
                let items = std::mem::take(&mut store.elems[e.index()].items);
                store.tables[tables[table.index()].index()]
                    .init(at, &items)
                    .map_err(|c| InstantiationError::Trap(c.into()))?;
            }
            ElemMode::Declared => store.elems[e.index()].items = Box::default(),
            ElemMode::Passive => {}
        }
    }
    Ok(())
}

/// Writes the active data segments of instance `addr` into their memories,
/// in order, and drops them.
///
/// # Errors
///
/// [`InstantiationError::Trap`] when a segment does not fit its memory; the
/// segments before it stay written.
fn init_memories(
    store: &mut Store,
    module: &Module,
    addr: InstanceAddr,
) -> Result<(), InstantiationError> {
    let inst = &store.instances[addr.index()];
    let (datas, memories) = (inst.datas.clone(), inst.memories.clone());
    for (seg, d) in module.datas.iter().zip(&datas) {
        if let DataMode::Active { memory, offset } = &seg.mode {
            let at = eval_const(store, &store.instances[addr.index()], offset) as u64;
            let bytes = std::mem::take(&mut store.datas[d.index()].bytes);
            let mem = store.memories[memories[memory.index()].index()].data_mut();
            let end = at.checked_add(bytes.len() as u64);
            match end {
                Some(end) if end <= mem.len() as u64 => {
                    mem[at as usize..end as usize].copy_from_slice(&bytes);
                }
                _ => return Err(InstantiationError::Trap(TrapCode::MemoryOutOfBounds.into())),
            }
        }
    }
    Ok(())
}

/// Evaluates a validated constant expression to its value's bits: one
/// without GC instructions (an offset, say), which needs only to read the
/// store.
pub fn eval_const(store: &Store, inst: &InstanceData, expr: &ConstExpr) -> u128 {
    let mut stack: Vec<u128> = Vec::with_capacity(4);
    for instr in expr.instrs.iter() {
        let v = eval_instr(store, inst, instr, &mut stack);
        stack.push(v);
    }
    stack.pop().unwrap_or(0)
}

/// Evaluates a validated constant expression that may allocate GC objects
/// (a global's, a table's or an element's initialiser).
///
/// # Errors
///
/// `out of GC heap memory` if an allocation does not fit.
pub fn eval_const_alloc(
    store: &mut Store,
    inst: &InstanceData,
    expr: &ConstExpr,
) -> Result<u128, Trap> {
    let mut stack: Vec<u128> = Vec::with_capacity(4);
    for instr in expr.instrs.iter() {
        let v = match instr {
            Instr::Gc(gc) => crate::gc_ops::const_instr(store, &inst.sigs, gc, &mut stack)?,
            other => eval_instr(store, inst, other, &mut stack),
        };
        stack.push(v);
    }
    Ok(stack.pop().unwrap_or(0))
}

/// One instruction of a constant expression that is not GC's: its value,
/// its operands popped from `stack`.
fn eval_instr(store: &Store, inst: &InstanceData, instr: &Instr, stack: &mut Vec<u128>) -> u128 {
    match *instr {
        Instr::I32Const(v) => u128::from(v as u32),
        Instr::I64Const(v) => u128::from(v as u64),
        Instr::F32Const(v) => u128::from(v),
        Instr::F64Const(v) => u128::from(v),
        Instr::V128Const(v) => u128::from_le_bytes(v),
        Instr::RefNull(_) => 0,
        Instr::RefFunc(f) => u128::from(RawRef::from_addr(inst.funcs[f.index()].0).0),
        Instr::GlobalGet(g) => store.globals[inst.globals[g.index()].index()].bits,
        Instr::Num(op) => {
            let b = stack.pop().unwrap_or(0);
            let a = stack.pop().unwrap_or(0);
            match op {
                NumOp::I32Add => u128::from((a as u32).wrapping_add(b as u32)),
                NumOp::I32Sub => u128::from((a as u32).wrapping_sub(b as u32)),
                NumOp::I32Mul => u128::from((a as u32).wrapping_mul(b as u32)),
                NumOp::I64Add => u128::from((a as u64).wrapping_add(b as u64)),
                NumOp::I64Sub => u128::from((a as u64).wrapping_sub(b as u64)),
                NumOp::I64Mul => u128::from((a as u64).wrapping_mul(b as u64)),
                _ => 0,
            }
        }
        _ => 0,
    }
}
