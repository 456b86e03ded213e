//! GC through the public API: with `Features::ALL_WITH_GC`, the interpreter
//! (and the tiered strategy, which keeps a GC module on it) runs GC modules
//! and hands GC references to the host as `Val::AnyRef`; the JIT refuses
//! them as [`Error::Unsupported`] (never a panic), while modules that do not
//! use GC compile on every strategy as before.

use kiln::{AnyRefKind, Config, Engine, Error, ExternRef, Features, Module, Store, Strategy, Val};

const STRATEGIES: [Strategy; 3] = [Strategy::Interpreter, Strategy::Jit, Strategy::Tiered];

/// Modules that need GC: a struct type, an array type, a GC heap type
/// alone, and a GC instruction in a constant expression.
const GC_MODULES: [&str; 4] = [
    "(module (type (struct (field i32))))",
    "(module (type $a (array i8)) (func (param (ref null $a))))",
    "(module (func (param anyref) (result i32) (ref.is_null (local.get 0))))",
    "(module (global i31ref (ref.i31 (i32.const 1))))",
];

fn engine(strategy: Strategy, features: Features) -> Engine {
    let mut config = Config::new();
    config.strategy(strategy).features(features);
    Engine::new(&config).expect("a valid configuration")
}

#[test]
fn the_jit_refuses_gc_modules_and_the_interpreter_takes_them() {
    for wat in GC_MODULES {
        let bytes = wat::parse_str(wat).expect("well-formed");
        kiln::validate(&bytes, Features::ALL_WITH_GC).expect("valid with GC");
        for strategy in STRATEGIES {
            let compiled = Module::new(&engine(strategy, Features::ALL_WITH_GC), &bytes);
            match (strategy, compiled) {
                (Strategy::Jit, Err(Error::Unsupported(why))) => {
                    assert!(why.contains("GC"), "{why}");
                }
                (Strategy::Jit, other) => panic!("{wat}: the JIT gave {other:?}"),
                (_, compiled) => {
                    compiled.unwrap_or_else(|e| panic!("{wat} on {strategy:?}: {e}"));
                }
            }
            // Without GC in the features, the parser refuses it by name.
            match Module::new(&engine(strategy, Features::ALL), &bytes) {
                Err(Error::Parse(e)) => assert!(e.to_string().contains("gc"), "{e}"),
                Err(e) => panic!("{wat} on {strategy:?}: expected a parse error, got {e}"),
                Ok(_) => panic!("{wat} on {strategy:?}: GC accepted without the feature"),
            }
        }
    }
}

#[test]
fn modules_without_gc_still_run_with_gc_on() {
    for strategy in STRATEGIES {
        let engine = engine(strategy, Features::ALL_WITH_GC);
        let module = Module::new(
            &engine,
            "(module (func (export \"f\") (param i32) (result i32)
               (ref.is_null (select (result funcref) (ref.null func) (ref.func 0) (local.get 0))))
               (elem declare func 0))",
        )
        .expect("no GC in it");
        let mut store = Store::new(&engine, ());
        let instance = kiln::Instance::new(&mut store, &module, &[]).expect("instantiates");
        let f = instance
            .get_typed_func::<i32, i32>(&mut store, "f")
            .expect("typed");
        assert_eq!(f.call(&mut store, 1).expect("runs"), 1);
        assert_eq!(f.call(&mut store, 0).expect("runs"), 0);
    }
}

/// The host receives structs, arrays and `i31`s as `Val::AnyRef`, tells
/// them apart, passes them back, and converts its own values both ways.
#[test]
fn the_host_holds_gc_references() {
    let wat = r#"(module
      (type $pt (struct (field $x (mut i32)) (field $y i64)))
      (type $bytes (array (mut i8)))
      (func (export "point") (param i32 i64) (result (ref $pt))
        (struct.new $pt (local.get 0) (local.get 1)))
      (func (export "x") (param (ref null $pt)) (result i32)
        (struct.get $pt $x (local.get 0)))
      (func (export "bytes") (param i32) (result (ref $bytes))
        (array.new $bytes (i32.const 7) (local.get 0)))
      (func (export "i31") (param i32) (result i31ref) (ref.i31 (local.get 0)))
      (func (export "internalize") (param externref) (result anyref)
        (any.convert_extern (local.get 0)))
      (func (export "externalize") (param anyref) (result externref)
        (extern.convert_any (local.get 0))))"#;
    for strategy in [Strategy::Interpreter, Strategy::Tiered] {
        let engine = engine(strategy, Features::ALL_WITH_GC);
        let module = Module::new(&engine, wat).expect("valid");
        let mut store = Store::new(&engine, ());
        let instance = kiln::Instance::new(&mut store, &module, &[]).expect("instantiates");
        let call = |store: &mut Store<()>, name: &str, args: &[Val]| {
            let f = instance.get_func(&mut *store, name).expect("exported");
            let mut out = [Val::I32(0)];
            f.call(&mut *store, args, &mut out)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            out[0]
        };
        let point = call(&mut store, "point", &[Val::I32(3), Val::I64(4)]);
        assert_eq!(call(&mut store, "x", &[point]), Val::I32(3));
        let bytes = call(&mut store, "bytes", &[Val::I32(5)]);
        let i31 = call(&mut store, "i31", &[Val::I32(-2)]);
        let host = ExternRef::new(&mut store, 42u32);
        let internal = call(&mut store, "internalize", &[host.to_val()]);
        let back = call(&mut store, "externalize", &[internal]);
        let kind = |v: Val| match v {
            Val::AnyRef(Some(r)) => AnyRefKind::of(&store, r),
            other => panic!("not an anyref: {other:?}"),
        };
        assert_eq!(kind(point), Some(AnyRefKind::Struct));
        assert_eq!(kind(bytes), Some(AnyRefKind::Array));
        assert_eq!(kind(i31), Some(AnyRefKind::I31(-2)));
        assert_eq!(kind(internal), Some(AnyRefKind::Host(host)));
        assert_eq!(internal, host.to_any_val());
        assert_eq!(
            back,
            host.to_val(),
            "the round trip gives the host value back"
        );
        assert_eq!(
            ExternRef::from_val(&store, back).and_then(|e| e.data::<u32, _>(&store).copied()),
            Some(42)
        );
        // A null struct traps with the spec's message.
        let x = instance.get_func(&mut store, "x").expect("exported");
        let err = x
            .call(&mut store, &[Val::AnyRef(None)], &mut [Val::I32(0)])
            .expect_err("struct.get of null");
        assert!(
            err.to_string().contains("null structure reference"),
            "{err}"
        );
    }
}
