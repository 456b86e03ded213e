//! Linear memories: one virtual-memory reservation each, grown in place.
//!
//! A memory never moves. At creation Kiln reserves address space for the
//! largest size the memory may reach (inaccessible, `PROT_NONE`, no swap
//! reserved) and makes the first `min` pages readable and writable; `grow`
//! only changes the protection of the next pages. So the base address handed
//! to compiled code stays valid for the memory's whole life, and growing never
//! copies; the reservation is also how far the memory can grow.
//!
//! For 32-bit memories with guard regions on (the default), the reservation
//! is 8 GiB: any `u32` address plus any `u32` offset lands inside it, so the
//! JIT can omit bounds checks and let the inaccessible tail fault. Without
//! guard regions, and for 64-bit memories, every access is checked and the
//! reservation is the memory's maximum, bounded as [`MemoryConfig`] says: by
//! the embedder's limit when there is one, otherwise, for a 64-bit memory, to
//! its initial size plus [`MEMORY64_GROWTH_ROOM`]. When the host refuses that
//! much address space, the reservation halves until it is granted, down to
//! the initial size, and the memory can grow only as far as it got.
//!
//! Reserving and unmapping 8 GiB of address space costs the kernel page-table
//! work whatever was touched, so a dropped guarded reservation is kept for the
//! next memory (up to [`POOLED_RESERVATIONS`] of them, process-wide): the
//! pages of its accessible part are given back to the system, so the next
//! memory starts zero-filled exactly like a new mapping, and only the
//! difference in size between the two changes protection.

use std::ptr::NonNull;

use kiln_parser::{IndexType, MemoryType};

/// Size of a WebAssembly page.
pub const PAGE_SIZE: u64 = 65536;

/// Bytes reserved for a guarded 32-bit memory: 4 GiB of addresses plus 4 GiB of
/// offsets, plus one page for the width of the access at the largest address.
pub const GUARDED_RESERVATION: usize = (8 << 30) + PAGE_SIZE as usize;

/// How far past its initial size a 64-bit memory can grow when the embedder sets
/// no limit ([`MemoryConfig::max_bytes`] is `None`): 64 GiB, or less if its
/// declared maximum says so. It is what such a memory reserves beyond its
/// initial size, so it bounds the address space each one takes.
pub const MEMORY64_GROWTH_ROOM: u64 = 64 << 30;

/// How linear memories are laid out and bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryConfig {
    /// Reserve guard regions so 32-bit accesses need no bounds check.
    pub guard: bool,
    /// The embedder's limit: the largest size, in bytes, any one memory may
    /// reach. A memory whose minimum is over it is refused, its growth fails
    /// beyond it, and a memory without guard regions reserves up to it.
    ///
    /// `None` (the default) sets no limit of Kiln's own: a 32-bit memory may
    /// reach the 4 GiB its addresses cover, and a 64-bit memory is refused only
    /// if the host cannot reserve its initial size; it can grow by
    /// [`MEMORY64_GROWTH_ROOM`] (within its declared maximum).
    pub max_bytes: Option<u64>,
}

impl Default for MemoryConfig {
    fn default() -> MemoryConfig {
        MemoryConfig {
            guard: true,
            max_bytes: None,
        }
    }
}

impl MemoryConfig {
    /// The most pages a memory of type `ty` may reach under this configuration:
    /// its declared maximum (or its index type's), capped by
    /// [`MemoryConfig::max_bytes`] or, without one, for a 64-bit memory, by its
    /// minimum plus [`MEMORY64_GROWTH_ROOM`]. Below `ty`'s minimum only when the
    /// embedder's limit is.
    pub fn max_pages(&self, ty: &MemoryType) -> u64 {
        let index_max = match ty.index {
            IndexType::I32 => 1 << 16,
            IndexType::I64 => 1 << 48,
        };
        let declared = ty.limits.max.unwrap_or(index_max).min(index_max);
        let limit = match (self.max_bytes, ty.index) {
            (Some(bytes), _) => bytes / PAGE_SIZE,
            (None, IndexType::I64) => ty
                .limits
                .min
                .saturating_add(MEMORY64_GROWTH_ROOM / PAGE_SIZE),
            (None, IndexType::I32) => index_max,
        };
        declared.min(limit)
    }
}

