//! [`BulkOp`]: the memory and table management instructions as both tiers
//! hand them to [`crate::ops::execute`], and the one mapping from the parser's
//! instructions to them ([`BulkOp::from_instr`]).
//!
//! The JIT passes an operation to its `bulk` libcall as three 32-bit
//! immediates ([`BulkOp::encode`], read back by [`BulkOp::decode`]): the
//! operation's kind, numbered by its position in the list below, and its
//! immediates. The numbers are generated from that list, so adding an
//! operation there is the only change the encoding needs.

use kiln_parser::Instr;

/// Generates, from one list of operations (each a variant name with one or two
/// named `u32` immediates):
/// - `enum BulkOp`, one variant per entry, with the entry's doc comment;
/// - `enum Kind`, the same variants without immediates, numbered from 0 in list
///   order, and `KINDS`, every kind by its number;
/// - `BulkOp::encode` and `BulkOp::decode`, between an operation and
///   `[kind, first immediate, second immediate or 0]`.
macro_rules! bulk_ops {
    ($(
        $(#[doc = $doc:literal])*
        $op:ident { $a:ident $(, $b:ident)? },
    )*) => {
        /// One memory or table management instruction with its immediates (indices
        /// into the instance's index spaces).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum BulkOp {
            $(
                $(#[doc = $doc])*
                $op { $a: u32, $($b: u32)? },
            )*
        }

        /// The kind of a [`BulkOp`], numbered by its position in the list.
        #[derive(Debug, Clone, Copy)]
        enum Kind {
            $($op,)*
        }

        /// Every [`Kind`], indexed by its number.
        const KINDS: &[Kind] = &[$(Kind::$op,)*];

        impl BulkOp {
            /// The operation as three immediates: its kind's number, its first
            /// immediate, and its second (0 when it has one).
            pub fn encode(self) -> [u32; 3] {
                match self {
                    $(BulkOp::$op { $a $(, $b)? } => {
                        [Kind::$op as u32, $a, bulk_ops!(@or_zero $($b)?)]
                    })*
                }
            }

            /// The operation [`BulkOp::encode`] gave `code`; `None` for an unknown kind.
            pub fn decode(code: [u32; 3]) -> Option<BulkOp> {
                let [kind, a, _b] = code;
                Some(match KINDS.get(kind as usize)? {
                    $(Kind::$op => BulkOp::$op { $a: a $(, $b: _b)? },)*
                })
            }
        }
    };
    (@or_zero $b:ident) => {
        $b
    };
    (@or_zero) => {
        0
    };
}

bulk_ops! {
    /// `memory.size`: no operands.
    MemorySize { mem },
    /// `memory.grow`: `[delta]`.
    MemoryGrow { mem },
    /// `memory.fill`: `[dst, value, len]`.
    MemoryFill { mem },
    /// `memory.copy`: `[dst, src, len]`.
    MemoryCopy { dst, src },
    /// `memory.init`: `[dst, src, len]`.
    MemoryInit { mem, data },
    /// `data.drop`: no operands.
    DataDrop { data },
    /// `table.get`: `[index]`.
    TableGet { table },
    /// `table.set`: `[index, ref]`.
    TableSet { table },
    /// `table.size`: no operands.
    TableSize { table },
    /// `table.grow`: `[init ref, delta]`.
    TableGrow { table },
    /// `table.fill`: `[index, ref, len]`.
    TableFill { table },
    /// `table.copy`: `[dst, src, len]`.
    TableCopy { dst, src },
    /// `table.init`: `[dst, src, len]`.
    TableInit { table, elem },
    /// `elem.drop`: no operands.
    ElemDrop { elem },
}

impl BulkOp {
    /// The operation `instr` is, if it is a memory or table management instruction.
    pub fn from_instr(instr: &Instr) -> Option<BulkOp> {
        Some(match *instr {
            Instr::MemorySize(m) => BulkOp::MemorySize { mem: m.0 },
            Instr::MemoryGrow(m) => BulkOp::MemoryGrow { mem: m.0 },
            Instr::MemoryFill(m) => BulkOp::MemoryFill { mem: m.0 },
            Instr::MemoryCopy { dst, src } => BulkOp::MemoryCopy {
                dst: dst.0,
                src: src.0,
            },
            Instr::MemoryInit { memory, data } => BulkOp::MemoryInit {
                mem: memory.0,
                data: data.0,
            },
            Instr::DataDrop(d) => BulkOp::DataDrop { data: d.0 },
            Instr::TableGet(t) => BulkOp::TableGet { table: t.0 },
            Instr::TableSet(t) => BulkOp::TableSet { table: t.0 },
            Instr::TableSize(t) => BulkOp::TableSize { table: t.0 },
            Instr::TableGrow(t) => BulkOp::TableGrow { table: t.0 },
            Instr::TableFill(t) => BulkOp::TableFill { table: t.0 },
            Instr::TableCopy { dst, src } => BulkOp::TableCopy {
                dst: dst.0,
                src: src.0,
            },
            Instr::TableInit { table, elem } => BulkOp::TableInit {
                table: table.0,
                elem: elem.0,
            },
            Instr::ElemDrop(e) => BulkOp::ElemDrop { elem: e.0 },
            _ => return None,
        })
    }

    /// How many operands the instruction pops (the list in each variant's doc).
    pub fn operands(self) -> usize {
        match self {
            BulkOp::MemorySize { .. }
            | BulkOp::DataDrop { .. }
            | BulkOp::TableSize { .. }
            | BulkOp::ElemDrop { .. } => 0,
            BulkOp::MemoryGrow { .. } | BulkOp::TableGet { .. } => 1,
            BulkOp::TableSet { .. } | BulkOp::TableGrow { .. } => 2,
            BulkOp::MemoryFill { .. }
            | BulkOp::MemoryCopy { .. }
            | BulkOp::MemoryInit { .. }
            | BulkOp::TableFill { .. }
            | BulkOp::TableCopy { .. }
            | BulkOp::TableInit { .. } => 3,
        }
    }

    /// Whether the instruction pushes a result (what [`crate::ops::execute`]
    /// returns; the other instructions return 0).
    pub fn has_result(self) -> bool {
        matches!(
            self,
            BulkOp::MemorySize { .. }
                | BulkOp::MemoryGrow { .. }
                | BulkOp::TableGet { .. }
                | BulkOp::TableSize { .. }
                | BulkOp::TableGrow { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One operation of each kind, in list order, with distinct immediates.
    const ALL: [BulkOp; 14] = [
        BulkOp::MemorySize { mem: 1 },
        BulkOp::MemoryGrow { mem: 2 },
        BulkOp::MemoryFill { mem: 3 },
        BulkOp::MemoryCopy { dst: 4, src: 5 },
        BulkOp::MemoryInit { mem: 6, data: 7 },
        BulkOp::DataDrop { data: 8 },
        BulkOp::TableGet { table: 9 },
        BulkOp::TableSet { table: 10 },
        BulkOp::TableSize { table: 11 },
        BulkOp::TableGrow { table: 12 },
        BulkOp::TableFill { table: 13 },
        BulkOp::TableCopy { dst: 14, src: 15 },
        BulkOp::TableInit {
            table: 16,
            elem: 17,
        },
        BulkOp::ElemDrop { elem: 18 },
    ];

    #[test]
    fn encodings_round_trip() {
        for op in ALL {
            assert_eq!(BulkOp::decode(op.encode()), Some(op));
        }
        assert_eq!(BulkOp::decode([ALL.len() as u32, 0, 0]), None);
    }

    #[test]
    fn kinds_are_numbered_in_list_order() {
        for (i, op) in ALL.into_iter().enumerate() {
            assert_eq!(op.encode()[0], i as u32);
        }
        assert_eq!(BulkOp::MemoryCopy { dst: 4, src: 5 }.encode(), [3, 4, 5]);
        assert_eq!(BulkOp::DataDrop { data: 8 }.encode(), [5, 8, 0]);
    }
}
