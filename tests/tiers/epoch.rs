//! Epoch interruption: another thread stops a guest that would never end, by
//! advancing the engine's epoch past the store's deadline.
//!
//! The interrupting thread is bounded: it gives up after [`MAX_TICKS`] ticks
//! (about two seconds), and each case checks that the interrupt came well
//! before that.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use kiln::{Engine, Error, Trap, TrapCode, UpdateDeadline, Val};

use crate::{Program, Tier};

tier_tests!(
    a_thread_stops_an_infinite_loop,
    a_thread_stops_endless_tail_recursion,
    the_callback_extends_the_deadline_then_fails_the_call,
    without_epoch_interruption_incrementing_changes_nothing,
    the_store_runs_again_after_an_interrupt,
    try_table_does_not_catch_an_interrupt,
    values_live_across_the_callback_survive,
    a_deadline_reached_before_the_call_stops_it_at_once,
    deep_recursion_still_exhausts_the_stack_with_epochs_on,
    a_callback_that_adds_no_ticks_is_called_at_every_check,
    a_panicking_callback_unwinds_to_the_caller,
    a_thread_stops_an_inner_loop,
    a_host_function_sets_a_deadline_the_running_call_sees,
    a_thread_stops_loops_that_call,
);

/// Most ticks the interrupting thread gives before it gives up.
const MAX_TICKS: usize = 200;

/// A loop that never ends, one that counts every turn in a global, tail
/// recursion without loops, a finite loop, and an endless loop inside a
/// `try_table` that catches everything.
const SPIN: &str = r#"(module
  (global $turns (export "turns") (mut i32) (i32.const 0))
  (func (export "spin") (loop br 0))
  (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $caller (param i32) (result i32) (call $leaf (local.get 0)))
  (func (export "spin_calling_a_leaf") (local $x i32)
    (loop $l (local.set $x (call $leaf (local.get $x))) (br $l)))
  (func (export "spin_calling_a_caller") (local $x i32)
    (loop $l (local.set $x (call $caller (local.get $x))) (br $l)))
  (func (export "inner_spin") (param i32)
    (loop $outer
      (loop $inner (br_if $inner (i32.eqz (local.get 0))))
      (br $outer)))
  (func (export "count") (loop
    (global.set $turns (i32.add (global.get $turns) (i32.const 1)))
    br 0))
  (func $deep (export "deep") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get 0) (i32.const 1)))))))
  (func $recurse (export "recurse") (param i64)
    (return_call $recurse (i64.add (local.get 0) (i64.const 1))))
  (func (export "sum") (param $n i32) (result i32) (local $s i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $s (i32.add (local.get $s) (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $s))
  (func (export "mix") (param $n i32) (result f64)
    (local $a f64) (local $b f64) (local $c f64) (local $d f64) (local $i i64) (local $x i64)
    (local.set $a (f64.const 1.5))
    (local.set $b (f64.const 2.25))
    (loop $next
      (local.set $a (f64.add (local.get $a) (f64.const 0.25)))
      (local.set $b (f64.mul (local.get $b) (f64.const 1.0001)))
      (local.set $c (f64.sub (local.get $c) (local.get $a)))
      (local.set $d (f64.add (local.get $d) (local.get $b)))
      (local.set $x (i64.add (local.get $x) (i64.mul (local.get $i) (i64.const 3))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $next (i32.lt_s (i32.wrap_i64 (local.get $i)) (local.get $n))))
    (f64.add (f64.add (local.get $a) (local.get $b))
      (f64.add (local.get $c) (f64.add (local.get $d) (f64.convert_i64_s (local.get $x))))))
  (func (export "caught") (result i32)
    (block $h (try_table (catch_all $h) (loop br 0)))
    (i32.const 7)))"#;

/// Engines and their clones can go to other threads.
#[test]
fn engines_are_shared_between_threads() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<Engine>();
}

/// A thread that waits ~50 ms, then advances `engine`'s epoch every 10 ms
/// until told to stop or [`MAX_TICKS`] ticks have passed.
pub(crate) struct Interrupter {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<usize>>,
}

impl Interrupter {
    pub(crate) fn start(engine: &Engine) -> Interrupter {
        let engine = engine.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            let mut ticks = 0;
            while ticks < MAX_TICKS && !stopped.load(Ordering::Relaxed) {
                engine.increment_epoch();
                ticks += 1;
                thread::sleep(Duration::from_millis(10));
            }
            ticks
        });
        Interrupter {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the thread; returns how many ticks it gave.
    pub(crate) fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .map_or(0, |t| t.join().expect("the interrupting thread"))
    }
}

