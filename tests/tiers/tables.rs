//! Tables: `call_indirect` through fixed-size and growing tables, of the
//! instance's own and of another instance, meeting every kind of callee.

use kiln::{Instance, Linker, Module, Store, TrapCode, Val};

use crate::{Tier, call, trap_code};

tier_tests!(indirect_calls_check_every_kind_of_callee_on_fixed_and_growing_tables);

/// A table of fixed size (its limits pin it), defined and exported, holding each kind
/// of callee `call_indirect` can meet.
const FIXED_TABLE: &str = r#"(module
  (import "host" "inc" (func $inc (param i32) (result i32)))
  (type $ii (func (param i32) (result i32)))
  (table $t (export "t") 5 5 funcref)
  (global (export "g") (mut i32) (i32.const 100))
  (elem (i32.const 0) func $twice $inc $wrong)
  (func $twice (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $wrong (param i64))
  (func (export "call") (param i32 i32) (result i32)
    (call_indirect (type $ii) (local.get 1) (local.get 0))))"#;

/// Calls through the fixed-size table of another instance (imported with limits that
/// pin its size), and through a table that grows.
const TABLE_USER: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (import "lib" "t" (table $t 5 5 funcref))
  (table $g 1 funcref)
  (global $sign (mut i32) (i32.const -1))
  (elem (table $g) (i32.const 0) func $neg)
  ;; Reads its own instance's global: called with another instance's context, it
  ;; would read that instance's first global instead.
  (func $neg (param i32) (result i32) (i32.mul (local.get 0) (global.get $sign)))
  (func (export "call") (param i32 i32) (result i32)
    (call_indirect $t (type $ii) (local.get 1) (local.get 0)))
  (func (export "call_grown") (param i32 i32) (result i32)
    (call_indirect $g (type $ii) (local.get 1) (local.get 0)))
  (func (export "grow") (result i32) (table.grow $g (ref.func $neg) (i32.const 1)))
  (func (export "set_own") (table.set $t (i32.const 3) (ref.func $neg))))"#;

fn indirect_calls_check_every_kind_of_callee_on_fixed_and_growing_tables(tier: Tier) {
    use TrapCode::*;
    let engine = tier.engine(|_| {});
    let mut store = Store::new(&engine, ());
    let mut linker: Linker<()> = Linker::new(&engine);
    linker
        .func_wrap("host", "inc", |_: kiln::Caller<'_, ()>, x: i32| Ok(x + 1))
        .expect("define");
    let lib = Module::new(&engine, FIXED_TABLE).expect("compile lib");
    let lib = linker
        .instantiate(&mut store, &lib)
        .expect("instantiate lib");
    linker.instance(&store, "lib", lib).expect("define lib");
    let user = Module::new(&engine, TABLE_USER).expect("compile user");
    let user = linker
        .instantiate(&mut store, &user)
        .expect("instantiate user");
    let expect = |store: &mut Store<()>,
                  instance: &Instance,
                  name: &str,
                  slot: i32,
                  want: Result<i32, TrapCode>| {
        let r = call(store, instance, name, &[Val::I32(slot), Val::I32(5)]);
        let got = match &r {
            Ok(v) => Ok(v[0]),
            Err(_) => Err(trap_code(&r)),
        };
        let want = want.map(Val::I32).map_err(Some);
        assert_eq!(got, want, "{name}({slot}): {r:?}");
    };
    for instance in [&lib, &user] {
        expect(&mut store, instance, "call", 0, Ok(10));
        expect(&mut store, instance, "call", 1, Ok(6));
        expect(
            &mut store,
            instance,
            "call",
            2,
            Err(IndirectCallTypeMismatch),
        );
        expect(&mut store, instance, "call", 3, Err(UninitializedElement));
        expect(&mut store, instance, "call", 5, Err(UndefinedElement));
        expect(&mut store, instance, "call", -1, Err(UndefinedElement));
    }
    // The user puts its own function into the lib's table: the lib calls it
    // through the slow path, the user directly.
    call(&mut store, &user, "set_own", &[]).expect("set_own");
    expect(&mut store, &lib, "call", 3, Ok(-5));
    expect(&mut store, &user, "call", 3, Ok(-5));
    expect(&mut store, &user, "call_grown", 0, Ok(-5));
    expect(&mut store, &user, "call_grown", 1, Err(UndefinedElement));
    let grown = call(&mut store, &user, "grow", &[]).expect("grow");
    assert_eq!(grown, vec![Val::I32(1)]);
    expect(&mut store, &user, "call_grown", 1, Ok(-5));
    expect(&mut store, &user, "call_grown", 2, Err(UndefinedElement));
}
