//! What both tiers' `invoke` (a call from the host into a function of the
//! store) share: a host function is called directly, with no calling
//! instance; a WebAssembly function is handed to the tier with its module's
//! compiled form; and the store's call depth is the same after the call as
//! before it, trap or not.

use std::any::Any;
use std::sync::Arc;

use crate::store::{FuncEntity, HostCaller, InstanceAddr, SigId, Store};
use crate::trap::Trap;
use crate::value::{FuncAddr, Val};

/// A WebAssembly function of the store, with the compiled form of its module
/// as the tier that runs it made it (`T`).
#[derive(Debug)]
pub struct WasmFunc<T> {
    /// The instance it belongs to.
    pub instance: InstanceAddr,
    /// Its index among the module's defined functions (imports not counted).
    pub def_index: u32,
    /// Its signature.
    pub sig: SigId,
    /// The compiled form of the instance's module.
    pub code: Arc<T>,
}

/// The compiled forms of a module under the tiered strategy: the
/// interpreter's, always there, and the JIT's, set by a background compile
/// once it has finished (and never if it failed). Each tier finds its own
/// form through [`compiled_code`] and [`code_as`].
pub struct TieredCode {
    /// The interpreter's compiled module.
    pub interp: Arc<dyn Any + Send + Sync>,
    /// The JIT's compiled module, once ready.
    pub native: std::sync::OnceLock<Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for TieredCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TieredCode")
            .field("native", &self.native.get().is_some())
            .finish()
    }
}

/// Whether `code` (an instance's code) is a [`TieredCode`] whose native form
/// is ready.
pub fn has_native(code: &(dyn Any + Send + Sync)) -> bool {
    code.downcast_ref::<TieredCode>()
        .is_some_and(|t| t.native.get().is_some())
}

/// Tier type `T`'s compiled form among `code` (an instance's code): `code`
/// itself, or one of a [`TieredCode`]'s forms.
pub fn code_as<T: Any>(code: &(dyn Any + Send + Sync)) -> Option<&T> {
    match code.downcast_ref::<TieredCode>() {
        Some(tiered) => tiered
            .interp
            .downcast_ref::<T>()
            .or_else(|| tiered.native.get()?.downcast_ref::<T>()),
        None => code.downcast_ref::<T>(),
    }
}

/// The compiled form of `instance`'s module, as tier type `T` made it.
///
/// # Errors
///
/// A host trap if another tier compiled the module (or, under the tiered
/// strategy, if `T` is the JIT's and its compile has not finished).
pub fn compiled_code<T: Any + Send + Sync>(
    store: &Store,
    instance: InstanceAddr,
) -> Result<Arc<T>, Trap> {
    let code = &store.instances[instance.index()].code;
    let code = match code.downcast_ref::<TieredCode>() {
        Some(tiered) if tiered.interp.is::<T>() => &tiered.interp,
        Some(tiered) => tiered.native.get().unwrap_or(code),
        None => code,
    };
    code.clone()
        .downcast::<T>()
        .map_err(|_| Trap::host("function was compiled for another execution tier"))
}

/// Calls `func` with `args`, writing its results to `results`: a host function
/// directly, a WebAssembly function with `run_wasm`, the tier's own way of
/// running it (`T` is the tier's compiled module).
///
/// The caller checks that `args` and `results` match the function's type. The
/// store's call depth is restored when the call returns.
///
/// # Errors
///
/// The host function's trap, a host trap if another tier compiled the
/// function's module, or what `run_wasm` returns.
pub fn invoke<T, E>(
    store: &mut Store,
    data: &mut dyn Any,
    func: FuncAddr,
    args: &[Val],
    results: &mut [Val],
    run_wasm: impl FnOnce(&mut Store, &mut dyn Any, WasmFunc<T>, &[Val], &mut [Val]) -> Result<(), E>,
) -> Result<(), E>
where
    T: Any + Send + Sync,
    E: From<Trap>,
{
    let entry_depth = store.depth;
    let outcome = match store.funcs[func.index()].clone() {
        FuncEntity::Host { func: host, .. } => host(
            HostCaller {
                store,
                data,
                instance: None,
            },
            args,
            results,
        )
        .map_err(E::from),
        FuncEntity::Wasm {
            instance,
            def_index,
            sig,
        } => match compiled_code::<T>(store, instance) {
            Ok(code) => {
                let func = WasmFunc {
                    instance,
                    def_index,
                    sig,
                    code,
                };
                run_wasm(store, data, func, args, results)
            }
            Err(trap) => Err(trap.into()),
        },
    };
    store.depth = entry_depth;
    outcome
}
