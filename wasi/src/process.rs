//! Arguments, environment, clocks, randomness and scheduling.

use super::Params;
use super::abi::{Errno, clockid};
use super::ctx::{State, realtime_ns};
use super::memory::GuestMemory;

/// Writes a list of C strings the way `args_get` and `environ_get` do: an
/// array of pointers at `ptrs`, the NUL-terminated strings packed at `buf`.
fn write_strings(
    mem: &mut GuestMemory<'_>,
    strings: &[Vec<u8>],
    ptrs: u32,
    buf: u32,
) -> Result<(), Errno> {
    let mut at = buf;
    for (i, s) in strings.iter().enumerate() {
        let slot = u32::try_from(i)
            .ok()
            .and_then(|i| i.checked_mul(4))
            .and_then(|off| ptrs.checked_add(off))
            .ok_or(Errno::Fault)?;
        mem.write_u32(slot, at)?;
        mem.write(at, s)?;
        let nul = u32::try_from(s.len())
            .ok()
            .and_then(|len| at.checked_add(len))
            .ok_or(Errno::Fault)?;
        mem.write_u8(nul, 0)?;
        at = nul.checked_add(1).ok_or(Errno::Fault)?;
    }
    Ok(())
}

/// Writes how many strings there are and the bytes they need with their NULs.
fn write_sizes(
    mem: &mut GuestMemory<'_>,
    strings: &[Vec<u8>],
    count_ptr: u32,
    size_ptr: u32,
) -> Result<(), Errno> {
    let count = u32::try_from(strings.len()).map_err(|_| Errno::Overflow)?;
    let size = strings.iter().map(|s| s.len() + 1).sum::<usize>();
    let size = u32::try_from(size).map_err(|_| Errno::Overflow)?;
    mem.write_u32(count_ptr, count)?;
    mem.write_u32(size_ptr, size)
}

/// `args_get(argv: ptr<ptr<u8>>, argv_buf: ptr<u8>) -> errno`
pub(crate) fn args_get(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    write_strings(mem, &st.args, p.u32(0)?, p.u32(1)?)
}

/// `args_sizes_get() -> (errno, argc, argv_buf_size)`
pub(crate) fn args_sizes_get(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    write_sizes(mem, &st.args, p.u32(0)?, p.u32(1)?)
}

/// `environ_get(environ: ptr<ptr<u8>>, environ_buf: ptr<u8>) -> errno`
pub(crate) fn environ_get(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    write_strings(mem, &st.env, p.u32(0)?, p.u32(1)?)
}

/// `environ_sizes_get() -> (errno, count, buf_size)`
pub(crate) fn environ_sizes_get(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    write_sizes(mem, &st.env, p.u32(0)?, p.u32(1)?)
}

/// The time of clock `id` in nanoseconds.
pub(crate) fn clock_now(st: &State, id: u32) -> Result<u64, Errno> {
    match id {
        clockid::REALTIME => Ok(realtime_ns()),
        clockid::MONOTONIC => Ok(st.clock.monotonic_ns()),
        clockid::PROCESS_CPUTIME_ID | clockid::THREAD_CPUTIME_ID => Ok(st.clock.elapsed_ns()),
        _ => Err(Errno::Inval),
    }
}

/// `clock_res_get(id: clockid) -> (errno, timestamp)`
pub(crate) fn clock_res_get(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let id = p.u32(0)?;
    clock_now(st, id)?;
    // The standard library's clocks read nanoseconds; the host's real
    // resolution is finer than a microsecond on every supported system.
    mem.write_u64(p.u32(1)?, 1_000)
}

/// `clock_time_get(id: clockid, precision: timestamp) -> (errno, timestamp)`
pub(crate) fn clock_time_get(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let now = clock_now(st, p.u32(0)?)?;
    mem.write_u64(p.u32(2)?, now)
}

/// `random_get(buf: ptr<u8>, buf_len: size) -> errno`
pub(crate) fn random_get(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let buf = mem.slice_mut(p.u32(0)?, p.u32(1)?)?;
    st.random.fill(buf).map_err(Errno::from)
}

/// `sched_yield() -> errno`
pub(crate) fn sched_yield(
    _: &mut State,
    _: &mut GuestMemory<'_>,
    _: &Params<'_>,
) -> Result<(), Errno> {
    std::thread::yield_now();
    Ok(())
}

/// Every preview1 function Kiln does not implement (signals, sockets):
/// [`Errno::NoSys`].
pub(crate) fn unsupported(
    _: &mut State,
    _: &mut GuestMemory<'_>,
    _: &Params<'_>,
) -> Result<(), Errno> {
    Err(Errno::NoSys)
}
