//! GC references as the host sees them: a [`Val::AnyRef`] holds a
//! [`GcRef`], which [`AnyRefKind::of`] reads (an `i31`'s value, whether an
//! object is a struct or an array, or the host value `any.convert_extern`
//! made it of).

use kiln_runtime::gc::AnyRef;
use kiln_runtime::{ExternAddr, GcRef, Val};

use crate::externals::ExternRef;
use crate::store::AsContext;

/// What a non-null reference of the `any` hierarchy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnyRefKind {
    /// An `i31`, its value sign-extended.
    I31(i32),
    /// A struct.
    Struct,
    /// An array.
    Array,
    /// A host value (`any.convert_extern` of an `externref`).
    Host(ExternRef),
}

impl AnyRefKind {
    /// What `r`, a reference of `store`'s, is; `None` for a reference to no
    /// object of the store.
    pub fn of(store: impl AsContext, r: GcRef) -> Option<AnyRefKind> {
        let cx = store.as_context();
        Some(match r.decode() {
            AnyRef::Null => return None,
            AnyRef::I31(v) => AnyRefKind::I31(v),
            AnyRef::Host(addr) => AnyRefKind::Host(ExternRef {
                store: cx.id,
                addr: ExternAddr(addr),
            }),
            AnyRef::Object(o) => {
                if cx.rt.gc.layout(o).ok()?.is_array() {
                    AnyRefKind::Array
                } else {
                    AnyRefKind::Struct
                }
            }
        })
    }
}

impl ExternRef {
    /// The reference as an `anyref` (`Val::AnyRef`), as `any.convert_extern`
    /// makes it.
    pub fn to_any_val(self) -> Val {
        Val::AnyRef(Some(GcRef(AnyRef::Host(self.addr.0).encode().0)))
    }
}
