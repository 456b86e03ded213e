//! The verifier accepts what the translator makes and rejects each kind of
//! corruption of it, naming the op and what is wrong.

use std::sync::Arc;

use kiln_parser::Features;
use kiln_runtime::{CompileError, CompileOptions};

use super::{ModuleShape, verify};
use crate::bytecode::Op;
use crate::{CompiledFunc, CompiledModule};

/// A module with an import, a memory, a table, a global, a tag, a data and
/// an element segment, and functions using each of them.
const MODULE: &str = r#"(module
  (import "env" "f" (func $imp (param i32) (result i32)))
  (type $t (func (param i32) (result i32)))
  (memory 1)
  (table 2 funcref)
  (global $g (mut i32) (i32.const 0))
  (tag $e (param i32 i32))
  (data $d "hi")
  (elem $el func $f0)
  (func $f0 (param i32) (result i32)
    (local i32)
    (local.set 1 (i32.add (local.get 0) (global.get $g)))
    (global.set $g (local.get 1))
    (block $b
      (br_if $b (i32.eqz (local.get 0)))
      (local.set 1 (call_indirect (type $t) (local.get 1) (i32.const 0))))
    (drop (memory.size))
    (drop (table.size))
    (i32.store (local.get 0) (local.get 1))
    (local.get 1))
  (func $f1 (param i32) (result i32)
    (block (block (br_table 0 1 (local.get 0))))
    (call $imp (local.get 0)))
  (func $f2 (result i32)
    (block $h (result i32 i32)
      (try_table (catch $e $h) (throw $e (i32.const 1) (i32.const 2)))
      (unreachable))
    (i32.add)))"#;

fn compile_with(bytes: &[u8], options: CompileOptions) -> CompiledModule {
    let module = kiln_parser::parse(bytes, Features::ALL).expect("parse");
    let info = kiln_validator::validate(&module, Features::ALL).expect("valid");
    CompiledModule::new(Arc::new(module), Arc::new(info), options).expect("new")
}

fn compile(wat: &str) -> CompiledModule {
    let bytes = wat::parse_str(wat).expect("well-formed text");
    compile_with(&bytes, CompileOptions::default())
}

/// Own function `def_index` of `m`, translated (and verified), as a copy to corrupt.
fn func(m: &CompiledModule, def_index: u32) -> CompiledFunc {
    (*m.func(def_index).expect("verified")).clone()
}

fn check(m: &CompiledModule, def_index: u32, f: &CompiledFunc) -> Result<(), CompileError> {
    let module = m.module();
    verify(
        f,
        module.num_imported_funcs + def_index,
        &ModuleShape::of(module),
    )
}

/// The index of the first op of `f` that `pred` accepts.
fn find(f: &CompiledFunc, pred: impl Fn(&Op) -> bool) -> usize {
    f.code.iter().position(pred).expect("the op is there")
}

