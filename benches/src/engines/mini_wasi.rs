//! The few WASI preview1 functions the benchmark programs import, over a
//! guest memory given as a byte slice, so any engine can call them.
//!
//! A wasi-libc program that prints with `printf` imports `args_get`,
//! `args_sizes_get`, `fd_write`, `fd_fdstat_get`, `fd_seek`, `fd_close` and
//! `proc_exit`; `environ_*` and `clock_time_get` are here for programs that
//! read the environment or the time, and `fd_prestat_get` for those that
//! open files (wasi-libc then looks for preopened directories; there are
//! none). Standard output and error are captured
//! in memory; standard input is empty; there are no other descriptors and
//! no environment. Every guest pointer is bounds-checked (`EFAULT`).

use std::time::{Instant, SystemTime};

/// The import module of WASI preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// The WASI errno values these functions return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Errno {
    /// No error.
    Success = 0,
    /// Bad file descriptor.
    Badf = 8,
    /// A pointer outside the guest's memory.
    Fault = 21,
    /// An invalid argument (an unknown clock).
    Inval = 28,
    /// Seeking a stream.
    Spipe = 70,
}

/// `proc_exit`'s status, carried out of the guest as the host call's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcExit(pub i32);

impl std::fmt::Display for ProcExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "proc_exit({})", self.0)
    }
}

impl std::error::Error for ProcExit {}

/// One program's WASI state.
#[derive(Debug)]
pub struct MiniWasi {
    /// `argv`, each without its terminating NUL.
    args: Vec<String>,
    /// What the guest wrote to fd 1.
    pub stdout: Vec<u8>,
    /// What the guest wrote to fd 2.
    pub stderr: Vec<u8>,
    /// The origin of the monotonic clock.
    started: Instant,
}

/// `filetype::character_device`: what the standard streams are.
const CHARACTER_DEVICE: u8 = 2;
/// `rights::fd_read` and `rights::fd_write`.
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_WRITE: u64 = 1 << 6;

/// The byte range `[ptr, ptr + len)` of `memory`, if inside it.
fn range(memory: &mut [u8], ptr: i32, len: usize) -> Result<&mut [u8], Errno> {
    // Pointers are unsigned 32-bit offsets passed as i32.
    let start = ptr as u32 as usize;
    let end = start.checked_add(len).ok_or(Errno::Fault)?;
    memory.get_mut(start..end).ok_or(Errno::Fault)
}

