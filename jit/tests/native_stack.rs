//! A JIT-only case: JIT code runs on the native stack, so with the call-depth
//! limit out of the way it is the native stack's limit that stops a recursion,
//! with a trap rather than an overflow. (The behaviour every tier shares is
//! tested once for all tiers, in the root crate's `tests/tiers/`.)

use std::sync::Arc;

use kiln_parser::Features;
use kiln_runtime::instantiate::instantiate;
use kiln_runtime::{Extern, InstanceAddr, Store, StoreLimits, Trap, TrapCode, Val};

/// A recursion that never ends, and one that does.
const RECURSION: &str = r#"(module
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $down (export "recurse") (call $down)))"#;

/// Compiles `wat` with the JIT and instantiates it in a store with `limits`.
fn load(wat: &str, limits: StoreLimits) -> (Store, InstanceAddr) {
    let bytes = wat::parse_str(wat).expect("test module should be well-formed text");
    let module = kiln_parser::parse(&bytes, Features::ALL).expect("parse");
    let info = kiln_validator::validate(&module, Features::ALL).expect("valid");
    let module = Arc::new(module);
    let options = kiln_jit::CompileOptions {
        fuel: false,
        epoch_interruption: false,
        canonicalize_nans: false,
        memory_guard: true,
    };
    let code = kiln_jit::CompiledModule::new(Arc::clone(&module), Arc::new(info), options)
        .expect("compile");
    let mut store = Store::new(limits);
    let (instance, start) =
        instantiate(&mut store, &module, &[], Arc::new(code)).expect("instantiate");
    assert!(start.is_none());
    (store, instance)
}

/// Calls export `name` of `instance`.
fn call(
    store: &mut Store,
    instance: InstanceAddr,
    name: &str,
    args: &[Val],
) -> Result<Vec<Val>, Trap> {
    let Some(Extern::Func(f)) = store.instances[instance.index()].exports.get(name).copied() else {
        panic!("no function export {name}");
    };
    let ty = store.func_type(f).clone();
    let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
    kiln_jit::invoke(store, &mut (), f, args, &mut results)?;
    Ok(results)
}

#[test]
fn a_small_native_stack_traps_instead_of_overflowing() {
    // With an effectively unlimited depth, the native stack limit stops the recursion.
    let handle = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let limits = StoreLimits {
                max_call_depth: u32::MAX,
                ..StoreLimits::default()
            };
            let (mut store, instance) = load(RECURSION, limits);
            let trap = call(&mut store, instance, "recurse", &[])
                .expect_err("must trap")
                .code();
            let still_works = call(&mut store, instance, "fib", &[Val::I32(15)]);
            (trap, still_works)
        })
        .expect("spawn");
    let (trap, still_works) = handle.join().expect("no crash");
    assert_eq!(trap, Some(TrapCode::CallStackExhausted));
    assert_eq!(still_works, Ok(vec![Val::I32(610)]));
}
