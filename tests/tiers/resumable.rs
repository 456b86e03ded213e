//! Resumable calls: a call that runs out of fuel stops, the host adds fuel, and
//! the call goes on from where it stopped, with the results and the total fuel
//! of an uninterrupted run.

use kiln::{
    Caller, Engine, Error, Func, Instance, Linker, Module, ResumableCall, Store, TrapCode, Val,
};

use crate::Tier;

tier_tests!(
    a_call_split_at_every_fuel_point_computes_the_same,
    slices_through_host_functions_and_re_entries,
    the_store_may_move_and_be_used_while_a_call_waits,
    cancel_ends_the_call_as_out_of_fuel_would,
    an_abandoned_call_leaves_the_store_usable,
    two_calls_wait_in_one_store_at_once,
    traps_and_exceptions_after_resuming,
    the_call_depth_limit_is_the_same_on_the_call_stack_of_a_resumable_call,
    another_store_is_refused,
    typed_calls_resume_too,
);

/// Loops, memory and table instructions with dynamic costs, calls, a host
/// function that calls back into WebAssembly, and exceptions.
const PROGRAM: &str = r#"(module
  (import "host" "twice" (func $twice (param i32) (result i32)))
  (memory (export "mem") 1)
  (table 4 funcref)
  (tag $t (param i32))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $work (export "work") (param $n i32) (result i32) (local $acc i32)
    (loop $top
      (memory.fill (i32.const 0) (local.get $n) (i32.const 4000))
      (table.fill (i32.const 0) (ref.null func) (i32.const 4))
      (local.set $acc (i32.add (local.get $acc)
        (i32.add (i32.load8_u (i32.const 17)) (call $fib (i32.const 7)))))
      (br_if $top (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc))
  (func (export "nested") (param i32) (result i32)
    (i32.add (call $twice (local.get 0)) (call $work (i32.const 3))))
  (func (export "size_after_work") (result i32)
    (drop (call $work (i32.const 20)))
    (memory.size))
  (func (export "trap_after_work") (result i32)
    (drop (call $work (i32.const 20)))
    (i32.div_u (i32.const 1) (i32.const 0)))
  (func $throw_after_work (param i32)
    (drop (call $work (local.get 0)))
    (throw $t (local.get 0)))
  (func (export "catch_after_work") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $t $caught)
        (call $throw_after_work (local.get 0)))
      (i32.const -1)))
  (func $deep (export "deep") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "forever") (loop (br 0)))
)"#;

/// An engine with fuel for `tier`, a store with the program instantiated in it
/// (its host function calls export `work` back with twice its argument).
fn setup(tier: Tier, configure: impl FnOnce(&mut kiln::Config)) -> (Store<()>, Instance) {
    let engine = tier.engine(|c| {
        c.consume_fuel(true);
        configure(c);
    });
    instantiate(&engine)
}

fn instantiate(engine: &Engine) -> (Store<()>, Instance) {
    let module = Module::new(engine, PROGRAM).expect("compile");
    let mut store = Store::new(engine, ());
    let mut linker = Linker::new(engine);
    linker
        .func_wrap("host", "twice", |mut caller: Caller<'_, ()>, x: i32| {
            let Some(kiln::Extern::Func(work)) = caller.get_export("work") else {
                panic!("no work export");
            };
            let mut out = [Val::I32(0)];
            work.call(&mut caller, &[Val::I32(x * 2)], &mut out)
                .map_err(|e| match e {
                    Error::Trap(trap) => trap,
                    other => kiln::Trap::host(other.to_string()),
                })?;
            let Val::I32(v) = out[0] else {
                panic!("an i32")
            };
            Ok(v)
        })
        .expect("define");
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiate");
    (store, instance)
}

fn func(store: &Store<()>, instance: &Instance, name: &str) -> Func {
    instance.get_func(store, name).expect("export")
}

/// What an uninterrupted call with plenty of fuel returns and consumes.
fn uninterrupted(tier: Tier, name: &str, args: &[Val]) -> (Result<Vec<Val>, Error>, u64) {
    const PLENTY: u64 = 1 << 40;
    let (mut store, instance) = setup(tier, |_| {});
    store.set_fuel(PLENTY).expect("fuel");
    let f = func(&store, &instance, name);
    let mut results = vec![Val::I32(0); f.ty(&store).results.len()];
    let outcome = f.call(&mut store, args, &mut results).map(|()| results);
    (outcome, PLENTY - store.get_fuel().expect("fuel"))
}

