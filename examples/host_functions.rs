//! Host functions: a guest module calls back into Rust, which reads the guest's
//! memory through the `Caller` and keeps state in the store.
//!
//! Run with `cargo run --example host_functions`.

use kiln::{Caller, Engine, Linker, Module, Store};

/// The host state: every line the guest printed.
#[derive(Default)]
struct Host {
    lines: Vec<String>,
}

const GUEST: &str = r#"(module
  (import "host" "print" (func $print (param i32 i32)))
  (import "host" "square" (func $square (param i64) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from the guest")
  (func (export "run") (param i64) (result i64)
    (call $print (i32.const 16) (i32.const 20))
    (call $square (local.get 0))))"#;

fn main() -> Result<(), kiln::Error> {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;

    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "host",
        "print",
        |mut caller: Caller<'_, Host>, ptr: i32, len: i32| -> Result<(), kiln::Trap> {
            let memory = caller
                .get_export("memory")
                .and_then(kiln::Extern::into_memory)
                .ok_or_else(|| kiln::Trap::host("the guest exports no memory"))?;
            let (start, len) = (ptr as u32 as usize, len as u32 as usize);
            let bytes = memory
                .data(&caller)
                .get(start..start + len)
                .ok_or_else(|| kiln::Trap::host("string out of bounds"))?;
            let text = String::from_utf8_lossy(bytes).into_owned();
            caller.data_mut().lines.push(text);
            Ok(())
        },
    )?;
    linker.func_wrap("host", "square", |x: i64| x.wrapping_mul(x))?;

    let mut store = Store::new(&engine, Host::default());
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<i64, i64>(&store, "run")?;
    let result = run.call(&mut store, 12)?;

    println!("guest printed: {:?}", store.data().lines);
    println!("run(12) = {result}");
    assert_eq!(store.data().lines, ["hello from the guest"]);
    assert_eq!(result, 144);
    Ok(())
}
