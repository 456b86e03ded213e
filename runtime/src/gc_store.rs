//! What the store adds to its GC heap: each type's layout, made once;
//! allocation that collects when the heap is full, with the roots the store
//! holds itself plus those the running tier gives; and `ref.test`'s answer
//! for a reference of the `any` hierarchy.

use std::sync::Arc;

use kiln_parser::{CompositeType, HeapType, RefType, ValType};

use crate::gc::{AnyRef, GcError, GcHeap, Layout, ObjIdx};
use crate::store::Store;
use crate::trap::{Trap, TrapCode};
use crate::value::RawRef;
use crate::value::SigId;

/// Whether values of store-level type `t` are of the `any` or `extern`
/// hierarchy, whose references may be GC objects (an `externref` may be
/// `extern.convert_any` of one).
pub fn holds_gc_refs(store: &Store, t: RefType) -> bool {
    matches!(store.top_of(t.heap), HeapType::Any | HeapType::Extern)
}

impl Store {
    /// The layout of struct or array type `ty`, made on first use; `None`
    /// for a function type or an id the store does not have.
    pub fn gc_layout(&mut self, ty: SigId) -> Option<Arc<Layout>> {
        if let Some(Some(layout)) = self.gc_layouts.get(ty.index()) {
            return Some(Arc::clone(layout));
        }
        let is_gc = |r: RefType| holds_gc_refs(self, r);
        let layout = Arc::new(Layout::of(self.sigs.get(ty.index())?, &is_gc)?);
        if self.gc_layouts.len() <= ty.index() {
            self.gc_layouts.resize(ty.index() + 1, None);
        }
        self.gc_layouts[ty.index()] = Some(Arc::clone(&layout));
        Some(layout)
    }

    /// Allocates a zeroed object of type `ty` with `len` elements (0 for a
    /// struct). When it does not fit, the heap is collected first, with the
    /// store's own roots ([`Store::gc_store_roots`]) and those
    /// `stack_roots` adds (the running tier's frames), unless some frames'
    /// roots are out of sight: a suspended resumable call's, an epoch
    /// callback's interrupted frames, or native frames under the tiered
    /// strategy, which cannot be scanned yet.
    ///
    /// # Errors
    ///
    /// A trap: `out of GC heap memory` if the object does not fit even after
    /// the collection (see the heap's docs for why this is deterministic).
    pub fn gc_alloc(
        &mut self,
        ty: SigId,
        len: u32,
        stack_roots: &mut dyn FnMut(&mut Vec<RawRef>),
    ) -> Result<ObjIdx, Trap> {
        let Some(layout) = self.gc_layout(ty) else {
            return Err(TrapCode::GcHeapExhausted.into());
        };
        let size = GcHeap::object_size(&layout, len);
        if !self.gc.fits(size) && self.may_collect() {
            let mut roots = Vec::new();
            stack_roots(&mut roots);
            self.gc_store_roots(&mut roots);
            self.gc.collect(roots);
        }
        self.gc.alloc(ty, layout, len).map_err(|e| match e {
            GcError::Exhausted | GcError::OutOfBounds | GcError::Dangling => {
                TrapCode::GcHeapExhausted.into()
            }
        })
    }

    /// Whether every frame that may hold GC objects is in sight: no scope of
    /// [`Store::gc_no_collect`] is open, no resumable call is suspended, and
    /// no native frame can hold one (the tiered strategy's frames have no
    /// stack maps yet).
    fn may_collect(&mut self) -> bool {
        self.gc_suspended
            .retain(|s| s.load(std::sync::atomic::Ordering::Relaxed));
        self.gc_no_collect == 0 && self.gc_suspended.is_empty() && self.wasm_invoke.is_none()
    }

