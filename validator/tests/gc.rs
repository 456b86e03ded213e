//! GC's validation rules, one small module each: Kiln's verdict (and its
//! message) must be the expected one, and `wasmparser`'s validator must
//! agree on accepting or rejecting, so that every expectation here is
//! checked against a second reading of the spec.

use kiln_parser::Features;
use kiln_validator::{ModuleError, ModuleInfo};

/// Kiln's verdict on `wat`: the module's info, or the error's message.
fn kiln(bytes: &[u8]) -> Result<ModuleInfo, String> {
    let module = kiln_parser::parse(bytes, Features::ALL_WITH_GC).map_err(|e| e.to_string())?;
    kiln_validator::validate(&module, Features::ALL_WITH_GC).map_err(|e| match e {
        ModuleError::Invalid(e) => e.to_string(),
        ModuleError::Malformed(e) => e.to_string(),
    })
}

/// Checks that `wat` is valid (`expected` is `None`) or rejected with a
/// message containing `expected`, and that `wasmparser` agrees.
#[track_caller]
fn check(wat: &str, expected: Option<&str>) {
    let bytes = wat::parse_str(wat).expect("test module should be well-formed text");
    let ours = kiln(&bytes);
    let theirs = wasmparser::Validator::new_with_features(Features::ALL_WITH_GC.to_wasmparser())
        .validate_all(&bytes)
        .map(drop);
    match (expected, &ours) {
        (None, Ok(_)) => {}
        (Some(msg), Err(e)) if e.contains(msg) => {}
        _ => panic!(
            "{wat}\nexpected {expected:?}, Kiln said {:?}",
            ours.map(drop)
        ),
    }
    assert_eq!(
        ours.is_ok(),
        theirs.is_ok(),
        "{wat}\nwasmparser disagrees: {theirs:?}"
    );
}

fn valid(wat: &str) {
    check(wat, None);
}

fn invalid(wat: &str, message: &str) {
    check(wat, Some(message));
}

/// A module with struct type `$s` (a mutable `i32`, an immutable `i8`, a
/// mutable `i16`, an immutable `anyref`), array types `$a` (mutable `i8`),
/// `$ai` (immutable `i32`) and `$ar` (mutable `funcref`), and `body`.
fn with_types(body: &str) -> String {
    format!(
        "(module
           (type $s (struct (field (mut i32)) (field i8) (field (mut i16)) (field anyref)))
           (type $a (array (mut i8)))
           (type $ai (array i32))
           (type $ar (array (mut funcref)))
           (data $d \"abc\")
           (elem $e func)
           {body})"
    )
}

#[test]
fn struct_fields_are_read_and_written_by_their_rules() {
    valid(&with_types(
        "(func (param (ref $s)) (result i32) (struct.get $s 0 (local.get 0)))",
    ));
    valid(&with_types(
        "(func (param (ref null $s)) (result i32) (struct.get_s $s 1 (local.get 0)))",
    ));
    valid(&with_types(
        "(func (param (ref $s)) (struct.set $s 2 (local.get 0) (i32.const 7)))",
    ));
    // A packed field needs `_s` or `_u`; another field must not have it.
    invalid(
        &with_types("(func (param (ref $s)) (result i32) (struct.get $s 1 (local.get 0)))"),
        "type mismatch",
    );
    invalid(
        &with_types("(func (param (ref $s)) (result i32) (struct.get_u $s 0 (local.get 0)))"),
        "type mismatch",
    );
    invalid(
        &with_types("(func (param (ref $s)) (struct.set $s 1 (local.get 0) (i32.const 7)))"),
        "immutable field",
    );
    invalid(
        &with_types("(func (param (ref $s)) (result i32) (struct.get $s 9 (local.get 0)))"),
        "unknown field",
    );
    // The operand must be of the struct type, or a subtype.
    invalid(
        &with_types("(func (param (ref $a)) (result i32) (struct.get $s 0 (local.get 0)))"),
        "type mismatch",
    );
    // An array type is not a struct type.
    invalid(
        &with_types("(func (result (ref $a)) (struct.new_default $a))"),
        "type mismatch",
    );
}

