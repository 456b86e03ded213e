//! The `differential` target: a `wasm-smith` module run on Kiln's interpreter,
//! on Kiln's JIT, and on wasmi, the oracle, which must agree on everything
//! observable.
//!
//! The module is instantiated on all three, then every exported function is
//! called in export order, for [`ROUNDS`] rounds, with arguments chosen by
//! position from fixed tables (see [`argument`]). After instantiation and after
//! each call the engines must agree on:
//!
//! - the call's outcome: the same results (floats and `v128`s by their bits,
//!   references by whether they are null), or a trap of the same kind;
//! - every exported memory, byte for byte, and its size;
//! - every exported global's value (a `v128` by its bits);
//! - every exported table's size and which of its elements are null.
//!
//! Kiln's two tiers must agree exactly, fuel included: the same outcome
//! (running out of fuel at the same step too) and the same fuel left after
//! instantiation and after every call, since both charge the same cost model.
//! The JIT runs only where Kiln has it (x86-64 Linux); elsewhere the
//! interpreter alone is compared with the oracle.
//!
//! Resumable calls: one tier runs the module a second time (the interpreter
//! or the JIT, by a hash of the module; [`split_side`]), with every call
//! resumable and split at random fuel points: it starts with a few units of
//! fuel, and each time it stops gets a random slice more, sometimes less than
//! the stopped check needs (see `kiln_side::Split`). It must agree with the
//! interpreter's uninterrupted calls exactly, fuel included, and in exported
//! state after every step.
//!
//! All engines meter fuel so that an infinite loop ends. wasmi's fuel model
//! differs from Kiln's (`kiln_runtime::fuel`), so a call that runs out of
//! fuel on Kiln or on wasmi is not compared with wasmi: that export is not
//! called again, and all engines start afresh from a new instance (a start
//! function out of fuel ends the module's run). wasmi is given
//! [`WASMI_FUEL_FACTOR`] times Kiln's budget, so that it rarely stops first.
//! Calls are limited to the same depth on every engine, and memories and
//! tables to the same sizes.
//!
//! SIMD: modules use `v128` and the SIMD operators, and some (a knob of
//! [`smith_config`]) relaxed SIMD too. The relaxed operators' results are
//! implementation-defined: Kiln's tiers both compute the deterministic
//! profile's, wasmi its own. So a module that uses a relaxed operator (see
//! [`simd_use`]) is compared on Kiln's interpreter and JIT only, exactly and
//! fuel included as always, and wasmi is not consulted for it (where Kiln has
//! no JIT, such a module only checks that the interpreter does not panic).
//! Every other module, with SIMD or without, is compared three ways.
//!
//! Exceptions and typed function references: half the modules (a knob) may
//! use exception handling, and half (another knob) typed function references,
//! both of which wasmi lacks. A module that uses either (see
//! [`uses_exceptions`] and [`uses_function_references`]) is compared on
//! Kiln's two tiers, and, with the `wasmtime-oracle` feature (the fuzz target
//! and the `differential-wasmtime` command turn it on; `cargo test` does not,
//! so as not to build wasmtime), with wasmtime as the oracle. An exception
//! that leaves a call is an outcome like a trap (`TrapKind::Other("uncaught
//! exception")`). wasmtime bounds its native stack rather than the call
//! depth, so a call that exhausts either is not compared with it.
//! `wasm-smith` generates typed function references only together with GC's
//! types and instructions, which Kiln does not implement yet, so the typed
//! references come from rewriting the direct calls of a module built without
//! GC (see [`typed_calls`]). An export with a non-null reference parameter
//! is not called (the harness passes null references only).
//!
//! NaNs: `wasm-smith` canonicalises the NaNs of float arithmetic, scalar and
//! per vector lane, in the module it builds; [`canonicalize`] adds the same
//! after the conversions between float widths (`f32.demote_f64`,
//! `f64.promote_f32`, `f32x4.demote_f64x2_zero`, `f64x2.promote_low_f32x4`);
//! and Kiln canonicalises all of them too (`Config::nan_canonicalization`),
//! lane by lane; wasmi does not, so NaN bits that differ are a finding only if
//! a NaN got past all of that. The operators that move a NaN's bits without
//! computing (`abs`, `neg`, `copysign`, `pmin`, `pmax`, lane moves, loads and
//! stores) keep them on every engine, and are compared as they are.

