//! Function-body validation: the spec's operand and control stack algorithm.
//!
//! The operand stack holds `Option<ValType>`, where `None` is the spec's
//! *unknown* type: what `pop` yields below the height of an unreachable
//! frame. Each control frame remembers the operand height at its entry and
//! whether the rest of it is unreachable. The instruction families live in
//! sibling files (`control.rs`, `memory.rs`, `variable.rs`), each an `impl`
//! block on [`FuncValidator`] with one method per instruction, which
//! `FuncValidator::instr` calls from a single `match`.
//!
//! A `FuncValidator` is reused for every function of a module, so its stacks
//! are allocated once per module, not once per function.

mod control;
mod gc;
mod memory;
mod roots;
mod variable;

pub use roots::{GcRoots, Safepoint};

use kiln_parser::{
    BlockType, BodyDecoder, BodyFacts, FuncBody, FuncIdx, Instr, InstrSink, Module, NumOp, TypeIdx,
    ValType,
};

use crate::context::Context;
use crate::error::{ImplLimit, IndexSpace, ModuleError, ValidationError, ValidationErrorKind};
use crate::limits;

/// What the tiers need to know about one valid function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncInfo {
    /// Its signature.
    pub ty: TypeIdx,
    /// Types of all locals: parameters first, then declared locals.
    pub locals: Box<[ValType]>,
    /// Largest number of operands on the stack at any point.
    pub max_stack: u32,
    /// Deepest nesting of control frames, the function's own frame included.
    pub max_depth: u32,
    /// One entry per `block`, `loop` and `if`, in the order they start.
    pub blocks: Box<[BlockShape]>,
    /// Whether the body uses an instruction of typed function references.
    pub uses_typed_refs: bool,
    /// Whether the body uses an instruction of exception handling.
    pub uses_exceptions: bool,
    /// Whether the body uses an instruction of GC.
    pub uses_gc: bool,
    /// Whether the body calls any function (`call`, `call_indirect`,
    /// `call_ref`, or their `return_` forms).
    pub calls: bool,
    /// Where a collection may run and which values may then be GC objects;
    /// only when GC is on (see [`GcRoots`]).
    pub gc_roots: Option<Box<GcRoots>>,
}

/// The shape of one structured control instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockShape {
    /// Index of the `block`/`loop`/`if` instruction in the body.
    pub start: u32,
    /// Index of the matching `else`, if any.
    pub else_: Option<u32>,
    /// Index of the matching `end`.
    pub end: u32,
    /// Number of values the block takes.
    pub params: u32,
    /// Number of values the block leaves.
    pub results: u32,
}

/// The kind of a control frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameKind {
    Func,
    Block,
    Loop,
    If,
    Else,
}

/// A list of value types: a function type's, borrowed, or a block's single
/// result, held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Types<'m> {
    Slice(&'m [ValType]),
    One(ValType),
}

impl Types<'_> {
    fn as_slice(&self) -> &[ValType] {
        match self {
            Types::Slice(s) => s,
            Types::One(t) => std::slice::from_ref(t),
        }
    }
}

/// A control frame of the spec's algorithm.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame<'m> {
    kind: FrameKind,
    params: Types<'m>,
    results: Types<'m>,
    /// Length of `FuncValidator::inits_set` when the frame was entered: the
    /// locals set since are unset again when it ends.
    init_height: usize,
    /// Operand-stack height when the frame was entered (after its params were popped).
    height: usize,
    /// Set after an unconditional branch: the rest of the frame is unreachable.
    unreachable: bool,
    /// Index into `blocks` (unused for the function frame).
    shape: usize,
}

impl<'m> Frame<'m> {
    /// The types a branch to this frame carries.
    fn label_types(&self) -> &[ValType] {
        if self.kind == FrameKind::Loop {
            self.params.as_slice()
        } else {
            self.results.as_slice()
        }
    }
}