/// Why a memory could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryError {
    /// The initial size is over the embedder's limit (or the declared maximum).
    TooLarge {
        /// Requested pages.
        pages: u64,
        /// Allowed pages.
        max: u64,
    },
    /// The operating system refused even the smallest reservation the memory
    /// needs (its initial size), or to make the initial size accessible.
    Reserve {
        /// Bytes of address space asked for last.
        bytes: u64,
        /// The operating system's error.
        error: String,
    },
}

impl std::fmt::Display for MemoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemoryError::TooLarge { pages, max } => {
                let bytes = u128::from(*max) * u128::from(PAGE_SIZE);
                write!(
                    f,
                    "memory of {pages} pages exceeds the limit of {max} pages ({bytes} bytes)"
                )
            }
            MemoryError::Reserve { bytes, error } => {
                write!(
                    f,
                    "could not reserve {bytes} bytes of address space for a memory: {error}"
                )
            }
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

/// Bytes in `pages` pages, if that fits the host's address space.
fn pages_to_bytes(pages: u64) -> Option<usize> {
    usize::try_from(pages.checked_mul(PAGE_SIZE)?).ok()
}

/// The reservation sizes to try, largest first: `want`, then halves of it
/// (rounded down to whole WebAssembly pages) while they stay above `need`,
/// then `need`. Both are multiples of the host's page size, `need <= want`.
fn reservation_sizes(want: usize, need: usize) -> impl Iterator<Item = usize> {
    let page = PAGE_SIZE as usize;
    std::iter::successors(Some(want), move |&size| {
        let half = size / 2 / page * page;
        (size > need).then_some(half.max(need))
    })
}

/// Most guarded reservations kept for reuse (see the module documentation).
pub const POOLED_RESERVATIONS: usize = 16;

/// Guarded reservations of dropped memories: base address, and how many
/// bytes from it are accessible (read-write, their pages given back, so
/// zero-filled on first access); the rest is inaccessible.
static RESERVATION_POOL: std::sync::Mutex<Vec<(usize, usize)>> = std::sync::Mutex::new(Vec::new());

/// A guarded reservation and how many of its first bytes are accessible
/// (zero-filled): one from the pool, or a new one (none accessible).
fn reserve_guarded() -> rustix::io::Result<(NonNull<u8>, usize)> {
    let pooled = RESERVATION_POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .pop();
    match pooled.and_then(|(base, len)| Some((NonNull::new(base as *mut u8)?, len))) {
        Some(found) => Ok(found),
        None => reserve(GUARDED_RESERVATION).map(|base| (base, 0)),
    }
}

/// Gives back guarded reservation `base`, whose first `len` bytes were
/// accessible: their pages are given back to the system (they read as
/// zeros when next touched; the protection stays, so that a memory of the
/// same size needs no change of it) and the reservation joins the pool, or,
/// if the pool is full or that fails, it is unmapped.
fn release_guarded(base: NonNull<u8>, len: usize) {
    let mut pool = RESERVATION_POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if pool.len() < POOLED_RESERVATIONS {
        // SAFETY: `[base, base + len)` lies inside the caller's reservation, which
        // nothing refers to any more; MADV_DONTNEED only drops its pages.
        let fresh = len == 0
            || unsafe {
                rustix::mm::madvise(base.as_ptr().cast(), len, rustix::mm::Advice::LinuxDontNeed)
            }
            .is_ok();
        if fresh {
            pool.push((base.as_ptr() as usize, len));
            return;
        }
    }
    drop(pool);
    // SAFETY: the caller's reservation, referred to by nothing any more.
    let _ = unsafe { rustix::mm::munmap(base.as_ptr().cast(), GUARDED_RESERVATION) };
}

/// Reserves `size` bytes of inaccessible address space.
pub(crate) fn reserve(size: usize) -> rustix::io::Result<NonNull<u8>> {
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing
    // aliases nothing; PROT_NONE until pages are made accessible.
    let base = unsafe {
        rustix::mm::mmap_anonymous(
            std::ptr::null_mut(),
            size,
            rustix::mm::ProtFlags::empty(),
            rustix::mm::MapFlags::PRIVATE | rustix::mm::MapFlags::NORESERVE,
        )
    }?;
    NonNull::new(base.cast::<u8>()).ok_or(rustix::io::Errno::NOMEM)
}