/// Asserts that `f` (own function `def_index` of `m`) is rejected at op
/// `op_index` with the message `what`.
#[track_caller]
fn assert_rejected(
    m: &CompiledModule,
    def_index: u32,
    f: &CompiledFunc,
    op_index: Option<usize>,
    what: &str,
) {
    match check(m, def_index, f) {
        Err(CompileError::InvalidBytecode {
            func,
            op_index: at,
            what: message,
        }) => {
            assert_eq!(func, m.module().num_imported_funcs + def_index);
            assert_eq!(at, op_index.map(|i| i as u32), "{message}");
            assert_eq!(&*message, what);
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn translated_functions_pass() {
    let m = compile(MODULE);
    m.translate_all().expect("every function verifies");
    for i in 0..3 {
        check(&m, i, &func(&m, i)).expect("verifies again");
    }
}

#[test]
fn a_register_at_the_frame_size_is_rejected() {
    let m = compile(MODULE);
    let mut f = func(&m, 0);
    let at = find(&f, |op| matches!(op, Op::I32Add { .. }));
    let fs = f.frame_size;
    f.code[at].set_dst(fs - 1);
    check(&m, 0, &f).expect("the last register of the frame is fine");
    f.code[at].set_dst(fs);
    let what = format!("register {fs} (`dst`) is not below the frame size {fs}");
    assert_rejected(&m, 0, &f, Some(at), &what);
}

#[test]
fn a_call_whose_arguments_reach_past_the_frame_is_rejected() {
    let m = compile(MODULE);
    let mut f = func(&m, 1);
    let at = find(&f, |op| matches!(op, Op::Call { .. }));
    let Op::Call { func: callee, .. } = f.code[at] else {
        unreachable!()
    };
    let fs = f.frame_size;
    f.code[at] = Op::Call {
        func: callee,
        args: fs - 1,
    };
    check(&m, 1, &f).expect("one argument (and result) in the last register");
    f.code[at] = Op::Call {
        func: callee,
        args: fs,
    };
    let what = format!("register {fs} (`args`) is not below the frame size {fs}");
    assert_rejected(&m, 1, &f, Some(at), &what);
}

#[test]
fn a_jump_out_of_the_function_is_rejected() {
    let m = compile(MODULE);
    let mut f = func(&m, 0);
    let at = find(&f, |op| op.target().is_some());
    let len = f.code.len();
    f.code[at].set_target(len as u32 - 1);
    check(&m, 0, &f).expect("the last op is a target like any other");
    f.code[at].set_target(len as u32);
    let what = format!("jump target {len} (`target`) is not below the code length {len}");
    assert_rejected(&m, 0, &f, Some(at), &what);
}

#[test]
fn a_br_table_running_past_the_code_is_rejected() {
    let m = compile(MODULE);
    let mut f = func(&m, 1);
    let at = find(&f, |op| matches!(op, Op::BrTable { .. }));
    let Op::BrTable { index, len } = f.code[at] else {
        unreachable!()
    };
    assert_eq!(len, 1, "one target and the default");
    let mut long = f.clone();
    long.code[at] = Op::BrTable {
        index,
        len: f.code.len() as u32,
    };
    let (last, n) = (at + 1 + long.code.len(), long.code.len());
    let what = format!("jump target {last} (`len`) is not below the code length {n}");
    assert_rejected(&m, 1, &long, Some(at), &what);
    f.code[at + 2] = Op::Nop;
    assert_rejected(&m, 1, &f, Some(at), "a `BrTable` entry is not a `Br`");
}

#[test]
fn a_side_table_index_out_of_range_is_rejected() {
    let m = compile(MODULE);
    let mut f = func(&m, 0);
    let at = find(&f, |op| matches!(op, Op::CallIndirect { .. }));
    let Op::CallIndirect { index, args, .. } = f.code[at] else {
        unreachable!()
    };
    assert_eq!(f.indirect.len(), 1);
    f.code[at] = Op::CallIndirect {
        index,
        args,
        site: 1,
    };
    let what = "`indirect` entry 1 is out of range (the function has 1)";
    assert_rejected(&m, 0, &f, Some(at), what);

    let mut f = func(&m, 0);
    f.indirect[0].0 = 1;
    let what = "table index 1 is out of range (the module has 1)";
    assert_rejected(&m, 0, &f, None, what);
}

#[test]
fn module_indices_out_of_range_are_rejected() {
    let m = compile(MODULE);
    let f = func(&m, 0);

    let mut g = f.clone();
    let at = find(&g, |op| matches!(op, Op::GlobalGet { .. }));
    let Op::GlobalGet { dst, .. } = g.code[at] else {
        unreachable!()
    };
    g.code[at] = Op::GlobalGet { dst, global: 1 };
    let what = "global index 1 is out of range (the module has 1)";
    assert_rejected(&m, 0, &g, Some(at), what);

    let mut g = f.clone();
    let at = find(&g, |op| matches!(op, Op::MemorySize { .. }));
    let Op::MemorySize { dst, .. } = g.code[at] else {
        unreachable!()
    };
    g.code[at] = Op::MemorySize { dst, mem: 1 };
    let what = "memory index 1 is out of range (the module has 1)";
    assert_rejected(&m, 0, &g, Some(at), what);

    let mut g = f.clone();
    let at = find(&g, |op| matches!(op, Op::TableSize { .. }));
    let Op::TableSize { dst, .. } = g.code[at] else {
        unreachable!()
    };
    g.code[at] = Op::TableSize { dst, table: 1 };
    let what = "table index 1 is out of range (the module has 1)";
    assert_rejected(&m, 0, &g, Some(at), what);

    let mut g = func(&m, 1);
    let at = find(&g, |op| matches!(op, Op::Call { .. }));
    let Op::Call { args, .. } = g.code[at] else {
        unreachable!()
    };
    g.code[at] = Op::Call { func: 4, args };
    let what = "function index 4 is out of range (the module has 4)";
    assert_rejected(&m, 1, &g, Some(at), what);

    let mut g = func(&m, 2);
    let at = find(&g, |op| matches!(op, Op::Throw { .. }));
    let Op::Throw { args, .. } = g.code[at] else {
        unreachable!()
    };
    g.code[at] = Op::Throw { tag: 1, args };
    let what = "tag index 1 is out of range (the module has 1)";
    assert_rejected(&m, 2, &g, Some(at), what);
}

#[test]
fn bulk_segment_indices_out_of_range_are_rejected() {
    let m = compile(
        r#"(module (memory 1) (table 1 funcref) (data $d "x") (elem $e func)
            (func (memory.init $d (i32.const 0) (i32.const 0) (i32.const 1)) (data.drop $d)
                  (table.init $e (i32.const 0) (i32.const 0) (i32.const 0)) (elem.drop $e)))"#,
    );
    let f = func(&m, 0);
    let corrupt = |pred: fn(&Op) -> bool, new: &dyn Fn(Op) -> Op, what: &str| {
        let mut g = f.clone();
        let at = find(&g, pred);
        g.code[at] = new(g.code[at]);
        assert_rejected(&m, 0, &g, Some(at), what);
    };
    corrupt(
        |op| matches!(op, Op::MemoryInit { .. }),
        &|op| match op {
            Op::MemoryInit { args, mem, .. } => Op::MemoryInit { args, mem, data: 1 },
            other => other,
        },
        "data segment index 1 is out of range (the module has 1)",
    );
    corrupt(
        |op| matches!(op, Op::ElemDrop { .. }),
        &|_| Op::ElemDrop { elem: 2 },
        "element segment index 2 is out of range (the module has 1)",
    );
    corrupt(
        |op| matches!(op, Op::MemoryInit { .. }),
        &|op| match op {
            Op::MemoryInit { mem, data, .. } => Op::MemoryInit {
                args: f.frame_size - 2,
                mem,
                data,
            },
            other => other,
        },
        &format!(
            "registers {}..{} (`args`) are not all below the frame size {}",
            f.frame_size - 2,
            f.frame_size + 1,
            f.frame_size
        ),
    );
}

#[test]
fn a_frame_set_up_past_the_frame_is_rejected() {
    let m = compile(MODULE);
    let mut f = func(&m, 0);
    let fs = f.frame_size;
    let extra = fs as usize - f.num_params as usize - f.init.len();
    let mut init = f.init.to_vec();
    init.extend(std::iter::repeat_n(0, extra));
    f.init = init.into();
    check(&m, 0, &f).expect("`init` may fill the frame");
    let mut init = f.init.to_vec();
    init.push(0);
    f.init = init.into();
    let what = format!(
        "registers 1..{} (`init`) are not all below the frame size {fs}",
        fs + 1
    );
    assert_rejected(&m, 0, &f, None, &what);

    let mut f = func(&m, 0);
    f.init = Box::new([]);
    let what = "`init` is shorter than the declared locals";
    assert_rejected(&m, 0, &f, None, what);
}

#[test]
fn bad_handlers_are_rejected() {
    let m = compile(MODULE);
    let f = func(&m, 2);
    assert_eq!(f.handlers.len(), 1);

    let mut g = f.clone();
    let len = g.code.len();
    g.handlers[0].clauses[0].pad = len as u32;
    let what = format!("jump target {len} (`pad`) is not below the code length {len}");
    assert_rejected(&m, 2, &g, None, &what);

    let mut g = f.clone();
    let fs = g.frame_size;
    g.handlers[0].payload = fs - 1;
    let what = format!(
        "registers {}..{} (`payload`) are not all below the frame size {fs}",
        fs - 1,
        fs + 1
    );
    assert_rejected(&m, 2, &g, None, &what);

    let mut g = f.clone();
    g.handlers[0].end = len as u32 + 1;
    let what = "a handler's range is not inside the code";
    assert_rejected(&m, 2, &g, None, what);
}

#[test]
fn code_that_can_run_off_its_end_is_rejected() {
    let m = compile(MODULE);
    let mut f = func(&m, 0);
    *f.code.last_mut().expect("not empty") = Op::Nop;
    let what = "the code does not end with `Unreachable`";
    assert_rejected(&m, 0, &f, None, what);
}

#[test]
fn the_error_names_the_function_and_the_op() {
    let m = compile(MODULE);
    let mut f = func(&m, 0);
    let at = find(&f, |op| matches!(op, Op::GlobalSet { .. }));
    f.code[at] = Op::GlobalSet { global: 7, src: 0 };
    let e = check(&m, 0, &f).expect_err("rejected");
    assert_eq!(
        e.to_string(),
        format!(
            "internal error: invalid interpreter bytecode in function 1, op {at}: \
             global index 7 is out of range (the module has 1)"
        )
    );
}

/// Every function of the benchmark programs (C compiled with clang and
/// wasi-libc, SIMD builds included) verifies, with each option that changes
/// the code.
#[test]
fn every_function_of_the_bench_programs_passes() {
    macro_rules! programs {
        ($($name:literal)*) => {
            [$(($name, &include_bytes!(concat!("../../../benches/programs/wasm/", $name, ".wasm"))[..]),)*]
        };
    }
    let programs = programs!(
        "dispatch" "fib" "hash" "hash-simd" "large" "mandelbrot" "matmul" "matmul-simd"
        "memops" "memops-simd" "nbody" "nbody-simd" "sort" "strings" "vm" "zstd" "zstd-simd"
    );
    let all_on = CompileOptions {
        fuel: true,
        epoch_interruption: true,
        canonicalize_nans: true,
        ..CompileOptions::default()
    };
    let mut total = 0;
    for (name, bytes) in programs {
        for options in [CompileOptions::default(), all_on] {
            let m = compile_with(bytes, options);
            if let Err(e) = m.translate_all() {
                panic!("{name} ({options:?}): {e}");
            }
            assert!(m.own_funcs().iter().all(|f| f.get().is_some()));
            total += m.own_funcs().len();
        }
    }
    assert!(total > 1000, "{total} functions");
}

/// A catch writes its payload (and exnref) at the `try_table`'s height, which
/// may be above anything its body or its label's block pushes: the frame must
/// hold it all the same.
#[test]
fn a_catch_above_the_body_fits_the_frame() {
    let m = compile(
        r#"(module
          (tag $t (param i32 i32 i32))
          (func $thrower (throw $t (i32.const 1) (i32.const 2) (i32.const 3)))
          (func (result i32)
            (i32.const 9)
            (block $h (result i32 i32 i32 exnref)
              (i32.const 7)
              (i32.const 8)
              (try_table (catch_ref $t $h) (call $thrower))
              (unreachable))
            (drop)
            (drop)
            (drop)
            (drop)))"#,
    );
    m.translate_all().expect("every function verifies");
}

/// A tail call's results go where the caller's go, not at its arguments, and
/// the translator reserves no room for them there: a callee with more results
/// than parameters, tail-called high in a small frame, verifies (found by the
/// differential fuzz target).
#[test]
fn a_tail_call_needs_no_room_for_its_results() {
    let m = compile(
        r#"(module
          (type $t (func (param i32) (result i32 i32 i32)))
          (table 1 funcref)
          (elem (i32.const 0) $f)
          (func $f (type $t) (local.get 0) (local.get 0) (local.get 0))
          (func (type $t)
            (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4)
            (return_call $f (local.get 0)))
          (func (type $t)
            (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4)
            (return_call_indirect (type $t) (local.get 0) (i32.const 0))))"#,
    );
    m.translate_all().expect("every function verifies");
}

