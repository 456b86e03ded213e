//! Exceptions in compiled code: how a thrown exception finds its handler,
//! several compiled frames up, and how it leaves an entry when none is there.
//!
//! # What compiled code emits
//! A call inside a `try_table` is a Cranelift `try_call` (or
//! `try_call_indirect`) whose exception table has exactly one entry, a
//! *default* handler: the scope's *landing block*, which receives the
//! exception as its one payload value and matches its tag against the
//! scope's catch clauses in generated code, rethrowing when none matches
//! (`translate/exceptions.rs` builds all of it). A call outside every
//! `try_table` stays a plain `call`: code that never catches carries no
//! table entry and runs exactly as before, and so does code that catches, as
//! long as nothing is thrown: a `try_call` that returns normally is a `call`
//! followed by a jump.
//!
//! # The tables
//! Cranelift records, for every call, the offset of its return address and,
//! for a `try_call`, its handlers and `frame_offset`: the distance from the
//! frame pointer down to the stack pointer at the call. [`handler_sites`]
//! keeps the calls that have a handler, one [`CallSite`] each; the compiler
//! shifts them to module offsets and `CompiledModule` keeps them sorted by
//! return address, beside the trap sites. Each entry into compiled code
//! (`signals::EntryState`) points at its module's table, as it points at
//! its trap sites.
//!
//! # Throwing
//! `throw` is a libcall that never returns (`signals::throw_asm`): an
//! assembly stub that takes its caller's frame pointer and return address,
//! has Rust compute where to go (a `signals::Landing`), and jumps there. The
//! Rust part returns normally before the jump, so every Rust destructor has
//! run; the frames the jump discards are the stub's own and compiled
//! WebAssembly frames, which own nothing.
//!
//! [`find_handler`] walks the frame-pointer chain (every compiled function
//! keeps a standard frame record: Kiln compiles with
//! `preserve_frame_pointers`), starting with the thrower's frame and the
//! return address into it. For each frame it looks the return address up in
//! the table; the first call site with a handler wins, and execution resumes
//! at the handler with
//! - the frame pointer of that frame,
//! - the stack pointer it had at the call: frame pointer minus
//!   `frame_offset`,
//! - the exception in the first payload register (`rax`; the second, `rdx`,
//!   is zero),
//!
//! and with no other register restored. That is what Cranelift expects: a
//! `try_call` whose callee uses the `tail` convention (every WebAssembly
//! function, and the throw stubs, which compiled code calls with that
//! convention) clobbers every register on its exceptional edge (x64
//! `get_regs_clobbered_by_call(Tail, true)` is all registers), so whatever
//! the handler block needs lives in the frame's stack slots. The `system_v`
//! convention would not do: a `try_call` of a `system_v` callee keeps the
//! callee-saved registers live across the exceptional edge, and the unwinder
//! would have to restore their values at the call, which the frames it
//! skips saved wherever their register allocation put them.
//!
//! # Where the walk stops
//! Between an entry (`signals::enter`) and the code it runs there are only
//! frames of one module: a call to another instance's function, or to a host
//! function, goes through a libcall, and a WebAssembly callee is entered anew
//! (`invoke.rs`). So the innermost entry's table covers every frame the walk
//! can meet; the walk ends when a return address leaves the module's code,
//! which first happens at the trampoline's return into `signals::enter_asm`.
//! A frame of another module in between would be a violation of that rule,
//! not a case the walk handles. With no handler found, the entry resumes
//! like a trapped one but with the status "exception" (`signals` records the
//! exception in the entry), `enter` returns it, and `invoke` turns it into
//! an error carrying the exception (`Trap::exception`).
//!
//! # Exceptions from libcalls
//! A host function, or a function of another instance, called through a
//! libcall (`call_func`, `call_indirect_slow`) may end with an exception.
//! The libcall cannot unwind by itself (Rust frames in between, and no frame
//! pointer of its caller it could trust), so it records the exception in the
//! current entry and sets `VmContext::pending`, as for a trap, and returns.
//! What the compiled caller does next depends on where the call was:
//! - outside every `try_table`, it raises `PENDING_TRAP`, as today; the
//!   signal handler sees that the entry holds an exception rather than a
//!   trap, and unwinds from the *caller* of the trapping function (the
//!   trapping function has no handler there: it is outside every scope);
//! - inside a `try_table`, it tests `pending` and, when set, `try_call`s
//!   `throw_pending` with the scope's landing block as handler: a pending
//!   exception is thrown from there (and lands in that block), a pending trap
//!   ends the entry as the signal handler would have.
//!
//! Either way the exception crosses the host boundary as an error value and
//! re-enters the unwinder on the compiled side, so a stack host, WebAssembly,
//! host, WebAssembly unwinds one entry at a time, each entry ending normally
//! in Rust.
//!
//! # Invariants
//! - Traps never look at the handler tables: a trap (`call stack exhausted`
//!   included) ends the innermost entry, whatever `try_table` surrounds it.
//! - Every call site with a handler is a `try_call` whose callee uses the
//!   `tail` convention, and has only a default handler ([`handler_sites`]
//!   refuses tag and context entries).
//! - Each entry's frames belong to one module (above).
//! - The call depth needs no repair: it is an SSA value of each function (its
//!   second parameter, see `translate/mod.rs`), which the handler block reads
//!   back from the frame like any other value live across the call; the store's
//!   depth is restored by `invoke` when an entry ends. Fuel lives in the
//!   `VmContext`, so what the discarded frames consumed stays consumed, as in
//!   the interpreter.
//! - A handler that is reached clears `VmContext::pending` (a libcall's
//!   exception set it), so later libcalls of the same entry do not see a stale
//!   failure.

