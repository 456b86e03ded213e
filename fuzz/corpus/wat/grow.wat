(module (memory 1) (func (export "grow") (result i32) (memory.grow (i32.const 1))) (data (i32.const 0) "\ff"))