/// Runs `name(args)` resumably, starting with `first` fuel and adding
/// `slice` each time it stops; returns its outcome, the fuel it consumed and
/// how often it stopped.
fn in_slices(
    store: &mut Store<()>,
    instance: &Instance,
    name: &str,
    args: &[Val],
    first: u64,
    slice: u64,
) -> (Result<Vec<Val>, Error>, u64, u32) {
    let f = func(store, instance, name);
    let mut results = vec![Val::I32(0); f.ty(&*store).results.len()];
    store.set_fuel(first).expect("fuel");
    let mut given = first;
    let mut stops = 0;
    let mut call = f.call_resumable(&mut *store, args, &mut results);
    loop {
        match call {
            Ok(ResumableCall::Finished) => break,
            Ok(ResumableCall::OutOfFuel(invocation)) => {
                stops += 1;
                let left = store.get_fuel().expect("fuel");
                assert!(left < invocation.required_fuel(), "it stopped for a reason");
                store.set_fuel(left + slice).expect("fuel");
                given += slice;
                call = invocation.resume(&mut *store, &mut results);
            }
            Err(e) => {
                let used = given - store.get_fuel().expect("fuel");
                return (Err(e), used, stops);
            }
        }
    }
    (Ok(results), given - store.get_fuel().expect("fuel"), stops)
}

fn a_call_split_at_every_fuel_point_computes_the_same(tier: Tier) {
    // Iteration n adds the byte `memory.fill` wrote (n) and fib(7) = 13.
    let (expected, fuel) = uninterrupted(tier, "work", &[Val::I32(30)]);
    assert_eq!(expected.as_ref().ok(), Some(&vec![Val::I32(855)]));
    // A unit at a time: the call stops at every metered run that costs more
    // than is left, and at every dynamic charge.
    for slice in [1, 2, 7, 100, 5000] {
        let (mut store, instance) = setup(tier, |_| {});
        let (got, used, stops) =
            in_slices(&mut store, &instance, "work", &[Val::I32(30)], 0, slice);
        assert_eq!(got.ok(), expected.as_ref().ok().cloned(), "slice {slice}");
        assert_eq!(used, fuel, "slice {slice}: the same fuel in all");
        assert!(stops > 0, "slice {slice}");
    }
}

fn slices_through_host_functions_and_re_entries(tier: Tier) {
    let (expected, fuel) = uninterrupted(tier, "nested", &[Val::I32(4)]);
    assert!(expected.is_ok(), "{expected:?}");
    for slice in [3, 50, 999] {
        let (mut store, instance) = setup(tier, |_| {});
        let (got, used, stops) =
            in_slices(&mut store, &instance, "nested", &[Val::I32(4)], 5, slice);
        assert_eq!(got.ok(), expected.as_ref().ok().cloned(), "slice {slice}");
        assert_eq!(used, fuel, "slice {slice}");
        assert!(
            stops > 1,
            "slice {slice}: it stopped inside the host function's re-entry too"
        );
    }
}

fn the_store_may_move_and_be_used_while_a_call_waits(tier: Tier) {
    let (store, instance) = setup(tier, |_| {});
    let mut boxed = Box::new(store);
    let size_after = func(&boxed, &instance, "size_after_work");
    let fib = func(&boxed, &instance, "fib");
    let mem = instance.get_memory(&*boxed, "mem").expect("memory");
    boxed.set_fuel(100).expect("fuel");
    let mut out = [Val::I32(0)];
    let Ok(ResumableCall::OutOfFuel(waiting)) =
        size_after.call_resumable(&mut *boxed, &[], &mut out)
    else {
        panic!("100 units are not enough");
    };
    // Move the store, call another function in it, and grow its memory.
    let mut stores = [*boxed];
    let store = &mut stores[0];
    store.set_fuel(1_000_000).expect("fuel");
    let mut r = [Val::I32(0)];
    fib.call(&mut *store, &[Val::I32(15)], &mut r).expect("fib");
    assert_eq!(r, [Val::I32(610)]);
    assert_eq!(mem.grow(&mut *store, 2).expect("grow"), 1);
    store.set_fuel(1_000_000).expect("fuel");
    let done = waiting.resume(&mut *store, &mut out).expect("resume");
    assert!(matches!(done, ResumableCall::Finished));
    assert_eq!(out, [Val::I32(3)], "the call sees the memory the host grew");
}

