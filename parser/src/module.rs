//! The module IR: everything a binary module declares, section by section.

use std::collections::BTreeMap;

use crate::features::Features;
use crate::instr::Instr;
use crate::types::{
    CompositeType, FuncIdx, FuncType, GlobalIdx, GlobalType, MemIdx, MemoryType, RefType, SubType,
    TableIdx, TableType, TagIdx, TypeIdx, ValType,
};

/// A parsed (not yet validated) module.
///
/// Index spaces follow the spec: imported functions, tables, memories and
/// globals come first, then the module's own. `funcs` holds only the type of
/// each function defined here; `code` its body, in the same order.
#[derive(Debug, Clone, Default)]
pub struct Module {
    /// The type section: function types, and GC's struct and array types.
    pub types: Vec<CompositeType>,
    /// Each type's recursion group and declared supertype, in the order of
    /// `types`.
    pub subtypes: Vec<SubType>,
    /// The import section.
    pub imports: Vec<Import>,
    /// Type of each function defined in this module (function section).
    pub funcs: Vec<TypeIdx>,
    /// Tables defined in this module.
    pub tables: Vec<Table>,
    /// Memories defined in this module.
    pub memories: Vec<MemoryType>,
    /// Globals defined in this module.
    pub globals: Vec<Global>,
    /// Tags defined in this module: the type of each one's payload (a
    /// function type without results).
    pub tags: Vec<TypeIdx>,
    /// The export section.
    pub exports: Vec<Export>,
    /// The start function, if any.
    pub start: Option<FuncIdx>,
    /// Byte offset of the start section, if any.
    pub start_offset: u64,
    /// Byte offset of each section, by section order (type, import, function,
    /// table, memory, global, export, start, element, data count, code, data),
    /// 0 where absent; used to place module-level errors.
    pub section_offsets: SectionOffsets,
    /// Element segments.
    pub elems: Vec<ElemSegment>,
    /// The data count section's value, if present.
    pub data_count: Option<u32>,
    /// Function bodies, one per entry of `funcs`.
    pub code: Vec<FuncBody>,
    /// Data segments.
    pub datas: Vec<DataSegment>,
    /// Custom sections, in order, the `name` section included (decoded on
    /// demand by [`Module::names`]).
    pub customs: Vec<CustomSection>,
    /// Number of imported functions (the first indices of the function space).
    pub num_imported_funcs: u32,
    /// Number of imported tables.
    pub num_imported_tables: u32,
    /// Number of imported memories.
    pub num_imported_memories: u32,
    /// Number of imported globals.
    pub num_imported_globals: u32,
    /// Number of imported tags.
    pub num_imported_tags: u32,
    /// Whether any instruction of a constant expression operates on `v128`
    /// values (`v128.const`). Function bodies are decoded later; see
    /// [`BodyFacts::uses_v128`](crate::BodyFacts).
    pub const_exprs_use_v128: bool,
    /// The features the module was parsed with, which its bodies are decoded
    /// with too.
    pub features: Features,
    /// The code section's contents, where the bodies' operators are decoded
    /// from (see [`Module::decode_body`]).
    pub(crate) code_bytes: Box<[u8]>,
    /// Byte offset in the module of `code_bytes[0]`.
    pub(crate) code_bytes_offset: u64,
}

impl Module {
    /// The type section's recursion groups, in order, as ranges of type
    /// indices (a type without a group of its own is a group of one).
    pub fn rec_groups(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        let mut start = 0;
        std::iter::from_fn(move || {
            if start >= self.types.len() {
                return None;
            }
            let len = self
                .subtypes
                .get(start)
                .map_or(1, |s| s.group_len.max(1) as usize);
            let group = start..(start + len).min(self.types.len());
            start = group.end;
            Some(group)
        })
    }

    /// The size of every function body's operators in bytes (see
    /// [`FuncBody::size`]).
    pub fn code_size(&self) -> u64 {
        self.code.iter().map(FuncBody::size).sum()
    }

    /// The function bodies split into at most `parts` contiguous ranges of
    /// indices into [`Module::code`], in order, of about equal
    /// [size](FuncBody::size): how work on the bodies is shared between
    /// threads. No range is empty; a module without bodies gives none.
    pub fn split_bodies(&self, parts: usize) -> Vec<std::ops::Range<usize>> {
        let per_part = self.code_size().div_ceil(parts.max(1) as u64);
        let mut ranges = Vec::with_capacity(parts);
        let (mut start, mut acc) = (0, 0);
        for (i, body) in self.code.iter().enumerate() {
            acc += body.size();
            if acc >= per_part {
                ranges.push(start..i + 1);
                (start, acc) = (i + 1, 0);
            }
        }
        if start < self.code.len() {
            ranges.push(start..self.code.len());
        }
        ranges
    }

