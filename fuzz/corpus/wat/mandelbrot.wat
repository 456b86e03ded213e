;; f64 arithmetic: the Mandelbrot set on an n-by-n grid over
;; [-2, 0.5] x [-1.25, 1.25], at most 64 iterations a point. The inner loop is
;; f64 multiply, add, subtract and compare on locals; the outer loops convert
;; integers to f64. Checksum: the total iteration count.
(module
  (func (export "run") (param $n i32) (result i64)
    (local $px i32) (local $py i32) (local $k i32) (local $total i64)
    (local $scale f64) (local $cx f64) (local $cy f64)
    (local $zx f64) (local $zy f64) (local $zx2 f64) (local $zy2 f64)
    (local.set $scale (f64.div (f64.const 2.5) (f64.convert_i32_u (local.get $n))))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $py) (local.get $n)))
        (local.set $cy
          (f64.sub (f64.mul (f64.convert_i32_u (local.get $py)) (local.get $scale)) (f64.const 1.25)))
        (local.set $px (i32.const 0))
        (block $cols_done
          (loop $col
            (br_if $cols_done (i32.ge_u (local.get $px) (local.get $n)))
            (local.set $cx
              (f64.sub (f64.mul (f64.convert_i32_u (local.get $px)) (local.get $scale)) (f64.const 2)))
            (local.set $zx (f64.const 0))
            (local.set $zy (f64.const 0))
            (local.set $k (i32.const 0))
            (block $escaped
              (loop $iterate
                (local.set $zx2 (f64.mul (local.get $zx) (local.get $zx)))
                (local.set $zy2 (f64.mul (local.get $zy) (local.get $zy)))
                (br_if $escaped (f64.gt (f64.add (local.get $zx2) (local.get $zy2)) (f64.const 4)))
                (local.set $zy
                  (f64.add (f64.mul (f64.mul (f64.const 2) (local.get $zx)) (local.get $zy))
                    (local.get $cy)))
                (local.set $zx (f64.add (f64.sub (local.get $zx2) (local.get $zy2)) (local.get $cx)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br_if $iterate (i32.lt_u (local.get $k) (i32.const 64)))))
            (local.set $total (i64.add (local.get $total) (i64.extend_i32_u (local.get $k))))
            (local.set $px (i32.add (local.get $px) (i32.const 1)))
            (br $col)))
        (local.set $py (i32.add (local.get $py) (i32.const 1)))
        (br $row)))
    (local.get $total)))