mod canonicalize;
pub mod kiln_side;
mod oracle;
mod simd_use;
mod typed_calls;
pub mod wasmi_side;
#[cfg(feature = "wasmtime-oracle")]
mod wasmtime_side;

pub use simd_use::{SimdUse, simd_use, uses_exceptions, uses_function_references};

use std::fmt;

use arbitrary::Unstructured;
use kiln::{Strategy, ValType};

use crate::{Finding, catch};
use oracle::{Consult, Oracle, OracleModule, consult};

/// Fuel for Kiln for instantiation (the start function) and for each call.
pub const FUEL: u64 = 10_000;
/// wasmi's fuel budget is this many times Kiln's.
pub const WASMI_FUEL_FACTOR: u64 = 8;
/// Deepest call nesting on every engine.
pub const MAX_CALL_DEPTH: u32 = 200;
/// Largest memory, in bytes, on every engine; `memory.grow` past it fails.
pub const MAX_MEMORY_BYTES: u64 = 4 << 20;
/// Largest table, in elements, on every engine.
pub const MAX_TABLE_ELEMENTS: u64 = 10_000;
/// How many times every export is called, each time with other arguments.
pub const ROUNDS: usize = 2;

/// A value as every engine can report it: floats by their bits, references
/// by whether they are null (function identities differ between engines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`'s bits.
    F32(u32),
    /// An `f64`'s bits.
    F64(u64),
    /// A `funcref`, null or not.
    FuncRef {
        /// Whether the reference is null.
        null: bool,
    },
    /// An `externref`, null or not.
    ExternRef {
        /// Whether the reference is null.
        null: bool,
    },
    /// An `exnref`, null or not.
    ExnRef {
        /// Whether the reference is null.
        null: bool,
    },
    /// A `v128`'s bits, lane 0 in the least significant.
    V128(u128),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::I32(v) => write!(f, "i32 {v}"),
            Value::I64(v) => write!(f, "i64 {v}"),
            Value::F32(b) => write!(f, "f32 {} ({b:#010x})", f32::from_bits(b)),
            Value::F64(b) => write!(f, "f64 {} ({b:#018x})", f64::from_bits(b)),
            Value::FuncRef { null } => write!(f, "funcref {}", if null { "null" } else { "ref" }),
            Value::ExternRef { null } => {
                write!(f, "externref {}", if null { "null" } else { "ref" })
            }
            Value::ExnRef { null } => write!(f, "exnref {}", if null { "null" } else { "ref" }),
            Value::V128(v) => write!(f, "v128 {v:#034x}"),
        }
    }
}

/// A trap, by kind, in terms every engine can be mapped onto.
///
/// wasmi reports an out-of-range `call_indirect` index as a table
/// out-of-bounds access, where Kiln (and the spec) says `undefined element`;
/// both map to [`TrapKind::TableOutOfBounds`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrapKind {
    /// `unreachable`.
    Unreachable,
    /// A memory access out of bounds.
    MemoryOutOfBounds,
    /// A table access out of bounds, or `call_indirect` past a table's end.
    TableOutOfBounds,
    /// `call_indirect` of a null element.
    IndirectCallToNull,
    /// `call_indirect` of a function of another type.
    IndirectCallTypeMismatch,
    /// Signed division overflow, or a float truncated out of range.
    IntegerOverflow,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// A NaN truncated to an integer.
    InvalidConversionToInteger,
    /// The call-depth limit.
    CallStackExhausted,
    /// A null reference where a function, a non-null reference or an
    /// exception is needed (`call_ref`, `ref.as_non_null`, `throw_ref`).
    NullReference,
    /// Fuel ran out: inconclusive.
    OutOfFuel,
    /// Anything else, by message.
    Other(String),
}

