//! Resumable calls: a call that runs out of fuel stops where it is, the host
//! adds fuel, and the call continues from that exact point.
//!
//! # How
//! A resumable call runs on a stack of its own (a coroutine: [`start`] makes
//! it, with `corosensei`), whatever its tier. Both tiers check fuel the same
//! way (a metered run's cost, or an instruction's dynamic cost, against the
//! fuel left) and, when too little is left, call [`wait_for_fuel`] before they
//! trap. Inside a resumable call on the same store, that function *suspends*
//! the coroutine: control returns to the host, which gets a [`Suspended`]
//! call. Every frame of the call (WebAssembly frames of either tier, host
//! functions between them, the tiers' own Rust frames) stays as it is on the
//! coroutine's stack. [`Suspended::resume`] switches back, and
//! [`wait_for_fuel`] checks the same run's cost again, against the fuel the
//! host set (suspending again if it is still too little). A check that fails consumes nothing, so a call split at
//! any number of fuel points consumes exactly the fuel of an uninterrupted
//! one, and computes the same results.
//!
//! # What the host may do meanwhile
//! While a call is suspended the store is the host's again: its call depth is
//! the one the call started at, and the host may set fuel, make other calls
//! (resumable ones too), grow memories, and so on. The tiers take again what
//! they cache from the store (memory bases, fuel, epoch deadline) when
//! [`wait_for_fuel`] returns. The call's frames keep pointers to the store and
//! the host state, so they must not move meanwhile (the embedding API keeps
//! both on the heap): [`Suspended::resume`] checks that it is given the same
//! store (by address and by a never-reused id) and the same host state, and
//! refuses anything else. The call may be resumed only on the thread that
//! started it ([`Suspended`] is not `Send`).
//!
//! # Thread state
//! What a tier keeps per thread about the code running on the current stack
//! (the JIT's innermost entry, which its signal handler reads) is kept here
//! ([`entry`], [`set_entry`]) so that switching to a coroutine and back saves
//! and restores it with the stack it belongs to. [`current_stack`] tells the
//! JIT that it already runs on a stack of Kiln's own.
//!
//! # Abandoned calls
//! [`Suspended::cancel`] ends a call with `out of fuel`, unwinding it as that
//! trap would have. A [`Suspended`] dropped without being resumed or cancelled
//! is abandoned: its frames never run again and its stack is never unmapped
//! (freeing it could free memory a frame lent elsewhere), so what they hold
//! leaks.

mod stack;

use std::any::Any;
use std::cell::Cell;

use corosensei::{Coroutine, CoroutineResult, Yielder};

pub use stack::{GuardedStack, STACK_SIZE};

use crate::store::{Store, StoreUid};
use crate::trap::{Trap, TrapCode};
use crate::value::{FuncAddr, Val};

pub use crate::store::InvokeFn;

/// What the host sends a suspended call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resume {
    /// Check the fuel again and go on.
    Continue,
    /// End the call with `out of fuel`.
    Cancel,
}

/// What a suspended call tells the host: the fuel the check that stopped it
/// needs, and the store it waits in.
#[derive(Debug, Clone, Copy)]
struct OutOfFuel {
    needed: u64,
    /// The suspended frame's `&mut Store`, as a pointer: see [`out_of_fuel`].
    store: *mut Store,
}

/// The call's results, or how it failed.
type CallResult = Result<Vec<Val>, Trap>;

type Co = Coroutine<Resume, OutOfFuel, CallResult, GuardedStack>;

