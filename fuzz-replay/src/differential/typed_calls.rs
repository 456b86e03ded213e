//! Typed function references for the differential, by rewriting direct calls.
//!
//! `wasm-smith` generates typed function references only together with GC's
//! types and instructions (struct and array types, `i31`, casts), which Kiln
//! does not implement yet; with GC on, nearly every module it builds needs
//! GC. So this pass takes a module built without GC and turns every direct
//! call into a call through a typed reference, four ways in turn, by the
//! call site's position in the module (`$t` is the callee's type, `$t+` a
//! type the pass appends for each type of the module, taking `$t`'s
//! parameters and giving them back with a `(ref $t)` after them):
//!
//! ```text
//! ;; 0: the reference straight from ref.func, typed (ref $t)
//! ref.func $f  call_ref $t
//! ;; 1: through ref.as_non_null
//! ref.func $f  ref.as_non_null  call_ref $t
//! ;; 2: br_on_null, to a loop taking the arguments (never taken)
//! loop (type $t)  ref.func $f  br_on_null 0  call_ref $t  end
//! ;; 3: br_on_non_null, out of a block giving the arguments and the reference
//! block (type $t+)  ref.func $f  br_on_non_null 0  unreachable  end  call_ref $t
//! ```
//!
//! A `return_call` becomes the same with `return_call_ref`. Every defined
//! function is declared in an added declarative element segment, which
//! `ref.func` needs. The module computes what it did before: the calls go
//! to the same functions with the same arguments, so any difference between
//! Kiln's tiers, or with wasmtime, is a finding about the typed-reference
//! instructions and their fuel (Kiln's tiers compare fuel exactly).

use wasm_encoder::reencode::{Error, Reencode, RoundtripReencoder, utils};
use wasm_encoder::{
    BlockType, CodeSection, ElementSection, Elements, Function, HeapType, Instruction, RefType,
    SectionId, TypeSection, ValType,
};
use wasmparser::{FunctionBody, Operator, Parser, Payload, TypeSectionReader};

/// `module` with its direct calls made through typed references (see the
/// module docs), or `None` if it cannot be read back or uses GC's types
/// (never, for a module `wasm-smith` built without GC).
pub(super) fn typed_calls(module: &[u8]) -> Option<Vec<u8>> {
    let mut pass = TypedCalls {
        func_types: func_types(module)?,
        types: 0,
        declared: false,
        site: 0,
    };
    let mut out = wasm_encoder::Module::new();
    pass.parse_core_module(&mut out, Parser::new(0), module)
        .ok()?;
    Some(out.finish())
}

/// The type index of every function, imported ones first.
fn func_types(module: &[u8]) -> Option<Vec<u32>> {
    let mut funcs = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        match payload.ok()? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if let wasmparser::TypeRef::Func(ty) = import.ok()?.ty {
                        funcs.push(ty);
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    funcs.push(ty.ok()?);
                }
            }
            _ => {}
        }
    }
    Some(funcs)
}

/// The re-encoder.
struct TypedCalls {
    /// Each function's type index, to name the callee's type.
    func_types: Vec<u32>,
    /// How many types the module had: `$t+` is type `types + $t`.
    types: u32,
    /// Whether the declarative segment is written.
    declared: bool,
    /// The call sites rewritten so far, which picks each one's form.
    site: usize,
}

impl TypedCalls {
    /// The declarative segment of every defined function.
    fn declare_all(&mut self, elements: &mut ElementSection) {
        let funcs: Vec<u32> = (0..self.func_types.len() as u32).collect();
        elements.declared(Elements::Functions(funcs.into()));
        self.declared = true;
    }

    /// Writes a call of `func` (a tail call if `tail`) through a typed
    /// reference, in the next site's form.
    fn call(&mut self, f: &mut Function, func: u32, tail: bool) {
        let Some(&ty) = self.func_types.get(func as usize) else {
            // Out of range: let the validator say so, unchanged.
            f.instruction(&if tail {
                Instruction::ReturnCall(func)
            } else {
                Instruction::Call(func)
            });
            return;
        };
        let call = if tail {
            Instruction::ReturnCallRef(ty)
        } else {
            Instruction::CallRef(ty)
        };
        let form = self.site % 4;
        self.site += 1;
        match form {
            0 => {
                f.instruction(&Instruction::RefFunc(func));
            }
            1 => {
                f.instruction(&Instruction::RefFunc(func));
                f.instruction(&Instruction::RefAsNonNull);
            }
            2 => {
                f.instruction(&Instruction::Loop(BlockType::FunctionType(ty)));
                f.instruction(&Instruction::RefFunc(func));
                f.instruction(&Instruction::BrOnNull(0));
                f.instruction(&call);
                f.instruction(&Instruction::End);
                return;
            }
            _ => {
                f.instruction(&Instruction::Block(BlockType::FunctionType(
                    self.types + ty,
                )));
                f.instruction(&Instruction::RefFunc(func));
                f.instruction(&Instruction::BrOnNonNull(0));
                f.instruction(&Instruction::Unreachable);
                f.instruction(&Instruction::End);
            }
        }
        f.instruction(&call);
    }
}