impl Drop for Interrupter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn load(tier: Tier) -> Program {
    Program::with(tier, SPIN, |c| {
        c.epoch_interruption(true);
    })
}

/// Calls `name` while another thread advances the epoch; returns the trap.
fn interrupted(p: &mut Program, name: &str, args: &[Val]) -> Trap {
    let ticker = Interrupter::start(p.store.engine());
    let outcome = p.call(name, args);
    let ticks = ticker.finish();
    let trap = outcome.expect_err("the call must be interrupted");
    assert!(ticks < MAX_TICKS, "interrupted only after {ticks} ticks");
    trap
}

fn a_thread_stops_an_infinite_loop(tier: Tier) {
    let mut p = load(tier);
    p.store.set_epoch_deadline(1);
    let trap = interrupted(&mut p, "spin", &[]);
    assert_eq!(trap.code(), Some(TrapCode::Interrupt));
    assert!(trap.to_string().contains("interrupt"), "{trap}");
}

/// No loop: the checks at function entries stop it.
fn a_thread_stops_endless_tail_recursion(tier: Tier) {
    let mut p = load(tier);
    p.store.set_epoch_deadline(1);
    let trap = interrupted(&mut p, "recurse", &[Val::I64(0)]);
    assert_eq!(trap.code(), Some(TrapCode::Interrupt));
    assert_eq!(trap.to_string(), "interrupt");
}

fn the_callback_extends_the_deadline_then_fails_the_call(tier: Tier) {
    let mut p = load(tier);
    let turns = p.instance.get_global(&p.store, "turns").expect("turns");
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (counted, recorded) = (Arc::clone(&calls), Arc::clone(&seen));
    p.store.epoch_deadline_callback(move |cx| {
        let n = counted.fetch_add(1, Ordering::Relaxed) + 1;
        if let Val::I32(t) = turns.get(&cx) {
            recorded.lock().expect("lock").push(t);
        }
        if n < 4 {
            Ok(UpdateDeadline::Continue(1))
        } else {
            Err(Error::Trap(Trap::host("enough turns")))
        }
    });
    p.store.set_epoch_deadline(1);
    let trap = interrupted(&mut p, "count", &[]);
    assert_eq!(trap.code(), None);
    assert_eq!(trap.to_string(), "enough turns");
    assert_eq!(calls.load(Ordering::Relaxed), 4);
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 4);
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "the guest ran between callbacks: {seen:?}"
    );

    // Back to trapping.
    p.store.epoch_deadline_trap();
    p.store.set_epoch_deadline(1);
    let trap = interrupted(&mut p, "count", &[]);
    assert_eq!(trap.code(), Some(TrapCode::Interrupt));
    assert_eq!(calls.load(Ordering::Relaxed), 4);
}

/// Off (the default), epochs are never looked at: a finite loop computes the
/// same result, with the same fuel, as with epochs on and a far deadline.
fn without_epoch_interruption_incrementing_changes_nothing(tier: Tier) {
    let run = |epochs: bool| {
        let mut p = Program::with(tier, SPIN, |c| {
            c.consume_fuel(true).epoch_interruption(epochs);
        });
        p.store.set_fuel(1_000_000).expect("fuel");
        if epochs {
            p.store.set_epoch_deadline(1_000);
        }
        for _ in 0..10 {
            p.store.engine().increment_epoch();
        }
        let result = p.call("sum", &[Val::I32(1_000)]).expect("finishes");
        let fuel = 1_000_000 - p.store.get_fuel().expect("fuel");
        (result, fuel)
    };
    let off = run(false);
    assert_eq!(off.0, [Val::I32(500_500)]);
    assert_eq!(off, run(true));
}

