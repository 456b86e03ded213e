//! Decoding of function bodies and constant expressions into Kiln's [`Instr`].
//!
//! `wasmparser` decodes each operator straight into a call of the matching
//! `visit_*` method of its `VisitOperator` trait, which [`InstrBuilder`]
//! implements by pushing one `Instr`. No `wasmparser::Operator` value is built
//! and matched on: that detour (build a large enum, then match it against the
//! numeric, load and store tables in turn) cost more than the decoding itself.
//!
//! Every operator of the feature set Kiln implements maps to one `Instr`;
//! every other operator is rejected with an error that names its proposal.
//! The methods are generated from `wasmparser`'s own list of operators
//! (`for_each_visit_operator!`), so an operator added to that list is
//! rejected as unsupported until a rule here says otherwise.

use wasmparser::{FrameKind, FrameStack, VisitOperator, VisitSimdOperator};

use crate::error::ParseError;
use crate::features::Features;
use crate::instr::{
    BrTable, Catch, FieldRead, GcInstr, Instr, LaneShape, LaneWidth, LoadOp, MemArg, StoreOp,
    TryTable,
};
use crate::num_ops::{NumOp, same_name};
use crate::types::{
    BlockType, DataIdx, ElemIdx, FuncIdx, GlobalIdx, LabelIdx, LocalIdx, MemIdx, TableIdx, TagIdx,
    TypeIdx, ValType,
};
use crate::{convert_ref_type, convert_val_type};

/// The proposal's name as the WebAssembly proposals repository spells it,
/// from the tag `wasmparser`'s operator list files it under.
fn proposal_name(tag: &'static str) -> &'static str {
    match tag {
        "threads" => "threads",
        "shared_everything_threads" => "shared-everything-threads",
        "gc" => "gc",
        "exceptions" | "legacy_exceptions" => "exception-handling",
        "relaxed_simd" => "relaxed-simd",
        "function_references" => "function-references",
        "wide_arithmetic" => "wide-arithmetic",
        "stack_switching" => "stack-switching",
        "memory_control" => "memory-control",
        "custom_descriptors" => "custom-descriptors",
        "acquire_release_atomics" => "acquire-release-atomics",
        "tail_call" => "tail-call",
        other => other,
    }
}

/// Where decoded instructions go, one at a time, in order.
///
/// The validator takes each instruction as it is decoded, so checking a body
/// builds no instruction list; a tier that wants the list collects it into a
/// `Vec<Instr>`.
pub trait InstrSink {
    /// Takes the next instruction, which starts at byte `offset` of the
    /// module. Returning `false` stops the decoding early; the sink keeps its
    /// own record of why.
    fn push(&mut self, instr: Instr, offset: u64) -> bool;
}

impl InstrSink for Vec<Instr> {
    #[inline]
    fn push(&mut self, instr: Instr, _offset: u64) -> bool {
        Vec::push(self, instr);
        true
    }
}

impl<S: InstrSink + ?Sized> InstrSink for &mut S {
    #[inline(always)]
    fn push(&mut self, instr: Instr, offset: u64) -> bool {
        (**self).push(instr, offset)
    }
}

/// What decoding a whole function body found out besides its instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BodyFacts {
    /// Whether any instruction operates on `v128` values (a SIMD operator,
    /// or a `select` typed `v128`).
    pub uses_v128: bool,
    /// Whether the sink stopped the decoding before the body's end.
    pub stopped: bool,
}

/// Decodes instruction sequences into `Instr`s, handing each to a sink.
///
/// Errors are recorded in `error` by the `visit_*` methods (which return
/// nothing, see the `VisitOperator` impl) and taken after each operator.
pub(crate) struct InstrBuilder<S> {
    /// Decides the operators gated by a feature (`return_call`).
    features: Features,
    /// Where the instructions go.
    pub(crate) sink: S,
    /// Byte offset of the operator being decoded, for errors.
    offset: u64,
    /// The error a `visit_*` method met, taken after each operator.
    error: Option<ParseError>,
    /// Set when `error` is set or the sink asked to stop: the one flag the
    /// decoding loop tests after each operator.
    halted: bool,
    /// Set once any instruction names a data segment: the binary format then
    /// requires a data count section.
    pub(crate) uses_data_count: bool,
    /// Set once any instruction operates on `v128` values (a SIMD operator, or
    /// a `select` typed `v128`).
    pub(crate) uses_v128: bool,
    /// Set while a constant expression is read, where GC's data-segment
    /// operators (not constant, so invalid there) do not make a data count
    /// section required.
    reading_const: bool,
    /// The kinds of the enclosing control frames, innermost last, which
    /// `wasmparser`'s decoder asks for (as [`FrameStack`]) to reject an
    /// `else` outside an `if` and operators after the final `end`.
    pub(crate) frames: Vec<FrameKind>,
}

