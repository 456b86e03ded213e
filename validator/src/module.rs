//! Module-level validation: the index spaces (the spec's context `C`, in
//! [`crate::context`]), types of imports and definitions, segments, exports
//! and the start function. Function bodies are checked by [`crate::func`].

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use kiln_parser::{
    BodyDecoder, BodyFacts, CompositeType, DataMode, ElemItems, ElemMode, ExternKind, Features,
    FieldType, FuncIdx, ImportKind, IndexType, Instr, Limits, MemoryType, Module, StorageType,
    TableType, TypeIdx, ValType, rec_group_key,
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

/// Checks that type `t` exists and is a function type (of a function or a
/// tag): "unknown type" or "type mismatch".
fn check_func_type_idx(
    types: &[CompositeType],
    t: TypeIdx,
    offset: u64,
) -> Result<(), ValidationError> {
    match types.get(t.index()) {
        None => Err(ValidationError::new(
            ValidationErrorKind::unknown(IndexSpace::Type, t.0),
            offset,
        )),
        Some(CompositeType::Func(_)) => Ok(()),
        Some(_) => Err(ValidationError::new(
            ValidationErrorKind::TypeMismatch,
            offset,
        )),
    }
}

/// The value types a type of the type section names: a function's
/// parameters and results, a struct's fields, an array's elements.
fn val_types_of(ty: &CompositeType) -> Box<dyn Iterator<Item = ValType> + '_> {
    let field = |f: &FieldType| match f.storage {
        StorageType::Val(t) => Some(t),
        StorageType::I8 | StorageType::I16 => None,
    };
    match ty {
        CompositeType::Func(f) => Box::new(f.params.iter().chain(f.results.iter()).copied()),
        CompositeType::Struct(fields) => Box::new(fields.iter().filter_map(field)),
        CompositeType::Array(elem) => Box::new(field(elem).into_iter()),
    }
}

/// Whether type `sub` may declare `sup` its supertype: the same kind, and
/// a function's parameters contravariant and results covariant, a struct's
/// fields a prefix extended, an array's element matched (see
/// [`Context::field_matches`]).
fn composite_matches(cx: &Context<'_>, sub: &CompositeType, sup: &CompositeType) -> bool {
    match (sub, sup) {
        (CompositeType::Func(a), CompositeType::Func(b)) => {
            cx.all_match(&b.params, &a.params) && cx.all_match(&a.results, &b.results)
        }
        (CompositeType::Struct(a), CompositeType::Struct(b)) => {
            a.len() >= b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|(x, y)| cx.field_matches(*x, *y))
        }
        (CompositeType::Array(a), CompositeType::Array(b)) => cx.field_matches(*a, *b),
        _ => false,
    }
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

