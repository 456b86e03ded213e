//! Resumable calls: [`Func::call_resumable`] returns, instead of the trap
//! `out of fuel`, a [`ResumableInvocation`] that continues the call where it
//! stopped once the host has added fuel. The mechanism (each resumable call
//! runs on a stack of its own, which is switched out while the host refuels)
//! is `kiln_runtime::resumable`'s.

use std::any::Any;
use std::marker::PhantomData;

use kiln_runtime::Val;
use kiln_runtime::resumable::{self, Outcome, Suspended};

use crate::func::{default_results, finish_call, tier_invoke};
use crate::store::StoreId;
use crate::{AsContextMut, Error, Func, TypedFunc, WasmParams, WasmResults};

/// How a resumable call's run ended.
#[derive(Debug)]
#[must_use = "a call that ran out of fuel goes on only when resumed"]
pub enum ResumableCall {
    /// The call returned; its results are in the slots given.
    Finished,
    /// The call ran out of fuel; add fuel ([`Store::set_fuel`](crate::Store::set_fuel))
    /// and resume it.
    OutOfFuel(ResumableInvocation),
}

/// A call stopped at a fuel check, waiting for fuel.
///
/// Every frame of the call (WebAssembly frames of either tier, and host
/// functions between them) is kept as it was. [`ResumableInvocation::resume`]
/// checks the fuel again and goes on; the call then computes what it would
/// have computed uninterrupted, and consumes the same fuel in all.
///
/// While it waits, the store is the host's: it may set fuel, call other
/// functions (resumable ones too), and so on. It must be resumed on the
/// thread that started it (this type is not `Send`). Dropping it without
/// resuming it (or [`cancel`](ResumableInvocation::cancel)ling it) abandons
/// the call: it never runs again, the store stays usable, and what the call's
/// frames hold (its stack among them) is never freed.
#[derive(Debug)]
pub struct ResumableInvocation {
    /// The suspended call.
    call: Suspended,
    /// The store it runs in.
    store: StoreId,
    /// How many results the function has.
    results: usize,
}

impl Func {
    /// Calls the function like [`Func::call`], except that running out of fuel
    /// does not end the call: it returns [`ResumableCall::OutOfFuel`], and the
    /// call goes on from where it stopped when resumed. Fuel checks inside any
    /// part of the call (host functions it calls, and their calls back into
    /// WebAssembly, included) stop it this way.
    ///
    /// # Errors
    ///
    /// As for [`Func::call`], without `out of fuel`.
    pub fn call_resumable(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<ResumableCall, Error> {
        let cx = store.as_context_mut();
        self.check_call(&cx, params, results)?;
        let id = cx.id;
        let data: &mut dyn Any = cx.data;
        let outcome = resumable::start(
            cx.rt,
            data,
            tier_invoke(cx.engine),
            self.addr,
            params.to_vec(),
            results.to_vec(),
        )
        .map_err(Error::Trap)?;
        finish(cx.rt, id, outcome, results)
    }
}

impl ResumableInvocation {
    /// The fuel the stopped check needs: the call goes on once the store has at
    /// least that much (fuel left over from before counts).
    pub fn required_fuel(&self) -> u64 {
        self.call.required_fuel()
    }

    /// Goes on with the call: the fuel check that stopped it runs again,
    /// against the store's fuel now (if still too little is left, it stops
    /// there again). `results` receives the results if it finishes.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] for another store than the call's (the call is then
    /// abandoned), [`Error::Type`] if `results` has the wrong length, and as
    /// for [`Func::call`].
    pub fn resume(
        self,
        mut store: impl AsContextMut,
        results: &mut [Val],
    ) -> Result<ResumableCall, Error> {
        let cx = store.as_context_mut();
        if cx.id != self.store {
            return Err(Error::Store);
        }
        if results.len() != self.results {
            return Err(Error::Type(format!(
                "expected {} result slots",
                self.results
            )));
        }
        let id = cx.id;
        let data: &mut dyn Any = cx.data;
        let outcome = self
            .call
            .resume(cx.rt, data)
            .map_err(|(_, trap)| Error::Trap(trap))?;
        finish(cx.rt, id, outcome, results)
    }

