//! The JIT's epoch slow paths (see `kiln_runtime::epoch`): after a poke, at
//! the entry of a function that calls anything (its stack-limit check failed:
//! [`epoch_reached`]) and at a loop header (its read of the poll page faulted,
//! and the signal handler sent the thread to [`epoch_poll_stub`]).
//!
//! A poll's value is never used, so the thread returns *past* the poll
//! (`signals::poll_len` measures the instruction), and a deadline the callback left
//! reached makes the page inaccessible again at once: the next loop header's
//! poll calls the callback again, as every check does in the interpreter.

use std::sync::atomic::Ordering;

use kiln_runtime::TrapCode;

use crate::activation::Activation;
use crate::signals::current_entry;
use crate::vmctx::VmContext;

/// The slow path of a function entry's check: the stack pointer `sp` (the
/// compiled caller's, which the stub passes) was below
/// `VmContext::stack_limit`. If the limit was poked (the epoch reached the
/// store's deadline; see `kiln_runtime::epoch`), runs the deadline logic
/// ([`deadline`]); then, if `sp` is below the real limit, ends the entry with
/// `call stack exhausted`.
///
/// # Safety
///
/// Called by compiled code with its own live context.
unsafe extern "C" fn epoch_reached(vmctx: *mut VmContext, sp: usize) -> usize {
    // SAFETY: see `# Safety`; the entry attached the context to its activation.
    let (vm, act) = unsafe { (&mut *vmctx, Activation::of(&*vmctx)) };
    if vm.stack_limit.load(Ordering::Relaxed) != act.stack_limit {
        let landing = deadline(vm, act);
        if landing != 0 {
            return landing;
        }
    }
    if sp < act.stack_limit {
        return act.end_entry(vm, TrapCode::CallStackExhausted.into());
    }
    0
}

/// The slow path of a loop header's epoch check: its read of the poll page
/// faulted, and the signal handler sent the thread here (through
/// [`epoch_poll_stub`]), to run the deadline logic before it goes on past
/// the read (or, if the read's length was not known, runs it again).
///
/// # Safety
///
/// Called only through [`epoch_poll_stub`], on a thread whose innermost entry's
/// compiled code was stopped at a poll.
unsafe extern "C" fn epoch_polled() -> usize {
    let state = current_entry();
    // SAFETY: the innermost live entry, whose compiled code waits; its context
    // is attached to its activation.
    let vmctx = unsafe { (*state).vmctx };
    // SAFETY: as above.
    let (vm, act) = unsafe { (&mut *vmctx, Activation::of(&*vmctx)) };
    let landing = deadline(vm, act);
    // SAFETY: as above.
    let skipped = unsafe { (*state).poll_skipped };
    // A deadline the callback left reached has poked the page again (see
    // `Activation::refresh`): the next poll stops too. But a poll that is not
    // skipped runs again at once, and must not fault again without progress.
    if landing == 0
        && !skipped
        && let Some(page) = &act.poll_page
    {
        page.rearm();
    }
    landing
}

/// The epoch slow path proper, after a poke: puts the stack limit and the
/// poll page back, then runs the store's deadline logic. Returns 0 to go on,
/// or the stack pointer that ends the entry as trapped.
fn deadline(vm: &mut VmContext, act: &mut Activation) -> usize {
    // Put the limit back before looking at the deadline: an advance after this
    // pokes again.
    vm.stack_limit.store(act.stack_limit, Ordering::Relaxed);
    if let Some(page) = &act.poll_page {
        page.rearm();
    }
    // The callback runs as a host call at the entry's depth (the compiled code
    // does not pass its own, which would keep it live in a register for the
    // cold path). A deadline it leaves reached pokes the entry again
    // (`Activation::refresh`), so the next check stops too.
    let depth = vm.depth;
    // SAFETY: the entry's store and host state; compiled code is waiting for
    // this call and holds no reference to them.
    let outcome = unsafe {
        act.run_host(vm, |store, data| {
            store.depth = depth;
            kiln_runtime::epoch::deadline_reached(store, data)
        })
    };
    match outcome {
        Ok(()) => 0,
        Err(pending) => act.end_entry(vm, pending),
    }
}