#[test]
fn struct_new_takes_every_field_unpacked() {
    valid(&with_types(
        "(func (result (ref $s))
           (struct.new $s (i32.const 1) (i32.const 2) (i32.const 3) (ref.null none)))",
    ));
    invalid(
        &with_types("(func (result (ref $s)) (struct.new $s (i32.const 1)))"),
        "type mismatch",
    );
    valid(&with_types(
        "(func (result (ref $s)) (struct.new_default $s))",
    ));
    // A non-nullable field has no default.
    invalid(
        "(module (type $t (struct (field (ref any)))) (func (drop (struct.new_default $t))))",
        "type mismatch",
    );
}

#[test]
fn arrays_check_mutability_elements_and_segments() {
    valid(&with_types(
        "(func (param (ref $a)) (array.set $a (local.get 0) (i32.const 0) (i32.const 1)))",
    ));
    invalid(
        &with_types(
            "(func (param (ref $ai)) (array.set $ai (local.get 0) (i32.const 0) (i32.const 1)))",
        ),
        "immutable array",
    );
    invalid(
        &with_types(
            "(func (param (ref $ai)) (array.fill $ai (local.get 0) (i32.const 0) (i32.const 1) (i32.const 1)))",
        ),
        "immutable array",
    );
    valid(&with_types(
        "(func (param (ref $a) (ref $a))
           (array.copy $a $a (local.get 0) (i32.const 0) (local.get 1) (i32.const 0) (i32.const 1)))",
    ));
    invalid(
        &with_types(
            "(func (param (ref $a) (ref $ai))
               (array.copy $a $ai (local.get 0) (i32.const 0) (local.get 1) (i32.const 0) (i32.const 1)))",
        ),
        "array types do not match",
    );
    valid(&with_types(
        "(func (result (ref $a)) (array.new_data $a $d (i32.const 0) (i32.const 3)))",
    ));
    invalid(
        &with_types(
            "(func (result (ref $ar)) (array.new_data $ar $d (i32.const 0) (i32.const 3)))",
        ),
        "array type is not numeric or vector",
    );
    valid(&with_types(
        "(func (result (ref $ar)) (array.new_elem $ar $e (i32.const 0) (i32.const 0)))",
    ));
    invalid(
        &with_types("(func (result (ref $a)) (array.new_elem $a $e (i32.const 0) (i32.const 0)))"),
        "type mismatch",
    );
    valid(&with_types(
        "(func (param (ref $a)) (result i32) (array.get_u $a (local.get 0) (i32.const 0)))",
    ));
    invalid(
        &with_types(
            "(func (param (ref $a)) (result i32) (array.get $a (local.get 0) (i32.const 0)))",
        ),
        "type mismatch",
    );
    valid(&with_types(
        "(func (param arrayref) (result i32) (array.len (local.get 0)))",
    ));
    invalid(
        &with_types("(func (param structref) (result i32) (array.len (local.get 0)))"),
        "type mismatch",
    );
    valid(&with_types(
        "(func (result (ref $ai)) (array.new_fixed $ai 2 (i32.const 1) (i32.const 2)))",
    ));
}

