//! Kiln's instruction IR: one typed enum value per WebAssembly instruction.
//!
//! Instructions are kept in a flat sequence per function body, with structured
//! control (`Block`/`Loop`/`If`/`Else`/`End`) as in the binary format, so that
//! the validator and the tiers walk the same sequence. Pure numeric and vector
//! operators are grouped under [`Instr::Num`], memory accesses under
//! [`Instr::Load`]/[`Instr::Store`], each driven by a table that carries the
//! operator's types.

use crate::num_ops::NumOp;
use crate::types::{
    BlockType, DataIdx, ElemIdx, FuncIdx, GlobalIdx, HeapType, LabelIdx, LocalIdx, MemIdx, RefType,
    TableIdx, TagIdx, TypeIdx, ValType,
};

/// The immediate of a memory access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemArg {
    /// Constant added to the dynamic address.
    pub offset: u64,
    /// Which memory (0 unless multi-memory).
    pub memory: MemIdx,
    /// log2 of the promised alignment.
    pub align: u8,
}

/// The targets of a `br_table`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrTable {
    /// Depth for each index value.
    pub targets: Box<[LabelIdx]>,
    /// Depth when the index is out of range.
    pub default: LabelIdx,
}

/// Expands `name => (type, log2 of the access width)` rows into an enum with
/// `val_type()`, `max_align()`, `name()` and a `const fn from_name` for the decoder.
macro_rules! memory_access_ops {
    ($(#[$meta:meta])* $enum:ident { $($name:ident => ($ty:ident, $align:literal),)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum $enum {
            $($name,)*
        }

        impl $enum {
            /// The type of the value loaded or stored.
            #[inline]
            pub fn val_type(self) -> ValType {
                match self {
                    $($enum::$name => ValType::$ty,)*
                }
            }

            /// log2 of the number of bytes accessed: the largest valid alignment.
            #[inline]
            pub fn max_align(self) -> u8 {
                match self {
                    $($enum::$name => $align,)*
                }
            }

            /// The operator's name.
            pub fn name(self) -> &'static str {
                match self {
                    $($enum::$name => stringify!($name),)*
                }
            }

            /// The operator spelled `name` here (as in `wasmparser`), if any;
            /// evaluated at compile time by the decoder.
            pub(crate) const fn from_name(name: &str) -> Option<$enum> {
                $(if crate::num_ops::same_name(name, stringify!($name)) {
                    return Some($enum::$name);
                })*
                None
            }
        }
    };
}

memory_access_ops! {
    /// A load: pops an address, pushes a value of `val_type()`.
    LoadOp {
        I32Load => (I32, 2),
        I64Load => (I64, 3),
        F32Load => (F32, 2),
        F64Load => (F64, 3),
        I32Load8S => (I32, 0),
        I32Load8U => (I32, 0),
        I32Load16S => (I32, 1),
        I32Load16U => (I32, 1),
        I64Load8S => (I64, 0),
        I64Load8U => (I64, 0),
        I64Load16S => (I64, 1),
        I64Load16U => (I64, 1),
        I64Load32S => (I64, 2),
        I64Load32U => (I64, 2),
        V128Load => (V128, 4),
        V128Load8x8S => (V128, 3),
        V128Load8x8U => (V128, 3),
        V128Load16x4S => (V128, 3),
        V128Load16x4U => (V128, 3),
        V128Load32x2S => (V128, 3),
        V128Load32x2U => (V128, 3),
        V128Load8Splat => (V128, 0),
        V128Load16Splat => (V128, 1),
        V128Load32Splat => (V128, 2),
        V128Load64Splat => (V128, 3),
        V128Load32Zero => (V128, 2),
        V128Load64Zero => (V128, 3),
    }
}

memory_access_ops! {
    /// A store: pops an address and a value of `val_type()`.
    StoreOp {
        I32Store => (I32, 2),
        I64Store => (I64, 3),
        F32Store => (F32, 2),
        F64Store => (F64, 3),
        I32Store8 => (I32, 0),
        I32Store16 => (I32, 1),
        I64Store8 => (I64, 0),
        I64Store16 => (I64, 1),
        I64Store32 => (I64, 2),
        V128Store => (V128, 4),
    }
}

