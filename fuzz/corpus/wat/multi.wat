(module
  (func $swap (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
  (func (export "run") (result i64 i32)
    (call $swap (i32.const 1) (i64.const 2)))
  (func (param externref) (result i32) (ref.is_null (local.get 0)))
  (start 1))
