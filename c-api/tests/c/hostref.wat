(module
  (global $g (export "global") (mut externref) (ref.null extern))
  (table $t (export "table") 2 externref)
  (func (export "global.set") (param externref) (global.set $g (local.get 0)))
  (func (export "global.get") (result externref) (global.get $g))
  (func (export "table.set") (param i32 externref) (table.set $t (local.get 0) (local.get 1)))
  (func (export "table.get") (param i32) (result externref) (table.get $t (local.get 0)))
  (func (export "identity") (param externref) (result externref) (local.get 0))
  (func (export "is_null") (param externref) (result i32) (ref.is_null (local.get 0))))
