//! The vector types of `wasm.h` (`wasm_byte_vec_t`, `wasm_valtype_vec_t`, ...):
//! a `{size, data}` pair owning its elements, declared by [`declare_vec`] in
//! the file of its element type.
//!
//! A vector's `data` is a boxed slice given to C (`Box<[T]>` as a raw
//! pointer), or NULL when empty; `wasm_*_vec_delete` takes it back. A vector
//! of objects holds `Option<Box<T>>` elements, so a NULL element is allowed
//! and freeing the vector frees each object.

/// Declares a `wasm.h` vector type and its five functions.
///
/// `declare_vec!(wasm_x_vec_t, Elem, new_empty, new_uninitialized, new, copy, delete)`
/// expands to:
/// - `#[repr(C)] pub struct wasm_x_vec_t { size: usize, data: *mut Elem }`
///   with `from_vec` (Rust to C), `as_slice` (checked view) and `take`
///   (C back to Rust, leaving the vector empty);
/// - the `extern "C"` functions named by the last five arguments, with the
///   standard's signatures: `new_empty(out)`, `new_uninitialized(out, size)`
///   (elements set to `Elem::default()`: NULL objects, zero values),
///   `new(out, size, data)` (takes ownership of the elements),
///   `copy(out, src)` (clones each element) and `delete(vec)`.
///
/// `Elem` must be `Clone + Default`.
macro_rules! declare_vec {
    ($vec:ident, $elem:ty, $new_empty:ident, $new_uninit:ident, $new:ident, $copy:ident, $delete:ident) => {
        #[doc = concat!("A vector of `", stringify!($elem), "` as `wasm.h` lays it out.")]
        #[repr(C)]
        #[derive(Debug)]
        pub struct $vec {
            /// Number of elements.
            pub size: usize,
            /// The elements, or NULL when there are none.
            pub data: *mut $elem,
        }

        impl $vec {
            /// Gives `v` to C.
            #[allow(dead_code)]
            pub(crate) fn from_vec(v: Vec<$elem>) -> $vec {
                if v.is_empty() {
                    return $vec {
                        size: 0,
                        data: std::ptr::null_mut(),
                    };
                }
                let b = v.into_boxed_slice();
                let size = b.len();
                $vec {
                    size,
                    data: Box::into_raw(b).cast::<$elem>(),
                }
            }

            /// The elements, or `None` for NULL data with a nonzero size.
            ///
            /// # Safety
            ///
            /// The vector was made by this library or by C with `data`
            /// pointing to `size` initialised elements.
            #[allow(dead_code)]
            pub(crate) unsafe fn as_slice(&self) -> Option<&[$elem]> {
                // SAFETY: the caller's contract.
                unsafe { $crate::ffi::slice(self.data, self.size) }
            }

            /// Writes `v` to C's out-parameter `out`; NULL `out` frees `v`
            /// instead of leaking it.
            ///
            /// # Safety
            ///
            /// `out` is NULL or valid for writes.
            #[allow(dead_code)]
            pub(crate) unsafe fn give(out: *mut $vec, v: Vec<$elem>) {
                if !out.is_null() {
                    // SAFETY: the caller's contract; checked non-null.
                    unsafe { out.write($vec::from_vec(v)) }
                }
            }

            /// Takes the elements back from C, leaving the vector empty.
            ///
            /// # Safety
            ///
            /// A non-null `data` came from [`Self::from_vec`] with this `size`.
            #[allow(dead_code)]
            pub(crate) unsafe fn take(&mut self) -> Vec<$elem> {
                let (data, size) = (self.data, self.size);
                self.data = std::ptr::null_mut();
                self.size = 0;
                if data.is_null() {
                    return Vec::new();
                }
                // SAFETY: by the caller's contract this is the boxed slice
                // `from_vec` gave away, with its length.
                unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, size)) }.into_vec()
            }
        }

        /// Sets `*out` to an empty vector.
        ///
        /// # Safety
        ///
        /// `out` is NULL (ignored) or valid for writes.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $new_empty(out: *mut $vec) {
            $crate::ffi::guard((), || {
                // SAFETY: the caller's contract on `out`.
                unsafe { $vec::give(out, Vec::new()) }
            })
        }

        /// Sets `*out` to a vector of `size` default elements (NULL objects,
        /// zero values), or an empty one if that much cannot be allocated.
        ///
        /// # Safety
        ///
        /// `out` is NULL (ignored) or valid for writes.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $new_uninit(out: *mut $vec, size: usize) {
            let v = $crate::ffi::guard(Vec::new(), || {
                let mut v = Vec::new();
                if v.try_reserve_exact(size).is_ok() {
                    v.resize_with(size, <$elem>::default);
                }
                v
            });
            // SAFETY: the caller's contract on `out`.
            unsafe { $vec::give(out, v) }
        }

        /// Sets `*out` to a vector of the `size` elements at `data`, taking
        /// ownership of them. NULL `data` with a nonzero `size` gives an
        /// empty vector (and takes nothing).
        ///
        /// # Safety
        ///
        /// `out` is NULL (ignored) or valid for writes; a non-null `data`
        /// points to `size` initialised elements, which C no longer uses.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $new(out: *mut $vec, size: usize, data: *const $elem) {
            let v = $crate::ffi::guard(Vec::new(), || {
                // SAFETY: the caller's contract on `data` and `size`.
                match unsafe { $crate::ffi::slice(data, size) } {
                    // SAFETY: each element is read once and owned from now
                    // on, as `own` elements are; C does not use them again.
                    Some(s) => s.iter().map(|e| unsafe { std::ptr::read(e) }).collect(),
                    None => Vec::new(),
                }
            });
            // SAFETY: the caller's contract on `out`.
            unsafe { $vec::give(out, v) }
        }

        /// Sets `*out` to a copy of `*src` (each element copied), or to an
        /// empty vector if `src` is NULL or has NULL data and a nonzero size.
        ///
        /// # Safety
        ///
        /// `out` is NULL (ignored) or valid for writes; a non-null `src`
        /// points to a vector of initialised elements.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $copy(out: *mut $vec, src: *const $vec) {
            let v = $crate::ffi::guard(Vec::new(), || {
                // SAFETY: the caller's contract on `src`.
                match unsafe { src.as_ref().and_then(|s| s.as_slice()) } {
                    Some(s) => s.to_vec(),
                    None => Vec::new(),
                }
            });
            // SAFETY: the caller's contract on `out`.
            unsafe { $vec::give(out, v) }
        }

        /// Frees the vector's elements and storage, leaving it empty.
        ///
        /// # Safety
        ///
        /// `v` is NULL (ignored) or points to a vector made by this library.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $delete(v: *mut $vec) {
            $crate::ffi::guard((), || {
                // SAFETY: the caller's contract: `v` is NULL or a vector.
                if let Some(v) = unsafe { v.as_mut() } {
                    // SAFETY: the caller's contract: its data came from
                    // `from_vec`.
                    drop(unsafe { v.take() });
                }
            })
        }
    };
}

pub(crate) use declare_vec;

/// `wasm_byte_t`: C's `char`, one byte.
#[allow(non_camel_case_types)]
pub type wasm_byte_t = u8;

declare_vec!(
    wasm_byte_vec_t,
    wasm_byte_t,
    wasm_byte_vec_new_empty,
    wasm_byte_vec_new_uninitialized,
    wasm_byte_vec_new,
    wasm_byte_vec_copy,
    wasm_byte_vec_delete
);

/// `wasm_name_t` is a byte vector.
#[allow(non_camel_case_types)]
pub type wasm_name_t = wasm_byte_vec_t;

impl wasm_byte_vec_t {
    /// The bytes of `s`, owned by C.
    pub(crate) fn from_str(s: &str) -> wasm_byte_vec_t {
        wasm_byte_vec_t::from_vec(s.as_bytes().to_vec())
    }
}
