//! A scheduler that runs several guests in slices of fuel on one thread: each
//! call is resumable, stops when its slice is spent, and goes on from there
//! when its turn comes again. The results and the fuel each guest consumed in
//! all are those of an uninterrupted run.
//!
//! Run with `cargo run --example resumable`.

use kiln::{Config, Engine, Instance, Module, ResumableCall, Store, Val};

const GUEST: &str = r#"(module
  (func $fib (export "fib") (param i64) (result i64)
    (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
      (then (local.get 0))
      (else (i64.add (call $fib (i64.sub (local.get 0) (i64.const 1)))
                     (call $fib (i64.sub (local.get 0) (i64.const 2))))))))"#;

/// Fuel per turn.
const SLICE: u64 = 10_000;

fn main() -> Result<(), kiln::Error> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, GUEST)?;

    // Three guests, each in a store of its own, each computing another number.
    let mut guests = Vec::new();
    for n in [20, 23, 25] {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        let fib = instance.get_func(&store, "fib").expect("exported");
        store.set_fuel(SLICE)?;
        let mut result = [Val::I64(0)];
        let call = fib.call_resumable(&mut store, &[Val::I64(n)], &mut result)?;
        guests.push((n, store, call, result, 1u32));
    }

    // Round robin: one slice per waiting guest per round.
    while guests
        .iter()
        .any(|(_, _, call, _, _)| matches!(call, ResumableCall::OutOfFuel(_)))
    {
        for (_, store, call, result, turns) in &mut guests {
            if let ResumableCall::OutOfFuel(waiting) =
                std::mem::replace(call, ResumableCall::Finished)
            {
                let left = store.get_fuel()?; // less than the stopped check needs
                store.set_fuel(left + SLICE)?;
                *call = waiting.resume(&mut *store, result)?;
                *turns += 1;
            }
        }
    }

    for (n, store, _, result, turns) in &guests {
        let used = u64::from(*turns) * SLICE - store.get_fuel()?;
        println!(
            "fib({n}) = {:?} after {turns} turns, {used} fuel in all",
            result[0]
        );
        // The same as one uninterrupted call with enough fuel.
        let mut alone = Store::new(&engine, ());
        let fib =
            Instance::new(&mut alone, &module, &[])?.get_typed_func::<i64, i64>(&alone, "fib")?;
        alone.set_fuel(u64::MAX)?;
        let value = fib.call(&mut alone, *n)?;
        assert_eq!(
            (Val::I64(value), u64::MAX - alone.get_fuel()?),
            (result[0], used)
        );
    }
    assert_eq!(guests[2].3, [Val::I64(75_025)]);
    Ok(())
}
