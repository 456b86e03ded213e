//! [`Func`] and [`TypedFunc`]: calling WebAssembly and host functions.

mod typed;

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use kiln_parser::{FuncType, HeapType, RefType, TypeIdx};
use kiln_runtime::{FuncAddr, HostCaller, HostFn, Trap, Val};

use crate::store::StoreId;
use crate::{AsContext, AsContextMut, Caller, Engine, Error, StoreContextMut, Strategy, values};

pub use typed::{HostBody, IntoFunc, WasmParams, WasmResults, WasmRet, WasmTy};

/// A function of a store: defined by a module instance or by the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store: StoreId,
    pub(crate) addr: FuncAddr,
}

/// Wraps a host closure taking a [`Caller`] into the runtime's host-function form.
pub(crate) fn host_fn<T: 'static>(
    engine: Engine,
    id: StoreId,
    f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
) -> Arc<HostFn> {
    Arc::new(
        move |hc: HostCaller<'_>, params: &[Val], results: &mut [Val]| {
            let data = (hc.data as &mut dyn Any)
                .downcast_mut::<T>()
                .ok_or_else(|| {
                    Trap::host("host function called with another store's host state")
                })?;
            let caller = Caller {
                rt: hc.store,
                data,
                engine: &engine,
                id,
                instance: hc.instance,
            };
            f(caller, params, results)
        },
    )
}

impl Func {
    /// A host function of type `ty`, reading `params` and writing `results`.
    pub fn new<T: 'static>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Func {
        let cx = store.as_context_mut();
        let host = host_fn(cx.engine.clone(), cx.id, f);
        let addr = cx.rt.add_host_func(&ty, host);
        Func { store: cx.id, addr }
    }

    /// A host function from a Rust closure with typed parameters and results, for example
    /// `|x: i32, y: i32| x + y` or `|caller: Caller<'_, T>, ptr: i32| -> Result<(), Trap> { .. }`.
    pub fn wrap<T: 'static, Params, Results>(
        store: impl AsContextMut<Data = T>,
        f: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let (ty, body) = f.into_func();
        Func::new(store, ty, body)
    }

    /// The function's type. Concrete heap types in it (typed function
    /// references) are store-wide signature ids, as in [`Func::ref_ty`].
    ///
    /// # Panics
    ///
    /// If the function belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let cx = store.as_context();
        assert_eq!(cx.id, self.store, "function used with another store");
        cx.rt.func_type(self.addr).clone()
    }

    /// The exact type of a reference to this function, `(ref $t)`, where
    /// `$t` is the store-wide id of its signature: what a typed global,
    /// table or host function type names to hold this function (and
    /// functions of `$t`'s subtypes); `RefType::null(ty.heap)` is
    /// `(ref null $t)`.
    ///
    /// # Panics
    ///
    /// If the function belongs to another store.
    pub fn ref_ty(&self, store: impl AsContext) -> RefType {
        let cx = store.as_context();
        assert_eq!(cx.id, self.store, "function used with another store");
        let sig = cx.rt.funcs[self.addr.index()].sig();
        RefType::non_null(HeapType::Concrete(TypeIdx(sig.0)))
    }

    /// The function as a value (a non-null `Val::FuncRef`).
    pub fn to_val(self) -> Val {
        Val::FuncRef(Some(self.addr))
    }

    /// The function a value refers to, if it is a non-null `funcref` (of any
    /// function type) of this store.
    pub fn from_val(store: impl AsContext, v: Val) -> Option<Func> {
        let cx = store.as_context();
        match v {
            Val::FuncRef(Some(addr)) if addr.index() < cx.rt.funcs.len() => {
                Some(Func { store: cx.id, addr })
            }
            _ => None,
        }
    }

    /// Calls the function with `params`, writing `results` (whose length must be the
    /// number of results).
    ///
    /// Each argument must fit its parameter's type by subtyping (see
    /// [`Global::new`](crate::Global::new)): a null `Val::FuncRef` passes for
    /// a `(ref null $t)` parameter, a function of another type does not.
    ///
    /// # Errors
    ///
    /// [`Error::Type`] if the arguments or result slots do not match the function's type,
    /// [`Error::Store`] for a function of another store, [`Error::Trap`] if it traps.
    pub fn call(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<(), Error> {
        let cx = store.as_context_mut();
        self.check_call(&cx, params, results)?;
        let data: &mut dyn Any = cx.data;
        let outcome = tier_invoke(cx.engine)(cx.rt, data, self.addr, params, results);
        finish_call(cx.rt, outcome)
    }

    /// Checks that a call of this function in `cx` with `params`, writing
    /// `results`, matches its store and type.
    pub(crate) fn check_call<T>(
        &self,
        cx: &StoreContextMut<'_, T>,
        params: &[Val],
        results: &[Val],
    ) -> Result<(), Error> {
        if cx.id != self.store {
            return Err(Error::Store);
        }
        let ty = cx.rt.func_type(self.addr);
        if !values::all_fit(cx.rt, params, &ty.params) {
            return Err(Error::Type(format!(
                "arguments do not match the function's type {ty}"
            )));
        }
        if results.len() != ty.results.len() {
            return Err(Error::Type(format!(
                "expected {} result slots for a function of type {ty}",
                ty.results.len()
            )));
        }
        Ok(())
    }
}

