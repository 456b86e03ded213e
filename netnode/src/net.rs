//! The libp2p side of a node: the behaviour (identify, gossipsub,
//! request-response over TCP or WebSocket + noise + yamux) and the swarm's
//! event loop.
//!
//! A peer whose connection came in through a WebSocket listener joined
//! through the web page (`web.rs`): it is a browser peer. The node asks
//! browser peers to run jobs (`browser.rs`) but takes nothing from them
//! besides their answers and a request for the peer list: their module
//! announcements are ignored unfetched and their other requests refused, so
//! a tab cannot make the node fetch, store or run anything. At most
//! `max_browser_peers` are connected at once.
//!
//! The loop owns the swarm and never blocks: it turns swarm events into tasks
//! of [`Shared`] (fetching, validating, executing), and the rest of the node
//! reaches the swarm only through [`Command`]s. Gossipsub runs with
//! `validate_messages`: an announcement is forwarded only after this node
//! has fetched the module, checked its bytes against the id and validated it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use libp2p::core::{ConnectedPoint, Transport as _, upgrade};
use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageId};
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, identify, noise, tcp, yamux};
use tokio::sync::{mpsc, oneshot, watch};

use crate::command::{AnnounceError, Command, NetStatus, RequestError};
use crate::gossip::{MAX_ANNOUNCE_BYTES, MAX_FRAME_BYTES, TOPIC};
use crate::shared::Shared;
use crate::store::sha256_hex;
use crate::wire::{Codec, PROTOCOL, WireLimits, WireRequest, WireResponse};

/// The node's libp2p behaviour.
#[derive(NetworkBehaviour)]
#[behaviour(prelude = "libp2p::swarm::derive_prelude")]
pub struct Behaviour {
    /// Exchanges listen addresses and protocols with each peer.
    pub identify: identify::Behaviour,
    /// Module announcements.
    pub gossipsub: gossipsub::Behaviour,
    /// Module fetches and execution requests.
    pub rr: request_response::Behaviour<Codec>,
}

impl std::fmt::Debug for Behaviour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Behaviour")
    }
}

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Building the transport or a behaviour failed.
    #[error("network setup: {0}")]
    Setup(String),
    /// A listen address could not be used.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
}

/// Builds a swarm for `keypair` with the node's behaviour. Requests time out
/// after `request_timeout`.
///
/// # Errors
///
/// [`NetError::Setup`] if a part of the stack cannot be configured.
pub fn new_swarm(
    keypair: Keypair,
    limits: WireLimits,
    request_timeout: Duration,
) -> Result<Swarm<Behaviour>, NetError> {
    let setup = |e: &dyn std::fmt::Display| NetError::Setup(e.to_string());
    let gossip_config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        // Content-addressed: the same announcement from two nodes is one message.
        .message_id_fn(|m: &gossipsub::Message| MessageId::from(sha256_hex(&m.data)))
        .max_transmit_size(MAX_FRAME_BYTES)
        .max_transmit_size_for_topic(MAX_ANNOUNCE_BYTES, IdentTopic::new(TOPIC).hash())
        .heartbeat_initial_delay(Duration::from_millis(100))
        .heartbeat_interval(Duration::from_millis(500))
        // Unvalidated messages wait in the cache while the module is fetched:
        // 20 heartbeats, ten seconds.
        .history_length(20)
        .build()
        .map_err(|e| setup(&e))?;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| setup(&e))?
        // Browser peers (`web.rs`) can only dial WebSocket. Built by hand
        // rather than with `with_websocket`, which needs libp2p's DNS
        // resolver, of no use to a node that browsers dial.
        .with_other_transport(|key| {
            let tcp = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true));
            let noise = noise::Config::new(key)?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                libp2p_websocket::Config::new(tcp)
                    .upgrade(upgrade::Version::V1Lazy)
                    .authenticate(noise)
                    .multiplex(yamux::Config::default()),
            )
        })
        .map_err(|e| setup(&e))?
        .with_behaviour(|key| {
            let gossipsub = gossipsub::Behaviour::new(
                gossipsub::MessageAuthenticity::Signed(key.clone()),
                gossip_config,
            )?;
            let identify = identify::Behaviour::new(identify::Config::new(
                "/kiln/node/1".into(),
                key.public(),
            ));
            let rr = request_response::Behaviour::with_codec(
                Codec::new(limits),
                [(PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(request_timeout)
                    .with_max_concurrent_streams(256),
            );
            Ok(Behaviour {
                identify,
                gossipsub,
                rr,
            })
        })
        .map_err(|e| setup(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    Ok(swarm)
}

/// Where the answers to this node's outbound requests go, by request.
type Pending = HashMap<OutboundRequestId, oneshot::Sender<Result<WireResponse, RequestError>>>;

/// Runs the swarm until `shutdown` turns true.
pub async fn run(
    mut swarm: Swarm<Behaviour>,
    mut commands: mpsc::Receiver<Command>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let topic = IdentTopic::new(TOPIC);
    if let Err(e) = swarm.behaviour_mut().gossipsub.subscribe(&topic) {
        shared.log(format_args!("cannot subscribe to {TOPIC}: {e:?}"));
    }
    let mut pending = Pending::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    break;
                }
            }
            Some(command) = commands.recv() => {
                handle_command(&mut swarm, command, &mut pending, &topic, &shared);
            }
            event = swarm.select_next_some() => {
                handle_event(&mut swarm, event, &mut pending, &shared);
            }
        }
    }
}