/// A `try_table` block: its type and its catch clauses, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TryTable {
    /// The block's type.
    pub ty: BlockType,
    /// The clauses, tried in order.
    pub catches: Box<[Catch]>,
}

/// One catch clause of a `try_table`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Catch {
    /// The tag caught, or `None` for `catch_all`/`catch_all_ref`.
    pub tag: Option<TagIdx>,
    /// Whether the exception itself is passed on too (`catch_ref`,
    /// `catch_all_ref`), after the payload.
    pub with_ref: bool,
    /// Where the exception goes, relative to the `try_table` itself (label
    /// 0 is the block enclosing the `try_table`).
    pub label: LabelIdx,
}

/// The width of one lane of a `v128`, for lane loads/stores and lane access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LaneWidth {
    /// 16 lanes of 8 bits.
    B8,
    /// 8 lanes of 16 bits.
    B16,
    /// 4 lanes of 32 bits.
    B32,
    /// 2 lanes of 64 bits.
    B64,
}

impl LaneWidth {
    /// How many lanes a `v128` has at this width.
    #[inline]
    pub fn lanes(self) -> u8 {
        match self {
            LaneWidth::B8 => 16,
            LaneWidth::B16 => 8,
            LaneWidth::B32 => 4,
            LaneWidth::B64 => 2,
        }
    }

    /// log2 of the lane size in bytes: the largest valid alignment of a lane access.
    #[inline]
    pub fn max_align(self) -> u8 {
        match self {
            LaneWidth::B8 => 0,
            LaneWidth::B16 => 1,
            LaneWidth::B32 => 2,
            LaneWidth::B64 => 3,
        }
    }
}

/// A lane shape of `extract_lane`/`replace_lane`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LaneShape {
    /// `i8x16`, extracted sign-extended.
    I8x16S,
    /// `i8x16`, extracted zero-extended (also used for `replace_lane`).
    I8x16U,
    /// `i16x8`, extracted sign-extended.
    I16x8S,
    /// `i16x8`, extracted zero-extended (also used for `replace_lane`).
    I16x8U,
    /// `i32x4`.
    I32x4,
    /// `i64x2`.
    I64x2,
    /// `f32x4`.
    F32x4,
    /// `f64x2`.
    F64x2,
}

impl LaneShape {
    /// The scalar type of one lane.
    #[inline]
    pub fn scalar(self) -> ValType {
        match self {
            LaneShape::I8x16S | LaneShape::I8x16U | LaneShape::I16x8S | LaneShape::I16x8U => {
                ValType::I32
            }
            LaneShape::I32x4 => ValType::I32,
            LaneShape::I64x2 => ValType::I64,
            LaneShape::F32x4 => ValType::F32,
            LaneShape::F64x2 => ValType::F64,
        }
    }

    /// The number of lanes.
    #[inline]
    pub fn lanes(self) -> u8 {
        match self {
            LaneShape::I8x16S | LaneShape::I8x16U => 16,
            LaneShape::I16x8S | LaneShape::I16x8U => 8,
            LaneShape::I32x4 | LaneShape::F32x4 => 4,
            LaneShape::I64x2 | LaneShape::F64x2 => 2,
        }
    }
}

/// How `struct.get` and `array.get` read a field: as stored, or a packed
/// field extended to `i32` with its sign or with zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldRead {
    /// `struct.get`, `array.get`: a field that is not packed.
    Plain,
    /// `struct.get_s`, `array.get_s`: a packed field, sign-extended.
    Signed,
    /// `struct.get_u`, `array.get_u`: a packed field, zero-extended.
    Unsigned,
}

/// The immediates of `br_on_cast` and `br_on_cast_fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BrOnCast {
    /// Where the branch goes.
    pub label: LabelIdx,
    /// The type of the operand.
    pub from: RefType,
    /// The type it is tested against.
    pub to: RefType,
    /// `br_on_cast_fail`: branch when the test fails rather than when it
    /// succeeds.
    pub on_fail: bool,
}

