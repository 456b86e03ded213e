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
mod canon;
mod error;
mod features;
mod instr;
mod module;
mod num_ops;
mod operators;
mod reader;
mod types;

pub use body::BodyDecoder;
pub use canon::{RecGroupKey, final_type_key, rec_group_key};
pub use error::{ParseError, ParseErrorKind};
pub use features::Features;
pub use instr::{
    BrOnCast, BrTable, Catch, FieldRead, GcInstr, Instr, LaneShape, LaneWidth, LoadOp, MemArg,
    StoreOp, TryTable,
};
pub use module::{
    ConstExpr, CustomSection, DataMode, DataSegment, ElemItems, ElemMode, ElemSegment, Export,
    ExternKind, FuncBody, Global, Import, ImportKind, Module, Names, SectionOffsets,
};
pub use num_ops::NumOp;
pub use operators::{BodyFacts, InstrSink};
pub use reader::parse;
pub use types::{
    BlockType, CompositeType, DataIdx, ElemIdx, FieldType, FuncIdx, FuncType, GlobalIdx,
    GlobalType, HeapType, IndexType, LabelIdx, Limits, LocalIdx, MemIdx, MemoryType, RefType,
    StorageType, SubType, TableIdx, TableType, TagIdx, TypeIdx, ValType,
};

/// Converts a `wasmparser` value type, rejecting the reference types of
/// proposals that `features` (or Kiln) does not include.
pub(crate) fn convert_val_type(
    t: wasmparser::ValType,
    features: Features,
    offset: u64,
) -> Result<ValType, ParseError> {
    Ok(match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(r) => convert_ref_type(r, features, offset)?.into(),
    })
}

/// Converts a `wasmparser` reference type. 2.0 has only `funcref` and
/// `externref`; typed function references add non-null and concrete ones;
/// exception handling adds `exn` and `noexn`; GC adds the rest, the bottom
/// types `nofunc` and `noextern` included (as `wasmparser` files them);
/// continuations are stack switching's.
pub(crate) fn convert_ref_type(
    r: wasmparser::RefType,
    features: Features,
    offset: u64,
) -> Result<RefType, ParseError> {
    use wasmparser::AbstractHeapType as A;
    let typed = || ParseError::unsupported("function-references", "typed reference", offset);
    let heap = match r.heap_type() {
        wasmparser::HeapType::Concrete(wasmparser::UnpackedIndex::Module(i)) => {
            if !features.function_references {
                return Err(typed());
            }
            HeapType::Concrete(TypeIdx(i))
        }
        wasmparser::HeapType::Abstract { shared: false, ty } => match ty {
            A::Func => HeapType::Func,
            A::Extern => HeapType::Extern,
            A::Exn | A::NoExn if !features.exceptions => {
                return Err(ParseError::unsupported(
                    "exception-handling",
                    "exnref",
                    offset,
                ));
            }
            A::Exn => HeapType::Exn,
            A::NoExn => HeapType::NoExn,
            _ if !features.gc => {
                return Err(ParseError::unsupported("gc", "this reference type", offset));
            }
            A::Any => HeapType::Any,
            A::Eq => HeapType::Eq,
            A::I31 => HeapType::I31,
            A::Struct => HeapType::Struct,
            A::Array => HeapType::Array,
            A::None => HeapType::None,
            A::NoFunc => HeapType::NoFunc,
            A::NoExtern => HeapType::NoExtern,
            _ => {
                return Err(ParseError::unsupported(
                    "stack-switching",
                    "this reference type",
                    offset,
                ));
            }
        },
        wasmparser::HeapType::Abstract { shared: true, .. } => {
            return Err(ParseError::unsupported(
                "shared-everything-threads",
                "a shared reference type",
                offset,
            ));
        }
        _ => return Err(ParseError::unsupported("gc", "this reference type", offset)),
    };
    if !r.is_nullable() && !features.function_references {
        return Err(typed());
    }
    Ok(RefType {
        nullable: r.is_nullable(),
        heap,
    })
}
