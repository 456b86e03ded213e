//! A guest bounded by fuel: an infinite loop ends in an `out of fuel` trap, the
//! host keeps running, and a well-behaved call reports what it consumed.
//!
//! Run with `cargo run --example fuel`.

use kiln::{Config, Engine, Module, Store, TrapCode};

const GUEST: &str = r#"(module
  (func (export "spin") (loop (br 0)))
  (func (export "sum") (param i32) (result i32) (local i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get 0)))
        (local.set 1 (i32.add (local.get 1) (local.get 0)))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $next)))
    (local.get 1)))"#;

fn main() -> Result<(), kiln::Error> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, GUEST)?;
    let mut store = Store::new(&engine, ());
    let instance = kiln::Instance::new(&mut store, &module, &[])?;

    store.set_fuel(1_000_000)?;
    let spin = instance.get_typed_func::<(), ()>(&store, "spin")?;
    let err = spin
        .call(&mut store, ())
        .expect_err("an infinite loop cannot finish");
    let code = err.trap().and_then(kiln::Trap::code);
    println!("spin: {err} (fuel left: {})", store.get_fuel()?);
    assert_eq!(code, Some(TrapCode::OutOfFuel));

    store.set_fuel(1_000_000)?;
    let sum = instance.get_typed_func::<i32, i32>(&store, "sum")?;
    let total = sum.call(&mut store, 1000)?;
    let used = 1_000_000 - store.get_fuel()?;
    println!("sum(1000) = {total}, using {used} fuel");
    assert_eq!(total, 500_500);
    Ok(())
}
