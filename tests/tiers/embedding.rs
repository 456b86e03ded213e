//! The embedding API end to end: linking, host functions (which call back
//! into WebAssembly, trap or panic), re-entry, limits and errors.

use kiln::{
    Caller, Engine, Error, Extern, Func, Global, GlobalType, Instance, Limits, Linker, Memory,
    MemoryType, Module, Store, TrapCode, Val, ValType,
};

use crate::Tier;

tier_tests!(
    host_objects_satisfy_imports,
    host_functions_can_call_back_into_wasm,
    host_traps_reach_the_caller,
    host_functions_trap_panic_and_reenter,
    missing_and_mistyped_imports_are_unlinkable,
    typed_funcs_check_their_signature,
    objects_are_bound_to_their_store,
    call_depth_limit_is_configurable_and_recoverable,
    fuel_requires_a_fuel_engine,
    memory_limit_bounds_growth,
    start_function_traps_fail_instantiation,
    malformed_and_invalid_bodies_are_told_apart,
    results_are_read_right_after_calls,
    instance_pre_links_once_and_instantiates_in_many_stores,
    instance_pre_checks_imports_up_front,
    resource_limiters_decide_per_store,
);

fn trap_code(e: &Error) -> Option<TrapCode> {
    e.trap().and_then(kiln::Trap::code)
}

fn host_objects_satisfy_imports(tier: Tier) -> Result<(), Error> {
    let engine = tier.engine(|_| {});
    let module = Module::new(
        &engine,
        r#"(module
          (import "env" "mem" (memory 1))
          (import "env" "counter" (global (mut i32)))
          (func (export "bump") (result i32)
            (global.set 0 (i32.add (global.get 0) (i32.const 1)))
            (i32.store (i32.const 8) (global.get 0))
            (global.get 0)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let mem_ty = MemoryType {
        limits: Limits { min: 1, max: None },
        index: kiln::IndexType::I32,
    };
    let memory = Memory::new(&mut store, mem_ty)?;
    let counter = Global::new(
        &mut store,
        GlobalType {
            content: ValType::I32,
            mutable: true,
        },
        Val::I32(41),
    )?;
    let instance = Instance::new(&mut store, &module, &[memory.into(), counter.into()])?;
    let bump = instance.get_typed_func::<(), i32>(&store, "bump")?;
    assert_eq!(bump.call(&mut store, ())?, 42);
    assert_eq!(counter.get(&store), Val::I32(42));
    assert_eq!(&memory.data(&store)[8..12], &42i32.to_le_bytes());
    Ok(())
}

fn host_functions_can_call_back_into_wasm(tier: Tier) -> Result<(), Error> {
    let engine = tier.engine(|_| {});
    let module = Module::new(
        &engine,
        r#"(module
          (import "host" "twice" (func $twice (param i32) (result i32)))
          (func $inc (export "inc") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
          (func (export "run") (param i32) (result i32) (call $twice (local.get 0))))"#,
    )?;
    let mut linker: Linker<Option<Func>> = Linker::new(&engine);
    linker.func_wrap(
        "host",
        "twice",
        |mut caller: Caller<'_, Option<Func>>, x: i32| -> Result<i32, kiln::Trap> {
            let inc = caller.data().ok_or_else(|| kiln::Trap::host("not ready"))?;
            let mut out = [Val::I32(0)];
            inc.call(&mut caller, &[Val::I32(x)], &mut out)
                .map_err(|e| kiln::Trap::host(e.to_string()))?;
            let Val::I32(once) = out[0] else {
                return Err(kiln::Trap::host("bad type"));
            };
            inc.call(&mut caller, &[Val::I32(once)], &mut out)
                .map_err(|e| kiln::Trap::host(e.to_string()))?;
            let Val::I32(twice) = out[0] else {
                return Err(kiln::Trap::host("bad type"));
            };
            Ok(twice)
        },
    )?;
    let mut store = Store::new(&engine, None);
    let instance = linker.instantiate(&mut store, &module)?;
    *store.data_mut() = instance.get_func(&store, "inc");
    let run = instance.get_typed_func::<i32, i32>(&store, "run")?;
    assert_eq!(run.call(&mut store, 40)?, 42);
    Ok(())
}

fn host_traps_reach_the_caller(tier: Tier) -> Result<(), Error> {
    let engine = tier.engine(|_| {});
    let module = Module::new(
        &engine,
        r#"(module (import "host" "fail" (func $fail)) (func (export "run") (call $fail)))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "fail", || -> Result<(), kiln::Trap> {
        Err(kiln::Trap::host("no"))
    })?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module)?;
    let err = instance
        .get_typed_func::<(), ()>(&store, "run")?
        .call(&mut store, ())
        .expect_err("trap");
    assert_eq!(err.to_string(), "no");
    Ok(())
}