/// GC safepoints (the collector reads their registers unchecked): a
/// register past the frame, a safepoint at another op, or out of order, is
/// rejected.
#[test]
fn bad_gc_safepoints_are_rejected() {
    let bytes = wat::parse_str(
        "(module (type $s (struct (field anyref)))
           (func (param anyref) (result anyref)
             (struct.new $s (local.get 0))
             (drop)
             (local.get 0)))",
    )
    .expect("well-formed text");
    let module = kiln_parser::parse(&bytes, Features::ALL_WITH_GC).expect("parse");
    let info = kiln_validator::validate(&module, Features::ALL_WITH_GC).expect("valid");
    let m = CompiledModule::new(Arc::new(module), Arc::new(info), CompileOptions::default())
        .expect("new");
    let good = func(&m, 0);
    assert_eq!(good.safepoints.len(), 1, "struct.new is a safepoint");
    check(&m, 0, &good).expect("verifies");
    let fs = good.frame_size;
    let mut f = good.clone();
    f.safepoints[0].regs = vec![fs].into();
    let what = format!("register {fs} (`safepoint`) is not below the frame size {fs}");
    assert_rejected(&m, 0, &f, None, &what);
    let mut f = good.clone();
    f.safepoints[0].op = 0;
    if !matches!(f.code[0], Op::Gc { .. }) {
        assert_rejected(
            &m,
            0,
            &f,
            None,
            "a GC safepoint is not at a call or a `Gc` op",
        );
    }
    let mut f = good;
    let twice = f.safepoints[0].clone();
    f.safepoints = vec![twice.clone(), twice].into();
    assert_rejected(&m, 0, &f, None, "the GC safepoints are not in op order");
}
