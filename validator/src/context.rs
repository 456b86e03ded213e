//! The validation context `C` of the spec: every index space of a module
//! flattened, imports first, which constant expressions and function bodies
//! are checked in. [`crate::module`] builds it while it checks the
//! module-level rules.

use std::collections::HashSet;

use kiln_parser::{
    Features, FuncIdx, FuncType, GlobalType, MemoryType, Module, RefType, TableType, TypeIdx,
};

/// The validation context `C` of the spec: every index space flattened, imports first.
#[derive(Debug)]
pub(crate) struct Context<'m> {
    pub(crate) features: Features,
    pub(crate) types: &'m [FuncType],
    /// Type of every function, imported and defined.
    pub(crate) funcs: Vec<TypeIdx>,
    pub(crate) tables: Vec<TableType>,
    pub(crate) memories: Vec<MemoryType>,
    pub(crate) globals: Vec<GlobalType>,
    /// Type of every element segment.
    pub(crate) elems: Vec<RefType>,
    /// Number of data segments `memory.init` and `data.drop` may name.
    pub(crate) datas: u32,
    /// Functions that may be named by `ref.func` inside function bodies.
    pub(crate) refs: HashSet<u32>,
}

impl<'m> Context<'m> {
    /// The context of `module` before any function, table, memory or global
    /// is declared: its types, element segment types and data count only.
    pub(crate) fn new(module: &'m Module, features: Features) -> Context<'m> {
        Context {
            features,
            types: &module.types,
            funcs: Vec::with_capacity(module.num_funcs()),
            tables: Vec::with_capacity(module.num_tables()),
            memories: Vec::with_capacity(module.num_memories()),
            globals: Vec::with_capacity(module.num_globals()),
            elems: module.elems.iter().map(|e| e.ty).collect(),
            datas: module.data_count.unwrap_or(module.datas.len() as u32),
            refs: HashSet::new(),
        }
    }

    pub(crate) fn num_funcs(&self) -> usize {
        self.funcs.len()
    }

    /// The signature of function `f`, if both exist.
    pub(crate) fn func_type(&self, f: FuncIdx) -> Option<&FuncType> {
        self.funcs
            .get(f.index())
            .and_then(|t| self.types.get(t.index()))
    }
}
