//! Functions in Rust that compiled code calls ("libcalls").
//!
//! Compiled code names them with `UserExternalName`s in the libcall namespace
//! (index: [`Libcall`]) or, for the float rounding operators Cranelift lowers
//! to calls on hosts without SSE4.1, with Cranelift's own `LibCall`s; the
//! linker patches their absolute addresses in. Every one is `extern "C"`
//! (the ISA's default calling convention) and never unwinds: a failure is
//! stored in the activation as its pending trap, `VmContext::pending` is set,
//! and the compiled code raises `PENDING_TRAP` right after the call returns.
//! Host panics are caught here and resumed once the entry has returned. An
//! exception a callee ended with is left in the entry instead, with `pending`
//! set the same way, for the compiled code to throw on (`unwind.rs`).
//!
//! Two entries are not Rust functions but the unwinder's assembly stubs, which
//! never return: [`Libcall::Throw`] and [`Libcall::ThrowPending`], called with
//! the `tail` convention (see `translate/exceptions.rs`).

use cranelift_codegen::ir::LibCall;
use kiln_runtime::ops::{self, BulkOp};
use kiln_runtime::{ExnAddr, ExnEntity, FuncAddr, RawRef, Store, Trap, TrapCode, Val};

use crate::activation::{Activation, Pending};
use crate::invoke::call_from_wasm;
use crate::signals;
use crate::vmctx::VmContext;

/// Kiln's libcalls, numbered as compiled code names them: by their position
/// here, which is their position in [`Libcall::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Libcall {
    /// [`bulk`].
    Bulk,
    /// [`call_func`].
    CallFunc,
    /// [`call_indirect_slow`].
    CallIndirectSlow,
    /// `throw(vmctx, exn: u32) -> !` (`signals::throw_asm`): throws exception `exn`
    /// from the caller's frame. `tail` convention.
    Throw,
    /// `throw_pending(vmctx) -> !` (`signals::throw_pending_asm`): throws the
    /// exception a libcall just left, or ends the entry with the trap it left.
    /// `tail` convention.
    ThrowPending,
    /// [`call_ref_slow`].
    CallRefSlow,
    /// [`new_exception`].
    NewException,
    /// [`exception_tag`].
    ExceptionTag,
    /// [`exception_payload`].
    ExceptionPayload,
    /// [`keep_exception`].
    KeepException,
    /// `epoch_reached(vmctx)`: the slow path of an epoch check at a function
    /// entry (`epoch::epoch_reached_stub`), called with the `preserve_all`
    /// convention.
    EpochReached,
    /// `out_of_fuel(vmctx, needed: u64)`: [`out_of_fuel`]
    /// behind [`out_of_fuel_stub`], called with the `preserve_all` convention.
    OutOfFuel,
}

impl Libcall {
    /// Every libcall, indexed by its number.
    pub(crate) const ALL: [Libcall; 12] = [
        Libcall::Bulk,
        Libcall::CallFunc,
        Libcall::CallIndirectSlow,
        Libcall::Throw,
        Libcall::ThrowPending,
        Libcall::CallRefSlow,
        Libcall::NewException,
        Libcall::ExceptionTag,
        Libcall::ExceptionPayload,
        Libcall::KeepException,
        Libcall::EpochReached,
        Libcall::OutOfFuel,
    ];

    /// The libcall numbered `index`.
    pub(crate) fn from_index(index: u32) -> Option<Libcall> {
        Libcall::ALL.get(index as usize).copied()
    }

    /// The function's address.
    pub(crate) fn address(self) -> usize {
        match self {
            Libcall::Bulk => bulk as *const () as usize,
            Libcall::CallFunc => call_func as *const () as usize,
            Libcall::CallIndirectSlow => call_indirect_slow as *const () as usize,
            Libcall::Throw => signals::throw_asm as *const () as usize,
            Libcall::ThrowPending => signals::throw_pending_asm as *const () as usize,
            Libcall::CallRefSlow => call_ref_slow as *const () as usize,
            Libcall::NewException => new_exception as *const () as usize,
            Libcall::ExceptionTag => exception_tag as *const () as usize,
            Libcall::ExceptionPayload => exception_payload as *const () as usize,
            Libcall::KeepException => keep_exception as *const () as usize,
            Libcall::EpochReached => crate::epoch::epoch_reached_stub as *const () as usize,
            Libcall::OutOfFuel => out_of_fuel_stub as *const () as usize,
        }
    }

