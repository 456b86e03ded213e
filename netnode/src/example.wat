;; The example module of `kiln-node demo` and the tests. It imports only the
;; node's deterministic host API.
(module
  (import "kiln" "input_len" (func $input_len (result i32)))
  (import "kiln" "input_read" (func $input_read (param i32 i32 i32) (result i32)))
  (import "kiln" "output_write" (func $output_write (param i32 i32)))
  (memory (export "memory") 1)

  ;; The n-th Fibonacci number, iteratively (wrapping past i64).
  (func (export "fib") (param $n i64) (result i64)
    (local $a i64) (local $b i64) (local $t i64)
    (local.set $b (i64.const 1))
    (block $done
      (loop $next
        (br_if $done (i64.eqz (local.get $n)))
        (local.set $t (i64.add (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $next)))
    (local.get $a))

  ;; Writes the input (up to 32 KiB) reversed to the output; returns its length.
  (func (export "reverse") (result i32)
    (local $len i32) (local $i i32)
    (local.set $len (call $input_read (i32.const 0) (i32.const 0) (i32.const 32768)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (i32.store8
          (i32.sub (i32.add (i32.const 32768) (local.get $len))
                   (i32.add (local.get $i) (i32.const 1)))
          (i32.load8_u (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $output_write (i32.const 32768) (local.get $len))
    (local.get $len))

  ;; sqrt(-1): a NaN, canonical on every node and tier.
  (func (export "nan") (result f64)
    (f64.sqrt (f64.const -1)))

  ;; Never ends; fuel stops it.
  (func (export "spin") (loop $l (br $l)))

  ;; Grows memory by `pages` until it fails; returns how many times it grew.
  (func (export "bomb") (param $pages i32) (result i32)
    (local $n i32)
    (block $full
      (loop $grow
        (br_if $full (i32.eq (memory.grow (local.get $pages)) (i32.const -1)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $grow)))
    (local.get $n))

  ;; Recurses without end.
  (func $deep (export "deep") (param $n i64) (result i64)
    (i64.add (call $deep (i64.add (local.get $n) (i64.const 1))) (i64.const 1)))

  ;; Reads past the end of memory.
  (func (export "oob") (result i32)
    (i32.load (i32.const 65536))))