fn read_u32(memory: &mut [u8], ptr: i32) -> Result<u32, Errno> {
    let bytes = range(memory, ptr, 4)?;
    Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn write_bytes(memory: &mut [u8], ptr: i32, bytes: &[u8]) -> Result<(), Errno> {
    range(memory, ptr, bytes.len())?.copy_from_slice(bytes);
    Ok(())
}

/// Turns a `Result` into the errno the guest sees.
fn errno(result: Result<(), Errno>) -> Errno {
    result.err().unwrap_or(Errno::Success)
}

impl MiniWasi {
    /// A context with `args` as `argv`.
    pub fn new(args: Vec<String>) -> MiniWasi {
        MiniWasi {
            args,
            stdout: Vec::new(),
            stderr: Vec::new(),
            started: Instant::now(),
        }
    }

    /// The number of arguments and the bytes they take with their NULs.
    fn args_sizes(&self) -> (u32, u32) {
        let bytes: usize = self.args.iter().map(|a| a.len() + 1).sum();
        (self.args.len() as u32, bytes as u32)
    }

    /// `args_sizes_get(argc_ptr, argv_buf_size_ptr)`.
    pub fn args_sizes_get(&mut self, memory: &mut [u8], count: i32, size: i32) -> Errno {
        let (n, bytes) = self.args_sizes();
        errno(
            write_bytes(memory, count, &n.to_le_bytes())
                .and_then(|()| write_bytes(memory, size, &bytes.to_le_bytes())),
        )
    }

    /// `args_get(argv_ptr, argv_buf_ptr)`: the pointers at `argv`, the
    /// NUL-terminated strings from `buf`.
    pub fn args_get(&mut self, memory: &mut [u8], argv: i32, buf: i32) -> Errno {
        let mut at = buf as u32;
        let result = self.args.iter().enumerate().try_for_each(|(i, arg)| {
            let slot = argv.wrapping_add(4 * i as i32);
            write_bytes(memory, slot, &at.to_le_bytes())?;
            write_bytes(memory, at as i32, arg.as_bytes())?;
            write_bytes(memory, at.wrapping_add(arg.len() as u32) as i32, &[0])?;
            at = at.wrapping_add(arg.len() as u32 + 1);
            Ok(())
        });
        errno(result)
    }

    /// `environ_sizes_get`: an empty environment.
    pub fn environ_sizes_get(&mut self, memory: &mut [u8], count: i32, size: i32) -> Errno {
        errno(
            write_bytes(memory, count, &0u32.to_le_bytes())
                .and_then(|()| write_bytes(memory, size, &0u32.to_le_bytes())),
        )
    }

    /// `environ_get`: nothing to write.
    pub fn environ_get(&mut self, _memory: &mut [u8], _environ: i32, _buf: i32) -> Errno {
        Errno::Success
    }

    /// `fd_write(fd, iovs, iovs_len, nwritten_ptr)` to fd 1 or 2.
    pub fn fd_write(
        &mut self,
        memory: &mut [u8],
        fd: i32,
        iovs: i32,
        iovs_len: i32,
        written: i32,
    ) -> Errno {
        let result = (|| {
            let mut total = 0u32;
            for i in 0..iovs_len as u32 {
                let iov = iovs.wrapping_add(8 * i as i32);
                let ptr = read_u32(memory, iov)?;
                let len = read_u32(memory, iov.wrapping_add(4))?;
                let bytes = range(memory, ptr as i32, len as usize)?;
                match fd {
                    1 => self.stdout.extend_from_slice(bytes),
                    2 => self.stderr.extend_from_slice(bytes),
                    _ => return Err(Errno::Badf),
                }
                total = total.wrapping_add(len);
            }
            write_bytes(memory, written, &total.to_le_bytes())
        })();
        errno(result)
    }

    /// `fd_fdstat_get(fd, fdstat_ptr)`: the standard streams are character
    /// devices (so wasi-libc treats them as terminals and flushes lines).
    pub fn fd_fdstat_get(&mut self, memory: &mut [u8], fd: i32, stat: i32) -> Errno {
        let rights = match fd {
            0 => RIGHT_FD_READ,
            1 | 2 => RIGHT_FD_WRITE,
            _ => return Errno::Badf,
        };
        // struct fdstat { u8 filetype; u16 flags @2; u64 rights_base @8;
        // u64 rights_inheriting @16 }: 24 bytes.
        let mut bytes = [0u8; 24];
        bytes[0] = CHARACTER_DEVICE;
        bytes[8..16].copy_from_slice(&rights.to_le_bytes());
        errno(write_bytes(memory, stat, &bytes))
    }

    /// `fd_seek`: the standard streams cannot seek.
    pub fn fd_seek(
        &mut self,
        _memory: &mut [u8],
        fd: i32,
        _offset: i64,
        _whence: i32,
        _to: i32,
    ) -> Errno {
        match fd {
            0..=2 => Errno::Spipe,
            _ => Errno::Badf,
        }
    }

    /// `fd_close`: closing a standard stream succeeds and changes nothing.
    pub fn fd_close(&mut self, _memory: &mut [u8], fd: i32) -> Errno {
        match fd {
            0..=2 => Errno::Success,
            _ => Errno::Badf,
        }
    }

    /// `fd_prestat_get(fd, prestat_ptr)`: there are no preopened directories,
    /// so every descriptor is `EBADF`, which ends wasi-libc's scan for them.
    pub fn fd_prestat_get(&mut self, _memory: &mut [u8], _fd: i32, _prestat: i32) -> Errno {
        Errno::Badf
    }

    /// `clock_time_get(id, precision, time_ptr)`: realtime (0) and the
    /// monotonic clock (1), in nanoseconds.
    pub fn clock_time_get(
        &mut self,
        memory: &mut [u8],
        id: i32,
        _precision: i64,
        time: i32,
    ) -> Errno {
        let nanos = match id {
            0 => SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
            1 => self.started.elapsed().as_nanos(),
            _ => return Errno::Inval,
        };
        errno(write_bytes(memory, time, &(nanos as u64).to_le_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_laid_out_as_wasi_libc_reads_them() {
        let mut wasi = MiniWasi::new(vec!["prog".into(), "42".into()]);
        let mut memory = vec![0u8; 64];
        assert_eq!(wasi.args_sizes_get(&mut memory, 0, 4), Errno::Success);
        assert_eq!(read_u32(&mut memory, 0), Ok(2));
        assert_eq!(read_u32(&mut memory, 4), Ok(8));
        assert_eq!(wasi.args_get(&mut memory, 8, 16), Errno::Success);
        assert_eq!(read_u32(&mut memory, 8), Ok(16));
        assert_eq!(read_u32(&mut memory, 12), Ok(21));
        assert_eq!(&memory[16..24], b"prog\x0042\x00");
    }

    #[test]
    fn writes_gather_iovecs_and_check_bounds() {
        let mut wasi = MiniWasi::new(Vec::new());
        let mut memory = vec![0u8; 64];
        memory[32..37].copy_from_slice(b"hello");
        memory[40..42].copy_from_slice(b"!\n");
        // Two iovecs at 0: (32, 5) and (40, 2).
        for (i, v) in [32u32, 5, 40, 2].iter().enumerate() {
            memory[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
        assert_eq!(wasi.fd_write(&mut memory, 1, 0, 2, 16), Errno::Success);
        assert_eq!(wasi.stdout, b"hello!\n");
        assert_eq!(read_u32(&mut memory, 16), Ok(7));
        assert_eq!(wasi.fd_write(&mut memory, 5, 0, 2, 16), Errno::Badf);
        // An iovec running past the end of memory.
        memory[0..4].copy_from_slice(&60u32.to_le_bytes());
        assert_eq!(wasi.fd_write(&mut memory, 2, 0, 1, 16), Errno::Fault);
        assert_eq!(wasi.fd_write(&mut memory, 1, -4, 1, 16), Errno::Fault);
    }
}