    /// Ends the call with `out of fuel`, as a call that is not resumable would
    /// have ended: its frames unwind, and the store is as after that trap.
    /// Returns the error.
    pub fn cancel(self, mut store: impl AsContextMut) -> Error {
        let cx = store.as_context_mut();
        if cx.id != self.store {
            return Error::Store;
        }
        let data: &mut dyn Any = cx.data;
        match self.call.cancel(cx.rt, data) {
            Ok(trap) | Err((_, trap)) => Error::Trap(trap),
        }
    }
}

/// A run's outcome as the API reports it, with the results written to
/// `results` if the call finished.
fn finish(
    rt: &mut kiln_runtime::Store,
    store: StoreId,
    outcome: Outcome,
    results: &mut [Val],
) -> Result<ResumableCall, Error> {
    match outcome {
        Outcome::OutOfFuel(call) => Ok(ResumableCall::OutOfFuel(ResumableInvocation {
            call,
            store,
            results: results.len(),
        })),
        Outcome::Finished(Ok(values)) => {
            results.copy_from_slice(&values);
            Ok(ResumableCall::Finished)
        }
        Outcome::Finished(Err(trap)) => {
            finish_call(rt, Err(trap)).map(|()| ResumableCall::Finished)
        }
    }
}

/// How a typed resumable call's run ended ([`TypedFunc::call_resumable`]).
#[derive(Debug)]
#[must_use = "a call that ran out of fuel goes on only when resumed"]
pub enum TypedResumableCall<Results> {
    /// The call returned these results.
    Finished(Results),
    /// The call ran out of fuel; add fuel and resume it.
    OutOfFuel(TypedResumableInvocation<Results>),
}

/// A typed call stopped at a fuel check, waiting for fuel (see
/// [`ResumableInvocation`]).
#[derive(Debug)]
pub struct TypedResumableInvocation<Results> {
    call: ResumableInvocation,
    _results: PhantomData<fn() -> Results>,
}

impl<Params: WasmParams, Results: WasmResults> TypedFunc<Params, Results> {
    /// Calls the function like [`TypedFunc::call`], except that running out
    /// of fuel does not end the call (see [`Func::call_resumable`]).
    ///
    /// # Errors
    ///
    /// As for [`TypedFunc::call`], without `out of fuel`.
    pub fn call_resumable(
        &self,
        store: impl AsContextMut,
        params: Params,
    ) -> Result<TypedResumableCall<Results>, Error> {
        let args = params.into_vals();
        let mut results = default_results::<Results>();
        let call = self.func().call_resumable(store, &args, &mut results)?;
        typed_outcome(call, &results)
    }
}

impl<Results: WasmResults> TypedResumableInvocation<Results> {
    /// The fuel the stopped check needs (see
    /// [`ResumableInvocation::required_fuel`]).
    pub fn required_fuel(&self) -> u64 {
        self.call.required_fuel()
    }

    /// Goes on with the call (see [`ResumableInvocation::resume`]).
    ///
    /// # Errors
    ///
    /// As for [`ResumableInvocation::resume`].
    pub fn resume(self, store: impl AsContextMut) -> Result<TypedResumableCall<Results>, Error> {
        let mut results = default_results::<Results>();
        let call = self.call.resume(store, &mut results)?;
        typed_outcome(call, &results)
    }

    /// Ends the call with `out of fuel` (see [`ResumableInvocation::cancel`]).
    pub fn cancel(self, store: impl AsContextMut) -> Error {
        self.call.cancel(store)
    }
}

/// A run's outcome with its results read as `Results`.
fn typed_outcome<Results: WasmResults>(
    call: ResumableCall,
    results: &[Val],
) -> Result<TypedResumableCall<Results>, Error> {
    match call {
        ResumableCall::Finished => Results::from_vals(results)
            .map(TypedResumableCall::Finished)
            .ok_or_else(|| Error::Type("unexpected result types".into())),
        ResumableCall::OutOfFuel(call) => {
            Ok(TypedResumableCall::OutOfFuel(TypedResumableInvocation {
                call,
                _results: PhantomData,
            }))
        }
    }
}
