(module
  (func $log (import "" "log") (param i32))
  (global $fail (import "" "fail") i32)
  (global $count (export "count") (mut i32) (i32.const 0))
  (func $start
    (global.set $count (i32.add (global.get $count) (i32.const 41)))
    (call $log (global.get $count))
    (if (global.get $fail) (then unreachable)))
  (start $start))
