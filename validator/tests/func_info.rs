//! What the validator records for the tiers, and the errors it reports, on small modules.

use kiln_parser::{Features, ValType};
use kiln_validator::{
    BlockShape, FuncInfo, ImplLimit, IndexSpace, ModuleError, ModuleInfo, ValidationError,
    ValidationErrorKind,
};

fn validate(wat: &str) -> Result<ModuleInfo, ValidationError> {
    let bytes = wat::parse_str(wat).expect("test module should be well-formed text");
    let module = kiln_parser::parse(&bytes, Features::ALL).expect("test module should parse");
    match kiln_validator::validate(&module, Features::ALL) {
        Ok(info) => Ok(info),
        Err(ModuleError::Invalid(e)) => Err(e),
        Err(ModuleError::Malformed(e)) => panic!("test module should be well-formed: {e}"),
    }
}

fn only_func(wat: &str) -> FuncInfo {
    let mut info = validate(wat).expect("module should be valid");
    assert_eq!(info.funcs.len(), 1);
    info.funcs.remove(0)
}

fn error(wat: &str) -> ValidationError {
    validate(wat).expect_err("module should be invalid")
}

#[test]
fn locals_are_params_then_declared() {
    let f = only_func("(module (func (param i32 f64) (local i64 i64) (local v128)))");
    assert_eq!(
        &*f.locals,
        &[
            ValType::I32,
            ValType::F64,
            ValType::I64,
            ValType::I64,
            ValType::V128
        ]
    );
}

#[test]
fn max_stack_counts_the_deepest_point() {
    let f = only_func(
        "(module (func (result i32)
            i32.const 1 i32.const 2 i32.const 3 i32.add i32.add))",
    );
    assert_eq!(f.max_stack, 3);
    assert_eq!(f.max_depth, 1);
}

#[test]
fn block_shapes_link_start_else_and_end() {
    let f = only_func(
        "(module (func (param i32) (result i32)
            (block (result i32)                  ;; 0
              local.get 0                        ;; 1: the if's parameter
              local.get 0                        ;; 2: its condition
              (if (param i32) (result i32)       ;; 3
                (then i32.const 1 i32.add)       ;; 4, 5
                (else i32.const 2 i32.sub)))     ;; 6: else, 7, 8, 9: end
            (loop)))                             ;; 10: end of block, 11: loop, 12: end
        ",
    );
    assert_eq!(
        &*f.blocks,
        &[
            BlockShape {
                start: 0,
                else_: None,
                end: 10,
                params: 0,
                results: 1
            },
            BlockShape {
                start: 3,
                else_: Some(6),
                end: 9,
                params: 1,
                results: 1
            },
            BlockShape {
                start: 11,
                else_: None,
                end: 12,
                params: 0,
                results: 0
            },
        ]
    );
    assert_eq!(f.max_depth, 3);
}

#[test]
fn type_mismatch_names_function_and_offset() {
    let e = error("(module (func) (func (result i32) i64.const 0))");
    assert_eq!(e.message(), "type mismatch");
    assert_eq!(e.func().map(|f| f.0), Some(1));
    assert!(e.offset() > 0);
    let shown = e.to_string();
    assert!(shown.contains("in function 1"), "{shown}");
}

#[test]
fn unknown_indices_are_reported_with_the_index() {
    assert_eq!(
        error("(module (func local.get 2 drop))").message(),
        "unknown local 2"
    );
    assert_eq!(
        error("(module (func call 7))").message(),
        "unknown function 7"
    );
    assert_eq!(
        error("(module (func global.get 1 drop))").message(),
        "unknown global 1"
    );
    assert_eq!(error("(module (func br 1))").message(), "unknown label 1");
}

/// A caller can tell the rules apart by kind, without reading messages.
#[test]
fn errors_have_kinds_to_branch_on() {
    let e = error("(module (func (result i32) i64.const 0))");
    assert_eq!(e.kind(), ValidationErrorKind::TypeMismatch);
    match error("(module (func global.get 4 drop))").kind() {
        ValidationErrorKind::UnknownIndex { space, index } => {
            assert_eq!((space, index), (IndexSpace::Global, 4));
        }
        other => panic!("expected an unknown global, got {other:?}"),
    }
    assert_eq!(
        error("(module (func (block (br 3))))").kind(),
        ValidationErrorKind::UnknownIndex {
            space: IndexSpace::Label,
            index: 3
        }
    );
    assert_eq!(
        error("(module (global i32 (i32.const 0)) (func i32.const 1 global.set 0))").kind(),
        ValidationErrorKind::ImmutableGlobal
    );
    let e = error("(module (func) (export \"f\" (func 0)) (export \"f\" (func 0)))");
    assert_eq!(e.kind(), ValidationErrorKind::DuplicateExportName);
    assert_eq!(e.func(), None, "an export is outside any function");
    assert_eq!(
        error("(module (global i32 (i32.const 0) (i32.const 1)))").kind(),
        ValidationErrorKind::TypeMismatch
    );
    assert_eq!(
        error("(module (memory 0 65537))").kind(),
        ValidationErrorKind::MemorySizeTooLarge(kiln_parser::IndexType::I32)
    );
}

#[test]
fn unreachable_code_is_polymorphic() {
    only_func("(module (func (result i32) unreachable i32.add))");
    only_func("(module (func (result f64) (block (br 0)) unreachable select))");
    assert_eq!(
        error("(module (func unreachable i32.const 0 f32.neg drop))").message(),
        "type mismatch"
    );
}

