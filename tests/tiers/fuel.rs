//! Fuel: a metered engine stops a loop that never ends.

use kiln::TrapCode;

use crate::calls::FIB;
use crate::{Program, Tier};

/// A loop counting local `$i` up to parameter `$n`, leaving `$i`.
const COUNT_TO_N: &str = r#"(loop $next
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
            (local.get $i)"#;

tier_tests!(
    fuel_stops_an_infinite_loop,
    a_host_function_refuels_the_running_call,
    a_caught_exception_leaves_the_same_fuel_on_every_tier,
    the_epoch_callback_rations_the_running_loop,
    a_loop_runs_out_at_its_header_exactly
);

fn fuel_stops_an_infinite_loop(tier: Tier) {
    let mut p = Program::with(tier, FIB, |c| {
        c.consume_fuel(true);
    });
    p.store.set_fuel(10_000).expect("fuel");
    let err = p.call("forever", &[]).expect_err("must run out");
    assert_eq!(err.code(), Some(TrapCode::OutOfFuel));
    assert!(p.store.get_fuel().expect("fuel") < 10_000);
}

/// A host function sets the fuel through its `Caller`: the running call goes
/// on with what it set (here: little, so a long loop runs out).
fn a_host_function_refuels_the_running_call(tier: Tier) {
    let engine = tier.engine(|c| {
        c.consume_fuel(true);
    });
    let module = kiln::Module::new(
        &engine,
        format!(
            r#"(module
          (import "host" "ration" (func $ration (param i64)))
          (func (export "run") (param $fuel i64) (param $n i32) (result i32) (local $i i32)
            (call $ration (local.get $fuel))
            {COUNT_TO_N}))"#
        ),
    )
    .expect("compile");
    let mut store = kiln::Store::new(&engine, ());
    store.set_fuel(1_000_000).expect("fuel");
    let mut linker = kiln::Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "ration",
            |mut caller: kiln::Caller<'_, ()>, fuel: i64| {
                caller
                    .set_fuel(fuel as u64)
                    .map_err(|e| kiln::Trap::host(e.to_string()))
            },
        )
        .expect("define");
    let run = linker
        .instantiate(&mut store, &module)
        .expect("instantiate")
        .get_typed_func::<(i64, i32), i32>(&store, "run")
        .expect("run");
    let err = run.call(&mut store, (100, 1_000)).expect_err("rationed");
    assert_eq!(
        err.trap().and_then(kiln::Trap::code),
        Some(TrapCode::OutOfFuel)
    );
    store.set_fuel(1_000_000).expect("fuel");
    assert_eq!(
        run.call(&mut store, (100_000, 1_000)).expect("enough"),
        1_000
    );
    assert!(store.get_fuel().expect("fuel") < 100_000);
}

/// The fuel `run` of a module that catches an exception thrown by a callee
/// after a loop uses on `tier`, and its result.
fn fuel_through_a_caught_exception(tier: Tier) -> (u64, i32) {
    let engine = tier.engine(|c| {
        c.consume_fuel(true);
    });
    let module = kiln::Module::new(
        &engine,
        r#"(module
          (tag $e (param i32))
          (func $burn (param $n i32)
            (loop $l
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (br_if $l (local.get $n)))
            (throw $e (i32.const 7)))
          (func (export "run") (result i32) (local $i i32)
            (block $h (result i32)
              (try_table (catch $e $h) (call $burn (i32.const 100)))
              (i32.const 0))
            (local.set $i (i32.const 10))
            (loop $m
              (local.set $i (i32.sub (local.get $i) (i32.const 1)))
              (br_if $m (local.get $i)))))"#,
    )
    .expect("compile");
    let mut store = kiln::Store::new(&engine, ());
    store.set_fuel(1_000_000).expect("fuel");
    let run = kiln::Instance::new(&mut store, &module, &[])
        .expect("instantiate")
        .get_typed_func::<(), i32>(&store, "run")
        .expect("run");
    let result = run.call(&mut store, ()).expect("run");
    (1_000_000 - store.get_fuel().expect("fuel"), result)
}

/// The JIT keeps the fuel left in a register: after an exception is caught it
/// must take again what the callee that threw left.
fn a_caught_exception_leaves_the_same_fuel_on_every_tier(tier: Tier) {
    let (used, result) = fuel_through_a_caught_exception(tier);
    assert_eq!(result, 7);
    assert!(used > 300, "the callee's loop is charged: {used}");
    assert_eq!(used, fuel_through_a_caught_exception(Tier::REFERENCE).0);
}

