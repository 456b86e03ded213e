//! The embedding API's typed function references, tags and exceptions, in
//! what the tiers already run: values checked by subtyping against the
//! store's types, tags through the `Linker`, exceptions the host creates and
//! reads, and a host function's exception crossing WebAssembly code that has
//! no handler. Each case that executes WebAssembly runs on both tiers.
//!
//! What needs the tiers to run `throw`, `try_table` and declared subtypes is
//! in `exceptions_api.rs`.

#[macro_use]
mod common;

use common::{engine, func_type, thrower};
use kiln::{
    Engine, Error, Exn, Extern, Func, FuncAddr, Global, GlobalType, HeapType, IndexType, Limits,
    Linker, Module, RefType, Store, Strategy, Table, TableType, Tag, Trap, Val, ValType,
};

tiers!(
    typed_parameters_take_typed_nulls_and_functions_of_their_type,
    functions_read_back_from_values_keep_their_type,
    tags_link_through_the_linker,
    a_host_exception_crosses_wasm_without_a_handler,
    exnrefs_cross_calls_and_globals,
    equivalent_types_of_any_module_or_the_host_are_one_type,
    host_results_are_checked_by_subtyping,
);

/// A host function of type `[i32] -> [i32]` and one of `[] -> []`.
fn two_host_funcs(store: &mut Store<()>) -> (Func, Func) {
    let inc = Func::wrap(&mut *store, |x: i32| x + 1);
    let nop = Func::wrap(&mut *store, || {});
    (inc, nop)
}

#[test]
fn typed_globals_check_values_by_subtyping() -> Result<(), Error> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let (inc, nop) = two_host_funcs(&mut store);
    let exact = inc.ref_ty(&store);
    assert!(!exact.nullable);
    assert!(matches!(exact.heap, HeapType::Concrete(_)));
    let nullable = GlobalType {
        content: RefType::null(exact.heap).into(),
        mutable: true,
    };
    // Null and a function of the type fit `(ref null $t)`.
    let g = Global::new(&mut store, nullable, Val::FuncRef(None))?;
    g.set(&mut store, inc.to_val())?;
    assert_eq!(g.get(&store), inc.to_val());
    // A function of another type, or another hierarchy's null, does not.
    assert!(matches!(
        g.set(&mut store, nop.to_val()),
        Err(Error::Type(_))
    ));
    assert!(matches!(
        g.set(&mut store, Val::ExternRef(None)),
        Err(Error::Type(_))
    ));
    assert!(matches!(
        Global::new(&mut store, nullable, nop.into()),
        Err(Error::Type(_))
    ));
    // `(ref $t)` refuses null; `funcref` takes any function.
    let non_null = GlobalType {
        content: exact.into(),
        mutable: false,
    };
    assert!(matches!(
        Global::new(&mut store, non_null, Val::FuncRef(None)),
        Err(Error::Type(_))
    ));
    Global::new(&mut store, non_null, inc.into())?;
    let any = GlobalType {
        content: ValType::FUNCREF,
        mutable: false,
    };
    Global::new(&mut store, any, nop.into())?;
    Ok(())
}

#[test]
fn typed_tables_check_elements_by_subtyping() -> Result<(), Error> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let (inc, nop) = two_host_funcs(&mut store);
    let ty = TableType {
        element: RefType::null(inc.ref_ty(&store).heap),
        limits: Limits { min: 2, max: None },
        index: IndexType::I32,
    };
    let table = Table::new(&mut store, ty, Val::FuncRef(None))?;
    table.set(&mut store, 1, inc.into())?;
    assert_eq!(table.get(&store, 1), Some(inc.to_val()));
    assert!(matches!(
        table.set(&mut store, 0, nop.into()),
        Err(Error::Type(_))
    ));
    assert!(matches!(
        table.grow(&mut store, 1, nop.into()),
        Err(Error::Type(_))
    ));
    assert_eq!(table.grow(&mut store, 1, inc.into())?, 2);
    Ok(())
}

