//! Rewriting a module so that any engine computes what Kiln's deterministic
//! executor computes: fuel counted in a global exactly as Kiln's cost model
//! charges it (`kiln_runtime::fuel`), every NaN a float instruction produces
//! canonicalised as Kiln's deterministic mode does, relaxed SIMD replaced by
//! its deterministic profile, and the call depth bounded by a counter.
//!
//! The rewritten module exports three mutable globals, which the host sets
//! before each call from outside and reads after it:
//! - [`FUEL_EXPORT`] (`i64`, read as unsigned): the fuel left. Set it to the
//!   fuel a call may use; after the call it holds what is left, as
//!   `Store::get_fuel` would. It starts as [`InstrumentConfig::initial_fuel`].
//! - [`STATUS_EXPORT`] (`i32`): set it to 0. A trap that the rewriting
//!   caused sets it first: [`STATUS_OUT_OF_FUEL`] where Kiln traps with
//!   `out of fuel`, [`STATUS_CALL_STACK_EXHAUSTED`] where Kiln traps with
//!   `call stack exhausted`; the trap itself is an `unreachable`.
//! - [`DEPTH_EXPORT`] (`i32`): the WebAssembly call depth. Set it to 0 before
//!   a call from the host.
//!
//! With [`InstrumentConfig::defer_start`], the module's start function does
//! not run when it is instantiated: it is exported as [`START_EXPORT`] for the
//! host to call like any other, counters set, so that a start function that
//! runs out of fuel or traps leaves an instance whose counters can be read (a
//! JavaScript host gets no instance at all from an instantiation that traps).
//! The host treats a trap of that call as the instantiation's.
//!
//! Function, table, memory and global indices are kept (the new globals come
//! last), so the rewritten module imports and exports what the original
//! does, plus the three globals.
//!
//! The rewriting works on Kiln's own reading of each body (`kiln-parser`'s
//! `Instr`, one for each operator) to decide where fuel is charged and what
//! is canonicalised, with the cost model's own functions, and re-encodes
//! the operators with `wasm-encoder`: what it inserts is all it changes.
//!
//! The counters are the module's own: a call into another instance (through
//! an import) is counted by that instance's counters, not this one's, unlike
//! Kiln's store-wide fuel and depth. A job that is one module, importing
//! only host functions, is counted exactly.

use kiln_parser::{Features, IndexType, Instr, MemIdx, Module, NumOp, TableIdx};
use kiln_runtime::fuel::{self, DynamicCost};
use kiln_runtime::nan::{CANONICAL_F32, CANONICAL_F64, NanResult, nan_result};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, ExportKind, ExportSection, Function, GlobalSection,
    GlobalType, Instruction as I, MemorySection, RawSection, TableSection, ValType,
};
use wasmparser::{FunctionBody, Parser, Payload};

/// The exported global holding the fuel left (`i64`, unsigned).
pub const FUEL_EXPORT: &str = "kiln_fuel";
/// The exported global naming the cause of the last trap the rewriting
/// caused (`i32`).
pub const STATUS_EXPORT: &str = "kiln_status";
/// The exported global holding the call depth (`i32`).
pub const DEPTH_EXPORT: &str = "kiln_depth";
/// The export of the start function, with [`InstrumentConfig::defer_start`].
pub const START_EXPORT: &str = "kiln_start";
/// [`STATUS_EXPORT`]'s value after an `out of fuel` trap.
pub const STATUS_OUT_OF_FUEL: i32 = 1;
/// [`STATUS_EXPORT`]'s value after a `call stack exhausted` trap.
pub const STATUS_CALL_STACK_EXHAUSTED: i32 = 2;

