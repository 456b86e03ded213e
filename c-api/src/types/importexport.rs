//! `wasm_importtype_t` and `wasm_exporttype_t`: a module's imports and
//! exports as `wasm_module_imports`/`wasm_module_exports` list them.

use super::externtype::wasm_externtype_t;
use crate::ffi::{declare_delete, guard, into_c};
use crate::vec::{declare_vec, wasm_name_t};

/// `wasm_importtype_t`: module name, field name and type of an import.
#[derive(Debug)]
pub struct wasm_importtype_t {
    module: wasm_name_t,
    name: wasm_name_t,
    ty: Box<wasm_externtype_t>,
}

/// `wasm_exporttype_t`: name and type of an export.
#[derive(Debug)]
pub struct wasm_exporttype_t {
    name: wasm_name_t,
    ty: Box<wasm_externtype_t>,
}

impl wasm_importtype_t {
    pub(crate) fn new(module: &str, name: &str, ty: wasm_externtype_t) -> wasm_importtype_t {
        wasm_importtype_t {
            module: wasm_name_t::from_str(module),
            name: wasm_name_t::from_str(name),
            ty: Box::new(ty),
        }
    }
}

impl wasm_exporttype_t {
    pub(crate) fn new(name: &str, ty: wasm_externtype_t) -> wasm_exporttype_t {
        wasm_exporttype_t {
            name: wasm_name_t::from_str(name),
            ty: Box::new(ty),
        }
    }
}

/// A copy of a name this library made.
fn copy_name(n: &wasm_name_t) -> wasm_name_t {
    // SAFETY: the names here are made by `from_str`/`from_vec`.
    let bytes = unsafe { n.as_slice() }.unwrap_or_default();
    wasm_name_t::from_vec(bytes.to_vec())
}

impl Clone for wasm_importtype_t {
    fn clone(&self) -> Self {
        wasm_importtype_t {
            module: copy_name(&self.module),
            name: copy_name(&self.name),
            ty: self.ty.clone(),
        }
    }
}

impl Clone for wasm_exporttype_t {
    fn clone(&self) -> Self {
        wasm_exporttype_t {
            name: copy_name(&self.name),
            ty: self.ty.clone(),
        }
    }
}

impl Drop for wasm_importtype_t {
    fn drop(&mut self) {
        // SAFETY: both names are owned here and made by this library.
        drop(unsafe { self.module.take() });
        // SAFETY: as above.
        drop(unsafe { self.name.take() });
    }
}

impl Drop for wasm_exporttype_t {
    fn drop(&mut self) {
        // SAFETY: the name is owned here and made by this library.
        drop(unsafe { self.name.take() });
    }
}

declare_delete!(wasm_importtype_delete, wasm_importtype_t);
declare_delete!(wasm_exporttype_delete, wasm_exporttype_t);
declare_vec!(
    wasm_importtype_vec_t,
    Option<Box<wasm_importtype_t>>,
    wasm_importtype_vec_new_empty,
    wasm_importtype_vec_new_uninitialized,
    wasm_importtype_vec_new,
    wasm_importtype_vec_copy,
    wasm_importtype_vec_delete
);
declare_vec!(
    wasm_exporttype_vec_t,
    Option<Box<wasm_exporttype_t>>,
    wasm_exporttype_vec_new_empty,
    wasm_exporttype_vec_new_uninitialized,
    wasm_exporttype_vec_new,
    wasm_exporttype_vec_copy,
    wasm_exporttype_vec_delete
);

/// Takes an owned name: its bytes, or `None` for NULL or invalid data.
///
/// # Safety
///
/// `n` is NULL or a name made by this library, owned by the callee.
unsafe fn take_name(n: *mut wasm_name_t) -> Option<wasm_name_t> {
    // SAFETY: the caller's contract.
    let n = unsafe { n.as_mut() }?;
    // SAFETY: as above.
    let bytes = unsafe { n.take() };
    Some(wasm_name_t::from_vec(bytes))
}

/// Takes an owned extern type, if not NULL.
///
/// # Safety
///
/// `t` is NULL or a live extern type owned by the callee.
unsafe fn take_type(t: *mut wasm_externtype_t) -> Option<Box<wasm_externtype_t>> {
    // SAFETY: the caller's contract: a box from this library, now ours.
    (!t.is_null()).then(|| unsafe { Box::from_raw(t) })
}

/// An import type; takes ownership of the names and the type. NULL if any
/// is NULL.
///
/// # Safety
///
/// Each argument is NULL or made by this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_importtype_new(
    module: *mut wasm_name_t,
    name: *mut wasm_name_t,
    ty: *mut wasm_externtype_t,
) -> *mut wasm_importtype_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let parts = unsafe { (take_name(module), take_name(name), take_type(ty)) };
        match parts {
            (Some(module), Some(name), Some(ty)) => into_c(wasm_importtype_t { module, name, ty }),
            _ => std::ptr::null_mut(),
        }
    })
}

/// An export type; takes ownership of the name and the type. NULL if either
/// is NULL.
///
/// # Safety
///
/// Each argument is NULL or made by this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_exporttype_new(
    name: *mut wasm_name_t,
    ty: *mut wasm_externtype_t,
) -> *mut wasm_exporttype_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let parts = unsafe { (take_name(name), take_type(ty)) };
        match parts {
            (Some(name), Some(ty)) => into_c(wasm_exporttype_t { name, ty }),
            _ => std::ptr::null_mut(),
        }
    })
}

/// Declares an accessor `$name(t: *const $ty) -> *const $out` lending
/// `&t.$field` (NULL for NULL).
///
/// Expands to one `extern "C"` function.
macro_rules! lend {
    ($name:ident, $ty:ty, $out:ty, |$t:ident| $e:expr) => {
        #[doc = concat!("Lends a part of a `", stringify!($ty), "` for as long as it lives.")]
        ///
        /// # Safety
        ///
        /// The argument is NULL or live.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(t: *const $ty) -> *const $out {
            guard(std::ptr::null(), || {
                // SAFETY: the caller's contract.
                unsafe { t.as_ref() }.map_or(std::ptr::null(), |$t| $e)
            })
        }
    };
}

lend!(
    wasm_importtype_module,
    wasm_importtype_t,
    wasm_name_t,
    |t| &t.module
);
lend!(wasm_importtype_name, wasm_importtype_t, wasm_name_t, |t| &t
    .name);
lend!(
    wasm_importtype_type,
    wasm_importtype_t,
    wasm_externtype_t,
    |t| &*t.ty
);
lend!(wasm_exporttype_name, wasm_exporttype_t, wasm_name_t, |t| &t
    .name);
lend!(
    wasm_exporttype_type,
    wasm_exporttype_t,
    wasm_externtype_t,
    |t| &*t.ty
);

/// Declares `$name`, the `_copy` of `$ty` (NULL for NULL).
///
/// Expands to one `extern "C"` function.
macro_rules! copy_fn {
    ($name:ident, $ty:ty) => {
        #[doc = concat!("A copy of a `", stringify!($ty), "` (NULL for NULL).")]
        ///
        /// # Safety
        ///
        /// The argument is NULL or live.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(t: *const $ty) -> *mut $ty {
            guard(std::ptr::null_mut(), || {
                // SAFETY: the caller's contract.
                unsafe { t.as_ref() }.map_or(std::ptr::null_mut(), |t| into_c(t.clone()))
            })
        }
    };
}

copy_fn!(wasm_importtype_copy, wasm_importtype_t);
copy_fn!(wasm_exporttype_copy, wasm_exporttype_t);