fn host_functions_trap_panic_and_reenter(tier: Tier) {
    let engine = tier.engine(|_| {});
    let module = Module::new(
        &engine,
        r#"(module
          (import "host" "call" (func $host (param i32) (result i32)))
          (func (export "inc") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
          (func (export "run") (param i32) (result i32)
            (i32.mul (call $host (local.get 0)) (i32.const 2))))"#,
    )
    .expect("compile");
    let mut linker: Linker<()> = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "call",
            |mut caller: kiln::Caller<'_, ()>, x: i32| match x {
                0 => Err(kiln::Trap::host("the host said no")),
                1 => panic!("host panic"),
                _ => {
                    let Some(kiln::Extern::Func(inc)) = caller.get_export("inc") else {
                        return Err(kiln::Trap::host("no inc"));
                    };
                    let mut out = [Val::I32(0)];
                    inc.call(&mut caller, &[Val::I32(x)], &mut out)
                        .map_err(|e| kiln::Trap::host(e.to_string()))?;
                    match out[0] {
                        Val::I32(v) => Ok(v),
                        _ => Err(kiln::Trap::host("bad result")),
                    }
                }
            },
        )
        .expect("define");
    let mut store = Store::new(&engine, ());
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiate");
    let run = instance
        .get_typed_func::<i32, i32>(&store, "run")
        .expect("run");
    assert_eq!(run.call(&mut store, 20).expect("re-entry"), 42);
    let err = run.call(&mut store, 0).expect_err("host trap");
    assert!(err.to_string().contains("the host said no"), "{err}");
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = run.call(&mut store, 1);
    }));
    assert!(panicked.is_err(), "the host's panic reaches the caller");
    assert_eq!(run.call(&mut store, 5).expect("still works"), 12);
}

fn missing_and_mistyped_imports_are_unlinkable(tier: Tier) -> Result<(), Error> {
    let engine = tier.engine(|_| {});
    let module = Module::new(&engine, r#"(module (import "env" "f" (func (param i32))))"#)?;
    let mut store = Store::new(&engine, ());
    let linker = Linker::new(&engine);
    assert!(matches!(
        linker.instantiate(&mut store, &module),
        Err(Error::Unlinkable(_))
    ));
    let wrong = Func::wrap(&mut store, |_: i64| {});
    assert!(matches!(
        Instance::new(&mut store, &module, &[Extern::Func(wrong)]),
        Err(Error::Unlinkable(_))
    ));
    Ok(())
}

fn typed_funcs_check_their_signature(tier: Tier) -> Result<(), Error> {
    let engine = tier.engine(|_| {});
    let module = Module::new(
        &engine,
        r#"(module (func (export "f") (param i32) (result i64) i64.const 7))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    assert!(matches!(
        instance.get_typed_func::<i64, i64>(&store, "f"),
        Err(Error::Type(_))
    ));
    assert_eq!(
        instance
            .get_typed_func::<i32, i64>(&store, "f")?
            .call(&mut store, 1)?,
        7
    );
    let f = instance.get_func(&store, "f").expect("export");
    assert!(matches!(
        f.call(&mut store, &[Val::I64(1)], &mut [Val::I64(0)]),
        Err(Error::Type(_))
    ));
    Ok(())
}