/// Validates function bodies of one module; reusable across its functions.
#[derive(Debug)]
pub(crate) struct FuncValidator<'c, 'm> {
    cx: &'c Context<'m>,
    operands: Vec<Option<ValType>>,
    ctrls: Vec<Frame<'m>>,
    locals: Vec<ValType>,
    /// Whether each local holds a value: always for defaultable ones,
    /// once set for the others.
    inits: Vec<bool>,
    /// The non-defaultable locals set so far, in order, across the open
    /// frames (see `Frame::init_height`).
    inits_set: Vec<u32>,
    blocks: Vec<BlockShape>,
    /// Values set aside by `br_table` while checking each target.
    scratch: Vec<Option<ValType>>,
    /// Operand-stack height at entry of the innermost frame (`ctrls.last()`),
    /// kept here so that the common pop, above that height, reads no frame.
    frame_height: usize,
    func: FuncIdx,
    /// Byte offset of the body, for errors outside any instruction.
    body_offset: u64,
    /// Byte offset of the instruction being checked (or of the body), for
    /// errors.
    offset: u64,
    /// Index in the body of the instruction being checked.
    pc: u32,
    max_stack: usize,
    max_depth: usize,
    /// Whether the body uses an instruction of typed function references.
    uses_typed_refs: bool,
    /// Whether the body uses an instruction of exception handling.
    uses_exceptions: bool,
    /// Whether the body uses an instruction of GC.
    uses_gc: bool,
    /// Whether the body calls any function.
    calls: bool,
    /// The error that stopped the decoding of the body, if any.
    failed: Option<Box<ValidationError>>,
    /// The safepoints recorded so far, when GC is on (see [`GcRoots`]).
    safepoints: Vec<Safepoint>,
}

/// Errors are boxed inside the body checker: every instruction's check
/// returns a `Result`, and a pointer-sized one comes back in a register
/// where the 24-byte `ValidationError` goes through memory.
type Result<T> = std::result::Result<T, Box<ValidationError>>;

/// The body's instructions come in one at a time, as they are decoded; the
/// first error stops the decoding.
impl InstrSink for FuncValidator<'_, '_> {
    #[inline(always)]
    fn push(&mut self, instr: Instr, offset: u64) -> bool {
        self.offset = offset;
        let checked = if self.ctrls.is_empty() {
            // The function's frame has ended; the decoder reports this too.
            Err(self.error(ValidationErrorKind::OperatorsAfterEnd))
        } else {
            if self.cx.features.gc && roots::is_safepoint(&instr) {
                self.record_safepoint();
            }
            self.instr(&instr)
        };
        self.pc += 1;
        match checked {
            Ok(()) => true,
            Err(e) => {
                self.failed = Some(e);
                false
            }
        }
    }
}

impl<'c, 'm> FuncValidator<'c, 'm> {
    pub(crate) fn new(cx: &'c Context<'m>) -> Self {
        FuncValidator {
            cx,
            operands: Vec::new(),
            ctrls: Vec::new(),
            locals: Vec::new(),
            inits: Vec::new(),
            inits_set: Vec::new(),
            blocks: Vec::new(),
            scratch: Vec::new(),
            frame_height: 0,
            func: FuncIdx(0),
            body_offset: 0,
            offset: 0,
            pc: 0,
            max_stack: 0,
            max_depth: 0,
            uses_typed_refs: false,
            uses_exceptions: false,
            uses_gc: false,
            calls: false,
            failed: None,
            safepoints: Vec::new(),
        }
    }

    /// Validates the body of function `func`, the `index`th defined in the
    /// module, whose type is `ty`, decoding it with `decoder`.
    pub(crate) fn validate(
        &mut self,
        func: FuncIdx,
        ty: TypeIdx,
        decoder: &mut BodyDecoder,
        module: &'m Module,
        index: usize,
    ) -> std::result::Result<(FuncInfo, BodyFacts), ModuleError> {
        let Some(body) = module.code.get(index) else {
            return Err(ValidationError::in_func(
                ValidationErrorKind::MissingFunctionBody,
                func,
                0,
            )
            .into());
        };
        self.begin(func, ty, body).map_err(|e| *e)?;
        let facts = decoder.decode(module, index, &mut *self)?;
        if let Some(e) = self.failed.take() {
            return Err((*e).into());
        }
        let info = self.finish(ty).map_err(|e| *e)?;
        Ok((info, facts))
    }