impl LinearMemory {
    /// Creates a memory of type `ty`, zero-filled, of its minimum size.
    ///
    /// The reservation (see the module's documentation) is the memory's
    /// maximum under `config`; if the host refuses it, halves of it down to the
    /// minimum, and the memory can then grow only as far as the reservation.
    ///
    /// # Errors
    ///
    /// [`MemoryError::TooLarge`] if the minimum is over the limits, or
    /// [`MemoryError::Reserve`] if not even the minimum's address space can be
    /// reserved and made accessible.
    pub fn new(ty: MemoryType, config: &MemoryConfig) -> Result<LinearMemory, MemoryError> {
        let mut max_pages = config.max_pages(&ty);
        if ty.limits.min > max_pages {
            return Err(MemoryError::TooLarge {
                pages: ty.limits.min,
                max: max_pages,
            });
        }
        let min_bytes = pages_to_bytes(ty.limits.min).ok_or(MemoryError::Reserve {
            bytes: ty.limits.min.saturating_mul(PAGE_SIZE),
            error: "larger than the host's address space".into(),
        })?;
        let (base, reserved, accessible) = if config.guard && ty.index == IndexType::I32 {
            let (base, accessible) = reserve_guarded().map_err(|e| MemoryError::Reserve {
                bytes: GUARDED_RESERVATION as u64,
                error: e.to_string(),
            })?;
            (base, GUARDED_RESERVATION, accessible)
        } else {
            // A maximum past the address space (2^48 pages is 2^64 bytes) starts
            // the halving at half of it.
            let want =
                pages_to_bytes(max_pages).map_or(usize::MAX / 2 + 1, |b| page_round(b.max(1)));
            let need = page_round(min_bytes.max(1));
            let mut last = None;
            let mut granted = None;
            for size in reservation_sizes(want, need) {
                match reserve(size) {
                    Ok(base) => {
                        granted = Some((base, size));
                        break;
                    }
                    Err(e) => last = Some((size, e)),
                }
            }
            let Some((base, size)) = granted else {
                let (bytes, e) = last.unwrap_or((need, rustix::io::Errno::NOMEM));
                return Err(MemoryError::Reserve {
                    bytes: bytes as u64,
                    error: e.to_string(),
                });
            };
            max_pages = max_pages.min(size as u64 / PAGE_SIZE);
            (base, size, 0)
        };
        let mut mem = LinearMemory {
            view: MemoryView {
                base,
                len: accessible,
            },
            reserved,
            max_pages,
            ty,
        };
        // A pooled reservation may have more accessible than this memory's size.
        mem.revoke_past(min_bytes)
            .map_err(|error| MemoryError::Reserve {
                bytes: min_bytes as u64,
                error,
            })?;
        mem.set_len(min_bytes)
            .map_err(|error| MemoryError::Reserve {
                bytes: min_bytes as u64,
                error,
            })?;
        Ok(mem)
    }

