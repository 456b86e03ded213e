//! Traps by signal: how a fault or trap instruction in compiled code becomes
//! `Err(Trap)` in the Rust code that called into WebAssembly.
//!
//! Compiled code never checks for most traps itself: an out-of-bounds access
//! to a guarded memory faults (`SIGSEGV`/`SIGBUS`), a trap instruction
//! (`ud2`, Cranelift's `trap`/`trapnz`) raises `SIGILL`, and a hardware
//! division by zero raises `SIGFPE`. Cranelift records the code offset and
//! trap code of every such instruction; [`crate::CompiledModule`] keeps them
//! sorted.
//!
//! Each entry from Rust into compiled code goes through [`enter`], a small
//! assembly routine that saves the callee-saved registers, records its stack
//! pointer in an [`EntryState`] and calls the trampoline. The entry states of
//! a thread form a stack (a host function may call back into WebAssembly),
//! linked from a thread-local. When a signal arrives, the handler looks at
//! the innermost entry of the faulting thread: if the faulting instruction
//! lies in that entry's code and is a recorded trap site, the handler records
//! the trap code and rewrites the interrupted context so that, when the
//! handler returns, execution continues in [`resume`], on the stack pointer
//! `enter` saved: `resume` restores the callee-saved registers and returns
//! from `enter` with "trapped". Only compiled WebAssembly frames are skipped
//! (between an entry and the code it runs there are no Rust frames: calls out
//! to Rust return normally, and a re-entry from them is a new, inner entry),
//! so no Rust destructor is ever skipped.
//!
//! Anything else (a fault in Rust code, a signal from another thread's
//! `kill`) goes to the handler installed before Kiln's, or to the default
//! action. The handlers are installed once per process, for all threads.
//!
//! # The stack compiled code runs on
//! An outermost entry switches to a stack of its own (one per thread, made on
//! first use: `kiln_runtime::resumable::STACK_SIZE` bytes of address space, committed only as
//! it is touched, with an inaccessible guard region below it), so the depth
//! WebAssembly may recurse to does not depend on the host thread's stack:
//! with the call-depth limit set to a million, a million frames fit, as they
//! do in the interpreter. (A resumable call runs on a stack of the same kind,
//! its own; an entry on it stays there.) Libcalls and the host functions they call run on
//! that stack too, and a re-entry from them stays on it. Every compiled
//! function checks its stack pointer against `VmContext::stack_limit`
//! ([`stack_limit`]) on entry, so a deeper recursion traps with
//! `call stack exhausted` before reaching the guard region.
//!
//! # Exceptions
//! The same entry states carry WebAssembly exceptions (`unwind.rs` explains
//! the mechanism): [`throw_asm`] and [`throw_pending_asm`], the libcalls
//! compiled code throws through, find the handler with the innermost
//! entry's call-site table and jump to it, or resume the entry with the
//! status "exception" ([`resume_exception_asm`]) when it has none; and the
//! signal handler does the same for the `PENDING_TRAP` that follows a libcall
//! which left an exception.
//!
//! This is implemented for x86-64 Linux, the platform the JIT supports
//! ([`crate::CompiledModule::new`] refuses others).

use std::cell::RefCell;
use std::sync::OnceLock;

use cranelift_codegen::ir;
use kiln_runtime::resumable::{self, GuardedStack};

use crate::unwind::{self, CallSite, Handlers};
use crate::vmctx::{self, VmContext};

/// A trap instruction or trapping memory access in compiled code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrapSite {
    /// Offset from the start of the module's code.
    pub offset: u32,
    /// What trap it raises.
    pub code: ir::TrapCode,
}