    /// Total size of the function index space.
    #[inline]
    pub fn num_funcs(&self) -> usize {
        self.num_imported_funcs as usize + self.funcs.len()
    }

    /// Total size of the table index space.
    #[inline]
    pub fn num_tables(&self) -> usize {
        self.num_imported_tables as usize + self.tables.len()
    }

    /// Total size of the memory index space.
    #[inline]
    pub fn num_memories(&self) -> usize {
        self.num_imported_memories as usize + self.memories.len()
    }

    /// Total size of the global index space.
    #[inline]
    pub fn num_globals(&self) -> usize {
        self.num_imported_globals as usize + self.globals.len()
    }

    /// The type index of function `f`, imported or defined, if it exists.
    pub fn func_type_idx(&self, f: FuncIdx) -> Option<TypeIdx> {
        let i = f.index();
        let imported = self.num_imported_funcs as usize;
        if i < imported {
            self.imports
                .iter()
                .filter_map(|imp| match imp.kind {
                    ImportKind::Func(t) => Some(t),
                    _ => None,
                })
                .nth(i)
        } else {
            self.funcs.get(i - imported).copied()
        }
    }

    /// Type `t` of the type section, which validation has required to be a
    /// function type (of a function, a tag, a block, a call).
    ///
    /// # Panics
    ///
    /// If `t` is past the type section or is a struct or array type: a
    /// module that passed validation never asks.
    #[inline]
    #[track_caller]
    pub fn func_type(&self, t: TypeIdx) -> &FuncType {
        self.types[t.index()].func()
    }

    /// Type `t` of the type section, if it exists and is a function type.
    #[inline]
    pub fn get_func_type(&self, t: TypeIdx) -> Option<&FuncType> {
        self.types.get(t.index()).and_then(CompositeType::as_func)
    }

    /// The type of table `t`, imported or defined, if it exists.
    pub fn table_type(&self, t: TableIdx) -> Option<TableType> {
        let i = t.index();
        let imported = self.num_imported_tables as usize;
        if i < imported {
            self.imports
                .iter()
                .filter_map(|imp| match imp.kind {
                    ImportKind::Table(t) => Some(t),
                    _ => None,
                })
                .nth(i)
        } else {
            self.tables.get(i - imported).map(|t| t.ty)
        }
    }

    /// Total size of the tag index space.
    #[inline]
    pub fn num_tags(&self) -> usize {
        self.num_imported_tags as usize + self.tags.len()
    }

    /// The type index of tag `t`, imported or defined, if it exists.
    pub fn tag_type(&self, t: TagIdx) -> Option<TypeIdx> {
        let i = t.index();
        let imported = self.num_imported_tags as usize;
        if i < imported {
            self.imports
                .iter()
                .filter_map(|imp| match imp.kind {
                    ImportKind::Tag(t) => Some(t),
                    _ => None,
                })
                .nth(i)
        } else {
            self.tags.get(i - imported).copied()
        }
    }

    /// The type of global `g`, imported or defined, if it exists.
    pub fn global_type(&self, g: GlobalIdx) -> Option<GlobalType> {
        let i = g.index();
        let imported = self.num_imported_globals as usize;
        if i < imported {
            self.imports
                .iter()
                .filter_map(|imp| match imp.kind {
                    ImportKind::Global(g) => Some(g),
                    _ => None,
                })
                .nth(i)
        } else {
            self.globals.get(i - imported).map(|g| g.ty)
        }
    }

    /// The type of memory `m`, imported or defined, if it exists.
    pub fn memory_type(&self, m: MemIdx) -> Option<MemoryType> {
        let i = m.index();
        let imported = self.num_imported_memories as usize;
        if i < imported {
            self.imports
                .iter()
                .filter_map(|imp| match imp.kind {
                    ImportKind::Memory(m) => Some(m),
                    _ => None,
                })
                .nth(i)
        } else {
            self.memories.get(i - imported).copied()
        }
    }
}

/// Byte offsets of the sections whose entries carry no offset of their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SectionOffsets {
    /// The type section.
    pub types: u64,
    /// The function section.
    pub funcs: u64,
    /// The table section.
    pub tables: u64,
    /// The memory section.
    pub memories: u64,
}

/// An import: a name pair and what is expected under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// What is imported.
    pub kind: ImportKind,
    /// Byte offset of the import in the module.
    pub offset: u64,
}

/// What an import provides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ImportKind {
    /// A function of the given type.
    Func(TypeIdx),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// A tag whose payload has the parameters of the given function type.
    Tag(TypeIdx),
}