/// What [`instrument`] rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstrumentConfig {
    /// Count fuel in [`FUEL_EXPORT`].
    pub fuel: bool,
    /// The fuel [`FUEL_EXPORT`] holds when the module is instantiated.
    pub initial_fuel: u64,
    /// Canonicalise the NaNs float instructions produce.
    pub canonicalize_nans: bool,
    /// Trap with [`STATUS_CALL_STACK_EXHAUSTED`] where Kiln with this
    /// `max_call_depth` traps with `call stack exhausted`; `None` leaves calls
    /// uncounted.
    pub max_call_depth: Option<u32>,
    /// Export the start function as [`START_EXPORT`] instead of running it
    /// at instantiation (see the module's doc).
    pub defer_start: bool,
    /// Lower the declared maximum of every memory the module defines to
    /// this size, as Kiln's `Config::max_memory_bytes` bounds it, so that
    /// `memory.grow` fails where Kiln's fails. A memory whose initial size is
    /// larger makes the rewriting fail ([`InstrumentError::TooLarge`]), as it
    /// makes Kiln's instantiation fail.
    pub max_memory_bytes: Option<u64>,
    /// The same for the tables the module defines, as Kiln's
    /// `Config::max_table_elements` bounds them.
    pub max_table_elements: Option<u64>,
}

impl Default for InstrumentConfig {
    /// Everything on, with Kiln's default call-depth limit and, until the
    /// host sets it, all the fuel there is (`u64::MAX`).
    fn default() -> InstrumentConfig {
        InstrumentConfig {
            fuel: true,
            initial_fuel: u64::MAX,
            canonicalize_nans: true,
            max_call_depth: Some(kiln_runtime::StoreLimits::default().max_call_depth),
            defer_start: false,
            max_memory_bytes: None,
            max_table_elements: None,
        }
    }
}

/// Why a module could not be rewritten.
#[derive(Debug, thiserror::Error)]
pub enum InstrumentError {
    /// The module does not parse or validate (with every feature Kiln has).
    #[error("invalid module: {0}")]
    Invalid(String),
    /// The module already exports a name the rewriting needs.
    #[error("the module already exports `{0}`")]
    NameTaken(&'static str),
    /// The module could not be re-encoded (a Kiln bug if it validated).
    #[error("cannot re-encode the module: {0}")]
    Encode(String),
    /// A memory or table the module defines starts larger than the limit
    /// the rewriting is to enforce.
    #[error("{0} starts larger than the limit")]
    TooLarge(String),
}

/// `bytes` (a binary module) rewritten as the module's doc says.
///
/// # Errors
///
/// [`InstrumentError`].
pub fn instrument(bytes: &[u8], config: &InstrumentConfig) -> Result<Vec<u8>, InstrumentError> {
    let invalid = |e: &dyn std::fmt::Display| InstrumentError::Invalid(e.to_string());
    let module = kiln_parser::parse(bytes, Features::ALL).map_err(|e| invalid(&e))?;
    kiln_validator::validate(&module, Features::ALL).map_err(|e| invalid(&e))?;
    let start = module.start.filter(|_| config.defer_start).map(|f| f.0);
    let start_export = start.map(|_| START_EXPORT);
    for name in [FUEL_EXPORT, STATUS_EXPORT, DEPTH_EXPORT]
        .into_iter()
        .chain(start_export)
    {
        if module.exports.iter().any(|e| e.name == name) {
            return Err(InstrumentError::NameTaken(name));
        }
    }
    let first = module.num_imported_globals + module.globals.len() as u32;
    let rewriter = Rewriter {
        module: &module,
        config: *config,
        fuel: first,
        status: first + 1,
        depth: first + 2,
        start,
    };
    rewriter.module(bytes)
}

fn encode_error(e: impl std::fmt::Display) -> InstrumentError {
    InstrumentError::Encode(e.to_string())
}

/// The rewriting of one module: the indices of the globals it adds.
struct Rewriter<'m> {
    module: &'m Module,
    config: InstrumentConfig,
    fuel: u32,
    status: u32,
    depth: u32,
    /// The start function, exported instead of started.
    start: Option<u32>,
}

/// Where the sections the rewriting adds to or creates stand.
#[derive(Default)]
struct Sections {
    globals: bool,
    exports: bool,
}