/// One entry from Rust into compiled code, as the signal handler sees it.
#[derive(Debug)]
pub(crate) struct EntryState {
    /// Stack pointer `enter` saved (written by the assembly).
    sp: usize,
    /// Start address of the code this entry runs.
    code_start: usize,
    /// Bytes of code from `code_start`.
    code_len: usize,
    /// The code's trap sites, sorted by offset.
    traps: *const TrapSite,
    num_traps: usize,
    /// The code's call sites with an exception handler, sorted by return address.
    call_sites: *const CallSite,
    num_call_sites: usize,
    /// The context the entry runs with (set by `enter`): a handler that catches a
    /// libcall's exception clears its `pending`.
    pub(crate) vmctx: *mut VmContext,
    /// The trap the handler found, once it has.
    trapped: Option<ir::TrapCode>,
    /// An exception in flight: one a libcall left for the compiled code that
    /// called it to throw, or, once the entry has resumed with the status
    /// "exception", the one that escaped it.
    thrown: Option<u32>,
    /// The entry this one interrupted on the same thread (null for the outermost).
    prev: *mut EntryState,
    /// Whether the last epoch poll that faulted will be skipped on return (see
    /// `epoch.rs`): the slow path may then make the poll page inaccessible again.
    pub(crate) poll_skipped: bool,
    /// Where a faulting epoch poll sends the thread (`epoch::epoch_poll_stub`;
    /// set by the entry, so that this module does not depend on that one).
    pub(crate) poll_stub: usize,
}

impl EntryState {
    /// An entry into code `[start, start + len)` whose trap sites are `traps`
    /// (sorted by offset) and whose call sites with a handler are `call_sites`
    /// (sorted by return address); the caller keeps both alive for the whole
    /// entry.
    pub(crate) fn new(
        start: usize,
        len: usize,
        traps: &[TrapSite],
        call_sites: &[CallSite],
    ) -> EntryState {
        EntryState {
            sp: 0,
            code_start: start,
            code_len: len,
            traps: traps.as_ptr(),
            num_traps: traps.len(),
            call_sites: call_sites.as_ptr(),
            num_call_sites: call_sites.len(),
            vmctx: std::ptr::null_mut(),
            trapped: None,
            thrown: None,
            prev: std::ptr::null_mut(),
            poll_skipped: false,
            poll_stub: 0,
        }
    }

    /// The entry's code and its handler table, for the unwinder.
    fn handlers(&self) -> Handlers<'_> {
        Handlers {
            code_start: self.code_start,
            code_len: self.code_len,
            // SAFETY: `call_sites`/`num_call_sites` come from a live slice (see `new`).
            sites: unsafe { std::slice::from_raw_parts(self.call_sites, self.num_call_sites) },
        }
    }

    /// Where exception `exn`, thrown at `pc` in the compiled frame at `fp`, goes:
    /// the innermost handler, or out of this entry with the status "exception"
    /// (then recorded in `thrown`). A handler reached clears the context's
    /// `pending`.
    ///
    /// # Safety
    ///
    /// As [`unwind::find_handler`]: `fp` and `pc` describe a live compiled frame of
    /// this entry, and this is the innermost entry of the thread.
    unsafe fn land(&mut self, exn: u32, fp: usize, pc: usize) -> Landing {
        // SAFETY: see `# Safety`.
        match unsafe { unwind::find_handler(&self.handlers(), fp, pc) } {
            Ok(handler) => {
                if !self.vmctx.is_null() {
                    // SAFETY: the entry's live context (set by `enter`); compiled code
                    // of this entry is suspended, so nothing else writes it now.
                    unsafe { (*self.vmctx).pending = 0 };
                }
                Landing {
                    sp: handler.sp,
                    fp: handler.fp,
                    pc: handler.pc,
                    payload: exn as usize,
                }
            }
            Err(exit) => {
                // Every frame of an entry is of its module (`unwind.rs`), so the walk
                // leaves the code only through the trampoline's return into
                // `enter_asm`.
                debug_assert!(
                    exit.wrapping_sub(enter_asm as *const () as usize) < ENTER_ASM_MAX_LEN,
                    "an exception left compiled code at {exit:#x}, not into enter_asm"
                );
                self.thrown = Some(exn);
                Landing {
                    sp: self.sp,
                    fp: 0,
                    pc: resume_exception_asm as *const () as usize,
                    payload: 0,
                }
            }
        }
    }

    /// The trap code recorded for the instruction at `pc`, if `pc` is a trap site
    /// of this entry's code.
    fn trap_at(&self, pc: usize) -> Option<ir::TrapCode> {
        let offset = pc.checked_sub(self.code_start)?;
        if offset >= self.code_len {
            return None;
        }
        // SAFETY: `traps`/`num_traps` come from a live slice (see `new`).
        let traps = unsafe { std::slice::from_raw_parts(self.traps, self.num_traps) };
        let offset = u32::try_from(offset).ok()?;
        traps
            .binary_search_by_key(&offset, |t| t.offset)
            .ok()
            .map(|i| traps[i].code)
    }
}

