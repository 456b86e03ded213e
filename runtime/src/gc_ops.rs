//! What each GC instruction does, once, for every tier: [`execute`] takes
//! the instruction's operands as bits (bottom of the stack first) and gives
//! its result, or its trap with the spec's message. Constant expressions
//! use it too.

use kiln_parser::{GcInstr, HeapType, Module, RefType};

use crate::fuel::{DynamicCost, dynamic_cost};
use crate::gc::{AnyRef, GcError, Layout, ObjIdx, StorageKind};
use crate::store::{InstanceAddr, Store, store_ref_type};
use crate::trap::{Trap, TrapCode};
use crate::value::RawRef;
use crate::value::SigId;

/// What gives a tier's own roots when an allocation must collect: it adds
/// every reference its frames hold that may be a GC object.
pub type Roots<'a> = &'a mut dyn FnMut(&mut Vec<RawRef>);

/// How many operands `instr` of `module` pops, and whether it pushes a
/// result. `br_on_cast`'s operand is the reference it keeps (it pushes the
/// branch's condition, see [`execute`]).
pub fn arity(module: &Module, instr: &GcInstr) -> (usize, bool) {
    let fields = |t: kiln_parser::TypeIdx| {
        module
            .types
            .get(t.index())
            .and_then(|t| t.as_struct())
            .map_or(0, <[_]>::len)
    };
    match *instr {
        GcInstr::StructNew(t) => (fields(t), true),
        GcInstr::StructNewDefault(_) => (0, true),
        GcInstr::StructGet { .. } => (1, true),
        GcInstr::StructSet { .. } => (2, false),
        GcInstr::ArrayNew(_) => (2, true),
        GcInstr::ArrayNewDefault(_) => (1, true),
        GcInstr::ArrayNewFixed { len, .. } => (len as usize, true),
        GcInstr::ArrayNewData { .. } | GcInstr::ArrayNewElem { .. } => (2, true),
        GcInstr::ArrayGet { .. } => (2, true),
        GcInstr::ArraySet(_) => (3, false),
        GcInstr::ArrayLen => (1, true),
        GcInstr::ArrayFill(_) => (4, false),
        GcInstr::ArrayCopy { .. } => (5, false),
        GcInstr::ArrayInitData { .. } | GcInstr::ArrayInitElem { .. } => (4, false),
        GcInstr::RefEq => (2, true),
        GcInstr::RefTest(_)
        | GcInstr::RefCast(_)
        | GcInstr::AnyConvertExtern
        | GcInstr::ExternConvertAny
        | GcInstr::RefI31
        | GcInstr::I31Get(_) => (1, true),
        GcInstr::BrOnCast(_) => (1, true),
    }
}