    /// Whether compiled code calls it with the `tail` convention (the throw
    /// stubs, so that a `try_call` of them clobbers every register on its
    /// exceptional edge) rather than the host's.
    pub(crate) fn uses_tail_conv(self) -> bool {
        matches!(self, Libcall::Throw | Libcall::ThrowPending)
    }

    /// Whether compiled code calls it with the `preserve_all` convention: the
    /// slow paths of the epoch check and of a fuel charge, called from loop
    /// headers, where a call that
    /// clobbers registers would make the register allocator spill the loop's
    /// values around it, on the hot path too (a loop of float arithmetic ran
    /// at half speed).
    pub(crate) fn uses_preserve_all_conv(self) -> bool {
        matches!(self, Libcall::EpochReached | Libcall::OutOfFuel)
    }
}

/// The address of a Rust implementation of a Cranelift libcall, if Kiln provides one.
pub(crate) fn cranelift_libcall_address(call: LibCall) -> Option<usize> {
    let f: *const () = match call {
        LibCall::CeilF32 => ceil_f32 as *const (),
        LibCall::CeilF64 => ceil_f64 as *const (),
        LibCall::FloorF32 => floor_f32 as *const (),
        LibCall::FloorF64 => floor_f64 as *const (),
        LibCall::TruncF32 => trunc_f32 as *const (),
        LibCall::TruncF64 => trunc_f64 as *const (),
        LibCall::NearestF32 => nearest_f32 as *const (),
        LibCall::NearestF64 => nearest_f64 as *const (),
        _ => return None,
    };
    Some(f as usize)
}

/// Records `pending` as the entry's trap, or its exception in flight; compiled
/// code raises or throws it on return.
fn fail(act: &mut Activation, vm: &mut VmContext, pending: Pending) {
    match pending {
        Pending::Exception(exn) => signals::throw_after_libcall(exn),
        other => act.pending = Some(other),
    }
    vm.pending = 1;
}

/// Splits a context pointer into the context and its activation.
///
/// # Safety
///
/// `vmctx` is the live context of a running entry, passed by compiled code to a
/// libcall; no other reference to it or its activation is live.
unsafe fn parts<'a>(vmctx: *mut VmContext) -> (&'a mut VmContext, &'a mut Activation) {
    // SAFETY: see `# Safety`; the entry attached the context to its activation,
    // which outlives the entry.
    unsafe {
        let vm = &mut *vmctx;
        let act = Activation::of(vm);
        (vm, act)
    }
}

/// A memory or table management instruction (`kind`/`imm1`/`imm2`: [`BulkOp::encode`])
/// with operands `a`, `b`, `c`: the runtime's shared implementation, with the
/// dynamic fuel charged from the context's fuel. Returns the instruction's result.
///
/// # Safety
///
/// Called by compiled code with its own live context.
unsafe extern "C" fn bulk(
    vmctx: *mut VmContext,
    kind: u32,
    imm1: u32,
    imm2: u32,
    a: u64,
    b: u64,
    c: u64,
) -> u64 {
    // SAFETY: see `# Safety`.
    let (vm, act) = unsafe { parts(vmctx) };
    let Some(op) = BulkOp::decode([kind, imm1, imm2]) else {
        fail(act, vm, Pending::Trap(Trap::host("unknown bulk operation")));
        return 0;
    };
    // SAFETY: the entry's store; compiled code is waiting for this call.
    let store = unsafe { &mut *act.store };
    if act.metered {
        store.fuel = vm.fuel;
    }
    let outcome = ops::execute(store, act.instance, op, [a, b, c], act.metered);
    if act.metered {
        vm.fuel = store.fuel;
    }
    // A grow changes a memory or table; so may the host while a resumable call
    // waited for fuel (see `kiln_runtime::resumable`).
    if matches!(op, BulkOp::MemoryGrow { .. } | BulkOp::TableGrow { .. })
        || kiln_runtime::resumable::current_stack().is_some()
    {
        // SAFETY: `store` is not used again.
        unsafe { act.refresh(vm) };
    }
    match outcome {
        Ok(v) => v,
        Err(trap) => {
            fail(act, vm, Pending::Trap(trap));
            0
        }
    }
}