impl Rewriter<'_> {
    /// Copies every section but the global, export and code sections, which
    /// it rewrites (creating the first two if the module has none).
    fn module(&self, bytes: &[u8]) -> Result<Vec<u8>, InstrumentError> {
        let mut out = wasm_encoder::Module::new();
        let mut done = Sections::default();
        let mut code: Option<CodeSection> = None;
        let mut defined = 0usize;
        for payload in Parser::new(0).parse_all(bytes) {
            let payload = payload.map_err(|e| InstrumentError::Invalid(e.to_string()))?;
            if !matches!(payload, Payload::CodeSectionEntry(_))
                && let Some(section) = code.take()
            {
                out.section(&section);
            }
            match payload {
                Payload::GlobalSection(reader) => {
                    let mut section = GlobalSection::new();
                    RoundtripReencoder
                        .parse_global_section(&mut section, reader)
                        .map_err(encode_error)?;
                    self.add_globals(&mut section);
                    out.section(&section);
                    done.globals = true;
                }
                Payload::ExportSection(reader) => {
                    self.catch_up(&mut out, &mut done, 7);
                    let mut section = ExportSection::new();
                    RoundtripReencoder
                        .parse_export_section(&mut section, reader)
                        .map_err(encode_error)?;
                    self.add_exports(&mut section);
                    out.section(&section);
                    done.exports = true;
                }
                Payload::MemorySection(reader) => {
                    let mut section = MemorySection::new();
                    for (index, memory) in reader.into_iter().enumerate() {
                        let memory = memory.map_err(encode_error)?;
                        section.memory(self.clamp_memory(index, memory)?);
                    }
                    out.section(&section);
                }
                Payload::TableSection(reader) => {
                    let mut section = TableSection::new();
                    for (index, table) in reader.into_iter().enumerate() {
                        let mut table = table.map_err(encode_error)?;
                        table.ty = self.clamp_table(index, table.ty)?;
                        RoundtripReencoder
                            .parse_table(&mut section, table)
                            .map_err(encode_error)?;
                    }
                    out.section(&section);
                }
                Payload::CodeSectionStart { .. } => {
                    self.catch_up(&mut out, &mut done, 10);
                    code = Some(CodeSection::new());
                }
                Payload::CodeSectionEntry(body) => {
                    let function = self.function(defined, &body)?;
                    if let Some(section) = code.as_mut() {
                        section.function(&function);
                    }
                    defined += 1;
                }
                Payload::End(_) => self.catch_up(&mut out, &mut done, u8::MAX),
                Payload::StartSection { .. } if self.start.is_some() => {
                    self.catch_up(&mut out, &mut done, 8);
                }
                other => {
                    if let Some((id, range)) = other.as_section() {
                        self.catch_up(&mut out, &mut done, id);
                        let range = range.start as usize..range.end as usize;
                        let data = bytes.get(range).ok_or_else(|| {
                            InstrumentError::Invalid("a section past the end".into())
                        })?;
                        out.section(&RawSection { id, data });
                    }
                }
            }
        }
        Ok(out.finish())
    }

    /// A defined memory's type with its maximum lowered to
    /// [`InstrumentConfig::max_memory_bytes`].
    fn clamp_memory(
        &self,
        index: usize,
        ty: wasmparser::MemoryType,
    ) -> Result<wasm_encoder::MemoryType, InstrumentError> {
        let mut ty = RoundtripReencoder.memory_type(ty).map_err(encode_error)?;
        if let Some(bytes) = self.config.max_memory_bytes {
            let page_log2 = ty.page_size_log2.unwrap_or(16);
            let index_pages = if ty.memory64 {
                1u64 << (64 - page_log2).min(63)
            } else {
                1u64 << (32 - page_log2)
            };
            let limit = bytes >> page_log2;
            let max = ty
                .maximum
                .unwrap_or(index_pages)
                .min(index_pages)
                .min(limit);
            if ty.minimum > max {
                return Err(InstrumentError::TooLarge(format!("memory {index}")));
            }
            ty.maximum = Some(max);
        }
        Ok(ty)
    }

    /// A defined table's type with its maximum lowered to
    /// [`InstrumentConfig::max_table_elements`].
    fn clamp_table(
        &self,
        index: usize,
        mut ty: wasmparser::TableType,
    ) -> Result<wasmparser::TableType, InstrumentError> {
        if let Some(limit) = self.config.max_table_elements {
            let max = ty.maximum.unwrap_or(u64::MAX).min(limit);
            if ty.initial > max {
                return Err(InstrumentError::TooLarge(format!("table {index}")));
            }
            ty.maximum = Some(max);
        }
        Ok(ty)
    }

    /// Before a section with id `id`: writes the global and export sections
    /// of the added globals if the module has none and `id` comes after them
    /// in a module's order (start 8, element 9, code 10, data 11, data count
    /// 12; the export section 7 comes after the globals only; custom sections
    /// and those before the globals wait).
    fn catch_up(&self, out: &mut wasm_encoder::Module, done: &mut Sections, id: u8) {
        let after_globals = matches!(id, 7..=12) || id == u8::MAX;
        if after_globals && !done.globals {
            let mut section = GlobalSection::new();
            self.add_globals(&mut section);
            out.section(&section);
            done.globals = true;
        }
        if after_globals && id != 7 && !done.exports {
            let mut section = ExportSection::new();
            self.add_exports(&mut section);
            out.section(&section);
            done.exports = true;
        }
    }

    fn add_globals(&self, section: &mut GlobalSection) {
        let global = |val_type| GlobalType {
            val_type,
            mutable: true,
            shared: false,
        };
        let fuel = self.config.initial_fuel as i64;
        section.global(global(ValType::I64), &ConstExpr::i64_const(fuel));
        section.global(global(ValType::I32), &ConstExpr::i32_const(0));
        section.global(global(ValType::I32), &ConstExpr::i32_const(0));
    }

    fn add_exports(&self, section: &mut ExportSection) {
        section.export(FUEL_EXPORT, ExportKind::Global, self.fuel);
        section.export(STATUS_EXPORT, ExportKind::Global, self.status);
        section.export(DEPTH_EXPORT, ExportKind::Global, self.depth);
        if let Some(start) = self.start {
            section.export(START_EXPORT, ExportKind::Func, start);
        }
    }

    /// The `index`th function defined in the module, rewritten.
    fn function(&self, index: usize, body: &FunctionBody<'_>) -> Result<Function, InstrumentError> {
        let module = self.module;
        let instrs = module
            .body_instrs(index)
            .map_err(|e| InstrumentError::Invalid(e.to_string()))?;
        let ty = module
            .funcs
            .get(index)
            .and_then(|t| module.get_func_type(*t))
            .ok_or_else(|| InstrumentError::Invalid("a body without a function".into()))?;
        let mut locals = Vec::new();
        let mut count = ty.params.len() as u32;
        for pair in body.get_locals_reader().map_err(encode_error)? {
            let (n, t) = pair.map_err(encode_error)?;
            locals.push((n, RoundtripReencoder.val_type(t).map_err(encode_error)?));
            count += n;
        }
        let vectors = instrs
            .iter()
            .any(|i| matches!(i, Instr::Num(op) if needs_vectors(*op)));
        let scratch = Scratch::new(count, vectors);
        locals.extend(scratch.locals());
        let mut f = Function::new(locals);
        let mut runs = vec![0u64; instrs.len()];
        fuel::for_each_run(&instrs, |start, _, cost| runs[start] = cost);
        let mut body_state = Body {
            rw: self,
            f: &mut f,
            s: scratch,
            frames: vec![Frame::default()],
            catches: instrs.iter().any(|i| matches!(i, Instr::TryTable(_))),
        };
        body_state.prologue();
        let mut reader = body.get_operators_reader().map_err(encode_error)?;
        for (instr, run) in instrs.iter().zip(runs) {
            let op = reader.read().map_err(encode_error)?;
            body_state.instr(instr, op, run)?;
        }
        if !reader.eof() {
            return Err(InstrumentError::Encode(
                "a body has more operators than instructions".into(),
            ));
        }
        Ok(f)
    }

    /// The index type of memory `m` (the module validated: it exists).
    fn memory_index(&self, m: MemIdx) -> IndexType {
        self.module
            .memory_type(m)
            .map_or(IndexType::I32, |t| t.index)
    }

    /// The index type of table `t` (the module validated: it exists).
    fn table_index(&self, t: TableIdx) -> IndexType {
        self.module
            .table_type(t)
            .map_or(IndexType::I32, |t| t.index)
    }

    /// The dynamic cost `instr` charges, and the type of its count operand
    /// (the top of the stack); `None` if it charges none.
    fn dynamic(&self, instr: &Instr) -> Option<(DynamicCost, IndexType)> {
        Some(match *instr {
            Instr::MemoryGrow(m) => (DynamicCost::Pages, self.memory_index(m)),
            Instr::MemoryFill(m) => (DynamicCost::Bytes, self.memory_index(m)),
            Instr::MemoryCopy { dst, src } => (
                DynamicCost::Bytes,
                self.memory_index(dst).narrower(self.memory_index(src)),
            ),
            Instr::MemoryInit { .. } => (DynamicCost::Bytes, IndexType::I32),
            Instr::TableGrow(t) | Instr::TableFill(t) => {
                (DynamicCost::Elements, self.table_index(t))
            }
            Instr::TableCopy { dst, src } => (
                DynamicCost::Elements,
                self.table_index(dst).narrower(self.table_index(src)),
            ),
            Instr::TableInit { .. } => (DynamicCost::Elements, IndexType::I32),
            _ => return None,
        })
    }
}

