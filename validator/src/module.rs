//! Module-level validation: the index spaces (the spec's context `C`, in
//! [`crate::context`]), types of imports and definitions, segments, exports
//! and the start function. Function bodies are checked by [`crate::func`].

use std::collections::HashSet;
use std::ops::Range;

use kiln_parser::{
    BodyDecoder, BodyFacts, DataMode, ElemItems, ElemMode, ExternKind, Features, FuncIdx, FuncType,
    ImportKind, IndexType, Limits, MemoryType, Module, TableType, TypeIdx, ValType,
};

use crate::const_expr::check_const_expr;
use crate::context::Context;
use crate::error::{ImplLimit, IndexSpace, ModuleError, ValidationError, ValidationErrorKind};
use crate::func::FuncValidator;
use crate::limits;
use crate::{FuncInfo, ModuleInfo};

fn check_count(n: usize, max: usize, limit: ImplLimit) -> Result<(), ValidationError> {
    if n > max {
        return Err(ValidationError::new(
            ValidationErrorKind::LimitExceeded(limit),
            0,
        ));
    }
    Ok(())
}

fn check_type_idx(types: &[FuncType], t: TypeIdx, offset: u64) -> Result<(), ValidationError> {
    if t.index() >= types.len() {
        return Err(ValidationError::new(
            ValidationErrorKind::unknown(IndexSpace::Type, t.0),
            offset,
        ));
    }
    Ok(())
}

fn check_limits(
    l: Limits,
    max: u64,
    too_large: ValidationErrorKind,
    offset: u64,
) -> Result<(), ValidationError> {
    if l.min > max || l.max.is_some_and(|m| m > max) {
        return Err(ValidationError::new(too_large, offset));
    }
    if l.max.is_some_and(|m| l.min > m) {
        return Err(ValidationError::new(
            ValidationErrorKind::MinimumAboveMaximum,
            offset,
        ));
    }
    Ok(())
}

fn check_table_type(t: &TableType, features: Features, offset: u64) -> Result<(), ValidationError> {
    let max = match t.index {
        IndexType::I32 => u64::from(u32::MAX),
        IndexType::I64 if features.memory64 => u64::MAX,
        IndexType::I64 => {
            return Err(ValidationError::new(
                ValidationErrorKind::Memory64Disabled,
                offset,
            ));
        }
    };
    check_limits(
        t.limits,
        max,
        ValidationErrorKind::TableSizeTooLarge,
        offset,
    )
}

fn check_memory_type(
    m: &MemoryType,
    features: Features,
    offset: u64,
) -> Result<(), ValidationError> {
    let max = match m.index {
        IndexType::I32 => limits::MAX_PAGES_32,
        IndexType::I64 if features.memory64 => limits::MAX_PAGES_64,
        IndexType::I64 => {
            return Err(ValidationError::new(
                ValidationErrorKind::Memory64Disabled,
                offset,
            ));
        }
    };
    let too_large = ValidationErrorKind::MemorySizeTooLarge(m.index);
    check_limits(m.limits, max, too_large, offset)
}

/// Checks the module-level rules and builds the context that function
/// bodies are checked in, in the order the rules have always been checked
/// (so that a module breaking several reports the same one).
fn module_context(module: &Module, features: Features) -> Result<Context<'_>, ValidationError> {
    check_counts(module)?;
    check_type_sizes(module)?;
    let mut cx = Context::new(module, features);
    declare_imports(module, &mut cx)?;
    let imported_globals = cx.globals.len();
    declare_definitions(module, &mut cx)?;
    // C.refs: functions named anywhere outside function bodies and the start section.
    collect_refs(module, &mut cx);
    // Globals see only the imported globals (2.0 rule), but are added one by one.
    for g in &module.globals {
        check_const_expr(&cx, &g.init, g.ty.content, imported_globals)?;
        cx.globals.push(g.ty);
    }
    check_elems(module, &cx, imported_globals)?;
    check_datas(module, &cx, imported_globals)?;
    check_start(module, &cx)?;
    check_exports(module, &cx)?;
    Ok(cx)
}

/// Checks the sizes of the index spaces and segment lists against
/// [`limits`].
fn check_counts(module: &Module) -> Result<(), ValidationError> {
    check_count(module.types.len(), limits::MAX_TYPES, ImplLimit::Types)?;
    check_count(
        module.imports.len(),
        limits::MAX_IMPORTS,
        ImplLimit::Imports,
    )?;
    check_count(
        module.exports.len(),
        limits::MAX_EXPORTS,
        ImplLimit::Exports,
    )?;
    check_count(
        module.num_funcs(),
        limits::MAX_FUNCTIONS,
        ImplLimit::Functions,
    )?;
    check_count(
        module.num_globals(),
        limits::MAX_GLOBALS,
        ImplLimit::Globals,
    )?;
    check_count(module.num_tables(), limits::MAX_TABLES, ImplLimit::Tables)?;
    check_count(
        module.num_memories(),
        limits::MAX_MEMORIES,
        ImplLimit::Memories,
    )?;
    check_count(
        module.elems.len(),
        limits::MAX_ELEMENT_SEGMENTS,
        ImplLimit::ElementSegments,
    )?;
    check_count(
        module.datas.len(),
        limits::MAX_DATA_SEGMENTS,
        ImplLimit::DataSegments,
    )
}

