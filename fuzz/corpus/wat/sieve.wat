;; Memory: a sieve of Eratosthenes in linear memory. The buffer is filled with
;; i64 stores, primes below n are sieved with byte loads and stores, then the
;; result is read back by a byte loop (i64.load8_u) and a word loop (i32.load).
;; Stresses loads and stores of several widths and their bounds checks.
;; n may be at most 4 MiB (the memory's size). Checksum: the sum of the primes
;; below n, xor the FNV-1a-style hash of the sieve's words in the high half.
(module
  (memory 64)

  (func (export "run") (param $n i32) (result i64)
    (local $i i32) (local $j i32) (local $sum i64) (local $hash i32)
    ;; Mark every number as a candidate, eight bytes per store.
    (block $filled
      (loop $fill
        (br_if $filled (i32.ge_u (local.get $i) (local.get $n)))
        (i64.store (local.get $i) (i64.const 0x0101010101010101))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $fill)))
    ;; 0 and 1 are not prime.
    (i32.store16 (i32.const 0) (i32.const 0))
    ;; Cross out the multiples of each prime i, from i * i on.
    (local.set $i (i32.const 2))
    (block $sieved
      (loop $next_prime
        (br_if $sieved (i32.ge_u (i32.mul (local.get $i) (local.get $i)) (local.get $n)))
        (if (i32.load8_u (local.get $i))
          (then
            (local.set $j (i32.mul (local.get $i) (local.get $i)))
            (block $crossed
              (loop $cross
                (br_if $crossed (i32.ge_u (local.get $j) (local.get $n)))
                (i32.store8 (local.get $j) (i32.const 0))
                (local.set $j (i32.add (local.get $j) (local.get $i)))
                (br $cross)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next_prime)))
    ;; Byte loop: add up the primes.
    (local.set $i (i32.const 0))
    (block $summed
      (loop $sum_byte
        (br_if $summed (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $sum
          (i64.add (local.get $sum)
            (i64.mul (i64.load8_u (local.get $i)) (i64.extend_i32_u (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $sum_byte)))
    ;; Word loop: hash the sieve four bytes at a time. The fill loop wrote
    ;; whole words past n, so the last partial word is defined.
    (local.set $hash (i32.const 0x811c9dc5))
    (local.set $i (i32.const 0))
    (block $hashed
      (loop $hash_word
        (br_if $hashed (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $hash
          (i32.mul (i32.xor (local.get $hash) (i32.load (local.get $i))) (i32.const 0x01000193)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $hash_word)))
    (i64.xor (local.get $sum) (i64.shl (i64.extend_i32_u (local.get $hash)) (i64.const 32)))))