fn handle_command(
    swarm: &mut Swarm<Behaviour>,
    command: Command,
    pending: &mut Pending,
    topic: &IdentTopic,
    shared: &Shared,
) {
    match command {
        Command::Request {
            peer,
            request,
            reply,
        } => {
            let id = swarm.behaviour_mut().rr.send_request(&peer, request);
            pending.insert(id, reply);
        }
        Command::Respond { channel, response } => {
            // Fails only if the requester has gone away; nothing to do then.
            let _ = swarm.behaviour_mut().rr.send_response(channel, response);
        }
        Command::Announce { announce, reply } => {
            let result = serde_json::to_vec(&announce)
                .map_err(AnnounceError::from)
                .and_then(|data| {
                    match swarm.behaviour_mut().gossipsub.publish(topic.clone(), data) {
                        Ok(_) => Ok(()),
                        // Already announced (by us or another node): fine.
                        Err(gossipsub::PublishError::Duplicate) => Ok(()),
                        Err(e) => Err(e.into()),
                    }
                });
            let _ = reply.send(result);
        }
        Command::Validated {
            message_id,
            source,
            acceptance,
        } => {
            swarm
                .behaviour_mut()
                .gossipsub
                .report_message_validation_result(&message_id, &source, acceptance);
        }
        Command::Status(reply) => {
            let topic_hash = topic.hash();
            let status = NetStatus {
                listen_addrs: swarm.listeners().cloned().collect(),
                peers: swarm.connected_peers().copied().collect(),
                browser_peers: shared.browser_peers(),
                gossip_peers: swarm
                    .behaviour()
                    .gossipsub
                    .all_peers()
                    .filter(|(_, topics)| topics.contains(&&topic_hash))
                    .map(|(p, _)| *p)
                    .collect(),
            };
            let _ = reply.send(status);
        }
        Command::Dial(addr) => {
            if let Err(e) = swarm.dial(addr.clone()) {
                shared.log(format_args!("cannot dial {addr}: {e}"));
            }
        }
        Command::Disconnect(peer) => {
            shared.log(format_args!(
                "disconnecting {peer}: too many bad announcements"
            ));
            let _ = swarm.disconnect_peer_id(peer);
        }
    }
}

