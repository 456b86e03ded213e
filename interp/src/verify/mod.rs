//! The bytecode verifier: the executor's memory-safety contract, checked
//! rather than trusted.
//!
//! The executor reads registers through raw pointers (`reg!`), follows jump
//! targets and `br_table` entries without bounds checks, runs each op's
//! successor assuming the code ends with an op that never falls through, and
//! on its fast path indexes the instance's globals by the op's immediate
//! unchecked. All of that is sound only if every translated function keeps
//! the promises of [`CompiledFunc`]. [`verify`] checks them, once per
//! function, right after translation and before the function is published
//! to callers ([`CompiledModule`](crate::CompiledModule)); a function that
//! fails is an internal error ([`CompileError::InvalidBytecode`]), never run.
//! The fast path's threaded copy of the code is made from the code only once
//! it has passed. The check is on in every build.
//!
//! What is checked:
//! - every register an op names, and every register range it reads or
//!   writes (call arguments and results, returns, bulk operands, the extra
//!   operands of `Copy2`, `VTernary`, `Shuffle` and `LoadLane`), is below
//!   `frame_size`; so are the registers the frame set-up writes
//!   (`num_params + init.len()`) and the registers a catch writes;
//! - every jump target, every landing pad and every `br_table` entry is an
//!   op of the code, and the code ends with `Unreachable`;
//! - every index into the function's side tables (`memargs`, `indirect`,
//!   `vconsts`) and every index into the module's index spaces (functions,
//!   tables, memories, globals, types, data and element segments, tags) is in
//!   range.
//!
//! Some of those indices are also checked where they are used (the slow
//! path's `[]` indexing, which panics, and the runtime's bulk operations);
//! the verifier checks them anyway so that a bad index is an error at
//! translation rather than a panic or a wrong value at run time. Lane
//! numbers, shift amounts and operator codes need no check: the executor
//! masks lanes and shifts, and every `NumOp` has a defined (if meaningless)
//! result. Memory accesses are bounds-checked at run time, so offsets are
//! not checked here.
//!
//! A new `Op` cannot be left out: [`Checker::op`] matches every variant
//! (no `_ =>` arm), so adding an op does not compile until it is described
//! here. Its arms name every field (no `..`), so a field added to an op does
//! not compile either; the exceptions are the loads and stores and the wider
//! vector ops, which it hands to [`Checker::access`] and [`Checker::vector`]
//! (to keep each function short): those name every field in turn, and reject
//! any op they are not written for, so a mistake there fails closed. The
//! specialised binary ops and fused branches are generated from
//! `for_each_binary_op!`, and so are the patterns and accessors used for
//! them here (see RATIONALE.md).

use std::fmt;

use kiln_parser::{ImportKind, Module};
use kiln_runtime::CompileError;
use kiln_runtime::ops::BulkOp;

use crate::CompiledFunc;
use crate::bytecode::{Op, Reg};

#[cfg(test)]
mod tests;

/// What the verifier checks a function's module indices against: the sizes
/// of the module's index spaces and the arities its calls and throws imply.
/// Built once per module, at its first translation.
#[derive(Debug)]
pub(crate) struct ModuleShape {
    /// The type of each function of the index space, imports first.
    func_types: Box<[u32]>,
    /// The payload type of each tag of the index space, imports first.
    tag_types: Box<[u32]>,
    /// `(parameters, results)` of each type.
    arities: Box<[(u32, u32)]>,
    /// Number of tables, imported ones included.
    tables: usize,
    /// Number of memories, imported ones included.
    memories: usize,
    /// Number of globals, imported ones included.
    globals: usize,
    /// Number of data segments.
    datas: usize,
    /// Number of element segments.
    elems: usize,
}