fn cancel_ends_the_call_as_out_of_fuel_would(tier: Tier) {
    let (mut store, instance) = setup(tier, |_| {});
    let nested = func(&store, &instance, "nested");
    store.set_fuel(300).expect("fuel");
    let mut out = [Val::I32(0)];
    let mut call = nested.call_resumable(&mut store, &[Val::I32(3)], &mut out);
    // Let it stop twice, then give up.
    for _ in 0..2 {
        let Ok(ResumableCall::OutOfFuel(waiting)) = call else {
            panic!("expected a stop: {call:?}");
        };
        store.set_fuel(300).expect("fuel");
        call = waiting.resume(&mut store, &mut out);
    }
    let Ok(ResumableCall::OutOfFuel(waiting)) = call else {
        panic!("expected a stop: {call:?}");
    };
    let err = waiting.cancel(&mut store);
    assert_eq!(
        err.trap().and_then(kiln::Trap::code),
        Some(TrapCode::OutOfFuel)
    );
    store.set_fuel(1_000_000).expect("fuel");
    let fib = func(&store, &instance, "fib");
    fib.call(&mut store, &[Val::I32(10)], &mut out)
        .expect("the store is usable");
    assert_eq!(out, [Val::I32(55)]);
}

fn an_abandoned_call_leaves_the_store_usable(tier: Tier) {
    let (mut store, instance) = setup(tier, |_| {});
    let forever = func(&store, &instance, "forever");
    store.set_fuel(1000).expect("fuel");
    let call = forever
        .call_resumable(&mut store, &[], &mut [])
        .expect("call");
    assert!(matches!(call, ResumableCall::OutOfFuel(_)));
    drop(call);
    store.set_fuel(1_000_000).expect("fuel");
    let mut out = [Val::I32(0)];
    let deep = func(&store, &instance, "deep");
    deep.call(&mut store, &[Val::I32(500)], &mut out)
        .expect("deep");
    assert_eq!(out, [Val::I32(500)]);
}

fn two_calls_wait_in_one_store_at_once(tier: Tier) {
    let (expected_a, fuel_a) = uninterrupted(tier, "work", &[Val::I32(9)]);
    let (expected_b, fuel_b) = uninterrupted(tier, "fib", &[Val::I32(16)]);
    let (mut store, instance) = setup(tier, |_| {});
    let (a, b) = (
        func(&store, &instance, "work"),
        func(&store, &instance, "fib"),
    );
    let (mut out_a, mut out_b) = ([Val::I32(0)], [Val::I32(0)]);
    store.set_fuel(0).expect("fuel");
    let mut call_a = Some(
        a.call_resumable(&mut store, &[Val::I32(9)], &mut out_a)
            .expect("a"),
    );
    let mut call_b = Some(
        b.call_resumable(&mut store, &[Val::I32(16)], &mut out_b)
            .expect("b"),
    );
    let (mut used_a, mut used_b) = (0, 0);
    // Alternate: 37 units (or what the stopped check needs, if more) to one,
    // then to the other, until both finish.
    for _ in 0..1_000_000 {
        for (call, out, used) in [
            (&mut call_a, &mut out_a, &mut used_a),
            (&mut call_b, &mut out_b, &mut used_b),
        ] {
            if let Some(ResumableCall::OutOfFuel(waiting)) = call.take() {
                let slice = waiting.required_fuel().max(37);
                store.set_fuel(slice).expect("fuel");
                *call = Some(waiting.resume(&mut store, out).expect("resume"));
                *used += slice - store.get_fuel().expect("fuel");
            }
        }
        if call_a
            .as_ref()
            .is_some_and(|c| matches!(c, ResumableCall::Finished))
            && call_b
                .as_ref()
                .is_some_and(|c| matches!(c, ResumableCall::Finished))
        {
            break;
        }
    }
    assert_eq!(Some(out_a.to_vec()), expected_a.ok());
    assert_eq!(Some(out_b.to_vec()), expected_b.ok());
    assert_eq!((used_a, used_b), (fuel_a, fuel_b));
}

