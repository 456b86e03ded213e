(module
  (func $fail (import "" "fail") (result i32))
  (func (export "callback") (result i32) (call $fail))
  (func (export "unreachable") (result i32) (unreachable))
  (func (export "divide") (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1)))
  (func $deep (export "recurse") (call $deep)))