fn the_store_runs_again_after_an_interrupt(tier: Tier) {
    let mut p = load(tier);
    p.store.set_epoch_deadline(1);
    let trap = interrupted(&mut p, "spin", &[]);
    assert_eq!(trap.code(), Some(TrapCode::Interrupt));
    // The deadline stays reached until it is set again.
    let again = p.call("sum", &[Val::I32(3)]).expect_err("still past");
    assert_eq!(again.code(), Some(TrapCode::Interrupt));
    p.store.set_epoch_deadline(1_000);
    assert_eq!(p.call("sum", &[Val::I32(10)]), Ok(vec![Val::I32(55)]));
    p.store.set_epoch_deadline(1);
    let trap = interrupted(&mut p, "spin", &[]);
    assert_eq!(trap.code(), Some(TrapCode::Interrupt));
}

/// An interrupt is a trap, not an exception: `catch_all` does not see it.
fn try_table_does_not_catch_an_interrupt(tier: Tier) {
    let mut p = load(tier);
    p.store.set_epoch_deadline(1);
    let trap = interrupted(&mut p, "caught", &[]);
    assert_eq!(trap.code(), Some(TrapCode::Interrupt));
}

/// A callback that lets the guest go on at every check (`Continue(0)`: the
/// deadline stays reached) runs at every loop header; the loop's values, in
/// registers across those calls, come out as with epochs off.
fn values_live_across_the_callback_survive(tier: Tier) {
    let expected = Program::load(tier, SPIN)
        .call("mix", &[Val::I32(1_000)])
        .expect("runs");
    let mut p = load(tier);
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    p.store.epoch_deadline_callback(move |_| {
        counted.fetch_add(1, Ordering::Relaxed);
        Ok(UpdateDeadline::Continue(0))
    });
    p.store.set_epoch_deadline(0);
    let got = p.call("mix", &[Val::I32(1_000)]).expect("runs");
    assert_eq!(got, expected);
    // At least at every loop header (the JIT checks no entry of a function
    // without calls).
    assert!(calls.load(Ordering::Relaxed) >= 1_000);
}

/// The epoch passed the deadline before the call: no thread advances it
/// during the call, and the first check stops it (a function without a loop
/// too: its entry check).
fn a_deadline_reached_before_the_call_stops_it_at_once(tier: Tier) {
    let mut p = load(tier);
    p.store.set_epoch_deadline(2);
    p.store.engine().increment_epoch();
    p.store.engine().increment_epoch();
    let trap = p
        .call("deep", &[Val::I32(0)])
        .expect_err("stopped at entry");
    assert_eq!(trap.code(), Some(TrapCode::Interrupt));
    let trap = p.call("spin", &[]).expect_err("stopped at once");
    assert_eq!(trap.code(), Some(TrapCode::Interrupt));
    p.store.set_epoch_deadline(1);
    assert_eq!(p.call("deep", &[Val::I32(100)]), Ok(vec![Val::I32(100)]));
}

/// With epochs on, the function-entry check that also stops recursion too
/// deep for the stack still does (the JIT's: its stack-limit check is the
/// epoch check's; without a depth limit, some 20 million frames fill its
/// stack). The interpreter keeps its frames on the heap: its depth limit
/// stops it.
fn deep_recursion_still_exhausts_the_stack_with_epochs_on(tier: Tier) {
    let limit = match tier {
        Tier::Jit => u32::MAX,
        Tier::Interp => 100_000,
    };
    let mut p = Program::with(tier, SPIN, |c| {
        c.epoch_interruption(true).max_call_depth(limit);
    });
    p.store.set_epoch_deadline(1_000_000);
    let trap = p
        .call("deep", &[Val::I32(i32::MAX)])
        .expect_err("too deep for any stack");
    assert_eq!(trap.code(), Some(TrapCode::CallStackExhausted));
    assert_eq!(p.call("deep", &[Val::I32(1000)]), Ok(vec![Val::I32(1000)]));
}