/// The kind of entity an export refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExternKind {
    /// A function.
    Func,
    /// A table.
    Table,
    /// A memory.
    Memory,
    /// A global.
    Global,
    /// A tag.
    Tag,
}

/// An export.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// The exported name.
    pub name: String,
    /// What kind of entity.
    pub kind: ExternKind,
    /// Its index in that kind's index space.
    pub index: u32,
    /// Byte offset of the export in the module.
    pub offset: u64,
}

/// A constant expression (global initialisers, segment offsets, element items).
#[derive(Debug, Clone, PartialEq)]
pub struct ConstExpr {
    /// The instructions, without the final `end`.
    pub instrs: Box<[Instr]>,
    /// Byte offset of the expression in the module.
    pub offset: u64,
}

/// A table defined in the module.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Its type.
    pub ty: TableType,
    /// What every element starts as; `None` means null, which the table's
    /// element type must then admit.
    pub init: Option<ConstExpr>,
}

/// A global defined in the module.
#[derive(Debug, Clone, PartialEq)]
pub struct Global {
    /// Its type.
    pub ty: GlobalType,
    /// Its initial value.
    pub init: ConstExpr,
}

/// How an element segment is used.
#[derive(Debug, Clone, PartialEq)]
pub enum ElemMode {
    /// Available to `table.init`.
    Passive,
    /// Copied into a table at instantiation.
    Active {
        /// The table written.
        table: TableIdx,
        /// The first index written.
        offset: ConstExpr,
    },
    /// Only declares functions for `ref.func`.
    Declared,
}

/// The contents of an element segment.
#[derive(Debug, Clone, PartialEq)]
pub enum ElemItems {
    /// A list of function indices.
    Funcs(Box<[FuncIdx]>),
    /// A list of constant expressions.
    Exprs(Box<[ConstExpr]>),
}

impl ElemItems {
    /// Number of items.
    pub fn len(&self) -> usize {
        match self {
            ElemItems::Funcs(f) => f.len(),
            ElemItems::Exprs(e) => e.len(),
        }
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An element segment.
#[derive(Debug, Clone, PartialEq)]
pub struct ElemSegment {
    /// Type of each item.
    pub ty: RefType,
    /// How it is used.
    pub mode: ElemMode,
    /// Its items.
    pub items: ElemItems,
    /// Byte offset of the segment in the module.
    pub offset: u64,
}

/// How a data segment is used.
#[derive(Debug, Clone, PartialEq)]
pub enum DataMode {
    /// Available to `memory.init`.
    Passive,
    /// Copied into a memory at instantiation.
    Active {
        /// The memory written.
        memory: MemIdx,
        /// The first address written.
        offset: ConstExpr,
    },
}

/// A data segment.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSegment {
    /// How it is used.
    pub mode: DataMode,
    /// Its bytes.
    pub bytes: Box<[u8]>,
    /// Byte offset of the segment in the module.
    pub offset: u64,
}

/// A function body: its locals, and where its operators are.
///
/// The operators are decoded on demand, by [`Module::decode_body`]: the
/// validator checks each instruction as it is decoded, and a tier decodes a
/// body again when it translates it, so no instruction list is kept for the
/// whole module.
#[derive(Debug, Clone, PartialEq)]
pub struct FuncBody {
    /// Declared locals (after the parameters), run-length encoded as in the binary.
    pub locals: Box<[(u32, ValType)]>,
    /// Byte offset of the body (its size field) in the module.
    pub offset: u64,
    /// Byte range in the module of the body's operators, the final `end`
    /// included.
    pub operators: std::ops::Range<u64>,
}

impl FuncBody {
    /// Total number of declared locals, without the parameters (saturating).
    #[inline]
    pub fn num_locals(&self) -> u64 {
        self.locals.iter().map(|&(n, _)| u64::from(n)).sum()
    }

    /// The size of the body's operators in bytes, about twice its instruction
    /// count: a measure of the work of decoding, validating or compiling it.
    #[inline]
    pub fn size(&self) -> u64 {
        self.operators.end.saturating_sub(self.operators.start)
    }
}

/// A custom section other than `name`.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomSection {
    /// The section's name.
    pub name: String,
    /// Its payload.
    pub data: Box<[u8]>,
}

/// The decoded `name` custom section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Names {
    /// The module's name.
    pub module: Option<String>,
    /// Function names by index.
    pub funcs: BTreeMap<u32, String>,
    /// Local names by function index, then local index.
    pub locals: BTreeMap<u32, BTreeMap<u32, String>>,
}
