//! The state every task of a running node shares ([`Shared`]): the
//! configuration, the module store, the executor, the throttle and the
//! swarm's command queue, with what the node does through them (storing,
//! publishing and fetching modules, answering peers, running jobs).

use std::collections::HashSet;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libp2p::gossipsub::MessageAcceptance;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::command::{Command, NetStatus, RequestError};
use crate::config::NodeConfig;
use crate::exec::{Executor, Job, JobResult, Outcome};
use crate::gossip::Announce;
use crate::guard::AnnounceGuard;
use crate::scores::PeerScores;
use crate::store::{ModuleId, ModuleStore, StoreError};
use crate::throttle::Throttle;
use crate::wire::{PeerEntry, WireRequest, WireResponse};

/// Why a module could not be fetched: what went wrong with the last peer
/// asked.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No peer other than this node was given to ask.
    #[error("no peer to fetch from")]
    NoPeer,
    /// The peer does not hold the module.
    #[error("{0} does not have it")]
    NotFound(PeerId),
    /// The peer answered with something other than a module.
    #[error("{peer} answered {kind}")]
    Unexpected {
        /// The peer asked.
        peer: PeerId,
        /// The kind of its answer ([`WireResponse::kind`]).
        kind: &'static str,
    },
    /// The request to the peer failed.
    #[error("{peer}: {error}")]
    Request {
        /// The peer asked.
        peer: PeerId,
        /// Why.
        error: RequestError,
    },
    /// The peer's bytes were refused: not the module asked for, too large,
    /// or invalid.
    #[error("{peer}: {error}")]
    Store {
        /// The peer asked.
        peer: PeerId,
        /// Why the store refused them.
        error: StoreError,
    },
}

/// The state every task of a node shares.
#[derive(Debug)]
pub struct Shared {
    /// The node's configuration.
    pub config: NodeConfig,
    /// The node's peer id.
    pub peer_id: PeerId,
    /// The module store.
    pub store: Arc<ModuleStore>,
    /// The deterministic executor.
    pub executor: Executor,
    /// Per-peer budget of execution requests.
    pub throttle: Throttle<PeerId>,
    /// Each peer's wrong answers to replicated jobs, persisted.
    pub scores: PeerScores,
    /// What peers' announcements may cost (`guard.rs`).
    pub announces: AnnounceGuard,
    /// Bounds the jobs running at once.
    jobs: Semaphore,
    /// Modules being fetched now, so that one announcement heard from several
    /// peers is fetched once.
    fetching: Mutex<HashSet<ModuleId>>,
    /// Connected peers that joined through the web listener (`net.rs`).
    browsers: Mutex<HashSet<PeerId>>,
    /// The swarm's command queue.
    commands: mpsc::Sender<Command>,
}

impl Shared {
    /// The state of a node about to start: `commands` is the queue the
    /// swarm's event loop reads.
    pub fn new(
        config: NodeConfig,
        peer_id: PeerId,
        store: ModuleStore,
        executor: Executor,
        commands: mpsc::Sender<Command>,
    ) -> Shared {
        Shared {
            throttle: Throttle::new(config.throttle),
            scores: PeerScores::open(&config.data_dir, config.exclude_after),
            announces: AnnounceGuard::default(),
            jobs: Semaphore::new(config.workers.max(1)),
            config,
            peer_id,
            store: Arc::new(store),
            executor,
            fetching: Mutex::new(HashSet::new()),
            browsers: Mutex::new(HashSet::new()),
            commands,
        }
    }

    /// Prints a log line if the node is verbose.
    pub fn log(&self, line: std::fmt::Arguments<'_>) {
        if self.config.verbose {
            eprintln!("[{}] {line}", self.config.name);
        }
    }

    /// Queues a command for the swarm (dropped if the swarm has stopped).
    pub async fn send(&self, command: Command) {
        let _ = self.commands.send(command).await;
    }