/// What one engine did at one step: instantiation or one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The step finished with these results (none for instantiation).
    Returned(Vec<Value>),
    /// The step trapped.
    Trapped(TrapKind),
    /// The step failed without trapping (compilation, linking, resources).
    Failed(String),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Returned(values) => {
                f.write_str("returned [")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Step::Trapped(kind) => write!(f, "trapped: {kind:?}"),
            Step::Failed(message) => write!(f, "failed: {message}"),
        }
    }
}

impl Step {
    fn out_of_fuel(&self) -> bool {
        matches!(self, Step::Trapped(TrapKind::OutOfFuel))
    }
}

/// The exported state of an instance after a step, in export order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Each exported memory's name and bytes.
    pub memories: Vec<(String, Vec<u8>)>,
    /// Each exported global's name and value.
    pub globals: Vec<(String, Value)>,
    /// Each exported table's name and, per element, whether it is null.
    pub tables: Vec<(String, Vec<bool>)>,
}

/// A module's exports by kind, in export order, as Kiln lists them; both
/// engines are observed through the same list.
#[derive(Debug, Clone, Default)]
pub struct Exports {
    /// Exported functions: name and parameter types.
    pub funcs: Vec<(String, Vec<ValType>)>,
    /// Exported memories' names.
    pub memories: Vec<String>,
    /// Exported globals' names.
    pub globals: Vec<String>,
    /// Exported tables' names.
    pub tables: Vec<String>,
}

/// How a module's run ended when the engines agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// The module was instantiated alike and every call compared agreed.
    Complete {
        /// Calls compared.
        calls: usize,
        /// Exports not compared because a call of theirs ran out of fuel.
        out_of_fuel: usize,
        /// How often the calls split at random fuel points stopped and were
        /// resumed (see [`split_side`]).
        resumed: u64,
        /// Whether the split side was the tiered strategy's and its module
        /// switched to native code in the middle of a call.
        tiered_up: bool,
    },
    /// Both engines failed or trapped at instantiation, alike.
    NotInstantiated,
    /// Instantiation (the start function) ran out of fuel on one engine.
    OutOfFuel,
}

/// The `wasm-smith` configuration: only what Kiln executes, with no imports
/// and bounded sizes. `knobs` (one input byte) varies what stays within that,
/// bit by bit (from the least significant): exporting everything (bit 0),
/// relaxed SIMD (bit 1), 64-bit memories (bit 2), how many memories (bits
/// 3 and 4) and tables (bit 5), typed function references (bit 6),
/// exception handling (bit 7).
pub fn smith_config(knobs: u8) -> wasm_smith::Config {
    wasm_smith::Config {
        // WebAssembly 2.0.
        simd_enabled: true,
        reference_types_enabled: true,
        bulk_memory_enabled: true,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        // The 3.0 proposals Kiln implements.
        tail_call_enabled: true,
        extended_const_enabled: true,
        memory64_enabled: knobs & 0b100 != 0,
        max_memories: 1 + usize::from(knobs >> 3 & 0b11),
        max_tables: 1 + usize::from(knobs >> 5 & 0b1),
        // Half the inputs: a module using it is compared on Kiln's tiers
        // only (see the module docs).
        relaxed_simd_enabled: knobs & 0b10 != 0,
        // Everything else.
        // Half the inputs: tags, throw, throw_ref, try_table and exnref; a
        // module using them is not run on wasmi (see the module docs).
        exceptions_enabled: knobs & 0b1000_0000 != 0,
        // GC's types and instructions, which Kiln does not implement yet;
        // half the modules get typed function references from
        // `typed_calls` instead (knob bit 6, see `smith_module`).
        gc_enabled: false,
        threads_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        compact_imports_enabled: false,
        shared_everything_threads_enabled: false,
        custom_descriptors_enabled: false,
        acquire_release_atomics_enabled: false,
        multibyte_array_access_enabled: false,
        // Deterministic results, and no imports to provide.
        canonicalize_nans: true,
        max_imports: 0,
        // Mostly everything, so that every function is called and all state
        // compared; otherwise wasm-smith's own choice of exports.
        export_everything: knobs & 0b1 == 0,
        // Not `disallow_traps`: the guard it puts before every division,
        // `select(1, d, i32.eqz(d))`, hits a wasmi 2.0.0 bug that divides by 1
        // whatever `d` is (see the replay test `known_oracle_bugs`).
        disallow_traps: false,
        // Bounded sizes, so that a run is quick (about 5 ms an input in the
        // fuzz build: every engine compiles every function) and a snapshot
        // small.
        min_types: 1,
        min_funcs: 2,
        max_funcs: 20,
        max_instructions: 200,
        max_globals: 20,
        max_exports: 30,
        max_types: 30,
        max_type_size: 100,
        max_data_segments: 10,
        max_element_segments: 10,
        max_elements: 50,
        max_table_elements: 1_000,
        max_memory32_bytes: 1 << 20,
        max_memory64_bytes: 1 << 20,
        max_nesting_depth: 10,
        ..wasm_smith::Config::default()
    }
}