    /// Starts checking `body`: the locals, and the function's own frame.
    fn begin(&mut self, func: FuncIdx, ty: TypeIdx, body: &FuncBody) -> Result<()> {
        self.func = func;
        self.body_offset = body.offset;
        self.offset = body.offset;
        self.pc = 0;
        self.failed = None;
        let cx = self.cx;
        let sig = self.sig(ty)?;
        let declared = body.num_locals();
        if sig.params.len() as u64 + declared > limits::MAX_FUNCTION_LOCALS {
            return Err(self.error(ValidationErrorKind::LimitExceeded(ImplLimit::Locals)));
        }
        self.locals.clear();
        self.locals.extend_from_slice(&sig.params);
        for &(n, t) in body.locals.iter() {
            if !cx.val_type_ok(t, usize::MAX) {
                return Err(self.unknown(IndexSpace::Type, 0));
            }
            self.locals.extend(std::iter::repeat_n(t, n as usize));
        }
        self.inits.clear();
        let params = sig.params.len();
        self.inits.extend(
            self.locals
                .iter()
                .enumerate()
                .map(|(i, t)| i < params || t.is_defaultable()),
        );
        self.inits_set.clear();
        self.operands.clear();
        self.ctrls.clear();
        self.blocks.clear();
        self.max_stack = 0;
        self.max_depth = 0;
        self.uses_typed_refs = false;
        self.uses_exceptions = false;
        self.uses_gc = false;
        self.calls = false;
        self.safepoints.clear();
        self.push_ctrl(
            FrameKind::Func,
            Types::Slice(&[]),
            Types::Slice(&sig.results),
        );
        Ok(())
    }

    /// Checks what remains once the body's last instruction is in.
    fn finish(&mut self, ty: TypeIdx) -> Result<FuncInfo> {
        self.offset = self.body_offset;
        if !self.ctrls.is_empty() {
            return Err(self.error(ValidationErrorKind::FramesRemainAtEnd));
        }
        Ok(FuncInfo {
            ty,
            locals: self.locals.as_slice().into(),
            max_stack: self.max_stack as u32,
            max_depth: self.max_depth as u32,
            blocks: self.blocks.as_slice().into(),
            uses_typed_refs: self.uses_typed_refs,
            uses_exceptions: self.uses_exceptions,
            uses_gc: self.uses_gc,
            calls: self.calls,
            gc_roots: self.gc_roots(),
        })
    }

    #[cold]
    #[inline(never)]
    fn error(&self, kind: ValidationErrorKind) -> Box<ValidationError> {
        Box::new(ValidationError::in_func(kind, self.func, self.offset))
    }

    /// "unknown ..." for an `index` that names nothing in `space`.
    #[cold]
    #[inline(never)]
    fn unknown(&self, space: IndexSpace, index: u32) -> Box<ValidationError> {
        self.error(ValidationErrorKind::unknown(space, index))
    }

    #[cold]
    #[inline(never)]
    fn mismatch(&self) -> Box<ValidationError> {
        self.error(ValidationErrorKind::TypeMismatch)
    }

    // ---- the operand stack -------------------------------------------------

    #[inline]
    fn push(&mut self, t: ValType) {
        self.push_maybe(Some(t));
    }

    /// `push` for an instruction whose check ends with it.
    #[inline]
    fn push_ok(&mut self, t: ValType) -> Result<()> {
        self.push(t);
        Ok(())
    }

    #[inline]
    fn push_maybe(&mut self, t: Option<ValType>) {
        self.operands.push(t);
        if self.operands.len() > self.max_stack {
            self.max_stack = self.operands.len();
        }
    }

