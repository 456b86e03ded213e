//! A node facing misbehaving peers on the wire: bytes that do not match their
//! id, a peer that disconnects mid-transfer, a peer that floods execution
//! requests, garbage and over-sized messages, and garbage before the
//! handshake. The misbehaving peers are libp2p swarms driven by the test.

use std::io;
use std::time::{Duration, Instant};

use kiln_netnode::api::ExecRequest;
use kiln_netnode::cluster::{Cluster, EXAMPLE_WAT};
use kiln_netnode::gossip::{self, Announce};
use kiln_netnode::libp2p::futures::{
    AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt,
};
use kiln_netnode::libp2p::gossipsub::IdentTopic;
use kiln_netnode::libp2p::identity::Keypair;
use kiln_netnode::libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use kiln_netnode::libp2p::swarm::SwarmEvent;
use kiln_netnode::libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux,
};
use kiln_netnode::net::{self, Behaviour, BehaviourEvent};
use kiln_netnode::store::ModuleId;
use kiln_netnode::throttle::ThrottleConfig;
use kiln_netnode::wire::{PROTOCOL, WireLimits, WireRequest, WireResponse};
use kiln_netnode::{Job, NodeConfig, Outcome};
use tokio::io::AsyncWriteExt as _;

const DEADLINE: Duration = Duration::from_secs(90);

fn example() -> Vec<u8> {
    kiln::wat2wasm(EXAMPLE_WAT.as_bytes())
        .map(|b| b.into_owned())
        .unwrap_or_default()
}

async fn cluster(configs: Vec<NodeConfig>) -> anyhow::Result<Cluster> {
    Cluster::start(configs, DEADLINE)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the nodes did not connect within {DEADLINE:?}"))
}

async fn node_addr(cluster: &Cluster, i: usize) -> anyhow::Result<(PeerId, Multiaddr)> {
    let node = &cluster.nodes[i];
    let addr = node.shared().status().await.listen_addrs.into_iter().next();
    Ok((
        node.peer_id(),
        addr.ok_or_else(|| anyhow::anyhow!("node {i} has no address"))?,
    ))
}

/// A peer speaking the node's own protocols, driven by hand.
fn kiln_peer() -> anyhow::Result<Swarm<Behaviour>> {
    let limits = WireLimits::new(16 << 20, 16 << 20);
    Ok(net::new_swarm(
        Keypair::generate_ed25519(),
        limits,
        Duration::from_secs(60),
    )?)
}

/// Drives `swarm` until `pick` returns something or the deadline passes.
async fn until<B, T>(
    swarm: &mut Swarm<B>,
    mut pick: impl FnMut(&mut Swarm<B>, SwarmEvent<B::ToSwarm>) -> Option<T>,
) -> anyhow::Result<T>
where
    B: kiln_netnode::libp2p::swarm::NetworkBehaviour,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        let event = tokio::time::timeout_at(deadline.into(), swarm.select_next_some())
            .await
            .map_err(|_| anyhow::anyhow!("no expected event within {DEADLINE:?}"))?;
        if let Some(t) = pick(swarm, event) {
            return Ok(t);
        }
    }
}

async fn connect<B>(swarm: &mut Swarm<B>, peer: PeerId, addr: Multiaddr) -> anyhow::Result<()>
where
    B: kiln_netnode::libp2p::swarm::NetworkBehaviour,
{
    swarm.dial(addr)?;
    until(swarm, |_, e| match e {
        SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == peer => Some(()),
        _ => None,
    })
    .await
}

type RrEvent = request_response::Event<WireRequest, WireResponse>;

fn rr(event: SwarmEvent<BehaviourEvent>) -> Option<RrEvent> {
    match event {
        SwarmEvent::Behaviour(BehaviourEvent::Rr(e)) => Some(e),
        _ => None,
    }
}

/// Waits for the node to ask this peer for a module; returns the channel.
async fn fetch_request(
    swarm: &mut Swarm<Behaviour>,
) -> anyhow::Result<request_response::ResponseChannel<WireResponse>> {
    until(swarm, |_, e| match rr(e) {
        Some(request_response::Event::Message {
            message:
                request_response::Message::Request {
                    request: WireRequest::Fetch { .. },
                    channel,
                    ..
                },
            ..
        }) => Some(channel),
        _ => None,
    })
    .await
}