/// With epoch interruption and fuel both on, the deadline's callback sets the
/// fuel of the running call: the loop, which would otherwise run a billion
/// iterations, goes on with what it set and runs out.
fn the_epoch_callback_rations_the_running_loop(tier: Tier) {
    let engine = tier.engine(|c| {
        c.consume_fuel(true).epoch_interruption(true);
    });
    let module = kiln::Module::new(
        &engine,
        format!(
            r#"(module
          (func (export "run") (param $n i32) (result i32) (local $i i32)
            {COUNT_TO_N}))"#
        ),
    )
    .expect("compile");
    let mut store = kiln::Store::new(&engine, ());
    store.set_fuel(u64::MAX / 2).expect("fuel");
    store.epoch_deadline_callback(|mut cx| {
        cx.set_fuel(1_000)?;
        Ok(kiln::UpdateDeadline::Continue(1_000_000))
    });
    store.set_epoch_deadline(1);
    let run = kiln::Instance::new(&mut store, &module, &[])
        .expect("instantiate")
        .get_typed_func::<i32, i32>(&store, "run")
        .expect("run");
    let ticker = crate::epoch::Interrupter::start(&engine);
    let outcome = run.call(&mut store, 1_000_000_000);
    ticker.finish();
    let err = outcome.expect_err("the callback's ration runs out");
    assert_eq!(
        err.trap().and_then(kiln::Trap::code),
        Some(TrapCode::OutOfFuel)
    );
}

/// A loop of one metered run of 5 instructions (`global.get`, `i32.const`,
/// `i32.add`, `global.set`, `br`) runs out of fuel at its header, where the
/// backward branch charges the next iteration: with `5 * k + r` fuel it runs
/// `k` iterations and leaves `r`. The same where a forward branch charges a
/// run.
fn a_loop_runs_out_at_its_header_exactly(tier: Tier) {
    let engine = tier.engine(|c| {
        c.consume_fuel(true);
    });
    let module = kiln::Module::new(
        &engine,
        r#"(module
          (global $n (export "n") (mut i32) (i32.const 0))
          (func (export "run")
            (loop $forever
              (global.set $n (i32.add (global.get $n) (i32.const 1)))
              (br $forever)))
          (func (export "skip")
            (loop $forever
              (block $b (br_if $b (i32.const 1)))
              (global.set $n (i32.add (global.get $n) (i32.const 1)))
              (br $forever)))
          (func (export "fall")
            (block $exit
              (loop $forever
                (br_if $exit (i32.const 0))
                (global.set $n (i32.add (global.get $n) (i32.const 1)))
                (br $forever))))
          (func $inc (global.set $n (i32.add (global.get $n) (i32.const 1))))
          (func (export "calls")
            (loop $forever
              (call $inc)
              (br $forever)))
          (func (export "table")
            (loop $forever
              (block $b (br_table $b $b (i32.const 0)))
              (global.set $n (i32.add (global.get $n) (i32.const 1)))
              (br $forever))))"#,
    )
    .expect("compile");
    // `run`: one run of 5 a loop. `skip`: a run of 2 (`i32.const`, `br_if`)
    // whose forward branch charges the run of 5 after the block; `fall` a
    // branch not taken before the run of 5; `table` a `br_table`. `calls`:
    // runs of 1 (`call`), 4 (the callee's, charged as it is entered) and 1
    // (`br`, charged as the callee returns).
    let cases = [
        ("run", 1_000, 200, 0),
        ("run", 1_003, 200, 3),
        ("run", 4, 0, 4),
        ("skip", 700, 100, 0),
        ("skip", 701, 100, 1),
        ("skip", 705, 100, 3),
        ("fall", 700, 100, 0),
        ("fall", 701, 100, 1),
        ("fall", 705, 100, 3),
        ("calls", 600, 100, 0),
        ("calls", 603, 100, 2),
        ("calls", 605, 101, 0),
        ("table", 701, 100, 1),
        ("table", 705, 100, 3),
    ];
    for (name, fuel, iterations, left) in cases {
        let mut store = kiln::Store::new(&engine, ());
        store.set_fuel(fuel).expect("fuel");
        let instance = kiln::Instance::new(&mut store, &module, &[]).expect("instantiate");
        let run = instance
            .get_typed_func::<(), ()>(&store, name)
            .expect("export");
        let err = run.call(&mut store, ()).expect_err("runs out");
        assert_eq!(
            err.trap().and_then(kiln::Trap::code),
            Some(TrapCode::OutOfFuel)
        );
        let n = instance.get_global(&store, "n").expect("n").get(&store);
        assert!(
            matches!(n, kiln::Val::I32(i) if i == iterations),
            "{fuel}: {n:?}"
        );
        assert_eq!(store.get_fuel().expect("fuel"), left, "{fuel}");
    }
}
