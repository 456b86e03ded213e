//! The validator's error types: the rule a module breaks
//! ([`ValidationErrorKind`]), where it breaks it ([`ValidationError`]), and
//! whether the module was malformed or invalid ([`ModuleError`]).
//!
//! A kind's `Display` is the spec test suite's wording ("type mismatch",
//! "unknown local 3", ...): the spec runner compares it with the text of
//! `assert_invalid`, so it must not change with the kinds' shape.

use std::fmt;

use kiln_parser::{FuncIdx, IndexType, ParseError};

use crate::limits;

/// An index space that definitions and instructions refer into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IndexSpace {
    /// Function types.
    Type,
    /// Functions, imported and defined.
    Function,
    /// Tables, imported and defined.
    Table,
    /// Memories, imported and defined.
    Memory,
    /// Globals, imported and defined.
    Global,
    /// A function's parameters and locals.
    Local,
    /// The enclosing blocks of an instruction, innermost first.
    Label,
    /// Element segments.
    ElemSegment,
    /// Data segments.
    DataSegment,
    /// Tags, imported and defined.
    Tag,
    /// The fields of a struct type.
    Field,
}

impl IndexSpace {
    /// The space's name in the spec test suite's messages.
    fn name(self) -> &'static str {
        match self {
            IndexSpace::Type => "type",
            IndexSpace::Function => "function",
            IndexSpace::Table => "table",
            IndexSpace::Memory => "memory",
            IndexSpace::Global => "global",
            IndexSpace::Local => "local",
            IndexSpace::Label => "label",
            IndexSpace::ElemSegment => "elem segment",
            IndexSpace::DataSegment => "data segment",
            IndexSpace::Tag => "tag",
            IndexSpace::Field => "field",
        }
    }
}

/// A size that Kiln bounds as an implementation limit (see [`crate::limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImplLimit {
    /// Types in the type section ([`limits::MAX_TYPES`]).
    Types,
    /// Imports ([`limits::MAX_IMPORTS`]).
    Imports,
    /// Exports ([`limits::MAX_EXPORTS`]).
    Exports,
    /// Functions, imported and defined ([`limits::MAX_FUNCTIONS`]).
    Functions,
    /// Globals, imported and defined ([`limits::MAX_GLOBALS`]).
    Globals,
    /// Tables, imported and defined ([`limits::MAX_TABLES`]).
    Tables,
    /// Memories, imported and defined ([`limits::MAX_MEMORIES`]).
    Memories,
    /// Element segments ([`limits::MAX_ELEMENT_SEGMENTS`]).
    ElementSegments,
    /// Data segments ([`limits::MAX_DATA_SEGMENTS`]).
    DataSegments,
    /// Parameters of a function type ([`limits::MAX_FUNCTION_PARAMS`]).
    Params,
    /// Results of a function type ([`limits::MAX_FUNCTION_RESULTS`]).
    Results,
    /// Locals of one function, parameters included
    /// ([`limits::MAX_FUNCTION_LOCALS`]).
    Locals,
    /// Fields of a struct type ([`limits::MAX_STRUCT_FIELDS`]).
    StructFields,
}

impl fmt::Display for ImplLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, max) = match self {
            ImplLimit::Types => ("type", limits::MAX_TYPES),
            ImplLimit::Imports => ("import", limits::MAX_IMPORTS),
            ImplLimit::Exports => ("export", limits::MAX_EXPORTS),
            ImplLimit::Functions => ("function", limits::MAX_FUNCTIONS),
            ImplLimit::Globals => ("global", limits::MAX_GLOBALS),
            ImplLimit::Tables => ("table", limits::MAX_TABLES),
            ImplLimit::Memories => ("memory", limits::MAX_MEMORIES),
            ImplLimit::ElementSegments => ("element segment", limits::MAX_ELEMENT_SEGMENTS),
            ImplLimit::DataSegments => ("data segment", limits::MAX_DATA_SEGMENTS),
            ImplLimit::StructFields => ("struct field", limits::MAX_STRUCT_FIELDS),
            ImplLimit::Params => return f.write_str("function params exceeds limit"),
            ImplLimit::Results => return f.write_str("function results exceeds limit"),
            ImplLimit::Locals => return f.write_str("too many locals"),
        };
        write!(f, "{what} count exceeds limit of {max}")
    }
}

