(module
  (import "env" "host" (func (param i32 f64) (result i64)))
  (import "env" "limit" (global (mut i32)))
  (func (export "func") (param i32 f64 f32) (result i32) (i32.const 0))
  (global (export "global") f64 (f64.const 0))
  (table (export "table") 0 50 funcref)
  (memory (export "memory") 1)
  (func (export "ref") (param externref funcref) (result externref) (local.get 0)))