impl ModuleShape {
    /// The shape of `module`.
    pub(crate) fn of(module: &Module) -> ModuleShape {
        let imported = |want_func: bool| {
            module.imports.iter().filter_map(move |imp| match imp.kind {
                ImportKind::Func(t) if want_func => Some(t.0),
                ImportKind::Tag(t) if !want_func => Some(t.0),
                _ => None,
            })
        };
        ModuleShape {
            func_types: imported(true)
                .chain(module.funcs.iter().map(|t| t.0))
                .collect(),
            tag_types: imported(false)
                .chain(module.tags.iter().map(|t| t.0))
                .collect(),
            arities: module
                .types
                .iter()
                .map(|t| {
                    t.as_func()
                        .map_or((0, 0), |t| (t.params.len() as u32, t.results.len() as u32))
                })
                .collect(),
            tables: module.num_tables(),
            memories: module.num_memories(),
            globals: module.num_globals(),
            datas: module.datas.len(),
            elems: module.elems.len(),
        }
    }
}

/// Checks `func`, function `func_index` of the module of `shape` (its index
/// in the module's function index space, for the error).
///
/// # Errors
///
/// [`CompileError::InvalidBytecode`] for the first fault found.
pub(crate) fn verify(
    func: &CompiledFunc,
    func_index: u32,
    shape: &ModuleShape,
) -> Result<(), CompileError> {
    let c = Checker {
        func,
        shape,
        frame_size: u64::from(func.frame_size),
    };
    let fail = |op_index: Option<usize>, fault: Fault| CompileError::InvalidBytecode {
        func: func_index,
        op_index: op_index.map(|i| i as u32),
        what: fault.to_string().into(),
    };
    c.tables().map_err(|f| fail(None, f))?;
    for (at, op) in func.code.iter().enumerate() {
        c.op(at, op).map_err(|f| fail(Some(at), f))?;
    }
    Ok(())
}

/// What is wrong with a function; formatted only when one fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Registers `first..first + count`, named by operand `field`, are not
    /// all below the frame size.
    Registers {
        field: &'static str,
        first: Reg,
        count: u32,
        frame_size: u64,
    },
    /// Jump target `target`, named by `field`, is not an op of the code.
    Target {
        field: &'static str,
        target: u64,
        len: usize,
    },
    /// Entry `index` of side table `table` of the function does not exist.
    SideTable {
        table: &'static str,
        index: u32,
        len: usize,
    },
    /// Index `index` of the module's `space` index space does not exist.
    Module {
        space: &'static str,
        index: u32,
        len: usize,
    },
    /// Something else about the function's layout.
    Layout(&'static str),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Fault::Registers {
                field,
                first,
                count: 1,
                frame_size,
            } => write!(
                f,
                "register {first} (`{field}`) is not below the frame size {frame_size}"
            ),
            Fault::Registers {
                field,
                first,
                count,
                frame_size,
            } => write!(
                f,
                "registers {first}..{} (`{field}`) are not all below the frame size {frame_size}",
                u64::from(first) + u64::from(count)
            ),
            Fault::Target { field, target, len } => write!(
                f,
                "jump target {target} (`{field}`) is not below the code length {len}"
            ),
            Fault::SideTable { table, index, len } => write!(
                f,
                "`{table}` entry {index} is out of range (the function has {len})"
            ),
            Fault::Module { space, index, len } => write!(
                f,
                "{space} index {index} is out of range (the module has {len})"
            ),
            Fault::Layout(what) => f.write_str(what),
        }
    }
}

/// The function being checked and what it is checked against.
struct Checker<'a> {
    func: &'a CompiledFunc,
    shape: &'a ModuleShape,
    frame_size: u64,
}

/// Index `$index` (a `u32`) of a slice-like `$len`: `Ok(())` or the fault
/// made by `$fault { $name, index, len }`.
macro_rules! in_range {
    ($fault:ident, $name_field:ident: $name:expr, $index:expr, $len:expr) => {{
        let (index, len): (u32, usize) = ($index, $len);
        if (index as usize) < len {
            Ok(())
        } else {
            Err(Fault::$fault {
                $name_field: $name,
                index,
                len,
            })
        }
    }};
}