/// Waits for the answer to `id`: `Ok(response)` or `Err(failure)`.
async fn answer(
    swarm: &mut Swarm<Behaviour>,
    id: OutboundRequestId,
) -> anyhow::Result<Result<WireResponse, String>> {
    until(swarm, |_, e| match rr(e) {
        Some(request_response::Event::Message {
            message:
                request_response::Message::Response {
                    request_id,
                    response,
                },
            ..
        }) if request_id == id => Some(Ok(response)),
        Some(request_response::Event::OutboundFailure {
            request_id, error, ..
        }) if request_id == id => Some(Err(error.to_string())),
        _ => None,
    })
    .await
}

fn fib_job(bytes: &[u8], n: &str) -> Job {
    Job {
        module: ModuleId::of(bytes).to_string(),
        export: "fib".into(),
        args: vec![n.into()],
        fuel: 1_000_000,
        input: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_bytes_and_vanishing_sources_store_nothing() -> anyhow::Result<()> {
    let cluster = cluster(Cluster::configs(1, "wrongbytes")).await?;
    let (node, addr) = node_addr(&cluster, 0).await?;
    let api = cluster.client(0);
    let module = example();
    let mut peer = kiln_peer()?;
    connect(&mut peer, node, addr.clone()).await?;

    // The node does not have the module, so it fetches it from the requester,
    // which answers with bytes that do not match the id.
    let exec = peer
        .behaviour_mut()
        .rr
        .send_request(&node, WireRequest::Exec(fib_job(&module, "10")));
    let channel = fetch_request(&mut peer).await?;
    let wrong = WireResponse::Module(b"\0asm\x01\0\0\0".to_vec());
    let _ = peer.behaviour_mut().rr.send_response(channel, wrong);
    match answer(&mut peer, exec).await? {
        Ok(WireResponse::Error(e)) => assert!(e.contains("do not match"), "{e}"),
        other => panic!("expected an error, got {other:?}"),
    }
    assert!(api.list().await?.is_empty());

    // This time the requester disconnects while the node waits for the bytes.
    let exec = peer
        .behaviour_mut()
        .rr
        .send_request(&node, WireRequest::Exec(fib_job(&module, "10")));
    let _channel = fetch_request(&mut peer).await?;
    assert!(peer.disconnect_peer_id(node).is_ok());
    assert!(answer(&mut peer, exec).await?.is_err());
    assert!(api.list().await?.is_empty());
    assert!(api.status().await.is_ok(), "the node keeps running");

    // An announcement that is not JSON, and one of a module its sender does
    // not have: both rejected, nothing stored.
    connect(&mut peer, node, addr).await?;
    until(&mut peer, |_, e| match e {
        SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(
            kiln_netnode::libp2p::gossipsub::Event::Subscribed { peer_id, .. },
        )) if peer_id == node => Some(()),
        _ => None,
    })
    .await?;
    let topic = IdentTopic::new(gossip::TOPIC);
    let _ = peer
        .behaviour_mut()
        .gossipsub
        .publish(topic.clone(), b"not json".to_vec());
    let bogus = serde_json::to_vec(&Announce {
        id: ModuleId::of(b"nothing").to_string(),
        size: 10,
    })?;
    let _ = peer.behaviour_mut().gossipsub.publish(topic, bogus);
    let channel = fetch_request(&mut peer).await?;
    let _ = peer
        .behaviour_mut()
        .rr
        .send_response(channel, WireResponse::NotFound);

    // The right bytes are accepted, and the job runs.
    let exec = peer
        .behaviour_mut()
        .rr
        .send_request(&node, WireRequest::Exec(fib_job(&module, "10")));
    let channel = fetch_request(&mut peer).await?;
    let _ = peer
        .behaviour_mut()
        .rr
        .send_response(channel, WireResponse::Module(module.clone()));
    match answer(&mut peer, exec).await? {
        Ok(WireResponse::Result(r)) => {
            assert_eq!(r.outcome, Outcome::Values(vec!["55".into()]));
        }
        other => panic!("expected a result, got {other:?}"),
    }
    assert_eq!(api.list().await?, [ModuleId::of(&module).to_string()]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_peer_is_throttled_and_others_are_served() -> anyhow::Result<()> {
    let mut configs = Cluster::configs(2, "flood");
    configs[0].throttle = ThrottleConfig {
        burst: 4.0,
        per_second: 0.5,
    };
    let cluster = cluster(configs).await?;
    let module = example();
    let id = cluster.client(0).publish(&module).await?;
    let propagated =
        kiln_netnode::cluster::poll_until(DEADLINE, Duration::from_millis(20), || async {
            cluster
                .client(1)
                .list()
                .await
                .is_ok_and(|l| l.contains(&id))
        })
        .await;
    assert!(propagated, "node 1 never got the module");
    let (node, addr) = node_addr(&cluster, 0).await?;
    let mut flooder = kiln_peer()?;
    connect(&mut flooder, node, addr).await?;

    const FLOOD: usize = 40;
    let mut pending: Vec<OutboundRequestId> = (0..FLOOD)
        .map(|_| {
            flooder
                .behaviour_mut()
                .rr
                .send_request(&node, WireRequest::Exec(fib_job(&module, "20")))
        })
        .collect();
    // While the flood is answered, node 1 has node 0 run a job.
    let polite = cluster.client(1);
    let mut request = ExecRequest::new(&id, "fib", &["20"]);
    request.replicas = 1;
    request.local = false;
    let polite = tokio::spawn(async move { polite.exec(&request).await });

    let (mut busy, mut served) = (0, 0);
    while !pending.is_empty() {
        let response = until(&mut flooder, |_, e| match rr(e) {
            Some(request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            }) => Some((request_id, Ok(response))),
            Some(request_response::Event::OutboundFailure {
                request_id, error, ..
            }) => Some((request_id, Err(error.to_string()))),
            _ => None,
        })
        .await?;
        pending.retain(|id| *id != response.0);
        match response.1 {
            Ok(WireResponse::Busy) => busy += 1,
            Ok(WireResponse::Result(_)) => served += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(served >= 4, "the burst is served ({served})");
    assert!(busy >= FLOOD - 10, "the rest is throttled ({busy} busy)");
    let report = polite.await??;
    assert_eq!(report.replicas.len(), 1);
    assert_eq!(
        report.replicas[0]
            .result
            .as_ref()
            .map(|r| r.outcome.clone()),
        Some(Outcome::Values(vec!["6765".into()])),
        "another peer is still served: {report:?}"
    );
    Ok(())
}

/// Writes whatever bytes it is given as a request, optionally only half of
/// them before failing the stream; reads any response as raw bytes.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = (Vec<u8>, bool);
    type Response = Vec<u8>;

    async fn read_request<T>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
    ) -> io::Result<(Vec<u8>, bool)>
    where
        T: AsyncRead + Unpin + Send,
    {
        Err(io::Error::other("this peer serves nothing"))
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut buf = Vec::new();
        io.take(1 << 20).read_to_end(&mut buf).await?;
        Ok(buf)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        (bytes, cut): (Vec<u8>, bool),
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        if cut {
            io.write_all(&bytes[..bytes.len() / 2]).await?;
            io.flush().await?;
            return Err(io::Error::other("cut mid-message"));
        }
        io.write_all(&bytes).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        _: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_oversized_messages_leave_the_node_running() -> anyhow::Result<()> {
    let cluster = cluster(Cluster::configs(1, "garbage")).await?;
    let (node, addr) = node_addr(&cluster, 0).await?;
    let api = cluster.client(0);
    let id = api.publish(&example()).await?;

    // Garbage before any handshake, on the libp2p port itself.
    let port = addr.iter().find_map(|p| match p {
        kiln_netnode::libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
        _ => None,
    });
    let port = port.ok_or_else(|| anyhow::anyhow!("no TCP port in {addr}"))?;
    let mut raw = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let noise: Vec<u8> = (0..65536u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let _ = raw.write_all(&noise).await;
    drop(raw);

    let mut swarm = SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|_| {
            request_response::Behaviour::with_codec(
                RawCodec,
                [(PROTOCOL, ProtocolSupport::Outbound)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(60)),
            )
        })?
        .build();
    connect(&mut swarm, node, addr).await?;

    let valid = kiln_netnode::wire::encode(&WireRequest::Exec(Job {
        module: id.clone(),
        export: "fib".into(),
        args: vec!["10".into()],
        fuel: 100_000,
        input: Vec::new(),
    }))?;
    let wrong_shape = kiln_netnode::wire::encode(&"a string, not a request")?;
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        ("garbage", vec![0xff; 100], false),
        ("wrong shape", wrong_shape, false),
        ("empty", Vec::new(), false),
        ("over-sized", vec![0x5a; 4 << 20], false),
        ("cut mid-message", valid.clone(), true),
    ];
    for (what, bytes, cut) in cases {
        let request = swarm.behaviour_mut().send_request(&node, (bytes, cut));
        let outcome = until(&mut swarm, |_, e| match e {
            SwarmEvent::Behaviour(request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            }) if request_id == request => Some(Ok(response)),
            SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                request_id,
                error,
                ..
            }) if request_id == request => Some(Err(error.to_string())),
            _ => None,
        })
        .await?;
        // The node answers nothing: the stream is dropped.
        assert!(
            outcome.as_ref().map_or(true, Vec::is_empty),
            "{what}: got {outcome:?}"
        );
        assert!(api.status().await.is_ok(), "{what}: the node keeps running");
    }

    // The same connection still carries a valid request.
    let request = swarm.behaviour_mut().send_request(&node, (valid, false));
    let response = until(&mut swarm, |_, e| match e {
        SwarmEvent::Behaviour(request_response::Event::Message {
            message:
                request_response::Message::Response {
                    request_id,
                    response,
                },
            ..
        }) if request_id == request => Some(response),
        _ => None,
    })
    .await?;
    let response: WireResponse = kiln_netnode::wire::decode(&response)?;
    assert!(
        matches!(&response, WireResponse::Result(r) if r.outcome == Outcome::Values(vec!["55".into()])),
        "{response:?}"
    );
    Ok(())
}

