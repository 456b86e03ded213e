//! [`CompiledModule`]: a module's native code, with what running it needs
//! (entry points, trap sites, exception handler sites, the largest frame, the
//! options it was compiled with).
//!
//! It is built by `CompiledModule::new`, which lives in `compiler.rs` with the
//! compilation it runs; this module holds only the result, so that the code
//! that runs it (`invoke.rs`, `activation.rs`) does not depend on the compiler.

use std::sync::Arc;

use kiln_parser::Module;

use crate::CompileOptions;
use crate::code_memory::CodeMemory;
use crate::reloc::LoadReloc;
use crate::signals::{EntryState, TrapSite};
use crate::unwind::CallSite;

/// Where a defined function's code starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FuncCode {
    /// Offset of the function's body in the code memory.
    pub(crate) body: u32,
    /// Offset of the trampoline for the function's type.
    pub(crate) trampoline: u32,
}

/// A module compiled to native code for the host.
#[derive(Debug)]
pub struct CompiledModule {
    /// The module's IR.
    pub(crate) module: Arc<Module>,
    /// Every function and trampoline, linked, in one executable mapping.
    pub(crate) code: CodeMemory,
    /// Where each defined function starts, in index order.
    pub(crate) funcs: Box<[FuncCode]>,
    /// Every trap site of the code, sorted by offset.
    pub(crate) traps: Box<[TrapSite]>,
    /// Every call site of the code with an exception handler (each `try_call`),
    /// sorted by return address.
    pub(crate) call_sites: Box<[CallSite]>,
    /// Largest stack frame of any compiled function, in bytes (for the stack limit).
    pub(crate) max_frame_size: u32,
    /// The relocations a copy of the code at another address needs patched
    /// again (absolute addresses, and calls of libcalls), sorted by offset.
    pub(crate) relocs: Box<[LoadReloc]>,
    /// The options the code was compiled with.
    pub(crate) options: CompileOptions,
}

impl CompiledModule {
    /// The module's IR.
    pub fn module(&self) -> &Arc<Module> {
        &self.module
    }

    /// Bytes of machine code (functions and trampolines, with alignment padding).
    pub fn code_size(&self) -> usize {
        self.code.len()
    }

    /// Entry points of defined function `def`: its body and its type's trampoline.
    pub(crate) fn entry(&self, def: u32) -> (*const u8, *const u8) {
        let f = self.funcs[def as usize];
        (self.code.addr(f.body), self.code.addr(f.trampoline))
    }

    /// Largest stack frame of any function of the module, in bytes.
    pub(crate) fn max_frame_size(&self) -> usize {
        self.max_frame_size as usize
    }

    /// The options the module was compiled with.
    pub fn options(&self) -> CompileOptions {
        self.options
    }

    /// Whether the code omits bounds checks on 32-bit memories, relying on their
    /// guard regions.
    pub(crate) fn assumes_guards(&self) -> bool {
        self.options.memory_guard
    }

    /// Address of the first byte of code.
    pub(crate) fn code_start(&self) -> usize {
        self.code.addr(0) as usize
    }

    /// Every trap site of the code, sorted by offset.
    pub(crate) fn trap_sites(&self) -> &[TrapSite] {
        &self.traps
    }

    /// Every call site of the code with an exception handler, sorted by return
    /// address.
    pub(crate) fn call_sites(&self) -> &[CallSite] {
        &self.call_sites
    }

    /// The state of an entry into this code: its extent, trap sites and
    /// handler table. The module must outlive the entry.
    pub(crate) fn entry_state(&self) -> EntryState {
        EntryState::new(
            self.code_start(),
            self.code_size(),
            self.trap_sites(),
            self.call_sites(),
        )
    }
}