/// Calls function `index` of the instance's function index space (an import, or a
/// function reached by a tail call that compiled code cannot make itself) with
/// arguments and results in `values`, as a callee at `depth`.
///
/// # Safety
///
/// Called by compiled code with its own live context and a `values` buffer of
/// `max(params, results)` slots of the function's type.
unsafe extern "C" fn call_func(vmctx: *mut VmContext, depth: u32, index: u32, values: *mut u128) {
    // SAFETY: see `# Safety`.
    let (vm, act) = unsafe { parts(vmctx) };
    // SAFETY: `func_addrs` has one entry per function of the instance and validation
    // guarantees `index` is one.
    let addr = FuncAddr(unsafe { *vm.func_addrs.add(index as usize) });
    // SAFETY: as above.
    if let Err(p) = unsafe { call_from_wasm(act, vm, depth, addr, values) } {
        fail(act, vm, p);
    }
}

/// The function `call_indirect` finds at element `elem` of table `table`, checked
/// against type `ty` (an index into the module's types), or the trap.
///
/// # Safety
///
/// Called by compiled code with its own live context.
unsafe fn indirect_target(
    act: &Activation,
    table: u32,
    ty: u32,
    elem: u64,
) -> Result<FuncAddr, TrapCode> {
    // SAFETY: the entry's store, only read here.
    let store = unsafe { &*act.store };
    let inst = &store.instances[act.instance.index()];
    let t = &store.tables[inst.tables[table as usize].index()];
    let elem = if t.ty().index == kiln_parser::IndexType::I64 {
        elem
    } else {
        u64::from(elem as u32)
    };
    let raw: RawRef = usize::try_from(elem)
        .ok()
        .and_then(|i| t.elems().get(i))
        .copied()
        .ok_or(TrapCode::UndefinedElement)?;
    let addr = FuncAddr(raw.addr().ok_or(TrapCode::UninitializedElement)?);
    // Equal signatures take the inline path unless the callee is a host function or
    // another instance's; a declared subtype comes here, and matches.
    if !store.sig_matches(store.funcs[addr.index()].sig(), inst.sigs[ty as usize]) {
        return Err(TrapCode::IndirectCallTypeMismatch);
    }
    Ok(addr)
}

/// `call_indirect` of a function compiled code cannot call directly (a host
/// function or another instance's): resolves it again and calls it through the
/// store, with arguments and results in `values`.
///
/// # Safety
///
/// Called by compiled code with its own live context and a `values` buffer of
/// `max(params, results)` slots of type `ty`.
unsafe extern "C" fn call_indirect_slow(
    vmctx: *mut VmContext,
    depth: u32,
    table: u32,
    ty: u32,
    elem: u64,
    values: *mut u128,
) {
    // SAFETY: see `# Safety`.
    let (vm, act) = unsafe { parts(vmctx) };
    // SAFETY: as above.
    let outcome = match unsafe { indirect_target(act, table, ty, elem) } {
        // SAFETY: as above.
        Ok(addr) => unsafe { call_from_wasm(act, vm, depth, addr, values) },
        Err(code) => Err(code.into()),
    };
    if let Err(p) = outcome {
        fail(act, vm, p);
    }
}

/// `call_ref` (or `return_call_ref`) of a function compiled code cannot call
/// directly (a host function, another instance's, or one the store's entry
/// cache lacks): calls function reference `raw` (never null: the compiled code
/// checked) through the store, with arguments and results in `values`.
///
/// # Safety
///
/// Called by compiled code with its own live context and a `values` buffer of
/// `max(params, results)` slots of the callee's type.
unsafe extern "C" fn call_ref_slow(vmctx: *mut VmContext, depth: u32, raw: u32, values: *mut u128) {
    // SAFETY: see `# Safety`.
    let (vm, act) = unsafe { parts(vmctx) };
    let outcome = match RawRef(raw).addr() {
        // SAFETY: as above.
        Some(addr) => unsafe { call_from_wasm(act, vm, depth, FuncAddr(addr), values) },
        None => Err(TrapCode::NullFunctionReference.into()),
    };
    if let Err(p) = outcome {
        fail(act, vm, p);
    }
}