/// An instruction of the GC proposal.
#[derive(Debug, Clone, PartialEq)]
pub enum GcInstr {
    /// `ref.eq`.
    RefEq,
    /// `struct.new $t`: a struct of the operands, one per field.
    StructNew(TypeIdx),
    /// `struct.new_default $t`: a struct of default values.
    StructNewDefault(TypeIdx),
    /// `struct.get(_s|_u) $t field`.
    StructGet {
        /// The struct type.
        ty: TypeIdx,
        /// The field's index.
        field: u32,
        /// How a packed field is extended.
        read: FieldRead,
    },
    /// `struct.set $t field`.
    StructSet {
        /// The struct type.
        ty: TypeIdx,
        /// The field's index.
        field: u32,
    },
    /// `array.new $t`: an array of one value repeated.
    ArrayNew(TypeIdx),
    /// `array.new_default $t`.
    ArrayNewDefault(TypeIdx),
    /// `array.new_fixed $t n`: an array of the `n` operands.
    ArrayNewFixed {
        /// The array type.
        ty: TypeIdx,
        /// How many operands.
        len: u32,
    },
    /// `array.new_data $t $d`.
    ArrayNewData {
        /// The array type.
        ty: TypeIdx,
        /// The data segment read.
        data: DataIdx,
    },
    /// `array.new_elem $t $e`.
    ArrayNewElem {
        /// The array type.
        ty: TypeIdx,
        /// The element segment read.
        elem: ElemIdx,
    },
    /// `array.get(_s|_u) $t`.
    ArrayGet {
        /// The array type.
        ty: TypeIdx,
        /// How a packed element is extended.
        read: FieldRead,
    },
    /// `array.set $t`.
    ArraySet(TypeIdx),
    /// `array.len`.
    ArrayLen,
    /// `array.fill $t`.
    ArrayFill(TypeIdx),
    /// `array.copy $dst $src`.
    ArrayCopy {
        /// The destination's array type.
        dst: TypeIdx,
        /// The source's array type.
        src: TypeIdx,
    },
    /// `array.init_data $t $d`.
    ArrayInitData {
        /// The array type.
        ty: TypeIdx,
        /// The data segment read.
        data: DataIdx,
    },
    /// `array.init_elem $t $e`.
    ArrayInitElem {
        /// The array type.
        ty: TypeIdx,
        /// The element segment read.
        elem: ElemIdx,
    },
    /// `ref.test rt`.
    RefTest(RefType),
    /// `ref.cast rt`: traps when the test fails.
    RefCast(RefType),
    /// `br_on_cast` and `br_on_cast_fail`.
    BrOnCast(Box<BrOnCast>),
    /// `any.convert_extern`.
    AnyConvertExtern,
    /// `extern.convert_any`.
    ExternConvertAny,
    /// `ref.i31`.
    RefI31,
    /// `i31.get_s` (`true`) or `i31.get_u` (`false`).
    I31Get(bool),
}