/// Result slots for `Results`, each its type's default.
pub(crate) fn default_results<Results: WasmResults>() -> Vec<Val> {
    Results::types()
        .iter()
        .map(|t| Val::default_for(*t))
        .collect()
}

/// The call from the host of the tier `engine` runs on.
pub(crate) fn tier_invoke(engine: &Engine) -> kiln_runtime::resumable::InvokeFn {
    match engine.config().strategy {
        Strategy::Interpreter => kiln_interp::invoke,
        Strategy::Jit => kiln_jit::invoke,
        Strategy::Tiered => crate::tiered::tiered_invoke,
    }
}

/// A call's outcome as the API reports it. An exception reaching the host is
/// the host's to keep: a later `throw` must not reuse its slot
/// (`Store::add_thrown_exn`).
pub(crate) fn finish_call(
    rt: &mut kiln_runtime::Store,
    outcome: Result<(), kiln_runtime::Trap>,
) -> Result<(), Error> {
    if let Err(trap) = &outcome
        && let Some(exn) = trap.as_exception()
    {
        rt.keep_exn(exn);
    }
    outcome.map_err(Error::Trap)
}

impl Func {
    /// A typed view of the function, checked once here.
    ///
    /// # Errors
    ///
    /// [`Error::Type`] if `Params`/`Results` do not match the function's type.
    pub fn typed<Params: WasmParams, Results: WasmResults>(
        &self,
        store: impl AsContext,
    ) -> Result<TypedFunc<Params, Results>, Error> {
        let ty = self.ty(store);
        if *ty.params != *Params::types() || *ty.results != *Results::types() {
            return Err(Error::Type(format!(
                "function of type {ty} does not match the requested Rust signature"
            )));
        }
        Ok(TypedFunc {
            func: *self,
            _marker: PhantomData,
        })
    }
}

impl From<Func> for Val {
    fn from(f: Func) -> Val {
        f.to_val()
    }
}

/// A function whose type was checked against Rust types once, so calls need no `Val`s.
#[derive(Debug)]
pub struct TypedFunc<Params, Results> {
    func: Func,
    _marker: PhantomData<fn(Params) -> Results>,
}

impl<Params, Results> Clone for TypedFunc<Params, Results> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Params, Results> Copy for TypedFunc<Params, Results> {}

impl<Params: WasmParams, Results: WasmResults> TypedFunc<Params, Results> {
    /// Calls the function.
    ///
    /// # Errors
    ///
    /// [`Error::Trap`] if it traps, [`Error::Store`] for another store.
    pub fn call(&self, store: impl AsContextMut, params: Params) -> Result<Results, Error> {
        let args = params.into_vals();
        let mut results = default_results::<Results>();
        self.func.call(store, &args, &mut results)?;
        Results::from_vals(&results).ok_or_else(|| Error::Type("unexpected result types".into()))
    }

    /// The untyped function.
    pub fn func(&self) -> Func {
        self.func
    }
}
