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
//! - [`reject`]: why a module is refused, by the executor's check that the
//!   store runs before writing it;
//! - [`wire`]: the request-response messages and their size-capped codec;
//! - [`gossip`]: the module announcements gossipsub carries;
//! - [`command`]: what the rest of the node asks of the swarm;
//! - [`net`]: the libp2p behaviour and the swarm's event loop;
//! - [`config`]: what a node is started with;
//! - [`shared`]: the state every task of a running node shares, and what
//!   the node does with it (store, fetch, announce, answer peers, run jobs);
//! - [`node`]: starting a node (store + executor + network + API);
//! - [`api`] and [`http`]: the loopback HTTP/JSON control API and its client;
//! - [`replicate`]: choosing replicas and comparing their results;
//! - [`browser`] and [`web`]: browser peers, the jobs sent to them and the
//!   page that makes a tab one.
#![forbid(unsafe_code)]

pub mod api;
pub mod browser;
pub mod client;
pub mod cluster;
pub mod command;
pub mod config;
pub mod exec;
pub mod gossip;
pub mod guard;
pub mod http;
pub mod net;
pub mod node;
pub mod reject;
pub mod replicate;
pub mod scores;
pub mod shared;
pub mod store;
pub mod throttle;
pub mod web;
pub mod wire;

/// The libp2p version the node is built with, for tests and tools that speak
/// its protocols.
pub use libp2p;

pub use config::NodeConfig;
pub use exec::{ExecLimits, Executor, Job, JobResult, Outcome};
pub use node::Node;
pub use store::{ModuleId, ModuleStore, StoreError};