/// What [`out_of_fuel`] needs to know about the resumable call running on
/// this thread's current stack.
#[derive(Debug)]
struct Fiber {
    /// The coroutine's way back to the host (set when it starts, valid while
    /// it has not returned).
    yielder: Cell<*const Yielder<Resume, OutOfFuel>>,
    /// The store the call runs in: only its fuel checks suspend the call.
    store: *const Store,
    /// That store's id.
    uid: StoreUid,
    /// The address of the host state the call runs with.
    data: *const (),
    /// The store's call depth when the call started, restored while suspended.
    base_depth: u32,
    /// The coroutine's stack: `(map, low, top)`, see [`current_stack`].
    bounds: (usize, usize, usize),
    /// Set while the call is suspended; shared with the store
    /// ([`Store::gc_suspended`]), which does not collect its GC heap while
    /// a suspended call's frames are out of its sight. Cleared on resuming,
    /// and when the suspended call is dropped.
    suspended: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

thread_local! {
    /// The resumable call whose stack this thread runs on (null on a host stack).
    static FIBER: Cell<*const Fiber> = const { Cell::new(std::ptr::null()) };
    /// A tier's innermost native entry on the current stack (the JIT's).
    static ENTRY: Cell<*mut ()> = const { Cell::new(std::ptr::null_mut()) };
}

/// The innermost native entry a tier recorded for the current stack
/// (null if none); see [`set_entry`].
pub fn entry() -> *mut () {
    ENTRY.try_with(Cell::get).unwrap_or(std::ptr::null_mut())
}

/// Records the innermost native entry of the current stack, returning the one
/// it replaces. Switching to a resumable call's stack and back saves and
/// restores it.
pub fn set_entry(entry: *mut ()) -> *mut () {
    ENTRY
        .try_with(|e| e.replace(entry))
        .unwrap_or(std::ptr::null_mut())
}

/// The stack the current code runs on when it is a resumable call's:
/// `(map, low, top)`, the start of its mapping (guard region first), its
/// lowest usable address and its top. `None` on any other stack.
pub fn current_stack() -> Option<(usize, usize, usize)> {
    let fiber = FIBER.try_with(Cell::get).ok()?;
    // SAFETY: a non-null `FIBER` is the `Fiber` of the call whose stack this
    // thread runs on, which outlives every frame on that stack.
    (!fiber.is_null()).then(|| unsafe { (*fiber).bounds })
}

/// Called by a tier (or a dynamic charge) when a fuel check finds less than
/// `needed` left in `store` (`store.fuel` up to date): returns once the store
/// holds at least `needed`. Inside a resumable call of this store it
/// suspends the call, as often as it takes, until the host has set that much
/// and resumed it; the tier must then take again anything it caches from
/// the store. Anywhere else it returns the `out of fuel` trap at once.
///
/// # Errors
///
/// `out of fuel`: outside a resumable call, or when the host cancels it.
pub fn wait_for_fuel(store: &mut Store, needed: u64) -> Result<(), Trap> {
    while store.fuel < needed {
        out_of_fuel(store, needed)?;
    }
    Ok(())
}

/// One stop of [`wait_for_fuel`]: suspends the call of `store` running on
/// this thread's stack, if there is one, until the host resumes it.
///
/// # The store across the suspension
/// While the call is suspended the host changes the store (its fuel above
/// all) through its own reference, while every frame of the call still holds
/// a `&mut Store`, which tells the optimiser that nothing else writes the
/// store while the frame runs. Nothing in the coroutine switch itself names
/// the store, so, seeing a switch that cannot touch it, the optimiser could
/// keep a field read before the suspension (it did: the fuel, in the
/// optimised fuzz build and the tests, where `kiln-runtime` is optimised;
/// every resumable call then stopped at its first fuel check for good). The
/// switch is therefore handed this frame's store, as a pointer derived from
/// its reference ([`OutOfFuel::store`]): code that may write the store through
/// a pointer it was given, the optimiser must assume writes it, so every field
/// is read again after the switch, here and, since their calls handed this
/// frame their store, in every frame above it. The host side only checks the
/// pointer ([`Suspended::switch`]); it writes through its own reference.
/// (That the frames hold references across a foreign write is what the
/// coroutine design rests on: a design in which no frame holds one across a
/// suspension would need every tier to reach the store through raw pointers
/// only, RATIONALE.md "Resumable calls and the store's aliasing".)
fn out_of_fuel(store: &mut Store, needed: u64) -> Result<(), Trap> {
    let fiber = FIBER.try_with(Cell::get).unwrap_or(std::ptr::null());
    // SAFETY: a non-null `FIBER` outlives every frame on its stack (this one).
    let Some(fiber) = (unsafe { fiber.as_ref() }) else {
        return Err(TrapCode::OutOfFuel.into());
    };
    if !std::ptr::eq(fiber.store, store) {
        return Err(TrapCode::OutOfFuel.into());
    }
    let depth = store.depth;
    store.depth = fiber.base_depth;
    // The suspended frames' GC roots are out of the store's sight.
    fiber
        .suspended
        .store(true, std::sync::atomic::Ordering::Relaxed);
    store
        .gc_suspended
        .push(std::sync::Arc::clone(&fiber.suspended));
    // SAFETY: set when the coroutine started, and valid until it returns; it
    // has not, since this frame is on its stack.
    let yielder = unsafe { &*fiber.yielder.get() };
    let resume = yielder.suspend(OutOfFuel {
        needed,
        store: std::ptr::from_mut(store),
    });
    fiber
        .suspended
        .store(false, std::sync::atomic::Ordering::Relaxed);
    store.depth = depth;
    match resume {
        Resume::Continue => Ok(()),
        Resume::Cancel => Err(TrapCode::OutOfFuel.into()),
    }
}

/// How a resumable call's run ended.
#[derive(Debug)]
pub enum Outcome {
    /// The call returned (its results) or trapped.
    Finished(Result<Vec<Val>, Trap>),
    /// The call is suspended at a fuel check.
    OutOfFuel(Suspended),
}

/// Finished calls' stacks kept for the next resumable call of the thread
/// (mapping and unmapping 1 GiB of address space cost more than the call).
const SPARE_STACKS: usize = 4;

thread_local! {
    /// This thread's spare stacks (see [`SPARE_STACKS`]).
    static SPARES: std::cell::RefCell<Vec<GuardedStack>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A stack for a new call: a spare one, or a new mapping.
fn take_stack() -> rustix::io::Result<GuardedStack> {
    let spare = SPARES.try_with(|s| s.borrow_mut().pop()).ok().flatten();
    match spare {
        Some(stack) => Ok(stack),
        None => GuardedStack::new(),
    }
}

/// Keeps a finished call's stack for the next one, its pages released, if
/// the thread has room for it; unmaps it otherwise.
fn give_back(stack: GuardedStack) {
    if stack.release_pages().is_err() {
        return;
    }
    let _ = SPARES.try_with(|s| {
        let mut spares = s.borrow_mut();
        if spares.len() < SPARE_STACKS {
            spares.push(stack);
        }
    });
}

/// A resumable call suspended at a fuel check.
pub struct Suspended {
    /// The coroutine, suspended (never dropped unfinished: see `Drop`);
    /// `None` once it has finished and given its stack back.
    co: Option<Box<Co>>,
    /// What [`out_of_fuel`] reads while the call runs.
    fiber: Box<Fiber>,
    /// The tier's innermost entry on the coroutine's stack, kept while the
    /// coroutine is switched out.
    entry: *mut (),
    /// The fuel the check that stopped the call needs.
    needed: u64,
}

impl std::fmt::Debug for Suspended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Suspended")
            .field("needed", &self.needed)
            .finish_non_exhaustive()
    }
}

