//! How the API checks a [`Val`] against a type: by subtyping over the
//! store's types ([`kiln_runtime::Store::val_fits`]), as WebAssembly does,
//! never by comparing [`Val::ty`].
//!
//! A `Val` carries only its hierarchy (`FuncRef`, `ExternRef`, `ExnRef`), so
//! [`Val::ty`] says `funcref` for every function reference. The type that
//! matters is the one the store knows: a non-null function reference has the
//! concrete type of its function's signature, and a null reference is the
//! bottom of its hierarchy, so it fits every nullable type of that hierarchy
//! (a `(ref null $t)` included). Types here are store-level: their concrete
//! heap types are store-wide signature ids, as `kiln_runtime::Store::sigs`
//! keeps them and as [`Func::ty`](crate::Func::ty), [`Func::ref_ty`](crate::Func::ref_ty),
//! [`Global::ty`](crate::Global::ty) and [`Table::ty`](crate::Table::ty) report them.

use kiln_parser::ValType;
use kiln_runtime::Val;

use crate::Error;

/// Whether `v` may stand where store-level type `ty` is expected, as the
/// API reports a misfit.
///
/// # Errors
///
/// [`Error::Type`] naming `what` and the expected type.
pub(crate) fn check(
    rt: &kiln_runtime::Store,
    v: Val,
    ty: ValType,
    what: &str,
) -> Result<(), Error> {
    if rt.val_fits(&v, ty) {
        Ok(())
    } else {
        Err(Error::Type(format!("{what}: expected a {ty} value")))
    }
}

/// Whether `vals` fit `types` one for one (and are as many).
pub(crate) fn all_fit(rt: &kiln_runtime::Store, vals: &[Val], types: &[ValType]) -> bool {
    vals.len() == types.len() && vals.iter().zip(types).all(|(v, &t)| rt.val_fits(v, t))
}
