//! Trap codes and their messages.

use std::fmt;

/// Why execution trapped. The messages are the spec test suite's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TrapCode {
    /// `unreachable` was executed.
    Unreachable,
    /// A load, store or bulk memory operation went outside a memory.
    MemoryOutOfBounds,
    /// A table access or bulk table operation went outside a table.
    TableOutOfBounds,
    /// `call_indirect` found a null reference.
    UninitializedElement,
    /// `call_indirect` indexed past the end of its table.
    UndefinedElement,
    /// `call_indirect` found a function of another type.
    IndirectCallTypeMismatch,
    /// Signed division overflowed (`i32.div_s` of `INT_MIN` by -1) or a float truncated
    /// to an integer out of range.
    IntegerOverflow,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// A NaN was truncated to an integer.
    InvalidConversionToInteger,
    /// The call-depth limit was reached.
    CallStackExhausted,
    /// The store ran out of fuel.
    OutOfFuel,
}

impl TrapCode {
    /// The message the spec test suite expects for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::Unreachable => "unreachable",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::UninitializedElement => "uninitialized element",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::InvalidConversionToInteger => "invalid conversion to integer",
            TrapCode::CallStackExhausted => "call stack exhausted",
            TrapCode::OutOfFuel => "out of fuel",
        }
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// A trap: a WebAssembly trap code, or an error raised by a host function.
///
/// It also carries a WebAssembly exception out of a call when no handler
/// caught it, and into WebAssembly when a host function throws one
/// ([`Trap::exception`]); unlike a trap, such an exception can be caught by
/// the WebAssembly code it is thrown into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    reason: TrapReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TrapReason {
    Code(TrapCode),
    Host(Box<str>),
    Exit(i32),
    Exception(u32),
}

impl Trap {
    /// A trap raised by a host function, with its message.
    pub fn host(message: impl Into<Box<str>>) -> Trap {
        Trap {
            reason: TrapReason::Host(message.into()),
        }
    }

    /// A request from a host function to end the program with `status` (WASI `proc_exit`).
    pub fn exit(status: i32) -> Trap {
        Trap {
            reason: TrapReason::Exit(status),
        }
    }

    /// An uncaught WebAssembly exception, `exn` being its `exnref` bits (never
    /// null): what a call returns when an exception leaves it, and what a host
    /// function returns to throw one into its WebAssembly caller.
    pub fn exception(exn: u32) -> Trap {
        Trap {
            reason: TrapReason::Exception(exn),
        }
    }

    /// The exception's `exnref` bits, if this is an exception rather than a trap.
    pub fn thrown(&self) -> Option<u32> {
        match self.reason {
            TrapReason::Exception(exn) => Some(exn),
            _ => None,
        }
    }

    /// The trap code, if this is a WebAssembly trap.
    pub fn code(&self) -> Option<TrapCode> {
        match self.reason {
            TrapReason::Code(c) => Some(c),
            _ => None,
        }
    }

    /// The exit status, if a host function asked to end the program.
    pub fn exit_status(&self) -> Option<i32> {
        match self.reason {
            TrapReason::Exit(s) => Some(s),
            _ => None,
        }
    }
}

impl From<TrapCode> for Trap {
    fn from(code: TrapCode) -> Trap {
        Trap {
            reason: TrapReason::Code(code),
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            TrapReason::Code(c) => c.fmt(f),
            TrapReason::Host(m) => f.write_str(m),
            TrapReason::Exit(s) => write!(f, "exit with status {s}"),
            TrapReason::Exception(_) => f.write_str("uncaught exception"),
        }
    }
}

impl std::error::Error for Trap {}
