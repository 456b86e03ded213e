//! Conversions between Rust types and WebAssembly values, for typed calls and host closures.

use kiln_parser::{FuncType, ValType};
use kiln_runtime::{Trap, Val};

use crate::Caller;

/// A Rust type that is one WebAssembly value.
pub trait WasmTy: Sized + Send + 'static {
    /// Its WebAssembly type.
    fn val_type() -> ValType;
    /// As a value.
    fn into_val(self) -> Val;
    /// From a value of [`WasmTy::val_type`], or `None` for another type.
    fn from_val(v: Val) -> Option<Self>;
}

/// Implements `WasmTy` for `$t` as WebAssembly `$vt`, converting through `$variant`.
macro_rules! wasm_ty {
    ($($t:ty => $vt:ident, $variant:ident, |$x:ident| $into:expr, |$y:ident| $from:expr;)*) => {$(
        impl WasmTy for $t {
            fn val_type() -> ValType {
                ValType::$vt
            }
            fn into_val(self) -> Val {
                let $x = self;
                Val::$variant($into)
            }
            fn from_val(v: Val) -> Option<Self> {
                match v {
                    Val::$variant($y) => Some($from),
                    _ => None,
                }
            }
        }
    )*};
}

wasm_ty! {
    i32 => I32, I32, |x| x, |y| y;
    u32 => I32, I32, |x| x as i32, |y| y as u32;
    i64 => I64, I64, |x| x, |y| y;
    u64 => I64, I64, |x| x as i64, |y| y as u64;
    f32 => F32, F32, |x| x.to_bits(), |y| f32::from_bits(y);
    f64 => F64, F64, |x| x.to_bits(), |y| f64::from_bits(y);
    u128 => V128, V128, |x| x, |y| y;
}

/// A tuple of parameters (or a single one).
pub trait WasmParams: Sized {
    /// Their types.
    fn types() -> Vec<ValType>;
    /// As values.
    fn into_vals(self) -> Vec<Val>;
    /// From values, or `None` if they do not match.
    fn from_vals(vals: &[Val]) -> Option<Self>;
}

/// A tuple of results (or a single one, or `()`).
pub trait WasmResults: WasmParams {}

impl<P: WasmParams> WasmResults for P {}

impl<T: WasmTy> WasmParams for T {
    fn types() -> Vec<ValType> {
        vec![T::val_type()]
    }
    fn into_vals(self) -> Vec<Val> {
        vec![self.into_val()]
    }
    fn from_vals(vals: &[Val]) -> Option<Self> {
        match vals {
            [v] => T::from_val(*v),
            _ => None,
        }
    }
}

/// Implements `WasmParams` for a tuple of `WasmTy`s.
macro_rules! tuple_params {
    ($($name:ident)*) => {
        impl<$($name: WasmTy),*> WasmParams for ($($name,)*) {
            fn types() -> Vec<ValType> {
                vec![$($name::val_type()),*]
            }
            #[allow(non_snake_case)]
            fn into_vals(self) -> Vec<Val> {
                let ($($name,)*) = self;
                vec![$($name.into_val()),*]
            }
            #[allow(non_snake_case, unused_mut, unused_variables)]
            fn from_vals(vals: &[Val]) -> Option<Self> {
                let mut it = vals.iter().copied();
                let result = ($($name::from_val(it.next()?)?,)*);
                if it.next().is_some() {
                    return None;
                }
                Some(result)
            }
        }
    };
}

tuple_params!();
tuple_params!(A1 A2);
tuple_params!(A1 A2 A3);
tuple_params!(A1 A2 A3 A4);
tuple_params!(A1 A2 A3 A4 A5);
tuple_params!(A1 A2 A3 A4 A5 A6);
tuple_params!(A1 A2 A3 A4 A5 A6 A7);
tuple_params!(A1 A2 A3 A4 A5 A6 A7 A8);

/// What a host closure may return: results, or `Result<results, Trap>`.
pub trait WasmRet {
    /// The results' types.
    fn types() -> Vec<ValType>;
    /// Writes the results, or passes on the closure's trap.
    fn into_results(self, out: &mut [Val]) -> Result<(), Trap>;
}

impl<R: WasmResults> WasmRet for R {
    fn types() -> Vec<ValType> {
        R::types()
    }
    fn into_results(self, out: &mut [Val]) -> Result<(), Trap> {
        for (slot, v) in out.iter_mut().zip(self.into_vals()) {
            *slot = v;
        }
        Ok(())
    }
}

impl<R: WasmResults> WasmRet for Result<R, Trap> {
    fn types() -> Vec<ValType> {
        R::types()
    }
    fn into_results(self, out: &mut [Val]) -> Result<(), Trap> {
        self?.into_results(out)
    }
}

/// The body of a host function, in the runtime's untyped form, plus its type.
pub type HostBody<T> =
    Box<dyn Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync>;

/// A Rust closure usable as a host function. `Params` is a marker: the argument
/// types, preceded by [`Caller`] when the closure takes one.
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    /// The function's type and untyped body.
    fn into_func(self) -> (FuncType, HostBody<T>);
}

/// Marker for closures whose first parameter is a [`Caller`].
#[derive(Debug)]
pub struct WithCaller;

/// Implements `IntoFunc` for closures of one arity, with and without a leading `Caller`.
macro_rules! into_func {
    ($($name:ident)*) => {
        impl<T: 'static, F, $($name: WasmTy,)* R: WasmRet> IntoFunc<T, ($($name,)*), R> for F
        where
            F: Fn($($name),*) -> R + Send + Sync + 'static,
        {
            #[allow(non_snake_case, unused_mut, unused_variables)]
            fn into_func(self) -> (FuncType, HostBody<T>) {
                let ty = FuncType {
                    params: vec![$($name::val_type()),*].into(),
                    results: R::types().into(),
                };
                let body = move |_: Caller<'_, T>, params: &[Val], results: &mut [Val]| {
                    let mut it = params.iter().copied();
                    $(let $name = it.next().and_then($name::from_val).ok_or_else(|| Trap::host("bad argument"))?;)*
                    self($($name),*).into_results(results)
                };
                (ty, Box::new(body))
            }
        }

        impl<T: 'static, F, $($name: WasmTy,)* R: WasmRet> IntoFunc<T, (WithCaller, $($name,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($name),*) -> R + Send + Sync + 'static,
        {
            #[allow(non_snake_case, unused_mut, unused_variables)]
            fn into_func(self) -> (FuncType, HostBody<T>) {
                let ty = FuncType {
                    params: vec![$($name::val_type()),*].into(),
                    results: R::types().into(),
                };
                let body = move |caller: Caller<'_, T>, params: &[Val], results: &mut [Val]| {
                    let mut it = params.iter().copied();
                    $(let $name = it.next().and_then($name::from_val).ok_or_else(|| Trap::host("bad argument"))?;)*
                    self(caller, $($name),*).into_results(results)
                };
                (ty, Box::new(body))
            }
        }
    };
}

into_func!();
into_func!(A1);
into_func!(A1 A2);
into_func!(A1 A2 A3);
into_func!(A1 A2 A3 A4);
into_func!(A1 A2 A3 A4 A5);
into_func!(A1 A2 A3 A4 A5 A6);
into_func!(A1 A2 A3 A4 A5 A6 A7);
into_func!(A1 A2 A3 A4 A5 A6 A7 A8);