/// The native signature of array-call trampolines (see `trampoline.rs`).
pub(crate) type Trampoline =
    unsafe extern "C" fn(*mut crate::vmctx::VmContext, *const u8, *mut u128);

/// How an entry into compiled code ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryOutcome {
    /// The code returned normally.
    Returned,
    /// The code trapped, with this trap code (`None` for a trap without a known
    /// code: a libcall's pending trap).
    Trapped(Option<ir::TrapCode>),
    /// An exception left the code: no handler between the throw and the entry.
    Threw(u32),
}

/// Calls `trampoline(vmctx, callee, values)` as entry `state`, and says how it
/// ended.
///
/// # Safety
///
/// `trampoline` must be compiled code in the range `state` describes, with the
/// `Trampoline` signature, and every argument what it expects; the code must stay
/// mapped for the whole call.
pub(crate) unsafe fn enter(
    state: &mut EntryState,
    trampoline: Trampoline,
    vmctx: *mut crate::vmctx::VmContext,
    callee: *const u8,
    values: *mut u128,
) -> EntryOutcome {
    install_handlers();
    state.vmctx = vmctx;
    state.prev = resumable::set_entry(std::ptr::from_mut(state).cast()).cast();
    struct Pop(*mut EntryState);
    impl Drop for Pop {
        fn drop(&mut self) {
            resumable::set_entry(self.0.cast());
        }
    }
    let _pop = Pop(state.prev);
    let sp_slot: *mut usize = &raw mut state.sp;
    // An outermost entry moves to the thread's WebAssembly stack; a re-entry from a
    // host function is on it already.
    let new_sp = match wasm_stack() {
        Some(stack) if !stack.contains(approximate_sp()) => stack.top,
        _ => 0,
    };
    // SAFETY: `enter_asm` saves the callee-saved registers, switches to `new_sp` unless
    // it is 0 (the top of a mapped stack, 16-byte aligned), and calls the trampoline
    // with the three arguments (the caller's contract); it returns 1 only through
    // `resume`, which the signal handler (or a throw stub) sets up with the stack
    // pointer stored in `sp_slot`, on the original stack, and 2 only through
    // `resume_exception_asm`, which the unwinder sets up the same way.
    let status = unsafe { enter_asm(sp_slot, trampoline, vmctx, callee, values, new_sp) };
    match status {
        0 => EntryOutcome::Returned,
        2 => match state.thrown.take() {
            Some(exn) => EntryOutcome::Threw(exn),
            None => EntryOutcome::Trapped(None),
        },
        _ => EntryOutcome::Trapped(state.trapped),
    }
}

