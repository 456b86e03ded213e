//! Prints where a module's vector instructions are: per function, its loops
//! that hold any, so that one can see whether clang vectorised a program's
//! hot loops or only its set-up.
//!
//! ```sh
//! cargo run --release -p kiln-benches --example vectors                  # every SIMD build
//! cargo run --release -p kiln-benches --example vectors -- matmul-simd   # one program
//! cargo run --release -p kiln-benches --example vectors -- some.wasm     # any module
//! ```
//!
//! A line per loop with vector instructions: its depth (0 outermost), its
//! instruction count (nested loops' excluded) and how many of those are
//! vector instructions; `*` marks an innermost loop.

use anyhow::Context as _;
use kiln_benches::programs::{self, PROGRAMS};
use kiln_benches::vectors::vector_instructions;

fn main() -> anyhow::Result<()> {
    let mut modules: Vec<(String, Vec<u8>)> = Vec::new();
    for arg in std::env::args().skip(1) {
        if let Some(p) = programs::find(&arg) {
            modules.push((arg, p.wasm.to_vec()));
        } else {
            let bytes = std::fs::read(&arg).with_context(|| format!("read {arg}"))?;
            modules.push((arg, bytes));
        }
    }
    if modules.is_empty() {
        modules = PROGRAMS
            .iter()
            .filter(|p| p.scalar.is_some())
            .map(|p| (p.name.to_owned(), p.wasm.to_vec()))
            .collect();
    }
    for (name, wasm) in &modules {
        let functions = vector_instructions(wasm).with_context(|| format!("decode {name}"))?;
        let total: u32 = functions.iter().map(|f| f.vectors).sum();
        let in_loops: u32 = functions.iter().map(|f| f.vectors_in_loops()).sum();
        println!("{name}: {total} vector instructions, {in_loops} of them in loops");
        for f in functions.iter().filter(|f| f.vectors > 0) {
            let fname = f.name.as_deref().unwrap_or("?");
            println!(
                "  func {} {fname}: {} vector instructions",
                f.index, f.vectors
            );
            for (i, l) in f.loops.iter().enumerate().filter(|(_, l)| l.vectors > 0) {
                println!(
                    "    loop {i:<3} depth {} {:>4} instructions, {:>3} vector{}",
                    l.depth,
                    l.instructions,
                    l.vectors,
                    if l.innermost { " *" } else { "" }
                );
            }
        }
    }
    Ok(())
}
