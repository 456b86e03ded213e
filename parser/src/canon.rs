//! Canonical forms of recursion groups: when two type indices, of one module
//! or of two, denote the same type.
//!
//! WebAssembly 3.0's types are iso-recursive: a recursion group (each type
//! outside an explicit `rec` is a group of its own) is compared as a whole,
//! structurally, with references to types inside the group compared by
//! position and references to types outside it compared by identity. The
//! validator uses module-wide identities (the first index of an equivalent
//! group); the runtime uses store-wide signature ids. Both build the same
//! [`RecGroupKey`] and intern it in a map.

use crate::types::{
    CompositeType, FieldType, FuncType, HeapType, RefType, StorageType, SubType, TypeIdx, ValType,
};

/// The tag of an index that points inside its own recursion group.
const INSIDE: u32 = 1 << 31;

/// A recursion group in canonical form: two groups with equal keys define
/// the same types, position by position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecGroupKey(Box<[(CompositeType, Option<TypeIdx>, bool)]>);

/// `t` with a concrete heap type's index replaced by `f(index)`.
fn map_val(t: ValType, f: &mut impl FnMut(TypeIdx) -> TypeIdx) -> ValType {
    match t {
        ValType::Ref(RefType {
            nullable,
            heap: HeapType::Concrete(i),
        }) => ValType::Ref(RefType {
            nullable,
            heap: HeapType::Concrete(f(i)),
        }),
        other => other,
    }
}

impl FuncType {
    /// This type with every concrete heap type's index replaced by `f(index)`.
    pub fn map_types(&self, mut f: impl FnMut(TypeIdx) -> TypeIdx) -> FuncType {
        FuncType {
            params: self.params.iter().map(|&t| map_val(t, &mut f)).collect(),
            results: self.results.iter().map(|&t| map_val(t, &mut f)).collect(),
        }
    }
}

impl FieldType {
    /// This field with a concrete heap type's index replaced by `f(index)`.
    pub fn map_types(self, f: &mut impl FnMut(TypeIdx) -> TypeIdx) -> FieldType {
        let storage = match self.storage {
            StorageType::Val(t) => StorageType::Val(map_val(t, f)),
            packed => packed,
        };
        FieldType { storage, ..self }
    }
}

impl CompositeType {
    /// This type with every concrete heap type's index replaced by `f(index)`.
    pub fn map_types(&self, mut f: impl FnMut(TypeIdx) -> TypeIdx) -> CompositeType {
        match self {
            CompositeType::Func(ty) => CompositeType::Func(ty.map_types(f)),
            CompositeType::Struct(fields) => {
                CompositeType::Struct(fields.iter().map(|x| x.map_types(&mut f)).collect())
            }
            CompositeType::Array(elem) => CompositeType::Array(elem.map_types(&mut f)),
        }
    }
}

/// The canonical form of a lone final function type without supertype
/// whose concrete heap types are identities already (store-wide ids, as in
/// the function types of host functions).
pub fn final_type_key(ty: &FuncType) -> RecGroupKey {
    RecGroupKey(Box::new([(
        CompositeType::Func(ty.map_types(|t| TypeIdx(t.0 & !INSIDE))),
        None,
        true,
    )]))
}

/// The canonical form of the recursion group that starts at `start`, where
/// `types` and `subtypes` are a module's type section and `outside(i)` gives
/// the identity of a type `i` before the group (below 2^31). Indices past
/// the group must have been rejected before (they are mapped through
/// `outside` too).
pub fn rec_group_key(
    types: &[CompositeType],
    subtypes: &[SubType],
    start: TypeIdx,
    mut outside: impl FnMut(TypeIdx) -> u32,
) -> RecGroupKey {
    let first = start.index();
    let len = subtypes.get(first).map_or(0, |s| s.group_len as usize);
    let mut canon = |i: TypeIdx| {
        if i.index() >= first && i.index() < first + len {
            TypeIdx(INSIDE | (i.0 - start.0))
        } else {
            TypeIdx(outside(i) & !INSIDE)
        }
    };
    RecGroupKey(
        (first..first + len)
            .filter_map(|i| Some((types.get(i)?, subtypes.get(i)?)))
            .map(|(ty, sub)| {
                let ty = ty.map_types(&mut canon);
                (ty, sub.supertype.map(&mut canon), sub.is_final)
            })
            .collect(),
    )
}