use cranelift_codegen::{FinalizedMachCallSite, FinalizedMachExceptionHandler};

use crate::CompileError;

/// A call with an exception handler (a `try_call` in compiled code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallSite {
    /// Offset of the call's return address from the start of the code.
    pub ret_addr: u32,
    /// Bytes from the frame pointer down to the stack pointer at the call: the
    /// handler runs with that stack pointer.
    pub frame_offset: u32,
    /// Offset of the handler from the start of the code.
    pub handler: u32,
}

impl CallSite {
    /// This site with its offsets moved by `by` bytes (a piece placed in a module).
    pub(crate) fn shifted(self, by: u32) -> CallSite {
        CallSite {
            ret_addr: self.ret_addr + by,
            handler: self.handler + by,
            ..self
        }
    }
}

/// The call sites with a handler among the calls Cranelift recorded for one
/// function, with offsets relative to it.
///
/// # Errors
///
/// [`CompileError::Codegen`] if a call site has a tagged or dynamic-context
/// handler, or no frame offset: Kiln's `try_call`s have one default handler,
/// and tags are matched in generated code.
pub(crate) fn handler_sites<'a>(
    sites: impl Iterator<Item = FinalizedMachCallSite<'a>>,
) -> Result<Vec<CallSite>, CompileError> {
    let mut out = Vec::new();
    for site in sites {
        let mut handler = None;
        for h in site.exception_handlers {
            match h {
                FinalizedMachExceptionHandler::Default(offset) if handler.is_none() => {
                    handler = Some(*offset);
                }
                other => {
                    return Err(CompileError::Codegen(format!(
                        "a try_call with the handler {other:?} (Kiln's have one default handler)"
                    )));
                }
            }
        }
        let Some(handler) = handler else { continue };
        let frame_offset = site
            .frame_offset
            .ok_or_else(|| CompileError::Codegen("a try_call without a frame offset".into()))?;
        out.push(CallSite {
            ret_addr: site.ret_addr,
            frame_offset,
            handler,
        });
    }
    Ok(out)
}

/// The handler table of one module's code, placed in memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Handlers<'a> {
    /// Address of the first byte of code.
    pub code_start: usize,
    /// Bytes of code.
    pub code_len: usize,
    /// The code's call sites with a handler, sorted by return address.
    pub sites: &'a [CallSite],
}

impl Handlers<'_> {
    /// The call site whose return address is `pc`, if it has a handler.
    fn site_at(&self, pc: usize) -> Option<&CallSite> {
        let offset = u32::try_from(pc.checked_sub(self.code_start)?).ok()?;
        self.sites
            .binary_search_by_key(&offset, |s| s.ret_addr)
            .ok()
            .map(|i| &self.sites[i])
    }

    /// Whether `pc` lies in the code.
    fn contains(&self, pc: usize) -> bool {
        pc.checked_sub(self.code_start)
            .is_some_and(|offset| offset < self.code_len)
    }
}

/// Where a handler takes over: its first instruction and the frame it runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Handler {
    /// Address of the handler.
    pub pc: usize,
    /// Stack pointer the handler expects (its frame's, at the call).
    pub sp: usize,
    /// Frame pointer of its frame.
    pub fp: usize,
}