/// Executes `instr` of instance `inst` on `args`, its operands' bits
/// (bottom first; [`arity`] says how many). Returns its result's bits; for
/// `br_on_cast` and `br_on_cast_fail`, 1 if the branch is taken, else 0
/// (the reference stays where it was). `metered` charges the dynamic fuel
/// of allocations and bulk array operations. `roots` gives the tier's own
/// roots when an allocation must collect; without it, the heap is not
/// collected and an allocation that does not fit traps.
///
/// # Errors
///
/// The instruction's trap (`null structure reference`, `out of bounds array
/// access`, `cast failure`, `out of GC heap memory`, ...), or `out of fuel`.
pub fn execute(
    store: &mut Store,
    inst: InstanceAddr,
    instr: &GcInstr,
    args: &[u128],
    metered: bool,
    roots: Option<Roots<'_>>,
) -> Result<Option<u128>, Trap> {
    let sig = |store: &Store, t: kiln_parser::TypeIdx| {
        SigId(store.instances[inst.index()].sigs[t.index()].0)
    };
    let arg = |i: usize| args.get(i).copied().unwrap_or(0);
    let ref_arg = |i: usize| RawRef(arg(i) as u32);
    let i32_arg = |i: usize| arg(i) as u32;
    let result = |bits: u128| Ok(Some(bits));
    match *instr {
        GcInstr::StructNew(t) | GcInstr::StructNewDefault(t) => {
            new_object(store, sig(store, t), instr, args, metered, roots).map(Some)
        }
        GcInstr::StructGet { field, read, .. } => {
            let o = non_null(ref_arg(0), TrapCode::NullStructReference)?;
            result(store.gc.struct_get(o, field, read).map_err(trap)?)
        }
        GcInstr::StructSet { field, .. } => {
            let o = non_null(ref_arg(0), TrapCode::NullStructReference)?;
            store.gc.struct_set(o, field, arg(1)).map_err(trap)?;
            Ok(None)
        }
        GcInstr::ArrayNew(t)
        | GcInstr::ArrayNewDefault(t)
        | GcInstr::ArrayNewFixed { ty: t, .. } => {
            new_object(store, sig(store, t), instr, args, metered, roots).map(Some)
        }
        GcInstr::ArrayNewData { ty, data } => {
            let (at, len) = (i32_arg(0), i32_arg(1));
            let t = sig(store, ty);
            let bytes = data_bytes(store, inst, data.index(), t, at, len)?;
            let o = allocate(store, t, len, metered, roots)?;
            store.gc.array_write_bytes(o, 0, &bytes).map_err(trap)?;
            result(object(o))
        }
        GcInstr::ArrayNewElem { ty, elem } => {
            let (at, len) = (i32_arg(0), i32_arg(1));
            let refs = elem_refs(store, inst, elem.index(), at, len)?;
            let o = allocate(store, sig(store, ty), len, metered, roots)?;
            store.gc.array_write_refs(o, 0, &refs).map_err(trap)?;
            result(object(o))
        }
        GcInstr::ArrayGet { read, .. } => {
            let o = non_null(ref_arg(0), TrapCode::NullArrayReference)?;
            result(store.gc.array_get(o, i32_arg(1), read).map_err(trap)?)
        }
        GcInstr::ArraySet(_) => {
            let o = non_null(ref_arg(0), TrapCode::NullArrayReference)?;
            store.gc.array_set(o, i32_arg(1), arg(2)).map_err(trap)?;
            Ok(None)
        }
        GcInstr::ArrayLen => {
            let o = non_null(ref_arg(0), TrapCode::NullArrayReference)?;
            result(u128::from(store.gc.array_len(o).map_err(trap)?))
        }
        GcInstr::ArrayFill(_) => {
            let o = non_null(ref_arg(0), TrapCode::NullArrayReference)?;
            let (at, value, n) = (i32_arg(1), arg(2), i32_arg(3));
            check_range(store, o, at, n)?;
            charge_elements(store, o, n, metered)?;
            store.gc.array_fill(o, at, value, n).map_err(trap)?;
            Ok(None)
        }
        GcInstr::ArrayCopy { .. } => {
            let dst = non_null(ref_arg(0), TrapCode::NullArrayReference)?;
            let src = non_null(ref_arg(2), TrapCode::NullArrayReference)?;
            let (dst_at, src_at, n) = (i32_arg(1), i32_arg(3), i32_arg(4));
            check_range(store, dst, dst_at, n)?;
            check_range(store, src, src_at, n)?;
            charge_elements(store, dst, n, metered)?;
            store
                .gc
                .array_copy(dst, dst_at, src, src_at, n)
                .map_err(trap)?;
            Ok(None)
        }
        GcInstr::ArrayInitData { ty, data } => {
            let o = non_null(ref_arg(0), TrapCode::NullArrayReference)?;
            let (at, from, n) = (i32_arg(1), i32_arg(2), i32_arg(3));
            check_range(store, o, at, n)?;
            let bytes = data_bytes(store, inst, data.index(), sig(store, ty), from, n)?;
            charge_elements(store, o, n, metered)?;
            store.gc.array_write_bytes(o, at, &bytes).map_err(trap)?;
            Ok(None)
        }
        GcInstr::ArrayInitElem { elem, .. } => {
            let o = non_null(ref_arg(0), TrapCode::NullArrayReference)?;
            let (at, from, n) = (i32_arg(1), i32_arg(2), i32_arg(3));
            check_range(store, o, at, n)?;
            let refs = elem_refs(store, inst, elem.index(), from, n)?;
            charge_elements(store, o, n, metered)?;
            store.gc.array_write_refs(o, at, &refs).map_err(trap)?;
            Ok(None)
        }
        GcInstr::RefEq => result(u128::from(arg(0) as u32 == arg(1) as u32)),
        GcInstr::RefTest(rt) => {
            let rt = store_ref_type(&store.instances[inst.index()].sigs, rt);
            result(u128::from(ref_test(store, ref_arg(0), rt)))
        }
        GcInstr::RefCast(rt) => {
            let rt = store_ref_type(&store.instances[inst.index()].sigs, rt);
            if !ref_test(store, ref_arg(0), rt) {
                return Err(TrapCode::CastFailure.into());
            }
            result(arg(0))
        }
        GcInstr::BrOnCast(ref b) => {
            let to = store_ref_type(&store.instances[inst.index()].sigs, b.to);
            let fits = ref_test(store, ref_arg(0), to);
            result(u128::from(fits != b.on_fail))
        }
        // One encoding for both hierarchies (see [`AnyRef`]).
        GcInstr::AnyConvertExtern | GcInstr::ExternConvertAny => result(arg(0)),
        GcInstr::RefI31 => result(u128::from(AnyRef::i31(i32_arg(0)).0)),
        GcInstr::I31Get(signed) => {
            let r = ref_arg(0);
            if r.is_null() {
                return Err(TrapCode::NullI31Reference.into());
            }
            result(u128::from(AnyRef::i31_value(r, signed)))
        }
    }
}