/// Starts calling `func` of `store` with `args`, through the tier's `invoke`,
/// on a stack of its own; `defaults` are its result slots (one per result,
/// each of its type), which the finished call's results replace.
///
/// The call's frames keep pointers to `store` and `data`: once it is
/// suspended, it runs again only when [`Suspended::resume`] is given the same
/// two (a [`Suspended`] dropped unfinished never touches them again).
///
/// # Errors
///
/// A host trap if the call's stack cannot be mapped.
pub fn start(
    store: &mut Store,
    data: &mut dyn Any,
    invoke: InvokeFn,
    func: FuncAddr,
    args: Vec<Val>,
    defaults: Vec<Val>,
) -> Result<Outcome, Trap> {
    let stack = take_stack()
        .map_err(|e| Trap::host(format!("cannot map a stack for a resumable call: {e}")))?;
    let fiber = Box::new(Fiber {
        yielder: Cell::new(std::ptr::null()),
        store,
        uid: store.uid,
        data: std::ptr::from_mut(data).cast::<()>(),
        base_depth: store.depth,
        bounds: (stack.map(), stack.low(), stack.top()),
        suspended: std::sync::Arc::default(),
    });
    let fiber_ptr: *const Fiber = &*fiber;
    let store_ptr: *mut Store = store;
    let data_ptr: *mut dyn Any = data;
    let co = Box::new(Co::with_stack(stack, move |yielder, _first: Resume| {
        // SAFETY: the `Fiber` is boxed and kept by the host side until the
        // coroutine returns.
        unsafe { (*fiber_ptr).yielder.set(yielder) };
        // SAFETY: the coroutine runs only inside `start` and `Suspended::switch`,
        // called with exclusive borrows of this store and host state (checked
        // by address and id in `resume`), which wait while it runs.
        let (store, data) = unsafe { (&mut *store_ptr, &mut *data_ptr) };
        let mut results = defaults;
        invoke(store, data, func, &args, &mut results).map(|()| results)
    }));
    let suspended = Suspended {
        co: Some(co),
        fiber,
        entry: std::ptr::null_mut(),
        needed: 0,
    };
    Ok(suspended.switch(Resume::Continue))
}

