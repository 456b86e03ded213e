//! Exceptions across the embedding boundary: the guest throws and the host
//! catches the exception and reads its payload; the host throws and the
//! guest catches it with `try_table`.
//!
//! Run with `cargo run --example exceptions` (once the JIT, the default
//! engine, runs `throw` and `try_table`; until then `Module::new` reports
//! them unsupported).

use kiln::{Caller, Engine, Exn, FuncType, Linker, Module, Store, Tag, Trap, Val, ValType};

const GUEST: &str = r#"(module
  (import "host" "error" (tag $error (param i32)))
  (import "host" "check" (func $check (param i32)))
  ;; Throws $error with the code when it is not zero.
  (func (export "fail") (param $code i32)
    (if (local.get $code) (then (throw $error (local.get $code)))))
  ;; Calls the host's check; the code it throws is the result, 0 if none.
  (func (export "guarded") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $error $caught) (call $check (local.get 0)))
      (i32.const 0))))"#;

fn main() -> Result<(), kiln::Error> {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;
    let mut store = Store::new(&engine, ());

    // One tag, shared by host and guest: `(tag (param i32))`.
    let ty = FuncType {
        params: [ValType::I32].into(),
        results: [].into(),
    };
    let error = Tag::new(&mut store, &ty)?;

    let mut linker = Linker::new(&engine);
    linker.define("host", "error", error)?;
    // The host throws: an odd value is refused with its own value as code.
    linker.func_wrap(
        "host",
        "check",
        move |mut caller: Caller<'_, ()>, x: i32| -> Result<(), Trap> {
            if x % 2 == 0 {
                return Ok(());
            }
            let exn = Exn::new(&mut caller, &error, &[Val::I32(x)])
                .map_err(|e| Trap::host(e.to_string()))?;
            Err(exn.into())
        },
    )?;
    let instance = linker.instantiate(&mut store, &module)?;

    // The guest throws, the host catches.
    let fail = instance.get_typed_func::<i32, ()>(&store, "fail")?;
    fail.call(&mut store, 0)?;
    let err = fail.call(&mut store, 42).expect_err("fail(42) throws");
    let exn = err.exception(&store).expect("an exception, not a trap");
    assert_eq!(exn.tag(&store), error);
    println!("fail(42) threw {:?}", exn.payload(&store));
    assert_eq!(exn.payload(&store), [Val::I32(42)]);

    // The host throws, the guest catches.
    let guarded = instance.get_typed_func::<i32, i32>(&store, "guarded")?;
    println!("guarded(4) = {}", guarded.call(&mut store, 4)?);
    println!("guarded(7) = {}", guarded.call(&mut store, 7)?);
    assert_eq!(guarded.call(&mut store, 4)?, 0);
    assert_eq!(guarded.call(&mut store, 7)?, 7);
    Ok(())
}