impl<S> std::fmt::Debug for InstrBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstrBuilder")
            .field("features", &self.features)
            .field("offset", &self.offset)
            .field("uses_data_count", &self.uses_data_count)
            .field("uses_v128", &self.uses_v128)
            .finish_non_exhaustive()
    }
}

impl<S: InstrSink> InstrBuilder<S> {
    /// A builder feeding `sink`, using `frames` (cleared) as its frame stack.
    pub(crate) fn new(features: Features, sink: S, frames: Vec<FrameKind>) -> InstrBuilder<S> {
        InstrBuilder {
            features,
            sink,
            offset: 0,
            error: None,
            halted: false,
            uses_data_count: false,
            uses_v128: false,
            reading_const: false,
            frames,
        }
    }

    /// Decodes the operators of a function body, `end` included, from
    /// `reader`, until its end or until the sink stops.
    pub(crate) fn read_body(
        &mut self,
        mut reader: wasmparser::BinaryReader<'_>,
    ) -> Result<BodyFacts, ParseError> {
        self.frames.clear();
        self.frames.push(FrameKind::Block);
        while !reader.eof() {
            self.offset = reader.original_position();
            reader.visit_operator(self)?;
            if self.halted {
                if let Some(e) = self.error.take() {
                    return Err(e);
                }
                return Ok(BodyFacts {
                    uses_v128: self.uses_v128,
                    stopped: true,
                });
            }
        }
        reader.finish_expression(self)?;
        Ok(BodyFacts {
            uses_v128: self.uses_v128,
            stopped: false,
        })
    }
}

impl InstrBuilder<Vec<Instr>> {
    /// Decodes a constant expression, without its final `end`.
    pub(crate) fn read_const_expr(
        &mut self,
        expr: &wasmparser::ConstExpr<'_>,
    ) -> Result<Box<[Instr]>, ParseError> {
        self.sink.clear();
        self.frames.clear();
        self.frames.push(FrameKind::Block);
        self.reading_const = true;
        let read = self.read_const_operators(expr);
        self.reading_const = false;
        read
    }

    /// [`InstrBuilder::read_const_expr`] once set up.
    fn read_const_operators(
        &mut self,
        expr: &wasmparser::ConstExpr<'_>,
    ) -> Result<Box<[Instr]>, ParseError> {
        let mut reader = expr.get_binary_reader();
        loop {
            self.offset = reader.original_position();
            reader.visit_operator(self)?;
            if self.halted
                && let Some(e) = self.error.take()
            {
                return Err(e);
            }
            if reader.eof() && matches!(self.sink.last(), Some(Instr::End)) {
                self.sink.pop();
                break;
            }
        }
        reader.finish_expression(self)?;
        // One allocation of exactly the right size, leaving the scratch
        // vector its capacity.
        let mut exact = Vec::with_capacity(self.sink.len());
        exact.append(&mut self.sink);
        Ok(exact.into_boxed_slice())
    }
}

impl<S: InstrSink> InstrBuilder<S> {
    /// Records the outcome of one `visit_*` method.
    #[inline(always)]
    fn push(&mut self, instr: Result<Instr, ParseError>) {
        match instr {
            Ok(instr) => {
                if instr == Instr::Select(Some(ValType::V128)) {
                    self.uses_v128 = true;
                }
                if !self.sink.push(instr, self.offset) {
                    self.halted = true;
                }
            }
            Err(e) => self.fail(e),
        }
    }

    #[cold]
    #[inline(never)]
    fn fail(&mut self, e: ParseError) {
        self.error = Some(e);
        self.halted = true;
    }

    /// The error for an operator of a proposal Kiln does not implement.
    #[cold]
    #[inline(never)]
    fn unsupported<T>(&self, proposal: &'static str, op: &'static str) -> Result<T, ParseError> {
        Err(ParseError::unsupported(
            proposal_name(proposal),
            &format!("instruction {op}"),
            self.offset,
        ))
    }

    fn block_type(&self, b: wasmparser::BlockType) -> Result<BlockType, ParseError> {
        Ok(match b {
            wasmparser::BlockType::Empty => BlockType::Empty,
            wasmparser::BlockType::Type(t) => {
                BlockType::Value(convert_val_type(t, self.features, self.offset)?)
            }
            wasmparser::BlockType::FuncType(t) => BlockType::Func(TypeIdx(t)),
        })
    }

    fn memarg(&self, m: wasmparser::MemArg) -> Result<MemArg, ParseError> {
        if m.ordering.is_some() {
            return Err(ParseError::unsupported(
                "acquire-release-atomics",
                "a memory ordering",
                self.offset,
            ));
        }
        let wasmparser::MemArgTarget::Memory(memory) = m.target else {
            return Err(ParseError::unsupported(
                "gc",
                "an array memory access",
                self.offset,
            ));
        };
        Ok(MemArg {
            offset: m.offset,
            memory: MemIdx(memory),
            align: m.align,
        })
    }

