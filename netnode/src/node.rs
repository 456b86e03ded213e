//! A running node: [`Node::start`] opens the module store, loads the key,
//! builds the swarm and ties it, the executor and the HTTP API together
//! through [`Shared`].

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, watch};

use crate::config::NodeConfig;
use crate::exec::Executor;
use crate::net;
use crate::shared::Shared;
use crate::store::{ModuleStore, StoreError};
use crate::wire::WireLimits;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory or key file failed.
    #[error("data directory: {0}")]
    Io(#[from] io::Error),
    /// The key file is not a key.
    #[error("key file {0}: not an ed25519 key in libp2p's protobuf encoding")]
    BadKey(PathBuf),
    /// The module store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine cannot be configured (a tier not available here).
    #[error("engine: {0}")]
    Engine(#[from] kiln::Error),
    /// The network failed to start.
    #[error(transparent)]
    Net(#[from] net::NetError),
    /// The API may not listen off loopback without a token.
    #[error("the API listens on {0}, which is not a loopback address: give it a bearer token")]
    ApiNeedsToken(SocketAddr),
}

/// Loads the node's ed25519 key from `data_dir/key`, creating it on first
/// start (readable by the owner only).
///
/// # Errors
///
/// [`StartError::Io`] or [`StartError::BadKey`].
pub fn load_or_create_key(data_dir: &Path) -> Result<Keypair, StartError> {
    let path = data_dir.join("key");
    match fs::read(&path) {
        Ok(bytes) => {
            Keypair::from_protobuf_encoding(&bytes).map_err(|_| StartError::BadKey(path.clone()))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let key = Keypair::generate_ed25519();
            let bytes = key
                .to_protobuf_encoding()
                .map_err(|_| StartError::BadKey(path.clone()))?;
            let tmp = data_dir.join("key.tmp");
            write_private(&tmp, &bytes)?;
            fs::rename(&tmp, &path)?;
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// A started node. Dropping it does not stop it; call [`Node::shutdown`].
#[derive(Debug)]
pub struct Node {
    shared: Arc<Shared>,
    api_addr: SocketAddr,
    web_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
}

impl Node {
    /// Starts a node on the current tokio runtime: opens the store (checking
    /// every module), loads or creates the key, listens, dials the configured
    /// peers and serves the API.
    ///
    /// # Errors
    ///
    /// See [`StartError`].
    pub async fn start(config: NodeConfig) -> Result<Node, StartError> {
        if !config.api.ip().is_loopback() && config.api_token.is_none() {
            return Err(StartError::ApiNeedsToken(config.api));
        }
        fs::create_dir_all(&config.data_dir)?;
        let key = load_or_create_key(&config.data_dir)?;
        let peer_id = key.public().to_peer_id();
        let store = {
            let (dir, max) = (config.data_dir.clone(), config.max_module_bytes);
            tokio::task::spawn_blocking(move || ModuleStore::open(&dir, max))
                .await
                .map_err(|e| io::Error::other(e.to_string()))??
        };
        let executor = Executor::new(config.strategy, config.limits)?;
        let limits = WireLimits::new(config.max_module_bytes, config.limits.max_input_bytes);
        let mut swarm = net::new_swarm(key, limits, config.request_timeout)?;
        let mut listen = config.listen.clone();
        let web_listener = match config.web {
            Some(web) => {
                // Browsers dial the node over WebSocket on the page's host.
                listen.push(
                    Multiaddr::from(web.ip())
                        .with(Protocol::Tcp(0))
                        .with(Protocol::Ws("/".into())),
                );
                Some(tokio::net::TcpListener::bind(web).await?)
            }
            None => None,
        };
        for addr in &listen {
            swarm
                .listen_on(addr.clone())
                .map_err(|e| net::NetError::Listen {
                    addr: addr.clone(),
                    reason: e.to_string(),
                })?;
        }
        for addr in &config.peers {
            if let Err(e) = swarm.dial(addr.clone()) {
                eprintln!("{}: cannot dial {addr}: {e}", config.name);
            }
        }
        let listener = tokio::net::TcpListener::bind(config.api).await?;
        let api_addr = listener.local_addr()?;
        let (commands, command_rx) = mpsc::channel(1024);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared::new(config, peer_id, store, executor, commands));
        tokio::spawn(net::run(
            swarm,
            command_rx,
            Arc::clone(&shared),
            shutdown_rx.clone(),
        ));
        let web_addr = match web_listener {
            Some(web) => {
                let addr = web.local_addr()?;
                tokio::spawn(crate::web::serve(
                    web,
                    Arc::clone(&shared),
                    shutdown_rx.clone(),
                ));
                Some(addr)
            }
            None => None,
        };
        tokio::spawn(crate::api::serve(
            listener,
            Arc::clone(&shared),
            shutdown_rx,
        ));
        let node = Node {
            shared,
            api_addr,
            web_addr,
            shutdown,
        };
        // Listening starts asynchronously; wait (bounded) for an address so
        // that callers can print or share it.
        for _ in 0..200 {
            if !node.shared.status().await.listen_addrs.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(node)
    }

    /// The API's address.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The browser page's address, if the node serves it.
    pub fn web_addr(&self) -> Option<SocketAddr> {
        self.web_addr
    }

    /// The node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.shared.peer_id
    }

    /// The shared state (for in-process use).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops the swarm and the API.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}
