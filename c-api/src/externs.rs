//! The store objects C holds: `wasm_extern_t` and its four kinds
//! (`wasm_func_t`, `wasm_global_t`, `wasm_table_t`, `wasm_memory_t`), and
//! `wasm_ref_t`.
//!
//! Each is a small box: a pointer to its `wasm_store_t` plus the Kiln handle
//! ([`kiln::Extern`], which is `Copy` and checked against its store). Boxes
//! may be copied and deleted freely; the object itself lives as long as the
//! store. As in the standard, each kind *is* an extern: the four are
//! `#[repr(transparent)]` wrappers of [`wasm_extern_t`], so
//! `wasm_func_as_extern` is a pointer cast.

use std::cell::OnceCell;

use kiln::{Extern, Val};

use crate::ffi::{declare_delete, guard, into_c};
use crate::store::{HostData, wasm_store_t, with_ctx};
use crate::types::externtype::{wasm_externkind_t, wasm_externtype_t};
use crate::vec::declare_vec;

/// `wasm_extern_t`: a function, global, table or memory of a store.
#[repr(C)]
#[derive(Debug)]
pub struct wasm_extern_t {
    pub(crate) store: *const wasm_store_t,
    pub(crate) which: Extern,
    /// The reference `wasm_func_as_ref` lends, made on first use.
    pub(crate) as_ref: OnceCell<Box<wasm_ref_t>>,
}

impl Clone for wasm_extern_t {
    fn clone(&self) -> Self {
        wasm_extern_t::new(self.store, self.which)
    }
}

impl wasm_extern_t {
    pub(crate) fn new(store: *const wasm_store_t, which: Extern) -> wasm_extern_t {
        wasm_extern_t {
            store,
            which,
            as_ref: OnceCell::new(),
        }
    }

    /// Runs `f` on the object's store.
    ///
    /// # Safety
    ///
    /// The object's store is live (C deletes objects before their store).
    pub(crate) unsafe fn with_ctx<R>(
        &self,
        f: impl FnOnce(kiln::StoreContextMut<'_, HostData>) -> R,
    ) -> R {
        // SAFETY: the caller's contract.
        unsafe { with_ctx(self.store, f) }
    }
}

/// `wasm_ref_t`: a non-null reference (a function or a host value) of a
/// store. A null reference is a NULL `wasm_ref_t*`.
#[derive(Debug)]
pub struct wasm_ref_t {
    pub(crate) store: *const wasm_store_t,
    pub(crate) val: Val,
    /// The function `wasm_ref_as_func` lends, made on first use.
    pub(crate) as_func: OnceCell<Box<wasm_func_t>>,
}

impl Clone for wasm_ref_t {
    fn clone(&self) -> Self {
        wasm_ref_t::new(self.store, self.val)
    }
}

impl wasm_ref_t {
    pub(crate) fn new(store: *const wasm_store_t, val: Val) -> wasm_ref_t {
        wasm_ref_t {
            store,
            val,
            as_func: OnceCell::new(),
        }
    }
}

declare_delete!(wasm_extern_delete, wasm_extern_t);
declare_delete!(wasm_ref_delete, wasm_ref_t);
declare_vec!(
    wasm_extern_vec_t,
    Option<Box<wasm_extern_t>>,
    wasm_extern_vec_new_empty,
    wasm_extern_vec_new_uninitialized,
    wasm_extern_vec_new,
    wasm_extern_vec_copy,
    wasm_extern_vec_delete
);

/// Declares one kind of extern: `$ty`, a transparent wrapper of
/// `wasm_extern_t` holding `Extern::$variant`, with `_delete`, `_copy`,
/// `_same`, and the casts to and from `wasm_extern_t` (const ones too).
///
/// Expands to the struct, an `inner` accessor (the Kiln handle) and seven
/// `extern "C"` functions.
macro_rules! extern_kind {
    ($ty:ident, $variant:ident, $handle:ty, $delete:ident, $copy:ident, $same:ident,
     $as_ext:ident, $as_ext_const:ident, $from_ext:ident, $from_ext_const:ident) => {
        #[doc = concat!("`", stringify!($ty), "`: an extern of this kind.")]
        #[repr(transparent)]
        #[derive(Debug, Clone)]
        pub struct $ty {
            pub(crate) ext: wasm_extern_t,
        }

        impl $ty {
            /// A new C object for `h`, a handle of `store`.
            pub(crate) fn boxed(store: *const wasm_store_t, h: $handle) -> *mut $ty {
                into_c($ty {
                    ext: wasm_extern_t::new(store, Extern::$variant(h)),
                })
            }

            /// The Kiln handle; an extern of this kind always has one.
            pub(crate) fn inner(&self) -> $handle {
                match self.ext.which {
                    Extern::$variant(h) => h,
                    _ => unreachable!("checked when cast"),
                }
            }
        }

        declare_delete!($delete, $ty);

        /// A new box for the same object (NULL for NULL).
        ///
        /// # Safety
        ///
        /// The argument is NULL or live.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $copy(x: *const $ty) -> *mut $ty {
            guard(std::ptr::null_mut(), || {
                // SAFETY: the caller's contract.
                unsafe { x.as_ref() }.map_or(std::ptr::null_mut(), |x| into_c(x.clone()))
            })
        }

        /// Whether both are the same object (false if either is NULL).
        ///
        /// # Safety
        ///
        /// Each argument is NULL or live.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $same(a: *const $ty, b: *const $ty) -> bool {
            guard(false, || {
                // SAFETY: the caller's contract.
                match unsafe { (a.as_ref(), b.as_ref()) } {
                    (Some(a), Some(b)) => a.ext.which == b.ext.which,
                    _ => false,
                }
            })
        }

