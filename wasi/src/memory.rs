//! [`GuestMemory`]: bounds-checked access to the guest's linear memory.
//!
//! Every pointer and length a WASI function receives comes from the guest
//! and is checked here: a range that leaves the memory (or overflows) is
//! [`Errno::Fault`], never a panic and never a trap. Records are read and
//! written little-endian and unaligned, as WebAssembly memory is.

use super::abi::Errno;
use super::abi::layout::IOVEC_SIZE;

/// The guest's linear memory for the length of one WASI call.
#[derive(Debug)]
pub(crate) struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

/// One `iovec` read from guest memory: a buffer's address and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IoVec {
    pub ptr: u32,
    pub len: u32,
}

impl<'a> GuestMemory<'a> {
    /// Wraps the memory's bytes (empty when the guest exports no memory, so
    /// that every access is [`Errno::Fault`]).
    pub(crate) fn new(bytes: &'a mut [u8]) -> GuestMemory<'a> {
        GuestMemory { bytes }
    }

    /// The host range of `len` bytes at `ptr`.
    fn range(&self, ptr: u32, len: u32) -> Result<std::ops::Range<usize>, Errno> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::Fault)?;
        if end > self.bytes.len() {
            return Err(Errno::Fault);
        }
        Ok(start..end)
    }

    /// The `len` bytes at `ptr`.
    pub(crate) fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let r = self.range(ptr, len)?;
        Ok(&self.bytes[r])
    }

    /// The `len` bytes at `ptr`, mutably.
    pub(crate) fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let r = self.range(ptr, len)?;
        Ok(&mut self.bytes[r])
    }

    /// Copies `N` bytes out of the memory.
    fn array<const N: usize>(&self, ptr: u32) -> Result<[u8; N], Errno> {
        let mut out = [0; N];
        out.copy_from_slice(self.slice(ptr, N as u32)?);
        Ok(out)
    }

    pub(crate) fn read_u8(&self, ptr: u32) -> Result<u8, Errno> {
        Ok(self.array::<1>(ptr)?[0])
    }

    pub(crate) fn read_u16(&self, ptr: u32) -> Result<u16, Errno> {
        Ok(u16::from_le_bytes(self.array(ptr)?))
    }

    pub(crate) fn read_u32(&self, ptr: u32) -> Result<u32, Errno> {
        Ok(u32::from_le_bytes(self.array(ptr)?))
    }

    pub(crate) fn read_u64(&self, ptr: u32) -> Result<u64, Errno> {
        Ok(u64::from_le_bytes(self.array(ptr)?))
    }

    /// Writes `bytes` at `ptr`.
    pub(crate) fn write(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), Errno> {
        let len = u32::try_from(bytes.len()).map_err(|_| Errno::Fault)?;
        self.slice_mut(ptr, len)?.copy_from_slice(bytes);
        Ok(())
    }

    pub(crate) fn write_u8(&mut self, ptr: u32, v: u8) -> Result<(), Errno> {
        self.write(ptr, &[v])
    }

    pub(crate) fn write_u32(&mut self, ptr: u32, v: u32) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    pub(crate) fn write_u64(&mut self, ptr: u32, v: u64) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    /// Reads an array of `count` iovecs at `ptr`, checking that each buffer
    /// lies inside the memory.
    pub(crate) fn iovecs(&self, ptr: u32, count: u32) -> Result<Vec<IoVec>, Errno> {
        let table = self.slice(ptr, count.checked_mul(IOVEC_SIZE).ok_or(Errno::Fault)?)?;
        table
            .chunks_exact(IOVEC_SIZE as usize)
            .map(|entry| {
                let mut word = [0; 4];
                word.copy_from_slice(&entry[..4]);
                let ptr = u32::from_le_bytes(word);
                word.copy_from_slice(&entry[4..]);
                let len = u32::from_le_bytes(word);
                self.range(ptr, len)?;
                Ok(IoVec { ptr, len })
            })
            .collect()
    }

    /// Reads a guest string (a path) of `len` bytes at `ptr`.
    pub(crate) fn bytes_vec(&self, ptr: u32, len: u32) -> Result<Vec<u8>, Errno> {
        Ok(self.slice(ptr, len)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_bounds_is_fault() {
        let mut bytes = vec![0u8; 16];
        let mut mem = GuestMemory::new(&mut bytes);
        assert_eq!(mem.read_u32(12), Ok(0));
        assert_eq!(mem.read_u32(13), Err(Errno::Fault));
        assert_eq!(mem.read_u64(u32::MAX), Err(Errno::Fault));
        assert_eq!(mem.slice(16, 0).map(<[u8]>::len), Ok(0));
        assert_eq!(mem.slice(17, 0), Err(Errno::Fault));
        assert_eq!(mem.write_u64(9, 1), Err(Errno::Fault));
        assert_eq!(mem.write_u64(8, 0x0102), Ok(()));
        assert_eq!(mem.read_u16(8), Ok(0x0102));
    }

    #[test]
    fn iovecs_are_checked_one_by_one() {
        let mut bytes = vec![0u8; 64];
        bytes[0..4].copy_from_slice(&32u32.to_le_bytes());
        bytes[4..8].copy_from_slice(&32u32.to_le_bytes());
        bytes[8..12].copy_from_slice(&40u32.to_le_bytes());
        bytes[12..16].copy_from_slice(&30u32.to_le_bytes());
        let mem = GuestMemory::new(&mut bytes);
        assert_eq!(mem.iovecs(0, 1), Ok(vec![IoVec { ptr: 32, len: 32 }]));
        assert_eq!(mem.iovecs(0, 2), Err(Errno::Fault));
        assert_eq!(mem.iovecs(0, u32::MAX), Err(Errno::Fault));
        assert_eq!(mem.iovecs(60, 1), Err(Errno::Fault));
    }

    #[test]
    fn no_memory_faults_everything() {
        let mut empty = [];
        let mem = GuestMemory::new(&mut empty);
        assert_eq!(mem.read_u8(0), Err(Errno::Fault));
        assert_eq!(mem.slice(0, 0).map(<[u8]>::len), Ok(0));
    }
}