crate::stubs::preserve_all_stub! {
    /// [`out_of_fuel`] for the `preserve_all` convention.
    ///
    /// # Safety
    ///
    /// As for [`out_of_fuel`].
    fn out_of_fuel_stub(vmctx: *mut VmContext, needed: u64) = out_of_fuel,
    resume: signals::resume_asm
}

/// The slow path of a fuel charge, called when a metered run needs `needed`
/// units and fewer are left: inside a resumable call the call suspends until
/// the host has set enough fuel (see `kiln_runtime::resumable`), and the fuel
/// then left (at least `needed`; the caller charges it) is in the context;
/// otherwise the `out of fuel` trap is left pending.
///
/// # Safety
///
/// Called by compiled code with its own live context, with fuel metering on.
unsafe extern "C" fn out_of_fuel(vmctx: *mut VmContext, needed: u64) -> usize {
    // SAFETY: see `# Safety`.
    let (vm, act) = unsafe { parts(vmctx) };
    // SAFETY: the entry's store and host state; compiled code is waiting for
    // this call and holds no reference to them. The host may change the store
    // while the call is suspended: `run_host` takes it again after.
    let outcome = unsafe {
        act.run_host(vm, |store, _| {
            kiln_runtime::resumable::wait_for_fuel(store, needed)
        })
    };
    match outcome {
        Ok(()) => 0,
        Err(pending) => act.end_entry(vm, pending),
    }
}

/// `throw`: a new exception of tag `tag` (an index of the instance's tag space)
/// whose payload is the tag's parameters, one per slot of `values`. Returns its
/// `exnref` bits; if the store may keep no more exceptions, 0 with the trap
/// pending.
///
/// # Safety
///
/// Called by compiled code with its own live context and a `values` buffer of
/// one slot per parameter of the tag's type.
unsafe extern "C" fn new_exception(vmctx: *mut VmContext, tag: u32, values: *const u128) -> u32 {
    // SAFETY: see `# Safety`.
    let (vm, act) = unsafe { parts(vmctx) };
    // SAFETY: the entry's store; compiled code is waiting for this call.
    let store = unsafe { &mut *act.store };
    let tag = store.instances[act.instance.index()].tags[tag as usize];
    let ty = store.sig(store.tags[tag.index()].sig);
    // SAFETY: one slot per parameter (see `# Safety`).
    let slots = unsafe { std::slice::from_raw_parts(values, ty.params.len()) };
    // Compiled code stores a value with its own width; the bits above it in the
    // slot are not the value's, and `Val::to_bits` has them zero.
    let payload = ty
        .params
        .iter()
        .zip(slots)
        .map(|(&t, &bits)| Val::from_bits(t, bits).to_bits())
        .collect();
    match store.add_thrown_exn(ExnEntity { tag, payload }) {
        Ok(exn) => RawRef::from_addr(exn.0).0,
        Err(trap) => {
            fail(act, vm, Pending::Trap(trap));
            0
        }
    }
}

/// Keeps exception `exn` as long as the store: a landing block with a
/// `catch_ref` or `catch_all_ref` clause is about to hand it out as an
/// `exnref` (see `Store::add_thrown_exn`).
///
/// # Safety
///
/// Called by compiled code with its own live context and an `exnref` it holds.
unsafe extern "C" fn keep_exception(vmctx: *mut VmContext, exn: u32) {
    // SAFETY: see `# Safety`.
    let (_, act) = unsafe { parts(vmctx) };
    // SAFETY: the entry's store; compiled code is waiting for this call.
    let store = unsafe { &mut *act.store };
    if let Some(addr) = RawRef(exn).addr() {
        store.keep_exn(ExnAddr(addr));
    }
}

/// The exception `exn` (`exnref` bits, never null) of the store: its entity.
fn exception_of(store: &Store, exn: u32) -> &ExnEntity {
    &store.exns[RawRef(exn).addr().unwrap_or(u32::MAX) as usize]
}