fn typed_parameters_take_typed_nulls_and_functions_of_their_type(
    strategy: Strategy,
) -> Result<(), Error> {
    let engine = engine(strategy)?;
    let module = Module::new(
        &engine,
        r#"(module
            (type $t (func (param i32) (result i32)))
            (func (export "is_null") (param (ref null $t)) (result i32)
              (ref.is_null (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let is_null = instance
        .get_func(&store, "is_null")
        .ok_or_else(|| Error::Type("no is_null".into()))?;
    let (inc, nop) = two_host_funcs(&mut store);
    let mut out = [Val::I32(-1)];
    is_null.call(&mut store, &[Val::FuncRef(None)], &mut out)?;
    assert_eq!(out, [Val::I32(1)]);
    is_null.call(&mut store, &[inc.into()], &mut out)?;
    assert_eq!(out, [Val::I32(0)]);
    // A function of another type is refused before the call, as is
    // another hierarchy's null.
    for wrong in [nop.to_val(), Val::ExternRef(None), Val::I32(0)] {
        assert!(matches!(
            is_null.call(&mut store, &[wrong], &mut out),
            Err(Error::Type(_))
        ));
    }
    // The parameter's type, as the store knows it, names the signature the
    // host function has too.
    let param = is_null.ty(&store).params[0];
    assert_eq!(param, RefType::null(inc.ref_ty(&store).heap).into());
    Ok(())
}

fn functions_read_back_from_values_keep_their_type(strategy: Strategy) -> Result<(), Error> {
    let engine = engine(strategy)?;
    let module = Module::new(
        &engine,
        r#"(module
            (type $t (func (param i64) (result i64)))
            (func $sq (type $t) (i64.mul (local.get 0) (local.get 0)))
            (global (export "g") (ref null $t) (ref.func $sq))
            (table (export "tab") 1 (ref null $t) (ref.func $sq)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let g = instance
        .get_global(&store, "g")
        .ok_or_else(|| Error::Type("no g".into()))?;
    let v = g.get(&store);
    let f = Func::from_val(&store, v).ok_or_else(|| Error::Type("not a function".into()))?;
    assert_eq!(f.ty(&store), func_type(&[ValType::I64], &[ValType::I64]));
    assert_eq!(f.typed::<i64, i64>(&store)?.call(&mut store, 9)?, 81);
    // The global's type and the function's reference type name the same
    // store-wide signature.
    assert_eq!(
        g.ty(&store).content,
        RefType::null(f.ref_ty(&store).heap).into()
    );
    let table = instance
        .get_table(&store, "tab")
        .ok_or_else(|| Error::Type("no tab".into()))?;
    assert_eq!(table.get(&store, 0), Some(f.to_val()));
    assert_eq!(Func::from_val(&store, Val::FuncRef(None)), None);
    // A host function of the same type fits the module's typed table.
    let host = Func::wrap(&mut store, |x: i64| x + 1);
    table.set(&mut store, 0, host.into())?;
    Ok(())
}

fn tags_link_through_the_linker(strategy: Strategy) -> Result<(), Error> {
    let engine = engine(strategy)?;
    let mut store = Store::new(&engine, ());
    let ty = func_type(&[ValType::I32, ValType::F64], &[]);
    let tag = Tag::new(&mut store, &ty)?;
    assert_eq!(tag.ty(&store), ty);
    let mut linker = Linker::new(&engine);
    linker.define("host", "tag", Extern::Tag(tag))?;
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "tag" (tag $e (param i32 f64)))
            (export "again" (tag $e))
            (tag (export "own") (param i32 f64)))"#,
    )?;
    let instance = linker.instantiate(&mut store, &module)?;
    assert_eq!(instance.get_tag(&store, "again"), Some(tag));
    let own = instance
        .get_tag(&store, "own")
        .ok_or_else(|| Error::Type("no own tag".into()))?;
    assert_ne!(
        own, tag,
        "a module's tag is a new tag, even of the same type"
    );
    assert_eq!(own.ty(&store), ty);
    // A tag of another type does not link.
    let other = Tag::new(&mut store, &func_type(&[ValType::I32], &[]))?;
    let mut linker = Linker::new(&engine);
    linker.define("host", "tag", other)?;
    assert!(matches!(
        linker.instantiate(&mut store, &module),
        Err(Error::Unlinkable(_))
    ));
    // Nor does another kind of extern.
    let mut linker = Linker::new(&engine);
    let f = Func::wrap(&mut store, |_: i32, _: f64| {});
    linker.define("host", "tag", f)?;
    assert!(matches!(
        linker.instantiate(&mut store, &module),
        Err(Error::Unlinkable(_))
    ));
    assert!(matches!(
        Tag::new(&mut store, &func_type(&[], &[ValType::I32])),
        Err(Error::Type(_))
    ));
    Ok(())
}

#[test]
fn exceptions_are_made_and_read_by_the_host() -> Result<(), Error> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &func_type(&[ValType::I32, ValType::F64], &[]))?;
    let payload = [Val::I32(7), Val::F64(2.5f64.to_bits())];
    let exn = Exn::new(&mut store, &tag, &payload)?;
    assert_eq!(exn.tag(&store), tag);
    assert_eq!(exn.payload(&store), payload);
    assert_eq!(Exn::from_val(&store, exn.to_val()), Some(exn));
    assert_eq!(Exn::from_val(&store, Val::ExnRef(None)), None);
    assert_eq!(Val::from(exn), exn.to_val());
    // The payload must match the tag's parameters.
    for wrong in [&payload[..1], &[Val::I32(7), Val::I32(0)], &[]] {
        assert!(matches!(
            Exn::new(&mut store, &tag, wrong),
            Err(Error::Type(_))
        ));
    }
    // A tag of another store is refused.
    let mut other = Store::new(&engine, ());
    let foreign = Tag::new(&mut other, &func_type(&[], &[]))?;
    assert!(matches!(
        Exn::new(&mut store, &foreign, &[]),
        Err(Error::Store)
    ));
    // An exception in flight is an error the host reads back.
    let err = Error::from(exn);
    assert_eq!(err.exception(&store), Some(exn));
    assert_eq!(err.to_string(), "uncaught exception");
    assert_eq!(Error::Trap(Trap::host("no")).exception(&store), None);
    Ok(())
}

#[test]
fn a_tag_with_typed_references_takes_a_matching_payload() -> Result<(), Error> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let (inc, nop) = two_host_funcs(&mut store);
    let param = RefType::null(inc.ref_ty(&store).heap).into();
    let tag = Tag::new(&mut store, &func_type(&[param, ValType::EXNREF], &[]))?;
    let empty = Tag::new(&mut store, &func_type(&[], &[]))?;
    let inner = Exn::new(&mut store, &empty, &[])?;
    let exn = Exn::new(&mut store, &tag, &[inc.into(), inner.into()])?;
    assert_eq!(exn.payload(&store), [inc.to_val(), inner.to_val()]);
    Exn::new(&mut store, &tag, &[Val::FuncRef(None), Val::ExnRef(None)])?;
    assert!(matches!(
        Exn::new(&mut store, &tag, &[nop.into(), Val::ExnRef(None)]),
        Err(Error::Type(_))
    ));
    Ok(())
}

