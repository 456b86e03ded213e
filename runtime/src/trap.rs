//! Trap codes and their messages.

use std::fmt;

use crate::value::ExnAddr;

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
    /// `call_ref` or `return_call_ref` of a null reference.
    NullFunctionReference,
    /// `ref.as_non_null` of a null reference.
    NullReference,
    /// `throw_ref` of a null reference.
    NullExceptionReference,
    /// A `throw` would take the exceptions the store keeps past
    /// `StoreLimits::max_exception_bytes`.
    ExceptionsExhausted,
    /// The store's epoch deadline was reached (see `crate::epoch`).
    Interrupt,
    /// A GC allocation does not fit in `StoreLimits::max_gc_heap_bytes`,
    /// even after a collection.
    GcHeapExhausted,
    /// `struct.get` or `struct.set` of a null reference.
    NullStructReference,
    /// An array instruction on a null reference.
    NullArrayReference,
    /// `i31.get_s` or `i31.get_u` of a null reference.
    NullI31Reference,
    /// An array index or range past the array's length.
    ArrayOutOfBounds,
    /// `ref.cast` of a reference of another type.
    CastFailure,
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
            TrapCode::NullFunctionReference => "null function reference",
            TrapCode::NullReference => "null reference",
            TrapCode::NullExceptionReference => "null exception reference",
            TrapCode::ExceptionsExhausted => "exception storage exhausted",
            TrapCode::Interrupt => "interrupt",
            TrapCode::GcHeapExhausted => "out of GC heap memory",
            TrapCode::NullStructReference => "null structure reference",
            TrapCode::NullArrayReference => "null array reference",
            TrapCode::NullI31Reference => "null i31 reference",
            TrapCode::ArrayOutOfBounds => "out of bounds array access",
            TrapCode::CastFailure => "cast failure",
        }
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// A trap: a WebAssembly trap code, an error raised by a host function, or
/// a WebAssembly exception that no handler caught (which a host function
/// may also raise, to throw into WebAssembly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    reason: TrapReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TrapReason {
    Code(TrapCode),
    Host(Box<str>),
    Internal(Box<str>),
    Exit(i32),
    Exception(ExnAddr),
}

impl Trap {
    /// A trap raised by a host function, with its message.
    pub fn host(message: impl Into<Box<str>>) -> Trap {
        Trap {
            reason: TrapReason::Host(message.into()),
        }
    }

    /// An error inside the engine rather than in the program (a function the
    /// interpreter's bytecode verifier rejected, say), with its message.
    pub fn internal(message: impl Into<Box<str>>) -> Trap {
        Trap {
            reason: TrapReason::Internal(message.into()),
        }
    }

    /// A request from a host function to end the program with `status` (WASI `proc_exit`).
    pub fn exit(status: i32) -> Trap {
        Trap {
            reason: TrapReason::Exit(status),
        }
    }

    /// The trap code, if this is a WebAssembly trap.
    pub fn code(&self) -> Option<TrapCode> {
        match self.reason {
            TrapReason::Code(c) => Some(c),
            _ => None,
        }
    }

    /// An exception in flight: thrown by WebAssembly and not caught, or
    /// thrown by a host function into its WebAssembly caller.
    pub fn exception(exn: ExnAddr) -> Trap {
        Trap {
            reason: TrapReason::Exception(exn),
        }
    }

    /// The exception, if this is one in flight rather than a trap.
    pub fn as_exception(&self) -> Option<ExnAddr> {
        match self.reason {
            TrapReason::Exception(e) => Some(e),
            _ => None,
        }
    }

    /// [`Trap::exception`] of the exception whose `exnref` bits (never null)
    /// are `bits`: the form compiled code passes it in.
    pub fn from_thrown(bits: u32) -> Trap {
        Trap::exception(ExnAddr(bits.wrapping_sub(1)))
    }

    /// The exception's `exnref` bits ([`crate::RawRef`]'s encoding, never
    /// null), if this is one in flight: the form compiled code passes it in.
    pub fn thrown(&self) -> Option<u32> {
        self.as_exception().map(|e| crate::RawRef::from_addr(e.0).0)
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
            TrapReason::Host(m) | TrapReason::Internal(m) => f.write_str(m),
            TrapReason::Exit(s) => write!(f, "exit with status {s}"),
            TrapReason::Exception(_) => f.write_str("uncaught exception"),
        }
    }
}

impl std::error::Error for Trap {}
