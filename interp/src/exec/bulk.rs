//! Memory and table management instructions: sizes, growth and bulk
//! operations, executed by the runtime's shared implementation
//! ([`kiln_runtime::ops`]).

use kiln_runtime::ops;
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
    let Some((at, op)) = op.as_bulk() else {
        return Err(TrapCode::Unreachable.into());
    };
    let at = base + at as usize;
    let operand = |i: usize| stack.get(at + i).copied().unwrap_or(0);
    let args = [operand(0), operand(1), operand(2)];
    let result = ops::execute(store, frame.instance, op, args, metered)?;
    if op.has_result() {
        stack[at] = result;
    }
    Ok(())
}