/// The test process's resident memory, in KiB (`VmRSS`).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_false_announcements_is_cut_off() -> anyhow::Result<()> {
    use kiln_netnode::guard::{ANNOUNCE_BURST, ANNOUNCES_PER_SECOND, DISCONNECT_AFTER};
    /// Announcements the flooder sends at most.
    const FLOOD_BOUND: u64 = 100_000;
    let cluster = cluster(Cluster::configs(2, "announce-flood")).await?;
    let (node, addr) = node_addr(&cluster, 0).await?;
    let mut flooder = kiln_peer()?;
    let topic = IdentTopic::new(gossip::TOPIC);
    flooder.behaviour_mut().gossipsub.subscribe(&topic)?;
    connect(&mut flooder, node, addr).await?;
    until(&mut flooder, |_, e| match e {
        SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(
            kiln_netnode::libp2p::gossipsub::Event::Subscribed { peer_id, .. },
        )) if peer_id == node => Some(()),
        _ => None,
    })
    .await?;

    // Announcements of modules the flooder does not have, 200 every 10 ms
    // for as long as the node keeps the flooder connected (to a bound), each
    // fetch the node sends answered `NotFound`. The flood does not stop after
    // a fixed number: on a loaded machine the flooder's own gossipsub drops
    // what it could not send within its queue's time limit, so a short flood
    // might never reach the node at all.
    let rss_before = rss_kib();
    let started = Instant::now();
    let (mut sent, mut fetches, mut next, mut dropped) = (0u64, 0u64, 0u64, 0usize);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    // A late tick is skipped, not made up for in a burst: on a loaded
    // machine the flooder still answers the node between its batches.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let cut_off = loop {
        anyhow::ensure!(
            started.elapsed() < DEADLINE,
            "the flooder was never cut off: {sent} announcements sent ({dropped} dropped \
             unsent by the flooder), {fetches} fetched by the node"
        );
        tokio::select! {
            // Events first: the node's fetches are answered before more is sent.
            biased;
            event = flooder.select_next_some() => match event {
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } if peer_id == node => {
                    break started.elapsed();
                }
                SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(
                    kiln_netnode::libp2p::gossipsub::Event::SlowPeer { failed_messages, .. },
                )) => dropped += failed_messages.priority + failed_messages.non_priority,
                event => {
                    if let Some(request_response::Event::Message {
                        message: request_response::Message::Request { channel, .. },
                        ..
                    }) = rr(event)
                    {
                        fetches += 1;
                        let _ = flooder.behaviour_mut().rr.send_response(channel, WireResponse::NotFound);
                    }
                }
            },
            // Always ticking, so that the deadline above is checked even when
            // the bound is reached and the node stays silent.
            _ = tick.tick() => {
                for _ in 0..if next < FLOOD_BOUND { 200 } else { 0 } {
                    next += 1;
                    let announce = Announce {
                        id: ModuleId::of(format!("never had {next}").as_bytes()).to_string(),
                        size: 100,
                    };
                    let data = serde_json::to_vec(&announce)?;
                    if flooder.behaviour_mut().gossipsub.publish(topic.clone(), data).is_ok() {
                        sent += 1;
                    }
                }
            }
        }
    };
    let grown_kib = rss_kib().saturating_sub(rss_before);
    eprintln!(
        "announcement flood: {sent} sent ({dropped} dropped unsent), {fetches} fetched by the \
         node, cut off after {cut_off:?}, resident memory grew {grown_kib} KiB"
    );
    // The node may cut the flooder off within the first batches.
    anyhow::ensure!(sent >= 200, "too few announcements to be a flood: {sent}");
    // Each fetch is work the flood caused: bounded by the peer's budget (its
    // burst, and its rate for as long as it stayed connected) and the
    // rejections that end it, whatever the flood's size.
    let budget = ANNOUNCE_BURST + ANNOUNCES_PER_SECOND * cut_off.as_secs_f64();
    anyhow::ensure!(
        fetches <= budget as u64 + u64::from(DISCONNECT_AFTER) * 4,
        "the node fetched {fetches} times for {sent} false announcements"
    );
    anyhow::ensure!(grown_kib < 64 << 10, "memory grew by {grown_kib} KiB");

    // Honest peers are still served: a module published on the other node
    // reaches this one, whose API answers.
    let api = cluster.client(0);
    let id = cluster.client(1).publish(&example()).await?;
    let arrived =
        kiln_netnode::cluster::poll_until(DEADLINE, Duration::from_millis(20), || async {
            api.list().await.is_ok_and(|l| l.contains(&id))
        })
        .await;
    anyhow::ensure!(arrived, "an honest announcement was lost after the flood");
    Ok(())
}