    /// The network's state.
    pub async fn status(&self) -> NetStatus {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Status(reply)).await;
        rx.await.unwrap_or_default()
    }

    fn lock_browsers(&self) -> std::sync::MutexGuard<'_, HashSet<PeerId>> {
        // Inserting or removing cannot leave the set inconsistent.
        self.browsers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `peer` as a browser peer; `false` (and nothing recorded) if
    /// `max_browser_peers` are connected already.
    pub fn add_browser(&self, peer: PeerId) -> bool {
        let mut browsers = self.lock_browsers();
        if browsers.len() >= self.config.max_browser_peers && !browsers.contains(&peer) {
            return false;
        }
        browsers.insert(peer);
        true
    }

    /// Forgets `peer` as a browser peer (it has disconnected).
    pub fn remove_browser(&self, peer: &PeerId) {
        self.lock_browsers().remove(peer);
    }

    /// Whether `peer` joined through the web listener.
    pub fn is_browser(&self, peer: &PeerId) -> bool {
        self.lock_browsers().contains(peer)
    }

    /// The browser peers connected now.
    pub fn browser_peers(&self) -> Vec<PeerId> {
        self.lock_browsers().iter().copied().collect()
    }

    /// Dials `addr`.
    pub async fn dial(&self, addr: Multiaddr) {
        self.send(Command::Dial(addr)).await;
    }

    /// Sends `request` to `peer` and waits (bounded) for the answer.
    ///
    /// # Errors
    ///
    /// Why no response came: see [`RequestError`].
    pub async fn request(
        &self,
        peer: PeerId,
        request: WireRequest,
    ) -> Result<WireResponse, RequestError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Request {
            peer,
            request,
            reply,
        })
        .await;
        // The request-response timeout fires first; this one guards the channel.
        match tokio::time::timeout(self.config.request_timeout + Duration::from_secs(5), rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(RequestError::NetworkStopped),
            Err(_) => Err(RequestError::TimedOut),
        }
    }

    /// Validates and stores a module (checking it hashes to `expected` when
    /// given), off the async threads.
    ///
    /// # Errors
    ///
    /// The store's or the validator's refusal.
    pub async fn store_module(
        self: &Arc<Self>,
        bytes: Vec<u8>,
        expected: Option<ModuleId>,
    ) -> Result<ModuleId, StoreError> {
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let check = |b: &[u8]| this.executor.validate(b);
            match expected {
                Some(id) => this.store.insert_expected(&id, &bytes, check),
                None => this.store.insert(&bytes, check),
            }
        })
        .await
        .map_err(|e| StoreError::Io(io::Error::other(e.to_string())))?
    }

    /// A module's verified bytes, off the async threads.
    ///
    /// # Errors
    ///
    /// As [`ModuleStore::get`].
    pub async fn module_bytes(&self, id: ModuleId) -> Result<Option<Vec<u8>>, StoreError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || store.get(&id))
            .await
            .map_err(|e| StoreError::Io(io::Error::other(e.to_string())))?
    }

    /// Stores a module and announces it to the network. Returns its id and
    /// whether the announcement reached any peer (it is stored either way,
    /// and peers that connect later pull it).
    ///
    /// # Errors
    ///
    /// The store's or the validator's refusal.
    pub async fn publish(self: &Arc<Self>, bytes: Vec<u8>) -> Result<(ModuleId, bool), StoreError> {
        let size = bytes.len() as u64;
        let id = self.store_module(bytes, None).await?;
        let (reply, rx) = oneshot::channel();
        self.send(Command::Announce {
            announce: Announce {
                id: id.to_string(),
                size,
            },
            reply,
        })
        .await;
        let announced = matches!(rx.await, Ok(Ok(())));
        self.log(format_args!("published {id} (announced: {announced})"));
        Ok((id, announced))
    }

    /// Makes sure module `id` is stored, fetching it from `sources` in order
    /// if it is not.
    ///
    /// # Errors
    ///
    /// Why the last source asked could not provide it (see [`FetchError`]).
    pub async fn fetch_module(
        self: &Arc<Self>,
        id: ModuleId,
        sources: &[PeerId],
    ) -> Result<(), FetchError> {
        if self.store.contains(&id) {
            return Ok(());
        }
        let mut last = FetchError::NoPeer;
        for &peer in sources {
            if peer == self.peer_id {
                continue;
            }
            match self
                .request(peer, WireRequest::Fetch { id: id.to_string() })
                .await
            {
                Ok(WireResponse::Module(bytes)) => match self.store_module(bytes, Some(id)).await {
                    Ok(_) => {
                        self.log(format_args!("fetched {id} from {peer}"));
                        return Ok(());
                    }
                    Err(error) => last = FetchError::Store { peer, error },
                },
                Ok(WireResponse::NotFound) => last = FetchError::NotFound(peer),
                Ok(other) => {
                    last = FetchError::Unexpected {
                        peer,
                        kind: other.kind(),
                    }
                }
                Err(error) => last = FetchError::Request { peer, error },
            }
            self.log(format_args!("fetching {id}: {last}"));
        }
        Err(last)
    }

    /// Handles a module announcement: fetches and validates the module, and
    /// says whether gossipsub may forward the announcement.
    pub async fn on_announce(
        self: &Arc<Self>,
        data: &[u8],
        forwarder: PeerId,
        origin: Option<PeerId>,
    ) -> MessageAcceptance {
        let Some((id, _)) = Announce::decode(data, self.store.max_module_bytes()) else {
            return MessageAcceptance::Reject;
        };
        if self.store.contains(&id) {
            return MessageAcceptance::Accept;
        }
        let Some(_slot) = self.announces.fetch_slot() else {
            return MessageAcceptance::Ignore;
        };
        if !self.begin_fetch(id) {
            return MessageAcceptance::Ignore;
        }
        let mut sources = vec![forwarder];
        sources.extend(origin.filter(|o| *o != forwarder));
        let result = self.fetch_module(id, &sources).await;
        self.end_fetch(id);
        match result {
            Ok(()) => MessageAcceptance::Accept,
            Err(e) => {
                self.log(format_args!("announcement of {id} rejected: {e}"));
                MessageAcceptance::Reject
            }
        }
    }

    fn begin_fetch(&self, id: ModuleId) -> bool {
        self.fetching
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id)
    }

    fn end_fetch(&self, id: ModuleId) {
        self.fetching
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// Pulls the modules `peer` has and this node lacks.
    pub async fn sync_from(self: &Arc<Self>, peer: PeerId) {
        let Ok(WireResponse::List(ids)) = self.request(peer, WireRequest::List).await else {
            return;
        };
        for id in ids.iter().take(10_000) {
            let Ok(id) = id.parse::<ModuleId>() else {
                continue;
            };
            if self.store.contains(&id) || !self.begin_fetch(id) {
                continue;
            }
            let _ = self.fetch_module(id, &[peer]).await;
            self.end_fetch(id);
        }
    }

    /// Answers a peer's request.
    pub async fn serve(self: &Arc<Self>, peer: PeerId, request: WireRequest) -> WireResponse {
        match request {
            WireRequest::Fetch { id } => {
                let Ok(id) = id.parse::<ModuleId>() else {
                    return WireResponse::Error("bad module id".into());
                };
                match self.module_bytes(id).await {
                    Ok(Some(bytes)) => WireResponse::Module(bytes),
                    Ok(None) | Err(StoreError::Corrupt(_)) => WireResponse::NotFound,
                    Err(e) => WireResponse::Error(e.to_string()),
                }
            }
            WireRequest::Peers => {
                let net = self.status().await;
                WireResponse::Peers(
                    net.peers
                        .iter()
                        .map(|p| PeerEntry {
                            id: p.to_string(),
                            browser: net.browser_peers.contains(p),
                        })
                        .collect(),
                )
            }
            WireRequest::Run(_) => {
                WireResponse::Error("a native node runs jobs sent as Exec, not Run".into())
            }
            WireRequest::List => match self.store.list() {
                Ok(ids) => WireResponse::List(ids.iter().map(ToString::to_string).collect()),
                Err(e) => WireResponse::Error(e.to_string()),
            },
            WireRequest::Exec(job) => {
                let Ok(id) = job.module.parse::<ModuleId>() else {
                    return WireResponse::Error("bad module id".into());
                };
                // The requester has the module: fetch it from there if needed.
                if let Err(e) = self.fetch_module(id, &[peer]).await {
                    return WireResponse::Error(format!("unknown module {id}: {e}"));
                }
                let mut result = self.run_local(&job).await;
                if self.config.faulty {
                    lie(&mut result);
                }
                WireResponse::Result(result)
            }
        }
    }

    /// Runs a job here on a worker thread, waiting for a free worker.
    pub async fn run_local(self: &Arc<Self>, job: &Job) -> JobResult {
        let Ok(id) = job.module.parse::<ModuleId>() else {
            return JobResult::error("bad module id");
        };
        let bytes = match self.module_bytes(id).await {
            Ok(Some(b)) => b,
            Ok(None) => return JobResult::error(format!("unknown module {id}")),
            Err(e) => return JobResult::error(e.to_string()),
        };
        let Ok(_permit) = self.jobs.acquire().await else {
            return JobResult::error("node is shutting down");
        };
        let executor = self.executor.clone();
        let job = job.clone();
        tokio::task::spawn_blocking(move || executor.run(&job, &bytes))
            .await
            .unwrap_or_else(|e| JobResult::error(format!("job failed: {e}")))
    }
}