        /// The same object seen as an extern (a cast; NULL for NULL).
        ///
        /// # Safety
        ///
        /// None: the pointer is only cast.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $as_ext(x: *mut $ty) -> *mut wasm_extern_t {
            x.cast()
        }

        /// As the non-const form.
        ///
        /// # Safety
        ///
        /// None: the pointer is only cast.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $as_ext_const(x: *const $ty) -> *const wasm_extern_t {
            x.cast()
        }

        /// The extern as this kind, or NULL if it is another kind.
        ///
        /// # Safety
        ///
        /// The argument is NULL or live.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $from_ext(e: *mut wasm_extern_t) -> *mut $ty {
            // SAFETY: the caller's contract.
            unsafe { $from_ext_const(e) }.cast_mut()
        }

        /// As the non-const form.
        ///
        /// # Safety
        ///
        /// The argument is NULL or live.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $from_ext_const(e: *const wasm_extern_t) -> *const $ty {
            guard(std::ptr::null(), || {
                // SAFETY: the caller's contract.
                match unsafe { e.as_ref() } {
                    Some(x) if matches!(x.which, Extern::$variant(_)) => e.cast(),
                    _ => std::ptr::null(),
                }
            })
        }
    };
}

extern_kind!(
    wasm_func_t,
    Func,
    kiln::Func,
    wasm_func_delete,
    wasm_func_copy,
    wasm_func_same,
    wasm_func_as_extern,
    wasm_func_as_extern_const,
    wasm_extern_as_func,
    wasm_extern_as_func_const
);
extern_kind!(
    wasm_global_t,
    Global,
    kiln::Global,
    wasm_global_delete,
    wasm_global_copy,
    wasm_global_same,
    wasm_global_as_extern,
    wasm_global_as_extern_const,
    wasm_extern_as_global,
    wasm_extern_as_global_const
);
extern_kind!(
    wasm_table_t,
    Table,
    kiln::Table,
    wasm_table_delete,
    wasm_table_copy,
    wasm_table_same,
    wasm_table_as_extern,
    wasm_table_as_extern_const,
    wasm_extern_as_table,
    wasm_extern_as_table_const
);
extern_kind!(
    wasm_memory_t,
    Memory,
    kiln::Memory,
    wasm_memory_delete,
    wasm_memory_copy,
    wasm_memory_same,
    wasm_memory_as_extern,
    wasm_memory_as_extern_const,
    wasm_extern_as_memory,
    wasm_extern_as_memory_const
);

/// A new box for the same extern (NULL for NULL).
///
/// # Safety
///
/// `e` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_copy(e: *const wasm_extern_t) -> *mut wasm_extern_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        unsafe { e.as_ref() }.map_or(std::ptr::null_mut(), |e| into_c(e.clone()))
    })
}

/// The kind of an extern (`WASM_EXTERN_FUNC` for NULL).
///
/// # Safety
///
/// `e` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_kind(e: *const wasm_extern_t) -> wasm_externkind_t {
    guard(0, || {
        // SAFETY: the caller's contract.
        match unsafe { e.as_ref() }.map(|e| e.which) {
            Some(Extern::Global(_)) => 1,
            Some(Extern::Table(_)) => 2,
            Some(Extern::Memory(_)) => 3,
            _ => 0,
        }
    })
}

/// The type of an extern, owned by the caller (NULL for NULL).
///
/// # Safety
///
/// `e` is NULL or live, and its store is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_type(e: *const wasm_extern_t) -> *mut wasm_externtype_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let Some(e) = (unsafe { e.as_ref() }) else {
            return std::ptr::null_mut();
        };
        // SAFETY: the caller's contract: the store is live.
        let ty = unsafe {
            e.with_ctx(|cx| match e.which {
                Extern::Func(f) => Some(kiln::ExternType::Func(f.ty(&cx))),
                Extern::Global(g) => Some(kiln::ExternType::Global(g.ty(&cx))),
                Extern::Table(t) => Some(kiln::ExternType::Table(t.ty(&cx))),
                Extern::Memory(m) => Some(kiln::ExternType::Memory(m.ty(&cx))),
                Extern::Tag(_) => None,
            })
        };
        ty.and_then(wasm_externtype_t::new)
            .map_or(std::ptr::null_mut(), into_c)
    })
}
