//! `kiln-netnode` will be the peer node (`kiln-node`): content-addressed module
//! exchange over libp2p and deterministic, metered, replicated execution.
//!
//! It uses only the public `kiln` API. Nothing is here yet: the peer-node issue
//! builds it.
#![forbid(unsafe_code)]