fn a_host_exception_crosses_wasm_without_a_handler(strategy: Strategy) -> Result<(), Error> {
    let engine = engine(strategy)?;
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &func_type(&[ValType::I32], &[]))?;
    let throw = thrower(&mut store, tag);
    // Called directly, the host function's exception is the call's error.
    let err = throw
        .call(&mut store, &[Val::I32(5)], &mut [])
        .err()
        .ok_or_else(|| Error::Type("the host function returned".into()))?;
    let exn = err
        .exception(&store)
        .ok_or_else(|| Error::Type(format!("not an exception: {err}")))?;
    assert_eq!(exn.tag(&store), tag);
    assert_eq!(exn.payload(&store), [Val::I32(5)]);
    // Through WebAssembly frames that do not catch, it arrives unchanged.
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "throw" (func $throw (param i32)))
            (func $inner (param i32) (call $throw (i32.add (local.get 0) (i32.const 1))))
            (func (export "run") (param i32) (result i32)
              (call $inner (local.get 0))
              (i32.const 0)))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.define("host", "throw", throw)?;
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<i32, i32>(&store, "run")?;
    let err = run
        .call(&mut store, 41)
        .err()
        .ok_or_else(|| Error::Type("run returned".into()))?;
    let exn = err
        .exception(&store)
        .ok_or_else(|| Error::Type(format!("not an exception: {err}")))?;
    assert_eq!(exn.tag(&store), tag);
    assert_eq!(exn.payload(&store), [Val::I32(42)]);
    Ok(())
}

