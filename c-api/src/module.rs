//! `wasm_module_t`: a compiled [`kiln::Module`], and its shared form
//! (`wasm_shared_module_t`) for moving it to another store of the engine.

use crate::ffi::{declare_delete, guard, into_c, slice};
use crate::store::wasm_store_t;
use crate::types::externtype::wasm_externtype_t;
use crate::types::importexport::{
    wasm_exporttype_t, wasm_exporttype_vec_t, wasm_importtype_t, wasm_importtype_vec_t,
};
use crate::vec::wasm_byte_vec_t;

/// `wasm_module_t`.
#[derive(Debug, Clone)]
pub struct wasm_module_t {
    pub(crate) module: kiln::Module,
}

/// `wasm_shared_module_t`: a module that any store of its engine may obtain.
#[derive(Debug)]
pub struct wasm_shared_module_t {
    module: kiln::Module,
}

declare_delete!(wasm_module_delete, wasm_module_t);
declare_delete!(wasm_shared_module_delete, wasm_shared_module_t);

/// Compiles `binary` for the store's engine, or NULL if a pointer is NULL,
/// the vector's data is NULL with a nonzero size, or the module is
/// malformed, invalid or unsupported. (Kiln also accepts the text format.)
///
/// # Safety
///
/// `store` is NULL or live; `binary` is NULL or a readable byte vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_new(
    store: *mut wasm_store_t,
    binary: *const wasm_byte_vec_t,
) -> *mut wasm_module_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        match unsafe { compile(store, binary) } {
            Some(Ok(module)) => into_c(wasm_module_t { module }),
            _ => std::ptr::null_mut(),
        }
    })
}

/// Sets `*out` to the compiled module as bytes (`kiln::Module::serialize`),
/// or to an empty vector for a NULL module or one that cannot be saved (an
/// interpreter engine's).
///
/// # Safety
///
/// `module` is NULL or live; `out` is NULL (ignored) or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_serialize(
    module: *const wasm_module_t,
    out: *mut wasm_byte_vec_t,
) {
    let bytes = guard(Vec::new(), || {
        // SAFETY: the caller's contract.
        unsafe { module.as_ref() }
            .and_then(|m| m.module.serialize().ok())
            .unwrap_or_default()
    });
    // SAFETY: the caller's contract on `out`.
    unsafe { wasm_byte_vec_t::give(out, bytes) }
}

/// Loads a module that `wasm_module_serialize` saved, for the store's
/// engine (`kiln::Module::deserialize`), or NULL if a pointer is NULL or the
/// bytes are refused (truncated, corrupted, another version, processor or
/// configuration).
///
/// # Safety
///
/// `store` is NULL or live; `bytes` is NULL or a readable byte vector holding
/// what `wasm_module_serialize` wrote in a program trusted as much as this
/// one: its native code runs as it is (`kiln::Module::deserialize`'s
/// contract).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_deserialize(
    store: *mut wasm_store_t,
    bytes: *const wasm_byte_vec_t,
) -> *mut wasm_module_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let Some((store, bytes)) = (unsafe { store.as_ref().zip(bytes.as_ref()) }) else {
            return std::ptr::null_mut();
        };
        // SAFETY: as above: the vector's data is readable.
        let Some(bytes) = (unsafe { slice(bytes.data, bytes.size) }) else {
            return std::ptr::null_mut();
        };
        // SAFETY: the caller vouches for the bytes (this function's contract).
        match unsafe { kiln::Module::deserialize(&store.engine, bytes) } {
            Ok(module) => into_c(wasm_module_t { module }),
            Err(_) => std::ptr::null_mut(),
        }
    })
}

/// Whether `binary` is a module the store's engine accepts (false for NULL
/// arguments).
///
/// # Safety
///
/// As `wasm_module_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_validate(
    store: *mut wasm_store_t,
    binary: *const wasm_byte_vec_t,
) -> bool {
    guard(false, || {
        // SAFETY: the caller's contract.
        matches!(unsafe { compile(store, binary) }, Some(Ok(_)))
    })
}