/// What a `--faulty` node does to a result: a plausible but wrong answer
/// (the first integer result off by one, or a different fuel count).
fn lie(result: &mut JobResult) {
    if let Outcome::Values(values) = &mut result.outcome
        && let Some(first) = values.first_mut()
        && let Ok(n) = first.parse::<i64>()
    {
        *first = n.wrapping_add(1).to_string();
        return;
    }
    result.fuel_used = result.fuel_used.wrapping_add(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages a failed fetch logs and sends to peers read as they did
    /// when they were strings.
    #[test]
    fn fetch_errors_keep_their_messages() {
        let peer = PeerId::random();
        assert_eq!(FetchError::NoPeer.to_string(), "no peer to fetch from");
        assert_eq!(
            FetchError::NotFound(peer).to_string(),
            format!("{peer} does not have it")
        );
        let kind = WireResponse::Busy.kind();
        assert_eq!(
            FetchError::Unexpected { peer, kind }.to_string(),
            format!("{peer} answered busy")
        );
        for (error, message) in [
            (RequestError::TimedOut, "timed out"),
            (RequestError::NetworkStopped, "the network stopped"),
        ] {
            assert_eq!(error.to_string(), message);
            assert_eq!(
                FetchError::Request { peer, error }.to_string(),
                format!("{peer}: {message}")
            );
        }
    }
}
