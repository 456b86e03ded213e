//! Several nodes in one process, on loopback, each with its own data
//! directory, connected to each other: what `kiln-node demo`, the tests and
//! the benchmark run.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::config::NodeConfig;
use crate::node::{Node, StartError};

/// The example module (text): `fib`, `reverse` (host API), `nan`, and the
/// misbehaving `spin`, `bomb`, `deep` and `oob`.
pub const EXAMPLE_WAT: &str = include_str!("example.wat");

/// Calls `check` until it returns true or `timeout` passes, pausing
/// `interval` between tries. Returns whether it held.
pub async fn poll_until<F, Fut>(timeout: Duration, interval: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(interval).await;
    }
}

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

/// A fresh, empty directory under the system's temporary directory.
pub fn fresh_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "kiln-node-{label}-{}-{}",
        std::process::id(),
        NEXT_DIR.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Nodes running in this process.
#[derive(Debug)]
pub struct Cluster {
    /// The nodes, in start order.
    pub nodes: Vec<Node>,
    /// Their data directories, removed on drop.
    pub dirs: Vec<PathBuf>,
}

impl Cluster {
    /// Starts one node per configuration (`data_dir` replaced by a fresh
    /// directory unless `keep_dirs`), each dialling every node started before
    /// it, and waits up to `timeout` until every node sees every other as a
    /// connected peer and a gossip peer.
    ///
    /// # Errors
    ///
    /// A node that fails to start; `Ok(None)` if the mesh did not form in time.
    pub async fn start(
        configs: Vec<NodeConfig>,
        timeout: Duration,
    ) -> Result<Option<Cluster>, StartError> {
        let mut cluster = Cluster {
            nodes: Vec::new(),
            dirs: Vec::new(),
        };
        for mut config in configs {
            for node in &cluster.nodes {
                let net = node.shared().status().await;
                for addr in net.listen_addrs {
                    config
                        .peers
                        .push(addr.with(libp2p::multiaddr::Protocol::P2p(node.peer_id())));
                }
            }
            cluster.dirs.push(config.data_dir.clone());
            cluster.nodes.push(Node::start(config).await?);
        }
        let want = cluster.nodes.len() - 1;
        let formed = poll_until(timeout, Duration::from_millis(50), || async {
            for node in &cluster.nodes {
                let net = node.shared().status().await;
                if net.peers.len() < want || net.gossip_peers.len() < want {
                    return false;
                }
            }
            true
        })
        .await;
        Ok(formed.then_some(cluster))
    }

    /// Configurations for `n` nodes named `node-0`... in fresh directories.
    pub fn configs(n: usize, label: &str) -> Vec<NodeConfig> {
        (0..n)
            .map(|i| {
                let mut c = NodeConfig::new(fresh_dir(&format!("{label}-{i}")));
                c.name = format!("node-{i}");
                c
            })
            .collect()
    }

    /// A client of node `i`'s API.
    pub fn client(&self, i: usize) -> Client {
        Client::new(self.nodes[i].api_addr())
    }

    /// Stops every node.
    pub fn shutdown(&self) {
        for node in &self.nodes {
            node.shutdown();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown();
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