/// A GC object's reference, as bits.
fn object(o: ObjIdx) -> u128 {
    u128::from(AnyRef::Object(o).encode().0)
}

/// The object `r` refers to, or the trap `null` for a null reference.
fn non_null(r: RawRef, null: TrapCode) -> Result<ObjIdx, Trap> {
    match AnyRef::decode(r) {
        AnyRef::Object(o) => Ok(o),
        AnyRef::Null => Err(null.into()),
        // Validation keeps i31s and host values out of struct and array
        // operands; a made-up reference is refused as dangling.
        AnyRef::I31(_) | AnyRef::Host(_) => Err(trap(GcError::Dangling)),
    }
}

/// A heap error as a trap. A dangling reference (a bug, or another store's
/// value) is reported as a cast failure rather than read.
fn trap(e: GcError) -> Trap {
    match e {
        GcError::Exhausted => TrapCode::GcHeapExhausted.into(),
        GcError::OutOfBounds => TrapCode::ArrayOutOfBounds.into(),
        GcError::Dangling => TrapCode::CastFailure.into(),
    }
}

/// Allocates an object of type `ty` with `len` elements, charging its fuel
/// first, collecting with `roots` (and the store's) if it does not fit.
fn allocate(
    store: &mut Store,
    ty: SigId,
    len: u32,
    metered: bool,
    roots: Option<Roots<'_>>,
) -> Result<ObjIdx, Trap> {
    let layout = store
        .gc_layout(ty)
        .ok_or(Trap::from(TrapCode::GcHeapExhausted))?;
    let size = crate::gc::GcHeap::object_size(&layout, len);
    crate::ops::charge(store, metered, dynamic_cost(DynamicCost::Bytes, size))?;
    match roots {
        Some(roots) => store.gc_alloc(ty, len, roots),
        None => store
            .gc
            .alloc(ty, layout, len)
            .map_err(|_| TrapCode::GcHeapExhausted.into()),
    }
}

/// Traps with `out of bounds array access` unless `at..at + n` is inside
/// array `o`.
fn check_range(store: &Store, o: ObjIdx, at: u32, n: u32) -> Result<(), Trap> {
    let len = store.gc.array_len(o).map_err(trap)?;
    if u64::from(at) + u64::from(n) > u64::from(len) {
        return Err(TrapCode::ArrayOutOfBounds.into());
    }
    Ok(())
}

/// Charges the fuel of writing `n` elements of array `o`.
fn charge_elements(store: &mut Store, o: ObjIdx, n: u32, metered: bool) -> Result<(), Trap> {
    if !metered {
        return Ok(());
    }
    let size = match store.gc.layout(o).map_err(trap)? {
        Layout::Array(kind) => kind.size() as u64,
        Layout::Struct { .. } => 0,
    };
    crate::ops::charge(
        store,
        metered,
        dynamic_cost(DynamicCost::Bytes, size * u64::from(n)),
    )
}

/// The bytes of `len` elements of array type `ty` from offset `at` of the
/// instance's data segment `data`, or `out of bounds memory access`.
fn data_bytes(
    store: &Store,
    inst: InstanceAddr,
    data: usize,
    ty: SigId,
    at: u32,
    len: u32,
) -> Result<Vec<u8>, Trap> {
    let size = match store.sigs.get(ty.index()).and_then(|t| t.as_array()) {
        Some(f) => StorageKind::of(f.storage, &|_| false).size() as u64,
        None => return Err(TrapCode::MemoryOutOfBounds.into()),
    };
    let seg = store.instances[inst.index()].datas[data];
    let bytes = &store.datas[seg.index()].bytes;
    let start = u64::from(at);
    let end = start + size * u64::from(len);
    if end > bytes.len() as u64 {
        return Err(TrapCode::MemoryOutOfBounds.into());
    }
    Ok(bytes[start as usize..end as usize].to_vec())
}