crate::stubs::preserve_all_stub! {
    /// [`epoch_reached`] for the `preserve_all` convention, called as
    /// `epoch_reached(vmctx)`: it passes its caller's stack pointer as the
    /// second argument (`rsi`, which it restores).
    ///
    /// # Safety
    ///
    /// As for [`epoch_reached`].
    pub(crate) fn epoch_reached_stub(vmctx: *mut VmContext) = epoch_reached,
    resume: crate::signals::resume_asm,
    setup: "lea rsi, [rbp + 16]"
}

crate::stubs::preserve_all_stub! {
    /// [`epoch_polled`] for the `preserve_all` convention (its arguments are
    /// whatever the registers hold; it takes none).
    ///
    /// # Safety
    ///
    /// As for [`epoch_polled`].
    fn epoch_poll_inner() = epoch_polled,
    resume: crate::signals::resume_asm
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[unsafe(naked)]
/// Where the signal handler sends a thread whose loop-header poll faulted,
/// as if the poll had called it: the faulting instruction's address is its
/// return address. Saves the flags (the poll may sit between a compare and
/// its branch), runs [`epoch_polled`] through [`epoch_poll_inner`] (which
/// saves every register), restores the flags and returns where the handler
/// said (past the poll), unless the entry ended with a trap.
///
/// # Safety
///
/// Entered only by the signal handler's redirection of a poll fault.
pub(crate) unsafe extern "C" fn epoch_poll_stub() {
    // On entry rsp is 8 mod 16 (compiled code keeps it 16-byte aligned, and the
    // handler pushed the return address); with the flags pushed it is 0 mod 16
    // at the call, as at any call.
    core::arch::naked_asm!(
        "pushfq",
        "call {inner}",
        "popfq",
        "ret",
        inner = sym epoch_poll_inner,
    )
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::sync::Arc;

    use kiln_parser::Features;

    use crate::CompiledModule;
    use crate::signals::poll_len;
    use crate::vmctx;

    /// Every poll Cranelift emits, whatever register holds the page's address,
    /// has an encoding `poll_len` measures (so every faulting poll is skipped).
    #[test]
    fn every_compiled_poll_is_measured() {
        // Loops under register pressure, nested, with calls between them.
        let mut wat = String::from("(module (memory 1)");
        for f in 0..4 {
            let _ = write!(wat, "(func $f{f} (param $n i64) (result i64)");
            for l in 0..14 {
                let _ = write!(wat, " (local $l{l} i64)");
            }
            for l in 0..14 {
                let _ = write!(wat, " (local.set $l{l} (i64.load (i32.const {})))", l * 8);
            }
            wat.push_str(" (loop $a (loop $b");
            for l in 0..14 {
                let next = (l + 1) % 14;
                let _ = write!(
                    wat,
                    " (local.set $l{l} (i64.add (local.get $l{l}) (i64.mul (local.get $l{next}) (local.get $n))))"
                );
            }
            if f > 0 {
                let _ = write!(wat, " (local.set $l0 (call $f{} (local.get $l3)))", f - 1);
            }
            wat.push_str(" (br_if $b (i64.lt_u (local.get $l1) (local.get $n)))");
            wat.push_str(" (br_if $a (i64.lt_u (local.get $l2) (local.get $n)))))");
            for l in 0..14 {
                let _ = write!(wat, " (i64.store (i32.const {}) (local.get $l{l}))", l * 8);
            }
            wat.push_str(" (local.get $l5))");
        }
        wat.push(')');
        let bytes = wat::parse_str(&wat).expect("well-formed text");
        let module = kiln_parser::parse(&bytes, Features::ALL).expect("parse");
        let info = kiln_validator::validate(&module, Features::ALL).expect("valid");
        let options = crate::CompileOptions {
            epoch_interruption: true,
            ..crate::CompileOptions::default()
        };
        let code = CompiledModule::new(Arc::new(module), Arc::new(info), options).expect("compile");
        let polls: Vec<_> = code
            .trap_sites()
            .iter()
            .filter(|t| t.code == vmctx::EPOCH_POLL)
            .collect();
        // Two loops per function, less the inner loops whose every iteration
        // calls a function that checks on entry (`f2` and `f3` call `f1` and
        // `f2`, which call something; `f1` calls `f0`, which does not).
        assert_eq!(polls.len(), 6);
        for t in polls {
            let pc = (code.code_start() + t.offset as usize) as *const u8;
            // SAFETY: a poll site of the module's mapped code.
            assert!(unsafe { poll_len(pc) }.is_some(), "poll at {:#x}", t.offset);
        }
    }
}
