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
/// The abstract heap types form four hierarchies, each with a bottom type
/// that only the null reference inhabits: `func` over every function type
/// (bottom `nofunc`), `extern` (bottom `noextern`), `exn` (bottom `noexn`)
/// and GC's `any` (bottom `none`), with `eq` below `any`, and `i31`,
/// `struct` and `array` below `eq`; every struct type is below `struct`,
/// every array type below `array`.
///
/// Where a concrete type sits needs the type section:
/// [`HeapType::top`] and [`HeapType::bottom`] see only the abstract types
/// and file a concrete one under `func` (a validator or a store that knows
/// the type's kind must ask [`CompositeType::top`] instead).
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
    /// Any GC value, and any host value converted by `any.convert_extern`
    /// (GC).
    Any,
    /// A value that `ref.eq` can compare: an `i31`, a struct or an array (GC).
    Eq,
    /// An unboxed 31-bit integer (GC).
    I31,
    /// Any struct (GC).
    Struct,
    /// Any array (GC).
    Array,
    /// The bottom of the `any` hierarchy (GC).
    None,
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
            HeapType::Any
            | HeapType::Eq
            | HeapType::I31
            | HeapType::Struct
            | HeapType::Array
            | HeapType::None => HeapType::Any,
            HeapType::Bot => HeapType::Bot,
        }
    }

    /// The bottom of this heap type's hierarchy.
    #[inline]
    pub fn bottom(self) -> HeapType {
        match self.top() {
            HeapType::Extern => HeapType::NoExtern,
            HeapType::Exn => HeapType::NoExn,
            HeapType::Any => HeapType::None,
            HeapType::Bot => HeapType::Bot,
            _ => HeapType::NoFunc,
        }
    }

    /// Where abstract heap type `a` sits below abstract `b` in the `any`
    /// hierarchy, or in any other: whether `a <: b`, neither concrete.
    #[inline]
    pub fn abstract_matches(a: HeapType, b: HeapType) -> bool {
        match (a, b) {
            (HeapType::Bot, _) => true,
            (a, b) if a == b => true,
            (HeapType::I31 | HeapType::Struct | HeapType::Array, HeapType::Eq) => true,
            (HeapType::I31 | HeapType::Struct | HeapType::Array | HeapType::Eq, HeapType::Any) => {
                true
            }
            (a, b) => a == a.bottom() && a.top() == b.top(),
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
            HeapType::Any => "any",
            HeapType::Eq => "eq",
            HeapType::I31 => "i31",
            HeapType::Struct => "struct",
            HeapType::Array => "array",
            HeapType::None => "none",
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

    /// `(ref null heap)` if `nullable`, else `(ref heap)`.
    #[inline]
    pub const fn new(nullable: bool, heap: HeapType) -> RefType {
        RefType { nullable, heap }
    }

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
            (true, HeapType::Any) => "anyref",
            (true, HeapType::Eq) => "eqref",
            (true, HeapType::I31) => "i31ref",
            (true, HeapType::Struct) => "structref",
            (true, HeapType::Array) => "arrayref",
            (true, HeapType::None) => "nullref",
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

/// How a field of a struct or the elements of an array are stored: a value
/// type, or a packed integer that is read as an `i32` (GC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageType {
    /// 8-bit integer, read with sign or zero extension.
    I8,
    /// 16-bit integer, read with sign or zero extension.
    I16,
    /// A value of this type, stored as is.
    Val(ValType),
}

impl StorageType {
    /// The type a read of this storage pushes: `i32` for packed integers.
    #[inline]
    pub fn unpacked(self) -> ValType {
        match self {
            StorageType::I8 | StorageType::I16 => ValType::I32,
            StorageType::Val(t) => t,
        }
    }

    /// Whether this is a packed integer (read with `_s` or `_u`).
    #[inline]
    pub fn is_packed(self) -> bool {
        !matches!(self, StorageType::Val(_))
    }
}

/// One field of a struct type, or the element type of an array type (GC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldType {
    /// How the field is stored.
    pub storage: StorageType,
    /// Whether `struct.set`/`array.set` may change it.
    pub mutable: bool,
}

impl FieldType {
    /// Whether the field has a default value (`struct.new_default`,
    /// `array.new_default`): packed integers and defaultable value types.
    #[inline]
    pub fn is_defaultable(self) -> bool {
        match self.storage {
            StorageType::Val(t) => t.is_defaultable(),
            StorageType::I8 | StorageType::I16 => true,
        }
    }
}

/// A type of the type section: a function type, or GC's struct and array
/// types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CompositeType {
    /// A function signature.
    Func(FuncType),
    /// A struct of these fields, in order (GC).
    Struct(Box<[FieldType]>),
    /// An array whose elements are of this field type (GC).
    Array(FieldType),
}

impl CompositeType {
    /// The function type, if this is one.
    #[inline]
    pub fn as_func(&self) -> Option<&FuncType> {
        match self {
            CompositeType::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The function type of a type that validation has required to be one
    /// (a function's type, a `call_indirect`'s, a block's).
    ///
    /// # Panics
    ///
    /// If this is a struct or an array type: a module that passed
    /// validation never asks.
    #[inline]
    #[track_caller]
    pub fn func(&self) -> &FuncType {
        match self {
            CompositeType::Func(f) => f,
            _ => panic!("a function type was required by validation"),
        }
    }

    /// The fields of a struct type, if this is one.
    #[inline]
    pub fn as_struct(&self) -> Option<&[FieldType]> {
        match self {
            CompositeType::Struct(f) => Some(f),
            _ => None,
        }
    }

    /// The element type of an array type, if this is one.
    #[inline]
    pub fn as_array(&self) -> Option<FieldType> {
        match self {
            CompositeType::Array(f) => Some(*f),
            _ => None,
        }
    }

    /// The abstract heap type this type is directly below: `func`,
    /// `struct` or `array`.
    #[inline]
    pub fn abstract_super(&self) -> HeapType {
        match self {
            CompositeType::Func(_) => HeapType::Func,
            CompositeType::Struct(_) => HeapType::Struct,
            CompositeType::Array(_) => HeapType::Array,
        }
    }

    /// The top of this type's hierarchy: `func` or `any`.
    #[inline]
    pub fn top(&self) -> HeapType {
        self.abstract_super().top()
    }
}

impl From<FuncType> for CompositeType {
    fn from(f: FuncType) -> CompositeType {
        CompositeType::Func(f)
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
