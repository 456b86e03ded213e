;; Factorial with an accumulator, written as a tail call (the tail-call
;; proposal, which Kiln supports): fac(20) = 2432902008176640000.
;;
;;   kiln validate examples/fac.wat          # valid
;;   kiln validate --wasm2 examples/fac.wat  # rejected: tail-call is not in 2.0
(module
  (func $fac (export "fac") (param $n i64) (result i64)
    (return_call $fac_acc (local.get $n) (i64.const 1)))

  ;; fac_acc(n, acc) = acc * n!
  (func $fac_acc (param $n i64) (param $acc i64) (result i64)
    (if (result i64) (i64.le_u (local.get $n) (i64.const 1))
      (then (local.get $acc))
      (else
        (return_call $fac_acc
          (i64.sub (local.get $n) (i64.const 1))
          (i64.mul (local.get $n) (local.get $acc)))))))
