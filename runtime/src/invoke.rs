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

/// The compiled form of `instance`'s module, as tier type `T` made it.
///
/// # Errors
///
/// A host trap if another tier compiled the module.
pub fn compiled_code<T: Any + Send + Sync>(
    store: &Store,
    instance: InstanceAddr,
) -> Result<Arc<T>, Trap> {
    store.instances[instance.index()]
        .code
        .clone()
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
