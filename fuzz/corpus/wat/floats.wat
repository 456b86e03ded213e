(module (func (param f32) (result f32) (f32.copysign (local.get 0) (f32.const -0x1.8p+3))) (type (func)))
