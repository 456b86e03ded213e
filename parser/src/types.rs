//! Value, function, table, memory and global types, and the index newtypes.

use std::fmt;

/// A value type: a number, a vector, or a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// 128-bit SIMD vector.
    V128,
    /// A reference (`funcref`, `(ref null $t)`, `exnref`, ...).
    Ref(RefType),
}

impl ValType {
    /// `funcref`: a nullable reference to any function.
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`: a nullable reference to a host value.
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);
    /// `exnref`: a nullable reference to an exception.
    pub const EXNREF: ValType = ValType::Ref(RefType::EXNREF);

    /// Whether this is a reference type.
    #[inline]
    pub fn is_ref(self) -> bool {
        matches!(self, ValType::Ref(_))
    }

    /// The reference type, if this is one.
    #[inline]
    pub fn as_ref(self) -> Option<RefType> {
        match self {
            ValType::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// Whether a local of this type has a default value (every type but a
    /// non-nullable reference), so that it need not be set before it is read.
    #[inline]
    pub fn is_defaultable(self) -> bool {
        !matches!(
            self,
            ValType::Ref(RefType {
                nullable: false,
                ..
            })
        )
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::V128 => "v128",
            ValType::Ref(r) => return r.fmt(f),
        })
    }
}

/// What a reference points to.
///
/// The abstract heap types form three hierarchies, each with a bottom type
/// that only the null reference inhabits: `func` over every function type
/// (bottom `nofunc`), `extern` (bottom `noextern`) and `exn` (bottom
/// `noexn`). GC's `any`, `eq`, `i31`, `struct`, `array` and `none` are not
/// implemented yet and are rejected by the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeapType {
    /// Any function.
    Func,
    /// Any host value.
    Extern,
    /// Any exception.
    Exn,
    /// The bottom of the function hierarchy.
    NoFunc,
    /// The bottom of the extern hierarchy.
    NoExtern,
    /// The bottom of the exception hierarchy.
    NoExn,
    /// A type of the module's type section. In types the runtime has
    /// canonicalised for a store (`kiln_runtime::Store::sigs`), the index is
    /// a store-wide signature id instead.
    Concrete(TypeIdx),
    /// The bottom of every hierarchy: the heap type of a reference the
    /// validator pops from the unknown operands of unreachable code. No
    /// module can name it.
    Bot,
}

impl HeapType {
    /// The top of this heap type's hierarchy (`func`, `extern` or `exn`):
    /// two reference types are comparable only if their tops agree.
    #[inline]
    pub fn top(self) -> HeapType {
        match self {
            HeapType::Func | HeapType::NoFunc | HeapType::Concrete(_) => HeapType::Func,
            HeapType::Extern | HeapType::NoExtern => HeapType::Extern,
            HeapType::Exn | HeapType::NoExn => HeapType::Exn,
            HeapType::Bot => HeapType::Bot,
        }
    }

    /// The bottom of this heap type's hierarchy.
    #[inline]
    pub fn bottom(self) -> HeapType {
        match self.top() {
            HeapType::Extern => HeapType::NoExtern,
            HeapType::Exn => HeapType::NoExn,
            HeapType::Bot => HeapType::Bot,
            _ => HeapType::NoFunc,
        }
    }
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeapType::Func => "func",
            HeapType::Extern => "extern",
            HeapType::Exn => "exn",
            HeapType::NoFunc => "nofunc",
            HeapType::NoExtern => "noextern",
            HeapType::NoExn => "noexn",
            HeapType::Bot => "bot",
            HeapType::Concrete(t) => return write!(f, "{t}"),
        })
    }
}

/// A reference type: what a table holds, what `ref.null` produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefType {
    /// Whether null is a value of the type.
    pub nullable: bool,
    /// What a non-null value points to.
    pub heap: HeapType,
}

impl RefType {
    /// `funcref`, `(ref null func)`.
    pub const FUNCREF: RefType = RefType::null(HeapType::Func);
    /// `externref`, `(ref null extern)`.
    pub const EXTERNREF: RefType = RefType::null(HeapType::Extern);
    /// `exnref`, `(ref null exn)`.
    pub const EXNREF: RefType = RefType::null(HeapType::Exn);

    /// `(ref null heap)`.
    #[inline]
    pub const fn null(heap: HeapType) -> RefType {
        RefType {
            nullable: true,
            heap,
        }
    }

    /// `(ref heap)`.
    #[inline]
    pub const fn non_null(heap: HeapType) -> RefType {
        RefType {
            nullable: false,
            heap,
        }
    }

    /// Whether a value of this type refers to a function (or is null).
    #[inline]
    pub fn is_func(self) -> bool {
        self.heap.top() == HeapType::Func
    }
}

impl From<RefType> for ValType {
    fn from(r: RefType) -> ValType {
        ValType::Ref(r)
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = match (self.nullable, self.heap) {
            (true, HeapType::Func) => "funcref",
            (true, HeapType::Extern) => "externref",
            (true, HeapType::Exn) => "exnref",
            (true, HeapType::NoFunc) => "nullfuncref",
            (true, HeapType::NoExtern) => "nullexternref",
            (true, HeapType::NoExn) => "nullexnref",
            (nullable, heap) => {
                let null = if nullable { "null " } else { "" };
                return write!(f, "(ref {null}{heap})");
            }
        };
        f.write_str(short)
    }
}

/// A function signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    /// Parameter types, in order.
    pub params: Box<[ValType]>,
    /// Result types, in order (several with multi-value).
    pub results: Box<[ValType]>,
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, tys: &[ValType]| -> fmt::Result {
            f.write_str("[")?;
            for (i, t) in tys.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{t}")?;
            }
            f.write_str("]")
        };
        list(f, &self.params)?;
        f.write_str(" -> ")?;
        list(f, &self.results)
    }
}

/// Where a type of the type section stands among the others: its recursion
/// group and its declared supertype.
///
/// Each type without an explicit `rec` is a group of its own. Types are
/// equivalent across modules when their whole groups are, structurally, with
/// references inside a group compared by position (iso-recursive types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubType {
    /// The index of the first type of its recursion group.
    pub group_start: TypeIdx,
    /// The number of types in its recursion group.
    pub group_len: u32,
    /// The declared supertype, if any.
    pub supertype: Option<TypeIdx>,
    /// Whether no type may declare this one its supertype.
    pub is_final: bool,
}

/// Size limits of a memory (in pages) or a table (in elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Initial size.
    pub min: u64,
    /// Optional maximum size.
    pub max: Option<u64>,
}

/// The type of an index into a memory or table: 32-bit, or 64-bit with memory64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexType {
    /// Addresses and sizes are `i32`.
    I32,
    /// Addresses and sizes are `i64` (memory64 proposal).
    I64,
}

impl IndexType {
    /// The value type of an address or size of this index type.
    #[inline]
    pub fn val_type(self) -> ValType {
        match self {
            IndexType::I32 => ValType::I32,
            IndexType::I64 => ValType::I64,
        }
    }

    /// The index type of a size operand spanning a memory or table of this
    /// type and one of `other`'s (`memory.copy`, `table.copy`): 64-bit only
    /// when both are.
    #[inline]
    pub fn narrower(self, other: IndexType) -> IndexType {
        if self == IndexType::I64 && other == IndexType::I64 {
            IndexType::I64
        } else {
            IndexType::I32
        }
    }
}

/// A linear memory's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryType {
    /// Size limits in 64 KiB pages.
    pub limits: Limits,
    /// Whether addresses are 32- or 64-bit.
    pub index: IndexType,
}

/// A table's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableType {
    /// What the table holds.
    pub element: RefType,
    /// Size limits in elements.
    pub limits: Limits,
    /// Whether indices are 32- or 64-bit (`table64`, part of memory64).
    pub index: IndexType,
}

/// A global's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalType {
    /// The type of the value it holds.
    pub content: ValType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
}

/// The type of a `block`, `loop` or `if`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockType {
    /// `[] -> []`.
    Empty,
    /// `[] -> [t]`.
    Value(ValType),
    /// A function type from the type section (multi-value).
    Func(TypeIdx),
}

/// Declares `u32` index newtypes, one per index space, with `index()` to use them as `usize`.
///
/// Each `name => "doc"` expands to a `#[repr(transparent)]` tuple struct around `u32` with
/// `Display` printing the number.
macro_rules! index_types {
    ($($name:ident => $doc:literal,)*) => {$(
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The index as a `usize`, for indexing vectors.
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

index_types! {
    TypeIdx => "An index into the type section.",
    FuncIdx => "An index into the function index space (imports first).",
    TableIdx => "An index into the table index space (imports first).",
    MemIdx => "An index into the memory index space (imports first).",
    GlobalIdx => "An index into the global index space (imports first).",
    ElemIdx => "An index into the element segments.",
    DataIdx => "An index into the data segments.",
    LocalIdx => "An index into a function's locals (parameters first).",
    LabelIdx => "A relative branch depth: 0 is the innermost enclosing block.",
    TagIdx => "An index into the tag index space (imports first).",
}
