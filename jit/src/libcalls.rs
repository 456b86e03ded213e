//! Functions in Rust that compiled code calls ("libcalls").
//!
//! Compiled code names them with `UserExternalName`s in the libcall namespace
//! (index: [`Libcall`]) or, for the float rounding operators Cranelift lowers
//! to calls on hosts without SSE4.1, with Cranelift's own `LibCall`s; the
//! linker patches their absolute addresses in. Every one is `extern "C"`
//! (the ISA's default calling convention) and must not unwind: none of them
//! can panic.

use cranelift_codegen::ir::LibCall;

use crate::vmctx::VmContext;

/// Kiln's libcalls, numbered as compiled code names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Libcall {
    /// [`memory_grow`].
    MemoryGrow = 0,
}

impl Libcall {
    /// The libcall numbered `index`.
    pub(crate) fn from_index(index: u32) -> Option<Libcall> {
        match index {
            0 => Some(Libcall::MemoryGrow),
            _ => None,
        }
    }

    /// The function's address.
    pub(crate) fn address(self) -> usize {
        match self {
            Libcall::MemoryGrow => memory_grow as *const () as usize,
        }
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

/// `memory.grow` on memory 0 by `delta` pages: returns the old size in pages, or
/// `u32::MAX` (-1) if the memory cannot grow that far, and refreshes the
/// context's base and length.
///
/// # Safety
///
/// `vmctx` must point to the live [`VmContext`] of the running call, whose
/// `memory` is null or points to a memory no other reference is used for while
/// WebAssembly runs ([`crate::invoke`] guarantees both).
unsafe extern "C" fn memory_grow(vmctx: *mut VmContext, delta: u32) -> u32 {
    // SAFETY: the caller passes its own live context (see `# Safety`).
    let vm = unsafe { &mut *vmctx };
    if vm.memory.is_null() {
        return u32::MAX;
    }
    // SAFETY: `memory` points into the store's memories, which `invoke` holds exclusively
    // for the duration of the call and does not touch until it returns.
    let memory = unsafe { &mut *vm.memory };
    match memory.grow(u64::from(delta)) {
        Some(old) => {
            let view = memory.view();
            vm.memory_base = view.base.as_ptr();
            vm.memory_len = view.len as u64;
            old as u32
        }
        None => u32::MAX,
    }
}

// Float rounding on hosts whose ISA lacks a rounding instruction. Rust's methods
// are the WebAssembly operators (`round_ties_even` is `nearest`).

extern "C" fn ceil_f32(x: f32) -> f32 {
    x.ceil()
}
extern "C" fn ceil_f64(x: f64) -> f64 {
    x.ceil()
}
extern "C" fn floor_f32(x: f32) -> f32 {
    x.floor()
}
extern "C" fn floor_f64(x: f64) -> f64 {
    x.floor()
}
extern "C" fn trunc_f32(x: f32) -> f32 {
    x.trunc()
}
extern "C" fn trunc_f64(x: f64) -> f64 {
    x.trunc()
}
extern "C" fn nearest_f32(x: f32) -> f32 {
    x.round_ties_even()
}
extern "C" fn nearest_f64(x: f64) -> f64 {
    x.round_ties_even()
}