/// The rule a module breaks. Its `Display` is the spec test suite's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValidationErrorKind {
    /// An operand, result, initialiser or segment has the wrong type:
    /// "type mismatch".
    TypeMismatch,
    /// An index names nothing in its space: "unknown global 3".
    UnknownIndex {
        /// The space the index is in.
        space: IndexSpace,
        /// The index.
        index: u32,
    },
    /// A constant expression uses an instruction that is not constant, or a
    /// mutable global: "constant expression required".
    ConstantExpressionRequired,
    /// `global.set` of an immutable global: "global is immutable".
    ImmutableGlobal,
    /// `ref.func` in a body names a function that is not declared outside
    /// the bodies: "undeclared function reference".
    UndeclaredFunctionReference,
    /// A lane index at least the number of lanes: "invalid lane index".
    InvalidLaneIndex,
    /// A memory access aligned beyond its natural alignment.
    AlignmentTooLarge,
    /// A memory access offset too large for a 32-bit memory.
    OffsetOutOfRange,
    /// `else` outside an `if` block.
    ElseOutsideIf,
    /// Instructions after the `end` that closes the function.
    OperatorsAfterEnd,
    /// A body that ends with blocks still open.
    FramesRemainAtEnd,
    /// A function without a body.
    MissingFunctionBody,
    /// A table's limits beyond 2^32-1 elements.
    TableSizeTooLarge,
    /// A memory's limits beyond the pages its index type allows.
    MemorySizeTooLarge(IndexType),
    /// Limits whose minimum exceeds their maximum.
    MinimumAboveMaximum,
    /// A 64-bit table or memory without the memory64 proposal.
    Memory64Disabled,
    /// More than one memory without the multi-memory proposal.
    MultipleMemories,
    /// A start function that takes parameters or returns results.
    StartFunctionType,
    /// Two exports of the same name.
    DuplicateExportName,
    /// A count beyond one of Kiln's implementation limits.
    LimitExceeded(ImplLimit),
    /// A thread validating function bodies panicked: a bug in Kiln.
    ValidatorPanicked,
    /// `local.get` of a non-defaultable local not yet set on every path
    /// here: "uninitialized local".
    UninitializedLocal,
    /// A tag whose type has results: "non-empty tag result type".
    NonEmptyTagResult,
    /// A type that declares a supertype it does not match, or a final one:
    /// "sub type".
    SubType,
    /// A table of non-nullable references without an initialiser.
    TableWithoutInit,
    /// `struct.set` of an immutable field: "immutable field".
    ImmutableField,
    /// `array.set`, `array.fill`, `array.copy` or `array.init_*` into an
    /// array of immutable elements: "immutable array".
    ImmutableArray,
    /// `array.copy` between arrays whose element types do not match:
    /// "array types do not match".
    ArrayTypesDiffer,
    /// `array.new_data` or `array.init_data` into an array of references:
    /// "array type is not numeric or vector".
    ArrayNotNumeric,
}

impl ValidationErrorKind {
    /// [`ValidationErrorKind::UnknownIndex`] of `index` in `space`.
    pub fn unknown(space: IndexSpace, index: u32) -> ValidationErrorKind {
        ValidationErrorKind::UnknownIndex { space, index }
    }
}

