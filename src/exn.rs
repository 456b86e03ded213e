//! [`Exn`]: a WebAssembly exception as the host sees it, to create, throw,
//! catch and read.
//!
//! An exception lives in its store (`kiln_runtime::Store::exns`) like any
//! other object: its tag and its payload. WebAssembly holds it as an
//! `exnref` ([`Val::ExnRef`]); in flight it is a [`Trap`] made by
//! [`Trap::exception`]. So a host function throws by returning
//! `Err(exn.into())`, and an exception no handler caught comes back from a
//! call as [`Error::Trap`], which [`Error::exception`] reads back as an `Exn`.

use kiln_runtime::{ExnAddr, ExnEntity, Trap, Val};

use crate::store::StoreId;
use crate::{AsContext, AsContextMut, Error, Tag, values};

/// An exception of a store: a [`Tag`] and a payload of the tag's parameter
/// types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Exn {
    pub(crate) store: StoreId,
    pub(crate) addr: ExnAddr,
}

impl Exn {
    /// A new exception of `tag` carrying `payload`, one value per parameter
    /// of the tag's type, each fitting its parameter by subtyping (as
    /// [`Func::call`](crate::Func::call)'s arguments do).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] for a tag of another store, [`Error::Type`] if the
    /// payload does not match the tag's parameters.
    pub fn new(mut store: impl AsContextMut, tag: &Tag, payload: &[Val]) -> Result<Exn, Error> {
        let cx = store.as_context_mut();
        if tag.store != cx.id {
            return Err(Error::Store);
        }
        let ty = cx.rt.sig(cx.rt.tags[tag.addr.index()].sig);
        if !values::all_fit(cx.rt, payload, &ty.params) {
            return Err(Error::Type(format!(
                "the payload does not match the tag's type {ty}"
            )));
        }
        let addr = cx.rt.add_exn(ExnEntity {
            tag: tag.addr,
            payload: payload.iter().map(Val::to_bits).collect(),
        });
        Ok(Exn { store: cx.id, addr })
    }

    /// The exception's tag.
    ///
    /// # Panics
    ///
    /// If the exception belongs to another store (likewise for
    /// [`Exn::payload`]).
    pub fn tag(&self, store: impl AsContext) -> Tag {
        let cx = store.as_context();
        assert_eq!(cx.id, self.store, "exception used with another store");
        Tag {
            store: self.store,
            addr: cx.rt.exns[self.addr.index()].tag,
        }
    }

    /// The exception's payload, one value per parameter of its tag's type.
    pub fn payload(&self, store: impl AsContext) -> Vec<Val> {
        let cx = store.as_context();
        assert_eq!(cx.id, self.store, "exception used with another store");
        let exn = &cx.rt.exns[self.addr.index()];
        let ty = cx.rt.sig(cx.rt.tags[exn.tag.index()].sig);
        ty.params
            .iter()
            .zip(exn.payload.iter())
            .map(|(&t, &bits)| Val::from_bits(t, bits))
            .collect()
    }

    /// The exception as a value (a non-null `Val::ExnRef`).
    pub fn to_val(self) -> Val {
        Val::ExnRef(Some(self.addr))
    }

    /// The exception a value refers to, if it is a non-null `exnref` of
    /// this store.
    pub fn from_val(store: impl AsContext, v: Val) -> Option<Exn> {
        let cx = store.as_context();
        match v {
            Val::ExnRef(Some(addr)) => Exn::at(&cx, addr),
            _ => None,
        }
    }

    /// The exception a trap carries in flight, if it is one of this store
    /// (see [`Error::exception`], the same for a call's error).
    pub fn from_trap(store: impl AsContext, trap: &Trap) -> Option<Exn> {
        let cx = store.as_context();
        Exn::at(&cx, trap.as_exception()?)
    }

    /// The exception at `addr` of `cx`'s store, if there is one.
    fn at(cx: &crate::StoreContext<'_>, addr: ExnAddr) -> Option<Exn> {
        (addr.index() < cx.rt.exns.len()).then_some(Exn { store: cx.id, addr })
    }
}

/// The exception in flight: what a host function returns to throw it into
/// its WebAssembly caller.
impl From<Exn> for Trap {
    fn from(exn: Exn) -> Trap {
        Trap::exception(exn.addr)
    }
}

/// The exception in flight, as a call's error ([`Error::Trap`]).
impl From<Exn> for Error {
    fn from(exn: Exn) -> Error {
        Error::Trap(exn.into())
    }
}

impl From<Exn> for Val {
    fn from(exn: Exn) -> Val {
        exn.to_val()
    }
}

impl Error {
    /// The exception, if this error is a WebAssembly exception that no
    /// handler caught (thrown by WebAssembly, or by a host function), read
    /// in `store`: the store the failing call ran in.
    pub fn exception(&self, store: impl AsContext) -> Option<Exn> {
        Exn::from_trap(store, self.trap()?)
    }
}