/// Items `at..at + len` of the instance's element segment `elem`, or `out
/// of bounds table access`.
fn elem_refs(
    store: &Store,
    inst: InstanceAddr,
    elem: usize,
    at: u32,
    len: u32,
) -> Result<Vec<RawRef>, Trap> {
    let seg = store.instances[inst.index()].elems[elem];
    let items = &store.elems[seg.index()].items;
    let end = u64::from(at) + u64::from(len);
    if end > items.len() as u64 {
        return Err(TrapCode::TableOutOfBounds.into());
    }
    Ok(items[at as usize..end as usize].to_vec())
}

/// `ref.test` of `r` against store-level type `target`, in any hierarchy.
pub fn ref_test(store: &Store, r: RawRef, target: RefType) -> bool {
    if r.is_null() {
        return target.nullable;
    }
    match store.top_of(target.heap) {
        HeapType::Any => store.gc_ref_test(r, target),
        HeapType::Func => match target.heap {
            HeapType::Func => true,
            HeapType::Concrete(t) => r.addr().is_some_and(|f| {
                store
                    .funcs
                    .get(f as usize)
                    .is_some_and(|e| store.sig_matches(e.sig(), SigId(t.0)))
            }),
            _ => false,
        },
        // Non-null: only the top of the hierarchy holds it.
        _ => target.heap == store.top_of(target.heap),
    }
}

/// A GC instruction of a constant expression of an instance being made
/// (whose types have store-wide ids `sigs`): pops its operands from `stack`
/// and returns its result. Instantiation holds no frames to give roots, so
/// the heap is not collected here.
///
/// # Errors
///
/// `out of GC heap memory` if an allocation does not fit.
pub fn const_instr(
    store: &mut Store,
    sigs: &[SigId],
    instr: &GcInstr,
    stack: &mut Vec<u128>,
) -> Result<u128, Trap> {
    let sig = |t: kiln_parser::TypeIdx| sigs.get(t.index()).copied().unwrap_or(SigId(0));
    let operands = match *instr {
        GcInstr::StructNew(t) => store
            .sigs
            .get(sig(t).index())
            .and_then(|c| c.as_struct())
            .map_or(0, <[_]>::len),
        GcInstr::StructNewDefault(_) => 0,
        GcInstr::ArrayNew(_) => 2,
        GcInstr::ArrayNewFixed { len, .. } => len as usize,
        _ => 1,
    };
    let args = stack.split_off(stack.len().saturating_sub(operands));
    match *instr {
        GcInstr::StructNew(t)
        | GcInstr::StructNewDefault(t)
        | GcInstr::ArrayNew(t)
        | GcInstr::ArrayNewDefault(t)
        | GcInstr::ArrayNewFixed { ty: t, .. } => {
            new_object(store, sig(t), instr, &args, false, None)
        }
        GcInstr::RefI31 => Ok(u128::from(
            AnyRef::i31(args.first().copied().unwrap_or(0) as u32).0,
        )),
        // The identity (see [`AnyRef`]); validation allows nothing else here.
        _ => Ok(args.first().copied().unwrap_or(0)),
    }
}

/// `struct.new`, `struct.new_default`, `array.new`, `array.new_default` or
/// `array.new_fixed` of type `ty` (the instruction's, as a store-wide id)
/// on `args`: the new object's reference, as bits.
fn new_object(
    store: &mut Store,
    ty: SigId,
    instr: &GcInstr,
    args: &[u128],
    metered: bool,
    roots: Option<Roots<'_>>,
) -> Result<u128, Trap> {
    let arg = |i: usize| args.get(i).copied().unwrap_or(0);
    let (len, fill) = match *instr {
        GcInstr::ArrayNew(_) => (arg(1) as u32, Some(arg(0))),
        GcInstr::ArrayNewDefault(_) => (arg(0) as u32, None),
        GcInstr::ArrayNewFixed { len, .. } => (len, None),
        _ => (0, None),
    };
    let o = allocate(store, ty, len, metered, roots)?;
    match *instr {
        GcInstr::StructNew(_) => {
            for (i, &bits) in args.iter().enumerate() {
                store.gc.struct_set(o, i as u32, bits).map_err(trap)?;
            }
        }
        GcInstr::ArrayNewFixed { .. } => {
            for (i, &bits) in args.iter().enumerate() {
                store.gc.array_set(o, i as u32, bits).map_err(trap)?;
            }
        }
        _ => {}
    }
    // A new object is zeroed: only a non-zero value needs filling in.
    if let Some(value) = fill.filter(|&v| v != 0) {
        store.gc.array_fill(o, 0, value, len).map_err(trap)?;
    }
    Ok(object(o))
}