fn check_table_type(t: &TableType, cx: &Context<'_>, offset: u64) -> Result<(), ValidationError> {
    let features = cx.features;
    if !cx.heap_type_ok(t.element.heap, usize::MAX) {
        return Err(unknown_heap_type(t.element.heap, offset));
    }
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

/// "unknown type" for a heap type that names no type.
fn unknown_heap_type(h: kiln_parser::HeapType, offset: u64) -> ValidationError {
    let index = match h {
        kiln_parser::HeapType::Concrete(t) => t.0,
        _ => 0,
    };
    ValidationError::new(
        ValidationErrorKind::unknown(IndexSpace::Type, index),
        offset,
    )
}

/// Checks that `t` names only types that exist.
fn check_val_type(cx: &Context<'_>, t: ValType, offset: u64) -> Result<(), ValidationError> {
    match t {
        ValType::Ref(r) if !cx.heap_type_ok(r.heap, usize::MAX) => {
            Err(unknown_heap_type(r.heap, offset))
        }
        _ => Ok(()),
    }
}

/// Checks the type section group by group: references name only types of
/// the group or before it, declared supertypes exist, come earlier, are not
/// final and are matched; and gives each type its identity (`cx.canon`),
/// shared by equivalent recursion groups.
fn check_types(module: &Module, cx: &mut Context<'_>) -> Result<(), ValidationError> {
    let at = module.section_offsets.types;
    let mismatch = |kind| Err(ValidationError::new(kind, at));
    let mut groups: HashMap<kiln_parser::RecGroupKey, u32> = HashMap::new();
    for group in module.rec_groups() {
        let (start, end) = (group.start, group.end);
        for ty in &module.types[start..end] {
            for t in val_types_of(ty) {
                if !cx.val_type_ok(t, end) {
                    return Err(unknown_heap_type(
                        t.as_ref().map_or(kiln_parser::HeapType::Func, |r| r.heap),
                        at,
                    ));
                }
            }
        }
        // Identities of this group: an equivalent earlier group's, or its own.
        let key = rec_group_key(
            &module.types,
            &module.subtypes,
            TypeIdx(start as u32),
            |t| cx.canon.get(t.index()).copied().unwrap_or(t.0),
        );
        let first = *groups.entry(key).or_insert(start as u32);
        for i in 0..(end - start) {
            cx.canon.push(first + i as u32);
        }
        for i in start..end {
            let Some(sup) = module.subtypes.get(i).and_then(|s| s.supertype) else {
                continue;
            };
            if sup.index() >= i {
                return mismatch(ValidationErrorKind::unknown(IndexSpace::Type, sup.0));
            }
            let (Some(sub_ty), Some(sup_ty), Some(sup_info)) = (
                module.types.get(i),
                module.types.get(sup.index()),
                module.subtypes.get(sup.index()),
            ) else {
                return mismatch(ValidationErrorKind::SubType);
            };
            if sup_info.is_final || !composite_matches(cx, sub_ty, sup_ty) {
                return mismatch(ValidationErrorKind::SubType);
            }
        }
    }
    Ok(())
}

/// Checks a tag's type: it exists and has no results.
fn check_tag_type(cx: &Context<'_>, t: TypeIdx, offset: u64) -> Result<(), ValidationError> {
    check_func_type_idx(cx.types, t, offset)?;
    if cx.func_sig(t).is_some_and(|ty| !ty.results.is_empty()) {
        return Err(ValidationError::new(
            ValidationErrorKind::NonEmptyTagResult,
            offset,
        ));
    }
    Ok(())
}

/// Checks the module-level rules and builds the context that function
/// bodies are checked in, in the order the rules have always been checked
/// (so that a module breaking several reports the same one).
fn module_context(module: &Module, features: Features) -> Result<Context<'_>, ValidationError> {
    check_counts(module)?;
    check_type_sizes(module)?;
    let mut cx = Context::new(module, features);
    check_types(module, &mut cx)?;
    declare_imports(module, &mut cx)?;
    let imported_globals = cx.globals.len();
    declare_definitions(module, &mut cx)?;
    // C.refs: functions named anywhere outside function bodies and the start section.
    collect_refs(module, &mut cx);
    check_table_inits(module, &cx, imported_globals)?;
    // Globals see only the imported globals in 2.0; in 3.0 every global
    // before them. They are added one by one.
    for g in &module.globals {
        check_val_type(&cx, g.ty.content, g.init.offset)?;
        let visible = if features.function_references {
            cx.globals.len()
        } else {
            imported_globals
        };
        check_const_expr(&cx, &g.init, g.ty.content, visible)?;
        cx.globals.push(g.ty);
    }
    let visible = if features.function_references {
        cx.globals.len()
    } else {
        imported_globals
    };
    check_elems(module, &cx, visible)?;
    check_datas(module, &cx, visible)?;
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
        let ty = match ty {
            CompositeType::Func(f) => f,
            CompositeType::Struct(fields) => {
                if fields.len() > limits::MAX_STRUCT_FIELDS {
                    return Err(ValidationError::new(
                        ValidationErrorKind::LimitExceeded(ImplLimit::StructFields),
                        at,
                    ));
                }
                continue;
            }
            CompositeType::Array(_) => continue,
        };
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
                check_func_type_idx(&module.types, t, imp.offset)?;
                cx.funcs.push(t);
            }
            ImportKind::Table(t) => {
                check_table_type(&t, cx, imp.offset)?;
                cx.tables.push(t);
            }
            ImportKind::Tag(t) => {
                check_tag_type(cx, t, imp.offset)?;
                cx.tags.push(t);
            }
            ImportKind::Memory(m) => {
                check_memory_type(&m, cx.features, imp.offset)?;
                cx.memories.push(m);
            }
            ImportKind::Global(g) => {
                check_val_type(cx, g.content, imp.offset)?;
                cx.globals.push(g);
            }
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
        check_func_type_idx(&module.types, t, at.funcs)?;
        cx.funcs.push(t);
    }
    for t in &module.tables {
        check_table_type(&t.ty, cx, at.tables)?;
        cx.tables.push(t.ty);
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
    for &t in &module.tags {
        check_tag_type(cx, t, at.types)?;
        cx.tags.push(t);
    }
    Ok(())
}

/// Checks each defined table's initialiser: one is required where the
/// element type excludes null.
fn check_table_inits(
    module: &Module,
    cx: &Context<'_>,
    visible_globals: usize,
) -> Result<(), ValidationError> {
    for t in &module.tables {
        match &t.init {
            Some(init) => check_const_expr(cx, init, t.ty.element.into(), visible_globals)?,
            None if !t.ty.element.nullable => {
                return Err(ValidationError::new(
                    ValidationErrorKind::TableWithoutInit,
                    module.section_offsets.tables,
                ));
            }
            None => {}
        }
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
        check_val_type(cx, ty, seg.offset)?;
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
            if !cx.ref_matches(seg.ty, t.element) {
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
            ExternKind::Tag => (cx.tags.len(), IndexSpace::Tag),
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
        uses_typed_ref_instrs: false,
        uses_exception_instrs: false,
        declares_subtypes: module.subtypes.iter().any(|s| s.supertype.is_some()),
        uses_gc: module.types.iter().any(|t| t.as_func().is_none())
            || const_exprs(module).any(|e| e.instrs.iter().any(|i| matches!(i, Instr::Gc(_)))),
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
            info.uses_v128_instrs |= facts.uses_v128;
            info.uses_typed_ref_instrs |= func_info.uses_typed_refs;
            info.uses_exception_instrs |= func_info.uses_exceptions;
            info.uses_gc |= func_info.uses_gc;
            info.funcs.push(func_info);
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

/// Every constant expression of the module: global and table initialisers,
/// element items and segment offsets.
fn const_exprs(module: &Module) -> impl Iterator<Item = &kiln_parser::ConstExpr> {
    let globals = module.globals.iter().map(|g| &g.init);
    let tables = module.tables.iter().filter_map(|t| t.init.as_ref());
    let elems = module.elems.iter().flat_map(|seg| {
        let items: &[kiln_parser::ConstExpr] = match &seg.items {
            ElemItems::Exprs(exprs) => exprs,
            ElemItems::Funcs(_) => &[],
        };
        let offset = match &seg.mode {
            ElemMode::Active { offset, .. } => Some(offset),
            _ => None,
        };
        items.iter().chain(offset)
    });
    let datas = module.datas.iter().filter_map(|d| match &d.mode {
        DataMode::Active { offset, .. } => Some(offset),
        _ => None,
    });
    globals.chain(tables).chain(elems).chain(datas)
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
    for t in &module.tables {
        if let Some(init) = &t.init {
            add_expr(&mut cx.refs, &init.instrs);
        }
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
