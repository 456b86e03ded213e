;; Fibonacci numbers, iteratively: fib(0) = 0, fib(1) = 1, fib(90) = 2880067194370816120.
;;
;;   kiln validate examples/fib.wat
(module
  (func $fib (export "fib") (param $n i64) (result i64)
    (local $a i64) ;; fib(i)
    (local $b i64) ;; fib(i + 1)
    (local $t i64)
    (local.set $b (i64.const 1))
    (block $done
      (loop $next
        ;; while n != 0: (a, b) = (b, a + b); n -= 1
        (br_if $done (i64.eqz (local.get $n)))
        (local.set $t (i64.add (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $next)))
    (local.get $a)))
