//! A tiny generator of valid scalar modules (integer and float arithmetic,
//! locals, blocks, loops, calls, memory), for the differential cases
//! (`differential.rs`): well-typed by construction
//! (expressions are generated for a wanted type), terminating (loops count a
//! reserved local down from a small constant; functions call only earlier
//! functions), and trapping now and then (division, truncation, out-of-bounds
//! addresses, `unreachable`). Deterministic for a seed.

use kiln_runtime::Val;

/// The value types generated code uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    I32,
    I64,
    F32,
    F64,
}

const TYPES: [Ty; 4] = [Ty::I32, Ty::I64, Ty::F32, Ty::F64];

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::I32 => "i32",
            Ty::I64 => "i64",
            Ty::F32 => "f32",
            Ty::F64 => "f64",
        }
    }
}

/// xorshift64*: small, fast, deterministic.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next() % den < num
    }

    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

/// A generated function's signature.
#[derive(Debug, Clone)]
pub struct Sig {
    pub params: Vec<Ty>,
    pub results: Vec<Ty>,
}

/// A generated module: its text and its functions' signatures (export `f{i}`).
pub struct Generated {
    pub wat: String,
    pub sigs: Vec<Sig>,
}

/// Size knobs.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Functions per module.
    pub funcs: usize,
    /// Statements per function body (at most).
    pub stmts: usize,
    /// Expression nesting (at most).
    pub depth: u32,
}

const GLOBALS: [Ty; 4] = [Ty::I32, Ty::I64, Ty::F32, Ty::F64];

/// Generates a module for `seed`.
pub fn module(seed: u64, shape: Shape) -> Generated {
    let mut rng = Rng::new(seed);
    let mut wat = String::from("(module\n  (memory 1 4)\n");
    wat.push_str(
        "  (data (i32.const 16) \"\\01\\02\\03\\04\\fe\\ff\\80\\7fkiln\\00\\00\\c0\\7f\")\n",
    );
    for (i, t) in GLOBALS.iter().enumerate() {
        wat.push_str(&format!(
            "  (global $g{i} (mut {0}) ({0}.const {1}))\n",
            t.name(),
            i + 3
        ));
    }
    let mut sigs: Vec<Sig> = Vec::new();
    for f in 0..shape.funcs {
        let sig = Sig {
            params: (0..rng.below(4)).map(|_| rng.pick(&TYPES)).collect(),
            results: (0..rng.below(3)).map(|_| rng.pick(&TYPES)).collect(),
        };
        let extra: Vec<Ty> = (0..rng.below(4)).map(|_| rng.pick(&TYPES)).collect();
        let mut g = FuncGen {
            rng: &mut rng,
            callees: &sigs,
            locals: sig.params.iter().chain(&extra).copied().collect(),
            counters: 0,
            out: String::new(),
            loops: 0,
            results: sig.results.clone(),
        };
        // Two loop counters follow the other locals.
        g.counters = g.locals.len();
        for _ in 0..shape.stmts.max(1) {
            if g.rng.chance(3, 4) {
                g.stmt(shape.depth);
            }
        }
        for &r in &sig.results.clone() {
            g.expr(r, shape.depth);
        }
        let body = g.out;
        let params: String = sig
            .params
            .iter()
            .map(|t| format!(" {}", t.name()))
            .collect();
        let results: String = sig
            .results
            .iter()
            .map(|t| format!(" {}", t.name()))
            .collect();
        let locals: String = extra.iter().map(|t| format!(" {}", t.name())).collect();
        wat.push_str(&format!(
            "  (func $f{f} (export \"f{f}\") (param{params}) (result{results}) (local{locals} i32 i32)\n   {body})\n"
        ));
        sigs.push(sig);
    }
    wat.push_str(")\n");
    Generated { wat, sigs }
}

/// Arguments for a call of `sig`.
pub fn args(rng: &mut Rng, sig: &Sig) -> Vec<Val> {
    sig.params
        .iter()
        .map(|&t| match t {
            Ty::I32 => Val::I32(int_const(rng) as i32),
            Ty::I64 => Val::I64(int_const(rng)),
            Ty::F32 => Val::F32(f32_bits(rng)),
            Ty::F64 => Val::F64(f64_bits(rng)),
        })
        .collect()
}