    /// Adds to `out` every reference the store holds that may be a GC
    /// object: globals, tables, element segments and exception payloads of
    /// the `any` and `extern` hierarchies, the values the host has rooted,
    /// and the frozen roots of executions waiting for a host function.
    pub fn gc_store_roots(&self, out: &mut Vec<RawRef>) {
        for g in &self.globals {
            if let ValType::Ref(r) = g.ty.content
                && holds_gc_refs(self, r)
            {
                out.push(RawRef(g.bits as u32));
            }
        }
        for t in &self.tables {
            if holds_gc_refs(self, t.ty().element) {
                out.extend_from_slice(t.elems());
            }
        }
        for e in &self.elems {
            if e.gc {
                out.extend_from_slice(&e.items);
            }
        }
        for exn in &self.exns {
            let params = self
                .tags
                .get(exn.tag.index())
                .and_then(|t| self.sigs.get(t.sig.index()))
                .and_then(CompositeType::as_func)
                .map_or(&[][..], |f| &f.params[..]);
            for (&t, &bits) in params.iter().zip(exn.payload.iter()) {
                if let ValType::Ref(r) = t
                    && holds_gc_refs(self, r)
                {
                    out.push(RawRef(bits as u32));
                }
            }
        }
        out.extend(self.gc_host_roots.iter().copied());
        out.extend(self.gc_frozen.iter().copied());
    }