fn exnrefs_cross_calls_and_globals(strategy: Strategy) -> Result<(), Error> {
    let engine = engine(strategy)?;
    let module = Module::new(
        &engine,
        r#"(module
            (global $g (export "g") (mut exnref) (ref.null exn))
            (func (export "swap") (param exnref) (result exnref)
              (global.get $g)
              (global.set $g (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let tag = Tag::new(&mut store, &func_type(&[ValType::I64], &[]))?;
    let exn = Exn::new(&mut store, &tag, &[Val::I64(-3)])?;
    let swap = instance
        .get_func(&store, "swap")
        .ok_or_else(|| Error::Type("no swap".into()))?;
    let mut out = [Val::ExnRef(None)];
    swap.call(&mut store, &[exn.into()], &mut out)?;
    assert_eq!(out, [Val::ExnRef(None)]);
    swap.call(&mut store, &[Val::ExnRef(None)], &mut out)?;
    let back = Exn::from_val(&store, out[0]).ok_or_else(|| Error::Type("not an exn".into()))?;
    assert_eq!(back, exn);
    assert_eq!(back.payload(&store), [Val::I64(-3)]);
    // A host global of type exnref holds one too; a funcref does not fit.
    let g = Global::new(
        &mut store,
        GlobalType {
            content: ValType::EXNREF,
            mutable: true,
        },
        exn.into(),
    )?;
    assert!(matches!(
        g.set(&mut store, Val::FuncRef(None)),
        Err(Error::Type(_))
    ));
    Ok(())
}

fn equivalent_types_of_any_module_or_the_host_are_one_type(
    strategy: Strategy,
) -> Result<(), Error> {
    let engine = engine(strategy)?;
    let mut store = Store::new(&engine, ());
    let linker = Linker::new(&engine);
    let a = Module::new(
        &engine,
        r#"(module
            (type $t (func (result i32)))
            (func $f (export "f") (type $t) (i32.const 1))
            (global (export "g") (mut (ref null $t)) (ref.func $f)))"#,
    )?;
    // The same type in another module; and a type of the same signature in
    // a recursion group of two, which is another type.
    let b = Module::new(
        &engine,
        r#"(module
            (type $u (func (result i32)))
            (rec (type $r (func (result i32))) (type $s (func)))
            (func (export "same") (type $u) (i32.const 2))
            (func (export "other") (type $r) (i32.const 3)))"#,
    )?;
    let a = linker.instantiate(&mut store, &a)?;
    let b = linker.instantiate(&mut store, &b)?;
    let g = a
        .get_global(&store, "g")
        .ok_or_else(|| Error::Type("no g".into()))?;
    let get = |name: &str| {
        b.get_func(&store, name)
            .ok_or_else(|| Error::Type(format!("no {name}")))
    };
    let (same, other) = (get("same")?, get("other")?);
    g.set(&mut store, same.into())?;
    assert!(matches!(
        g.set(&mut store, other.into()),
        Err(Error::Type(_))
    ));
    // A host function's type is the final type of one-type group, so it is
    // the modules' `$t` too.
    let host = Func::wrap(&mut store, || 4i32);
    assert_eq!(host.ref_ty(&store), same.ref_ty(&store));
    g.set(&mut store, host.into())?;
    Ok(())
}

/// A host function's results are checked like the values the host passes
/// in: by subtyping against the store's types, with a reference to nothing
/// in the store fitting no type. WebAssembly code relies on a `(ref $t)`
/// being a non-null function of type `$t` (`call_ref` on it), so a null, a
/// function of another type or a made-up reference must not get through.
fn host_results_are_checked_by_subtyping(strategy: Strategy) -> Result<(), Error> {
    let engine = engine(strategy)?;
    let mut store = Store::new(&engine, ());
    let (inc, nop) = two_host_funcs(&mut store);
    let typed: ValType = inc.ref_ty(&store).into();
    let ty = func_type(&[ValType::I32], &[typed]);
    let get = Func::new(&mut store, ty, move |_, params, results| {
        results[0] = match params[0] {
            Val::I32(0) => inc.to_val(),
            Val::I32(1) => Val::FuncRef(None),
            Val::I32(2) => nop.to_val(),
            _ => Val::FuncRef(Some(FuncAddr(1_000_000))),
        };
        Ok(())
    });
    let module = Module::new(
        &engine,
        r#"(module
            (type $t (func (param i32) (result i32)))
            (import "host" "get" (func $get (param i32) (result (ref $t))))
            (func (export "run") (param i32) (result i32)
              (call_ref $t (i32.const 20) (call $get (local.get 0)))))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.define("host", "get", get)?;
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<i32, i32>(&store, "run")?;
    assert_eq!(run.call(&mut store, 0)?, 21);
    for wrong in 1..=3 {
        let err = run
            .call(&mut store, wrong)
            .expect_err("a result of the wrong type");
        assert!(
            err.to_string()
                .contains("host function returned a value of the wrong type"),
            "{wrong}: {err}"
        );
    }
    Ok(())
}