/// Whether rewriting `op` needs `v128` scratch locals.
fn needs_vectors(op: NumOp) -> bool {
    matches!(nan_result(op), Some(NanResult::F32x4 | NanResult::F64x2)) || relaxed(op).is_some()
}

/// The scratch locals a rewritten body adds after its own.
#[derive(Debug, Clone, Copy)]
struct Scratch {
    /// An `i32`: a count operand.
    i32: u32,
    /// An `i64`: a count operand, widened.
    n64: u32,
    /// An `i64`: a dynamic cost.
    cost: u32,
    /// An `i64`: the fuel left, kept equal to the global's after every
    /// charge and read again after every call.
    fuel: u32,
    f32: u32,
    f64: u32,
    /// An `i32`: the call depth of this call.
    depth: u32,
    /// Three `v128`s, if the body needs them (`u32::MAX` if not).
    v: [u32; 3],
}

impl Scratch {
    fn new(first: u32, vectors: bool) -> Scratch {
        let v = if vectors {
            [first + 7, first + 8, first + 9]
        } else {
            [u32::MAX; 3]
        };
        Scratch {
            i32: first,
            n64: first + 1,
            cost: first + 2,
            fuel: first + 3,
            f32: first + 4,
            f64: first + 5,
            depth: first + 6,
            v,
        }
    }