fn handle_event(
    swarm: &mut Swarm<Behaviour>,
    event: SwarmEvent<BehaviourEvent>,
    pending: &mut Pending,
    shared: &Arc<Shared>,
) {
    match event {
        SwarmEvent::NewListenAddr { address, .. } => {
            shared.log(format_args!("listening on {address}"));
        }
        SwarmEvent::ConnectionEstablished {
            peer_id, endpoint, ..
        } => {
            let through_web = match &endpoint {
                ConnectedPoint::Listener { local_addr, .. } => {
                    local_addr.iter().any(|p| matches!(p, Protocol::Ws(_)))
                }
                ConnectedPoint::Dialer { .. } => false,
            };
            if through_web {
                if shared.add_browser(peer_id) {
                    shared.log(format_args!("browser peer {peer_id} joined"));
                } else {
                    shared.log(format_args!(
                        "browser peer {peer_id} refused: {} browser peers already",
                        shared.config.max_browser_peers
                    ));
                    let _ = swarm.disconnect_peer_id(peer_id);
                }
            } else {
                shared.log(format_args!("connected to {peer_id}"));
            }
        }
        SwarmEvent::ConnectionClosed {
            peer_id,
            num_established: 0,
            ..
        } => shared.remove_browser(&peer_id),
        SwarmEvent::Behaviour(BehaviourEvent::Rr(event)) => {
            handle_rr(swarm, event, pending, shared)
        }
        SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(event)) => handle_gossip(event, shared),
        _ => {}
    }
}

/// Checks an announcement (fetching and validating its module) or catches up
/// with a newly subscribed peer, each in its own task.
fn handle_gossip(event: gossipsub::Event, shared: &Arc<Shared>) {
    match event {
        gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        } => {
            let shared = Arc::clone(shared);
            // Beyond the peer's budget, or from a browser: ignored at once,
            // nothing fetched (`guard.rs`).
            let admitted = !shared.is_browser(&propagation_source)
                && shared.announces.admit(&propagation_source);
            tokio::spawn(async move {
                let acceptance = if admitted {
                    shared
                        .on_announce(&message.data, propagation_source, message.source)
                        .await
                } else {
                    gossipsub::MessageAcceptance::Ignore
                };
                shared
                    .send(Command::Validated {
                        message_id,
                        source: propagation_source,
                        acceptance,
                    })
                    .await;
                if matches!(acceptance, gossipsub::MessageAcceptance::Reject)
                    && shared.announces.rejected(propagation_source)
                {
                    shared.send(Command::Disconnect(propagation_source)).await;
                }
            });
        }
        gossipsub::Event::Subscribed { peer_id, .. } if !shared.is_browser(&peer_id) => {
            // Catch up on what the peer had before we met.
            let shared = Arc::clone(shared);
            tokio::spawn(async move { shared.sync_from(peer_id).await });
        }
        _ => {}
    }
}

fn handle_rr(
    swarm: &mut Swarm<Behaviour>,
    event: request_response::Event<WireRequest, WireResponse>,
    pending: &mut Pending,
    shared: &Arc<Shared>,
) {
    use request_response::{Event, Message};
    match event {
        Event::Message {
            peer,
            message: Message::Request {
                request, channel, ..
            },
            ..
        } => handle_request(swarm, peer, request, channel, shared),
        Event::Message {
            message:
                Message::Response {
                    request_id,
                    response,
                },
            ..
        } => {
            if let Some(reply) = pending.remove(&request_id) {
                let _ = reply.send(Ok(response));
            }
        }
        Event::OutboundFailure {
            request_id, error, ..
        } => {
            if let Some(reply) = pending.remove(&request_id) {
                let _ = reply.send(Err(error.into()));
            }
        }
        Event::InboundFailure { peer, error, .. } => {
            shared.log(format_args!("bad request from {peer}: {error}"));
        }
        Event::ResponseSent { .. } => {}
    }
}

/// Answers `peer`'s request in its own task, or at once with `Busy` if it
/// asks for an execution beyond the peer's budget.
fn handle_request(
    swarm: &mut Swarm<Behaviour>,
    peer: PeerId,
    request: WireRequest,
    channel: ResponseChannel<WireResponse>,
    shared: &Arc<Shared>,
) {
    let browser = shared.is_browser(&peer);
    if browser && !matches!(request, WireRequest::Peers) {
        let response = WireResponse::Error("a browser peer may only ask for the peer list".into());
        let _ = swarm.behaviour_mut().rr.send_response(channel, response);
        return;
    }
    // Every request of a browser peer counts against its budget.
    if (browser || matches!(request, WireRequest::Exec(_))) && !shared.throttle.allow(&peer) {
        let _ = swarm
            .behaviour_mut()
            .rr
            .send_response(channel, WireResponse::Busy);
        return;
    }
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let response = shared.serve(peer, request).await;
        shared.send(Command::Respond { channel, response }).await;
    });
}