/// Compiles the bytes for the store's engine; `None` for bad pointers.
///
/// # Safety
///
/// As `wasm_module_new`.
unsafe fn compile(
    store: *const wasm_store_t,
    binary: *const wasm_byte_vec_t,
) -> Option<Result<kiln::Module, kiln::Error>> {
    // SAFETY: the caller's contract.
    let (store, binary) = unsafe { (store.as_ref()?, binary.as_ref()?) };
    // SAFETY: as above: the vector's data is readable.
    let bytes = unsafe { slice(binary.data, binary.size) }?;
    Some(kiln::Module::new(&store.engine, bytes))
}

/// Sets `*out` to the module's imports, in order (an empty vector for a NULL
/// module). Tag imports, which `wasm.h` has no type for, are left out.
///
/// # Safety
///
/// `module` is NULL or live; `out` is NULL (ignored) or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_imports(
    module: *const wasm_module_t,
    out: *mut wasm_importtype_vec_t,
) {
    let v = guard(Vec::new(), || {
        // SAFETY: the caller's contract.
        let Some(m) = (unsafe { module.as_ref() }) else {
            return Vec::new();
        };
        m.module
            .imports()
            .filter_map(|(module, name, ty)| {
                let ty = wasm_externtype_t::new(ty)?;
                Some(Some(Box::new(wasm_importtype_t::new(module, name, ty))))
            })
            .collect()
    });
    // SAFETY: the caller's contract on `out`.
    unsafe { wasm_importtype_vec_t::give(out, v) }
}

/// Sets `*out` to the module's exports, in order (an empty vector for a NULL
/// module). Tag exports are left out, as in `wasm_instance_exports`.
///
/// # Safety
///
/// `module` is NULL or live; `out` is NULL (ignored) or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_exports(
    module: *const wasm_module_t,
    out: *mut wasm_exporttype_vec_t,
) {
    let v = guard(Vec::new(), || {
        // SAFETY: the caller's contract.
        let Some(m) = (unsafe { module.as_ref() }) else {
            return Vec::new();
        };
        m.module
            .exports()
            .filter_map(|(name, ty)| {
                let ty = wasm_externtype_t::new(ty)?;
                Some(Some(Box::new(wasm_exporttype_t::new(name, ty))))
            })
            .collect()
    });
    // SAFETY: the caller's contract on `out`.
    unsafe { wasm_exporttype_vec_t::give(out, v) }
}

/// Another handle to the same module (NULL for NULL).
///
/// # Safety
///
/// `module` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_copy(module: *const wasm_module_t) -> *mut wasm_module_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        unsafe { module.as_ref() }.map_or(std::ptr::null_mut(), |m| into_c(m.clone()))
    })
}

/// The module in a form any store of its engine may obtain (NULL for NULL).
///
/// # Safety
///
/// `module` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_share(
    module: *const wasm_module_t,
) -> *mut wasm_shared_module_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        unsafe { module.as_ref() }.map_or(std::ptr::null_mut(), |m| {
            into_c(wasm_shared_module_t {
                module: m.module.clone(),
            })
        })
    })
}

/// The shared module for use in `store`; NULL for NULL arguments or a store
/// of another engine.
///
/// # Safety
///
/// Each argument is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_obtain(
    store: *mut wasm_store_t,
    shared: *const wasm_shared_module_t,
) -> *mut wasm_module_t {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let (Some(store), Some(shared)) = (unsafe { (store.as_ref(), shared.as_ref()) }) else {
            return std::ptr::null_mut();
        };
        if !kiln::Engine::same(&store.engine, shared.module.engine()) {
            return std::ptr::null_mut();
        }
        into_c(wasm_module_t {
            module: shared.module.clone(),
        })
    })
}