/// The innermost handler for an exception thrown at `pc` in the compiled frame
/// whose frame pointer is `fp`: that frame's own, if `pc` is the return address
/// of one of its `try_call`s, else the first found walking out through the
/// callers. When the walk leaves `code` without one (it reached the entry),
/// `Err` with the return address that left it (0 if the frame chain broke
/// off instead).
///
/// # Errors
///
/// The return address out of the code, when no frame has a handler.
///
/// # Safety
///
/// `fp` is the frame pointer of a live compiled frame of `code`'s module, `pc`
/// an address in that frame's function (a return address into it, or the
/// instruction that raised), and every frame from there out to the entry is a
/// compiled frame of that module with a standard frame record (saved frame
/// pointer at `fp`, return address at `fp + 8`).
pub(crate) unsafe fn find_handler(
    code: &Handlers<'_>,
    fp: usize,
    pc: usize,
) -> Result<Handler, usize> {
    let (mut fp, mut pc) = (fp, pc);
    loop {
        if !code.contains(pc) {
            return Err(pc);
        }
        if let Some(site) = code.site_at(pc) {
            return Ok(Handler {
                pc: code.code_start + site.handler as usize,
                sp: fp - site.frame_offset as usize,
                fp,
            });
        }
        // SAFETY: `fp` is a compiled frame of the module (see `# Safety`).
        let (caller_fp, ret) = unsafe { caller(fp) };
        // Callers' frames lie above their callees' on the one stack an entry runs
        // on; anything else is not a frame chain to follow.
        if caller_fp <= fp {
            return Err(0);
        }
        (fp, pc) = (caller_fp, ret);
    }
}

/// The frame pointer and return address of the caller of the frame at `fp`.
///
/// # Safety
///
/// `fp` is the frame pointer of a live frame with a standard frame record.
pub(crate) unsafe fn caller(fp: usize) -> (usize, usize) {
    let record = fp as *const usize;
    // SAFETY: a frame record is two words at the frame pointer: the caller's frame
    // pointer, then the return address (see `# Safety`).
    unsafe { (record.read(), record.add(1).read()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake stack: frame records at fixed places in a buffer.
    struct FakeStack {
        words: Vec<usize>,
    }

    impl FakeStack {
        fn addr(&self, word: usize) -> usize {
            self.words.as_ptr() as usize + word * 8
        }
    }

    #[test]
    fn the_walk_stops_at_the_first_handler_and_leaves_at_foreign_code() {
        let code_start = 0x1000;
        let sites = [
            CallSite {
                ret_addr: 0x20,
                frame_offset: 0x30,
                handler: 0x80,
            },
            CallSite {
                ret_addr: 0x140,
                frame_offset: 0x10,
                handler: 0x180,
            },
        ];
        let code = Handlers {
            code_start,
            code_len: 0x200,
            sites: &sites,
        };
        // Three frames: inner (word 0), middle (word 4), outer (word 8); the outer
        // frame returns to foreign code.
        let mut stack = FakeStack { words: vec![0; 12] };
        let (inner, middle, outer) = (stack.addr(0), stack.addr(4), stack.addr(8));
        stack.words[0] = middle;
        stack.words[1] = code_start + 0x100; // middle: a plain call
        stack.words[4] = outer;
        stack.words[5] = code_start + 0x140; // outer: a try_call
        stack.words[8] = stack.addr(11);
        stack.words[9] = 0x10_0000; // foreign
        // SAFETY: the fake frames are readable words of `stack`.
        let found = unsafe { find_handler(&code, inner, code_start + 0x50) };
        assert_eq!(
            found,
            Ok(Handler {
                pc: code_start + 0x180,
                sp: outer - 0x10,
                fp: outer,
            })
        );
        // Thrown right at a try_call of the innermost frame: that frame's handler.
        // SAFETY: as above.
        let found = unsafe { find_handler(&code, inner, code_start + 0x20) };
        assert_eq!(found.map(|h| h.sp), Ok(inner - 0x30));
        // Without the outer handler, the walk leaves through the foreign return.
        let code = Handlers {
            sites: &sites[..1],
            ..code
        };
        // SAFETY: as above.
        let found = unsafe { find_handler(&code, inner, code_start + 0x50) };
        assert_eq!(found, Err(0x10_0000));
        // A chain that does not climb the stack is not followed.
        stack.words[4] = inner;
        // SAFETY: as above.
        let found = unsafe { find_handler(&code, inner, code_start + 0x50) };
        assert_eq!(found, Err(0));
    }
}
