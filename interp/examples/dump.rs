//! Prints the interpreter bytecode of a module's functions, for reading what
//! the translator made of hot code.
//!
//! ```sh
//! cargo run --release -p kiln-interp --example dump -- prog.wasm        # every function
//! cargo run --release -p kiln-interp --example dump -- prog.wat         # text works too
//! cargo run --release -p kiln-interp --example dump -- prog.wasm 12 40  # functions 12 and 40
//! ```
//!
//! Function numbers are the module's own functions (imports not counted).

use std::sync::Arc;

use kiln_parser::Features;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: dump FILE [FUNC...]");
        std::process::exit(2);
    };
    let read = if path.ends_with(".wat") {
        wat::parse_file(&path).map_err(|e| e.to_string())
    } else {
        std::fs::read(&path).map_err(|e| e.to_string())
    };
    let bytes = match read {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let wanted: Vec<u32> = args.filter_map(|a| a.parse().ok()).collect();
    let module = match kiln_parser::parse(&bytes, Features::ALL) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let info = match kiln_validator::validate(&module, Features::ALL) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let count = module.code.len() as u32;
    let compiled = match kiln_interp::CompiledModule::new(
        Arc::new(module),
        Arc::new(info),
        kiln_interp::CompileOptions::default(),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let funcs: Vec<u32> = if wanted.is_empty() {
        (0..count).collect()
    } else {
        wanted.into_iter().filter(|&f| f < count).collect()
    };
    for f in funcs {
        let code = match compiled.func(f) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(1);
            }
        };
        println!(
            "func {f}: {} params, {} locals, frame {} slots, consts {:?}",
            code.num_params,
            code.num_locals,
            code.frame_size,
            code.consts()
        );
        for (pc, op) in code.code.iter().enumerate() {
            println!("  {pc:5}  {op:?}");
        }
    }
}
