//! What every entry point shares: containing panics ([`guard`]) and turning
//! the pointers C passes into Rust references only after checking them.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `f`, returning `on_panic` if it panics, so that no Rust panic
/// unwinds into C (which would be undefined behaviour). The panic's message
/// still goes to standard error through the panic hook.
///
/// `on_panic` is made before `f` runs, so it must cost nothing to drop:
/// never an owned C pointer (it would leak on every call), but `None`,
/// NULL, `false`, an empty `Vec`.
pub(crate) fn guard<R>(on_panic: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

/// The elements of a C vector `{size, data}`, or `None` if they cannot be
/// read: `data` NULL with a nonzero `size`, or a size whose byte length
/// overflows `isize`.
///
/// # Safety
///
/// A non-null `data` points to `size` initialised elements that live, and are
/// not written through another pointer, for `'a`.
pub(crate) unsafe fn slice<'a, T>(data: *const T, size: usize) -> Option<&'a [T]> {
    if size == 0 {
        return Some(&[]);
    }
    let bytes = size.checked_mul(std::mem::size_of::<T>())?;
    if data.is_null() || bytes > isize::MAX as usize || !data.is_aligned() {
        return None;
    }
    // SAFETY: `data` is non-null and aligned, and by the caller's contract
    // points to `size` initialised elements valid for `'a`; the byte length
    // fits `isize`.
    Some(unsafe { std::slice::from_raw_parts(data, size) })
}

/// Frees a `Box` that C owned, doing nothing for NULL.
///
/// # Safety
///
/// A non-null `p` came from `Box::into_raw` of a `Box<T>` and was not freed.
pub(crate) unsafe fn drop_box<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: by the caller's contract `p` is a live `Box<T>` given to C.
        drop(unsafe { Box::from_raw(p) });
    }
}

/// Hands `value` to C as an owned pointer, freed by the matching `_delete`.
pub(crate) fn into_c<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Writes `value` through an out-pointer, if it is not NULL (otherwise
/// `value` is dropped: use it only for values whose drop frees them, never
/// for an owned C pointer; vectors have their own `give`).
///
/// # Safety
///
/// A non-null `out` is valid for writes of a `T`; whatever it held is
/// overwritten, not dropped (C's out-parameters hold no value yet).
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: by the caller's contract `out` is valid for writes.
        unsafe { out.write(value) }
    }
}

/// Declares `$name(p)`, the `_delete` of a type C receives as a `Box`: it
/// frees `p` (NULL is allowed and ignored).
///
/// Expands to one `#[unsafe(no_mangle)] pub unsafe extern "C" fn`.
macro_rules! declare_delete {
    ($name:ident, $ty:ty) => {
        #[doc = concat!("Frees a `", stringify!($ty), "`; NULL is ignored.")]
        ///
        /// # Safety
        ///
        /// A non-null pointer came from this library and is freed once.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(p: *mut $ty) {
            $crate::ffi::guard((), || {
                // SAFETY: the caller's contract: a live box from this library.
                unsafe { $crate::ffi::drop_box(p) }
            })
        }
    };
}

pub(crate) use declare_delete;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_fallback_value() {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let out = guard(7, || -> i32 { panic!("inside an entry point") });
        std::panic::set_hook(hook);
        assert_eq!(out, 7);
        assert_eq!(guard(7, || 3), 3);
    }

    #[test]
    fn vectors_with_null_data_and_a_size_are_refused() {
        // SAFETY: NULL data is never read.
        assert!(unsafe { slice::<u8>(std::ptr::null(), 3) }.is_none());
        // SAFETY: a zero size reads nothing.
        assert_eq!(unsafe { slice::<u8>(std::ptr::null(), 0) }, Some(&[][..]));
        let huge = usize::MAX / 2;
        let byte = 0u64;
        // SAFETY: the size overflows `isize` in bytes, so nothing is read.
        assert!(unsafe { slice::<u64>(&byte, huge) }.is_none());
    }
}