fn int_const(rng: &mut Rng) -> i64 {
    match rng.below(8) {
        0 => 0,
        1 => 1,
        2 => -1,
        3 => rng.pick(&[
            i64::from(i32::MIN),
            i64::from(i32::MAX),
            i64::MIN,
            i64::MAX,
            65536,
            65535,
        ]),
        4 => rng.below(64) as i64,
        5 => rng.below(70000) as i64,
        _ => rng.next() as i64,
    }
}

fn f32_bits(rng: &mut Rng) -> u32 {
    match rng.below(6) {
        0 => rng
            .pick(&[
                0.0f32,
                -0.0,
                1.0,
                -1.5,
                0.5,
                2.5,
                -2.5,
                1e10,
                -1e10,
                4294967296.0,
                -2147483904.0,
                2147483648.0,
            ])
            .to_bits(),
        1 => rng.pick(&[
            f32::INFINITY.to_bits(),
            f32::NEG_INFINITY.to_bits(),
            0x7fc0_0000,
            0xffc0_0000,
            0x7f80_0001,
            0x7fc0_1234,
        ]),
        2 => (rng.below(2000) as f32 - 1000.0).to_bits(),
        3 => (rng.below(2000) as f32 / 7.0).to_bits(),
        _ => rng.next() as u32,
    }
}

fn f64_bits(rng: &mut Rng) -> u64 {
    match rng.below(6) {
        0 => rng
            .pick(&[
                0.0f64,
                -0.0,
                1.0,
                -1.5,
                0.5,
                2.5,
                -3.5,
                1e300,
                -2147483649.0,
                -2147483648.9,
                9223372036854775808.0,
                18446744073709551616.0,
            ])
            .to_bits(),
        1 => rng.pick(&[
            f64::INFINITY.to_bits(),
            f64::NEG_INFINITY.to_bits(),
            0x7ff8_0000_0000_0000,
            0xfff8_0000_0000_0000,
            0x7ff0_0000_0000_0001,
        ]),
        2 => (rng.below(2000) as f64 - 1000.0).to_bits(),
        3 => (rng.below(2000) as f64 / 7.0).to_bits(),
        _ => rng.next(),
    }
}

/// Unary operators `(name, operand, result)`.
fn unary_ops() -> Vec<(String, Ty, Ty)> {
    use Ty::*;
    let mut ops = Vec::new();
    for (t, names) in [
        (
            I32,
            &["clz", "ctz", "popcnt", "extend8_s", "extend16_s"][..],
        ),
        (
            I64,
            &[
                "clz",
                "ctz",
                "popcnt",
                "extend8_s",
                "extend16_s",
                "extend32_s",
            ][..],
        ),
    ] {
        for n in names {
            ops.push((format!("{}.{n}", t.name()), t, t));
        }
        ops.push((format!("{}.eqz", t.name()), t, I32));
    }
    for t in [F32, F64] {
        for n in ["abs", "neg", "ceil", "floor", "trunc", "nearest", "sqrt"] {
            ops.push((format!("{}.{n}", t.name()), t, t));
        }
    }
    for (name, from, to) in [
        ("i32.wrap_i64", I64, I32),
        ("i64.extend_i32_s", I32, I64),
        ("i64.extend_i32_u", I32, I64),
        ("f32.demote_f64", F64, F32),
        ("f64.promote_f32", F32, F64),
        ("i32.reinterpret_f32", F32, I32),
        ("i64.reinterpret_f64", F64, I64),
        ("f32.reinterpret_i32", I32, F32),
        ("f64.reinterpret_i64", I64, F64),
    ] {
        ops.push((name.to_string(), from, to));
    }
    for to in [I32, I64] {
        for from in [F32, F64] {
            for s in ["s", "u"] {
                ops.push((format!("{}.trunc_{}_{s}", to.name(), from.name()), from, to));
                ops.push((
                    format!("{}.trunc_sat_{}_{s}", to.name(), from.name()),
                    from,
                    to,
                ));
                ops.push((
                    format!("{}.convert_{}_{s}", from.name(), to.name()),
                    to,
                    from,
                ));
            }
        }
    }
    ops
}