#[test]
fn subtypes_match_their_supertypes_structurally() {
    // Width and depth: more fields, immutable fields of a subtype.
    valid(
        "(module
           (type $a (sub (struct (field anyref))))
           (type $b (sub $a (struct (field eqref) (field i32)))))",
    );
    // A mutable field is invariant.
    invalid(
        "(module
           (type $a (sub (struct (field (mut anyref)))))
           (type $b (sub $a (struct (field (mut eqref))))))",
        "sub type",
    );
    // Kinds must agree.
    invalid(
        "(module (type $a (sub (array i32))) (type $b (sub $a (struct (field i32)))))",
        "sub type",
    );
    // A final type has no subtypes.
    invalid(
        "(module (type $a (struct)) (type $b (sub $a (struct))))",
        "sub type",
    );
    // A struct type is below `struct`, `eq` and `any`, not `func` or `array`.
    valid(
        "(module (type $s (struct))
           (func (param (ref $s)) (result eqref) (local.get 0)))",
    );
    invalid(
        "(module (type $s (struct))
           (func (param (ref $s)) (result arrayref) (local.get 0)))",
        "type mismatch",
    );
    // `none` is below every struct type; `nofunc` is not.
    valid("(module (type $s (struct)) (func (result (ref null $s)) (ref.null none)))");
    invalid(
        "(module (type $s (struct)) (func (result (ref null $s)) (ref.null nofunc)))",
        "type mismatch",
    );
}

#[test]
fn casts_stay_inside_one_hierarchy() {
    valid("(module (func (param anyref) (result i32) (ref.test i31ref (local.get 0))))");
    valid("(module (func (param eqref) (result (ref i31)) (ref.cast (ref i31) (local.get 0))))");
    invalid(
        "(module (func (param externref) (result i32) (ref.test i31ref (local.get 0))))",
        "type mismatch",
    );
    // br_on_cast: the target type must match the operand's.
    valid(
        "(module (func (param anyref) (result anyref)
           (block $l (result i31ref) (br_on_cast $l anyref i31ref (local.get 0)) (return))))",
    );
    invalid(
        "(module (func (param i31ref) (result anyref)
           (block $l (result anyref) (br_on_cast $l i31ref anyref (local.get 0)) (return))))",
        "type mismatch",
    );
    // On failure the label gets the operand's type, non-null if the target
    // was nullable.
    valid(
        "(module (func (param anyref) (result anyref)
           (block $l (result (ref any)) (br_on_cast_fail $l anyref (ref null i31) (local.get 0)) (return))))",
    );
    invalid(
        "(module (func (param anyref) (result anyref)
           (block $l (result (ref any)) (br_on_cast_fail $l anyref (ref i31) (local.get 0)) (return))))",
        "type mismatch",
    );
}

#[test]
fn i31_eq_and_conversions() {
    valid("(module (func (result i32) (i31.get_s (ref.i31 (i32.const 5)))))");
    valid("(module (func (param eqref eqref) (result i32) (ref.eq (local.get 0) (local.get 1))))");
    invalid(
        "(module (func (param anyref anyref) (result i32) (ref.eq (local.get 0) (local.get 1))))",
        "type mismatch",
    );
    valid(
        "(module (func (param (ref extern)) (result (ref any)) (any.convert_extern (local.get 0))))",
    );
    invalid(
        "(module (func (param externref) (result (ref any)) (any.convert_extern (local.get 0))))",
        "type mismatch",
    );
    valid("(module (func (param anyref) (result externref) (extern.convert_any (local.get 0))))");
}

#[test]
fn gc_constant_expressions() {
    valid(
        "(module (type $s (struct (field i32)))
           (global (ref $s) (struct.new $s (i32.const 1)))
           (global (ref i31) (ref.i31 (i32.const 2)))
           (global externref (extern.convert_any (ref.null any))))",
    );
    valid(
        "(module (type $a (array i8))
           (global (ref $a) (array.new_fixed $a 2 (i32.const 1) (i32.const 2))))",
    );
    invalid(
        "(module (type $s (struct (field (mut i32))))
           (global i32 (struct.get $s 0 (struct.new_default $s))))",
        "constant expression required",
    );
}

#[test]
fn function_types_stay_where_functions_need_them() {
    invalid(
        "(module (type $s (struct)) (func (type $s)))",
        "type mismatch",
    );
    invalid(
        "(module (type $s (struct)) (table 1 funcref)
           (func (call_indirect (type $s) (i32.const 0))))",
        "type mismatch",
    );
}

