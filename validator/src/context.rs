//! The validation context `C` of the spec: every index space of a module
//! flattened, imports first, which constant expressions and function bodies
//! are checked in. [`crate::module`] builds it while it checks the
//! module-level rules.

use std::collections::HashSet;

use kiln_parser::{
    CompositeType, Features, FieldType, FuncIdx, FuncType, GlobalType, HeapType, MemoryType,
    Module, RefType, StorageType, SubType, TableType, TypeIdx, ValType,
};

/// The validation context `C` of the spec: every index space flattened, imports first.
#[derive(Debug)]
pub(crate) struct Context<'m> {
    pub(crate) features: Features,
    pub(crate) types: &'m [CompositeType],
    /// Each type's recursion group and supertype.
    pub(crate) subtypes: &'m [SubType],
    /// Each type's identity: the index of the first type equivalent to it
    /// (see [`kiln_parser::rec_group_key`]); filled in by the type checks.
    pub(crate) canon: Vec<u32>,
    /// The type of every tag's payload, imported and defined.
    pub(crate) tags: Vec<TypeIdx>,
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
            subtypes: &module.subtypes,
            canon: Vec::with_capacity(module.types.len()),
            tags: Vec::with_capacity(module.num_tags()),
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

    /// Whether `t` names only types that exist (below `limit` types, inside
    /// the type section).
    pub(crate) fn val_type_ok(&self, t: ValType, limit: usize) -> bool {
        match t {
            ValType::Ref(r) => self.heap_type_ok(r.heap, limit),
            _ => true,
        }
    }

    /// Whether `h` names a type that exists (below `limit`).
    pub(crate) fn heap_type_ok(&self, h: HeapType, limit: usize) -> bool {
        match h {
            HeapType::Concrete(i) => i.index() < limit.min(self.types.len()),
            _ => true,
        }
    }

    /// Whether type `a` is type `b` or declares it as a (transitive) supertype.
    pub(crate) fn is_sub_type(&self, a: TypeIdx, b: TypeIdx) -> bool {
        let id = |t: TypeIdx| self.canon.get(t.index()).copied().unwrap_or(t.0);
        let target = id(b);
        let mut cur = Some(a);
        // Supertypes are declared earlier, so the walk ends; the bound only
        // guards against a malformed chain.
        for _ in 0..=self.types.len() {
            let Some(t) = cur else { return false };
            if id(t) == target {
                return true;
            }
            cur = self.subtypes.get(t.index()).and_then(|s| s.supertype);
        }
        false
    }

    /// The abstract heap type directly above concrete type `t`: `func`,
    /// `struct` or `array` (`func` for a type that does not exist, which
    /// the checks of indices report first).
    fn above(&self, t: TypeIdx) -> HeapType {
        self.types
            .get(t.index())
            .map_or(HeapType::Func, CompositeType::abstract_super)
    }

    /// The top of `h`'s hierarchy (`func`, `extern`, `exn` or `any`), a
    /// concrete type's included.
    pub(crate) fn top_of(&self, h: HeapType) -> HeapType {
        match h {
            HeapType::Concrete(t) => self.above(t).top(),
            h => h.top(),
        }
    }

    /// Whether heap type `a` is a subtype of heap type `b`.
    pub(crate) fn heap_matches(&self, a: HeapType, b: HeapType) -> bool {
        match (a, b) {
            (HeapType::Bot, _) => true,
            (HeapType::Concrete(x), HeapType::Concrete(y)) => self.is_sub_type(x, y),
            (HeapType::Concrete(x), b) => HeapType::abstract_matches(self.above(x), b),
            (a, HeapType::Concrete(y)) => a == self.above(y).bottom(),
            (a, b) => HeapType::abstract_matches(a, b),
        }
    }

    /// Whether a value of type `a` may stand where type `b` is expected.
    pub(crate) fn matches(&self, a: ValType, b: ValType) -> bool {
        match (a, b) {
            (ValType::Ref(a), ValType::Ref(b)) => {
                (!a.nullable || b.nullable) && self.heap_matches(a.heap, b.heap)
            }
            (a, b) => a == b,
        }
    }

    /// Whether every type of `a` matches the type of `b` at its position.
    pub(crate) fn all_match(&self, a: &[ValType], b: &[ValType]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| self.matches(x, y))
    }

    /// Whether reference type `a` matches `b`.
    pub(crate) fn ref_matches(&self, a: RefType, b: RefType) -> bool {
        self.matches(a.into(), b.into())
    }

    /// Whether storage type `a` may stand where `b` is expected: packed
    /// types only for themselves.
    pub(crate) fn storage_matches(&self, a: StorageType, b: StorageType) -> bool {
        match (a, b) {
            (StorageType::Val(a), StorageType::Val(b)) => self.matches(a, b),
            (a, b) => a == b,
        }
    }

    /// Whether field `a` may stand where `b` is expected: same mutability,
    /// and a mutable field's type equivalent, an immutable one's a subtype.
    pub(crate) fn field_matches(&self, a: FieldType, b: FieldType) -> bool {
        a.mutable == b.mutable
            && self.storage_matches(a.storage, b.storage)
            && (!a.mutable || self.storage_matches(b.storage, a.storage))
    }

    /// Type `t`, if it is a function type.
    pub(crate) fn func_sig(&self, t: TypeIdx) -> Option<&'m FuncType> {
        self.types.get(t.index()).and_then(CompositeType::as_func)
    }

    /// The fields of type `t`, if it is a struct type.
    pub(crate) fn struct_fields(&self, t: TypeIdx) -> Option<&'m [FieldType]> {
        self.types.get(t.index()).and_then(CompositeType::as_struct)
    }

    /// The element type of type `t`, if it is an array type.
    pub(crate) fn array_elem(&self, t: TypeIdx) -> Option<FieldType> {
        self.types.get(t.index()).and_then(CompositeType::as_array)
    }

    /// The signature of function `f`, if both exist.
    pub(crate) fn func_type(&self, f: FuncIdx) -> Option<&'m FuncType> {
        self.funcs.get(f.index()).and_then(|&t| self.func_sig(t))
    }
}