    fn push_vals(&mut self, tys: &[ValType]) {
        for &t in tys {
            self.push(t);
        }
    }

    /// Pops any operand; `None` is the unknown type of unreachable code.
    #[inline]
    fn pop(&mut self) -> Result<Option<ValType>> {
        let Some(frame) = self.ctrls.last() else {
            return Err(self.mismatch());
        };
        if self.operands.len() == frame.height {
            if frame.unreachable {
                return Ok(None);
            }
            return Err(self.mismatch());
        }
        Ok(self.operands.pop().flatten())
    }

    /// Pops an operand that must be of type `expected` (or unknown).
    #[inline(always)]
    fn pop_expect(&mut self, expected: ValType) -> Result<Option<ValType>> {
        // The common case: an operand of the expected type above the frame.
        if self.operands.len() > self.frame_height
            && let Some(&Some(actual)) = self.operands.last()
            && actual == expected
        {
            self.operands.pop();
            return Ok(Some(actual));
        }
        self.pop_expect_slow(expected)
    }

    /// `pop_expect` at the frame's bottom, on an unknown operand, on a
    /// subtype, or on a mismatch.
    #[inline(never)]
    fn pop_expect_slow(&mut self, expected: ValType) -> Result<Option<ValType>> {
        let actual = self.pop()?;
        match actual {
            Some(t) if !self.cx.matches(t, expected) => Err(self.mismatch()),
            _ => Ok(actual),
        }
    }

    /// Pops a reference of any type; an unknown operand is a non-null
    /// reference of the bottom heap type.
    fn pop_ref(&mut self) -> Result<kiln_parser::RefType> {
        match self.pop()? {
            None => Ok(kiln_parser::RefType::non_null(kiln_parser::HeapType::Bot)),
            Some(ValType::Ref(r)) => Ok(r),
            Some(_) => Err(self.mismatch()),
        }
    }

    /// A numeric or vector operator: pops its operands, pushes its result.
    #[inline(always)]
    fn num(&mut self, op: NumOp) -> Result<()> {
        let params = op.params();
        let result = Some(op.result());
        // The common cases, operands of the expected types above the frame:
        // the result replaces them in place, so the height cannot grow.
        let len = self.operands.len();
        match *params {
            [a] if len > self.frame_height && self.operands[len - 1] == Some(a) => {
                self.operands[len - 1] = result;
                Ok(())
            }
            [a, b]
                if len >= self.frame_height + 2
                    && self.operands[len - 2] == Some(a)
                    && self.operands[len - 1] == Some(b) =>
            {
                self.operands.truncate(len - 1);
                self.operands[len - 2] = result;
                Ok(())
            }
            _ => {
                self.pop_vals(params)?;
                self.push_maybe(result);
                Ok(())
            }
        }
    }

    fn pop_vals(&mut self, tys: &[ValType]) -> Result<()> {
        for &t in tys.iter().rev() {
            self.pop_expect(t)?;
        }
        Ok(())
    }

    // ---- the control stack -------------------------------------------------

    fn push_ctrl(&mut self, kind: FrameKind, params: Types<'m>, results: Types<'m>) {
        let shape = self.blocks.len();
        if kind != FrameKind::Func && kind != FrameKind::Else {
            self.blocks.push(BlockShape {
                start: self.pc,
                else_: None,
                end: self.pc,
                params: params.as_slice().len() as u32,
                results: results.as_slice().len() as u32,
            });
        }
        self.frame_height = self.operands.len();
        self.ctrls.push(Frame {
            kind,
            params,
            results,
            init_height: self.inits_set.len(),
            height: self.frame_height,
            unreachable: false,
            shape,
        });
        if self.ctrls.len() > self.max_depth {
            self.max_depth = self.ctrls.len();
        }
        self.push_vals(params.as_slice());
    }