/// `module` with a custom section named `name` at its end: another module,
/// another id, the same code.
fn renamed(mut module: Vec<u8>, name: &str) -> Vec<u8> {
    assert!(name.len() < 127, "one LEB128 byte each");
    module.extend([0, name.len() as u8 + 1, name.len() as u8]);
    module.extend(name.as_bytes());
    module
}

/// A burst of announcements that reaches the node while it is busy waits
/// in its socket and is read as several gossip frames at once; every one is
/// still taken. (gossipsub checks its size limit against all it has read,
/// and a limit near one announcement's size once closed the peer's stream
/// here, losing the burst and all that followed.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_announcements_read_at_once_is_all_taken() -> anyhow::Result<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Barrier, mpsc};
    /// Within a peer's announcement budget, and well over one frame limit.
    const BURST: usize = 30;
    let cluster = cluster(Cluster::configs(1, "announce-burst")).await?;
    let (node, addr) = node_addr(&cluster, 0).await?;
    let modules: Vec<Vec<u8>> = (0..BURST)
        .map(|i| renamed(example(), &format!("burst {i}")))
        .collect();
    let ids: Vec<ModuleId> = modules.iter().map(|m| ModuleId::of(m)).collect();
    let names: Vec<String> = ids.iter().map(ToString::to_string).collect();

    // The peer runs on a thread of its own, so that it keeps sending while
    // the node's runtime is blocked.
    let (ready, peer_ready) = mpsc::channel::<()>();
    let (go, peer_go) = mpsc::channel::<()>();
    let done = Arc::new(AtomicBool::new(false));
    let peer_done = Arc::clone(&done);
    let peer = std::thread::spawn(move || -> anyhow::Result<u64> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let mut swarm = kiln_peer()?;
            let topic = IdentTopic::new(gossip::TOPIC);
            swarm.behaviour_mut().gossipsub.subscribe(&topic)?;
            connect(&mut swarm, node, addr).await?;
            until(&mut swarm, |_, e| match e {
                SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(
                    kiln_netnode::libp2p::gossipsub::Event::Subscribed { peer_id, .. },
                )) if peer_id == node => Some(()),
                _ => None,
            })
            .await?;
            ready.send(())?;
            peer_go.recv()?;
            for (id, module) in ids.iter().zip(&modules) {
                let announce = Announce {
                    id: id.to_string(),
                    size: module.len() as u64,
                };
                let data = serde_json::to_vec(&announce)?;
                swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(topic.clone(), data)?;
            }
            // Serves the node's fetches until the test is done with it.
            let (mut fetches, deadline) = (0u64, Instant::now() + DEADLINE);
            while !peer_done.load(Ordering::Relaxed) && Instant::now() < deadline {
                let Ok(event) =
                    tokio::time::timeout(Duration::from_millis(50), swarm.select_next_some()).await
                else {
                    continue;
                };
                if let Some(request_response::Event::Message {
                    message:
                        request_response::Message::Request {
                            request: WireRequest::Fetch { id },
                            channel,
                            ..
                        },
                    ..
                }) = rr(event)
                {
                    fetches += 1;
                    let response = ids
                        .iter()
                        .position(|i| i.to_string() == id)
                        .map_or(WireResponse::NotFound, |i| {
                            WireResponse::Module(modules[i].clone())
                        });
                    let _ = swarm.behaviour_mut().rr.send_response(channel, response);
                }
            }
            Ok(fetches)
        })
    });

    // Both of the node's worker threads blocked (each task holds one until
    // all three have met), then the burst sent, then the node let go.
    peer_ready.recv()?;
    let barrier = Arc::new(Barrier::new(3));
    let blockers: Vec<_> = (0..2)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait();
                std::thread::sleep(Duration::from_millis(500));
            })
        })
        .collect();
    barrier.wait();
    go.send(())?;
    for blocker in blockers {
        blocker.await?;
    }

    let api = cluster.client(0);
    let all_taken =
        kiln_netnode::cluster::poll_until(DEADLINE, Duration::from_millis(20), || async {
            api.list()
                .await
                .is_ok_and(|list| names.iter().all(|id| list.contains(id)))
        })
        .await;
    done.store(true, Ordering::Relaxed);
    let fetches = peer
        .join()
        .map_err(|_| anyhow::anyhow!("the peer's thread panicked"))??;
    let listed = api.list().await?;
    let taken = names.iter().filter(|id| listed.contains(id)).count();
    anyhow::ensure!(
        all_taken,
        "the node took {taken} of {BURST} modules announced at once ({fetches} fetched)"
    );
    Ok(())
}