impl Reencode for TypedCalls {
    type Error = std::convert::Infallible;

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: TypeSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        let mut signatures = Vec::new();
        for ty in section.into_iter_err_on_gc_types() {
            let ty = ty?;
            let params: Vec<ValType> = ty
                .params()
                .iter()
                .map(|&t| RoundtripReencoder.val_type(t))
                .collect::<Result<_, _>>()?;
            let results: Vec<ValType> = ty
                .results()
                .iter()
                .map(|&t| RoundtripReencoder.val_type(t))
                .collect::<Result<_, _>>()?;
            types.ty().function(params.iter().copied(), results);
            signatures.push(params);
        }
        self.types = signatures.len() as u32;
        // `$t+`: `$t`'s parameters in, the same and a `(ref $t)` out.
        for (t, params) in (0..).zip(&signatures) {
            let typed = ValType::Ref(RefType {
                nullable: false,
                heap_type: HeapType::Concrete(t),
            });
            let results: Vec<ValType> = params.iter().copied().chain([typed]).collect();
            types.ty().function(params.iter().copied(), results);
        }
        Ok(())
    }

    fn parse_element_section(
        &mut self,
        elements: &mut ElementSection,
        section: wasmparser::ElementSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_element_section(self, elements, section)?;
        self.declare_all(elements);
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), Error<Self::Error>> {
        // The element section comes before these; if the module has none by
        // now, it has none at all.
        let past_elements = matches!(
            before,
            None | Some(SectionId::DataCount | SectionId::Code | SectionId::Data)
        );
        if !self.declared && past_elements {
            let mut elements = ElementSection::new();
            self.declare_all(&mut elements);
            module.section(&elements);
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        func: FunctionBody<'_>,
    ) -> Result<(), Error<Self::Error>> {
        let mut locals = Vec::new();
        for pair in func.get_locals_reader()? {
            let (count, ty) = pair?;
            locals.push((count, RoundtripReencoder.val_type(ty)?));
        }
        let mut f = Function::new(locals);
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            match reader.read()? {
                Operator::Call { function_index } => self.call(&mut f, function_index, false),
                Operator::ReturnCall { function_index } => {
                    self.call(&mut f, function_index, true);
                }
                op => {
                    f.instruction(&utils::instruction(self, op)?);
                }
            }
        }
        code.function(&f);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::typed_calls;
    use crate::differential::{Step, Value, uses_function_references};

    const CALLS: &str = r#"(module
      (func $add (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
      (func $sum (export "sum") (param i32) (result i32)
        (call $add (local.get 0) (i32.const 1))
        (call $add (i32.const 10))
        (call $add (i32.const 100))
        (call $add (i32.const 1000))
        (call $add (i32.const 10000)))
      (func $tail (export "tail") (param i32) (result i32)
        (return_call $add (local.get 0) (i32.const 7))))"#;

    #[test]
    fn calls_go_through_typed_references_and_compute_the_same() {
        let wasm = wat::parse_str(CALLS).expect("the module is well-formed text");
        assert!(!uses_function_references(&wasm));
        let typed = typed_calls(&wasm).expect("the module reads back");
        assert!(uses_function_references(&typed));
        let text = operator_names(&typed);
        for op in [
            "CallRef",
            "RefAsNonNull",
            "BrOnNull",
            "BrOnNonNull",
            "ReturnCallRef",
        ] {
            assert!(text.contains(op), "no {op} in {text}");
        }
        assert!(!text.contains("Call {"), "a direct call is left: {text}");
        for strategy in [kiln::Strategy::Interpreter, kiln::Strategy::Jit] {
            if strategy == kiln::Strategy::Jit && !kiln::Strategy::JIT_AVAILABLE {
                continue;
            }
            let mut side = crate::differential::kiln_side::KilnSide::new(&typed, strategy)
                .expect("Kiln instantiates the rewritten module");
            assert_eq!(
                side.call("sum", &[Value::I32(5)]),
                Step::Returned(vec![Value::I32(11_116)])
            );
            assert_eq!(
                side.call("tail", &[Value::I32(5)]),
                Step::Returned(vec![Value::I32(12)])
            );
        }
    }

    /// The operators of every body, by their `Debug` names.
    fn operator_names(wasm: &[u8]) -> String {
        let mut out = String::new();
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.expect("valid") {
                let mut reader = body.get_operators_reader().expect("valid");
                while !reader.eof() {
                    out += &format!("{:?}\n", reader.read().expect("valid"));
                }
            }
        }
        out
    }
}
