//! `kiln-wasi` is Kiln's WASI preview1 host: the `wasi_snapshot_preview1`
//! functions that programs built with wasi-libc (or Rust's `wasm32-wasip1`)
//! import, so that they run unmodified on Kiln.
//!
//! A [`WasiCtx`] holds one program's view of the host: arguments,
//! environment, standard streams (inherited, captured in an
//! [`OutputBuffer`], or empty) and the directories it was granted.
//! [`add_to_linker`] defines every preview1 function in a [`kiln::Linker`]:
//!
//! ```no_run
//! use kiln::{Engine, Linker, Module, Store};
//! use kiln_wasi::WasiCtx;
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, std::fs::read("hello.wasm")?)?;
//! let mut linker = Linker::new(&engine);
//! kiln_wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
//! let ctx = WasiCtx::builder()
//!     .arg("hello.wasm")
//!     .inherit_stdio()
//!     .preopened_dir(".", ".")?
//!     .build()?;
//! let mut store = Store::new(&engine, ctx);
//! let instance = linker.instantiate(&mut store, &module)?;
//! let start = instance.get_typed_func::<(), ()>(&store, "_start")?;
//! // `proc_exit(n)` ends the call with a trap that carries the status.
//! let status = match start.call(&mut store, ()) {
//!     Ok(()) => 0,
//!     Err(e) => match e.trap().and_then(kiln::Trap::exit_status) {
//!         Some(status) => status,
//!         None => return Err(e.into()),
//!     },
//! };
//! std::process::exit(status);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What a guest can do is bounded: every pointer it passes is checked
//! against its memory (`EFAULT`, never a panic or trap); files are reachable
//! only below granted directories (see `sandbox.rs` for how paths are
//! resolved, and why); the functions Kiln does not implement (sockets,
//! `proc_raise`) return `ENOSYS`, so linking never fails. `proc_exit` ends
//! the call with [`kiln::Trap::exit`], whose status
//! [`kiln::Trap::exit_status`] reads back.
//!
//! This crate uses only the public `kiln` API and no `unsafe`. It must not
//! reach into Kiln's internal crates. It targets Unix hosts.
//!
//! Because the root `kiln` package cannot depend on this one (this one
//! depends on it), the `kiln` binary compiles these sources as a module of
//! its own; so paths inside the crate are written `super::`, never `crate::`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod abi;
mod ctx;
mod fd;
mod fd_table;
mod memory;
mod path;
mod poll;
mod process;
mod sandbox;

use kiln::{Caller, Extern, FuncType, Linker, Trap, Val, ValType};

pub use abi::Errno;
pub use ctx::{OutputBuffer, WasiCtx, WasiCtxBuilder, WasiError};

use ctx::State;
use memory::GuestMemory;

/// The import module name of WASI preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// A call's arguments, read by position. The linker has checked them against
/// the function's type, so a mismatch cannot happen; it is still an error
/// (`EINVAL`) rather than a panic.
#[derive(Debug)]
pub(crate) struct Params<'a>(&'a [Val]);

impl Params<'_> {
    /// Argument `i`, an `i32`, as the unsigned value WASI means by it.
    pub(crate) fn u32(&self, i: usize) -> Result<u32, Errno> {
        match self.0.get(i) {
            Some(Val::I32(v)) => Ok(*v as u32),
            _ => Err(Errno::Inval),
        }
    }

    /// Argument `i`, an `i64`, unsigned.
    pub(crate) fn u64(&self, i: usize) -> Result<u64, Errno> {
        self.i64(i).map(|v| v as u64)
    }

    /// Argument `i`, an `i64`, signed.
    pub(crate) fn i64(&self, i: usize) -> Result<i64, Errno> {
        match self.0.get(i) {
            Some(Val::I64(v)) => Ok(*v),
            _ => Err(Errno::Inval),
        }
    }
}

/// A WASI function's body: the program's state, its memory and the call's
/// arguments in; `Ok` (errno 0) or an errno out.
type Body = fn(&mut State, &mut GuestMemory<'_>, &Params<'_>) -> Result<(), Errno>;

/// A preview1 function: its name, parameter types (every one returns an
/// `errno` as `i32`) and body.
struct Function {
    name: &'static str,
    params: &'static [ValType],
    body: Body,
}

const I32: ValType = ValType::I32;
const I64: ValType = ValType::I64;

/// Declares the preview1 functions: `name(param types) => body`.
///
/// Expands to a `const FUNCTIONS: &[Function]` with one entry per line.
macro_rules! functions {
    ($($name:ident($($ty:ident),*) => $body:expr;)*) => {
        const FUNCTIONS: &[Function] = &[$(Function {
            name: stringify!($name),
            params: &[$($ty),*],
            body: $body,
        }),*];
    };
}

