//! Conversion of `wasmparser` operators into Kiln's [`Instr`].
//!
//! Every operator of the feature set Kiln implements maps to one `Instr`;
//! every other operator is rejected with an error that names its proposal.

use wasmparser::Operator as O;

use crate::error::ParseError;
use crate::features::Features;
use crate::instr::{BrTable, Instr, LaneShape, LaneWidth, LoadOp, MemArg, StoreOp};
use crate::num_ops::NumOp;
use crate::types::{
    BlockType, DataIdx, ElemIdx, FuncIdx, GlobalIdx, LabelIdx, LocalIdx, MemIdx, TableIdx, TypeIdx,
};
use crate::{convert_ref_type, convert_val_type};

/// Generates `operator_proposal`, mapping each `wasmparser` operator to the tag of the
/// proposal that introduced it (`mvp`, `simd`, `gc`, ...), from `wasmparser`'s own list.
macro_rules! define_operator_proposal {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        fn operator_proposal(op: &O<'_>) -> &'static str {
            match op {
                $( O::$op { .. } => stringify!($proposal), )*
                _ => "unknown",
            }
        }
    };
}
wasmparser::for_each_operator!(define_operator_proposal);

/// The proposal's name as the WebAssembly proposals repository spells it.
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

/// Converts one decoded operator at byte `offset`.
///
/// `uses_data_count` is set when the operator refers to a data segment, since
/// the binary format then requires a data count section.
pub(crate) fn convert_operator(
    op: &O<'_>,
    offset: u64,
    features: Features,
    uses_data_count: &mut bool,
) -> Result<Instr, ParseError> {
    if let Some(n) = NumOp::from_operator(op) {
        return Ok(Instr::Num(n));
    }
    if let Some((l, m)) = LoadOp::from_operator(op) {
        return Ok(Instr::Load(l, memarg(m, offset)?));
    }
    if let Some((s, m)) = StoreOp::from_operator(op) {
        return Ok(Instr::Store(s, memarg(m, offset)?));
    }
    let block = |b: &wasmparser::BlockType| -> Result<BlockType, ParseError> {
        Ok(match *b {
            wasmparser::BlockType::Empty => BlockType::Empty,
            wasmparser::BlockType::Type(t) => BlockType::Value(convert_val_type(t, offset)?),
            wasmparser::BlockType::FuncType(t) => BlockType::Func(TypeIdx(t)),
        })
    };
    let instr = match op {
        O::Unreachable => Instr::Unreachable,
        O::Nop => Instr::Nop,
        O::Block { blockty } => Instr::Block(block(blockty)?),
        O::Loop { blockty } => Instr::Loop(block(blockty)?),
        O::If { blockty } => Instr::If(block(blockty)?),
        O::Else => Instr::Else,
        O::End => Instr::End,
        O::Br { relative_depth } => Instr::Br(LabelIdx(*relative_depth)),
        O::BrIf { relative_depth } => Instr::BrIf(LabelIdx(*relative_depth)),
        O::BrTable { targets } => {
            // Each target takes at least one byte, so this capacity is bounded by the input.
            let mut list = Vec::with_capacity(targets.len().min(4096) as usize);
            for t in targets.targets() {
                list.push(LabelIdx(t?));
            }
            Instr::BrTable(Box::new(BrTable {
                targets: list.into_boxed_slice(),
                default: LabelIdx(targets.default()),
            }))
        }
        O::Return => Instr::Return,
        O::Call { function_index } => Instr::Call(FuncIdx(*function_index)),
        O::CallIndirect {
            type_index,
            table_index,
        } => Instr::CallIndirect {
            ty: TypeIdx(*type_index),
            table: TableIdx(*table_index),
        },
        O::ReturnCall { function_index } if features.tail_call => {
            Instr::ReturnCall(FuncIdx(*function_index))
        }
        O::ReturnCallIndirect {
            type_index,
            table_index,
        } if features.tail_call => Instr::ReturnCallIndirect {
            ty: TypeIdx(*type_index),
            table: TableIdx(*table_index),
        },
        O::Drop => Instr::Drop,
        O::Select => Instr::Select(None),
        O::TypedSelect { ty } => Instr::Select(Some(convert_val_type(*ty, offset)?)),
        O::TypedSelectMulti { .. } => {
            return Err(ParseError::invalid("invalid result arity", offset));
        }
        O::LocalGet { local_index } => Instr::LocalGet(LocalIdx(*local_index)),
        O::LocalSet { local_index } => Instr::LocalSet(LocalIdx(*local_index)),
        O::LocalTee { local_index } => Instr::LocalTee(LocalIdx(*local_index)),
        O::GlobalGet { global_index } => Instr::GlobalGet(GlobalIdx(*global_index)),
        O::GlobalSet { global_index } => Instr::GlobalSet(GlobalIdx(*global_index)),
        O::TableGet { table } => Instr::TableGet(TableIdx(*table)),
        O::TableSet { table } => Instr::TableSet(TableIdx(*table)),
        O::TableSize { table } => Instr::TableSize(TableIdx(*table)),
        O::TableGrow { table } => Instr::TableGrow(TableIdx(*table)),
        O::TableFill { table } => Instr::TableFill(TableIdx(*table)),
        O::TableCopy {
            dst_table,
            src_table,
        } => Instr::TableCopy {
            dst: TableIdx(*dst_table),
            src: TableIdx(*src_table),
        },
        O::TableInit { elem_index, table } => Instr::TableInit {
            table: TableIdx(*table),
            elem: ElemIdx(*elem_index),
        },
        O::ElemDrop { elem_index } => Instr::ElemDrop(ElemIdx(*elem_index)),
        O::MemorySize { mem } => Instr::MemorySize(MemIdx(*mem)),
        O::MemoryGrow { mem } => Instr::MemoryGrow(MemIdx(*mem)),
        O::MemoryFill { mem } => Instr::MemoryFill(MemIdx(*mem)),
        O::MemoryCopy { dst_mem, src_mem } => Instr::MemoryCopy {
            dst: MemIdx(*dst_mem),
            src: MemIdx(*src_mem),
        },
        O::MemoryInit { data_index, mem } => {
            *uses_data_count = true;
            Instr::MemoryInit {
                memory: MemIdx(*mem),
                data: DataIdx(*data_index),
            }
        }
        O::DataDrop { data_index } => {
            *uses_data_count = true;
            Instr::DataDrop(DataIdx(*data_index))
        }
        O::I32Const { value } => Instr::I32Const(*value),
        O::I64Const { value } => Instr::I64Const(*value),
        O::F32Const { value } => Instr::F32Const(value.bits()),
        O::F64Const { value } => Instr::F64Const(value.bits()),
        O::V128Const { value } => Instr::V128Const(*value.bytes()),
        O::RefNull { hty } => Instr::RefNull(convert_heap_type(*hty, offset)?),
        O::RefIsNull => Instr::RefIsNull,
        O::RefFunc { function_index } => Instr::RefFunc(FuncIdx(*function_index)),
        O::I8x16Shuffle { lanes } => Instr::Shuffle(*lanes),
        O::V128Load8Lane { memarg: m, lane } => {
            Instr::LoadLane(LaneWidth::B8, memarg(*m, offset)?, *lane)
        }
        O::V128Load16Lane { memarg: m, lane } => {
            Instr::LoadLane(LaneWidth::B16, memarg(*m, offset)?, *lane)
        }
        O::V128Load32Lane { memarg: m, lane } => {
            Instr::LoadLane(LaneWidth::B32, memarg(*m, offset)?, *lane)
        }
        O::V128Load64Lane { memarg: m, lane } => {
            Instr::LoadLane(LaneWidth::B64, memarg(*m, offset)?, *lane)
        }
        O::V128Store8Lane { memarg: m, lane } => {
            Instr::StoreLane(LaneWidth::B8, memarg(*m, offset)?, *lane)
        }
        O::V128Store16Lane { memarg: m, lane } => {
            Instr::StoreLane(LaneWidth::B16, memarg(*m, offset)?, *lane)
        }
        O::V128Store32Lane { memarg: m, lane } => {
            Instr::StoreLane(LaneWidth::B32, memarg(*m, offset)?, *lane)
        }
        O::V128Store64Lane { memarg: m, lane } => {
            Instr::StoreLane(LaneWidth::B64, memarg(*m, offset)?, *lane)
        }
        O::I8x16ExtractLaneS { lane } => Instr::ExtractLane(LaneShape::I8x16S, *lane),
        O::I8x16ExtractLaneU { lane } => Instr::ExtractLane(LaneShape::I8x16U, *lane),
        O::I16x8ExtractLaneS { lane } => Instr::ExtractLane(LaneShape::I16x8S, *lane),
        O::I16x8ExtractLaneU { lane } => Instr::ExtractLane(LaneShape::I16x8U, *lane),
        O::I32x4ExtractLane { lane } => Instr::ExtractLane(LaneShape::I32x4, *lane),
        O::I64x2ExtractLane { lane } => Instr::ExtractLane(LaneShape::I64x2, *lane),
        O::F32x4ExtractLane { lane } => Instr::ExtractLane(LaneShape::F32x4, *lane),
        O::F64x2ExtractLane { lane } => Instr::ExtractLane(LaneShape::F64x2, *lane),
        O::I8x16ReplaceLane { lane } => Instr::ReplaceLane(LaneShape::I8x16U, *lane),
        O::I16x8ReplaceLane { lane } => Instr::ReplaceLane(LaneShape::I16x8U, *lane),
        O::I32x4ReplaceLane { lane } => Instr::ReplaceLane(LaneShape::I32x4, *lane),
        O::I64x2ReplaceLane { lane } => Instr::ReplaceLane(LaneShape::I64x2, *lane),
        O::F32x4ReplaceLane { lane } => Instr::ReplaceLane(LaneShape::F32x4, *lane),
        O::F64x2ReplaceLane { lane } => Instr::ReplaceLane(LaneShape::F64x2, *lane),
        other => {
            let proposal = proposal_name(operator_proposal(other));
            let name = format!("instruction {other:?}");
            let name = name.split([' ', '{']).take(2).collect::<Vec<_>>().join(" ");
            return Err(ParseError::unsupported(proposal, &name, offset));
        }
    };
    Ok(instr)
}

fn memarg(m: wasmparser::MemArg, offset: u64) -> Result<MemArg, ParseError> {
    if m.ordering.is_some() {
        return Err(ParseError::unsupported(
            "acquire-release-atomics",
            "a memory ordering",
            offset,
        ));
    }
    let wasmparser::MemArgTarget::Memory(memory) = m.target else {
        return Err(ParseError::unsupported(
            "gc",
            "an array memory access",
            offset,
        ));
    };
    Ok(MemArg {
        offset: m.offset,
        memory: MemIdx(memory),
        align: m.align,
    })
}

/// Converts the heap type of `ref.null`.
fn convert_heap_type(
    h: wasmparser::HeapType,
    offset: u64,
) -> Result<crate::types::RefType, ParseError> {
    let nullable = wasmparser::RefType::new(true, h)
        .ok_or_else(|| ParseError::unsupported("gc", "this heap type", offset))?;
    convert_ref_type(nullable, offset)
}
