//! `wasm_externtype_t` and its four kinds: `wasm_functype_t`,
//! `wasm_globaltype_t`, `wasm_tabletype_t`, `wasm_memorytype_t`.
//!
//! As in the standard, each kind *is* an extern type: the four are
//! `#[repr(transparent)]` wrappers of [`wasm_externtype_t`], so
//! `wasm_functype_as_externtype` is a pointer cast, and
//! `wasm_externtype_as_functype` a cast after checking the kind.

use kiln::{ExternType, FuncType, GlobalType, IndexType, MemoryType, TableType, ValType};

use super::{kind_of, ref_type_of, wasm_limits_t, wasm_valtype_t, wasm_valtype_vec_t};
use crate::ffi::{declare_delete, guard, into_c};
use crate::vec::declare_vec;

/// A function type with the vectors `wasm_functype_params/results` lend out.
#[derive(Debug)]
pub(crate) struct CFuncType {
    pub(crate) ty: FuncType,
    params: wasm_valtype_vec_t,
    results: wasm_valtype_vec_t,
}

impl CFuncType {
    pub(crate) fn new(ty: FuncType) -> CFuncType {
        CFuncType {
            params: wasm_valtype_vec_t::from_types(&ty.params),
            results: wasm_valtype_vec_t::from_types(&ty.results),
            ty,
        }
    }
}

impl Drop for CFuncType {
    fn drop(&mut self) {
        // SAFETY: both vectors were made by `from_types` and are owned here.
        drop(unsafe { self.params.take() });
        // SAFETY: as above.
        drop(unsafe { self.results.take() });
    }
}

/// A global type with the content type `wasm_globaltype_content` lends out.
#[derive(Debug, Clone)]
pub(crate) struct CGlobalType {
    pub(crate) ty: GlobalType,
    content: wasm_valtype_t,
}

/// A table type with the element type and limits its accessors lend out.
#[derive(Debug, Clone)]
pub(crate) struct CTableType {
    pub(crate) ty: TableType,
    element: wasm_valtype_t,
    limits: wasm_limits_t,
}

/// A memory type with the limits `wasm_memorytype_limits` lends out.
#[derive(Debug, Clone)]
pub(crate) struct CMemoryType {
    pub(crate) ty: MemoryType,
    limits: wasm_limits_t,
}

/// Which kind an extern type is.
#[derive(Debug, Clone)]
pub(crate) enum CExternType {
    Func(CFuncType),
    Global(CGlobalType),
    Table(CTableType),
    Memory(CMemoryType),
}

/// `wasm_externtype_t`: the type of an import or export.
#[repr(C)]
#[derive(Debug, Clone)]
pub struct wasm_externtype_t {
    pub(crate) which: CExternType,
}

impl wasm_externtype_t {
    /// C's form of a Kiln extern type; `None` for a tag, which `wasm.h`
    /// has no kind for.
    pub(crate) fn new(ty: ExternType) -> Option<wasm_externtype_t> {
        let which = match ty {
            ExternType::Func(f) => CExternType::Func(CFuncType::new(f)),
            ExternType::Global(ty) => CExternType::Global(CGlobalType {
                content: wasm_valtype_t { ty: ty.content },
                ty,
            }),
            ExternType::Table(ty) => CExternType::Table(CTableType {
                element: wasm_valtype_t {
                    ty: ValType::Ref(ty.element),
                },
                limits: wasm_limits_t::from_limits(ty.limits),
                ty,
            }),
            ExternType::Memory(ty) => CExternType::Memory(CMemoryType {
                limits: wasm_limits_t::from_limits(ty.limits),
                ty,
            }),
            ExternType::Tag(_) => return None,
        };
        Some(wasm_externtype_t { which })
    }
}

impl Clone for CFuncType {
    fn clone(&self) -> Self {
        CFuncType::new(self.ty.clone())
    }
}