/// One WebAssembly instruction.
#[derive(Debug, Clone, PartialEq)]
pub enum Instr {
    /// `unreachable`.
    Unreachable,
    /// `nop`.
    Nop,
    /// `block bt`.
    Block(BlockType),
    /// `loop bt`.
    Loop(BlockType),
    /// `if bt`.
    If(BlockType),
    /// `else`.
    Else,
    /// `end` of a block, loop, if, or the function body.
    End,
    /// `br l`.
    Br(LabelIdx),
    /// `br_if l`.
    BrIf(LabelIdx),
    /// `br_table l* l`.
    BrTable(Box<BrTable>),
    /// `return`.
    Return,
    /// `call f`.
    Call(FuncIdx),
    /// `call_indirect table type`.
    CallIndirect {
        /// Expected signature.
        ty: TypeIdx,
        /// Table searched.
        table: TableIdx,
    },
    /// `return_call f` (tail-call).
    ReturnCall(FuncIdx),
    /// `return_call_indirect table type` (tail-call).
    ReturnCallIndirect {
        /// Expected signature.
        ty: TypeIdx,
        /// Table searched.
        table: TableIdx,
    },
    /// `call_ref $t`: calls the function reference on top of the stack.
    CallRef(TypeIdx),
    /// `return_call_ref $t`.
    ReturnCallRef(TypeIdx),
    /// `ref.as_non_null`: traps on null.
    RefAsNonNull,
    /// `br_on_null l`: branches if the reference is null, else keeps it
    /// (non-null).
    BrOnNull(LabelIdx),
    /// `br_on_non_null l`: branches with the reference if it is not null,
    /// else drops it.
    BrOnNonNull(LabelIdx),
    /// `throw x`: throws an exception of tag `x` with the tag's payload.
    Throw(TagIdx),
    /// `throw_ref`: throws the exception an `exnref` refers to (traps on null).
    ThrowRef,
    /// `try_table bt catch*`: a block whose exceptions the clauses catch.
    TryTable(Box<TryTable>),
    /// `drop`.
    Drop,
    /// `select`, untyped (`None`) or typed with one result type.
    Select(Option<ValType>),
    /// `local.get`.
    LocalGet(LocalIdx),
    /// `local.set`.
    LocalSet(LocalIdx),
    /// `local.tee`.
    LocalTee(LocalIdx),
    /// `global.get`.
    GlobalGet(GlobalIdx),
    /// `global.set`.
    GlobalSet(GlobalIdx),
    /// `table.get`.
    TableGet(TableIdx),
    /// `table.set`.
    TableSet(TableIdx),
    /// `table.size`.
    TableSize(TableIdx),
    /// `table.grow`.
    TableGrow(TableIdx),
    /// `table.fill`.
    TableFill(TableIdx),
    /// `table.copy dst src`.
    TableCopy {
        /// Destination table.
        dst: TableIdx,
        /// Source table.
        src: TableIdx,
    },
    /// `table.init table elem`.
    TableInit {
        /// Destination table.
        table: TableIdx,
        /// Source element segment.
        elem: ElemIdx,
    },
    /// `elem.drop`.
    ElemDrop(ElemIdx),
    /// A load.
    Load(LoadOp, MemArg),
    /// A store.
    Store(StoreOp, MemArg),
    /// `v128.loadN_lane`: loads one lane into a vector.
    LoadLane(LaneWidth, MemArg, u8),
    /// `v128.storeN_lane`: stores one lane of a vector.
    StoreLane(LaneWidth, MemArg, u8),
    /// `memory.size`.
    MemorySize(MemIdx),
    /// `memory.grow`.
    MemoryGrow(MemIdx),
    /// `memory.fill`.
    MemoryFill(MemIdx),
    /// `memory.copy dst src`.
    MemoryCopy {
        /// Destination memory.
        dst: MemIdx,
        /// Source memory.
        src: MemIdx,
    },
    /// `memory.init`.
    MemoryInit {
        /// Destination memory.
        memory: MemIdx,
        /// Source data segment.
        data: DataIdx,
    },
    /// `data.drop`.
    DataDrop(DataIdx),
    /// `i32.const`.
    I32Const(i32),
    /// `i64.const`.
    I64Const(i64),
    /// `f32.const`, as raw bits (NaN payloads are kept exactly).
    F32Const(u32),
    /// `f64.const`, as raw bits.
    F64Const(u64),
    /// `v128.const`, little-endian bytes.
    V128Const([u8; 16]),
    /// `ref.null t`.
    RefNull(HeapType),
    /// `ref.is_null`.
    RefIsNull,
    /// `ref.func f`.
    RefFunc(FuncIdx),
    /// A numeric or vector operator without immediates.
    Num(NumOp),
    /// `i8x16.shuffle` with its 16 lane indices.
    Shuffle([u8; 16]),
    /// `*.extract_lane`.
    ExtractLane(LaneShape, u8),
    /// `*.replace_lane`.
    ReplaceLane(LaneShape, u8),
    /// An instruction of the GC proposal.
    Gc(GcInstr),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The instruction stream is the bulk of a parsed module; keep each entry small.
    #[test]
    fn instr_stays_small() {
        assert!(
            std::mem::size_of::<Instr>() <= 24,
            "{}",
            std::mem::size_of::<Instr>()
        );
    }
}
