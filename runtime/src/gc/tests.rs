use std::sync::Arc;

use kiln_parser::{CompositeType, FieldRead, FieldType, RefType, StorageType, ValType};

use super::*;

fn field(storage: StorageType) -> FieldType {
    FieldType {
        storage,
        mutable: true,
    }
}

/// A struct of an `i8`, an `i32` and an `anyref`.
fn node() -> Arc<Layout> {
    let ty = CompositeType::Struct(
        [
            field(StorageType::I8),
            field(StorageType::Val(ValType::I32)),
            field(StorageType::Val(ValType::Ref(RefType::null(
                kiln_parser::HeapType::Any,
            )))),
        ]
        .into(),
    );
    Arc::new(Layout::of(&ty, &super::layout::tests::gc_refs).expect("a struct"))
}

fn array(storage: StorageType) -> Arc<Layout> {
    Arc::new(
        Layout::of(
            &CompositeType::Array(field(storage)),
            &super::layout::tests::gc_refs,
        )
        .expect("an array"),
    )
}

fn obj(o: ObjIdx) -> RawRef {
    AnyRef::Object(o).encode()
}

const T: SigId = SigId(7);

#[test]
fn struct_fields_keep_their_values() {
    let mut heap = GcHeap::new(1 << 20);
    let o = heap.alloc(T, node(), 0).expect("fits");
    assert_eq!(heap.ty(o), Ok(T));
    assert_eq!(heap.struct_get(o, 1, FieldRead::Plain), Ok(0), "zeroed");
    heap.struct_set(o, 0, 0x80).expect("a field");
    heap.struct_set(o, 1, 0xdead_beef).expect("a field");
    assert_eq!(heap.struct_get(o, 0, FieldRead::Signed), Ok(0xffff_ff80));
    assert_eq!(heap.struct_get(o, 0, FieldRead::Unsigned), Ok(0x80));
    assert_eq!(heap.struct_get(o, 1, FieldRead::Plain), Ok(0xdead_beef));
    assert_eq!(
        heap.struct_get(o, 3, FieldRead::Plain),
        Err(GcError::Dangling)
    );
    assert_eq!(
        heap.struct_get(ObjIdx(99), 0, FieldRead::Plain),
        Err(GcError::Dangling)
    );
}

#[test]
fn arrays_check_their_bounds() {
    let mut heap = GcHeap::new(1 << 20);
    let a = heap
        .alloc(T, array(StorageType::Val(ValType::I64)), 4)
        .expect("fits");
    assert_eq!(heap.array_len(a), Ok(4));
    heap.array_fill(a, 1, 9, 3).expect("in bounds");
    assert_eq!(heap.array_get(a, 0, FieldRead::Plain), Ok(0));
    assert_eq!(heap.array_get(a, 3, FieldRead::Plain), Ok(9));
    assert_eq!(
        heap.array_get(a, 4, FieldRead::Plain),
        Err(GcError::OutOfBounds)
    );
    assert_eq!(heap.array_fill(a, 2, 1, 3), Err(GcError::OutOfBounds));
    assert_eq!(
        heap.array_fill(a, u32::MAX, 1, 2),
        Err(GcError::OutOfBounds)
    );
    // An empty range at the end is in bounds.
    assert_eq!(heap.array_fill(a, 4, 1, 0), Ok(()));
    assert_eq!(heap.array_set(a, 4, 1), Err(GcError::OutOfBounds));
}

#[test]
fn array_copy_overlaps_either_way() {
    let mut heap = GcHeap::new(1 << 20);
    let a = heap.alloc(T, array(StorageType::I8), 6).expect("fits");
    heap.array_write_bytes(a, 0, &[1, 2, 3, 4, 5, 6])
        .expect("in bounds");
    heap.array_copy(a, 1, a, 0, 4).expect("in bounds");
    let bytes = |heap: &GcHeap| -> Vec<u128> {
        (0..6)
            .map(|i| {
                heap.array_get(a, i, FieldRead::Unsigned)
                    .expect("in bounds")
            })
            .collect()
    };
    assert_eq!(bytes(&heap), [1, 1, 2, 3, 4, 6]);
    heap.array_copy(a, 0, a, 2, 4).expect("in bounds");
    assert_eq!(bytes(&heap), [2, 3, 4, 6, 4, 6]);
    let b = heap.alloc(T, array(StorageType::I8), 2).expect("fits");
    heap.array_copy(b, 0, a, 4, 2).expect("in bounds");
    assert_eq!(heap.array_get(b, 1, FieldRead::Signed), Ok(6));
    assert_eq!(heap.array_copy(b, 1, a, 0, 2), Err(GcError::OutOfBounds));
    assert_eq!(heap.array_copy(b, 0, a, 5, 2), Err(GcError::OutOfBounds));
    // Data writes take whole elements only.
    let w = heap.alloc(T, array(StorageType::I16), 2).expect("fits");
    heap.array_write_bytes(w, 0, &[0x01, 0x80, 0x02])
        .expect("one element");
    assert_eq!(heap.array_get(w, 0, FieldRead::Signed), Ok(0xffff_8001));
    assert_eq!(heap.array_get(w, 1, FieldRead::Unsigned), Ok(0));
    assert_eq!(
        heap.array_write_bytes(w, 1, &[0, 0, 0, 0]),
        Err(GcError::OutOfBounds)
    );
}

