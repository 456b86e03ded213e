//! `kiln-parser` reads a WebAssembly binary module into Kiln's own module IR.
//!
//! It owns the IR types ([`Module`], [`Instr`], the value and index types) and
//! uses `wasmparser` only to decode bytes. It checks what the binary format
//! itself requires (section order, counts that must agree, the data count
//! section) and rejects proposals Kiln does not implement with an error naming
//! them. It must not validate: type checking and index checks belong to
//! `kiln-validator`, which walks the IR produced here.
//!
//! [`parse`] decodes every section but leaves function bodies' operators
//! undecoded; [`Module::decode_body`] and [`BodyDecoder`] decode a body on
//! demand, handing each [`Instr`] to an [`InstrSink`]. The validator decodes
//! each body once and checks it as it goes; a tier decodes it again when it
//! translates it.
//!
//! Nothing here allocates in proportion to a count the input merely declares:
//! capacities are bounded by the bytes actually present.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod error;
mod features;
mod instr;
mod module;
mod num_ops;
mod operators;
mod reader;
mod types;

pub use body::BodyDecoder;
pub use error::{ParseError, ParseErrorKind};
pub use features::Features;
pub use instr::{BrTable, Instr, LaneShape, LaneWidth, LoadOp, MemArg, StoreOp};
pub use module::{
    ConstExpr, CustomSection, DataMode, DataSegment, ElemItems, ElemMode, ElemSegment, Export,
    ExternKind, FuncBody, Global, Import, ImportKind, Module, Names, SectionOffsets,
};
pub use num_ops::NumOp;
pub use operators::{BodyFacts, InstrSink};
pub use reader::parse;
pub use types::{
    BlockType, DataIdx, ElemIdx, FuncIdx, FuncType, GlobalIdx, GlobalType, IndexType, LabelIdx,
    Limits, LocalIdx, MemIdx, MemoryType, RefType, TableIdx, TableType, TypeIdx, ValType,
};

/// Converts a `wasmparser` value type, rejecting the reference types of unsupported proposals.
pub(crate) fn convert_val_type(t: wasmparser::ValType, offset: u64) -> Result<ValType, ParseError> {
    Ok(match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(r) => convert_ref_type(r, offset)?.into(),
    })
}

/// Converts a `wasmparser` reference type: only nullable `funcref` and `externref` exist in 2.0.
pub(crate) fn convert_ref_type(r: wasmparser::RefType, offset: u64) -> Result<RefType, ParseError> {
    if r == wasmparser::RefType::FUNCREF {
        Ok(RefType::FuncRef)
    } else if r == wasmparser::RefType::EXTERNREF {
        Ok(RefType::ExternRef)
    } else if r.is_concrete_type_ref() || !r.is_nullable() {
        Err(ParseError::unsupported(
            "function-references",
            "typed reference",
            offset,
        ))
    } else {
        Err(ParseError::unsupported("gc", "this reference type", offset))
    }
}
