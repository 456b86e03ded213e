;; Integer loop: the Collatz stopping times of 1..=n. A tight nested loop over
;; locals with i64 arithmetic (and, shift, multiply, add) and a data-dependent
;; branch every step; no memory and no calls. Checksum: the sum of
;; steps(i) * i over 1..=n.
(module
  (func (export "run") (param $n i32) (result i64)
    (local $i i64) (local $last i64) (local $x i64) (local $steps i64) (local $total i64)
    (local.set $last (i64.extend_i32_u (local.get $n)))
    (local.set $i (i64.const 1))
    (block $done
      (loop $next_i
        (br_if $done (i64.gt_u (local.get $i) (local.get $last)))
        (local.set $x (local.get $i))
        (local.set $steps (i64.const 0))
        (block $reached_one
          (loop $step
            (br_if $reached_one (i64.eq (local.get $x) (i64.const 1)))
            (if (i64.eqz (i64.and (local.get $x) (i64.const 1)))
              (then (local.set $x (i64.shr_u (local.get $x) (i64.const 1))))
              (else (local.set $x (i64.add (i64.mul (local.get $x) (i64.const 3)) (i64.const 1)))))
            (local.set $steps (i64.add (local.get $steps) (i64.const 1)))
            (br $step)))
        (local.set $total (i64.add (local.get $total) (i64.mul (local.get $steps) (local.get $i))))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next_i)))
    (local.get $total)))