impl Suspended {
    /// The fuel the fuel check that stopped the call needs: it goes on once
    /// the store holds at least that much.
    pub fn required_fuel(&self) -> u64 {
        self.needed
    }

    /// Whether the call runs in `store` with host state `data`.
    pub fn belongs_to(&self, store: &Store, data: &dyn Any) -> bool {
        std::ptr::eq(self.fiber.store, store)
            && self.fiber.uid == store.uid
            && std::ptr::eq(self.fiber.data, std::ptr::from_ref(data).cast::<()>())
    }

    /// Continues the call where it stopped: the fuel check runs again, against
    /// the store's fuel now.
    ///
    /// # Errors
    ///
    /// A host trap, and the call stays suspended (returned with it), if `store`
    /// and `data` are not the ones the call started with.
    pub fn resume(
        self,
        store: &mut Store,
        data: &mut dyn Any,
    ) -> Result<Outcome, (Suspended, Trap)> {
        if !self.belongs_to(store, data) {
            return Err((self, wrong_store()));
        }
        Ok(self.switch(Resume::Continue))
    }

    /// Ends the call with `out of fuel`, as if it had not been resumable: its
    /// frames unwind as for that trap, and the trap is returned.
    ///
    /// # Errors
    ///
    /// As for [`Suspended::resume`].
    pub fn cancel(self, store: &mut Store, data: &mut dyn Any) -> Result<Trap, (Suspended, Trap)> {
        if !self.belongs_to(store, data) {
            return Err((self, wrong_store()));
        }
        let mut outcome = self.switch(Resume::Cancel);
        loop {
            match outcome {
                Outcome::Finished(Err(trap)) => return Ok(trap),
                // A host function between the check and the call's entry may have
                // turned the trap into results.
                Outcome::Finished(Ok(_)) => return Ok(TrapCode::OutOfFuel.into()),
                // ...or run out of fuel again after it.
                Outcome::OutOfFuel(again) => outcome = again.switch(Resume::Cancel),
            }
        }
    }

    /// Switches to the coroutine with `resume` until it suspends or returns.
    fn switch(mut self, resume: Resume) -> Outcome {
        let prev_fiber = FIBER.with(|f| f.replace(&*self.fiber));
        let prev_entry = set_entry(self.entry);
        struct Restore(*const Fiber, *mut ());
        impl Drop for Restore {
            fn drop(&mut self) {
                // Runs when the coroutine panicked too: the host's thread state
                // must be its own again.
                set_entry(self.1);
                let _ = FIBER.try_with(|f| f.set(self.0));
            }
        }
        let restore = Restore(prev_fiber, prev_entry);
        let Some(co) = self.co.as_mut() else {
            drop(restore);
            return Outcome::Finished(Err(Trap::host("the call has finished already")));
        };
        let result = co.resume(resume);
        self.entry = set_entry(prev_entry);
        drop(restore);
        match result {
            CoroutineResult::Yield(OutOfFuel { needed, store }) => {
                debug_assert!(std::ptr::eq(store, self.fiber.store));
                self.needed = needed;
                Outcome::OutOfFuel(self)
            }
            CoroutineResult::Return(result) => {
                if let Some(co) = self.co.take() {
                    give_back(co.into_stack());
                }
                Outcome::Finished(result)
            }
        }
    }
}

/// Why [`Suspended::resume`] refuses a store.
fn wrong_store() -> Trap {
    Trap::host("a suspended call can only be resumed with the store and host state it started with")
}

impl Drop for Suspended {
    fn drop(&mut self) {
        // Its frames will never run again: the store may collect.
        self.fiber
            .suspended
            .store(false, std::sync::atomic::Ordering::Relaxed);
        if let Some(co) = self.co.take()
            && !co.done()
        {
            // An unfinished coroutine is abandoned as it is (see the module
            // documentation): dropping it would unwind its frames, which the
            // JIT's cannot be, and unmapping its stack could free memory lent
            // elsewhere.
            std::mem::forget(co);
        }
    }
}
