//! What the rest of a node asks of the swarm ([`Command`]) and what the
//! swarm reports of itself ([`NetStatus`]). Only the swarm's event loop
//! ([`net::run`](crate::net::run)) touches the swarm; everything else sends
//! it commands.

use libp2p::gossipsub::{MessageAcceptance, MessageId, PublishError};
use libp2p::request_response::{OutboundFailure, ResponseChannel};
use libp2p::{Multiaddr, PeerId};
use tokio::sync::oneshot;

use crate::gossip::Announce;
use crate::wire::{WireRequest, WireResponse};

/// The network's view of itself, for `/status`.
#[derive(Debug, Clone, Default)]
pub struct NetStatus {
    /// Addresses the swarm listens on.
    pub listen_addrs: Vec<Multiaddr>,
    /// Connected peers.
    pub peers: Vec<PeerId>,
    /// Peers subscribed to the announcement topic.
    pub gossip_peers: Vec<PeerId>,
    /// Connected peers that joined through the web listener (browser
    /// peers; a subset of `peers`).
    pub browser_peers: Vec<PeerId>,
}

/// What the rest of the node asks of the swarm.
#[derive(Debug)]
pub enum Command {
    /// Send a request and report its response or failure.
    Request {
        /// To whom.
        peer: PeerId,
        /// What.
        request: WireRequest,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<WireResponse, RequestError>>,
    },
    /// Answer an inbound request.
    Respond {
        /// The request's channel.
        channel: ResponseChannel<WireResponse>,
        /// The answer.
        response: WireResponse,
    },
    /// Announce a stored module.
    Announce {
        /// The announcement.
        announce: Announce,
        /// Whether any peer received it.
        reply: oneshot::Sender<Result<(), AnnounceError>>,
    },
    /// Report whether an announcement checked out (and may be forwarded).
    Validated {
        /// The gossip message.
        message_id: MessageId,
        /// Who forwarded it to us.
        source: PeerId,
        /// The verdict.
        acceptance: MessageAcceptance,
    },
    /// Report the network's state.
    Status(oneshot::Sender<NetStatus>),
    /// Connect to an address.
    Dial(Multiaddr),
    /// Close every connection to a misbehaving peer.
    Disconnect(PeerId),
}

/// Why a request to a peer brought no response.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The request-response protocol gave up: the dial failed, the
    /// connection closed, the peer does not speak the protocol, an I/O error,
    /// or its own timeout.
    #[error(transparent)]
    Outbound(#[from] OutboundFailure),
    /// The swarm stopped before answering.
    #[error("the network stopped")]
    NetworkStopped,
    /// No answer came in the time allowed.
    #[error("timed out")]
    TimedOut,
}

/// Why an announcement was not published.
#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    /// It could not be encoded.
    #[error(transparent)]
    Encode(#[from] serde_json::Error),
    /// Gossipsub refused it (no peer subscribed, queues full, ...).
    #[error(transparent)]
    Publish(#[from] PublishError),
}