/// A bound on [`enter_asm`]'s length in bytes (it has 65).
const ENTER_ASM_MAX_LEN: usize = 128;

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[unsafe(naked)]
/// `enter_asm(sp_slot, trampoline, vmctx, callee, values, new_sp) -> u32`: saves the
/// callee-saved registers, stores the stack pointer in `*sp_slot`, switches to the
/// stack at `new_sp` unless it is 0, calls `trampoline(vmctx, callee, values)`,
/// switches back and returns 0; [`resume_asm`] returns 1 from it.
unsafe extern "C" fn enter_asm(
    sp_slot: *mut usize,
    trampoline: Trampoline,
    vmctx: *mut crate::vmctx::VmContext,
    callee: *const u8,
    values: *mut u128,
    new_sp: usize,
) -> u32 {
    // On entry rsp is 8 mod 16; six pushes and 8 bytes of padding make it 0 mod 16
    // at the call, as the ABI wants (and `new_sp` is 16-byte aligned). rbx, saved
    // above, keeps `sp_slot` across the call (the trampoline preserves it).
    core::arch::naked_asm!(
        "push rbp",
        "mov rbp, rsp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "sub rsp, 8",
        "mov [rdi], rsp",
        "mov rbx, rdi",
        "test r9, r9",
        "jz 2f",
        "mov rsp, r9",
        "2:",
        "mov rax, rsi",
        "mov rdi, rdx",
        "mov rsi, rcx",
        "mov rdx, r8",
        "call rax",
        "mov rsp, [rbx]",
        "xor eax, eax",
        "add rsp, 8",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[unsafe(naked)]
/// Where the signal handler sends a trapped thread, with the stack pointer
/// [`enter_asm`] saved: unwinds `enter_asm`'s frame and returns 1 from it.
pub(crate) unsafe extern "C" fn resume_asm() {
    core::arch::naked_asm!(
        "mov eax, 1",
        "add rsp, 8",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[unsafe(naked)]
/// Where the unwinder sends an exception no handler of the entry caught, with the
/// stack pointer [`enter_asm`] saved: unwinds `enter_asm`'s frame and returns 2
/// from it (the exception waits in the entry state).
unsafe extern "C" fn resume_exception_asm() {
    core::arch::naked_asm!(
        "mov eax, 2",
        "add rsp, 8",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

/// Where a throw continues: a handler with its frame, or an entry's resume
/// routine on the stack pointer `enter_asm` saved. Read by the throw stubs, so
/// its layout is theirs: four words, in this order.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Landing {
    /// Stack pointer to set.
    sp: usize,
    /// Frame pointer to set (unused by the resume routines, which pop their own).
    fp: usize,
    /// Address to jump to.
    pc: usize,
    /// The first payload register's value (`rax`): the exception, for a handler.
    payload: usize,
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[unsafe(naked)]
/// The `throw` libcall: `throw(vmctx, exn: u32) -> !`, called by compiled code
/// (with the `tail` convention, so that a `try_call` of it has every register
/// clobbered on its exceptional edge; the arguments are in `rdi` and `esi` as
/// with `system_v`). It hands its caller's frame pointer (`rbp`, untouched
/// since the call) and return address to [`throw_landing`], which returns a
/// [`Landing`], and jumps there: to a handler with `rax` = the exception and
/// `rdx` = 0, or to [`resume_exception_asm`].
pub(crate) unsafe extern "C" fn throw_asm(vmctx: *mut VmContext, exn: u32) {
    // On entry rsp is 8 mod 16; 40 bytes (a 32-byte `Landing` and padding) make it 0
    // mod 16 at the call.
    core::arch::naked_asm!(
        "mov rdx, rbp",
        "mov rcx, [rsp]",
        "sub rsp, 40",
        "mov r8, rsp",
        "call {landing}",
        "mov rax, [rsp + 24]",
        "mov rbp, [rsp + 8]",
        "mov rcx, [rsp + 16]",
        "mov rsp, [rsp]",
        "xor edx, edx",
        "jmp rcx",
        landing = sym throw_landing,
    )
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[unsafe(naked)]
/// The `throw_pending` libcall: `throw_pending(vmctx) -> !`, which compiled code
/// `try_call`s (`tail` convention, as [`throw_asm`]) inside a `try_table` when a
/// libcall it called has set `VmContext::pending`: throws the exception the
/// libcall left, or, for a trap, ends the entry as the signal handler would.
/// Like [`throw_asm`], with [`throw_pending_landing`].
pub(crate) unsafe extern "C" fn throw_pending_asm(vmctx: *mut VmContext) {
    core::arch::naked_asm!(
        "mov rsi, rbp",
        "mov rdx, [rsp]",
        "sub rsp, 40",
        "mov rcx, rsp",
        "call {landing}",
        "mov rax, [rsp + 24]",
        "mov rbp, [rsp + 8]",
        "mov rcx, [rsp + 16]",
        "mov rsp, [rsp]",
        "xor edx, edx",
        "jmp rcx",
        landing = sym throw_pending_landing,
    )
}

/// The innermost entry of this thread, which a throw stub was called under.
///
/// # Panics
///
/// Aborts the process if there is none: compiled code runs only inside an entry,
/// so this is a broken invariant, and a panic cannot unwind through the stub.
pub(crate) fn current_entry() -> *mut EntryState {
    let current = resumable::entry().cast::<EntryState>();
    if current.is_null() {
        std::process::abort();
    }
    current
}

/// [`throw_asm`]'s Rust half: where exception `exn`, thrown by the compiled frame
/// at `fp` from the call returning to `pc`, goes.
///
/// # Safety
///
/// Called only by [`throw_asm`], with its caller's frame pointer and return
/// address, and `out` pointing at the stub's landing slot.
unsafe extern "C" fn throw_landing(
    _vmctx: *mut VmContext,
    exn: u32,
    fp: usize,
    pc: usize,
    out: *mut Landing,
) {
    let state = current_entry();
    // SAFETY: the innermost live entry (see `try_resume`); `fp`/`pc` are the
    // compiled caller's, inside it (see `# Safety`).
    let landing = unsafe { (*state).land(exn, fp, pc) };
    // SAFETY: `out` is the stub's landing slot.
    unsafe { out.write(landing) };
}

/// [`throw_pending_asm`]'s Rust half: throws the exception a libcall left in the
/// entry from the compiled frame at `fp` (whose `try_call` returns to `pc`), or,
/// when the libcall left a trap instead, resumes the entry as trapped with
/// `PENDING_TRAP` (the activation holds the trap, as after the signal handler).
///
/// # Safety
///
/// As [`throw_landing`], for [`throw_pending_asm`].
unsafe extern "C" fn throw_pending_landing(
    _vmctx: *mut VmContext,
    fp: usize,
    pc: usize,
    out: *mut Landing,
) {
    let state = current_entry();
    // SAFETY: the innermost live entry; nothing else refers to it while its compiled
    // code waits for this call.
    let state = unsafe { &mut *state };
    let landing = match state.thrown.take() {
        // SAFETY: `fp`/`pc` are the compiled caller's, inside this entry.
        Some(exn) => unsafe { state.land(exn, fp, pc) },
        None => {
            state.trapped = Some(vmctx::PENDING_TRAP);
            Landing {
                sp: state.sp,
                fp: 0,
                pc: resume_asm as *const () as usize,
                payload: 0,
            }
        }
    };
    // SAFETY: `out` is the stub's landing slot.
    unsafe { out.write(landing) };
}

/// Ends the innermost entry as trapped by a libcall (`PENDING_TRAP`: the
/// activation holds the trap), for a libcall stub that jumps to
/// [`resume_asm`] instead of returning: returns the stack pointer to jump
/// there with.
pub(crate) fn trap_innermost_entry() -> usize {
    let state = current_entry();
    // SAFETY: the innermost live entry; its compiled code waits for the libcall
    // that calls this, and nothing else refers to it meanwhile.
    let state = unsafe { &mut *state };
    state.trapped = Some(vmctx::PENDING_TRAP);
    state.sp
}

/// Records exception `exn`, which a libcall's callee ended with, in the
/// innermost entry, for the compiled code that called the libcall to throw once
/// it sees `VmContext::pending` (which the libcall sets).
pub(crate) fn throw_after_libcall(exn: u32) {
    let current = resumable::entry().cast::<EntryState>();
    if !current.is_null() {
        // SAFETY: the innermost live entry of this thread: its compiled code is
        // waiting for the libcall that calls this.
        unsafe { (*current).thrown = Some(exn) };
    }
}

/// The length in bytes of the poll instruction at `pc`, a byte load into a
/// register through a base register with no displacement, as Cranelift
/// encodes it for x86-64 (`movzx r32/r64, byte [base]`: an optional REX
/// prefix, `0F B6`, a ModRM byte, a SIB byte for an `rsp`/`r12` base, a
/// zero 8-bit displacement for an `rbp`/`r13` base); `None` for any other
/// encoding.
///
/// # Safety
///
/// `pc` points at a poll site of mapped, readable code.
pub(crate) unsafe fn poll_len(pc: *const u8) -> Option<usize> {
    // SAFETY: a poll is at least 3 bytes of readable code (see `# Safety`), and
    // every byte read below is part of it if the bytes before match.
    let byte = |i: usize| unsafe { pc.add(i).read() };
    let mut i = usize::from((0x40..=0x4f).contains(&byte(0)));
    if byte(i) != 0x0f || byte(i + 1) != 0xb6 {
        return None;
    }
    i += 2;
    let modrm = byte(i);
    i += 1;
    let (mode, rm) = (modrm >> 6, modrm & 7);
    if mode == 3 {
        return None;
    }
    if rm == 4 {
        let sib = byte(i);
        i += 1;
        if mode == 0 && sib & 7 == 5 {
            return None;
        }
    } else if mode == 0 && rm == 5 {
        return None;
    }
    match mode {
        0 => Some(i),
        1 => Some(i + 1),
        _ => Some(i + 4),
    }
}

/// The signals compiled code raises.
const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// The handlers that were installed before Kiln's, per entry of [`SIGNALS`].
static PREVIOUS: OnceLock<[libc::sigaction; 4]> = OnceLock::new();

/// Installs Kiln's handlers for [`SIGNALS`], once per process.
fn install_handlers() {
    PREVIOUS.get_or_init(|| {
        // SAFETY: `sigaction` structs are plain data; zeroed is a valid empty value.
        let mut previous: [libc::sigaction; 4] = unsafe { std::mem::zeroed() };
        for (sig, prev) in SIGNALS.iter().zip(previous.iter_mut()) {
            // SAFETY: as above; every field we rely on is set below.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = handler as *const () as usize;
            // SA_ONSTACK: run on the thread's alternate stack when it has one (Rust's
            // runtime gives threads one to report stack overflows), SA_NODEFER: a fault
            // inside the handler chain is not blocked.
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            // SAFETY: `sa_mask` is a valid `sigset_t` to initialise.
            unsafe { libc::sigemptyset(&mut action.sa_mask) };
            // SAFETY: `action` is fully initialised and `prev` receives the old action.
            let rc = unsafe { libc::sigaction(*sig, &action, prev) };
            assert_eq!(rc, 0, "installing the JIT's signal handler failed");
        }
        previous
    });
}

/// Kiln's handler: resumes a trapped entry, or passes the signal on.
extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid `ucontext_t` as the third argument of an
    // SA_SIGINFO handler.
    if unsafe { try_resume(ctx) } {
        return;
    }
    // SAFETY: forwarding exactly what the kernel gave us.
    unsafe { chain(sig, info, ctx) }
}

/// If the interrupted instruction is a trap site of the innermost entry, records
/// the trap and redirects the context to [`resume_asm`]; returns whether it did.
///
/// # Safety
///
/// `ctx` is the `ucontext_t` of the signal being handled.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
unsafe fn try_resume(ctx: *mut libc::c_void) -> bool {
    let current = resumable::entry().cast::<EntryState>();
    if current.is_null() || ctx.is_null() {
        return false;
    }
    let uc = ctx.cast::<libc::ucontext_t>();
    // SAFETY: `uc` is the interrupted context (see `# Safety`).
    let gregs = unsafe { &mut (*uc).uc_mcontext.gregs };
    let pc = gregs[libc::REG_RIP as usize] as usize;
    // SAFETY: `current` is the innermost live entry of this thread: `enter` keeps it
    // alive and linked for exactly the duration of the compiled code it runs.
    let state = unsafe { &mut *current };
    let Some(code) = state.trap_at(pc) else {
        return false;
    };
    if code == vmctx::PENDING_TRAP
        && let Some(exn) = state.thrown.take()
    {
        // A libcall left an exception. The trapping function called it outside every
        // `try_table` (inside one it would test `pending` itself), so the search
        // starts at its caller.
        let fp = gregs[libc::REG_RBP as usize] as usize;
        // SAFETY: `fp` is the frame pointer of the compiled function that trapped
        // (compiled code keeps frame records), in this entry.
        let landing = unsafe {
            let (caller_fp, ret) = unwind::caller(fp);
            state.land(exn, caller_fp, ret)
        };
        gregs[libc::REG_RSP as usize] = landing.sp as i64;
        gregs[libc::REG_RBP as usize] = landing.fp as i64;
        gregs[libc::REG_RAX as usize] = landing.payload as i64;
        gregs[libc::REG_RDX as usize] = 0;
        gregs[libc::REG_RIP as usize] = landing.pc as i64;
        return true;
    }
    if code == vmctx::EPOCH_POLL && state.poll_stub != 0 {
        // A loop header's poll faulted: the epoch reached the deadline. Make the
        // poll call the slow path, as if it were a call returning past the poll
        // (its value is never used), or to it when its length is not known.
        // SAFETY: `pc` is a poll site of this entry's code, mapped and readable.
        let len = unsafe { poll_len(pc as *const u8) };
        state.poll_skipped = len.is_some();
        let sp = gregs[libc::REG_RSP as usize] as usize - 8;
        // SAFETY: `sp` is just below the compiled code's stack pointer, on its
        // stack, above the guard (the stack-limit check keeps a red zone free).
        unsafe { (sp as *mut usize).write(pc + len.unwrap_or(0)) };
        gregs[libc::REG_RSP as usize] = sp as i64;
        gregs[libc::REG_RIP as usize] = state.poll_stub as i64;
        return true;
    }
    state.trapped = Some(code);
    gregs[libc::REG_RSP as usize] = state.sp as i64;
    gregs[libc::REG_RIP as usize] = resume_asm as *const () as usize as i64;
    true
}

/// Hands a signal Kiln does not handle to the handler installed before Kiln's,
/// or restores the default action so that returning re-raises it.
///
/// # Safety
///
/// The arguments are the signal being handled, as the kernel passed them.
unsafe fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let Some(previous) = PREVIOUS.get() else {
        return;
    };
    let Some(i) = SIGNALS.iter().position(|&s| s == sig) else {
        return;
    };
    let prev = &previous[i];
    if prev.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: with SA_SIGINFO, `sa_sigaction` is a three-argument handler.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(prev.sa_sigaction) };
        f(sig, info, ctx);
    } else if prev.sa_sigaction == libc::SIG_DFL || prev.sa_sigaction == libc::SIG_IGN {
        // The default action: reinstate it; the faulting instruction runs again when we
        // return and the kernel takes the default action (a synchronous fault cannot be
        // ignored).
        // SAFETY: `prev` is the action that was installed before ours.
        unsafe { libc::sigaction(sig, prev, std::ptr::null_mut()) };
    } else {
        // SAFETY: without SA_SIGINFO, `sa_sigaction` is a one-argument handler.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(prev.sa_sigaction) };
        f(sig);
    }
}

/// Bytes kept free below the lowest frame of compiled code: room for libcalls, the
/// host functions they call (up to their own re-entry, which checks again), and
/// the Rust code those run.
const STACK_RED_ZONE: usize = 1 << 20;

thread_local! {
    /// This thread's WebAssembly stack, made on first use.
    static WASM_STACK: RefCell<Option<GuardedStack>> = const { RefCell::new(None) };
}

/// The bounds of the WebAssembly stack code runs on from here: a resumable
/// call's, when this runs on one (see `kiln_runtime::resumable`), or else this
/// thread's, made if needed (`None` if it cannot be mapped: compiled code then
/// runs on the thread's stack).
fn wasm_stack() -> Option<StackBounds> {
    if let Some((map, low, top)) = resumable::current_stack() {
        return Some(StackBounds { map, low, top });
    }
    WASM_STACK
        .try_with(|s| {
            let mut s = s.borrow_mut();
            if s.is_none() {
                *s = GuardedStack::new().ok();
            }
            s.as_ref().map(|w| StackBounds {
                map: w.map(),
                low: w.low(),
                top: w.top(),
            })
        })
        .ok()
        .flatten()
}

/// Where a WebAssembly stack lies.
#[derive(Debug, Clone, Copy)]
struct StackBounds {
    map: usize,
    low: usize,
    top: usize,
}

impl StackBounds {
    fn contains(&self, sp: usize) -> bool {
        (self.map..self.top).contains(&sp)
    }
}

/// The lowest stack pointer compiled code may run at on this thread, when no frame
/// of the module is larger than `max_frame` bytes.
///
/// Compiled functions compare their stack pointer (taken after their prologue
/// allocated the frame) with this limit on entry. A function runs only if its
/// frame ends above the limit, so the next frame, at most `max_frame` bytes,
/// still ends above the red zone, and the red zone covers libcalls and host code.
pub(crate) fn stack_limit(max_frame: usize) -> usize {
    let low = match wasm_stack() {
        Some(stack) => stack.low,
        // No stack of our own: the thread's, from half a megabyte below here.
        None => approximate_sp().saturating_sub(512 << 10),
    };
    low.saturating_add(STACK_RED_ZONE).saturating_add(max_frame)
}

/// Whether an entry from here would run above `limit`: always for an outermost
/// entry (it starts at the top of the WebAssembly stack), and for a re-entry when
/// the current stack pointer is above the limit.
pub(crate) fn entry_fits(limit: usize) -> bool {
    let sp = approximate_sp();
    match wasm_stack() {
        Some(stack) if !stack.contains(sp) => true,
        _ => sp >= limit,
    }
}

/// An address close to the current stack pointer: a local's.
#[inline(never)]
fn approximate_sp() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

#[cfg(test)]
mod tests {
    use super::poll_len;

    #[test]
    fn poll_encodings_are_measured() {
        let cases: [(&[u8], Option<usize>); 8] = [
            (&[0x0f, 0xb6, 0x06], Some(3)),             // movzx eax, byte [rsi]
            (&[0x48, 0x0f, 0xb6, 0x06], Some(4)),       // movzx rax, byte [rsi]
            (&[0x41, 0x0f, 0xb6, 0x00], Some(4)),       // movzx eax, byte [r8]
            (&[0x0f, 0xb6, 0x04, 0x24], Some(4)),       // movzx eax, byte [rsp]
            (&[0x0f, 0xb6, 0x45, 0x00], Some(4)),       // movzx eax, byte [rbp + 0]
            (&[0x41, 0x0f, 0xb6, 0x45, 0x00], Some(5)), // movzx eax, byte [r13 + 0]
            (&[0x8a, 0x06, 0x00], None),                // mov al, [rsi]: not a poll
            (&[0x0f, 0xb6, 0xc0], None),                // movzx eax, al: no memory
        ];
        for (bytes, len) in cases {
            let mut padded = bytes.to_vec();
            padded.resize(16, 0x90);
            // SAFETY: 16 readable bytes.
            assert_eq!(unsafe { poll_len(padded.as_ptr()) }, len, "{bytes:02x?}");
        }
    }
}
