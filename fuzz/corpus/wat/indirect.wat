;; call_indirect: a loop that calls one of eight small functions through a
;; table, picked from the running value so the target changes unpredictably.
;; The callees do a couple of operations each, so this measures the indirect
;; call path: table lookup, signature check, frame setup and return.
;; Checksum: the final running value.
(module
  (type $step (func (param i32 i32) (result i32)))
  (table 8 funcref)
  (elem (i32.const 0) $add $sub $mix $mul31 $rotl $shr $flip $lcg)

  (func $add (type $step) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $step) (i32.sub (local.get 0) (local.get 1)))
  (func $mix (type $step) (i32.xor (local.get 0) (i32.mul (local.get 1) (i32.const 0x9e3779b9))))
  (func $mul31 (type $step) (i32.add (i32.mul (local.get 0) (i32.const 31)) (local.get 1)))
  (func $rotl (type $step) (i32.xor (i32.rotl (local.get 0) (i32.const 5)) (local.get 1)))
  (func $shr (type $step) (i32.add (i32.shr_u (local.get 0) (i32.const 3)) (local.get 1)))
  (func $flip (type $step) (i32.xor (local.get 0) (i32.const 0x5555_5555)))
  (func $lcg (type $step)
    (i32.add (i32.mul (local.get 0) (i32.const 1664525)) (i32.const 1013904223)))

  (func (export "run") (param $n i32) (result i64)
    (local $i i32) (local $acc i32)
    (local.set $acc (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc
          (call_indirect (type $step)
            (local.get $acc)
            (local.get $i)
            (i32.and
              (i32.xor (local.get $acc) (i32.shr_u (local.get $acc) (i32.const 13)))
              (i32.const 7))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i64.extend_i32_u (local.get $acc))))
