;; br_table: a bytecode interpreter written in WebAssembly. Its dispatch loop
;; reads one opcode byte from memory and jumps to the handler with br_table,
;; as compiled interpreters do. The program (a data segment) runs its loop
;; body n times, about eight guest instructions per trip. Checksum: the
;; accumulator at `halt`.
;;
;; Opcodes: 0 halt, 1 inc x, 2 acc += x, 3 acc ^= acc << 7, 4 k: acc *= k,
;; 5 acc ^= acc >> 9, 6 t: if --n != 0 jump to t, 7 if x % 4 == 0: acc += 0x1234.
(module
  (memory 1)
  ;; 0: inc; 1: add; 2: muli 31; 4: cond; 5: shl_xor; 6: shr_xor; 7: loop 0; 9: halt
  (data (i32.const 0) "\01\02\04\1f\07\03\05\06\00\00")

  (func (export "run") (param $n i32) (result i64)
    (local $pc i32) (local $op i32) (local $acc i32) (local $x i32)
    (local.set $acc (i32.const 1))
    (loop $next
      (block $cond
        (block $loop
          (block $shr_xor
            (block $muli
              (block $shl_xor
                (block $add
                  (block $inc
                    (block $halt
                      (local.set $op (i32.load8_u (local.get $pc)))
                      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
                      (br_table $halt $inc $add $shl_xor $muli $shr_xor $loop $cond $halt
                        (local.get $op)))
                    ;; 0: halt
                    (return (i64.extend_i32_u (local.get $acc))))
                  ;; 1: inc
                  (local.set $x (i32.add (local.get $x) (i32.const 1)))
                  (br $next))
                ;; 2: add
                (local.set $acc (i32.add (local.get $acc) (local.get $x)))
                (br $next))
              ;; 3: shl_xor
              (local.set $acc (i32.xor (local.get $acc) (i32.shl (local.get $acc) (i32.const 7))))
              (br $next))
            ;; 4 k: muli
            (local.set $acc (i32.mul (local.get $acc) (i32.load8_u (local.get $pc))))
            (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
            (br $next))
          ;; 5: shr_xor
          (local.set $acc (i32.xor (local.get $acc) (i32.shr_u (local.get $acc) (i32.const 9))))
          (br $next))
        ;; 6 t: loop
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (if (local.get $n)
          (then (local.set $pc (i32.load8_u (local.get $pc))))
          (else (local.set $pc (i32.add (local.get $pc) (i32.const 1)))))
        (br $next))
      ;; 7: cond
      (if (i32.eqz (i32.and (local.get $x) (i32.const 3)))
        (then (local.set $acc (i32.add (local.get $acc) (i32.const 0x1234)))))
      (br $next))
    (unreachable)))