/// Whether `name` is a truncation that traps out of range.
fn is_trapping_trunc(name: &str) -> bool {
    name.contains(".trunc_f")
}

/// Binary operators `(name, operands, result)`.
fn binary_ops() -> Vec<(String, Ty, Ty)> {
    use Ty::*;
    let mut ops = Vec::new();
    for t in [I32, I64] {
        for n in [
            "add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl",
            "shr_s", "shr_u", "rotl", "rotr",
        ] {
            ops.push((format!("{}.{n}", t.name()), t, t));
        }
        for n in [
            "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u",
        ] {
            ops.push((format!("{}.{n}", t.name()), t, I32));
        }
    }
    for t in [F32, F64] {
        for n in ["add", "sub", "mul", "div", "min", "max", "copysign"] {
            ops.push((format!("{}.{n}", t.name()), t, t));
        }
        for n in ["eq", "ne", "lt", "gt", "le", "ge"] {
            ops.push((format!("{}.{n}", t.name()), t, I32));
        }
    }
    ops
}

/// Loads `(name, result, bytes)`.
const LOADS: [(&str, Ty, u32); 14] = [
    ("i32.load", Ty::I32, 4),
    ("i32.load8_s", Ty::I32, 1),
    ("i32.load8_u", Ty::I32, 1),
    ("i32.load16_s", Ty::I32, 2),
    ("i32.load16_u", Ty::I32, 2),
    ("i64.load", Ty::I64, 8),
    ("i64.load8_s", Ty::I64, 1),
    ("i64.load8_u", Ty::I64, 1),
    ("i64.load16_s", Ty::I64, 2),
    ("i64.load16_u", Ty::I64, 2),
    ("i64.load32_s", Ty::I64, 4),
    ("i64.load32_u", Ty::I64, 4),
    ("f32.load", Ty::F32, 4),
    ("f64.load", Ty::F64, 8),
];

/// Stores `(name, operand)`.
const STORES: [(&str, Ty); 9] = [
    ("i32.store", Ty::I32),
    ("i32.store8", Ty::I32),
    ("i32.store16", Ty::I32),
    ("i64.store", Ty::I64),
    ("i64.store8", Ty::I64),
    ("i64.store16", Ty::I64),
    ("i64.store32", Ty::I64),
    ("f32.store", Ty::F32),
    ("f64.store", Ty::F64),
];

struct FuncGen<'a> {
    rng: &'a mut Rng,
    /// Functions this one may call (the earlier ones).
    callees: &'a [Sig],
    /// Parameters and declared locals, without the two loop counters.
    locals: Vec<Ty>,
    /// Index of the first loop counter.
    counters: usize,
    out: String,
    /// Loops open around the current position (at most two: one counter each).
    loops: usize,
    results: Vec<Ty>,
}