/// Declares one kind of extern type: `$ty`, a transparent wrapper of
/// `wasm_externtype_t` whose `which` is `CExternType::$variant`, with its
/// `_delete`, `_copy`, vector, and the four casts to and from
/// `wasm_externtype_t`.
///
/// Expands to the struct, a `new` constructor, an `inner` accessor (the
/// variant's payload) and nine `extern "C"` functions.
macro_rules! extern_type_kind {
    ($ty:ident, $variant:ident, $payload:ty, $delete:ident, $copy:ident,
     $as_ext:ident, $as_ext_const:ident, $from_ext:ident, $from_ext_const:ident,
     $vec:ident, $v1:ident, $v2:ident, $v3:ident, $v4:ident, $v5:ident) => {
        #[doc = concat!("`", stringify!($ty), "`: an extern type of this kind.")]
        #[repr(transparent)]
        #[derive(Debug, Clone)]
        pub struct $ty {
            pub(crate) ext: wasm_externtype_t,
        }

        impl $ty {
            /// Wraps a payload of this kind.
            pub(crate) fn new(p: $payload) -> $ty {
                $ty {
                    ext: wasm_externtype_t {
                        which: CExternType::$variant(p),
                    },
                }
            }

            /// The payload; an extern type of this kind always has one.
            pub(crate) fn inner(&self) -> &$payload {
                match &self.ext.which {
                    CExternType::$variant(p) => p,
                    _ => unreachable!("checked when cast"),
                }
            }
        }

        declare_delete!($delete, $ty);
        declare_vec!($vec, Option<Box<$ty>>, $v1, $v2, $v3, $v4, $v5);

        /// A copy (NULL for NULL).
        ///
        /// # Safety
        ///
        /// The argument is NULL or live.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $copy(t: *const $ty) -> *mut $ty {
            guard(std::ptr::null_mut(), || {
                // SAFETY: the caller's contract.
                unsafe { t.as_ref() }.map_or(std::ptr::null_mut(), |t| into_c(t.clone()))
            })
        }

        /// The same object seen as an extern type (a cast; NULL for NULL).
        ///
        /// # Safety
        ///
        /// None: the pointer is only cast.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $as_ext(t: *mut $ty) -> *mut wasm_externtype_t {
            t.cast()
        }

        /// As the non-const form.
        ///
        /// # Safety
        ///
        /// None: the pointer is only cast.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $as_ext_const(t: *const $ty) -> *const wasm_externtype_t {
            t.cast()
        }

        /// The extern type as this kind, or NULL if it is of another kind.
        ///
        /// # Safety
        ///
        /// The argument is NULL or live.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $from_ext(t: *mut wasm_externtype_t) -> *mut $ty {
            // SAFETY: the caller's contract.
            unsafe { $from_ext_const(t) }.cast_mut()
        }

        /// As the non-const form.
        ///
        /// # Safety
        ///
        /// The argument is NULL or live.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $from_ext_const(t: *const wasm_externtype_t) -> *const $ty {
            guard(std::ptr::null(), || {
                // SAFETY: the caller's contract.
                match unsafe { t.as_ref() } {
                    Some(wasm_externtype_t {
                        which: CExternType::$variant(_),
                    }) => t.cast(),
                    _ => std::ptr::null(),
                }
            })
        }
    };
}

extern_type_kind!(
    wasm_functype_t,
    Func,
    CFuncType,
    wasm_functype_delete,
    wasm_functype_copy,
    wasm_functype_as_externtype,
    wasm_functype_as_externtype_const,
    wasm_externtype_as_functype,
    wasm_externtype_as_functype_const,
    wasm_functype_vec_t,
    wasm_functype_vec_new_empty,
    wasm_functype_vec_new_uninitialized,
    wasm_functype_vec_new,
    wasm_functype_vec_copy,
    wasm_functype_vec_delete
);
extern_type_kind!(
    wasm_globaltype_t,
    Global,
    CGlobalType,
    wasm_globaltype_delete,
    wasm_globaltype_copy,
    wasm_globaltype_as_externtype,
    wasm_globaltype_as_externtype_const,
    wasm_externtype_as_globaltype,
    wasm_externtype_as_globaltype_const,
    wasm_globaltype_vec_t,
    wasm_globaltype_vec_new_empty,
    wasm_globaltype_vec_new_uninitialized,
    wasm_globaltype_vec_new,
    wasm_globaltype_vec_copy,
    wasm_globaltype_vec_delete
);
extern_type_kind!(
    wasm_tabletype_t,
    Table,
    CTableType,
    wasm_tabletype_delete,
    wasm_tabletype_copy,
    wasm_tabletype_as_externtype,
    wasm_tabletype_as_externtype_const,
    wasm_externtype_as_tabletype,
    wasm_externtype_as_tabletype_const,
    wasm_tabletype_vec_t,
    wasm_tabletype_vec_new_empty,
    wasm_tabletype_vec_new_uninitialized,
    wasm_tabletype_vec_new,
    wasm_tabletype_vec_copy,
    wasm_tabletype_vec_delete
);
extern_type_kind!(
    wasm_memorytype_t,
    Memory,
    CMemoryType,
    wasm_memorytype_delete,
    wasm_memorytype_copy,
    wasm_memorytype_as_externtype,
    wasm_memorytype_as_externtype_const,
    wasm_externtype_as_memorytype,
    wasm_externtype_as_memorytype_const,
    wasm_memorytype_vec_t,
    wasm_memorytype_vec_new_empty,
    wasm_memorytype_vec_new_uninitialized,
    wasm_memorytype_vec_new,
    wasm_memorytype_vec_copy,
    wasm_memorytype_vec_delete
);

