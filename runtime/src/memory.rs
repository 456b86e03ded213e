//! Linear memories: one virtual-memory reservation each, grown in place.
//!
//! A memory never moves. At creation Kiln reserves address space for the
//! largest size the memory may reach (inaccessible, `PROT_NONE`, no swap
//! reserved) and makes the first `min` pages readable and writable; `grow`
//! only changes the protection of the next pages. So the base address handed
//! to compiled code stays valid for the memory's whole life, and growing never
//! copies.
//!
//! For 32-bit memories with guard regions on (the default), the reservation
//! is 8 GiB: any `u32` address plus any `u32` offset lands inside it, so the
//! JIT can omit bounds checks and let the inaccessible tail fault. Without
//! guard regions, and for 64-bit memories, the reservation is the memory's
//! maximum (capped by the configured limit) and every access is checked.

use std::ptr::NonNull;

use kiln_parser::{IndexType, MemoryType};

/// Size of a WebAssembly page.
pub const PAGE_SIZE: u64 = 65536;

/// Bytes reserved for a guarded 32-bit memory: 4 GiB of addresses plus 4 GiB of
/// offsets, plus one page for the width of the access at the largest address.
pub const GUARDED_RESERVATION: usize = (8 << 30) + PAGE_SIZE as usize;

/// How linear memories are laid out and bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryConfig {
    /// Reserve guard regions so 32-bit accesses need no bounds check.
    pub guard: bool,
    /// Largest size, in bytes, any one memory may reach (its growth fails beyond it).
    pub max_bytes: u64,
}

impl Default for MemoryConfig {
    fn default() -> MemoryConfig {
        MemoryConfig {
            guard: true,
            max_bytes: 4 << 30,
        }
    }
}

/// Why a memory could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryError {
    /// The initial size is over the configured or declared maximum.
    TooLarge {
        /// Requested pages.
        pages: u64,
        /// Allowed pages.
        max: u64,
    },
    /// The operating system refused the reservation.
    Reserve(String),
}

impl std::fmt::Display for MemoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemoryError::TooLarge { pages, max } => {
                write!(
                    f,
                    "memory of {pages} pages exceeds the limit of {max} pages"
                )
            }
            MemoryError::Reserve(e) => write!(f, "could not reserve memory: {e}"),
        }
    }
}

impl std::error::Error for MemoryError {}

/// The part of a memory compiled code reads: where it starts and how long it is.
#[repr(C)]
#[derive(Debug)]
pub struct MemoryView {
    /// First byte of the memory.
    pub base: NonNull<u8>,
    /// Accessible length in bytes.
    pub len: usize,
}

/// A linear memory.
#[derive(Debug)]
pub struct LinearMemory {
    view: MemoryView,
    /// Bytes of address space reserved at `view.base`.
    reserved: usize,
    /// Largest size in pages: the declared maximum, capped by configuration and reservation.
    max_pages: u64,
    ty: MemoryType,
}

// SAFETY: the reservation is owned by this value alone; all access goes through `&self` /
// `&mut self`, so moving it to or sharing it with another thread is as safe as for a `Vec<u8>`.
unsafe impl Send for LinearMemory {}
// SAFETY: see `Send`: shared references only read.
unsafe impl Sync for LinearMemory {}

fn page_round(n: usize) -> usize {
    let page = rustix::param::page_size();
    n.div_ceil(page) * page
}