    fn locals(&self) -> Vec<(u32, ValType)> {
        let mut locals = vec![
            (1, ValType::I32),
            (3, ValType::I64),
            (1, ValType::F32),
            (1, ValType::F64),
            (1, ValType::I32),
        ];
        if self.v[0] != u32::MAX {
            locals.push((3, ValType::V128));
        }
        locals
    }
}

/// An open block of the body being rewritten.
#[derive(Debug, Clone, Copy, Default)]
struct Frame {
    /// A catch clause branches to this block's label.
    catch_target: bool,
    /// It is a `loop` (its label is its start, not its end).
    is_loop: bool,
}

/// The rewriting of one body.
struct Body<'a, 'm> {
    rw: &'a Rewriter<'m>,
    f: &'a mut Function,
    s: Scratch,
    /// The open blocks, the function's own first.
    frames: Vec<Frame>,
    /// The body has a `try_table`: an exception may land at a label.
    catches: bool,
}

impl Body<'_, '_> {
    fn emit(&mut self, instrs: &[I<'_>]) {
        for i in instrs {
            self.f.instruction(i);
        }
    }

    /// Traps with `status` unless the `i32` on the stack is 0.
    fn trap_if(&mut self, status: i32) {
        let status_global = self.rw.status;
        self.emit(&[
            I::If(BlockType::Empty),
            I::I32Const(status),
            I::GlobalSet(status_global),
            I::Unreachable,
            I::End,
        ]);
    }

    /// The fuel read into its local, and the call-depth check and count, at
    /// the function's start.
    fn prologue(&mut self) {
        if self.rw.config.fuel {
            self.emit(&[I::GlobalGet(self.rw.fuel), I::LocalSet(self.s.fuel)]);
        }
        let Some(max) = self.rw.config.max_call_depth else {
            return;
        };
        let depth = self.rw.depth;
        self.emit(&[I::GlobalGet(depth), I::I32Const(max as i32), I::I32GeU]);
        self.trap_if(STATUS_CALL_STACK_EXHAUSTED);
        self.emit(&[
            I::GlobalGet(depth),
            I::I32Const(1),
            I::I32Add,
            I::LocalTee(self.s.depth),
            I::GlobalSet(depth),
        ]);
    }

    /// After a call returned or an exception landed here: sets the depth
    /// back to this call's, and reads the fuel the callees left.
    fn resync(&mut self) {
        if self.rw.config.max_call_depth.is_some() {
            self.emit(&[I::LocalGet(self.s.depth), I::GlobalSet(self.rw.depth)]);
        }
        if self.rw.config.fuel {
            self.emit(&[I::GlobalGet(self.rw.fuel), I::LocalSet(self.s.fuel)]);
        }
    }

    /// Charges `cost` (or, if `None`, what the scratch local `cost` holds)
    /// from the fuel, or traps. The global is written at once, so a trap or
    /// a callee finds it right; the local saves reading it.
    fn charge(&mut self, cost: Option<u64>) {
        let (global, local) = (self.rw.fuel, self.s.fuel);
        let amount = match cost {
            Some(c) => I::I64Const(c as i64),
            None => I::LocalGet(self.s.cost),
        };
        self.emit(&[I::LocalGet(local), amount.clone(), I::I64LtU]);
        self.trap_if(STATUS_OUT_OF_FUEL);
        self.emit(&[
            I::LocalGet(local),
            amount,
            I::I64Sub,
            I::LocalTee(local),
            I::GlobalSet(global),
        ]);
    }

    /// Charges the dynamic cost of an instruction whose count operand, of
    /// type `index`, is on the top of the stack (and stays there).
    fn charge_dynamic(&mut self, kind: DynamicCost, index: IndexType) {
        let (n, cost) = (self.s.n64, self.s.cost);
        match index {
            IndexType::I32 => self.emit(&[
                I::LocalTee(self.s.i32),
                I::LocalGet(self.s.i32),
                I::I64ExtendI32U,
                I::LocalSet(n),
            ]),
            IndexType::I64 => self.emit(&[I::LocalTee(n)]),
        }
        match kind {
            // `n.div_ceil(64)`, without the overflow of `(n + 63) >> 6`.
            DynamicCost::Bytes => self.emit(&[
                I::LocalGet(n),
                I::I64Const(6),
                I::I64ShrU,
                I::LocalGet(n),
                I::I64Const(63),
                I::I64And,
                I::I64Const(0),
                I::I64Ne,
                I::I64ExtendI32U,
                I::I64Add,
                I::LocalSet(cost),
            ]),
            DynamicCost::Elements => self.emit(&[I::LocalGet(n), I::LocalSet(cost)]),
            // `n.saturating_mul(64)`.
            DynamicCost::Pages => self.emit(&[
                I::I64Const(-1),
                I::LocalGet(n),
                I::I64Const(6),
                I::I64Shl,
                I::LocalGet(n),
                I::I64Const((u64::MAX >> 6) as i64),
                I::I64GtU,
                I::Select,
                I::LocalSet(cost),
            ]),
        }
        self.charge(None);
    }

    /// Replaces a NaN on the top of the stack, of shape `shape`, by the
    /// canonical NaN.
    fn canonicalize(&mut self, shape: NanResult) {
        match shape {
            NanResult::F32 => {
                let t = self.s.f32;
                self.emit(&[
                    I::LocalTee(t),
                    I::F32Const(f32::from_bits(CANONICAL_F32).into()),
                    I::LocalGet(t),
                    I::LocalGet(t),
                    I::F32Eq,
                    I::Select,
                ]);
            }
            NanResult::F64 => {
                let t = self.s.f64;
                self.emit(&[
                    I::LocalTee(t),
                    I::F64Const(f64::from_bits(CANONICAL_F64).into()),
                    I::LocalGet(t),
                    I::LocalGet(t),
                    I::F64Eq,
                    I::Select,
                ]);
            }
            NanResult::F32x4 | NanResult::F64x2 => {
                let t = self.s.v[0];
                let (nan, eq) = if shape == NanResult::F32x4 {
                    (
                        i128::from_le_bytes(lanes(&CANONICAL_F32.to_le_bytes())),
                        I::F32x4Eq,
                    )
                } else {
                    (
                        i128::from_le_bytes(lanes(&CANONICAL_F64.to_le_bytes())),
                        I::F64x2Eq,
                    )
                };
                // Not-NaN lanes are all ones in the mask and keep their value.
                self.emit(&[
                    I::LocalTee(t),
                    I::V128Const(nan),
                    I::LocalGet(t),
                    I::LocalGet(t),
                    eq,
                    I::V128Bitselect,
                ]);
            }
        }
    }

    /// One instruction: its run's fuel if it starts one (`run`), its dynamic
    /// cost, the call-depth bookkeeping around calls, the instruction (or its
    /// deterministic form), then NaN canonicalisation of its result.
    fn instr(
        &mut self,
        instr: &Instr,
        op: wasmparser::Operator<'_>,
        run: u64,
    ) -> Result<(), InstrumentError> {
        let config = self.rw.config;
        if config.fuel && run > 0 {
            self.charge(Some(run));
        }
        if config.fuel
            && let Some((kind, index)) = self.rw.dynamic(instr)
        {
            self.charge_dynamic(kind, index);
        }
        let depth = config.max_call_depth.is_some();
        match instr {
            Instr::ReturnCall(_) | Instr::ReturnCallIndirect { .. } | Instr::ReturnCallRef(_)
                if depth =>
            {
                // The callee counts itself again: this frame is gone.
                self.emit(&[
                    I::LocalGet(self.s.depth),
                    I::I32Const(1),
                    I::I32Sub,
                    I::GlobalSet(self.rw.depth),
                ]);
            }
            Instr::Block(_) | Instr::If(_) => self.frames.push(Frame::default()),
            Instr::Loop(_) => self.frames.push(Frame {
                is_loop: true,
                ..Frame::default()
            }),
            Instr::TryTable(table) => {
                for catch in &table.catches {
                    let at = self.frames.len().checked_sub(1 + catch.label.0 as usize);
                    if let Some(frame) = at.and_then(|at| self.frames.get_mut(at)) {
                        frame.catch_target = true;
                    }
                }
                self.frames.push(Frame::default());
            }
            _ => {}
        }
        match instr {
            Instr::Num(num) => {
                match relaxed(*num) {
                    Some(replacement) => self.relaxed(replacement),
                    None => self.reencode(op)?,
                }
                if config.canonicalize_nans
                    && let Some(shape) = nan_result(*num)
                {
                    self.canonicalize(shape);
                }
            }
            _ => self.reencode(op)?,
        }
        match instr {
            Instr::Call(_) | Instr::CallIndirect { .. } | Instr::CallRef(_) => self.resync(),
            // A loop's label is its start: an exception may land there.
            Instr::Loop(_) if self.catches => self.resync(),
            Instr::End => {
                let frame = self.frames.pop().unwrap_or_default();
                if frame.catch_target && !frame.is_loop && !self.frames.is_empty() {
                    self.resync();
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn reencode(&mut self, op: wasmparser::Operator<'_>) -> Result<(), InstrumentError> {
        let instruction = RoundtripReencoder.instruction(op).map_err(encode_error)?;
        self.f.instruction(&instruction);
        Ok(())
    }

    /// A relaxed SIMD operator's deterministic form (see `relaxed`).
    fn relaxed(&mut self, replacement: Relaxed) {
        let [a, b, c] = self.s.v;
        match replacement {
            Relaxed::Same(i) => self.emit(&[i]),
            Relaxed::Madd { f32, negate } => {
                let (mul, add, neg) = if f32 {
                    (I::F32x4Mul, I::F32x4Add, I::F32x4Neg)
                } else {
                    (I::F64x2Mul, I::F64x2Add, I::F64x2Neg)
                };
                self.emit(&[I::LocalSet(c), I::LocalSet(b)]);
                if negate {
                    self.emit(&[neg]);
                }
                self.emit(&[I::LocalGet(b), mul, I::LocalGet(c), add]);
            }
            Relaxed::Dot { add } => {
                if add {
                    self.emit(&[I::LocalSet(c)]);
                }
                // The products of lanes 0-7 and 8-15 as `i16`s, then each
                // even product added to the odd one after it, saturating.
                let evens: [u8; 16] = std::array::from_fn(|i| (i / 2 * 4 + i % 2) as u8);
                let odds: [u8; 16] = std::array::from_fn(|i| (i / 2 * 4 + 2 + i % 2) as u8);
                self.emit(&[
                    I::LocalSet(b),
                    I::LocalTee(a),
                    I::LocalGet(b),
                    I::I16x8ExtMulLowI8x16S,
                    I::LocalGet(a),
                    I::LocalGet(b),
                    I::I16x8ExtMulHighI8x16S,
                    I::LocalSet(b),
                    I::LocalTee(a),
                    I::LocalGet(b),
                    I::I8x16Shuffle(evens),
                    I::LocalGet(a),
                    I::LocalGet(b),
                    I::I8x16Shuffle(odds),
                    I::I16x8AddSatS,
                ]);
                if add {
                    self.emit(&[I::I32x4ExtAddPairwiseI16x8S, I::LocalGet(c), I::I32x4Add]);
                }
            }
        }
    }
}

/// Sixteen bytes: `lane` repeated.
fn lanes(lane: &[u8]) -> [u8; 16] {
    std::array::from_fn(|i| lane[i % lane.len()])
}

/// What a relaxed SIMD operator becomes: its deterministic profile
/// (`kiln-interp`'s `num::simd::relaxed` lists it) in 2.0 operators.
#[derive(Debug, Clone)]
enum Relaxed {
    /// One operator computes it.
    Same(I<'static>),
    /// `a * b + c` rounded twice, `a` negated first for `nmadd`.
    Madd { f32: bool, negate: bool },
    /// Signed pair products added with saturation, then (`add`) widened
    /// pairwise and added to `c`.
    Dot { add: bool },
}

fn relaxed(op: NumOp) -> Option<Relaxed> {
    use NumOp::*;
    Some(match op {
        I8x16RelaxedSwizzle => Relaxed::Same(I::I8x16Swizzle),
        I32x4RelaxedTruncF32x4S => Relaxed::Same(I::I32x4TruncSatF32x4S),
        I32x4RelaxedTruncF32x4U => Relaxed::Same(I::I32x4TruncSatF32x4U),
        I32x4RelaxedTruncF64x2SZero => Relaxed::Same(I::I32x4TruncSatF64x2SZero),
        I32x4RelaxedTruncF64x2UZero => Relaxed::Same(I::I32x4TruncSatF64x2UZero),
        I8x16RelaxedLaneselect
        | I16x8RelaxedLaneselect
        | I32x4RelaxedLaneselect
        | I64x2RelaxedLaneselect => Relaxed::Same(I::V128Bitselect),
        F32x4RelaxedMin => Relaxed::Same(I::F32x4Min),
        F32x4RelaxedMax => Relaxed::Same(I::F32x4Max),
        F64x2RelaxedMin => Relaxed::Same(I::F64x2Min),
        F64x2RelaxedMax => Relaxed::Same(I::F64x2Max),
        I16x8RelaxedQ15mulrS => Relaxed::Same(I::I16x8Q15MulrSatS),
        F32x4RelaxedMadd => Relaxed::Madd {
            f32: true,
            negate: false,
        },
        F32x4RelaxedNmadd => Relaxed::Madd {
            f32: true,
            negate: true,
        },
        F64x2RelaxedMadd => Relaxed::Madd {
            f32: false,
            negate: false,
        },
        F64x2RelaxedNmadd => Relaxed::Madd {
            f32: false,
            negate: true,
        },
        I16x8RelaxedDotI8x16I7x16S => Relaxed::Dot { add: false },
        I32x4RelaxedDotI8x16I7x16AddS => Relaxed::Dot { add: true },
        _ => return None,
    })
}