    /// `ref.test` of `raw`, a reference of the `any` hierarchy, against
    /// store-level type `target` of that hierarchy (concrete types given as
    /// store-wide ids).
    pub fn gc_ref_test(&self, raw: RawRef, target: RefType) -> bool {
        let obj_ty = |o: ObjIdx| self.gc.ty(o).ok();
        match (AnyRef::decode(raw), target.heap) {
            (AnyRef::Null, _) => target.nullable,
            (_, HeapType::Any) => true,
            (AnyRef::I31(_), h) => matches!(h, HeapType::Eq | HeapType::I31),
            (AnyRef::Host(_), _) => false,
            (AnyRef::Object(o), HeapType::Eq) => self.gc.contains(o),
            (AnyRef::Object(o), HeapType::Struct) => self.gc.layout(o).is_ok_and(|l| !l.is_array()),
            (AnyRef::Object(o), HeapType::Array) => self.gc.layout(o).is_ok_and(Layout::is_array),
            (AnyRef::Object(o), HeapType::Concrete(t)) => {
                obj_ty(o).is_some_and(|ty| self.sig_matches(ty, SigId(t.0)))
            }
            (AnyRef::Object(_), _) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use kiln_parser::{FieldRead, FieldType, Module, StorageType, SubType, TypeIdx};

    use super::*;
    use crate::store::StoreLimits;

    /// A store with struct types `$a` and `$b <: $a` (each with one `i32`
    /// field, `$b` one more), and array type `$c` of `i8`, interned from a
    /// module; their ids.
    fn store_with_types(limit: u64) -> (Store, [SigId; 3]) {
        let field = |t| FieldType {
            storage: t,
            mutable: true,
        };
        let i32f = field(StorageType::Val(ValType::I32));
        let mut module = Module::default();
        module.types = vec![
            CompositeType::Struct([i32f].into()),
            CompositeType::Struct([i32f, i32f].into()),
            CompositeType::Array(field(StorageType::I8)),
        ];
        let sub = |i: u32, supertype| SubType {
            group_start: TypeIdx(i),
            group_len: 1,
            supertype,
            is_final: false,
        };
        module.subtypes = vec![sub(0, None), sub(1, Some(TypeIdx(0))), sub(2, None)];
        let mut store = Store::new(StoreLimits {
            max_gc_heap_bytes: limit,
            ..StoreLimits::default()
        });
        let ids = store.intern_module_types(&module);
        (store, [ids[0], ids[1], ids[2]])
    }

    #[test]
    fn casts_follow_kinds_and_declared_supertypes() {
        let (mut store, [a, b, c]) = store_with_types(1 << 20);
        let none = &mut |_: &mut Vec<RawRef>| {};
        let sa = AnyRef::Object(store.gc_alloc(a, 0, none).expect("fits")).encode();
        let sb = AnyRef::Object(store.gc_alloc(b, 0, none).expect("fits")).encode();
        let ac = AnyRef::Object(store.gc_alloc(c, 3, none).expect("fits")).encode();
        let i31 = AnyRef::i31(5);
        let host = AnyRef::Host(0).encode();
        let concrete = |id: SigId| RefType::non_null(HeapType::Concrete(TypeIdx(id.0)));
        let abs = RefType::non_null;
        let cases = [
            (sa, concrete(a), true),
            (sb, concrete(a), true),
            (sa, concrete(b), false),
            (ac, concrete(a), false),
            (sa, abs(HeapType::Struct), true),
            (ac, abs(HeapType::Struct), false),
            (ac, abs(HeapType::Array), true),
            (ac, abs(HeapType::Eq), true),
            (i31, abs(HeapType::Eq), true),
            (i31, abs(HeapType::I31), true),
            (i31, abs(HeapType::Struct), false),
            (host, abs(HeapType::Any), true),
            (host, abs(HeapType::Eq), false),
            (sa, abs(HeapType::None), false),
            (RawRef::NULL, abs(HeapType::Any), false),
            (RawRef::NULL, RefType::null(HeapType::None), true),
        ];
        for (raw, target, expected) in cases {
            assert_eq!(
                store.gc_ref_test(raw, target),
                expected,
                "{:?} as {target}",
                AnyRef::decode(raw)
            );
        }
        assert!(store.gc_layout(SigId(999)).is_none());
    }

    #[test]
    fn allocation_collects_with_the_stores_roots_and_the_tiers() {
        let (mut store, [a, _, c]) = store_with_types(0);
        let size = GcHeap::object_size(&store.gc_layout(a).expect("a struct"), 0);
        store.gc = GcHeap::new(4 * size);
        // One object kept by the host, one by the tier, two garbage.
        let none = &mut |_: &mut Vec<RawRef>| {};
        let host = store.gc_alloc(a, 0, none).expect("fits");
        store.gc_host_roots.push(AnyRef::Object(host).encode());
        let stack = store.gc_alloc(a, 0, none).expect("fits");
        store.gc_alloc(a, 0, none).expect("fits");
        store.gc_alloc(a, 0, none).expect("fits");
        let stack_ref = AnyRef::Object(stack).encode();
        let mut tier = |out: &mut Vec<RawRef>| out.push(stack_ref);
        let fifth = store
            .gc_alloc(a, 0, &mut tier)
            .expect("fits after a collection");
        assert_eq!(store.gc.stats().collections, 1);
        assert!(store.gc.contains(host) && store.gc.contains(stack) && store.gc.contains(fifth));
        assert_eq!(store.gc.len(), 3);
        store
            .gc
            .struct_set(fifth, 0, 42)
            .expect("a field of a fresh object");
        assert_eq!(store.gc.struct_get(fifth, 0, FieldRead::Plain), Ok(42));
        // Everything reachable and full: the next one traps.
        let fifth_ref = AnyRef::Object(fifth).encode();
        let sixth = store
            .gc_alloc(a, 0, &mut |out| out.extend([stack_ref, fifth_ref]))
            .expect("one slot left");
        let sixth_ref = AnyRef::Object(sixth).encode();
        let mut held = Vec::new();
        store.gc_store_roots(&mut held);
        assert_eq!(held, [AnyRef::Object(host).encode()]);
        let err = store
            .gc_alloc(c, 1, &mut |out| {
                out.extend([stack_ref, fifth_ref, sixth_ref])
            })
            .expect_err("the heap is full of live objects");
        assert_eq!(err.code(), Some(TrapCode::GcHeapExhausted));
    }

    /// While a resumable call is suspended (its flag set) the heap is not
    /// collected; once its flag is cleared (resumed or dropped), it is.
    #[test]
    fn suspended_calls_hold_collection_off() {
        let (mut store, [a, _, _]) = store_with_types(0);
        let size = GcHeap::object_size(&store.gc_layout(a).expect("a struct"), 0);
        store.gc = GcHeap::new(2 * size);
        let none = &mut |_: &mut Vec<RawRef>| {};
        store.gc_alloc(a, 0, none).expect("fits");
        store.gc_alloc(a, 0, none).expect("fits");
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        store.gc_suspended.push(std::sync::Arc::clone(&flag));
        let err = store
            .gc_alloc(a, 0, none)
            .expect_err("no collection while a call is suspended");
        assert_eq!(err.code(), Some(TrapCode::GcHeapExhausted));
        assert_eq!(store.gc.stats().collections, 0);
        flag.store(false, std::sync::atomic::Ordering::Relaxed);
        store.gc_alloc(a, 0, none).expect("collected, then fits");
        assert_eq!(store.gc.stats().collections, 1);
        assert!(store.gc_suspended.is_empty(), "cleared flags are dropped");
        // And within an epoch callback's scope, none either.
        store.gc_no_collect += 1;
        store.gc_alloc(a, 0, none).expect("one slot left");
        assert!(store.gc_alloc(a, 0, none).is_err());
        store.gc_no_collect -= 1;
        store.gc_alloc(a, 0, none).expect("collected");
    }
}
