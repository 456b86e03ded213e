//! The embedding API's exceptions and typed function references in code
//! that needs the tiers to run `throw`, `throw_ref`, `try_table`,
//! `call_ref` and `br_on_null`: WebAssembly throws and the host catches, the
//! host throws and WebAssembly catches, an exception crosses a host function
//! both ways, an `exnref` reaches the host, and WebAssembly calls a host
//! function the host passed as a typed reference. Each case runs on both
//! tiers.
//!
//! The interpreter runs these instructions; until the JIT does too, its
//! `Module::new` refuses the modules as [`Error::Unsupported`], so this file
//! is not run by `cargo test` (`test = false` in `Cargo.toml`); run it with
//! `cargo test -p kiln --test exceptions_api` (`-- interp::` for the
//! interpreter's cases alone).

#[macro_use]
mod common;

use common::{engine, func_type, thrower};
use kiln::{
    Caller, Error, Exn, Func, FuncType, Linker, Module, Store, Strategy, Tag, Trap, Val, ValType,
};

tiers!(
    wasm_throws_and_the_host_catches,
    the_host_throws_and_wasm_catches,
    a_caught_exception_reaches_the_host_as_an_exnref,
    an_exception_crosses_a_host_function_both_ways,
    wasm_calls_a_host_function_passed_as_a_typed_reference,
);

fn i32_tag_type() -> FuncType {
    func_type(&[ValType::I32], &[])
}

fn missing(what: &str) -> Error {
    Error::Type(format!("missing: {what}"))
}

/// The exception `err` carries, or an error saying what came instead.
fn exception_of(store: &Store<()>, err: Error) -> Result<Exn, Error> {
    err.exception(store)
        .ok_or_else(|| Error::Type(format!("not an exception: {err}")))
}

fn wasm_throws_and_the_host_catches(strategy: Strategy) -> Result<(), Error> {
    let engine = engine(strategy)?;
    let module = Module::new(
        &engine,
        r#"(module
            (tag $e (export "e") (param i32))
            (func (export "throw") (param i32) (throw $e (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let tag = instance.get_tag(&store, "e").ok_or_else(|| missing("e"))?;
    let throw = instance.get_typed_func::<i32, ()>(&store, "throw")?;
    let err = throw
        .call(&mut store, 7)
        .err()
        .ok_or_else(|| missing("the exception"))?;
    let exn = exception_of(&store, err)?;
    assert_eq!(exn.tag(&store), tag);
    assert_eq!(exn.payload(&store), [Val::I32(7)]);
    // The exception the host holds is its own: later throws, caught or
    // not, leave it as it was.
    let again = throw
        .call(&mut store, 8)
        .err()
        .ok_or_else(|| missing("another"))?;
    let again = exception_of(&store, again)?;
    assert_ne!(again, exn);
    assert_eq!(exn.payload(&store), [Val::I32(7)]);
    assert_eq!(again.payload(&store), [Val::I32(8)]);
    Ok(())
}

fn the_host_throws_and_wasm_catches(strategy: Strategy) -> Result<(), Error> {
    let engine = engine(strategy)?;
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &i32_tag_type())?;
    let other = Tag::new(&mut store, &i32_tag_type())?;
    let mut linker = Linker::new(&engine);
    linker.define("host", "tag", tag)?;
    linker.define("host", "throw", thrower(&mut store, tag))?;
    linker.define("host", "throw_other", thrower(&mut store, other))?;
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "tag" (tag $e (param i32)))
            (import "host" "throw" (func $throw (param i32)))
            (import "host" "throw_other" (func $throw_other (param i32)))
            ;; The payload plus one if $e is caught; -1 if anything else is.
            (func (export "catch") (param i32) (param i32) (result i32)
              (block $other
                (return
                  (i32.add
                    (block $caught (result i32)
                      (try_table (catch $e $caught) (catch_all $other)
                        (if (local.get 1)
                          (then (call $throw_other (local.get 0)))
                          (else (call $throw (local.get 0)))))
                      (i32.const 0))
                    (i32.const 1))))
              (i32.const -1)))"#,
    )?;
    let instance = linker.instantiate(&mut store, &module)?;
    let catch = instance.get_typed_func::<(i32, i32), i32>(&store, "catch")?;
    assert_eq!(catch.call(&mut store, (41, 0))?, 42);
    assert_eq!(catch.call(&mut store, (41, 1))?, -1);
    Ok(())
}