    fn br_table(&self, targets: wasmparser::BrTable<'_>) -> Result<Instr, ParseError> {
        // Each target takes at least one byte, so this capacity is bounded by the input.
        let mut list = Vec::with_capacity(targets.len().min(4096) as usize);
        for t in targets.targets() {
            list.push(LabelIdx(t?));
        }
        Ok(Instr::BrTable(Box::new(BrTable {
            targets: list.into_boxed_slice(),
            default: LabelIdx(targets.default()),
        })))
    }

    /// Converts the heap type of `ref.null`.
    fn ref_null(&self, h: wasmparser::HeapType) -> Result<Instr, ParseError> {
        let nullable = wasmparser::RefType::new(true, h)
            .ok_or_else(|| ParseError::unsupported("gc", "this heap type", self.offset))?;
        Ok(Instr::RefNull(
            convert_ref_type(nullable, self.features, self.offset)?.heap,
        ))
    }

    /// `instr`, an operator of typed function references, if they are on.
    fn typed_refs(
        &self,
        p: &'static str,
        op: &'static str,
        instr: Instr,
    ) -> Result<Instr, ParseError> {
        if self.features.function_references {
            Ok(instr)
        } else {
            self.unsupported(p, op)
        }
    }

    /// `instr`, an operator of exception handling, if it is on.
    fn exceptions(
        &self,
        p: &'static str,
        op: &'static str,
        instr: Instr,
    ) -> Result<Instr, ParseError> {
        if self.features.exceptions {
            Ok(instr)
        } else {
            self.unsupported(p, op)
        }
    }

    fn try_table(&self, t: wasmparser::TryTable) -> Result<Instr, ParseError> {
        if !self.features.exceptions {
            return self.unsupported("exceptions", "TryTable");
        }
        let catches = t
            .catches
            .iter()
            .map(|c| match *c {
                wasmparser::Catch::One { tag, label } => Catch {
                    tag: Some(TagIdx(tag)),
                    with_ref: false,
                    label: LabelIdx(label),
                },
                wasmparser::Catch::OneRef { tag, label } => Catch {
                    tag: Some(TagIdx(tag)),
                    with_ref: true,
                    label: LabelIdx(label),
                },
                wasmparser::Catch::All { label } => Catch {
                    tag: None,
                    with_ref: false,
                    label: LabelIdx(label),
                },
                wasmparser::Catch::AllRef { label } => Catch {
                    tag: None,
                    with_ref: true,
                    label: LabelIdx(label),
                },
            })
            .collect();
        Ok(Instr::TryTable(Box::new(TryTable {
            ty: self.block_type(t.ty)?,
            catches,
        })))
    }
}