#[test]
fn ref_func_must_be_declared() {
    assert_eq!(
        error("(module (func (result funcref) ref.func 0))").message(),
        "undeclared function reference"
    );
    only_func("(module (func (result funcref) ref.func 0) (elem declare func 0))");
}

#[test]
fn four_billion_locals_is_an_error_not_an_allocation() {
    // One function whose single local declaration claims 0xFFFF_FFFF i32 locals.
    let bytes = [
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: [] -> []
        0x03, 0x02, 0x01, 0x00, // function section
        0x0a, 0x0a, 0x01, 0x08, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x0b, // code
    ];
    let module = kiln_parser::parse(&bytes, Features::ALL).expect("the count fits in u32");
    let e = kiln_validator::validate(&module, Features::ALL).expect_err("over the limit");
    let ModuleError::Invalid(e) = e else {
        panic!("expected an invalid module, got {e}");
    };
    assert_eq!(e.message(), "too many locals");
    assert_eq!(
        e.kind(),
        ValidationErrorKind::LimitExceeded(ImplLimit::Locals)
    );
}

/// A module of two `[] -> []` functions with the given bodies (operators
/// only, `end` included; no locals).
fn two_bodies(first: &[u8], second: &[u8]) -> Vec<u8> {
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
}

#[test]
fn bodies_are_decoded_while_they_are_validated() {
    // The parser reads only the locals, so an unknown opcode (0xff) in a body
    // is found by the validator and reported as malformed.
    let bytes = two_bodies(&[0x0b], &[0xff, 0x0b]);
    let module = kiln_parser::parse(&bytes, Features::ALL).expect("bodies are decoded later");
    let e = kiln_validator::validate(&module, Features::ALL).expect_err("malformed");
    assert!(matches!(e, ModuleError::Malformed(_)), "{e}");

    let bytes = two_bodies(&[0x41, 1, 0x0b], &[0x0b]);
    let module = kiln_parser::parse(&bytes, Features::ALL).expect("well-formed");
    let e = kiln_validator::validate(&module, Features::ALL).expect_err("invalid");
    assert!(
        matches!(&e, ModuleError::Invalid(e) if e.message() == "type mismatch"),
        "{e}"
    );
}

#[test]
fn a_malformed_body_wins_over_an_invalid_one() {
    // The first body leaves an i32 on the stack (invalid); the second has an
    // unknown opcode (malformed). As if the whole module were decoded first,
    // the module is malformed.
    let bytes = two_bodies(&[0x41, 1, 0x0b], &[0xff, 0x0b]);
    let module = kiln_parser::parse(&bytes, Features::ALL).expect("bodies are decoded later");
    let e = kiln_validator::validate(&module, Features::ALL).expect_err("rejected");
    assert!(matches!(e, ModuleError::Malformed(_)), "{e}");
}

#[test]
fn operators_after_the_final_end_are_rejected() {
    let bytes = two_bodies(&[0x0b, 0x01, 0x0b], &[0x0b]);
    let module = kiln_parser::parse(&bytes, Features::ALL).expect("bodies are decoded later");
    assert!(kiln_validator::validate(&module, Features::ALL).is_err());
}

/// A module with `n` functions of many instructions each (enough in all to be
/// validated on several threads where there are several), the `k`-th function
/// `locals` declared locals, and, for each index in `bad`, a function whose
/// body ends with a type mismatch.
fn many_functions(n: usize, bad: &[usize]) -> String {
    let mut wat = String::from("(module\n");
    for f in 0..n {
        wat += &format!(
            "(func (param i32) (result i32) (local {})\n",
            "i64 ".repeat(f % 5 + 1)
        );
        wat += "local.get 0\n";
        for j in 0..400 {
            wat += &format!("i32.const {j} i32.add\n");
        }
        if bad.contains(&f) {
            wat += "i64.const 0\n";
        }
        wat += ")\n";
    }
    wat + ")"
}

/// Large modules are validated on several threads; the functions' facts come
/// back in order, and the error reported is the first function's in index
/// order, as when one thread validates everything.
#[test]
fn large_modules_give_the_same_answers_in_the_same_order() {
    let info = validate(&many_functions(120, &[])).expect("valid");
    assert_eq!(info.funcs.len(), 120);
    for (f, func) in info.funcs.iter().enumerate() {
        assert_eq!(func.locals.len(), 1 + f % 5 + 1, "function {f}");
    }
    for bad in [vec![7, 110], vec![110], vec![119, 3], vec![60, 61]] {
        let e = error(&many_functions(120, &bad));
        let first = *bad.iter().min().expect("one bad function");
        assert_eq!(
            e.func(),
            Some(kiln_parser::FuncIdx(first as u32)),
            "bad {bad:?}"
        );
    }
}

#[test]
fn calls_are_recorded() {
    let info = validate(
        r#"(module
          (type $t (func))
          (table 1 funcref)
          (func $leaf (loop br 0))
          (func (call $leaf))
          (func (call_indirect (type $t) (i32.const 0)))
          (func (return_call $leaf))
          (func (param (ref $t)) (call_ref $t (local.get 0))))"#,
    )
    .expect("valid");
    let calls: Vec<bool> = info.funcs.iter().map(|f| f.calls).collect();
    assert_eq!(calls, [false, true, true, true, true]);
}