impl Checker<'_> {
    /// Register `r`, named by operand `field`.
    #[inline(always)]
    fn reg(&self, field: &'static str, r: Reg) -> Result<(), Fault> {
        self.regs(field, r, 1)
    }

    /// Registers `first..first + count`, from operand `field`.
    #[inline(always)]
    fn regs(&self, field: &'static str, first: Reg, count: u32) -> Result<(), Fault> {
        if u64::from(first) + u64::from(count) <= self.frame_size {
            Ok(())
        } else {
            Err(Fault::Registers {
                field,
                first,
                count,
                frame_size: self.frame_size,
            })
        }
    }

    /// Jump target `target`, from `field`.
    #[inline(always)]
    fn target(&self, field: &'static str, target: u32) -> Result<(), Fault> {
        let len = self.func.code.len();
        if (target as usize) < len {
            Ok(())
        } else {
            Err(Fault::Target {
                field,
                target: u64::from(target),
                len,
            })
        }
    }

    /// Index `index` of the module's index space `space`, of `len` entries.
    #[inline(always)]
    fn module(space: &'static str, index: u32, len: usize) -> Result<(), Fault> {
        in_range!(Module, space: space, index, len)
    }

    fn memory(&self, mem: u32) -> Result<(), Fault> {
        Self::module("memory", mem, self.shape.memories)
    }

    fn table(&self, table: u32) -> Result<(), Fault> {
        Self::module("table", table, self.shape.tables)
    }

    fn global(&self, global: u32) -> Result<(), Fault> {
        Self::module("global", global, self.shape.globals)
    }

    /// Function `func` of the module, and its type's arity.
    fn function(&self, func: u32) -> Result<(u32, u32), Fault> {
        Self::module("function", func, self.shape.func_types.len())?;
        self.arity(self.shape.func_types[func as usize])
    }

    /// `(parameters, results)` of type `ty` of the module.
    fn arity(&self, ty: u32) -> Result<(u32, u32), Fault> {
        Self::module("type", ty, self.shape.arities.len())?;
        Ok(self.shape.arities[ty as usize])
    }

    /// The parameter count of tag `tag`'s payload.
    fn tag(&self, tag: u32) -> Result<u32, Fault> {
        Self::module("tag", tag, self.shape.tag_types.len())?;
        Ok(self.arity(self.shape.tag_types[tag as usize])?.0)
    }

    /// Entry `site` of the GC table: the registers it reads and writes from
    /// `args`, and every type, data segment and element segment it names
    /// (the runtime indexes the instance's tables by them).
    fn gc(&self, args: Reg, site: u32) -> Result<(), Fault> {
        use kiln_parser::{GcInstr as G, HeapType, RefType};
        let gc = &self.func.gc;
        in_range!(SideTable, table: "gc", site, gc.len())?;
        let entry = &gc[site as usize];
        self.regs("args", args, entry.regs())?;
        let types = self.shape.arities.len();
        let ty = |t: kiln_parser::TypeIdx| Self::module("type", t.0, types);
        let heap = |r: RefType| match r.heap {
            HeapType::Concrete(t) => ty(t),
            _ => Ok(()),
        };
        let data = |d: kiln_parser::DataIdx| Self::module("data segment", d.0, self.shape.datas);
        let elem = |e: kiln_parser::ElemIdx| Self::module("element segment", e.0, self.shape.elems);
        match &entry.instr {
            G::StructNew(t)
            | G::StructNewDefault(t)
            | G::ArrayNew(t)
            | G::ArrayNewDefault(t)
            | G::ArraySet(t)
            | G::ArrayFill(t)
            | G::StructGet { ty: t, .. }
            | G::StructSet { ty: t, .. }
            | G::ArrayNewFixed { ty: t, .. }
            | G::ArrayGet { ty: t, .. } => ty(*t),
            G::ArrayNewData { ty: t, data: d } | G::ArrayInitData { ty: t, data: d } => {
                ty(*t)?;
                data(*d)
            }
            G::ArrayNewElem { ty: t, elem: e } | G::ArrayInitElem { ty: t, elem: e } => {
                ty(*t)?;
                elem(*e)
            }
            G::ArrayCopy { dst, src } => {
                ty(*dst)?;
                ty(*src)
            }
            G::RefTest(r) | G::RefCast(r) => heap(*r),
            G::BrOnCast(b) => {
                heap(b.from)?;
                heap(b.to)
            }
            G::RefEq
            | G::ArrayLen
            | G::AnyConvertExtern
            | G::ExternConvertAny
            | G::RefI31
            | G::I31Get(_) => Ok(()),
        }
    }

    /// Entry `site` of `indirect`, and its type's arity (the entry's own
    /// indices are checked by [`Checker::tables`]).
    fn indirect(&self, site: u32) -> Result<(u32, u32), Fault> {
        let indirect = &self.func.indirect;
        in_range!(SideTable, table: "indirect", site, indirect.len())?;
        self.arity(indirect[site as usize].1)
    }

    fn memarg(&self, memarg: u32) -> Result<(), Fault> {
        in_range!(SideTable, table: "memargs", memarg, self.func.memargs.len())
    }

    fn vconst(&self, idx: u32) -> Result<(), Fault> {
        in_range!(SideTable, table: "vconsts", idx, self.func.vconsts.len())
    }

    /// A call's arguments (`params`) and results (`results`) from `args`.
    fn call_regs(&self, args: Reg, (params, results): (u32, u32)) -> Result<(), Fault> {
        self.regs("args", args, params.max(results))
    }

    /// A tail call's arguments from `args`: they move to the frame's base and
    /// the callee's results go where the caller's would (`frames::tail_call`),
    /// so nothing is written from `args` on, and the translator reserves no
    /// room for the results there.
    fn tail_call_regs(&self, args: Reg, (params, _results): (u32, u32)) -> Result<(), Fault> {
        self.regs("args", args, params)
    }

    /// The function as a whole: its code's ends, its frame set-up and the
    /// entries of its side tables and exception handlers.
    fn tables(&self) -> Result<(), Fault> {
        let f = self.func;
        // Execution runs each op's successor unchecked: the last op must not
        // fall through (the translator's sentinel).
        if f.code.last() != Some(&Op::Unreachable) {
            return Err(Fault::Layout("the code does not end with `Unreachable`"));
        }
        // The fast path holds jump targets relative to the jump, as `i32`s.
        if f.code.len() > i32::MAX as usize {
            return Err(Fault::Layout("the code is too long"));
        }
        // A call writes `init` to the registers from `num_params` on, and
        // `consts` starts `num_locals - num_params` entries into it.
        if f.num_params > f.num_locals {
            return Err(Fault::Layout("more parameters than locals"));
        }
        if f.init.len() < (f.num_locals - f.num_params) as usize {
            return Err(Fault::Layout("`init` is shorter than the declared locals"));
        }
        let init = u32::try_from(f.init.len()).unwrap_or(u32::MAX);
        self.regs("init", f.num_params, init)?;
        for &(mem, _offset) in &f.memargs {
            self.memory(mem)?;
        }
        for &(table, ty) in &f.indirect {
            self.table(table)?;
            self.arity(ty)?;
        }
        // The collector reads every safepoint register of a frame unchecked:
        // each below the frame size, at a call or `Gc` op, in op order (it
        // searches them by op).
        let mut last = None;
        for point in &f.safepoints {
            if last.is_some_and(|l| l >= point.op) {
                return Err(Fault::Layout("the GC safepoints are not in op order"));
            }
            last = Some(point.op);
            let at_safepoint = f
                .code
                .get(point.op as usize)
                .is_some_and(Op::is_gc_safepoint);
            if !at_safepoint {
                return Err(Fault::Layout(
                    "a GC safepoint is not at a call or a `Gc` op",
                ));
            }
            for &r in point.regs.iter() {
                self.reg("safepoint", r)?;
            }
        }
        for h in &f.handlers {
            if h.start > h.end || h.end as usize > f.code.len() {
                return Err(Fault::Layout("a handler's range is not inside the code"));
            }
            for clause in &h.clauses {
                self.target("pad", clause.pad)?;
                // The payload, then the exnref, written from `payload`.
                let payload = match clause.tag {
                    Some(tag) => self.tag(tag)?,
                    None => 0,
                };
                self.regs("payload", h.payload, payload + u32::from(clause.with_ref))?;
            }
        }
        Ok(())
    }

    /// Op `op`, the `at`-th of the code.
    fn op(&self, at: usize, op: &Op) -> Result<(), Fault> {
        match *op {
            for_each_binary_op!(binary_op_pattern) => {
                let (dst, a, b) = op
                    .binary_parts()
                    .ok_or(Fault::Layout("a binary op without operands"))?;
                self.reg("dst", dst)?;
                self.reg("a", a)?;
                self.reg("b", b)
            }
            for_each_binary_op!(compare_branch_pattern) => {
                let (a, b, target) = op
                    .compare_branch_parts()
                    .ok_or(Fault::Layout("a fused branch without operands"))?;
                self.reg("a", a)?;
                self.reg("b", b)?;
                self.target("target", target)
            }
            Op::Nop | Op::Unreachable | Op::Epoch | Op::Fuel { cost: _ } => Ok(()),
            Op::Copy { dst, src }
            | Op::CopyHi { dst, src }
            | Op::CopyWide { dst, src }
            | Op::RefIsNull { dst, src }
            | Op::Unary { op: _, dst, src }
            | Op::VUnary { op: _, dst, src }
            // Lanes are masked to the shape's lane count (`num::simd`).
            | Op::ExtractLane {
                shape: _,
                lane: _,
                dst,
                src,
            } => {
                self.reg("dst", dst)?;
                self.reg("src", src)
            }
            Op::Copy2 { dst, a, b } => {
                self.regs("dst", dst, 2)?;
                self.reg("a", a)?;
                self.reg("b", b)
            }
            Op::Const32 { dst, val: _ } | Op::Const64 { dst, val: _ } => self.reg("dst", dst),
            Op::GlobalGet { dst, global } | Op::GlobalGetV128 { dst, global } => {
                self.global(global)?;
                self.reg("dst", dst)
            }
            Op::RefFunc { dst, func } => {
                self.function(func)?;
                self.reg("dst", dst)
            }
            Op::V128Const { dst, idx } => {
                self.vconst(idx)?;
                self.reg("dst", dst)
            }
            Op::I32AddImm { dst, a, imm: _ } | Op::I64AddImm { dst, a, imm: _ } => {
                self.reg("dst", dst)?;
                self.reg("a", a)
            }
            // The shift is masked (`sem::i32_add_shl`).
            Op::I32AddShl {
                dst,
                a,
                b,
                shift: _,
            }
            | Op::Binary { op: _, dst, a, b }
            | Op::VBinary { op: _, dst, a, b } => {
                self.reg("dst", dst)?;
                self.reg("a", a)?;
                self.reg("b", b)
            }
            Op::Select { a, b, cond } | Op::SelectHi { a, b, cond } => {
                self.reg("a", a)?;
                self.reg("b", b)?;
                self.reg("cond", cond)
            }
            Op::Br { target } => self.target("target", target),
            Op::BrIfNez { cond, target } | Op::BrIfEqz { cond, target } => {
                self.reg("cond", cond)?;
                self.target("target", target)
            }
            Op::BrIfFloat {
                cmp: _,
                a,
                b,
                target,
            } => {
                self.reg("a", a)?;
                self.reg("b", b)?;
                self.target("target", target)
            }
            Op::BrTable { index, len } => {
                self.reg("index", index)?;
                self.br_table(at, len)
            }
            Op::Return { start, count } => self.regs("start", start, count),
            Op::Call { func, args } => self.call_regs(args, self.function(func)?),
            Op::ReturnCall { func, args } => self.tail_call_regs(args, self.function(func)?),
            Op::CallIndirect { index, args, site } => {
                self.reg("index", index)?;
                self.call_regs(args, self.indirect(site)?)
            }
            Op::ReturnCallIndirect { index, args, site } => {
                self.reg("index", index)?;
                self.tail_call_regs(args, self.indirect(site)?)
            }
            // The callee's type is not in the op: its frame is checked when
            // it is entered (`frames::enter`), below `args` at least.
            Op::CallRef { func, args } | Op::ReturnCallRef { func, args } => {
                self.reg("func", func)?;
                self.reg("args", args)
            }
            Op::RefAsNonNull { src } | Op::ThrowRef { src } => self.reg("src", src),
            Op::Gc { args, site } => self.gc(args, site),
            Op::Throw { tag, args } => self.regs("args", args, self.tag(tag)?),
            Op::CanonF32 { reg }
            | Op::CanonF64 { reg }
            | Op::CanonF32x4 { reg }
            | Op::CanonF64x2 { reg } => self.reg("reg", reg),
            Op::GlobalSet { global, src } | Op::GlobalSetV128 { global, src } => {
                self.global(global)?;
                self.reg("src", src)
            }
            bulk_op_pattern!() => match op.as_bulk() {
                Some((at, bulk)) => self.bulk(at, bulk),
                None => Err(Fault::Layout("a bulk op without an operation")),
            },
            Op::Load { .. }
            | Op::LoadWrapped { .. }
            | Op::Store { .. }
            | Op::StoreWrapped { .. }
            | Op::LoadScaled { .. }
            | Op::StoreScaled { .. }
            | Op::LoadExt { .. }
            | Op::StoreExt { .. }
            | Op::LoadLane { .. }
            | Op::StoreLane { .. } => self.access(op),
            Op::VTernary { .. } | Op::Shuffle { .. } | Op::ReplaceLane { .. } => self.vector(op),
        }
    }

    /// A load or store: its registers and memory (the accesses themselves
    /// are bounds-checked at run time).
    fn access(&self, op: &Op) -> Result<(), Fault> {
        match *op {
            // Memory 0's accesses are bounds-checked at run time; it must exist.
            Op::Load {
                kind: _,
                dst,
                addr,
                offset: _,
            }
            | Op::LoadWrapped {
                kind: _,
                dst,
                addr,
                imm: _,
            } => {
                self.memory(0)?;
                self.reg("dst", dst)?;
                self.reg("addr", addr)
            }
            Op::Store {
                kind: _,
                addr,
                val,
                offset: _,
            }
            | Op::StoreWrapped {
                kind: _,
                addr,
                val,
                imm: _,
            } => {
                self.memory(0)?;
                self.reg("addr", addr)?;
                self.reg("val", val)
            }
            Op::LoadScaled {
                kind: _,
                shift: _,
                dst,
                base,
                index,
            } => {
                self.memory(0)?;
                self.reg("dst", dst)?;
                self.reg("base", base)?;
                self.reg("index", index)
            }
            Op::StoreScaled {
                kind: _,
                shift: _,
                base,
                index,
                val,
            } => {
                self.memory(0)?;
                self.reg("base", base)?;
                self.reg("index", index)?;
                self.reg("val", val)
            }
            Op::LoadExt {
                kind: _,
                dst,
                addr,
                memarg,
            } => {
                self.memarg(memarg)?;
                self.reg("dst", dst)?;
                self.reg("addr", addr)
            }
            Op::StoreExt {
                kind: _,
                addr,
                val,
                memarg,
            } => {
                self.memarg(memarg)?;
                self.reg("addr", addr)?;
                self.reg("val", val)
            }
            // The vector whose lane is replaced is in `dst + 1`.
            Op::LoadLane {
                width: _,
                lane: _,
                dst,
                addr,
                memarg,
            } => {
                self.memarg(memarg)?;
                self.regs("dst", dst, 2)?;
                self.reg("addr", addr)
            }
            Op::StoreLane {
                width: _,
                lane: _,
                addr,
                v,
                memarg,
            } => {
                self.memarg(memarg)?;
                self.reg("addr", addr)?;
                self.reg("v", v)
            }
            // [`Checker::op`] sends nothing else here; anything else is
            // rejected rather than trusted.
            _ => Err(Fault::Layout("an op the verifier does not describe")),
        }
    }

    /// A vector op with more than one register per operand.
    fn vector(&self, op: &Op) -> Result<(), Fault> {
        match *op {
            // The vector in `dst + 2` is the third operand.
            Op::VTernary { op: _, dst, a, b } => {
                self.regs("dst", dst, 3)?;
                self.reg("a", a)?;
                self.reg("b", b)
            }
            // The second vector is in `dst + 1`.
            Op::Shuffle { dst, a, idx } => {
                self.regs("dst", dst, 2)?;
                self.reg("a", a)?;
                self.vconst(idx)
            }
            Op::ReplaceLane {
                shape: _,
                lane: _,
                dst,
                v,
                x,
            } => {
                self.reg("dst", dst)?;
                self.reg("v", v)?;
                self.reg("x", x)
            }
            // [`Checker::op`] sends nothing else here; anything else is
            // rejected rather than trusted.
            _ => Err(Fault::Layout("an op the verifier does not describe")),
        }
    }

    /// The `len + 1` `Br` ops that follow the `BrTable` at `at`, which the
    /// executor steps to without a check (their own targets are checked as
    /// ops of the code).
    fn br_table(&self, at: usize, len: u32) -> Result<(), Fault> {
        let code = &self.func.code;
        let last = at as u64 + 1 + u64::from(len);
        if last >= code.len() as u64 {
            return Err(Fault::Target {
                field: "len",
                target: last,
                len: code.len(),
            });
        }
        if !code[at + 1..=last as usize]
            .iter()
            .all(|op| matches!(op, Op::Br { .. }))
        {
            return Err(Fault::Layout("a `BrTable` entry is not a `Br`"));
        }
        Ok(())
    }

    /// A memory or table management op whose operands (and result) start at
    /// register `at`: the registers, and the module indices of `bulk`.
    fn bulk(&self, at: Reg, bulk: BulkOp) -> Result<(), Fault> {
        let count = bulk.operands().max(usize::from(bulk.has_result()));
        self.regs("args", at, count as u32)?;
        match bulk {
            BulkOp::MemorySize { mem }
            | BulkOp::MemoryGrow { mem }
            | BulkOp::MemoryFill { mem } => self.memory(mem),
            BulkOp::MemoryCopy { dst, src } => {
                self.memory(dst)?;
                self.memory(src)
            }
            BulkOp::MemoryInit { mem, data } => {
                self.memory(mem)?;
                Self::module("data segment", data, self.shape.datas)
            }
            BulkOp::DataDrop { data } => Self::module("data segment", data, self.shape.datas),
            BulkOp::TableGet { table }
            | BulkOp::TableSet { table }
            | BulkOp::TableSize { table }
            | BulkOp::TableGrow { table }
            | BulkOp::TableFill { table } => self.table(table),
            BulkOp::TableCopy { dst, src } => {
                self.table(dst)?;
                self.table(src)
            }
            BulkOp::TableInit { table, elem } => {
                self.table(table)?;
                Self::module("element segment", elem, self.shape.elems)
            }
            BulkOp::ElemDrop { elem } => Self::module("element segment", elem, self.shape.elems),
        }
    }
}
