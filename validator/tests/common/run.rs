//! Running Kiln under watch, and `wasmparser` beside it.
//!
//! Kiln runs under `catch_unwind` with a quiet panic hook (a panic is reported
//! as a disagreement of its own kind, not printed once per case) and under a
//! counting global allocator, so that a case which makes Kiln allocate in
//! proportion to a count the input merely declares is reported too. A single
//! request above [`REFUSE_ABOVE`] is refused outright: the process then aborts,
//! and the allocator first prints which case did it, so that it can be
//! written out with `KILN_ORACLE_DUMP=<case>`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;
use std::time::{Duration, Instant};

use kiln_parser::Features;

/// A single allocation larger than this, made by Kiln while a case runs, is
/// refused: no module in these tests justifies it, and a declared count of
/// four billion would otherwise exhaust the machine before it could be
/// reported.
pub const REFUSE_ABOVE: usize = 1 << 30;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATED: Cell<u64> = const { Cell::new(0) };
    static LARGEST: Cell<u64> = const { Cell::new(0) };
    static CASE: Cell<(&'static str, u64)> = const { Cell::new(("", 0)) };
}

/// Names the case about to run, for the message of a refused allocation.
pub fn set_case(test: &'static str, case: u64) {
    let _ = CASE.try_with(|c| c.set((test, case)));
}

/// The global allocator of the test binary: `System`, plus per-thread counts
/// of what is requested while [`run_kiln`] runs.
#[derive(Debug)]
pub struct CountingAlloc;

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// Counts a request of `grow` new bytes whose block will be `size` bytes;
/// false if it must be refused.
fn admit(size: usize, grow: usize) -> bool {
    let Ok(counting) = COUNTING.try_with(Cell::get) else {
        return true;
    };
    if !counting {
        return true;
    }
    let _ = ALLOCATED.try_with(|a| a.set(a.get().saturating_add(grow as u64)));
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size as u64)));
    if size <= REFUSE_ABOVE {
        return true;
    }
    let (test, case) = CASE.try_with(Cell::get).unwrap_or(("?", 0));
    // Formatting without allocating: this runs inside the allocator.
    let mut digits = [0u8; 40];
    let mut w = &mut digits[..];
    let _ = write!(w, "{size} bytes, case #{case}");
    let used = 40 - w.len();
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(b"\nkiln oracle: Kiln requested ");
    let _ = err.write_all(&digits[..used]);
    let _ = err.write_all(b" of `");
    let _ = err.write_all(test.as_bytes());
    let _ = err.write_all(b"`; rerun with KILN_ORACLE_DUMP=<case> to write it out\n");
    false
}

// SAFETY: every method forwards to `System` with the caller's arguments, so the
// `GlobalAlloc` contract is `System`'s; refusing a request by returning null is
// how `GlobalAlloc` reports an allocation failure. `admit` only touches
// const-initialised thread-locals without destructors and never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !admit(layout.size(), layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: our caller keeps `alloc`'s contract, which is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !admit(layout.size(), layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !admit(new_size, new_size.saturating_sub(layout.size())) {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from `System` with `layout`; our caller keeps
        // `realloc`'s contract for `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once, a panic hook that records panics raised inside
/// [`run_kiln`] instead of printing them, and defers to the default hook
/// everywhere else.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let msg = info.payload_as_str().unwrap_or("(non-string payload)");
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg}{at}")));
            } else {
                default(info);
            }
        }));
    });
}

/// What Kiln made of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Parsed and validated.
    Accepted,
    /// Parse error, as displayed.
    Malformed(String),
    /// Validation error, as displayed.
    Invalid(String),
    /// A panic, with its message and location.
    Panicked(String),
}

/// One run of Kiln: the verdict and what it cost.
#[derive(Debug)]
pub struct KilnRun {
    /// What Kiln decided.
    pub verdict: Verdict,
    /// Bytes requested from the allocator in all.
    pub allocated: u64,
    /// The largest single request.
    pub largest: u64,
    /// Wall-clock time.
    pub elapsed: Duration,
}

/// Runs `kiln_parser::parse` and `kiln_validator::validate` on `bytes`,
/// catching panics and counting allocations.
pub fn run_kiln(bytes: &[u8], features: Features) -> KilnRun {
    install_panic_hook();
    ALLOCATED.with(|a| a.set(0));
    LARGEST.with(|l| l.set(0));
    QUIET.with(|q| q.set(true));
    let start = Instant::now();
    COUNTING.with(|c| c.set(true));
    let result = catch_unwind(AssertUnwindSafe(|| {
        let module =
            kiln_parser::parse(bytes, features).map_err(|e| Verdict::Malformed(e.to_string()))?;
        kiln_validator::validate(&module, features)
            .map(drop)
            .map_err(|e| match e {
                kiln_validator::ModuleError::Malformed(e) => Verdict::Malformed(e.to_string()),
                kiln_validator::ModuleError::Invalid(e) => Verdict::Invalid(e.to_string()),
            })
    }));
    COUNTING.with(|c| c.set(false));
    let elapsed = start.elapsed();
    QUIET.with(|q| q.set(false));
    let verdict = match result {
        Ok(Ok(())) => Verdict::Accepted,
        Ok(Err(rejected)) => rejected,
        Err(_) => Verdict::Panicked(
            LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| "(no message)".into()),
        ),
    };
    KilnRun {
        verdict,
        allocated: ALLOCATED.with(Cell::get),
        largest: LARGEST.with(Cell::get),
        elapsed,
    }
}

/// `wasmparser`'s verdict on `bytes` under the same features.
///
/// # Errors
///
/// Its error message, with the offset.
pub fn run_wasmparser(bytes: &[u8], features: Features) -> Result<(), String> {
    wasmparser::Validator::new_with_features(features.to_wasmparser())
        .validate_all(bytes)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Whether a `wasmparser` error is one of its implementation limits (the
/// JS-API limits, which Kiln means to enforce too) rather than a spec rule.
pub fn is_implementation_limit(message: &str) -> bool {
    [
        "exceeds limit",
        "exceeds the limit",
        "size is out of bounds",
        "too many locals",
        "locals exceed maximum",
        "number of elements is out of bounds",
    ]
    .iter()
    .any(|p| message.contains(p))
}
