//! Executable memory for compiled code.
//!
//! Pages are never writable and executable at once: a [`CodeMemory`] is
//! mapped read/write, filled (code copied, relocations patched) through
//! [`CodeMemoryBuilder`], then switched to read/execute by
//! [`CodeMemoryBuilder::publish`], after which nothing writes to it again. The
//! mapping is released when the `CodeMemory` is dropped, so it must outlive
//! every call into it (the compiled module owns it, and instances hold the
//! module in an `Arc`).

use std::ptr::NonNull;

use crate::CompileError;

/// A read/write mapping that will become code.
#[derive(Debug)]
pub(crate) struct CodeMemoryBuilder {
    mem: CodeMemory,
}

/// A read/execute mapping holding compiled code.
#[derive(Debug)]
pub(crate) struct CodeMemory {
    /// Start of the mapping (page-aligned).
    base: NonNull<u8>,
    /// Bytes mapped (whole pages, at least one).
    mapped: usize,
    /// Bytes of code at `base`.
    len: usize,
}

// SAFETY: the mapping is owned by this value alone; once published it is never
// written again, so sharing or moving it across threads is like sharing `Box<[u8]>`.
unsafe impl Send for CodeMemory {}
// SAFETY: see `Send`: after publication the bytes are immutable.
unsafe impl Sync for CodeMemory {}

impl CodeMemoryBuilder {
    /// Maps `len` zeroed, writable bytes.
    ///
    /// # Errors
    ///
    /// [`CompileError::CodeMemory`] if the system refuses the mapping.
    pub(crate) fn new(len: usize) -> Result<CodeMemoryBuilder, CompileError> {
        let page = rustix::param::page_size();
        let mapped = len.max(1).div_ceil(page) * page;
        // SAFETY: a fresh anonymous private mapping at an address of the kernel's
        // choosing aliases nothing.
        let ptr = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                mapped,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::PRIVATE,
            )
        }
        .map_err(|e| CompileError::CodeMemory(format!("mmap: {e}")))?;
        let base = NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| CompileError::CodeMemory("mmap returned null".into()))?;
        Ok(CodeMemoryBuilder {
            mem: CodeMemory { base, mapped, len },
        })
    }

    /// Address the first byte will have once published.
    pub(crate) fn base(&self) -> usize {
        self.mem.base.as_ptr() as usize
    }

    /// The bytes to fill.
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: the first `len` bytes of the mapping are readable and writable until
        // `publish`, which consumes the builder; `&mut self` makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(self.mem.base.as_ptr(), self.mem.len) }
    }

    /// Makes the memory executable and no longer writable.
    ///
    /// # Errors
    ///
    /// [`CompileError::CodeMemory`] if the protection cannot be changed.
    pub(crate) fn publish(self) -> Result<CodeMemory, CompileError> {
        let mem = self.mem;
        // SAFETY: the range is exactly our own mapping; no reference into it survives
        // (`bytes_mut` borrows end with `self`).
        unsafe {
            rustix::mm::mprotect(
                mem.base.as_ptr().cast(),
                mem.mapped,
                rustix::mm::MprotectFlags::READ | rustix::mm::MprotectFlags::EXEC,
            )
        }
        .map_err(|e| CompileError::CodeMemory(format!("mprotect: {e}")))?;
        flush_icache(mem.base.as_ptr(), mem.len);
        Ok(mem)
    }
}

impl CodeMemory {
    /// Address of byte `offset` of the code.
    ///
    /// # Panics
    ///
    /// If `offset` is past the end of the code.
    pub(crate) fn addr(&self, offset: u32) -> *const u8 {
        let offset = offset as usize;
        assert!(offset < self.len, "code offset {offset} out of range");
        self.base.as_ptr().wrapping_add(offset)
    }

    /// Bytes of code.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The code.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping holds `len` initialised bytes, is readable once
        // published (read/execute), and is never written again while `self` lives.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.len) }
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        // SAFETY: the mapping was created by `CodeMemoryBuilder::new` with this base and
        // length; its owner guarantees no call into it is still running.
        let _ = unsafe { rustix::mm::munmap(self.base.as_ptr().cast(), self.mapped) };
    }
}

/// Makes freshly written code visible to instruction fetch.
#[cfg(target_arch = "aarch64")]
fn flush_icache(start: *mut u8, len: usize) {
    unsafe extern "C" {
        /// compiler-rt/libgcc: cleans the data cache and invalidates the instruction
        /// cache for `[start, end)`.
        fn __clear_cache(start: *mut libc::c_char, end: *mut libc::c_char);
    }
    // SAFETY: the range lies inside our own mapping; `__clear_cache` only performs
    // cache maintenance on it.
    unsafe { __clear_cache(start.cast(), start.wrapping_add(len).cast()) };
}

/// x86-64 keeps instruction fetch coherent with stores: nothing to do.
#[cfg(not(target_arch = "aarch64"))]
fn flush_icache(_start: *mut u8, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_writes_and_publishes() {
        let mut b = CodeMemoryBuilder::new(10).expect("map");
        b.bytes_mut().copy_from_slice(&[0xc3; 10]);
        let m = b.publish().expect("publish");
        assert_eq!(m.len(), 10);
        // SAFETY: `addr(0)` points into the published, readable mapping.
        assert_eq!(unsafe { *m.addr(0) }, 0xc3);
    }
}