// Every function of `wasi_snapshot_preview1` but `proc_exit`, which returns
// nothing and is defined on its own.
functions! {
    args_get(I32, I32) => process::args_get;
    args_sizes_get(I32, I32) => process::args_sizes_get;
    environ_get(I32, I32) => process::environ_get;
    environ_sizes_get(I32, I32) => process::environ_sizes_get;
    clock_res_get(I32, I32) => process::clock_res_get;
    clock_time_get(I32, I64, I32) => process::clock_time_get;
    fd_advise(I32, I64, I64, I32) => fd::fd_advise;
    fd_allocate(I32, I64, I64) => fd::fd_allocate;
    fd_close(I32) => fd::fd_close;
    fd_datasync(I32) => fd::fd_datasync;
    fd_fdstat_get(I32, I32) => fd::fd_fdstat_get;
    fd_fdstat_set_flags(I32, I32) => fd::fd_fdstat_set_flags;
    fd_fdstat_set_rights(I32, I64, I64) => fd::fd_fdstat_set_rights;
    fd_filestat_get(I32, I32) => fd::fd_filestat_get;
    fd_filestat_set_size(I32, I64) => fd::fd_filestat_set_size;
    fd_filestat_set_times(I32, I64, I64, I32) => fd::fd_filestat_set_times;
    fd_pread(I32, I32, I32, I64, I32) => fd::fd_pread;
    fd_prestat_get(I32, I32) => fd::fd_prestat_get;
    fd_prestat_dir_name(I32, I32, I32) => fd::fd_prestat_dir_name;
    fd_pwrite(I32, I32, I32, I64, I32) => fd::fd_pwrite;
    fd_read(I32, I32, I32, I32) => fd::fd_read;
    fd_readdir(I32, I32, I32, I64, I32) => fd::fd_readdir;
    fd_renumber(I32, I32) => fd::fd_renumber;
    fd_seek(I32, I64, I32, I32) => fd::fd_seek;
    fd_sync(I32) => fd::fd_sync;
    fd_tell(I32, I32) => fd::fd_tell;
    fd_write(I32, I32, I32, I32) => fd::fd_write;
    path_create_directory(I32, I32, I32) => path::path_create_directory;
    path_filestat_get(I32, I32, I32, I32, I32) => path::path_filestat_get;
    path_filestat_set_times(I32, I32, I32, I32, I64, I64, I32) => path::path_filestat_set_times;
    path_link(I32, I32, I32, I32, I32, I32, I32) => path::path_link;
    path_open(I32, I32, I32, I32, I32, I64, I64, I32, I32) => path::path_open;
    path_readlink(I32, I32, I32, I32, I32, I32) => path::path_readlink;
    path_remove_directory(I32, I32, I32) => path::path_remove_directory;
    path_rename(I32, I32, I32, I32, I32, I32) => path::path_rename;
    path_symlink(I32, I32, I32, I32, I32) => path::path_symlink;
    path_unlink_file(I32, I32, I32) => path::path_unlink_file;
    poll_oneoff(I32, I32, I32, I32) => poll::poll_oneoff;
    proc_raise(I32) => process::unsupported;
    sched_yield() => process::sched_yield;
    random_get(I32, I32) => process::random_get;
    sock_accept(I32, I32, I32) => process::unsupported;
    sock_recv(I32, I32, I32, I32, I32, I32) => process::unsupported;
    sock_send(I32, I32, I32, I32, I32) => process::unsupported;
    sock_shutdown(I32, I32) => process::unsupported;
}

/// Names of every function [`add_to_linker`] defines, `proc_exit` included.
pub fn function_names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS
        .iter()
        .map(|f| f.name)
        .chain(std::iter::once("proc_exit"))
}

/// Defines every `wasi_snapshot_preview1` function in `linker`. `get` finds
/// the program's [`WasiCtx`] in the store's host state.
///
/// # Errors
///
/// [`kiln::Error::Unlinkable`] if the linker already defines one of them.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut WasiCtx,
) -> Result<(), kiln::Error> {
    for f in FUNCTIONS {
        let ty = FuncType {
            params: f.params.into(),
            results: Box::new([ValType::I32]),
        };
        let body = f.body;
        linker.func_new(MODULE, f.name, ty, move |mut caller, params, results| {
            let errno = call(&mut caller, get, body, params);
            if let Some(slot) = results.first_mut() {
                *slot = Val::I32(errno);
            }
            Ok(())
        })?;
    }
    let ty = FuncType {
        params: Box::new([ValType::I32]),
        results: Box::new([]),
    };
    linker.func_new(MODULE, "proc_exit", ty, move |mut caller, params, _| {
        if let Some(state) = get(caller.data_mut()).state.as_mut() {
            state.fds.flush_outputs();
        }
        let status = match params.first() {
            Some(Val::I32(s)) => *s,
            _ => 1,
        };
        Err(Trap::exit(status))
    })?;
    Ok(())
}

/// Runs `body` with the program's state and memory; returns the errno.
fn call<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: fn(&mut T) -> &mut WasiCtx,
    body: Body,
    params: &[Val],
) -> i32 {
    // The state is moved out of the store for the call, so that it and the
    // memory (both reached through `caller`) can be borrowed together. WASI
    // functions never call back into the guest, so no call sees it missing,
    // unless a body panicked earlier; then every later call is refused.
    let Some(mut state) = get(caller.data_mut()).state.take() else {
        return i32::from(Errno::Busy.raw());
    };
    let memory = caller.get_export("memory").and_then(Extern::into_memory);
    let mut no_memory = [];
    let bytes: &mut [u8] = match memory {
        Some(m) => m.data_mut(caller),
        None => &mut no_memory,
    };
    let result = body(&mut state, &mut GuestMemory::new(bytes), &Params(params));
    get(caller.data_mut()).state = Some(state);
    match result {
        Ok(()) => 0,
        Err(e) => i32::from(e.raw()),
    }
}