declare_delete!(wasm_externtype_delete, wasm_externtype_t);
declare_vec!(
    wasm_externtype_vec_t,
    Option<Box<wasm_externtype_t>>,
    wasm_externtype_vec_new_empty,
    wasm_externtype_vec_new_uninitialized,
    wasm_externtype_vec_new,
    wasm_externtype_vec_copy,
    wasm_externtype_vec_delete
);

/// `wasm_externkind_t`: which kind an extern (type) is.
pub type wasm_externkind_t = u8;

/// The kind of an extern type, as `wasm_externkind_enum` numbers them.
pub(crate) fn externkind_of(which: &CExternType) -> wasm_externkind_t {
    match which {
        CExternType::Func(_) => 0,
        CExternType::Global(_) => 1,
        CExternType::Table(_) => 2,
        CExternType::Memory(_) => 3,
    }
}

/// The kind of an extern type (`WASM_EXTERN_FUNC` for NULL).
///
/// # Safety
///
/// `t` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_externtype_kind(t: *const wasm_externtype_t) -> wasm_externkind_t {
    guard(0, || {
        // SAFETY: the caller's contract.
        unsafe { t.as_ref() }.map_or(0, |t| externkind_of(&t.which))
    })
}

/// A copy of an extern type (NULL for NULL).
///
/// # Safety
///
/// `t` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_externtype_copy(
    t: *const wasm_externtype_t,
) -> *mut wasm_externtype_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        unsafe { t.as_ref() }.map_or(std::ptr::null_mut(), |t| into_c(t.clone()))
    })
}

/// Takes the elements of an owned value type vector; `None` if any is NULL.
///
/// # Safety
///
/// `v` is NULL or a vector made by this library, owned by the callee.
unsafe fn take_types(v: *mut wasm_valtype_vec_t) -> Option<Vec<ValType>> {
    // SAFETY: the caller's contract.
    let v = unsafe { v.as_mut() }?;
    // SAFETY: as above; the vector is the callee's to free.
    let elems = unsafe { v.take() };
    elems.into_iter().map(|t| t.map(|t| t.ty)).collect()
}

/// A function type; takes ownership of both vectors (and frees them).
/// NULL if either is NULL or holds a NULL element.
///
/// # Safety
///
/// Each argument is NULL or a vector made by this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_new(
    params: *mut wasm_valtype_vec_t,
    results: *mut wasm_valtype_vec_t,
) -> *mut wasm_functype_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let (p, r) = unsafe { (take_types(params), take_types(results)) };
        match (p, r) {
            (Some(p), Some(r)) => into_c(wasm_functype_t::new(CFuncType::new(FuncType {
                params: p.into(),
                results: r.into(),
            }))),
            _ => std::ptr::null_mut(),
        }
    })
}

/// The parameter types, lent for as long as the function type lives
/// (NULL for NULL).
///
/// # Safety
///
/// `t` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_params(
    t: *const wasm_functype_t,
) -> *const wasm_valtype_vec_t {
    guard(std::ptr::null(), || {
        // SAFETY: the caller's contract.
        unsafe { t.as_ref() }.map_or(std::ptr::null(), |t| &t.inner().params)
    })
}

/// The result types, lent as `wasm_functype_params` lends the parameters.
///
/// # Safety
///
/// `t` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_results(
    t: *const wasm_functype_t,
) -> *const wasm_valtype_vec_t {
    guard(std::ptr::null(), || {
        // SAFETY: the caller's contract.
        unsafe { t.as_ref() }.map_or(std::ptr::null(), |t| &t.inner().results)
    })
}

/// Takes an owned value type, if not NULL.
///
/// # Safety
///
/// `t` is NULL or a live value type owned by the callee.
unsafe fn take_valtype(t: *mut wasm_valtype_t) -> Option<ValType> {
    if t.is_null() {
        return None;
    }
    // SAFETY: the caller's contract: a box from this library, now ours.
    Some(unsafe { Box::from_raw(t) }.ty)
}

