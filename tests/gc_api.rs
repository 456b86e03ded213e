//! GC is parsed and validated, not run: with `Features::ALL_WITH_GC`,
//! `kiln::validate` accepts GC modules and `Module::new` refuses them, on
//! every strategy, as [`Error::Unsupported`] (never a panic of a tier),
//! while modules that do not use GC compile as before.

use kiln::{Config, Engine, Error, Features, Module, Strategy};

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
fn gc_modules_validate_and_are_refused_by_every_tier() {
    for wat in GC_MODULES {
        let bytes = wat::parse_str(wat).expect("well-formed");
        kiln::validate(&bytes, Features::ALL_WITH_GC).expect("valid with GC");
        for strategy in STRATEGIES {
            match Module::new(&engine(strategy, Features::ALL_WITH_GC), &bytes) {
                Err(Error::Unsupported(why)) => assert!(why.contains("GC"), "{why}"),
                Err(e) => panic!("{wat} on {strategy:?}: expected Unsupported, got {e}"),
                Ok(_) => panic!("{wat} on {strategy:?}: a GC module was compiled"),
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
        let mut store = kiln::Store::new(&engine, ());
        let instance = kiln::Instance::new(&mut store, &module, &[]).expect("instantiates");
        let f = instance
            .get_typed_func::<i32, i32>(&mut store, "f")
            .expect("typed");
        assert_eq!(f.call(&mut store, 1).expect("runs"), 1);
        assert_eq!(f.call(&mut store, 0).expect("runs"), 0);
    }
}
