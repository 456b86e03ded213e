//! Fuel: a metered engine stops a loop that never ends.

use kiln::TrapCode;

use crate::calls::FIB;
use crate::{Program, Tier};

tier_tests!(
    fuel_stops_an_infinite_loop,
    a_host_function_refuels_the_running_call
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
        r#"(module
          (import "host" "ration" (func $ration (param i64)))
          (func (export "run") (param $fuel i64) (param $n i32) (result i32) (local $i i32)
            (call $ration (local.get $fuel))
            (loop $next
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
            (local.get $i)))"#,
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
