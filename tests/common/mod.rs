//! What `refs_api.rs` and `exceptions_api.rs` share: one case per tier, and
//! the host objects their cases build on.

use kiln::{
    Caller, Config, Engine, Error, Exn, Func, FuncType, Store, Strategy, Tag, Trap, Val, ValType,
};

/// Runs each listed case (a `fn(Strategy) -> Result<(), Error>`) once per
/// tier: `tiers!(a)` expands to `mod interp { #[test] fn a() ... }` and the
/// same `mod jit` (which passes where the JIT is not available).
macro_rules! tiers {
    ($($case:ident),* $(,)?) => {
        mod interp {
            $(#[test]
            fn $case() -> Result<(), kiln::Error> {
                super::$case(kiln::Strategy::Interpreter)
            })*
        }
        mod jit {
            $(#[test]
            fn $case() -> Result<(), kiln::Error> {
                if !kiln::Strategy::JIT_AVAILABLE {
                    return Ok(());
                }
                super::$case(kiln::Strategy::Jit)
            })*
        }
    };
}

/// An engine of `strategy`, all features on.
pub fn engine(strategy: Strategy) -> Result<Engine, Error> {
    Engine::new(Config::new().strategy(strategy))
}

/// The function type `params -> results`.
pub fn func_type(params: &[ValType], results: &[ValType]) -> FuncType {
    FuncType {
        params: params.into(),
        results: results.into(),
    }
}

/// A host function of type `[i32] -> []` that throws an exception of `tag`
/// (a tag of `[i32]`) carrying its argument.
pub fn thrower(store: &mut Store<()>, tag: Tag) -> Func {
    Func::wrap(
        store,
        move |mut caller: Caller<'_, ()>, x: i32| -> Result<(), Trap> {
            let exn = Exn::new(&mut caller, &tag, &[Val::I32(x)])
                .map_err(|e| Trap::host(e.to_string()))?;
            Err(exn.into())
        },
    )
}