impl LinearMemory {
    /// Creates a memory of type `ty`, zero-filled, of its minimum size.
    ///
    /// # Errors
    ///
    /// [`MemoryError::TooLarge`] if the minimum is over the limits, or
    /// [`MemoryError::Reserve`] if the address space cannot be reserved.
    pub fn new(ty: MemoryType, config: &MemoryConfig) -> Result<LinearMemory, MemoryError> {
        let spec_max = match ty.index {
            IndexType::I32 => 1 << 16,
            IndexType::I64 => 1 << 48,
        };
        let config_max = config.max_bytes / PAGE_SIZE;
        let max_pages = ty
            .limits
            .max
            .unwrap_or(spec_max)
            .min(spec_max)
            .min(config_max);
        if ty.limits.min > max_pages {
            return Err(MemoryError::TooLarge {
                pages: ty.limits.min,
                max: max_pages,
            });
        }
        let max_bytes = usize::try_from(max_pages * PAGE_SIZE).unwrap_or(usize::MAX);
        let reserved = if config.guard && ty.index == IndexType::I32 {
            GUARDED_RESERVATION
        } else {
            page_round(max_bytes.max(1))
        };
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing
        // aliases nothing; PROT_NONE until pages are made accessible below.
        let base = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                reserved,
                rustix::mm::ProtFlags::empty(),
                rustix::mm::MapFlags::PRIVATE | rustix::mm::MapFlags::NORESERVE,
            )
        }
        .map_err(|e| MemoryError::Reserve(e.to_string()))?;
        let Some(base) = NonNull::new(base.cast::<u8>()) else {
            return Err(MemoryError::Reserve("mmap returned null".into()));
        };
        let mut mem = LinearMemory {
            view: MemoryView { base, len: 0 },
            reserved,
            max_pages,
            ty,
        };
        mem.set_len(usize::try_from(ty.limits.min * PAGE_SIZE).unwrap_or(usize::MAX))
            .map_err(MemoryError::Reserve)?;
        Ok(mem)
    }

    /// Makes the first `len` bytes accessible (`len` only ever grows).
    fn set_len(&mut self, len: usize) -> Result<(), String> {
        if len > self.view.len {
            let start = self.view.len;
            // SAFETY: [start, len) lies inside our own reservation (callers check
            // `len <= max_pages * PAGE_SIZE <= reserved`), and nothing else maps it.
            unsafe {
                rustix::mm::mprotect(
                    self.view.base.as_ptr().add(start).cast(),
                    len - start,
                    rustix::mm::MprotectFlags::READ | rustix::mm::MprotectFlags::WRITE,
                )
            }
            .map_err(|e| e.to_string())?;
        }
        self.view.len = len;
        Ok(())
    }

    /// Grows by `delta` pages, returning the old size in pages, or `None` if the
    /// memory cannot grow that far (the caller then returns -1 to WebAssembly).
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        if new > self.max_pages {
            return None;
        }
        let bytes = usize::try_from(new.checked_mul(PAGE_SIZE)?).ok()?;
        if bytes > self.reserved {
            return None;
        }
        self.set_len(bytes).ok()?;
        Some(old)
    }

    /// Current size in pages.
    pub fn pages(&self) -> u64 {
        self.view.len as u64 / PAGE_SIZE
    }

    /// The memory's type (its limits as declared).
    pub fn ty(&self) -> MemoryType {
        self.ty
    }

    /// Whether addresses are 64-bit.
    pub fn is_64(&self) -> bool {
        self.ty.index == IndexType::I64
    }

    /// Whether the memory has a guard region: it is 32-bit and its reservation covers
    /// every address a 32-bit access can form (any `u32` address plus any `u32`
    /// offset plus the access's width), so such accesses need no bounds check.
    pub fn guarded(&self) -> bool {
        !self.is_64() && self.reserved >= GUARDED_RESERVATION
    }

    /// The accessible bytes.
    pub fn data(&self) -> &[u8] {
        // SAFETY: the first `len` bytes of the reservation are mapped read/write and owned
        // by `self`; the borrow of `self` keeps them from being unmapped or resized.
        unsafe { std::slice::from_raw_parts(self.view.base.as_ptr(), self.view.len) }
    }

    /// The accessible bytes, mutably.
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, and `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.view.base.as_ptr(), self.view.len) }
    }

    /// Base address and length, as compiled code sees them.
    pub fn view(&self) -> &MemoryView {
        &self.view
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        // SAFETY: the reservation was mapped by `new` with exactly this base and length and
        // no reference into it outlives `self`.
        let _ = unsafe { rustix::mm::munmap(self.view.base.as_ptr().cast(), self.reserved) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_parser::Limits;

    fn ty(min: u64, max: Option<u64>, index: IndexType) -> MemoryType {
        MemoryType {
            limits: Limits { min, max },
            index,
        }
    }

    #[test]
    fn grows_in_place_and_zero_fills() {
        let mut m = LinearMemory::new(ty(1, Some(4), IndexType::I32), &MemoryConfig::default())
            .expect("reserve");
        let base = m.view().base;
        m.data_mut()[65535] = 7;
        assert_eq!(m.grow(2), Some(1));
        assert_eq!(m.pages(), 3);
        assert_eq!(m.view().base, base, "growth must not move the memory");
        assert_eq!(m.data()[65535], 7);
        assert!(m.data()[65536..].iter().all(|&b| b == 0));
        assert_eq!(m.grow(2), None, "past the declared maximum");
        assert_eq!(m.grow(0), Some(3));
    }

    #[test]
    fn config_limit_caps_growth_and_creation() {
        let config = MemoryConfig {
            guard: false,
            max_bytes: 2 * PAGE_SIZE,
        };
        let mut m = LinearMemory::new(ty(1, None, IndexType::I64), &config).expect("reserve");
        assert_eq!(m.grow(1), Some(1));
        assert_eq!(m.grow(1), None);
        assert!(matches!(
            LinearMemory::new(ty(3, None, IndexType::I32), &config),
            Err(MemoryError::TooLarge { .. })
        ));
    }

    #[test]
    fn empty_memory_is_valid() {
        let mut m = LinearMemory::new(ty(0, Some(0), IndexType::I32), &MemoryConfig::default())
            .expect("reserve");
        assert_eq!(m.data().len(), 0);
        assert_eq!(m.grow(1), None);
    }
}
