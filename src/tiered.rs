//! The tiered strategy's background compiles.
//!
//! A module of a [`Strategy::Tiered`](crate::Strategy::Tiered) engine holds a
//! [`TieredCode`]: the interpreter's compiled module at once, and the JIT's
//! once a background thread has compiled it. One thread per process takes
//! the compiles in the order modules were created, one at a time (the JIT's
//! compiler splits a large module over the cores, as it does under
//! `Strategy::Jit`), and never on the thread that runs the guest. A compile
//! whose module has been dropped is skipped; one that fails or panics leaves
//! the module on the interpreter.
//!
//! Which tier runs a call is decided when it starts ([`tiered_invoke`]):
//! a call from the host, from the JIT through a libcall, or from the
//! interpreter to another function (`kiln_interp`'s `Callee::Native`) runs
//! native code if the callee's module has it. Both tiers keep fuel and the
//! call depth in the store at those boundaries, so a call stack mixing them
//! counts exactly as either alone.

use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};

use kiln_runtime::invoke::TieredCode;

/// Where a module's background compile stands.
#[derive(Debug, Default)]
pub(crate) struct TierUp {
    /// `None` while compiling; then whether native code was produced.
    finished: Mutex<Option<bool>>,
    changed: Condvar,
}

impl TierUp {
    fn finish(&self, native: bool) {
        let mut finished = self.finished.lock().unwrap_or_else(|e| e.into_inner());
        *finished = Some(native);
        self.changed.notify_all();
    }

    /// Waits until the compile has finished; whether it produced native code.
    pub(crate) fn wait(&self) -> bool {
        let mut finished = self.finished.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(native) = *finished {
                return native;
            }
            finished = self
                .changed
                .wait(finished)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// While a [`CompileHold`] lives, the compile thread starts no compile.
static HELD: Mutex<usize> = Mutex::new(0);
static RELEASED: Condvar = Condvar::new();

/// Holds back the tiered strategy's background compiles until dropped, so
/// that a test can keep a module on the interpreter for as long as it needs
/// to (modules created meanwhile are compiled after). For tests: nothing
/// else has a reason to hold compiles.
#[doc(hidden)]
#[derive(Debug)]
pub struct CompileHold(());

impl CompileHold {
    /// Holds the compiles.
    pub fn new() -> CompileHold {
        *HELD.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        CompileHold(())
    }
}

impl Default for CompileHold {
    fn default() -> CompileHold {
        CompileHold::new()
    }
}

impl Drop for CompileHold {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        *held -= 1;
        RELEASED.notify_all();
    }
}

fn wait_while_held() {
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    while *held > 0 {
        held = RELEASED.wait(held).unwrap_or_else(|e| e.into_inner());
    }
}

/// The compile thread's queue, started on first use.
fn queue() -> Option<&'static Mutex<Sender<Job>>> {
    static QUEUE: OnceLock<Option<Mutex<Sender<Job>>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (sender, receiver) = channel::<Job>();
            std::thread::Builder::new()
                .name("kiln-tier-up".into())
                .spawn(move || {
                    for job in receiver {
                        wait_while_held();
                        job();
                    }
                })
                .ok()
                .map(|_| Mutex::new(sender))
        })
        .as_ref()
}

/// Queues the JIT compile of a module whose interpreter form is in `code`.
/// `compile` runs on the compile thread; its result becomes `code.native`.
pub(crate) fn compile_in_background(
    code: &Arc<TieredCode>,
    compile: impl FnOnce() -> Option<Arc<dyn std::any::Any + Send + Sync>> + Send + 'static,
) -> Arc<TierUp> {
    let tier_up = Arc::new(TierUp::default());
    let target: Weak<TieredCode> = Arc::downgrade(code);
    let done = Arc::clone(&tier_up);
    let job: Job = Box::new(move || {
        // The module went away before its turn: nothing to compile for.
        if target.strong_count() == 0 {
            done.finish(false);
            return;
        }
        let native = std::panic::catch_unwind(std::panic::AssertUnwindSafe(compile))
            .ok()
            .flatten();
        let ready = match (native, target.upgrade()) {
            (Some(native), Some(code)) => code.native.set(native).is_ok(),
            _ => false,
        };
        done.finish(ready);
    });
    let sent = queue().is_some_and(|q| {
        q.lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job)
            .is_ok()
    });
    if !sent {
        // No compile thread: the module stays on the interpreter.
        tier_up.finish(false);
    }
    tier_up
}

/// A call under the tiered strategy: on native code if the callee's module
/// has it, on the interpreter otherwise.
pub(crate) fn tiered_invoke(
    store: &mut kiln_runtime::Store,
    data: &mut dyn std::any::Any,
    func: kiln_runtime::FuncAddr,
    args: &[kiln_runtime::Val],
    results: &mut [kiln_runtime::Val],
) -> Result<(), kiln_runtime::Trap> {
    let native = match store.funcs.get(func.index()) {
        Some(kiln_runtime::FuncEntity::Wasm { instance, .. }) => store
            .instances
            .get(instance.index())
            .and_then(|i| kiln_runtime::invoke::code_as::<kiln_jit::CompiledModule>(&*i.code))
            .is_some(),
        _ => false,
    };
    if native {
        kiln_jit::invoke(store, data, func, args, results)
    } else {
        kiln_interp::invoke(store, data, func, args, results)
    }
}
