//! Entry points free what they do not hand out: with a counting allocator,
//! many calls through `wasm_func_call` (returning, trapping, refused) leave
//! no memory behind once their results are freed, and results written to a
//! NULL out-pointer are freed. Regression tests: the call's panic fallback
//! was once a trap allocated, and leaked, per call; so were vectors and
//! traps for a NULL out-pointer.

// Links the crate, whose C entry points are declared below.
use kiln_c_api as _;

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Counts the bytes allocated and not yet freed.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only a counter is
// updated beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// `wasm_byte_vec_t`, `wasm_val_vec_t`, `wasm_extern_vec_t`: `{size, data}`.
#[repr(C)]
struct Vector {
    size: usize,
    data: *mut c_void,
}

/// `wasm_val_t`: a kind and an 8-byte payload.
#[repr(C)]
#[derive(Clone, Copy)]
struct Value {
    kind: u8,
    of: i64,
}

// The library's C entry points, linked from the crate's rlib.
unsafe extern "C" {
    fn wasm_engine_new() -> *mut c_void;
    fn wasm_engine_delete(e: *mut c_void);
    fn wasm_store_new(e: *mut c_void) -> *mut c_void;
    fn wasm_store_delete(s: *mut c_void);
    fn wasm_module_new(s: *mut c_void, binary: *const Vector) -> *mut c_void;
    fn wasm_module_delete(m: *mut c_void);
    fn wasm_instance_new(
        s: *mut c_void,
        m: *const c_void,
        imports: *const Vector,
        trap: *mut *mut c_void,
    ) -> *mut c_void;
    fn wasm_instance_delete(i: *mut c_void);
    fn wasm_instance_exports(i: *const c_void, out: *mut Vector);
    fn wasm_extern_vec_delete(v: *mut Vector);
    fn wasm_extern_as_func(e: *mut c_void) -> *mut c_void;
    fn wasm_func_call(f: *const c_void, args: *const Vector, results: *mut Vector) -> *mut c_void;
    fn wasm_trap_delete(t: *mut c_void);
    fn wasm_trap_message(t: *const c_void, out: *mut Vector);
    fn wasm_byte_vec_new(out: *mut Vector, size: usize, data: *const u8);
}

/// Calls `f(x, y)`; frees the trap, if any; returns whether it trapped.
///
/// # Safety
///
/// `f` is a live function of type `[i32 i32] -> [i32]` (or any other type,
/// for a refused call).
unsafe fn call(f: *const c_void, x: i64, y: i64, nargs: usize) -> bool {
    let mut args = [Value { kind: 0, of: x }, Value { kind: 0, of: y }];
    let mut results = [Value { kind: 0, of: 0 }];
    let args = Vector {
        size: nargs,
        data: args.as_mut_ptr().cast(),
    };
    let mut results = Vector {
        size: 1,
        data: results.as_mut_ptr().cast(),
    };
    // SAFETY: the caller's contract; both vectors point to live arrays.
    let trap = unsafe { wasm_func_call(f, &args, &mut results) };
    // SAFETY: an owned trap or NULL.
    unsafe { wasm_trap_delete(trap) };
    !trap.is_null()
}

#[test]
fn calls_leave_no_memory_behind() {
    let wat = b"(module (func (export \"div\") (param i32 i32) (result i32) \
                (i32.div_s (local.get 0) (local.get 1))))";
    // SAFETY: each pointer passed below was just returned by the library
    // and is freed once, in reverse order of creation.
    unsafe {
        let engine = wasm_engine_new();
        let store = wasm_store_new(engine);
        let binary = Vector {
            size: wat.len(),
            data: wat.as_ptr().cast_mut().cast(),
        };
        let module = wasm_module_new(store, &binary);
        assert!(!module.is_null());
        let instance = wasm_instance_new(store, module, std::ptr::null(), std::ptr::null_mut());
        assert!(!instance.is_null());
        let mut exports = Vector {
            size: 0,
            data: std::ptr::null_mut(),
        };
        wasm_instance_exports(instance, &mut exports);
        let first = *exports.data.cast::<*mut c_void>();
        let div = wasm_extern_as_func(first);

        // Warm up (lazy translation, first-call caches), then measure.
        for _ in 0..10 {
            call(div, 7, 2, 2);
            call(div, 7, 0, 2);
            call(div, 7, 0, 1);
        }
        let before = LIVE.load(Ordering::Relaxed);
        for _ in 0..1000 {
            assert!(!call(div, 7, 2, 2), "7 / 2 returns");
            assert!(call(div, 7, 0, 2), "7 / 0 traps");
            assert!(call(div, 7, 0, 1), "one argument of two is refused");
        }
        let grown = LIVE.load(Ordering::Relaxed) - before;
        assert!(grown < 1024, "3000 calls left {grown} bytes allocated");

        // Results C declines (a NULL out-pointer) are freed, not leaked.
        let before = LIVE.load(Ordering::Relaxed);
        for _ in 0..1000 {
            let null = std::ptr::null_mut();
            assert!(wasm_instance_new(store, std::ptr::null(), std::ptr::null(), null).is_null());
            wasm_instance_exports(instance, std::ptr::null_mut());
            wasm_byte_vec_new(std::ptr::null_mut(), wat.len(), wat.as_ptr());
            let trap = wasm_func_call(std::ptr::null(), std::ptr::null(), std::ptr::null_mut());
            wasm_trap_message(trap, std::ptr::null_mut());
            wasm_trap_delete(trap);
        }
        let grown = LIVE.load(Ordering::Relaxed) - before;
        assert!(
            grown < 1024,
            "declined results left {grown} bytes allocated"
        );

        wasm_extern_vec_delete(&mut exports);
        wasm_instance_delete(instance);
        wasm_module_delete(module);
        wasm_store_delete(store);
        wasm_engine_delete(engine);
    }
}