impl fmt::Display for ValidationErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = match self {
            ValidationErrorKind::TypeMismatch => "type mismatch",
            ValidationErrorKind::UnknownIndex { space, index } => {
                return write!(f, "unknown {} {index}", space.name());
            }
            ValidationErrorKind::ConstantExpressionRequired => "constant expression required",
            ValidationErrorKind::ImmutableGlobal => "global is immutable",
            ValidationErrorKind::UndeclaredFunctionReference => "undeclared function reference",
            ValidationErrorKind::InvalidLaneIndex => "invalid lane index",
            ValidationErrorKind::AlignmentTooLarge => "alignment must not be larger than natural",
            ValidationErrorKind::OffsetOutOfRange => "offset out of range",
            ValidationErrorKind::ElseOutsideIf => "else found outside of an `if` block",
            ValidationErrorKind::OperatorsAfterEnd => "operators remaining after end of function",
            ValidationErrorKind::FramesRemainAtEnd => {
                "control frames remain at end of function body"
            }
            ValidationErrorKind::MissingFunctionBody => "missing function body",
            ValidationErrorKind::TableSizeTooLarge => "table size must be at most 2^32-1",
            ValidationErrorKind::MemorySizeTooLarge(IndexType::I32) => {
                "memory size must be at most 65536 pages (4GiB)"
            }
            ValidationErrorKind::MemorySizeTooLarge(IndexType::I64) => {
                "memory size must be at most 2^48 pages"
            }
            ValidationErrorKind::MinimumAboveMaximum => {
                "size minimum must not be greater than maximum"
            }
            ValidationErrorKind::Memory64Disabled => "memory64 is not enabled",
            ValidationErrorKind::MultipleMemories => "multiple memories",
            ValidationErrorKind::StartFunctionType => "start function",
            ValidationErrorKind::DuplicateExportName => "duplicate export name",
            ValidationErrorKind::LimitExceeded(limit) => return limit.fmt(f),
            ValidationErrorKind::ValidatorPanicked => {
                "internal error: a validation thread panicked"
            }
            ValidationErrorKind::UninitializedLocal => "uninitialized local",
            ValidationErrorKind::NonEmptyTagResult => "non-empty tag result type",
            ValidationErrorKind::SubType => "sub type",
            ValidationErrorKind::TableWithoutInit => "type mismatch",
            ValidationErrorKind::ImmutableField => "immutable field",
            ValidationErrorKind::ImmutableArray => "immutable array",
            ValidationErrorKind::ArrayTypesDiffer => "array types do not match",
            ValidationErrorKind::ArrayNotNumeric => "array type is not numeric or vector",
        };
        f.write_str(message)
    }
}

/// Why a module is invalid: the rule broken, where, and in which function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    kind: ValidationErrorKind,
    func: Option<FuncIdx>,
    offset: u64,
}

impl ValidationError {
    /// An error outside any function body (types, imports, segments, exports...).
    pub fn new(kind: ValidationErrorKind, offset: u64) -> ValidationError {
        ValidationError {
            kind,
            func: None,
            offset,
        }
    }

    /// An error inside the body of function `func`.
    pub fn in_func(kind: ValidationErrorKind, func: FuncIdx, offset: u64) -> ValidationError {
        ValidationError {
            kind,
            func: Some(func),
            offset,
        }
    }

    /// The rule broken.
    pub fn kind(&self) -> ValidationErrorKind {
        self.kind
    }

    /// The rule broken, in the spec test suite's wording: the kind's `Display`.
    pub fn message(&self) -> String {
        self.kind.to_string()
    }

    /// The function whose body is invalid, if the error is in a body.
    pub fn func(&self) -> Option<FuncIdx> {
        self.func
    }

    /// Byte offset in the module.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid module: {}", self.kind)?;
        if let Some(func) = self.func {
            write!(f, " (in function {func}")?;
            write!(f, ", at offset {:#x})", self.offset)
        } else {
            write!(f, " (at offset {:#x})", self.offset)
        }
    }
}

impl std::error::Error for ValidationError {}

/// Why [`validate`](crate::validate) rejected a module.
///
/// Function bodies are decoded while they are checked, so a malformed body
/// is found here rather than by [`kiln_parser::parse`]. As when the whole
/// module was decoded first, a malformed body wins over an invalid one: the
/// module is malformed if any body is, whatever else is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleError {
    /// A function body is malformed, or uses an unsupported proposal.
    Malformed(ParseError),
    /// The module breaks a validation rule.
    Invalid(ValidationError),
}

impl From<ParseError> for ModuleError {
    fn from(e: ParseError) -> ModuleError {
        ModuleError::Malformed(e)
    }
}