impl FuncGen<'_> {
    fn emit(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push(' ');
    }

    /// Code leaving one value of type `t`.
    fn expr(&mut self, t: Ty, depth: u32) {
        if depth == 0 {
            return self.leaf(t);
        }
        let d = depth - 1;
        match self.rng.below(20) {
            0..=2 => self.leaf(t),
            3..=5 => {
                let ops: Vec<_> = unary_ops().into_iter().filter(|o| o.2 == t).collect();
                let mut op = ops[self.rng.below(ops.len())].clone();
                if is_trapping_trunc(&op.0) && self.rng.chance(2, 3) {
                    // Keep trapping truncations (of random floats, mostly out of range) rarer.
                    op = ops[self.rng.below(ops.len())].clone();
                }
                let (name, from, _) = op;
                self.emit(&format!("({name}"));
                self.expr(from, d);
                self.emit(")");
            }
            6..=9 => {
                let ops: Vec<_> = binary_ops().into_iter().filter(|o| o.2 == t).collect();
                let (name, from, _) = ops[self.rng.below(ops.len())].clone();
                self.emit(&format!("({name}"));
                self.expr(from, d);
                if (name.contains(".div_") || name.contains(".rem_")) && self.rng.chance(3, 4) {
                    // Mostly a nonzero divisor (locals start at zero).
                    self.emit(&format!("({}.or", from.name()));
                    self.expr(from, d);
                    self.emit(&format!("({}.const 1))", from.name()));
                } else {
                    self.expr(from, d);
                }
                self.emit(")");
            }
            10 | 11 => {
                let loads: Vec<_> = LOADS.iter().filter(|l| l.1 == t).collect();
                let (name, _, _) = *loads[self.rng.below(loads.len())];
                let offset = if self.rng.chance(1, 60) {
                    65530
                } else {
                    self.rng.pick(&[0, 0, 1, 3, 8, 100])
                };
                self.emit(&format!("({name} offset={offset}"));
                self.address(d);
                self.emit(")");
            }
            12 => {
                self.emit("(select");
                self.expr(t, d);
                self.expr(t, d);
                self.expr(Ty::I32, d);
                self.emit(")");
            }
            13 => {
                self.emit(&format!("(if (result {})", t.name()));
                self.expr(Ty::I32, d);
                self.emit("(then");
                self.stmt(d);
                self.expr(t, d);
                self.emit(") (else");
                self.expr(t, d);
                self.emit("))");
            }
            14 => {
                // A value, or an early exit with another one.
                self.emit(&format!("(block (result {}) (br_if 0", t.name()));
                self.expr(t, d);
                self.expr(Ty::I32, d);
                self.emit(")");
                self.emit("drop");
                self.expr(t, d);
                self.emit(")");
            }
            15 => {
                // br_table between a transformed and an untransformed value.
                let op = match t {
                    Ty::I32 => "i32.eqz",
                    Ty::I64 => "i64.popcnt",
                    Ty::F32 => "f32.neg",
                    Ty::F64 => "f64.sqrt",
                };
                self.emit(&format!(
                    "(block (result {0}) ({op} (block (result {0}) (br_table 1 0 1 0",
                    t.name()
                ));
                self.expr(t, d);
                self.expr(Ty::I32, d);
                self.emit("))))");
            }
            16 => {
                let callable: Vec<usize> = (0..self.callees.len())
                    .filter(|&i| self.callees[i].results.first() == Some(&t))
                    .collect();
                if callable.is_empty() {
                    return self.leaf(t);
                }
                let f = callable[self.rng.below(callable.len())];
                let sig = self.callees[f].clone();
                // Keep the first result: the others are on top of it. The block keeps
                // the plain `drop`s out of folded operand positions.
                self.emit(&format!("(block (result {}) (call $f{f}", t.name()));
                for &p in &sig.params {
                    self.expr(p, d.min(1));
                }
                self.emit(")");
                for _ in 1..sig.results.len() {
                    self.emit("drop");
                }
                self.emit(")");
            }
            17 => {
                if t == Ty::I32 && self.rng.chance(1, 2) {
                    if self.rng.chance(1, 2) {
                        self.emit("(memory.size)");
                    } else {
                        let delta = self.rng.pick(&[0, 0, 1, 2, 5]);
                        self.emit(&format!("(memory.grow (i32.const {delta}))"));
                    }
                } else {
                    self.leaf(t);
                }
            }
            18 => match self.local_of(t) {
                Some(l) => {
                    self.emit(&format!("(local.tee {l}"));
                    self.expr(t, d);
                    self.emit(")");
                }
                None => self.leaf(t),
            },
            _ => {
                self.emit(&format!("(block (result {})", t.name()));
                self.stmt(d);
                self.expr(t, d);
                self.emit(")");
            }
        }
    }

    /// An address: mostly masked into the first pages, sometimes anything.
    fn address(&mut self, depth: u32) {
        if self.rng.chance(1, 40) {
            self.expr(Ty::I32, depth);
        } else if self.rng.chance(1, 3) {
            let a = self.rng.below(65600);
            self.emit(&format!("(i32.const {a})"));
        } else {
            // Mostly inside the first page; up to 4 pages once grown.
            let mask = if self.rng.chance(1, 30) {
                0x3fff0
            } else {
                0xfff0
            };
            self.emit("(i32.and");
            self.expr(Ty::I32, depth);
            self.emit(&format!("(i32.const {mask}))"));
        }
    }

    /// A constant, a local or a global of type `t`.
    fn leaf(&mut self, t: Ty) {
        match self.rng.below(5) {
            0 | 1 => {
                if let Some(l) = self.local_of(t) {
                    return self.emit(&format!("(local.get {l})"));
                }
            }
            2 => {
                let g = GLOBALS.iter().position(|&g| g == t).unwrap_or(0);
                return self.emit(&format!("(global.get $g{g})"));
            }
            _ => {}
        }
        let c = match t {
            Ty::I32 => format!("(i32.const {})", int_const(self.rng) as i32),
            Ty::I64 => format!("(i64.const {})", int_const(self.rng)),
            Ty::F32 => format!(
                "(f32.reinterpret_i32 (i32.const {}))",
                f32_bits(self.rng) as i32
            ),
            Ty::F64 => format!(
                "(f64.reinterpret_i64 (i64.const {}))",
                f64_bits(self.rng) as i64
            ),
        };
        self.emit(&c);
    }

    /// A random local of type `t` (loop counters excluded).
    fn local_of(&mut self, t: Ty) -> Option<usize> {
        let candidates: Vec<usize> = (0..self.locals.len())
            .filter(|&i| self.locals[i] == t)
            .collect();
        if candidates.is_empty() {
            None
        } else {
            Some(candidates[self.rng.below(candidates.len())])
        }
    }

    /// Code with no net effect on the stack.
    fn stmt(&mut self, depth: u32) {
        let d = depth.saturating_sub(1);
        let t = self.rng.pick(&TYPES);
        match self.rng.below(12) {
            0..=2 => match self.local_of(t) {
                Some(l) => {
                    self.emit(&format!("(local.set {l}"));
                    self.expr(t, d);
                    self.emit(")");
                }
                None => {
                    self.emit("(drop");
                    self.expr(t, d);
                    self.emit(")");
                }
            },
            3 => {
                let g = GLOBALS.iter().position(|&g| g == t).unwrap_or(0);
                self.emit(&format!("(global.set $g{g}"));
                self.expr(t, d);
                self.emit(")");
            }
            4 | 5 => {
                let stores: Vec<_> = STORES.iter().filter(|s| s.1 == t).collect();
                let (name, _) = *stores[self.rng.below(stores.len())];
                let offset = self.rng.pick(&[0, 0, 2, 8, 1000]);
                self.emit(&format!("({name} offset={offset}"));
                self.address(d);
                self.expr(t, d);
                self.emit(")");
            }
            6 => {
                self.emit("(drop");
                self.expr(t, d);
                self.emit(")");
            }
            7 if depth > 0 => {
                self.emit("(if");
                self.expr(Ty::I32, d);
                self.emit("(then");
                self.stmt(d);
                if self.rng.chance(1, 25) {
                    self.emit("unreachable");
                }
                self.emit(") (else");
                self.stmt(d);
                self.emit("))");
            }
            8 if depth > 0 && self.loops < 2 => {
                let counter = self.counters + self.loops;
                let n = 1 + self.rng.below(5);
                self.emit(&format!("(local.set {counter} (i32.const {n})) (loop"));
                self.loops += 1;
                self.stmt(d);
                self.stmt(d);
                self.loops -= 1;
                self.emit(&format!(
                    "(br_if 0 (local.tee {counter} (i32.sub (local.get {counter}) (i32.const 1)))))"
                ));
            }
            9 if depth > 0 => {
                self.emit("(block");
                self.stmt(d);
                self.emit("(br_if 0");
                self.expr(Ty::I32, d);
                self.emit(")");
                self.stmt(d);
                self.emit(")");
            }
            10 if !self.callees.is_empty() => {
                let f = self.rng.below(self.callees.len());
                let sig = self.callees[f].clone();
                self.emit(&format!("(call $f{f}"));
                for &p in &sig.params {
                    self.expr(p, d.min(1));
                }
                self.emit(")");
                for _ in &sig.results {
                    self.emit("drop");
                }
            }
            11 if depth > 0 && self.rng.chance(1, 4) => {
                self.emit("(if");
                self.expr(Ty::I32, d);
                self.emit("(then (return");
                for r in self.results.clone() {
                    self.expr(r, d.min(1));
                }
                self.emit(")))");
            }
            _ => {
                self.emit("(drop");
                self.expr(t, d);
                self.emit(")");
            }
        }
    }
}