#[test]
fn gc_is_a_feature_of_its_own() {
    let bytes = wat::parse_str("(module (type (struct)))").expect("well-formed");
    let err = kiln_parser::parse(&bytes, Features::ALL).expect_err("GC is off in ALL");
    assert_eq!(
        err.kind(),
        kiln_parser::ParseErrorKind::Unsupported { proposal: "gc" }
    );
    let info = kiln(&bytes).expect("valid with GC");
    assert!(info.uses_gc);
}

/// The one function of `wat`'s roots, validated with GC on.
fn roots_of(wat: &str) -> kiln_validator::GcRoots {
    let bytes = wat::parse_str(wat).expect("well-formed");
    let mut info = kiln(&bytes).expect("valid");
    let f = info.funcs.pop().expect("a function");
    *f.gc_roots.expect("recorded with GC on")
}

#[test]
fn roots_are_the_values_that_may_be_gc_objects_at_each_safepoint() {
    let roots = roots_of(
        "(module
           (type $s (struct (field externref)))
           (func $g (param i32))
           (func (param anyref i32 funcref) (local externref eqref f64 exnref)
             (local.get 0)          ;; 0: anyref, slot 0
             (local.get 2)          ;; 1: funcref, slot 1
             (drop)                 ;; 2
             (local.get 3)          ;; 3: externref, slot 1
             (i32.const 1)          ;; 4: slot 2
             (call $g)              ;; 5: a safepoint: slots 0 and 1
             (struct.new $s)        ;; 6: a safepoint: slots 0 and 1 (its operand)
             (drop)
             (drop)))",
    );
    // anyref, externref and eqref locals; not i32, funcref, f64 or exnref.
    assert_eq!(&*roots.locals, &[0, 3, 4]);
    let points: Vec<(u32, Vec<u32>)> = roots
        .safepoints
        .iter()
        .map(|p| (p.instr, p.slots.to_vec()))
        .collect();
    assert_eq!(points, [(5, vec![0, 1]), (6, vec![0, 1])]);
}

#[test]
fn concrete_types_count_by_their_hierarchy() {
    let roots = roots_of(
        "(module
           (type $f (func))
           (type $a (array i8))
           (func (param (ref null $f) (ref $a))
             (array.new_default $a (i32.const 1))
             (drop)))",
    );
    assert_eq!(&*roots.locals, &[1]);
    assert_eq!(roots.safepoints.len(), 1);
    assert!(roots.safepoints[0].slots.is_empty());
}

#[test]
fn no_roots_are_recorded_without_gc() {
    let bytes = wat::parse_str("(module (func (param externref) (call 0 (local.get 0))))")
        .expect("well-formed");
    let module = kiln_parser::parse(&bytes, Features::ALL).expect("parses");
    let info = kiln_validator::validate(&module, Features::ALL).expect("valid");
    assert!(info.funcs[0].gc_roots.is_none());
}

/// Regression (the `gc_validate` target's first finding): `array.new_fixed`
/// has no operand limit of its own, as in `wasmparser`; in unreachable code
/// its count may be 2^32 - 1 and is not looped over.
#[test]
fn array_new_fixed_takes_any_count_in_unreachable_code() {
    valid(
        "(module (type $a (array i32))
           (func (result (ref $a)) (unreachable) (array.new_fixed $a 4294967295)))",
    );
    valid(
        "(module (type $a (array i32))
           (func (result (ref $a)) (unreachable) (i32.const 1) (array.new_fixed $a 100000)))",
    );
    invalid(
        "(module (type $a (array i32))
           (func (result (ref $a)) (i32.const 1) (array.new_fixed $a 2)))",
        "type mismatch",
    );
    invalid(
        "(module (type $a (array i32))
           (global (ref $a) (array.new_fixed $a 3 (i32.const 1) (i32.const 2))))",
        "type mismatch",
    );
}
