//! `poll_oneoff`: waiting for clocks and descriptors.
//!
//! Clock subscriptions sleep. Descriptor subscriptions are ready at once, as
//! regular files always are; for a stream that means a following read may
//! still block, which is the worst a single-threaded guest can see. So the
//! call returns the ready descriptors (if any) without sleeping, or else
//! sleeps until the earliest clock and returns every clock then due.

use std::time::Duration;

use super::Params;
use super::abi::layout::{EVENT_SIZE, SUBSCRIPTION_SIZE};
use super::abi::{Errno, clockid, eventtype, subclockflags};
use super::ctx::State;
use super::fd_table::Kind;
use super::memory::GuestMemory;
use super::process::clock_now;

/// One event to report.
struct Event {
    userdata: u64,
    /// The subscription's error, if it failed.
    error: Option<Errno>,
    ty: u8,
    nbytes: u64,
}

impl Event {
    fn encode(&self) -> [u8; EVENT_SIZE as usize] {
        let mut rec = [0u8; EVENT_SIZE as usize];
        rec[0..8].copy_from_slice(&self.userdata.to_le_bytes());
        let error = self.error.map_or(0, Errno::raw);
        rec[8..10].copy_from_slice(&error.to_le_bytes());
        rec[10] = self.ty;
        rec[16..24].copy_from_slice(&self.nbytes.to_le_bytes());
        rec
    }
}

/// How long until a clock subscription fires, from now.
fn clock_wait(st: &State, id: u32, timeout: u64, flags: u16) -> Result<Duration, Errno> {
    if flags & subclockflags::ABSTIME == 0 {
        // A relative timeout: only the clock's validity matters.
        clock_now(st, id)?;
        return Ok(Duration::from_nanos(timeout));
    }
    let now = match id {
        clockid::REALTIME | clockid::MONOTONIC => clock_now(st, id)?,
        // An absolute deadline on a CPU-time clock has no wall-clock meaning.
        _ => return Err(Errno::NotSup),
    };
    Ok(Duration::from_nanos(timeout.saturating_sub(now)))
}

/// Bytes a read of `fd` could return now, when Kiln can tell.
fn readable_bytes(st: &mut State, fd: u32) -> Result<u64, Errno> {
    match &mut st.fds.get_mut(fd)?.kind {
        Kind::File(f) => {
            use std::io::Seek;
            let len = f.file.metadata()?.len();
            let pos = f.file.stream_position()?;
            Ok(len.saturating_sub(pos))
        }
        Kind::Dir(_) => Err(Errno::IsDir),
        Kind::Input(_) | Kind::Output(_) => Ok(0),
    }
}

/// `poll_oneoff(in: ptr<subscription>, out: ptr<event>, nsubscriptions: size)
/// -> (errno, size)`
pub(crate) fn poll_oneoff(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let (subs, out, n, nevents_ptr) = (p.u32(0)?, p.u32(1)?, p.u32(2)?, p.u32(3)?);
    if n == 0 {
        return Err(Errno::Inval);
    }
    // Both arrays must lie in memory before anything happens.
    mem.slice(subs, n.checked_mul(SUBSCRIPTION_SIZE).ok_or(Errno::Fault)?)?;
    mem.slice(out, n.checked_mul(EVENT_SIZE).ok_or(Errno::Fault)?)?;

    let mut ready = Vec::new();
    let mut clocks = Vec::new();
    for i in 0..n {
        let at = subs + i * SUBSCRIPTION_SIZE;
        let userdata = mem.read_u64(at)?;
        let tag = mem.read_u8(at + 8)?;
        match tag {
            eventtype::CLOCK => {
                let id = mem.read_u32(at + 16)?;
                let timeout = mem.read_u64(at + 24)?;
                let flags = mem.read_u16(at + 40)?;
                let wait = clock_wait(st, id, timeout, flags);
                let event = Event {
                    userdata,
                    error: wait.err(),
                    ty: tag,
                    nbytes: 0,
                };
                match wait {
                    Ok(w) => clocks.push((w, event)),
                    Err(_) => ready.push(event),
                }
            }
            eventtype::FD_READ | eventtype::FD_WRITE => {
                let fd = mem.read_u32(at + 16)?;
                let result = if tag == eventtype::FD_READ {
                    readable_bytes(st, fd)
                } else {
                    st.fds.get(fd).map(|_| 0)
                };
                ready.push(Event {
                    userdata,
                    error: result.err(),
                    ty: tag,
                    nbytes: result.unwrap_or(0),
                });
            }
            _ => return Err(Errno::Inval),
        }
    }
    if ready.is_empty() {
        let wait = clocks.iter().map(|(w, _)| *w).min().unwrap_or_default();
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        ready.extend(
            clocks
                .into_iter()
                .filter(|(w, _)| *w <= wait)
                .map(|(_, e)| e),
        );
    } else {
        ready.extend(
            clocks
                .into_iter()
                .filter(|(w, _)| w.is_zero())
                .map(|(_, e)| e),
        );
    }
    for (i, e) in ready.iter().enumerate() {
        // At most one event per subscription, so `i < n` and `out` was checked.
        mem.write(out + i as u32 * EVENT_SIZE, &e.encode())?;
    }
    mem.write_u32(nevents_ptr, ready.len() as u32)
}
