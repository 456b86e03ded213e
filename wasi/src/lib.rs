//! `kiln-wasi` will provide the WASI preview1 host functions, built only on
//! the public `kiln` embedding API.
//!
//! It must not reach into Kiln's internal crates. Nothing is here yet: the WASI
//! issue builds it.
#![forbid(unsafe_code)]
