//! `wasm_trap_t`: a [`kiln::Trap`] given to C, from a failed call or
//! instantiation, or made by C (`wasm_trap_new`) for a host function to
//! return.

use crate::ffi::{declare_delete, guard, into_c, slice};
use crate::store::wasm_store_t;
use crate::vec::wasm_byte_vec_t;

/// `wasm_trap_t`.
#[derive(Debug, Clone)]
pub struct wasm_trap_t {
    pub(crate) trap: kiln::Trap,
}

declare_delete!(wasm_trap_delete, wasm_trap_t);

impl wasm_trap_t {
    /// An owned trap for C carrying `trap`.
    pub(crate) fn boxed(trap: kiln::Trap) -> *mut wasm_trap_t {
        into_c(wasm_trap_t { trap })
    }

    /// An owned trap for C saying `message`.
    pub(crate) fn msg(message: impl Into<Box<str>>) -> *mut wasm_trap_t {
        wasm_trap_t::boxed(kiln::Trap::host(message))
    }

    /// An owned trap for C for a failed operation: its trap, or the error's
    /// message.
    pub(crate) fn from_error(e: kiln::Error) -> *mut wasm_trap_t {
        match e {
            kiln::Error::Trap(t) => wasm_trap_t::boxed(t),
            other => wasm_trap_t::msg(other.to_string()),
        }
    }
}

/// A trap with `message` (a `wasm_message_t`: its bytes up to a terminating
/// NUL, if any). NULL if `message` is NULL or its data is NULL with a
/// nonzero size. The store is not needed and may be NULL.
///
/// # Safety
///
/// `message` is NULL or a readable byte vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_new(
    _store: *mut wasm_store_t,
    message: *const wasm_byte_vec_t,
) -> *mut wasm_trap_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let Some(m) = (unsafe { message.as_ref() }) else {
            return std::ptr::null_mut();
        };
        // SAFETY: as above: the vector's data is readable.
        let Some(bytes) = (unsafe { slice(m.data, m.size) }) else {
            return std::ptr::null_mut();
        };
        let bytes = bytes.strip_suffix(b"\0").unwrap_or(bytes);
        wasm_trap_t::msg(String::from_utf8_lossy(bytes))
    })
}

/// Sets `*out` to the trap's message, NUL-terminated (its size counts the
/// NUL), as the standard's `wasm_message_t` is; empty for a NULL trap.
///
/// # Safety
///
/// `trap` is NULL or live; `out` is NULL (ignored) or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_message(trap: *const wasm_trap_t, out: *mut wasm_byte_vec_t) {
    let bytes = guard(Vec::new(), || {
        // SAFETY: the caller's contract.
        match unsafe { trap.as_ref() } {
            Some(t) => {
                let mut b = t.trap.to_string().into_bytes();
                b.push(0);
                b
            }
            None => Vec::new(),
        }
    });
    // SAFETY: the caller's contract on `out`.
    unsafe { wasm_byte_vec_t::give(out, bytes) }
}

/// A copy of a trap (NULL for NULL).
///
/// # Safety
///
/// `trap` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_copy(trap: *const wasm_trap_t) -> *mut wasm_trap_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        unsafe { trap.as_ref() }.map_or(std::ptr::null_mut(), |t| into_c(t.clone()))
    })
}