/// Builds the module for a fuzzer input: its first byte picks the knobs of
/// [`smith_config`], the rest drives `wasm-smith`; with knob bit 6 its direct
/// calls are then made through typed function references (see
/// [`typed_calls`]). `None` if `wasm-smith` cannot build a module from it.
pub fn smith_module(data: &[u8]) -> Option<Vec<u8>> {
    let (&knobs, rest) = data.split_first()?;
    let mut u = Unstructured::new(rest);
    let module = wasm_smith::Module::new(smith_config(knobs), &mut u).ok()?;
    let wasm = canonicalize::canonicalize_conversions(&module.to_bytes())?;
    if knobs & 0b100_0000 == 0 {
        Some(wasm)
    } else {
        typed_calls::typed_calls(&wasm)
    }
}

/// The argument for parameter `param` of type `ty`, in call `call` (the
/// position of the call in the whole run).
pub fn argument(ty: ValType, call: usize, param: usize) -> Value {
    const I32: [i32; 10] = [0, 1, -1, 7, i32::MIN, i32::MAX, 0x1000, 65_536, -65_536, 42];
    const I64: [i64; 10] = [
        0,
        1,
        -1,
        7,
        i64::MIN,
        i64::MAX,
        0x1000,
        1 << 32,
        -65_536,
        42,
    ];
    const F32: [f32; 10] = [
        0.0,
        -0.0,
        1.0,
        -1.5,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e10,
        f32::MIN_POSITIVE,
        2_147_483_648.0,
    ];
    const F64: [f64; 10] = [
        0.0,
        -0.0,
        1.0,
        -1.5,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e300,
        f64::MIN_POSITIVE,
        9_223_372_036_854_775_808.0,
    ];
    // Lane 0 in the least significant bits. Integer lanes at their edges,
    // float lanes at theirs, bytes in order for shuffles and swizzles, and
    // NaNs both canonical and not (negative, with a payload, signalling),
    // which the operators that keep a NaN's bits must keep alike.
    const V128: [u128; 10] = [
        0,
        u128::MAX,
        // i32 lanes: 1, -1, 7, i32::MIN.
        0x8000_0000_0000_0007_ffff_ffff_0000_0001,
        // Bytes 0 to 15.
        0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100,
        // f32 lanes: 1.0, -1.5, NaN, +inf.
        0x7f80_0000_7fc0_0000_bfc0_0000_3f80_0000,
        // f64 lanes: -0.0, 1e300.
        0x7e37_e43c_8800_759c_8000_0000_0000_0000,
        // i16 lanes: i16::MIN, i16::MAX, 1, -1, 0, 256, 42, -128.
        0xff80_002a_0100_0000_ffff_0001_7fff_8000,
        // f32 lanes: -0.0, f32::MIN_POSITIVE, 2^31, -inf.
        0xff80_0000_4f00_0000_0080_0000_8000_0000,
        // f64 lanes: a negative NaN with a payload, 2^63.
        0x43e0_0000_0000_0000_fff8_0000_0000_0001,
        // f32 lanes: a signalling NaN, 0.5, -2.5, 1e10.
        0x5015_02f9_c020_0000_3f00_0000_7fa0_0000,
    ];
    let i = (call * 3 + param) % 10;
    match ty {
        ValType::I32 => Value::I32(I32[i]),
        ValType::I64 => Value::I64(I64[i]),
        ValType::F32 => Value::F32(F32[i].to_bits()),
        ValType::F64 => Value::F64(F64[i].to_bits()),
        ValType::V128 => Value::V128(V128[i]),
        ValType::Ref(r) => match r.heap.top() {
            kiln::HeapType::Extern => Value::ExternRef { null: true },
            kiln::HeapType::Exn => Value::ExnRef { null: true },
            _ => Value::FuncRef { null: true },
        },
    }
}