/// The `Instr` for one operator, as an expression of type
/// `Result<Instr, ParseError>`: an error for an operator Kiln does not
/// implement or an immediate it cannot convert.
///
/// Called as `convert!(self, proposal, Op, visit_op, arg = arg, ...)`, each
/// immediate twice: the first is matched against the rules' names, the second
/// is the method's parameter. Operators with immediates get a rule each;
/// operators without any are looked up in [`NumOp`]'s table, and those whose
/// only immediate is a memarg in [`LoadOp`]'s and [`StoreOp`]'s, both at
/// compile time; whatever is left is unsupported.
macro_rules! convert {
    // Control.
    ($s:ident, $p:ident, $op:ident, visit_unreachable) => { Ok(Instr::Unreachable) };
    ($s:ident, $p:ident, $op:ident, visit_nop) => { Ok(Instr::Nop) };
    ($s:ident, $p:ident, $op:ident, visit_block, blockty = $b:ident) => {{
        $s.frames.push(FrameKind::Block);
        Ok(Instr::Block($s.block_type($b)?))
    }};
    ($s:ident, $p:ident, $op:ident, visit_loop, blockty = $b:ident) => {{
        $s.frames.push(FrameKind::Loop);
        Ok(Instr::Loop($s.block_type($b)?))
    }};
    ($s:ident, $p:ident, $op:ident, visit_if, blockty = $b:ident) => {{
        $s.frames.push(FrameKind::If);
        Ok(Instr::If($s.block_type($b)?))
    }};
    ($s:ident, $p:ident, $op:ident, visit_else) => {{
        // The decoder has checked that the innermost frame is an `if`.
        if let Some(frame) = $s.frames.last_mut() {
            *frame = FrameKind::Else;
        }
        Ok(Instr::Else)
    }};
    ($s:ident, $p:ident, $op:ident, visit_end) => {{
        $s.frames.pop();
        Ok(Instr::End)
    }};
    ($s:ident, $p:ident, $op:ident, visit_br, relative_depth = $d:ident) => {
        Ok(Instr::Br(LabelIdx($d)))
    };
    ($s:ident, $p:ident, $op:ident, visit_br_if, relative_depth = $d:ident) => {
        Ok(Instr::BrIf(LabelIdx($d)))
    };
    ($s:ident, $p:ident, $op:ident, visit_br_table, targets = $t:ident) => { $s.br_table($t) };
    ($s:ident, $p:ident, $op:ident, visit_br_on_null, relative_depth = $d:ident) => {
        $s.typed_refs(stringify!($p), stringify!($op), Instr::BrOnNull(LabelIdx($d)))
    };
    ($s:ident, $p:ident, $op:ident, visit_br_on_non_null, relative_depth = $d:ident) => {
        $s.typed_refs(stringify!($p), stringify!($op), Instr::BrOnNonNull(LabelIdx($d)))
    };
    ($s:ident, $p:ident, $op:ident, visit_call_ref, type_index = $t:ident) => {
        $s.typed_refs(stringify!($p), stringify!($op), Instr::CallRef(TypeIdx($t)))
    };
    ($s:ident, $p:ident, $op:ident, visit_return_call_ref, type_index = $t:ident) => {
        if $s.features.tail_call {
            $s.typed_refs(stringify!($p), stringify!($op), Instr::ReturnCallRef(TypeIdx($t)))
        } else {
            $s.unsupported("tail_call", stringify!($op))
        }
    };
    ($s:ident, $p:ident, $op:ident, visit_ref_as_non_null) => {
        $s.typed_refs(stringify!($p), stringify!($op), Instr::RefAsNonNull)
    };
    ($s:ident, $p:ident, $op:ident, visit_throw, tag_index = $t:ident) => {
        $s.exceptions(stringify!($p), stringify!($op), Instr::Throw(TagIdx($t)))
    };
    ($s:ident, $p:ident, $op:ident, visit_throw_ref) => {
        $s.exceptions(stringify!($p), stringify!($op), Instr::ThrowRef)
    };
    ($s:ident, $p:ident, $op:ident, visit_try_table, try_table = $t:ident) => {{
        $s.frames.push(FrameKind::TryTable);
        $s.try_table($t)
    }};
    ($s:ident, $p:ident, $op:ident, visit_return) => { Ok(Instr::Return) };
    ($s:ident, $p:ident, $op:ident, visit_call, function_index = $f:ident) => {
        Ok(Instr::Call(FuncIdx($f)))
    };
    (
        $s:ident, $p:ident, $op:ident, visit_call_indirect,
        type_index = $t:ident, table_index = $table:ident
    ) => {
        Ok(Instr::CallIndirect { ty: TypeIdx($t), table: TableIdx($table) })
    };
    ($s:ident, $p:ident, $op:ident, visit_return_call, function_index = $f:ident) => {
        if $s.features.tail_call {
            Ok(Instr::ReturnCall(FuncIdx($f)))
        } else {
            $s.unsupported(stringify!($p), stringify!($op))
        }
    };
    (
        $s:ident, $p:ident, $op:ident, visit_return_call_indirect,
        type_index = $t:ident, table_index = $table:ident
    ) => {
        if $s.features.tail_call {
            Ok(Instr::ReturnCallIndirect { ty: TypeIdx($t), table: TableIdx($table) })
        } else {
            $s.unsupported(stringify!($p), stringify!($op))
        }
    };

    // Parametric and variable instructions.
    ($s:ident, $p:ident, $op:ident, visit_drop) => { Ok(Instr::Drop) };
    ($s:ident, $p:ident, $op:ident, visit_select) => { Ok(Instr::Select(None)) };
    ($s:ident, $p:ident, $op:ident, visit_typed_select, ty = $t:ident) => {
        Ok(Instr::Select(Some(convert_val_type($t, $s.features, $s.offset)?)))
    };
    ($s:ident, $p:ident, $op:ident, visit_typed_select_multi, tys = $t:ident) => {{
        let _ = $t;
        Err(ParseError::invalid("invalid result arity", $s.offset))
    }};
    ($s:ident, $p:ident, $op:ident, visit_local_get, local_index = $l:ident) => {
        Ok(Instr::LocalGet(LocalIdx($l)))
    };
    ($s:ident, $p:ident, $op:ident, visit_local_set, local_index = $l:ident) => {
        Ok(Instr::LocalSet(LocalIdx($l)))
    };
    ($s:ident, $p:ident, $op:ident, visit_local_tee, local_index = $l:ident) => {
        Ok(Instr::LocalTee(LocalIdx($l)))
    };
    ($s:ident, $p:ident, $op:ident, visit_global_get, global_index = $g:ident) => {
        Ok(Instr::GlobalGet(GlobalIdx($g)))
    };
    ($s:ident, $p:ident, $op:ident, visit_global_set, global_index = $g:ident) => {
        Ok(Instr::GlobalSet(GlobalIdx($g)))
    };

    // Tables.
    ($s:ident, $p:ident, $op:ident, visit_table_get, table = $t:ident) => {
        Ok(Instr::TableGet(TableIdx($t)))
    };
    ($s:ident, $p:ident, $op:ident, visit_table_set, table = $t:ident) => {
        Ok(Instr::TableSet(TableIdx($t)))
    };
    ($s:ident, $p:ident, $op:ident, visit_table_size, table = $t:ident) => {
        Ok(Instr::TableSize(TableIdx($t)))
    };
    ($s:ident, $p:ident, $op:ident, visit_table_grow, table = $t:ident) => {
        Ok(Instr::TableGrow(TableIdx($t)))
    };
    ($s:ident, $p:ident, $op:ident, visit_table_fill, table = $t:ident) => {
        Ok(Instr::TableFill(TableIdx($t)))
    };
    (
        $s:ident, $p:ident, $op:ident, visit_table_copy,
        dst_table = $d:ident, src_table = $src:ident
    ) => {
        Ok(Instr::TableCopy { dst: TableIdx($d), src: TableIdx($src) })
    };
    (
        $s:ident, $p:ident, $op:ident, visit_table_init,
        elem_index = $e:ident, table = $t:ident
    ) => {
        Ok(Instr::TableInit { table: TableIdx($t), elem: ElemIdx($e) })
    };
    ($s:ident, $p:ident, $op:ident, visit_elem_drop, elem_index = $e:ident) => {
        Ok(Instr::ElemDrop(ElemIdx($e)))
    };

    // Memories, besides plain loads and stores.
    ($s:ident, $p:ident, $op:ident, visit_memory_size, mem = $m:ident) => {
        Ok(Instr::MemorySize(MemIdx($m)))
    };
    ($s:ident, $p:ident, $op:ident, visit_memory_grow, mem = $m:ident) => {
        Ok(Instr::MemoryGrow(MemIdx($m)))
    };
    ($s:ident, $p:ident, $op:ident, visit_memory_fill, mem = $m:ident) => {
        Ok(Instr::MemoryFill(MemIdx($m)))
    };
    (
        $s:ident, $p:ident, $op:ident, visit_memory_copy,
        dst_mem = $d:ident, src_mem = $src:ident
    ) => {
        Ok(Instr::MemoryCopy { dst: MemIdx($d), src: MemIdx($src) })
    };
    (
        $s:ident, $p:ident, $op:ident, visit_memory_init,
        data_index = $d:ident, mem = $m:ident
    ) => {{
        $s.uses_data_count = true;
        Ok(Instr::MemoryInit { memory: MemIdx($m), data: DataIdx($d) })
    }};
    ($s:ident, $p:ident, $op:ident, visit_data_drop, data_index = $d:ident) => {{
        $s.uses_data_count = true;
        Ok(Instr::DataDrop(DataIdx($d)))
    }};

    // Constants and references.
    ($s:ident, $p:ident, $op:ident, visit_i32_const, value = $v:ident) => { Ok(Instr::I32Const($v)) };
    ($s:ident, $p:ident, $op:ident, visit_i64_const, value = $v:ident) => { Ok(Instr::I64Const($v)) };
    ($s:ident, $p:ident, $op:ident, visit_f32_const, value = $v:ident) => {
        Ok(Instr::F32Const($v.bits()))
    };
    ($s:ident, $p:ident, $op:ident, visit_f64_const, value = $v:ident) => {
        Ok(Instr::F64Const($v.bits()))
    };
    ($s:ident, $p:ident, $op:ident, visit_v128_const, value = $v:ident) => {
        Ok(Instr::V128Const(*$v.bytes()))
    };
    ($s:ident, $p:ident, $op:ident, visit_ref_null, hty = $h:ident) => { $s.ref_null($h) };
    ($s:ident, $p:ident, $op:ident, visit_ref_is_null) => { Ok(Instr::RefIsNull) };
    ($s:ident, $p:ident, $op:ident, visit_ref_func, function_index = $f:ident) => {
        Ok(Instr::RefFunc(FuncIdx($f)))
    };

    // GC.
    ($s:ident, $p:ident, $op:ident, visit_ref_eq) => { $s.gc("ref.eq", GcInstr::RefEq) };
    ($s:ident, $p:ident, $op:ident, visit_struct_new, struct_type_index = $t:ident) => {
        $s.gc("struct.new", GcInstr::StructNew(TypeIdx($t)))
    };
    ($s:ident, $p:ident, $op:ident, visit_struct_new_default, struct_type_index = $t:ident) => {
        $s.gc("struct.new_default", GcInstr::StructNewDefault(TypeIdx($t)))
    };
    (
        $s:ident, $p:ident, $op:ident, visit_struct_get,
        struct_type_index = $t:ident, field_index = $f:ident
    ) => {
        $s.gc("struct.get", GcInstr::StructGet { ty: TypeIdx($t), field: $f, read: FieldRead::Plain })
    };
    (
        $s:ident, $p:ident, $op:ident, visit_struct_get_s,
        struct_type_index = $t:ident, field_index = $f:ident
    ) => {
        $s.gc("struct.get_s", GcInstr::StructGet { ty: TypeIdx($t), field: $f, read: FieldRead::Signed })
    };
    (
        $s:ident, $p:ident, $op:ident, visit_struct_get_u,
        struct_type_index = $t:ident, field_index = $f:ident
    ) => {
        $s.gc("struct.get_u", GcInstr::StructGet { ty: TypeIdx($t), field: $f, read: FieldRead::Unsigned })
    };
    (
        $s:ident, $p:ident, $op:ident, visit_struct_set,
        struct_type_index = $t:ident, field_index = $f:ident
    ) => {
        $s.gc("struct.set", GcInstr::StructSet { ty: TypeIdx($t), field: $f })
    };
    ($s:ident, $p:ident, $op:ident, visit_array_new, array_type_index = $t:ident) => {
        $s.gc("array.new", GcInstr::ArrayNew(TypeIdx($t)))
    };
    ($s:ident, $p:ident, $op:ident, visit_array_new_default, array_type_index = $t:ident) => {
        $s.gc("array.new_default", GcInstr::ArrayNewDefault(TypeIdx($t)))
    };
    (
        $s:ident, $p:ident, $op:ident, visit_array_new_fixed,
        array_type_index = $t:ident, array_size = $n:ident
    ) => {
        $s.gc("array.new_fixed", GcInstr::ArrayNewFixed { ty: TypeIdx($t), len: $n })
    };
    (
        $s:ident, $p:ident, $op:ident, visit_array_new_data,
        array_type_index = $t:ident, array_data_index = $d:ident
    ) => {
        $s.gc_data("array.new_data", GcInstr::ArrayNewData { ty: TypeIdx($t), data: DataIdx($d) })
    };
    (
        $s:ident, $p:ident, $op:ident, visit_array_new_elem,
        array_type_index = $t:ident, array_elem_index = $e:ident
    ) => {
        $s.gc("array.new_elem", GcInstr::ArrayNewElem { ty: TypeIdx($t), elem: ElemIdx($e) })
    };
    ($s:ident, $p:ident, $op:ident, visit_array_get, array_type_index = $t:ident) => {
        $s.gc("array.get", GcInstr::ArrayGet { ty: TypeIdx($t), read: FieldRead::Plain })
    };
    ($s:ident, $p:ident, $op:ident, visit_array_get_s, array_type_index = $t:ident) => {
        $s.gc("array.get_s", GcInstr::ArrayGet { ty: TypeIdx($t), read: FieldRead::Signed })
    };
    ($s:ident, $p:ident, $op:ident, visit_array_get_u, array_type_index = $t:ident) => {
        $s.gc("array.get_u", GcInstr::ArrayGet { ty: TypeIdx($t), read: FieldRead::Unsigned })
    };
    ($s:ident, $p:ident, $op:ident, visit_array_set, array_type_index = $t:ident) => {
        $s.gc("array.set", GcInstr::ArraySet(TypeIdx($t)))
    };
    ($s:ident, $p:ident, $op:ident, visit_array_len) => { $s.gc("array.len", GcInstr::ArrayLen) };
    ($s:ident, $p:ident, $op:ident, visit_array_fill, array_type_index = $t:ident) => {
        $s.gc("array.fill", GcInstr::ArrayFill(TypeIdx($t)))
    };
    (
        $s:ident, $p:ident, $op:ident, visit_array_copy,
        array_type_index_dst = $d:ident, array_type_index_src = $src:ident
    ) => {
        $s.gc("array.copy", GcInstr::ArrayCopy { dst: TypeIdx($d), src: TypeIdx($src) })
    };
    (
        $s:ident, $p:ident, $op:ident, visit_array_init_data,
        array_type_index = $t:ident, array_data_index = $d:ident
    ) => {
        $s.gc_data("array.init_data", GcInstr::ArrayInitData { ty: TypeIdx($t), data: DataIdx($d) })
    };
    (
        $s:ident, $p:ident, $op:ident, visit_array_init_elem,
        array_type_index = $t:ident, array_elem_index = $e:ident
    ) => {
        $s.gc("array.init_elem", GcInstr::ArrayInitElem { ty: TypeIdx($t), elem: ElemIdx($e) })
    };
    ($s:ident, $p:ident, $op:ident, visit_ref_test_non_null, hty = $h:ident) => {
        $s.gc("ref.test", GcInstr::RefTest($s.gc_ref_type(false, $h)?))
    };
    ($s:ident, $p:ident, $op:ident, visit_ref_test_nullable, hty = $h:ident) => {
        $s.gc("ref.test", GcInstr::RefTest($s.gc_ref_type(true, $h)?))
    };
    ($s:ident, $p:ident, $op:ident, visit_ref_cast_non_null, hty = $h:ident) => {
        $s.gc("ref.cast", GcInstr::RefCast($s.gc_ref_type(false, $h)?))
    };
    ($s:ident, $p:ident, $op:ident, visit_ref_cast_nullable, hty = $h:ident) => {
        $s.gc("ref.cast", GcInstr::RefCast($s.gc_ref_type(true, $h)?))
    };
    (
        $s:ident, $p:ident, $op:ident, visit_br_on_cast,
        relative_depth = $d:ident, from_ref_type = $from:ident, to_ref_type = $to:ident
    ) => {
        $s.br_on_cast("br_on_cast", $d, $from, $to, false)
    };
    (
        $s:ident, $p:ident, $op:ident, visit_br_on_cast_fail,
        relative_depth = $d:ident, from_ref_type = $from:ident, to_ref_type = $to:ident
    ) => {
        $s.br_on_cast("br_on_cast_fail", $d, $from, $to, true)
    };
    ($s:ident, $p:ident, $op:ident, visit_any_convert_extern) => {
        $s.gc("any.convert_extern", GcInstr::AnyConvertExtern)
    };
    ($s:ident, $p:ident, $op:ident, visit_extern_convert_any) => {
        $s.gc("extern.convert_any", GcInstr::ExternConvertAny)
    };
    ($s:ident, $p:ident, $op:ident, visit_ref_i31) => { $s.gc("ref.i31", GcInstr::RefI31) };
    ($s:ident, $p:ident, $op:ident, visit_i31_get_s) => { $s.gc("i31.get_s", GcInstr::I31Get(true)) };
    ($s:ident, $p:ident, $op:ident, visit_i31_get_u) => { $s.gc("i31.get_u", GcInstr::I31Get(false)) };

    // Vector lanes.
    ($s:ident, $p:ident, $op:ident, visit_i8x16_shuffle, lanes = $l:ident) => {
        Ok(Instr::Shuffle($l))
    };
    ($s:ident, $p:ident, $op:ident, visit_v128_load8_lane, memarg = $m:ident, lane = $l:ident) => {
        Ok(Instr::LoadLane(LaneWidth::B8, $s.memarg($m)?, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_v128_load16_lane, memarg = $m:ident, lane = $l:ident) => {
        Ok(Instr::LoadLane(LaneWidth::B16, $s.memarg($m)?, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_v128_load32_lane, memarg = $m:ident, lane = $l:ident) => {
        Ok(Instr::LoadLane(LaneWidth::B32, $s.memarg($m)?, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_v128_load64_lane, memarg = $m:ident, lane = $l:ident) => {
        Ok(Instr::LoadLane(LaneWidth::B64, $s.memarg($m)?, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_v128_store8_lane, memarg = $m:ident, lane = $l:ident) => {
        Ok(Instr::StoreLane(LaneWidth::B8, $s.memarg($m)?, $l))
    };
    (
        $s:ident, $p:ident, $op:ident, visit_v128_store16_lane,
        memarg = $m:ident, lane = $l:ident
    ) => {
        Ok(Instr::StoreLane(LaneWidth::B16, $s.memarg($m)?, $l))
    };
    (
        $s:ident, $p:ident, $op:ident, visit_v128_store32_lane,
        memarg = $m:ident, lane = $l:ident
    ) => {
        Ok(Instr::StoreLane(LaneWidth::B32, $s.memarg($m)?, $l))
    };
    (
        $s:ident, $p:ident, $op:ident, visit_v128_store64_lane,
        memarg = $m:ident, lane = $l:ident
    ) => {
        Ok(Instr::StoreLane(LaneWidth::B64, $s.memarg($m)?, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_i8x16_extract_lane_s, lane = $l:ident) => {
        Ok(Instr::ExtractLane(LaneShape::I8x16S, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_i8x16_extract_lane_u, lane = $l:ident) => {
        Ok(Instr::ExtractLane(LaneShape::I8x16U, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_i16x8_extract_lane_s, lane = $l:ident) => {
        Ok(Instr::ExtractLane(LaneShape::I16x8S, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_i16x8_extract_lane_u, lane = $l:ident) => {
        Ok(Instr::ExtractLane(LaneShape::I16x8U, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_i32x4_extract_lane, lane = $l:ident) => {
        Ok(Instr::ExtractLane(LaneShape::I32x4, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_i64x2_extract_lane, lane = $l:ident) => {
        Ok(Instr::ExtractLane(LaneShape::I64x2, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_f32x4_extract_lane, lane = $l:ident) => {
        Ok(Instr::ExtractLane(LaneShape::F32x4, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_f64x2_extract_lane, lane = $l:ident) => {
        Ok(Instr::ExtractLane(LaneShape::F64x2, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_i8x16_replace_lane, lane = $l:ident) => {
        Ok(Instr::ReplaceLane(LaneShape::I8x16U, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_i16x8_replace_lane, lane = $l:ident) => {
        Ok(Instr::ReplaceLane(LaneShape::I16x8U, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_i32x4_replace_lane, lane = $l:ident) => {
        Ok(Instr::ReplaceLane(LaneShape::I32x4, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_i64x2_replace_lane, lane = $l:ident) => {
        Ok(Instr::ReplaceLane(LaneShape::I64x2, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_f32x4_replace_lane, lane = $l:ident) => {
        Ok(Instr::ReplaceLane(LaneShape::F32x4, $l))
    };
    ($s:ident, $p:ident, $op:ident, visit_f64x2_replace_lane, lane = $l:ident) => {
        Ok(Instr::ReplaceLane(LaneShape::F64x2, $l))
    };

    // Any other operator without immediates: numeric or vector, or unsupported.
    ($s:ident, $p:ident, $op:ident, $visit:ident) => {{
        const OP: Option<NumOp> = NumOp::from_name(stringify!($op));
        const RELAXED: bool = same_name(stringify!($p), "relaxed_simd");
        match OP {
            Some(op) if !RELAXED || $s.features.relaxed_simd => Ok(Instr::Num(op)),
            _ => $s.unsupported(stringify!($p), stringify!($op)),
        }
    }};
    // Any other operator whose only immediate is a memarg: a load, a store, or unsupported.
    ($s:ident, $p:ident, $op:ident, $visit:ident, memarg = $m:ident) => {{
        const LOAD: Option<LoadOp> = LoadOp::from_name(stringify!($op));
        const STORE: Option<StoreOp> = StoreOp::from_name(stringify!($op));
        match (LOAD, STORE) {
            (Some(op), _) => Ok(Instr::Load(op, $s.memarg($m)?)),
            (None, Some(op)) => Ok(Instr::Store(op, $s.memarg($m)?)),
            (None, None) => $s.unsupported(stringify!($p), stringify!($op)),
        }
    }};
    // Everything else belongs to a proposal Kiln does not implement.
    ($s:ident, $p:ident, $op:ident, $visit:ident $(, $name:ident = $arg:ident)*) => {{
        $(let _ = $arg;)*
        $s.unsupported(stringify!($p), stringify!($op))
    }};
}

/// Expands, for `wasmparser`'s list of operators, to one `visit_*` method
/// per operator that pushes the `Instr` [`convert!`] gives for it, or
/// records its error.
macro_rules! define_visit {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            #[inline]
            #[allow(clippy::redundant_closure_call, reason = "a scope for `?` (no try blocks)")]
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                let instr = (|| -> Result<Instr, ParseError> {
                    convert!(self, $proposal, $op, $visit $($(, $arg = $arg)*)?)
                })();
                self.push(instr)
            }
        )*
    };
}

impl<S> FrameStack for InstrBuilder<S> {
    #[inline]
    fn current_frame(&self) -> Option<FrameKind> {
        self.frames.last().copied()
    }
}

impl<'a, S: InstrSink> VisitOperator<'a> for InstrBuilder<S> {
    /// Errors go to `InstrBuilder::error`, checked after each operator: a
    /// `Result` here would be returned through memory (a `ParseError` is 48
    /// bytes) by every `visit_*` method, and nested in `wasmparser`'s own.
    type Output = ();

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = Self::Output>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(define_visit);
}

/// `define_visit` for the SIMD operators, which also record that the module
/// uses `v128` (see [`InstrBuilder::uses_v128`]).
macro_rules! define_visit_simd {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            #[inline]
            #[allow(clippy::redundant_closure_call, reason = "a scope for `?` (no try blocks)")]
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                self.uses_v128 = true;
                let instr = (|| -> Result<Instr, ParseError> {
                    convert!(self, $proposal, $op, $visit $($(, $arg = $arg)*)?)
                })();
                self.push(instr)
            }
        )*
    };
}

impl<S: InstrSink> VisitSimdOperator<'_> for InstrBuilder<S> {
    wasmparser::for_each_visit_simd_operator!(define_visit_simd);
}

mod gc;

#[cfg(test)]
mod tests;