/// A callback that sets the deadline at the current epoch (0 ticks) leaves it
/// reached: the next check calls it again, and so on.
fn a_callback_that_adds_no_ticks_is_called_at_every_check(tier: Tier) {
    let mut p = load(tier);
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    p.store.epoch_deadline_callback(move |_| {
        seen.fetch_add(1, Ordering::Relaxed);
        Ok(UpdateDeadline::Continue(0))
    });
    p.store.set_epoch_deadline(0);
    assert_eq!(p.call("sum", &[Val::I32(10)]), Ok(vec![Val::I32(55)]));
    // The entry check (the JIT's for a call from the host: it checks no entry
    // of a function without calls otherwise) and eleven loop-header checks.
    assert_eq!(calls.load(Ordering::Relaxed), 12);
}

/// A callback that panics: the panic reaches the caller of the call, once the
/// WebAssembly frames are gone, and the store stays usable.
fn a_panicking_callback_unwinds_to_the_caller(tier: Tier) {
    let mut p = load(tier);
    p.store
        .epoch_deadline_callback(|_| panic!("the callback gives up"));
    p.store.set_epoch_deadline(0);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = p.call("sum", &[Val::I32(10)]);
    }));
    let message = outcome.expect_err("the panic reaches the caller");
    assert_eq!(
        message.downcast_ref::<&str>(),
        Some(&"the callback gives up")
    );
    p.store.epoch_deadline_trap();
    p.store.set_epoch_deadline(1);
    assert_eq!(p.call("sum", &[Val::I32(10)]), Ok(vec![Val::I32(55)]));
}

/// A loop inside a loop: the inner loop's own header check stops it (the
/// JIT's reads of the poll page must not be merged into the outer one's).
fn a_thread_stops_an_inner_loop(tier: Tier) {
    let mut p = load(tier);
    p.store.set_epoch_deadline(1);
    let trap = interrupted(&mut p, "inner_spin", &[Val::I32(0)]);
    assert_eq!(trap.code(), Some(TrapCode::Interrupt));
}

/// A host function sets a deadline already reached through its `Caller`:
/// the call stops at its next check, with no tick of the epoch.
fn a_host_function_sets_a_deadline_the_running_call_sees(tier: Tier) {
    let engine = tier.engine(|c| {
        c.epoch_interruption(true);
    });
    let module = kiln::Module::new(
        &engine,
        r#"(module
          (import "host" "stop" (func $stop))
          (func (export "run") (param $n i32) (result i32) (local $i i32)
            (loop $next
              (if (i32.eq (local.get $i) (i32.const 10)) (then (call $stop)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
            (local.get $i)))"#,
    )
    .expect("compile");
    let mut store = kiln::Store::new(&engine, ());
    store.set_epoch_deadline(1_000);
    let mut linker = kiln::Linker::new(&engine);
    linker
        .func_wrap("host", "stop", |mut caller: kiln::Caller<'_, ()>| {
            caller.set_epoch_deadline(0);
        })
        .expect("define");
    let run = linker
        .instantiate(&mut store, &module)
        .expect("instantiate")
        .get_typed_func::<i32, i32>(&store, "run")
        .expect("run");
    let err = run.call(&mut store, 1_000_000).expect_err("stopped");
    assert_eq!(err.trap().and_then(Trap::code), Some(TrapCode::Interrupt));
    store.set_epoch_deadline(1_000);
    assert_eq!(run.call(&mut store, 5).expect("runs"), 5);
}

/// Loops whose every iteration calls a function: one without calls (the loop
/// header's check stops it), one that calls (in the JIT, the callee's entry
/// check stops it: the loop header has none of its own).
fn a_thread_stops_loops_that_call(tier: Tier) {
    for name in ["spin_calling_a_leaf", "spin_calling_a_caller"] {
        let mut p = load(tier);
        p.store.set_epoch_deadline(1);
        let trap = interrupted(&mut p, name, &[]);
        assert_eq!(trap.code(), Some(TrapCode::Interrupt), "{name}");
    }
}