/// Checks the number of parameters and results of every function type.
fn check_type_sizes(module: &Module) -> Result<(), ValidationError> {
    let at = module.section_offsets.types;
    for ty in &module.types {
        if ty.params.len() > limits::MAX_FUNCTION_PARAMS {
            return Err(ValidationError::new(
                ValidationErrorKind::LimitExceeded(ImplLimit::Params),
                at,
            ));
        }
        if ty.results.len() > limits::MAX_FUNCTION_RESULTS {
            return Err(ValidationError::new(
                ValidationErrorKind::LimitExceeded(ImplLimit::Results),
                at,
            ));
        }
    }
    Ok(())
}

/// Checks the types of the imports and adds them to the index spaces.
fn declare_imports(module: &Module, cx: &mut Context<'_>) -> Result<(), ValidationError> {
    for imp in &module.imports {
        match imp.kind {
            ImportKind::Func(t) => {
                check_type_idx(&module.types, t, imp.offset)?;
                cx.funcs.push(t);
            }
            ImportKind::Table(t) => {
                check_table_type(&t, cx.features, imp.offset)?;
                cx.tables.push(t);
            }
            ImportKind::Memory(m) => {
                check_memory_type(&m, cx.features, imp.offset)?;
                cx.memories.push(m);
            }
            ImportKind::Global(g) => cx.globals.push(g),
        }
    }
    Ok(())
}

/// Checks the types of the defined functions, tables and memories and adds
/// them to the index spaces. Globals come later: their initialisers are
/// checked in a context that holds the functions.
fn declare_definitions(module: &Module, cx: &mut Context<'_>) -> Result<(), ValidationError> {
    let at = module.section_offsets;
    for &t in &module.funcs {
        check_type_idx(&module.types, t, at.funcs)?;
        cx.funcs.push(t);
    }
    for t in &module.tables {
        check_table_type(t, cx.features, at.tables)?;
        cx.tables.push(*t);
    }
    for m in &module.memories {
        check_memory_type(m, cx.features, at.memories)?;
        cx.memories.push(*m);
    }
    if cx.memories.len() > 1 && !cx.features.multi_memory {
        return Err(ValidationError::new(
            ValidationErrorKind::MultipleMemories,
            at.memories,
        ));
    }
    Ok(())
}

/// Checks each element segment's items, and the table and offset of the
/// active ones.
fn check_elems(
    module: &Module,
    cx: &Context<'_>,
    imported_globals: usize,
) -> Result<(), ValidationError> {
    for seg in &module.elems {
        let ty: ValType = seg.ty.into();
        match &seg.items {
            ElemItems::Funcs(funcs) => {
                if let Some(f) = funcs.iter().find(|f| f.index() >= cx.num_funcs()) {
                    return Err(ValidationError::new(
                        ValidationErrorKind::unknown(IndexSpace::Function, f.0),
                        seg.offset,
                    ));
                }
            }
            ElemItems::Exprs(exprs) => {
                for e in exprs.iter() {
                    check_const_expr(cx, e, ty, imported_globals)?;
                }
            }
        }
        if let ElemMode::Active { table, offset } = &seg.mode {
            let Some(t) = cx.tables.get(table.index()) else {
                return Err(ValidationError::new(
                    ValidationErrorKind::unknown(IndexSpace::Table, table.0),
                    seg.offset,
                ));
            };
            if t.element != seg.ty {
                return Err(ValidationError::new(
                    ValidationErrorKind::TypeMismatch,
                    seg.offset,
                ));
            }
            check_const_expr(cx, offset, t.index.val_type(), imported_globals)?;
        }
    }
    Ok(())
}

/// Checks the memory and offset of each active data segment.
fn check_datas(
    module: &Module,
    cx: &Context<'_>,
    imported_globals: usize,
) -> Result<(), ValidationError> {
    for seg in &module.datas {
        if let DataMode::Active { memory, offset } = &seg.mode {
            let Some(m) = cx.memories.get(memory.index()) else {
                return Err(ValidationError::new(
                    ValidationErrorKind::unknown(IndexSpace::Memory, memory.0),
                    seg.offset,
                ));
            };
            check_const_expr(cx, offset, m.index.val_type(), imported_globals)?;
        }
    }
    Ok(())
}

