//! Where a module's vector instructions are: how the SIMD builds of the C
//! programs are checked to be vectorised in their loops, not only in set-up
//! code (`cargo run -p kiln-benches --example vectors` prints it).
//!
//! A vector instruction is one with the `0xfd` prefix: the SIMD and relaxed
//! SIMD proposals' opcodes. Instructions are decoded, so an immediate that
//! happens to hold the byte `0xfd` is not counted.

use wasmparser::{BinaryReaderError, KnownCustom, Name, Operator, Parser, Payload, TypeRef};

/// The prefix byte of every SIMD and relaxed SIMD opcode.
const SIMD_PREFIX: u8 = 0xfd;

/// One `loop` of a function body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopVectors {
    /// How many loops enclose it: 0 for an outermost loop.
    pub depth: u32,
    /// Whether no other loop is nested in it.
    pub innermost: bool,
    /// Instructions in its body, nested loops' excluded.
    pub instructions: u32,
    /// Vector instructions among them.
    pub vectors: u32,
}

/// One function defined by the module (imports are not listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionVectors {
    /// Its index in the module's function index space (imports first).
    pub index: u32,
    /// Its name from the `name` section, if it has one.
    pub name: Option<String>,
    /// Vector instructions in its body, loops or not.
    pub vectors: u32,
    /// Its loops in the order they open.
    pub loops: Vec<LoopVectors>,
}

impl FunctionVectors {
    /// Vector instructions inside loops, at any depth.
    pub fn vectors_in_loops(&self) -> u32 {
        self.loops.iter().map(|l| l.vectors).sum()
    }
}

/// Every function the module defines, with its vector instructions counted.
///
/// # Errors
///
/// If `wasm` is not a well-formed module.
pub fn vector_instructions(wasm: &[u8]) -> Result<Vec<FunctionVectors>, BinaryReaderError> {
    let mut imported = 0u32;
    let mut functions = Vec::new();
    let mut names = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    if let TypeRef::Func(_) | TypeRef::FuncExact(_) = import?.ty {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let index = imported + functions.len() as u32;
                functions.push(count_body(wasm, index, &body)?);
            }
            Payload::CustomSection(section) => {
                if let KnownCustom::Name(reader) = section.as_known() {
                    for subsection in reader {
                        // A malformed name section only loses the names.
                        let Ok(Name::Function(map)) = subsection else {
                            continue;
                        };
                        names.extend(map.into_iter().flatten().map(|n| (n.index, n.name)));
                    }
                }
            }
            _ => {}
        }
    }
    for (index, name) in names {
        if let Some(f) = index
            .checked_sub(imported)
            .and_then(|i| functions.get_mut(i as usize))
        {
            f.name = Some(name.to_owned());
        }
    }
    Ok(functions)
}

/// What encloses an instruction: a `loop` (its index in the function's
/// list of loops) or another block (`block`, `if`, `try_table`).
#[derive(Clone, Copy)]
enum Frame {
    Loop(usize),
    Other,
}

fn count_body(
    wasm: &[u8],
    index: u32,
    body: &wasmparser::FunctionBody<'_>,
) -> Result<FunctionVectors, BinaryReaderError> {
    let mut function = FunctionVectors {
        index,
        name: None,
        vectors: 0,
        loops: Vec::new(),
    };
    let mut frames: Vec<Frame> = Vec::new();
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        let offset = reader.original_position() as usize;
        let op = reader.read()?;
        // The innermost enclosing loop, if any.
        let current = frames.iter().rev().find_map(|f| match f {
            Frame::Loop(i) => Some(*i),
            Frame::Other => None,
        });
        let is_vector = wasm.get(offset) == Some(&SIMD_PREFIX);
        function.vectors += u32::from(is_vector);
        if let Some(i) = current {
            function.loops[i].instructions += 1;
            function.loops[i].vectors += u32::from(is_vector);
        }
        match op {
            Operator::Loop { .. } => {
                if let Some(i) = current {
                    function.loops[i].innermost = false;
                }
                let depth = frames
                    .iter()
                    .filter(|f| matches!(f, Frame::Loop(_)))
                    .count();
                frames.push(Frame::Loop(function.loops.len()));
                function.loops.push(LoopVectors {
                    depth: depth as u32,
                    innermost: true,
                    instructions: 0,
                    vectors: 0,
                });
            }
            Operator::Block { .. } | Operator::If { .. } | Operator::TryTable { .. } => {
                frames.push(Frame::Other);
            }
            Operator::End => {
                frames.pop();
            }
            _ => {}
        }
    }
    Ok(function)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_vector_instructions_by_loop() {
        let wasm = wat::parse_str(
            r#"(module
                 (import "env" "f" (func))
                 (func $kernel (param i32)
                   v128.const i32x4 0xfd 0xfd 0xfd 0xfd
                   drop
                   (loop $outer
                     (block
                       (loop $inner
                         (drop (i32x4.add (v128.load (i32.const 0)) (v128.load (i32.const 16))))
                         (br_if $inner (local.get 0))))
                     (i32.const 253)
                     drop
                     (br_if $outer (local.get 0))))
                 (memory 1))"#,
        )
        .expect("valid text");
        let functions = vector_instructions(&wasm).expect("a module");
        assert_eq!(functions.len(), 1);
        let f = &functions[0];
        assert_eq!((f.index, f.name.as_deref()), (1, Some("kernel")));
        assert_eq!(f.vectors, 4);
        assert_eq!(f.vectors_in_loops(), 3);
        assert_eq!(
            f.loops,
            [
                LoopVectors {
                    depth: 0,
                    innermost: false,
                    instructions: 8,
                    vectors: 0
                },
                LoopVectors {
                    depth: 1,
                    innermost: true,
                    instructions: 9,
                    vectors: 3
                },
            ]
        );
    }
}