    fn pop_ctrl(&mut self) -> Result<Frame<'m>> {
        let Some(frame) = self.ctrls.last().copied() else {
            return Err(self.mismatch());
        };
        self.pop_vals(frame.results.as_slice())?;
        if self.operands.len() != frame.height {
            return Err(self.mismatch());
        }
        self.ctrls.pop();
        self.frame_height = self.ctrls.last().map_or(0, |f| f.height);
        // Locals set inside the frame are not known to be set after it.
        for l in self.inits_set.drain(frame.init_height..) {
            self.inits[l as usize] = false;
        }
        Ok(frame)
    }

    /// Marks the rest of the current frame unreachable (after `br`, `return`, ...).
    fn set_unreachable(&mut self) {
        if let Some(frame) = self.ctrls.last_mut() {
            self.operands.truncate(frame.height);
            frame.unreachable = true;
        }
    }

    /// The frame `depth` levels out from the innermost, or "unknown label".
    fn label(&self, depth: u32) -> Result<Frame<'m>> {
        let n = self.ctrls.len();
        if depth as usize >= n {
            return Err(self.unknown(IndexSpace::Label, depth));
        }
        Ok(self.ctrls[n - 1 - depth as usize])
    }

    /// Type `ty`, which must be a function type: "unknown type" if there is
    /// no such type, "type mismatch" if it is a struct or array type.
    fn sig(&self, ty: TypeIdx) -> Result<&'m kiln_parser::FuncType> {
        let cx: &Context<'m> = self.cx;
        match cx.types.get(ty.index()) {
            None => Err(self.unknown(IndexSpace::Type, ty.0)),
            Some(t) => t.as_func().ok_or_else(|| self.mismatch()),
        }
    }

    /// The parameter and result types of a block type.
    fn block_type(&self, bt: BlockType) -> Result<(Types<'m>, Types<'m>)> {
        match bt {
            BlockType::Empty => Ok((Types::Slice(&[]), Types::Slice(&[]))),
            BlockType::Value(t) => {
                if !self.cx.val_type_ok(t, usize::MAX) {
                    return Err(self.unknown(IndexSpace::Type, 0));
                }
                Ok((Types::Slice(&[]), Types::One(t)))
            }
            BlockType::Func(idx) => {
                let ft = self.sig(idx)?;
                Ok((Types::Slice(&ft.params), Types::Slice(&ft.results)))
            }
        }
    }

    // ---- dispatch ----------------------------------------------------------

    /// Checks one instruction. Inlined into the loop over the body, so that
    /// registers are saved once per function rather than once per instruction.
    #[inline(always)]
    fn instr(&mut self, instr: &Instr) -> Result<()> {
        // One arm per variant, each calling the method for that instruction,
        // so that checking an instruction takes a single dispatch.
        match instr {
            Instr::Num(op) => self.num(*op),
            Instr::I32Const(_) => self.push_ok(ValType::I32),
            Instr::I64Const(_) => self.push_ok(ValType::I64),
            Instr::F32Const(_) => self.push_ok(ValType::F32),
            Instr::F64Const(_) => self.push_ok(ValType::F64),
            Instr::V128Const(_) => self.push_ok(ValType::V128),

            // variable.rs
            Instr::LocalGet(l) => self.local_get(*l),
            Instr::LocalSet(l) => self.local_set(*l),
            Instr::LocalTee(l) => self.local_tee(*l),
            Instr::GlobalGet(g) => self.global_get(*g),
            Instr::GlobalSet(g) => self.global_set(*g),
            Instr::Drop => self.drop_operand(),
            Instr::Select(t) => self.select(*t),
            Instr::RefNull(t) => self.ref_null(*t),
            Instr::RefIsNull => self.ref_is_null(),
            Instr::RefFunc(f) => self.ref_func(*f),
            Instr::RefAsNonNull => {
                self.uses_typed_refs = true;
                self.ref_as_non_null()
            }

            // memory.rs
            Instr::Load(op, m) => self.load(*op, m),
            Instr::Store(op, m) => self.store(*op, m),
            Instr::LoadLane(width, m, lane) => self.load_lane(*width, m, *lane),
            Instr::StoreLane(width, m, lane) => self.store_lane(*width, m, *lane),
            Instr::MemorySize(m) => self.memory_size(*m),
            Instr::MemoryGrow(m) => self.memory_grow(*m),
            Instr::MemoryFill(m) => self.memory_fill(*m),
            Instr::MemoryCopy { dst, src } => self.memory_copy(*dst, *src),
            Instr::MemoryInit { memory, data } => self.memory_init(*memory, *data),
            Instr::DataDrop(d) => self.check_data(*d),
            Instr::TableGet(t) => self.table_get(*t),
            Instr::TableSet(t) => self.table_set(*t),
            Instr::TableSize(t) => self.table_size(*t),
            Instr::TableGrow(t) => self.table_grow(*t),
            Instr::TableFill(t) => self.table_fill(*t),
            Instr::TableCopy { dst, src } => self.table_copy(*dst, *src),
            Instr::TableInit { table, elem } => self.table_init(*table, *elem),
            Instr::ElemDrop(e) => self.elem_drop(*e),

            // control.rs
            Instr::Unreachable => {
                self.set_unreachable();
                Ok(())
            }
            Instr::Nop => Ok(()),
            Instr::Block(bt) => self.block(FrameKind::Block, *bt),
            Instr::Loop(bt) => self.block(FrameKind::Loop, *bt),
            Instr::If(bt) => self.block(FrameKind::If, *bt),
            Instr::Else => self.else_(),
            Instr::End => self.end(),
            Instr::Br(l) => self.br(*l),
            Instr::BrIf(l) => self.br_if(*l),
            Instr::BrTable(table) => self.br_table(table),
            Instr::Return => self.return_(),
            Instr::Call(f) => {
                self.calls = true;
                self.call(*f)
            }
            Instr::CallIndirect { ty, table } => {
                self.calls = true;
                self.call_indirect(*ty, *table)
            }
            Instr::ReturnCall(f) => {
                self.calls = true;
                self.return_call(*f)
            }
            Instr::ReturnCallIndirect { ty, table } => {
                self.calls = true;
                self.return_call_indirect(*ty, *table)
            }
            Instr::CallRef(ty) => {
                self.uses_typed_refs = true;
                self.calls = true;
                self.call_ref(*ty)
            }
            Instr::ReturnCallRef(ty) => {
                self.uses_typed_refs = true;
                self.calls = true;
                self.return_call_ref(*ty)
            }
            Instr::BrOnNull(l) => {
                self.uses_typed_refs = true;
                self.br_on_null(*l)
            }
            Instr::BrOnNonNull(l) => {
                self.uses_typed_refs = true;
                self.br_on_non_null(*l)
            }
            Instr::Throw(tag) => {
                self.uses_exceptions = true;
                self.throw(*tag)
            }
            Instr::ThrowRef => {
                self.uses_exceptions = true;
                self.throw_ref()
            }
            Instr::TryTable(t) => {
                self.uses_exceptions = true;
                self.try_table(t)
            }

            // Vector lanes.
            Instr::Shuffle(lanes) => {
                if lanes.iter().any(|&l| l >= 32) {
                    return Err(self.error(ValidationErrorKind::InvalidLaneIndex));
                }
                self.pop_expect(ValType::V128)?;
                self.pop_expect(ValType::V128)?;
                self.push_ok(ValType::V128)
            }
            Instr::ExtractLane(shape, lane) => {
                if *lane >= shape.lanes() {
                    return Err(self.error(ValidationErrorKind::InvalidLaneIndex));
                }
                self.pop_expect(ValType::V128)?;
                self.push_ok(shape.scalar())
            }
            Instr::Gc(gc) => {
                self.uses_gc = true;
                self.gc(gc)
            }
            Instr::ReplaceLane(shape, lane) => {
                if *lane >= shape.lanes() {
                    return Err(self.error(ValidationErrorKind::InvalidLaneIndex));
                }
                self.pop_expect(shape.scalar())?;
                self.pop_expect(ValType::V128)?;
                self.push_ok(ValType::V128)
            }
        }
    }
}