fn objects_are_bound_to_their_store(tier: Tier) -> Result<(), Error> {
    let engine = tier.engine(|_| {});
    let module = Module::new(&engine, r#"(module (func (export "f")))"#)?;
    let mut a = Store::new(&engine, ());
    let mut b = Store::new(&engine, ());
    let instance = Instance::new(&mut a, &module, &[])?;
    let f = instance.get_func(&a, "f").expect("export");
    assert!(matches!(f.call(&mut b, &[], &mut []), Err(Error::Store)));
    Ok(())
}

fn call_depth_limit_is_configurable_and_recoverable(tier: Tier) -> Result<(), Error> {
    let mut config = tier.config();
    config.max_call_depth(500);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module
          (func $depth (export "depth") (param i32) (result i32)
            (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
              (else (i32.add (i32.const 1) (call $depth (i32.sub (local.get 0) (i32.const 1))))))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let depth = instance.get_typed_func::<i32, i32>(&store, "depth")?;
    assert_eq!(depth.call(&mut store, 499)?, 499);
    let err = depth
        .call(&mut store, 500)
        .expect_err("the 501st frame is one too many");
    assert_eq!(trap_code(&err), Some(TrapCode::CallStackExhausted));
    assert_eq!(depth.call(&mut store, 10)?, 10);
    Ok(())
}

fn fuel_requires_a_fuel_engine(tier: Tier) -> Result<(), Error> {
    let engine = tier.engine(|_| {});
    let mut store = Store::new(&engine, ());
    assert!(matches!(store.set_fuel(10), Err(Error::Unsupported(_))));
    assert!(matches!(store.get_fuel(), Err(Error::Unsupported(_))));
    Ok(())
}

fn memory_limit_bounds_growth(tier: Tier) -> Result<(), Error> {
    let mut config = tier.config();
    config.max_memory_bytes(4 * 65536);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module (memory 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow")?;
    assert_eq!(grow.call(&mut store, 3)?, 1);
    assert_eq!(
        grow.call(&mut store, 1)?,
        -1,
        "a fifth page is over the limit"
    );
    assert_eq!(grow.call(&mut store, 65536)?, -1);
    Ok(())
}

fn start_function_traps_fail_instantiation(tier: Tier) -> Result<(), Error> {
    let engine = tier.engine(|_| {});
    let module = Module::new(&engine, r#"(module (func $s unreachable) (start $s))"#)?;
    let mut store = Store::new(&engine, ());
    let err = Instance::new(&mut store, &module, &[]).expect_err("start traps");
    assert_eq!(trap_code(&err), Some(TrapCode::Unreachable));
    Ok(())
}

fn malformed_and_invalid_bodies_are_told_apart(tier: Tier) {
    let engine = tier.engine(|_| {});
    // A module of two `[] -> []` functions with the given bodies.
    let module = |first: &[u8], second: &[u8]| {
        let mut code = vec![2];
        for body in [first, second] {
            code.push(u8::try_from(body.len() + 1).expect("short body"));
            code.push(0);
            code.extend_from_slice(body);
        }
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.extend([1, 4, 1, 0x60, 0, 0, 3, 3, 2, 0, 0, 10]);
        bytes.push(u8::try_from(code.len()).expect("short section"));
        bytes.extend(code);
        bytes
    };
    let unknown_opcode = [0xff, 0x0b];
    let leaves_a_value = [0x41, 1, 0x0b];
    let err = Module::new(&engine, module(&[0x0b], &unknown_opcode)).expect_err("malformed");
    assert!(matches!(err, Error::Parse(_)), "{err}");
    let err = Module::new(&engine, module(&leaves_a_value, &[0x0b])).expect_err("invalid");
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    // Both at once: malformed, whichever body comes first.
    let err = Module::new(&engine, module(&leaves_a_value, &unknown_opcode)).expect_err("both");
    assert!(matches!(err, Error::Parse(_)), "{err}");
    assert!(Module::new(&engine, module(&[0x0b], &[0x0b])).is_ok());
}

/// The op right after a call reads the call's result: from a WebAssembly
/// callee (translated on its first call, then already translated) and from a
/// host function, with integer and float results.
fn results_are_read_right_after_calls(tier: Tier) -> Result<(), Error> {
    let engine = tier.engine(|_| {});
    let module = Module::new(
        &engine,
        r#"(module
          (import "host" "half" (func $half (param f64) (result f64)))
          (import "host" "neg" (func $neg (param i32) (result i32)))
          (func $sq (param f64) (result f64) (f64.mul (local.get 0) (local.get 0)))
          (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
          (func (export "ints") (param i32) (result i32)
            (i32.add
              (i32.mul (call $inc (local.get 0)) (i32.const 3))
              (i32.mul (call $neg (local.get 0)) (i32.const 5))))
          (func (export "floats") (param f64) (result f64)
            (f64.add
              (f64.mul (call $sq (local.get 0)) (f64.const 3))
              (f64.mul (call $half (local.get 0)) (f64.const 5)))))"#,
    )?;
    let mut linker: Linker<()> = Linker::new(&engine);
    linker.func_wrap("host", "half", |x: f64| -> Result<f64, kiln::Trap> {
        Ok(x / 2.0)
    })?;
    linker.func_wrap("host", "neg", |x: i32| -> Result<i32, kiln::Trap> {
        Ok(-x)
    })?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module)?;
    let ints = instance.get_typed_func::<i32, i32>(&store, "ints")?;
    let floats = instance.get_typed_func::<f64, f64>(&store, "floats")?;
    for x in [7, -2, 1000] {
        assert_eq!(ints.call(&mut store, x)?, (x + 1) * 3 - x * 5, "ints({x})");
    }
    for x in [1.5f64, -3.0, 0.25] {
        assert_eq!(
            floats.call(&mut store, x)?,
            x * x * 3.0 + x / 2.0 * 5.0,
            "floats({x})"
        );
    }
    Ok(())
}

/// `Linker::instantiate_pre` resolves the imports once; each instantiation in
/// a fresh store gets its own host functions (and their store's data) and its
/// own memory, and runs the start function.
fn instance_pre_links_once_and_instantiates_in_many_stores(tier: Tier) -> Result<(), Error> {
    let engine = tier.engine(|_| {});
    let module = Module::new(
        &engine,
        r#"(module
          (import "host" "base" (func $base (result i32)))
          (memory 1)
          (global $g (mut i32) (i32.const 0))
          (func $start (global.set $g (call $base)))
          (start $start)
          (func (export "next") (result i32)
            (global.set $g (i32.add (global.get $g) (i32.const 1)))
            (global.get $g)))"#,
    )?;
    let mut linker: Linker<i32> = Linker::new(&engine);
    linker.func_wrap("host", "base", |caller: Caller<'_, i32>| *caller.data())?;
    let pre = linker.instantiate_pre(&module)?;
    assert_eq!(pre.module().imports().count(), 1);
    for base in [10, 20, 30] {
        let mut store = Store::new(&engine, base);
        let instance = pre.clone().instantiate(&mut store)?;
        let next = instance.get_typed_func::<(), i32>(&store, "next")?;
        assert_eq!(next.call(&mut store, ())?, base + 1);
        assert_eq!(next.call(&mut store, ())?, base + 2);
        // A second instance in the same store has its own global.
        let again = pre.instantiate(&mut store)?;
        let next2 = again.get_typed_func::<(), i32>(&store, "next")?;
        assert_eq!(next2.call(&mut store, ())?, base + 1);
    }
    Ok(())
}

/// Missing imports and host functions of the wrong type are reported by
/// `instantiate_pre`, before any store is involved; an instance's export
/// given to the linker stays bound to its store.
fn instance_pre_checks_imports_up_front(tier: Tier) -> Result<(), Error> {
    let engine = tier.engine(|_| {});
    let module = Module::new(
        &engine,
        r#"(module (import "host" "f" (func (param i32))) (import "host" "m" (memory 1)))"#,
    )?;
    let mut linker: Linker<()> = Linker::new(&engine);
    let err = linker
        .instantiate_pre(&module)
        .expect_err("nothing is defined");
    assert!(
        matches!(&err, Error::Unlinkable(m) if m.contains("host::f")),
        "{err}"
    );
    linker.func_wrap("host", "f", |_: i64| {})?;
    let err = linker
        .instantiate_pre(&module)
        .expect_err("f has another type");
    assert!(
        matches!(&err, Error::Unlinkable(m) if m.contains("incompatible")),
        "{err}"
    );
    let mut linker: Linker<()> = Linker::new(&engine);
    linker.func_wrap("host", "f", |_: i32| {})?;
    let mut first = Store::new(&engine, ());
    let mem_ty = MemoryType {
        limits: Limits { min: 1, max: None },
        index: kiln::IndexType::I32,
    };
    let memory = Memory::new(&mut first, mem_ty)?;
    linker.define("host", "m", memory)?;
    let pre = linker.instantiate_pre(&module)?;
    assert!(pre.instantiate(&mut first).is_ok());
    let mut second = Store::new(&engine, ());
    assert!(matches!(pre.instantiate(&mut second), Err(Error::Store)));
    Ok(())
}

/// A limiter that allows memories up to `max_bytes` and counts what it was asked.
struct Quota {
    max_bytes: u64,
    asked: std::sync::Arc<std::sync::atomic::AtomicU64>,
    fail_tables: bool,
}

impl kiln::ResourceLimiter for Quota {
    fn memory_growing(
        &mut self,
        _current: u64,
        desired: u64,
        _maximum: Option<u64>,
    ) -> Result<bool, kiln::Trap> {
        self.asked
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(desired <= self.max_bytes)
    }

    fn table_growing(
        &mut self,
        _current: u64,
        desired: u64,
        _maximum: Option<u64>,
    ) -> Result<bool, kiln::Trap> {
        if self.fail_tables && desired > 1 {
            Err(kiln::Trap::host("no tables for this tenant"))
        } else {
            Ok(true)
        }
    }

    fn instances(&self) -> usize {
        2
    }
}

/// Each store's limiter decides its own quota: `memory.grow` past it gives -1
/// on either tier, the host API's growth fails, a failing limiter traps, and
/// instantiation respects the instance count and initial sizes.
fn resource_limiters_decide_per_store(tier: Tier) -> Result<(), Error> {
    let engine = tier.engine(|_| {});
    let module = Module::new(
        &engine,
        r#"(module
          (memory (export "mem") 1)
          (table 1 funcref)
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
          (func (export "grow_table") (result i32) (table.grow (ref.null func) (i32.const 1))))"#,
    )?;
    let linker: Linker<()> = Linker::new(&engine);
    let page = 65_536;
    for (quota, expected) in [(3 * page, [1, 2, -1]), (2 * page, [1, -1, -1])] {
        let asked = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut store = Store::new(&engine, ());
        store.limiter(Quota {
            max_bytes: quota,
            asked: asked.clone(),
            fail_tables: false,
        });
        let instance = linker.instantiate(&mut store, &module)?;
        let grow = instance.get_typed_func::<i32, i32>(&store, "grow")?;
        let got = [
            grow.call(&mut store, 1)?,
            grow.call(&mut store, 1)?,
            grow.call(&mut store, 1)?,
        ];
        assert_eq!(got, expected, "quota {quota}");
        // Instantiation asked for the initial page, then each growth.
        assert_eq!(asked.load(std::sync::atomic::Ordering::Relaxed), 4);
        let mem = instance.get_memory(&store, "mem").expect("exported");
        assert!(matches!(
            mem.grow(&mut store, 1),
            Err(Error::Instantiation(_))
        ));
        // A second instance fits; a third does not.
        linker.instantiate(&mut store, &module)?;
        let err = linker
            .instantiate(&mut store, &module)
            .expect_err("two at most");
        assert!(
            matches!(&err, Error::Instantiation(m) if m.contains("instances")),
            "{err}"
        );
    }
    // A limiter that fails traps the running call (here `table.grow`).
    let mut store = Store::new(&engine, ());
    store.limiter(Quota {
        max_bytes: u64::MAX,
        asked: Default::default(),
        fail_tables: true,
    });
    let instance = linker.instantiate(&mut store, &module)?;
    let grow_table = instance.get_typed_func::<(), i32>(&store, "grow_table")?;
    let err = grow_table
        .call(&mut store, ())
        .expect_err("the limiter fails");
    assert!(err.to_string().contains("no tables"), "{err}");
    Ok(())
}