/// The node's WebSocket address, with its peer id.
async fn ws_addr(cluster: &Cluster, i: usize) -> anyhow::Result<Multiaddr> {
    use kiln_netnode::libp2p::multiaddr::Protocol;
    let node = &cluster.nodes[i];
    let addr = node
        .shared()
        .status()
        .await
        .listen_addrs
        .into_iter()
        .find(|a| a.iter().any(|p| matches!(p, Protocol::Ws(_))))
        .ok_or_else(|| anyhow::anyhow!("node {i} has no WebSocket address"))?;
    Ok(addr.with(Protocol::P2p(node.peer_id())))
}

/// A peer that joined through the web listener is a browser peer, however
/// it speaks: it may answer jobs and ask for the peer list, nothing else.
/// Its requests are refused, its announcements ignored unfetched; jobs come
/// to it as `Run` with the module rewritten, and its exact answers are read
/// back as native peers write them. Peers beyond `max_browser_peers` are
/// disconnected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_peer_may_only_answer_jobs() -> anyhow::Result<()> {
    let mut configs = Cluster::configs(1, "browser-peer");
    configs[0].web = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    configs[0].max_browser_peers = 1;
    let cluster = cluster(configs).await?;
    let node = cluster.nodes[0].peer_id();
    let ws = ws_addr(&cluster, 0).await?;
    let shared = cluster.nodes[0].shared();
    let mut tab = kiln_peer()?;
    let topic = IdentTopic::new(gossip::TOPIC);
    tab.behaviour_mut().gossipsub.subscribe(&topic)?;
    connect(&mut tab, node, ws.clone()).await?;
    let me = *tab.local_peer_id();
    let listed = kiln_netnode::cluster::poll_until(DEADLINE, Duration::from_millis(20), || async {
        shared.browser_peers() == [me]
    })
    .await;
    anyhow::ensure!(listed, "{:?}", shared.browser_peers());

    // Requests other than the peer list are refused; the module the tab
    // holds is neither fetched nor run.
    let module = example();
    for request in [
        WireRequest::Exec(fib_job(&module, "10")),
        WireRequest::Fetch {
            id: ModuleId::of(&module).to_string(),
        },
        WireRequest::List,
    ] {
        let id = tab.behaviour_mut().rr.send_request(&node, request);
        match answer(&mut tab, id).await? {
            Ok(WireResponse::Error(e)) => {
                anyhow::ensure!(e.contains("browser peer may only"), "{e}")
            }
            other => anyhow::bail!("answered {other:?}"),
        }
    }
    let id = tab
        .behaviour_mut()
        .rr
        .send_request(&node, WireRequest::Peers);
    match answer(&mut tab, id).await? {
        Ok(WireResponse::Peers(peers)) => anyhow::ensure!(
            peers.len() == 1 && peers[0].id == me.to_string() && peers[0].browser,
            "{peers:?}"
        ),
        other => anyhow::bail!("answered {other:?}"),
    }
    // An announcement is ignored: no fetch comes within two seconds.
    let announce = serde_json::to_vec(&Announce {
        id: ModuleId::of(&module).to_string(),
        size: module.len() as u64,
    })?;
    let quiet_until = Instant::now() + Duration::from_secs(2);
    let mut announced = false;
    while Instant::now() < quiet_until {
        if !announced {
            announced = tab
                .behaviour_mut()
                .gossipsub
                .publish(topic.clone(), announce.clone())
                .is_ok();
        }
        if let Ok(event) =
            tokio::time::timeout(Duration::from_millis(100), tab.select_next_some()).await
            && let Some(request_response::Event::Message {
                message: request_response::Message::Request { request, .. },
                ..
            }) = rr(event)
        {
            anyhow::bail!("the node asked a browser peer for {request:?}");
        }
    }
    anyhow::ensure!(shared.store.list()?.is_empty(), "the node stored a module");

    // A job: the node sends it as `Run`, with the module rewritten and the
    // arguments exact, and reads the exact answer back.
    let id = cluster.client(0).publish(&module).await?;
    let mut request = ExecRequest::new(&id, "fib", &["10"]);
    request.replicas = 1;
    let client = cluster.client(0);
    let exec = tokio::spawn(async move { client.exec(&request).await });
    let (run, channel) = until(&mut tab, |_, e| match rr(e) {
        Some(request_response::Event::Message {
            message:
                request_response::Message::Request {
                    request: WireRequest::Run(run),
                    channel,
                    ..
                },
            ..
        }) => Some((run, channel)),
        _ => None,
    })
    .await?;
    anyhow::ensure!(run.job.module == id && run.args == ["i64:10"] && run.results == ["i64"]);
    let rewritten = kiln::Module::new(&kiln::Engine::default(), &run.module)?;
    anyhow::ensure!(rewritten.exports().any(|(name, _)| name == "kiln_fuel"));
    anyhow::ensure!(rewritten.exports().any(|(name, _)| name == "memory"));
    let local = shared.run_local(&run.job).await;
    let mut answer = local.clone();
    answer.outcome = Outcome::Values(vec!["i64:55".into()]);
    let _ = tab
        .behaviour_mut()
        .rr
        .send_response(channel, WireResponse::Result(answer));
    // Keep the tab's side going until the report is in (the request's own
    // timeout bounds it).
    let report = loop {
        if exec.is_finished() {
            break exec.await??;
        }
        let _ = tokio::time::timeout(Duration::from_millis(50), tab.select_next_some()).await;
    };
    anyhow::ensure!(report.majority.as_ref() == Some(&local), "{report:?}");
    let replica = report.replicas.iter().find(|r| r.peer == me.to_string());
    anyhow::ensure!(
        replica.is_some_and(|r| r.browser && r.agrees == Some(true)),
        "{report:?}"
    );

    // A second browser peer is one too many.
    let mut second = kiln_peer()?;
    second.dial(ws)?;
    until(&mut second, |_, e| match e {
        SwarmEvent::ConnectionClosed { peer_id, .. } if peer_id == node => Some(()),
        _ => None,
    })
    .await?;
    anyhow::ensure!(shared.browser_peers() == [me]);
    Ok(())
}
