//! What a node is started with: [`NodeConfig`], its addresses, limits and
//! flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use kiln::Strategy;
use libp2p::Multiaddr;

use crate::exec::ExecLimits;
use crate::throttle::ThrottleConfig;

/// Everything a node is started with.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Where the key and the modules live.
    pub data_dir: PathBuf,
    /// libp2p listen addresses.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start.
    pub peers: Vec<Multiaddr>,
    /// The HTTP API's address.
    pub api: SocketAddr,
    /// The bearer token the API requires (mandatory off loopback).
    pub api_token: Option<String>,
    /// The execution tier (results do not depend on it).
    pub strategy: Strategy,
    /// Limits of every job.
    pub limits: ExecLimits,
    /// The largest module stored or transferred.
    pub max_module_bytes: usize,
    /// Per-peer execution request budget.
    pub throttle: ThrottleConfig,
    /// Jobs run at once; more wait.
    pub workers: usize,
    /// How long a request to a peer may take.
    pub request_timeout: Duration,
    /// Test flag: answer peers' jobs with wrong results.
    pub faulty: bool,
    /// Wrong answers to replicated jobs after which a peer is no longer
    /// chosen as a replica (`scores.rs`).
    pub exclude_after: u32,
    /// Print what happens on stderr.
    pub verbose: bool,
    /// A name for log lines.
    pub name: String,
    /// Where to serve the browser peer's page (`web.rs`); the node then also
    /// listens for libp2p over WebSocket on the same IP address.
    pub web: Option<SocketAddr>,
    /// The most browser peers connected at once; more are disconnected.
    pub max_browser_peers: usize,
}

impl NodeConfig {
    /// A node on loopback with ephemeral ports and default limits.
    pub fn new(data_dir: impl Into<PathBuf>) -> NodeConfig {
        NodeConfig {
            data_dir: data_dir.into(),
            listen: vec![
                Multiaddr::from(std::net::Ipv4Addr::LOCALHOST)
                    .with(libp2p::multiaddr::Protocol::Tcp(0)),
            ],
            peers: Vec::new(),
            api: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_token: None,
            strategy: Strategy::Interpreter,
            limits: ExecLimits::default(),
            max_module_bytes: 8 << 20,
            throttle: ThrottleConfig::default(),
            workers: 2,
            request_timeout: Duration::from_secs(60),
            faulty: false,
            exclude_after: 3,
            verbose: false,
            name: "node".into(),
            web: None,
            max_browser_peers: 64,
        }
    }
}