/// The store address of exception `exn`'s tag, as a landing block compares it
/// with `VmContext::tags`.
///
/// # Safety
///
/// Called by compiled code with its own live context and an `exnref` it holds.
unsafe extern "C" fn exception_tag(vmctx: *mut VmContext, exn: u32) -> u32 {
    // SAFETY: see `# Safety`.
    let (_, act) = unsafe { parts(vmctx) };
    // SAFETY: the entry's store, only read here.
    let store = unsafe { &*act.store };
    exception_of(store, exn).tag.0
}

/// Copies exception `exn`'s payload into `values`, one slot per value.
///
/// # Safety
///
/// Called by compiled code with its own live context, an `exnref` it holds, and a
/// `values` buffer of one slot per parameter of the exception's tag type.
unsafe extern "C" fn exception_payload(vmctx: *mut VmContext, exn: u32, values: *mut u128) {
    // SAFETY: see `# Safety`.
    let (_, act) = unsafe { parts(vmctx) };
    // SAFETY: the entry's store, only read here.
    let store = unsafe { &*act.store };
    let payload = &exception_of(store, exn).payload;
    // SAFETY: `values` has a slot per value of the payload (see `# Safety`).
    unsafe { std::ptr::copy_nonoverlapping(payload.as_ptr(), values, payload.len()) };
}

// Float rounding on hosts whose ISA lacks a rounding instruction (SSE4.1's
// `round*`), called once per scalar or per vector lane. Rust's methods are the
// WebAssembly operators (`round_ties_even` is `nearest`), except that a
// signalling NaN may come back unchanged where WebAssembly wants an arithmetic
// (quiet) NaN, as the rounding instructions give: `quiet_*` sets the quiet bit.

/// `x` with the quiet bit set if it is a NaN.
fn quiet_f32(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(x.to_bits() | 0x0040_0000)
    } else {
        x
    }
}
/// `x` with the quiet bit set if it is a NaN.
fn quiet_f64(x: f64) -> f64 {
    if x.is_nan() {
        f64::from_bits(x.to_bits() | 0x0008_0000_0000_0000)
    } else {
        x
    }
}

extern "C" fn ceil_f32(x: f32) -> f32 {
    quiet_f32(x.ceil())
}
extern "C" fn ceil_f64(x: f64) -> f64 {
    quiet_f64(x.ceil())
}
extern "C" fn floor_f32(x: f32) -> f32 {
    quiet_f32(x.floor())
}
extern "C" fn floor_f64(x: f64) -> f64 {
    quiet_f64(x.floor())
}
extern "C" fn trunc_f32(x: f32) -> f32 {
    quiet_f32(x.trunc())
}
extern "C" fn trunc_f64(x: f64) -> f64 {
    quiet_f64(x.trunc())
}
extern "C" fn nearest_f32(x: f32) -> f32 {
    quiet_f32(x.round_ties_even())
}
extern "C" fn nearest_f64(x: f64) -> f64 {
    quiet_f64(x.round_ties_even())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Libcall::ALL` is indexed by number (`from_index` relies on it).
    #[test]
    fn libcalls_are_listed_in_order() {
        for (i, call) in Libcall::ALL.into_iter().enumerate() {
            assert_eq!(call as usize, i);
            assert_eq!(Libcall::from_index(i as u32), Some(call));
        }
        assert_eq!(Libcall::from_index(Libcall::ALL.len() as u32), None);
    }

    /// The rounding libcalls give arithmetic (quiet) NaNs, keeping the payload, as
    /// the rounding instructions do.
    #[test]
    fn rounding_quiets_signalling_nans() {
        let s32 = f32::from_bits(0x7fa0_0000);
        for f in [ceil_f32, floor_f32, trunc_f32, nearest_f32] {
            assert_eq!(f(s32).to_bits(), 0x7fe0_0000);
            assert_eq!(f(-s32).to_bits(), 0xffe0_0000);
            assert_eq!(f(-3.0), -3.0);
        }
        let s64 = f64::from_bits(0x7ff4_0000_0000_0000);
        for f in [ceil_f64, floor_f64, trunc_f64, nearest_f64] {
            assert_eq!(f(s64).to_bits(), 0x7ffc_0000_0000_0000);
        }
        assert_eq!(nearest_f64(2.5), 2.0);
        assert_eq!(ceil_f64(2.5), 3.0);
    }
}
