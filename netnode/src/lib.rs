//! `kiln-netnode` is Kiln's peer node (`kiln-node`): it keeps WebAssembly
//! modules in a content-addressed store on disk, announces and fetches them
//! over libp2p (gossipsub for announcements, request-response for bytes and
//! execution requests), runs calls deterministically with fuel, memory and
//! call-depth limits, and asks several peers to run the same call so that a
//! peer returning a wrong result is named.
//!
//! It uses only the public `kiln` API and must not reach into the engine's
//! internal crates. Every input from the network or the HTTP API is
//! untrusted: bad input is an error value, never a panic, and nothing a peer
//! sends can make the node lose a module it has acknowledged.
//!
//! The parts, each in its own module:
//! - [`store`]: module ids (SHA-256) and the on-disk store (atomic writes,
//!   verified reads);
//! - [`exec`]: the deterministic executor and its host API;
//! - [`wire`]: the request-response messages and their size-capped codec;
//! - [`net`]: the libp2p behaviour and the swarm's event loop;
//! - [`node`]: a running node (store + executor + network + API);
//! - [`api`] and [`http`]: the loopback HTTP/JSON control API and its client;
//! - [`replicate`]: choosing replicas and comparing their results.
#![forbid(unsafe_code)]

pub mod api;
pub mod client;
pub mod cluster;
pub mod exec;
pub mod http;
pub mod net;
pub mod node;
pub mod replicate;
pub mod store;
pub mod throttle;
pub mod wire;

/// The libp2p version the node is built with, for tests and tools that speak
/// its protocols.
pub use libp2p;

pub use exec::{ExecLimits, Executor, Job, JobResult, Outcome};
pub use node::{Node, NodeConfig};
pub use store::{ModuleId, ModuleStore, StoreError};