#[test]
fn collection_frees_what_is_unreachable_cycles_included() {
    let mut heap = GcHeap::new(1 << 20);
    let refs = array(StorageType::Val(ValType::Ref(RefType::null(
        kiln_parser::HeapType::Any,
    ))));
    // kept -> a -> b -> a (a cycle reachable from a root), c <-> d (a cycle
    // that is not), e alone.
    let kept = heap.alloc(T, Arc::clone(&refs), 2).expect("fits");
    let (a, b, c, d, e) = (
        heap.alloc(T, node(), 0).expect("fits"),
        heap.alloc(T, node(), 0).expect("fits"),
        heap.alloc(T, node(), 0).expect("fits"),
        heap.alloc(T, node(), 0).expect("fits"),
        heap.alloc(T, node(), 0).expect("fits"),
    );
    heap.array_write_refs(kept, 0, &[obj(a), AnyRef::I31(5).encode()])
        .expect("in bounds");
    for (from, to) in [(a, b), (b, a), (c, d), (d, c)] {
        heap.struct_set(from, 2, u128::from(obj(to).0))
            .expect("a field");
    }
    let before = heap.bytes();
    heap.collect([obj(kept), RawRef::NULL, AnyRef::Host(3).encode()]);
    for live in [kept, a, b] {
        assert!(heap.contains(live), "{live:?} was freed");
    }
    for dead in [c, d, e] {
        assert!(!heap.contains(dead), "{dead:?} was kept");
    }
    let node_size = GcHeap::object_size(&node(), 0);
    assert_eq!(heap.bytes(), before - 3 * node_size);
    assert_eq!(heap.len(), 3);
    assert_eq!(heap.stats().freed_objects, 3);
    // Freed slots are reused.
    let f = heap.alloc(T, node(), 0).expect("fits");
    assert!([c, d, e].contains(&f), "{f:?}");
    // No roots: everything goes.
    heap.collect([]);
    assert!(heap.is_empty());
    assert_eq!(heap.bytes(), 0);
}

/// Allocates `count` nodes in a chain or as garbage, collecting (with the
/// chain's head as the only root) whenever one does not fit: how a store
/// allocates. Returns how many were allocated before the heap was
/// exhausted, and the collections run.
fn allocate(heap: &mut GcHeap, count: u32, keep: bool) -> (u32, u64) {
    let layout = node();
    let size = GcHeap::object_size(&layout, 0);
    let mut head = RawRef::NULL;
    for i in 0..count {
        if !heap.fits(size) {
            heap.collect([head]);
        }
        let Ok(o) = heap.alloc(T, Arc::clone(&layout), 0) else {
            return (i, heap.stats().collections);
        };
        if keep {
            heap.struct_set(o, 2, u128::from(head.0)).expect("a field");
            head = obj(o);
        }
    }
    (count, heap.stats().collections)
}

#[test]
fn garbage_a_hundred_times_the_limit_runs_to_the_end() {
    let size = GcHeap::object_size(&node(), 0);
    let mut heap = GcHeap::new(100 * size);
    let (done, collections) = allocate(&mut heap, 10_000, false);
    assert_eq!(done, 10_000);
    assert_eq!(collections, 99, "one collection each time the heap filled");
    assert!(heap.stats().peak_bytes <= heap.limit());
}

#[test]
fn what_stays_reachable_exhausts_the_heap_at_the_same_allocation() {
    let size = GcHeap::object_size(&node(), 0);
    for limit in [100 * size, 100 * size + size - 1] {
        let mut heap = GcHeap::new(limit);
        let (done, _) = allocate(&mut heap, 10_000, true);
        assert_eq!(done, 100, "the 101st allocation fails, limit {limit}");
        assert_eq!(heap.len(), 100);
    }
}

#[test]
fn absurd_arrays_do_not_fit() {
    let heap = GcHeap::new(u64::MAX);
    let huge = array(StorageType::Val(ValType::V128));
    // 64 GiB of data: counted, and refused by a realistic limit.
    let mut small = GcHeap::new(1 << 30);
    assert_eq!(
        small.alloc(T, Arc::clone(&huge), u32::MAX),
        Err(GcError::Exhausted)
    );
    assert!(!small.fits(GcHeap::object_size(&huge, u32::MAX)));
    assert!(heap.fits(GcHeap::object_size(&huge, 1)));
}
