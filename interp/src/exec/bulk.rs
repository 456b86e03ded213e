//! Memory and table management instructions: sizes, growth and bulk
//! operations, executed by the runtime's shared implementation
//! ([`kiln_runtime::ops`]).

use kiln_runtime::ops::{self, BulkOp};
use kiln_runtime::{Store, Trap, TrapCode};

use super::Frame;
use crate::bytecode::Op;

/// Runs one of the less frequent instructions.
pub(super) fn execute(
    store: &mut Store,
    frame: &Frame,
    stack: &mut [u64],
    base: usize,
    op: Op,
    metered: bool,
) -> Result<(), Trap> {
    // Where the operands start (and the result goes), and the runtime's form of the op.
    let (at, op) = match op {
        Op::MemorySize { dst, mem } => (dst, BulkOp::MemorySize { mem }),
        Op::MemoryGrow { dst, mem } => (dst, BulkOp::MemoryGrow { mem }),
        Op::MemoryFill { args, mem } => (args, BulkOp::MemoryFill { mem }),
        Op::MemoryCopy { args, dst, src } => (args, BulkOp::MemoryCopy { dst, src }),
        Op::MemoryInit { args, mem, data } => (args, BulkOp::MemoryInit { mem, data }),
        Op::DataDrop { data } => (0, BulkOp::DataDrop { data }),
        Op::TableGet { dst, table } => (dst, BulkOp::TableGet { table }),
        Op::TableSet { args, table } => (args, BulkOp::TableSet { table }),
        Op::TableSize { dst, table } => (dst, BulkOp::TableSize { table }),
        Op::TableGrow { args, table } => (args, BulkOp::TableGrow { table }),
        Op::TableFill { args, table } => (args, BulkOp::TableFill { table }),
        Op::TableCopy { args, dst, src } => (args, BulkOp::TableCopy { dst, src }),
        Op::TableInit { args, table, elem } => (args, BulkOp::TableInit { table, elem }),
        Op::ElemDrop { elem } => (0, BulkOp::ElemDrop { elem }),
        _ => return Err(TrapCode::Unreachable.into()),
    };
    let at = base + at as usize;
    let operand = |i: usize| stack.get(at + i).copied().unwrap_or(0);
    let args = [operand(0), operand(1), operand(2)];
    let result = ops::execute(store, frame.instance, op, args, metered)?;
    let has_result = matches!(
        op,
        BulkOp::MemorySize { .. }
            | BulkOp::MemoryGrow { .. }
            | BulkOp::TableGet { .. }
            | BulkOp::TableSize { .. }
            | BulkOp::TableGrow { .. }
    );
    if has_result {
        stack[at] = result;
    }
    Ok(())
}