impl From<ValidationError> for ModuleError {
    fn from(e: ValidationError) -> ModuleError {
        ModuleError::Invalid(e)
    }
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleError::Malformed(e) => e.fmt(f),
            ModuleError::Invalid(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ModuleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ModuleError::Malformed(e) => Some(e),
            ModuleError::Invalid(e) => Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use ValidationErrorKind as K;

    /// The public error types stay small: they are returned by value, and
    /// a `ModuleError` is no larger than the parser's error beside it.
    #[test]
    fn error_sizes_are_pinned() {
        assert_eq!(std::mem::size_of::<ValidationErrorKind>(), 8);
        assert_eq!(std::mem::size_of::<ValidationError>(), 24);
        assert_eq!(std::mem::size_of::<ModuleError>(), 48);
    }

    /// Every kind shows the message the validator gave before kinds existed,
    /// byte for byte: the spec runner and the CLI's output depend on it.
    #[test]
    fn kinds_show_the_spec_wording() {
        let cases: &[(ValidationErrorKind, &str)] = &[
            (K::TypeMismatch, "type mismatch"),
            (K::unknown(IndexSpace::Type, 3), "unknown type 3"),
            (K::unknown(IndexSpace::Function, 7), "unknown function 7"),
            (K::unknown(IndexSpace::Table, 1), "unknown table 1"),
            (K::unknown(IndexSpace::Memory, 2), "unknown memory 2"),
            (K::unknown(IndexSpace::Global, 4), "unknown global 4"),
            (K::unknown(IndexSpace::Local, 5), "unknown local 5"),
            (K::unknown(IndexSpace::Label, 6), "unknown label 6"),
            (
                K::unknown(IndexSpace::ElemSegment, 8),
                "unknown elem segment 8",
            ),
            (
                K::unknown(IndexSpace::DataSegment, 9),
                "unknown data segment 9",
            ),
            (
                K::ConstantExpressionRequired,
                "constant expression required",
            ),
            (K::ImmutableGlobal, "global is immutable"),
            (
                K::UndeclaredFunctionReference,
                "undeclared function reference",
            ),
            (K::InvalidLaneIndex, "invalid lane index"),
            (
                K::AlignmentTooLarge,
                "alignment must not be larger than natural",
            ),
            (K::OffsetOutOfRange, "offset out of range"),
            (K::ElseOutsideIf, "else found outside of an `if` block"),
            (
                K::OperatorsAfterEnd,
                "operators remaining after end of function",
            ),
            (
                K::FramesRemainAtEnd,
                "control frames remain at end of function body",
            ),
            (K::MissingFunctionBody, "missing function body"),
            (K::TableSizeTooLarge, "table size must be at most 2^32-1"),
            (
                K::MemorySizeTooLarge(IndexType::I32),
                "memory size must be at most 65536 pages (4GiB)",
            ),
            (
                K::MemorySizeTooLarge(IndexType::I64),
                "memory size must be at most 2^48 pages",
            ),
            (
                K::MinimumAboveMaximum,
                "size minimum must not be greater than maximum",
            ),
            (K::Memory64Disabled, "memory64 is not enabled"),
            (K::MultipleMemories, "multiple memories"),
            (K::StartFunctionType, "start function"),
            (K::DuplicateExportName, "duplicate export name"),
            (
                K::LimitExceeded(ImplLimit::Types),
                "type count exceeds limit of 1000000",
            ),
            (
                K::LimitExceeded(ImplLimit::Imports),
                "import count exceeds limit of 1000000",
            ),
            (
                K::LimitExceeded(ImplLimit::Exports),
                "export count exceeds limit of 1000000",
            ),
            (
                K::LimitExceeded(ImplLimit::Functions),
                "function count exceeds limit of 1000000",
            ),
            (
                K::LimitExceeded(ImplLimit::Globals),
                "global count exceeds limit of 1000000",
            ),
            (
                K::LimitExceeded(ImplLimit::Tables),
                "table count exceeds limit of 100000",
            ),
            (
                K::LimitExceeded(ImplLimit::Memories),
                "memory count exceeds limit of 100",
            ),
            (
                K::LimitExceeded(ImplLimit::ElementSegments),
                "element segment count exceeds limit of 100000",
            ),
            (
                K::LimitExceeded(ImplLimit::DataSegments),
                "data segment count exceeds limit of 100000",
            ),
            (
                K::LimitExceeded(ImplLimit::Params),
                "function params exceeds limit",
            ),
            (
                K::LimitExceeded(ImplLimit::Results),
                "function results exceeds limit",
            ),
            (K::LimitExceeded(ImplLimit::Locals), "too many locals"),
            (
                K::ValidatorPanicked,
                "internal error: a validation thread panicked",
            ),
        ];
        for (kind, message) in cases {
            assert_eq!(kind.to_string(), *message, "{kind:?}");
        }
    }

    #[test]
    fn errors_show_where_they_are() {
        let outside = ValidationError::new(K::DuplicateExportName, 0x2a);
        assert_eq!(
            outside.to_string(),
            "invalid module: duplicate export name (at offset 0x2a)"
        );
        let inside = ValidationError::in_func(K::unknown(IndexSpace::Local, 2), FuncIdx(3), 17);
        assert_eq!(
            inside.to_string(),
            "invalid module: unknown local 2 (in function 3, at offset 0x11)"
        );
        assert_eq!(inside.message(), "unknown local 2");
    }
}