/// Checks that the start function exists and has type `[] -> []`.
fn check_start(module: &Module, cx: &Context<'_>) -> Result<(), ValidationError> {
    let Some(start) = module.start else {
        return Ok(());
    };
    let Some(ty) = cx.func_type(start) else {
        return Err(ValidationError::new(
            ValidationErrorKind::unknown(IndexSpace::Function, start.0),
            module.start_offset,
        ));
    };
    if !ty.params.is_empty() || !ty.results.is_empty() {
        return Err(ValidationError::new(
            ValidationErrorKind::StartFunctionType,
            module.start_offset,
        ));
    }
    Ok(())
}

/// Checks that every export names something that exists, and that export
/// names are unique.
fn check_exports(module: &Module, cx: &Context<'_>) -> Result<(), ValidationError> {
    let mut names = HashSet::with_capacity(module.exports.len());
    for e in &module.exports {
        let (len, space) = match e.kind {
            ExternKind::Func => (cx.funcs.len(), IndexSpace::Function),
            ExternKind::Table => (cx.tables.len(), IndexSpace::Table),
            ExternKind::Memory => (cx.memories.len(), IndexSpace::Memory),
            ExternKind::Global => (cx.globals.len(), IndexSpace::Global),
        };
        if e.index as usize >= len {
            return Err(ValidationError::new(
                ValidationErrorKind::unknown(space, e.index),
                e.offset,
            ));
        }
        if !names.insert(e.name.as_str()) {
            return Err(ValidationError::new(
                ValidationErrorKind::DuplicateExportName,
                e.offset,
            ));
        }
    }
    Ok(())
}

/// Validates `module`: its module-level rules, then each function body as
/// it is decoded.
pub(crate) fn validate_module(
    module: &Module,
    features: Features,
) -> Result<ModuleInfo, ModuleError> {
    let cx = module_context(module, features)?;
    let mut info = ModuleInfo {
        funcs: Vec::with_capacity(module.code.len()),
        uses_v128_instrs: module.const_exprs_use_v128,
    };
    let n = module.code.len().min(module.funcs.len());
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get().min(MAX_THREADS));
    let ranges = if threads > 1 && module.code_size() >= PARALLEL_THRESHOLD {
        module.split_bodies(threads)
    } else {
        Vec::new()
    };
    let parts: Vec<Result<Vec<(FuncInfo, BodyFacts)>, ModuleError>> = if ranges.len() <= 1 {
        vec![validate_range(&cx, module, 0..n)]
    } else {
        let cx = &cx;
        std::thread::scope(|scope| {
            let mut rest = ranges.into_iter();
            let first = rest.next().unwrap_or(0..0);
            let handles: Vec<_> = rest
                .map(|r| scope.spawn(move || validate_range(cx, module, r)))
                .collect();
            let mut parts = vec![validate_range(cx, module, first)];
            for h in handles {
                // A validator thread only panics on a bug; say so rather than
                // take the host down.
                parts.push(h.join().unwrap_or_else(|_| {
                    Err(ModuleError::Invalid(ValidationError::new(
                        ValidationErrorKind::ValidatorPanicked,
                        0,
                    )))
                }));
            }
            parts
        })
    };
    // In function order, so that the error is the one a single thread would
    // have met first.
    for part in parts {
        for (func_info, facts) in part? {
            info.funcs.push(func_info);
            info.uses_v128_instrs |= facts.uses_v128;
        }
    }
    Ok(info)
}

/// Bytes of function bodies (operators) below which a module is validated on
/// the calling thread: starting a thread costs more than it saves.
const PARALLEL_THRESHOLD: u64 = 64 * 1024;

/// The most threads one module's bodies are validated on.
const MAX_THREADS: usize = 4;

/// Validates the bodies of defined functions `defs`, in order, stopping at the
/// first error.
fn validate_range(
    cx: &Context<'_>,
    module: &Module,
    defs: Range<usize>,
) -> Result<Vec<(FuncInfo, BodyFacts)>, ModuleError> {
    let mut validator = FuncValidator::new(cx);
    let mut decoder = BodyDecoder::new();
    let mut out = Vec::with_capacity(defs.len());
    for i in defs {
        let func = FuncIdx(module.num_imported_funcs + i as u32);
        out.push(validator.validate(func, module.funcs[i], &mut decoder, module, i)?);
    }
    Ok(out)
}

fn collect_refs(module: &Module, cx: &mut Context<'_>) {
    let add_expr = |refs: &mut HashSet<u32>, instrs: &[kiln_parser::Instr]| {
        for i in instrs {
            if let kiln_parser::Instr::RefFunc(f) = i {
                refs.insert(f.0);
            }
        }
    };
    for g in &module.globals {
        add_expr(&mut cx.refs, &g.init.instrs);
    }
    for seg in &module.elems {
        match &seg.items {
            ElemItems::Funcs(funcs) => cx.refs.extend(funcs.iter().map(|f| f.0)),
            ElemItems::Exprs(exprs) => {
                for e in exprs.iter() {
                    add_expr(&mut cx.refs, &e.instrs);
                }
            }
        }
    }
    for e in &module.exports {
        if e.kind == ExternKind::Func {
            cx.refs.insert(e.index);
        }
    }
}
