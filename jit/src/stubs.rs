//! [`preserve_all_stub!`]: the assembly stubs through which compiled code
//! calls a Rust slow path with Cranelift's `preserve_all` convention.

/// Defines `$stub`, `$target` for the `preserve_all` convention: saves every
/// register the host's convention lets a callee clobber (the integer ones and
/// all of `xmm0`-`xmm15`), calls `$target` with the arguments as they came
/// (`rdi`, `esi`, `rdx`: `preserve_all` passes them as `system_v` does), and
/// restores them. (Cranelift's `preserve_all` signatures return nothing.)
///
/// `$setup` lines run just before the call (with `rbp` = the stub's frame:
/// `[rbp + 16]` is where the caller's stack pointer was before its call).
///
/// `$target` returns 0 to return to the caller, or a stack pointer: the stub
/// then ends the entry as trapped by jumping to `$resume` (the entry's resume
/// routine, `signals::resume_asm`) with it
/// (see `signals::trap_innermost_entry`), so compiled code needs no check of
/// `VmContext::pending` after the call.
macro_rules! preserve_all_stub {
    ($(#[$doc:meta])* $vis:vis fn $stub:ident($($arg:ident: $ty:ty),*) = $target:path,
     resume: $resume:path $(, setup: $($setup:literal),*)?) => {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        #[unsafe(naked)]
        $(#[$doc])*
        $vis unsafe extern "C" fn $stub($($arg: $ty),*) {
            // On entry rsp is 8 mod 16; rbp and nine registers (80 bytes) make it 8
            // mod 16 again, and 264 bytes (sixteen 16-byte slots and padding) 0 mod 16
            // at the call.
            core::arch::naked_asm!(
                "push rbp",
                "mov rbp, rsp",
                "push rax",
                "push rcx",
                "push rdx",
                "push rsi",
                "push rdi",
                "push r8",
                "push r9",
                "push r10",
                "push r11",
                "sub rsp, 264",
                "movdqu [rsp], xmm0",
                "movdqu [rsp + 16], xmm1",
                "movdqu [rsp + 32], xmm2",
                "movdqu [rsp + 48], xmm3",
                "movdqu [rsp + 64], xmm4",
                "movdqu [rsp + 80], xmm5",
                "movdqu [rsp + 96], xmm6",
                "movdqu [rsp + 112], xmm7",
                "movdqu [rsp + 128], xmm8",
                "movdqu [rsp + 144], xmm9",
                "movdqu [rsp + 160], xmm10",
                "movdqu [rsp + 176], xmm11",
                "movdqu [rsp + 192], xmm12",
                "movdqu [rsp + 208], xmm13",
                "movdqu [rsp + 224], xmm14",
                "movdqu [rsp + 240], xmm15",
                $($($setup,)*)?
                "call {slow}",
                "test rax, rax",
                "jnz 3f",
                "movdqu xmm0, [rsp]",
                "movdqu xmm1, [rsp + 16]",
                "movdqu xmm2, [rsp + 32]",
                "movdqu xmm3, [rsp + 48]",
                "movdqu xmm4, [rsp + 64]",
                "movdqu xmm5, [rsp + 80]",
                "movdqu xmm6, [rsp + 96]",
                "movdqu xmm7, [rsp + 112]",
                "movdqu xmm8, [rsp + 128]",
                "movdqu xmm9, [rsp + 144]",
                "movdqu xmm10, [rsp + 160]",
                "movdqu xmm11, [rsp + 176]",
                "movdqu xmm12, [rsp + 192]",
                "movdqu xmm13, [rsp + 208]",
                "movdqu xmm14, [rsp + 224]",
                "movdqu xmm15, [rsp + 240]",
                "add rsp, 264",
                "pop r11",
                "pop r10",
                "pop r9",
                "pop r8",
                "pop rdi",
                "pop rsi",
                "pop rdx",
                "pop rcx",
                "pop rax",
                "pop rbp",
                "ret",
                "3:",
                "mov rsp, rax",
                "jmp {resume}",
                slow = sym $target,
                resume = sym $resume,
            )
        }
    };
}

pub(crate) use preserve_all_stub;