fn traps_and_exceptions_after_resuming(tier: Tier) {
    let (expected, fuel) = uninterrupted(tier, "trap_after_work", &[]);
    assert_eq!(
        expected
            .as_ref()
            .err()
            .and_then(Error::trap)
            .and_then(kiln::Trap::code),
        Some(TrapCode::IntegerDivisionByZero)
    );
    let (mut store, instance) = setup(tier, |_| {});
    let (got, used, stops) = in_slices(&mut store, &instance, "trap_after_work", &[], 0, 41);
    assert!(stops > 0);
    assert_eq!(
        got.err()
            .as_ref()
            .and_then(Error::trap)
            .and_then(kiln::Trap::code),
        Some(TrapCode::IntegerDivisionByZero)
    );
    assert_eq!(used, fuel);

    let (expected, fuel) = uninterrupted(tier, "catch_after_work", &[Val::I32(6)]);
    assert_eq!(expected.as_ref().ok(), Some(&vec![Val::I32(6)]));
    let (got, used, stops) = in_slices(
        &mut store,
        &instance,
        "catch_after_work",
        &[Val::I32(6)],
        0,
        23,
    );
    assert!(stops > 0);
    assert_eq!(got.ok(), Some(vec![Val::I32(6)]));
    assert_eq!(used, fuel);
}

fn the_call_depth_limit_is_the_same_on_the_call_stack_of_a_resumable_call(tier: Tier) {
    let limit = 20_000;
    let (mut store, instance) = setup(tier, |c| {
        c.max_call_depth(limit);
    });
    let deep = func(&store, &instance, "deep");
    let mut out = [Val::I32(0)];
    // `deep n` makes n + 1 nested calls.
    for (n, fits) in [(limit - 1, true), (limit, false)] {
        store.set_fuel(10).expect("fuel");
        let mut call = deep.call_resumable(&mut store, &[Val::I32(n as i32)], &mut out);
        while let Ok(ResumableCall::OutOfFuel(waiting)) = call {
            store.set_fuel(5000).expect("fuel");
            call = waiting.resume(&mut store, &mut out);
        }
        match call {
            Ok(_) => assert!(fits, "{n} frames must not fit"),
            Err(e) => {
                assert!(!fits, "{n} frames must fit: {e}");
                assert_eq!(
                    e.trap().and_then(kiln::Trap::code),
                    Some(TrapCode::CallStackExhausted)
                );
            }
        }
    }
}

fn another_store_is_refused(tier: Tier) {
    let (mut store, instance) = setup(tier, |_| {});
    let forever = func(&store, &instance, "forever");
    store.set_fuel(10).expect("fuel");
    let Ok(ResumableCall::OutOfFuel(waiting)) = forever.call_resumable(&mut store, &[], &mut [])
    else {
        panic!("expected a stop");
    };
    let (mut other, _) = instantiate(store.engine());
    assert!(matches!(
        waiting.resume(&mut other, &mut []),
        Err(Error::Store)
    ));
}

/// The typed form: results as Rust values, the same stops and totals.
fn typed_calls_resume_too(tier: Tier) {
    let (expected, fuel) = uninterrupted(tier, "fib", &[Val::I32(18)]);
    let (mut store, instance) = setup(tier, |_| {});
    let fib = instance
        .get_typed_func::<i32, i32>(&store, "fib")
        .expect("typed");
    store.set_fuel(3).expect("fuel");
    let mut given = 3;
    let mut stops = 0;
    let mut call = fib.call_resumable(&mut store, 18).expect("call");
    let value = loop {
        match call {
            kiln::TypedResumableCall::Finished(v) => break v,
            kiln::TypedResumableCall::OutOfFuel(waiting) => {
                stops += 1;
                let left = store.get_fuel().expect("fuel");
                store.set_fuel(left + 500).expect("fuel");
                given += 500;
                call = waiting.resume(&mut store).expect("resume");
            }
        }
    };
    assert_eq!(Some(vec![Val::I32(value)]), expected.ok());
    assert_eq!(given - store.get_fuel().expect("fuel"), fuel);
    assert!(stops > 10);
}
