(module (func (result v128) (i32x4.add (v128.const i32x4 1 2 3 4) (v128.const i64x2 -1 0x7f))))