/// `wasm` compiled once on every engine that runs it, Kiln's tiers and the
/// oracle [`consult`] names; every instantiation of the run (the first, and
/// each fresh one after a call out of fuel) starts from these.
struct Compiled {
    consult: Consult,
    interp: Result<kiln::Module, Step>,
    /// `None` where Kiln has no JIT.
    jit: Option<Result<kiln::Module, Step>>,
    /// The split side's name, its tier's module and its fuel points' seed
    /// (see [`split_side`]).
    split: (&'static str, Result<kiln::Module, Step>, u64),
    /// On the tiered strategy, the split side's forced tier-up.
    tier_up: Option<kiln_side::TierUp>,
    /// `None` for a module no other engine is consulted on.
    oracle: Option<Result<OracleModule, Step>>,
}

impl Compiled {
    /// # Errors
    ///
    /// A panic in Kiln.
    fn new(wasm: &[u8]) -> Result<Compiled, Finding> {
        let consult = consult(wasm);
        let interp = catch("Kiln compilation (interp)", || {
            kiln_side::KilnSide::compile(wasm, Strategy::Interpreter)
        })?;
        let jit = if Strategy::JIT_AVAILABLE {
            Some(catch("Kiln compilation (jit)", || {
                kiln_side::KilnSide::compile(wasm, Strategy::Jit)
            })?)
        } else {
            None
        };
        let (split_name, strategy, seed) = split_side(wasm);
        let mut tier_up = None;
        let split_module = match (&jit, strategy) {
            (Some(jit), Strategy::Jit) => jit.clone(),
            (_, Strategy::Tiered) => {
                // Held on the interpreter from the start, until a stop of
                // one of the first calls (`kiln_side::TierUp`).
                let hold = kiln::CompileHold::new();
                let module = catch("Kiln compilation (tiered)", || {
                    kiln_side::KilnSide::compile(wasm, Strategy::Tiered)
                })?;
                tier_up = Some(kiln_side::TierUp {
                    hold: std::sync::Arc::new(std::sync::Mutex::new(Some(hold))),
                    at: 1 + (seed >> 8) % 8,
                });
                module
            }
            _ => interp.clone(),
        };
        let oracle = (consult != Consult::Nobody).then(|| OracleModule::compile(wasm, consult));
        Ok(Compiled {
            consult,
            interp,
            jit,
            split: (split_name, split_module, seed),
            tier_up,
            oracle,
        })
    }
}

/// A module instantiated on every engine.
struct Sides {
    interp: kiln_side::KilnSide,
    /// `None` where Kiln has no JIT.
    jit: Option<kiln_side::KilnSide>,
    /// A tier again, its calls split at random fuel points ([`split_side`]).
    split: (&'static str, kiln_side::KilnSide),
    /// `None` for a module no other engine is consulted on (see [`consult`]).
    oracle: Option<Oracle>,
}

impl Sides {
    /// Compares the exported state of every engine.
    fn compare_snapshots(&mut self, what: &str, exports: &Exports) -> Result<(), Finding> {
        let interp = self.interp.snapshot(exports);
        let (split_name, split) = &self.split;
        let resumed = split.snapshot(exports);
        if interp != resumed {
            let header =
                format!("Kiln's interpreter and {split_name} differ in exported state {what}");
            return Err(snapshot_difference(
                header,
                ("interp", split_name),
                &interp,
                &resumed,
            ));
        }
        if let Some(jit) = &self.jit {
            let native = jit.snapshot(exports);
            if interp != native {
                let header = format!("Kiln's interpreter and JIT differ in exported state {what}");
                return Err(snapshot_difference(
                    header,
                    ("interp", "jit"),
                    &interp,
                    &native,
                ));
            }
        }
        let Some(oracle) = &mut self.oracle else {
            return Ok(());
        };
        let name = oracle.name();
        let oracle = oracle.snapshot(exports);
        if interp != oracle {
            let header = format!("Kiln and {name} differ in exported state {what}");
            return Err(snapshot_difference(
                header,
                ("Kiln", name),
                &interp,
                &oracle,
            ));
        }
        Ok(())
    }
}

/// Runs a binary module on every engine and compares every step; on Kiln's
/// tiers only if it uses relaxed SIMD (see the module docs).
///
/// A call that runs out of fuel on Kiln or on wasmi is not compared with
/// wasmi; the engines' states may differ after it, so all are instantiated
/// afresh and that export is not called again. Kiln's tiers are compared at
/// every step, fuel included.
///
/// # Errors
///
/// The first difference, with the step and the engines' observations; or a
/// panic inside Kiln.
pub fn differential_wasm(wasm: &[u8]) -> Result<Agreement, Finding> {
    let compiled = Compiled::new(wasm)?;
    let instantiate = || instantiate(&compiled);
    let mut sides = match instantiate()? {
        Ok(sides) => sides,
        Err(agreement) => return Ok(agreement),
    };
    let exports = sides.interp.exports();
    sides.compare_snapshots("after instantiation", &exports)?;
    let mut calls = 0;
    let mut out_of_fuel = Vec::new();
    // Stops of the split side's calls, over every instantiation.
    let mut resumed = 0;
    let mut tiered_up = false;
    for round in 0..ROUNDS {
        for (name, params) in &exports.funcs {
            // Only null references are passed (see the module docs).
            let non_null = |t: &ValType| matches!(t, ValType::Ref(r) if !r.nullable);
            if out_of_fuel.contains(&name) || params.iter().any(non_null) {
                continue;
            }
            let args: Vec<Value> = params
                .iter()
                .enumerate()
                .map(|(p, &ty)| argument(ty, calls, p))
                .collect();
            let what = format!("round {round}, call {calls}: `{name}`{args:?}");
            let k = catch(&what, || sides.interp.call(name, &args))?;
            let interp = ("interpreter", &k, sides.interp.fuel_left());
            if let Some(jit) = &mut sides.jit {
                let j = catch(&what, || jit.call(name, &args))?;
                compare_tiers(&what, interp, ("JIT", &j, jit.fuel_left()))?;
            }
            let (split_name, split) = &mut sides.split;
            let r = catch(&what, || split.call(name, &args))?;
            compare_tiers(&what, interp, (split_name, &r, split.fuel_left()))?;
            let w = sides.oracle.as_mut().map(|oracle| oracle.call(name, &args));
            let inconclusive = sides.oracle.as_ref().is_some_and(|oracle| {
                oracle.inconclusive(&k) || w.as_ref().is_some_and(|w| oracle.inconclusive(w))
            });
            if k.out_of_fuel() || inconclusive {
                out_of_fuel.push(name);
                // Instantiation succeeded alike before, with the same fuel.
                resumed += sides.split.1.stops();
                tiered_up |= sides.split.1.tiered_up();
                match instantiate()? {
                    Ok(fresh) => sides = fresh,
                    Err(_) => return Err(Finding(format!("{what}: instantiating again failed"))),
                }
                continue;
            }
            if let (Some(w), Some(oracle)) = (w, &sides.oracle)
                && k != w
            {
                return Err(differ(oracle.name(), &what, &k, &w));
            }
            sides.compare_snapshots(&format!("after {what}"), &exports)?;
            calls += 1;
        }
    }
    Ok(Agreement::Complete {
        calls,
        out_of_fuel: out_of_fuel.len(),
        resumed: resumed + sides.split.1.stops(),
        tiered_up: tiered_up || sides.split.1.tiered_up(),
    })
}

/// Checks that two of Kiln's sides (named, with a step's outcome and the
/// fuel left after it) did exactly the same at one step.
fn compare_tiers(what: &str, a: (&str, &Step, u64), b: (&str, &Step, u64)) -> Result<(), Finding> {
    if (a.1, a.2) == (b.1, b.2) {
        return Ok(());
    }
    Err(Finding(format!(
        "Kiln's {} and {} differ at {what}\n  {}: {} (fuel left {})\n  {}: {} (fuel left {})",
        a.0, b.0, a.0, a.1, a.2, b.0, b.1, b.2
    )))
}

/// The side whose calls are split at random fuel points, resumed each time
/// they stop (`Func::call_resumable`): the interpreter or the JIT, by a hash
/// of the module, which also seeds the fuel points. It must agree with the
/// interpreter's uninterrupted calls exactly, fuel included. Returns its
/// name, its tier and the seed.
fn split_side(wasm: &[u8]) -> (&'static str, Strategy, u64) {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    wasm.hash(&mut hasher);
    let seed = hasher.finish();
    let (name, strategy) = match seed % 3 {
        0 if Strategy::JIT_AVAILABLE => ("JIT with split calls", Strategy::Jit),
        1 if Strategy::JIT_AVAILABLE => (
            "tiered strategy with split calls, native from a stop on",
            Strategy::Tiered,
        ),
        _ => ("interpreter with split calls", Strategy::Interpreter),
    };
    (name, strategy, seed >> 2)
}

/// Instantiates a module on Kiln's tiers and on the engine [`consult`]
/// named, from its [`Compiled`] forms: the instances, or how all failed
/// alike.
///
/// # Errors
///
/// A panic in Kiln, Kiln's tiers differing in any way, or instantiation
/// failing differently on Kiln and wasmi.
fn instantiate(compiled: &Compiled) -> Result<Result<Sides, Agreement>, Finding> {
    let instance = |module: &Result<kiln::Module, Step>| {
        module
            .as_ref()
            .map_err(Step::clone)
            .and_then(kiln_side::KilnSide::instantiate)
    };
    let kiln = catch("Kiln instantiation (interp)", || instance(&compiled.interp))?;
    let observe = |side: &Result<kiln_side::KilnSide, Step>| match side {
        Ok(instance) => (Step::Returned(Vec::new()), instance.fuel_left()),
        Err(step) => (step.clone(), 0),
    };
    let k = observe(&kiln);
    let jit = match &compiled.jit {
        Some(module) => {
            let jit = catch("Kiln instantiation (jit)", || instance(module))?;
            let j = observe(&jit);
            compare_tiers(
                "instantiation",
                ("interpreter", &k.0, k.1),
                ("JIT", &j.0, j.1),
            )?;
            jit.ok()
        }
        None => None,
    };
    let (split_name, split_module, seed) = &compiled.split;
    let split = catch(split_name, || {
        split_module
            .as_ref()
            .map_err(Step::clone)
            .and_then(|module| kiln_side::KilnSide::split(module, *seed, compiled.tier_up.clone()))
    })?;
    let r = observe(&split);
    compare_tiers(
        "instantiation",
        ("interpreter", &k.0, k.1),
        (split_name, &r.0, r.1),
    )?;
    let split = split.ok().map(|side| (*split_name, side));
    let Some(oracle) = &compiled.oracle else {
        // The module is valid (it uses relaxed SIMD), so Kiln must compile
        // and link it; a trap, the same on both tiers, is an outcome.
        return match (kiln, split) {
            (Ok(interp), Some(split)) => Ok(Ok(Sides {
                interp,
                jit,
                split,
                oracle: None,
            })),
            (Ok(_), None) => Err(Finding("the split side did not instantiate".into())),
            (Err(k), _) if k.out_of_fuel() => Ok(Err(Agreement::OutOfFuel)),
            (Err(Step::Trapped(_)), _) => Ok(Err(Agreement::NotInstantiated)),
            (Err(k), _) => Err(Finding(format!(
                "Kiln did not instantiate a valid module (wasmi not consulted): {k}"
            ))),
        };
    };
    let oracle = oracle
        .as_ref()
        .map_err(Step::clone)
        .and_then(OracleModule::instantiate);
    let name = match compiled.consult {
        Consult::Wasmtime => "wasmtime",
        _ => "wasmi",
    };
    let differ = |what: &str, k: &Step, w: &Step| differ(name, what, k, w);
    let instantiated = Step::Returned(Vec::new());
    match (kiln, oracle) {
        (Ok(interp), Ok(oracle)) => Ok(Ok(Sides {
            interp,
            jit,
            split: split.ok_or_else(|| Finding("the split side did not instantiate".into()))?,
            oracle: Some(oracle),
        })),
        (Err(k), _) if k.out_of_fuel() => Ok(Err(Agreement::OutOfFuel)),
        (_, Err(w)) if w.out_of_fuel() => Ok(Err(Agreement::OutOfFuel)),
        // Failing (not trapping) alike needs no same message: compiling and
        // linking errors are worded differently by every engine.
        (Err(k), Err(w)) => match (&k, &w) {
            (Step::Trapped(a), Step::Trapped(b)) if a != b => Err(differ("instantiation", &k, &w)),
            (Step::Trapped(_), Step::Failed(_)) | (Step::Failed(_), Step::Trapped(_)) => {
                Err(differ("instantiation", &k, &w))
            }
            _ => Ok(Err(Agreement::NotInstantiated)),
        },
        (Err(k), Ok(_)) => Err(differ("instantiation", &k, &instantiated)),
        (Ok(_), Err(w)) => Err(differ("instantiation", &instantiated, &w)),
    }
}

/// Checks one fuzzer input.
///
/// # Errors
///
/// See [`differential_wasm`].
pub fn differential_outcome(data: &[u8]) -> Result<Option<Agreement>, Finding> {
    let Some(wasm) = smith_module(data) else {
        return Ok(None);
    };
    differential_wasm(&wasm).map(Some)
}

/// The `differential` fuzz target's body.
///
/// # Panics
///
/// On every finding (see [`differential_wasm`]).
pub fn check_differential(data: &[u8]) {
    if let Err(finding) = differential_outcome(data) {
        panic!("{finding}");
    }
}

fn differ(oracle: &str, what: &str, kiln: &Step, other: &Step) -> Finding {
    Finding(format!(
        "Kiln and {oracle} differ at {what}\n  Kiln:  {kiln}\n  {oracle}: {other}"
    ))
}

/// Describes how two snapshots differ, after `header`; `x` and `y` name the
/// engines that took `a` and `b`.
fn snapshot_difference(
    header: String,
    (x, y): (&str, &str),
    a: &Snapshot,
    b: &Snapshot,
) -> Finding {
    let mut report = header;
    for ((name, a), (_, b)) in a.memories.iter().zip(&b.memories) {
        if a.len() != b.len() {
            report += &format!(
                "\n  memory `{name}`: {x} {} bytes, {y} {} bytes",
                a.len(),
                b.len()
            );
        } else if let Some(at) = a.iter().zip(b).position(|(p, q)| p != q) {
            let end = (at + 16).min(a.len());
            report += &format!(
                "\n  memory `{name}` first differs at {at:#x}: {x} {:02x?}, {y} {:02x?}",
                &a[at..end],
                &b[at..end]
            );
        }
    }
    for ((name, a), (_, b)) in a.globals.iter().zip(&b.globals) {
        if a != b {
            report += &format!("\n  global `{name}`: {x} {a}, {y} {b}");
        }
    }
    for ((name, a), (_, b)) in a.tables.iter().zip(&b.tables) {
        if a != b {
            report += &format!(
                "\n  table `{name}`: {x} {} elements ({} null), {y} {} elements ({} null)",
                a.len(),
                a.iter().filter(|n| **n).count(),
                b.len(),
                b.iter().filter(|n| **n).count()
            );
        }
    }
    Finding(report)
}