/// A global type (takes ownership of `content`); NULL if `content` is NULL
/// or `mutability` is neither `WASM_CONST` nor `WASM_VAR`.
///
/// # Safety
///
/// `content` is NULL or a live value type, which the callee frees.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_globaltype_new(
    content: *mut wasm_valtype_t,
    mutability: u8,
) -> *mut wasm_globaltype_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let Some(content) = (unsafe { take_valtype(content) }) else {
            return std::ptr::null_mut();
        };
        if mutability > 1 {
            return std::ptr::null_mut();
        }
        let ty = GlobalType {
            content,
            mutable: mutability == 1,
        };
        into_c(wasm_globaltype_t::new(CGlobalType {
            content: wasm_valtype_t { ty: content },
            ty,
        }))
    })
}

/// The content type, lent for as long as the global type lives.
///
/// # Safety
///
/// `t` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_globaltype_content(
    t: *const wasm_globaltype_t,
) -> *const wasm_valtype_t {
    guard(std::ptr::null(), || {
        // SAFETY: the caller's contract.
        unsafe { t.as_ref() }.map_or(std::ptr::null(), |t| &t.inner().content)
    })
}

/// `WASM_VAR` (1) or `WASM_CONST` (0; also for NULL).
///
/// # Safety
///
/// `t` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_globaltype_mutability(t: *const wasm_globaltype_t) -> u8 {
    guard(0, || {
        // SAFETY: the caller's contract.
        unsafe { t.as_ref() }.map_or(0, |t| u8::from(t.inner().ty.mutable))
    })
}

/// A table type (takes ownership of `element`); NULL if `element` is NULL or
/// not a reference type, or `limits` is NULL.
///
/// # Safety
///
/// `element` is NULL or a live value type, which the callee frees; `limits`
/// is NULL or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_tabletype_new(
    element: *mut wasm_valtype_t,
    limits: *const wasm_limits_t,
) -> *mut wasm_tabletype_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let element = unsafe { take_valtype(element) }.and_then(|t| ref_type_of(kind_of(t)));
        // SAFETY: the caller's contract.
        let limits = unsafe { limits.as_ref() }.copied();
        let (Some(element), Some(limits)) = (element, limits) else {
            return std::ptr::null_mut();
        };
        let ty = TableType {
            element,
            limits: limits.to_limits(),
            index: IndexType::I32,
        };
        into_c(wasm_tabletype_t::new(CTableType {
            element: wasm_valtype_t {
                ty: ValType::Ref(element),
            },
            limits,
            ty,
        }))
    })
}

/// The element type, lent for as long as the table type lives.
///
/// # Safety
///
/// `t` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_tabletype_element(
    t: *const wasm_tabletype_t,
) -> *const wasm_valtype_t {
    guard(std::ptr::null(), || {
        // SAFETY: the caller's contract.
        unsafe { t.as_ref() }.map_or(std::ptr::null(), |t| &t.inner().element)
    })
}

/// The limits, lent for as long as the table type lives.
///
/// # Safety
///
/// `t` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_tabletype_limits(t: *const wasm_tabletype_t) -> *const wasm_limits_t {
    guard(std::ptr::null(), || {
        // SAFETY: the caller's contract.
        unsafe { t.as_ref() }.map_or(std::ptr::null(), |t| &t.inner().limits)
    })
}

/// A memory type of 32-bit addresses; NULL if `limits` is NULL.
///
/// # Safety
///
/// `limits` is NULL or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memorytype_new(
    limits: *const wasm_limits_t,
) -> *mut wasm_memorytype_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let Some(&limits) = (unsafe { limits.as_ref() }) else {
            return std::ptr::null_mut();
        };
        into_c(wasm_memorytype_t::new(CMemoryType {
            ty: MemoryType {
                limits: limits.to_limits(),
                index: IndexType::I32,
            },
            limits,
        }))
    })
}

/// The limits, in pages, lent for as long as the memory type lives.
///
/// # Safety
///
/// `t` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memorytype_limits(
    t: *const wasm_memorytype_t,
) -> *const wasm_limits_t {
    guard(std::ptr::null(), || {
        // SAFETY: the caller's contract.
        unsafe { t.as_ref() }.map_or(std::ptr::null(), |t| &t.inner().limits)
    })
}