    /// Makes the bytes past the first `len` inaccessible, if any are
    /// accessible (only for a pooled reservation, before the memory is used).
    fn revoke_past(&mut self, len: usize) -> Result<(), String> {
        if self.view.len > len {
            // SAFETY: [len, view.len) lies inside our own reservation, accessible
            // and unused (the memory is being made), and nothing else maps it.
            unsafe {
                rustix::mm::mprotect(
                    self.view.base.as_ptr().add(len).cast(),
                    self.view.len - len,
                    rustix::mm::MprotectFlags::empty(),
                )
            }
            .map_err(|e| e.to_string())?;
            self.view.len = len;
        }
        Ok(())
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
        if self.guarded() && self.reserved == GUARDED_RESERVATION {
            return release_guarded(self.view.base, self.view.len);
        }
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

    /// A memory made after others were dropped may take one of their
    /// reservations from the pool: it must start zero-filled at its own size,
    /// whatever the earlier memory wrote or grew to.
    #[test]
    fn a_reused_reservation_starts_zeroed() {
        let config = MemoryConfig::default();
        let mut bases = Vec::new();
        for _ in 0..(2 * POOLED_RESERVATIONS) {
            let mut m = LinearMemory::new(ty(1, None, IndexType::I32), &config).expect("reserve");
            assert!(m.data().iter().all(|&b| b == 0), "zero-filled");
            assert_eq!(m.data().len(), PAGE_SIZE as usize);
            bases.push(m.view().base.as_ptr() as usize);
            assert_eq!(m.grow(3), Some(1));
            m.data_mut().fill(0xa5);
        }
        bases.sort_unstable();
        bases.dedup();
        assert!(
            bases.len() < 2 * POOLED_RESERVATIONS,
            "reservations were reused ({} distinct)",
            bases.len()
        );
    }

    #[test]
    fn config_limit_caps_growth_and_creation() {
        let config = MemoryConfig {
            guard: false,
            max_bytes: Some(2 * PAGE_SIZE),
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

    #[test]
    fn reservation_sizes_halve_down_to_the_minimum() {
        let page = PAGE_SIZE as usize;
        let sizes: Vec<usize> = reservation_sizes(16 * page, 3 * page).collect();
        assert_eq!(sizes, [16 * page, 8 * page, 4 * page, 3 * page]);
        let sizes: Vec<usize> = reservation_sizes(5 * page, 5 * page).collect();
        assert_eq!(sizes, [5 * page]);
        // Odd sizes round down to whole pages, and a 0-page minimum is one host page.
        let host = page_round(1);
        let sizes: Vec<usize> = reservation_sizes(3 * page, host).collect();
        assert_eq!(sizes, [3 * page, page, host]);
    }

    #[test]
    fn default_limits_bound_memories_by_index_type() {
        let config = MemoryConfig::default();
        assert_eq!(config.max_pages(&ty(0, None, IndexType::I32)), 1 << 16);
        assert_eq!(config.max_pages(&ty(1, Some(9), IndexType::I32)), 9);
        let room = MEMORY64_GROWTH_ROOM / PAGE_SIZE;
        assert_eq!(config.max_pages(&ty(0, None, IndexType::I64)), room);
        assert_eq!(
            config.max_pages(&ty(0x1_0001, None, IndexType::I64)),
            0x1_0001 + room
        );
        assert_eq!(config.max_pages(&ty(1, Some(7), IndexType::I64)), 7);
        // The embedder's limit applies to both index types.
        let capped = MemoryConfig {
            guard: true,
            max_bytes: Some(3 * PAGE_SIZE),
        };
        assert_eq!(capped.max_pages(&ty(0, None, IndexType::I32)), 3);
        assert_eq!(capped.max_pages(&ty(0x1_0001, None, IndexType::I64)), 3);
    }

    /// A 64-bit memory past 4 GiB under the default configuration: created,
    /// usable above 4 GiB (one page touched), and growable within its room.
    #[test]
    fn memory64_past_4_gib_by_default() {
        let mut m = LinearMemory::new(ty(0x1_0001, None, IndexType::I64), &MemoryConfig::default())
            .expect("reserve");
        assert_eq!(m.pages(), 0x1_0001);
        assert_eq!(m.data().len() as u64, 0x1_0001 * PAGE_SIZE);
        m.data_mut()[0x1_0000_0010] = 5;
        assert_eq!(m.data()[0x1_0000_0010], 5);
        assert_eq!(m.grow(3), Some(0x1_0001));
        assert_eq!(m.pages(), 0x1_0004);
        let room = MEMORY64_GROWTH_ROOM / PAGE_SIZE;
        assert_eq!(m.grow(room), None, "past its growth room");
        assert!(!m.guarded());
    }

    #[test]
    fn embedder_limit_refuses_a_large_memory64() {
        let config = MemoryConfig {
            guard: true,
            max_bytes: Some(1 << 30),
        };
        let err = LinearMemory::new(ty(0x1_0001, None, IndexType::I64), &config)
            .expect_err("over the limit");
        assert_eq!(
            err,
            MemoryError::TooLarge {
                pages: 0x1_0001,
                max: 1 << 14
            }
        );
        assert_eq!(
            err.to_string(),
            "memory of 65537 pages exceeds the limit of 16384 pages (1073741824 bytes)"
        );
    }

    /// A reservation the host refuses (2^63 bytes, past any address space)
    /// falls back to a smaller one it grants, which then bounds growth.
    #[test]
    fn refused_reservations_fall_back_to_smaller_ones() {
        let config = MemoryConfig {
            guard: false,
            max_bytes: Some(u64::MAX),
        };
        let mut m = LinearMemory::new(ty(2, None, IndexType::I64), &config).expect("reserve");
        assert!(m.reserved >= 2 * PAGE_SIZE as usize);
        assert!((m.reserved as u64) < 1 << 63);
        assert_eq!(m.max_pages, m.reserved as u64 / PAGE_SIZE);
        m.data_mut()[PAGE_SIZE as usize + 1] = 1;
        assert_eq!(m.grow(m.max_pages - 2 + 1), None);
        assert_eq!(m.grow(1), Some(2));
    }
}