fn a_caught_exception_reaches_the_host_as_an_exnref(strategy: Strategy) -> Result<(), Error> {
    let engine = engine(strategy)?;
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &i32_tag_type())?;
    let mut linker = Linker::new(&engine);
    linker.define("host", "throw", thrower(&mut store, tag))?;
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "throw" (func $throw (param i32)))
            (func (export "catch") (param i32) (result exnref)
              (block $h (result exnref)
                (try_table (catch_all_ref $h) (call $throw (local.get 0)))
                (ref.null exn)))
            (func (export "rethrow") (param exnref) (throw_ref (local.get 0))))"#,
    )?;
    let instance = linker.instantiate(&mut store, &module)?;
    let catch = instance
        .get_func(&store, "catch")
        .ok_or_else(|| missing("catch"))?;
    let mut out = [Val::ExnRef(None)];
    catch.call(&mut store, &[Val::I32(3)], &mut out)?;
    let exn = Exn::from_val(&store, out[0]).ok_or_else(|| missing("an exnref"))?;
    assert_eq!(exn.tag(&store), tag);
    assert_eq!(exn.payload(&store), [Val::I32(3)]);
    // Rethrown, it is the same exception, not a copy.
    let rethrow = instance
        .get_func(&store, "rethrow")
        .ok_or_else(|| missing("rethrow"))?;
    let err = rethrow
        .call(&mut store, &[exn.into()], &mut [])
        .err()
        .ok_or_else(|| missing("the exception"))?;
    assert_eq!(exception_of(&store, err)?, exn);
    // One the host made is thrown just the same.
    let made = Exn::new(&mut store, &tag, &[Val::I32(-1)])?;
    let err = rethrow
        .call(&mut store, &[made.into()], &mut [])
        .err()
        .ok_or_else(|| missing("the exception"))?;
    assert_eq!(exception_of(&store, err)?.payload(&store), [Val::I32(-1)]);
    Ok(())
}

fn an_exception_crosses_a_host_function_both_ways(strategy: Strategy) -> Result<(), Error> {
    let engine = engine(strategy)?;
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &i32_tag_type())?;
    let mut linker = Linker::new(&engine);
    linker.define("host", "tag", tag)?;
    // Calls back into WebAssembly's "throw" and, seeing its exception,
    // throws it on with the payload doubled.
    linker.func_wrap(
        "host",
        "relay",
        move |mut caller: Caller<'_, ()>, x: i32| -> Result<(), Trap> {
            let throw = caller
                .get_export("throw")
                .and_then(|e| e.into_func())
                .ok_or_else(|| Trap::host("no throw export"))?;
            let err = match throw.call(&mut caller, &[Val::I32(x)], &mut []) {
                Ok(()) => return Err(Trap::host("throw returned")),
                Err(err) => err,
            };
            let exn = err
                .exception(&caller)
                .ok_or_else(|| Trap::host(format!("not an exception: {err}")))?;
            let [Val::I32(payload)] = exn.payload(&caller)[..] else {
                return Err(Trap::host("unexpected payload"));
            };
            let doubled = Exn::new(&mut caller, &tag, &[Val::I32(payload * 2)])
                .map_err(|e| Trap::host(e.to_string()))?;
            Err(doubled.into())
        },
    )?;
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "tag" (tag $e (param i32)))
            (import "host" "relay" (func $relay (param i32)))
            (func (export "throw") (param i32) (throw $e (local.get 0)))
            (func (export "run") (param i32) (result i32)
              (block $caught (result i32)
                (try_table (catch $e $caught) (call $relay (local.get 0)))
                (i32.const -1))))"#,
    )?;
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<i32, i32>(&store, "run")?;
    assert_eq!(run.call(&mut store, 21)?, 42);
    Ok(())
}

fn wasm_calls_a_host_function_passed_as_a_typed_reference(strategy: Strategy) -> Result<(), Error> {
    let engine = engine(strategy)?;
    let module = Module::new(
        &engine,
        r#"(module
            (type $t (func (param i32) (result i32)))
            (func (export "apply") (param (ref $t)) (param i32) (result i32)
              (call_ref $t (local.get 1) (local.get 0)))
            (func (export "apply_or") (param (ref null $t)) (param i32) (result i32)
              (block $null
                (return (call_ref $t (local.get 1) (br_on_null $null (local.get 0)))))
              (i32.const -1)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let triple = Func::wrap(&mut store, |x: i32| x * 3);
    let apply = instance
        .get_func(&store, "apply")
        .ok_or_else(|| missing("apply"))?;
    let mut out = [Val::I32(0)];
    apply.call(&mut store, &[triple.into(), Val::I32(5)], &mut out)?;
    assert_eq!(out, [Val::I32(15)]);
    // `(ref $t)` refuses null before the call.
    assert!(matches!(
        apply.call(&mut store, &[Val::FuncRef(None), Val::I32(5)], &mut out),
        Err(Error::Type(_))
    ));
    let apply_or = instance
        .get_func(&store, "apply_or")
        .ok_or_else(|| missing("apply_or"))?;
    apply_or.call(&mut store, &[Val::FuncRef(None), Val::I32(5)], &mut out)?;
    assert_eq!(out, [Val::I32(-1)]);
    Ok(())
}
