//! Several nodes in one process on 127.0.0.1, driven through their HTTP API:
//! propagation, fetch, replicated execution, faulty-node detection, and bad
//! input through the API. Every wait is a poll with a deadline.

use std::time::Duration;

use kiln_netnode::api::ExecRequest;
use kiln_netnode::client::{ApiError, Client};
use kiln_netnode::cluster::{Cluster, EXAMPLE_WAT, poll_until};
use kiln_netnode::store::sha256_hex;
use kiln_netnode::{NodeConfig, Outcome};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Generous: the CI machine has two cores and runs other tests beside these.
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

async fn wait_for_module(client: &Client, id: &str) -> bool {
    poll_until(DEADLINE, Duration::from_millis(20), || async {
        client.list().await.is_ok_and(|l| l.iter().any(|m| m == id))
    })
    .await
}

fn values(v: &[&str]) -> Option<Outcome> {
    Some(Outcome::Values(v.iter().map(|s| s.to_string()).collect()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_propagate_and_replicas_agree() -> anyhow::Result<()> {
    let cluster = cluster(Cluster::configs(4, "propagate")).await?;
    let module = example();
    let id = cluster.client(0).publish(&module).await?;
    for i in 1..4 {
        assert!(
            wait_for_module(&cluster.client(i), &id).await,
            "node {i} never got the module"
        );
        // What a node fetched is byte-for-byte what was published.
        assert_eq!(cluster.client(i).module(&id).await?, module);
    }

    // Node 3 runs fib(90) on itself and three replicas.
    let mut request = ExecRequest::new(&id, "fib", &["90"]);
    request.replicas = 3;
    let report = cluster.client(3).exec(&request).await?;
    assert_eq!(report.replicas.len(), 4);
    assert!(report.replicas[0].local);
    let majority = report.majority.as_ref().map(|m| m.outcome.clone());
    assert_eq!(majority, values(&["2880067194370816120"]));
    assert!(report.replicas.iter().all(|r| r.agrees == Some(true)));
    assert!(report.disagreeing.is_empty() && report.unanswered.is_empty());

    // The host API and an out-of-fuel trap agree everywhere too, output hash
    // and fuel included; replicas only, no local run.
    let mut request = ExecRequest::new(&id, "reverse", &[]);
    request.replicas = 3;
    request.local = false;
    request.input_hex = kiln_netnode::store::hex(b"replicated");
    let report = cluster.client(0).exec(&request).await?;
    assert_eq!(report.replicas.len(), 3);
    let majority = report.majority.as_ref();
    assert_eq!(
        majority.map(|m| m.output_sha256.clone()),
        Some(sha256_hex(b"detacilper"))
    );
    assert!(report.replicas.iter().all(|r| r.agrees == Some(true)));
    let mut request = ExecRequest::new(&id, "spin", &[]);
    request.replicas = 2;
    request.fuel = 20_000;
    let report = cluster.client(1).exec(&request).await?;
    let trap = report.majority.as_ref().map(|m| m.outcome.clone());
    assert_eq!(trap, Some(Outcome::Trap("out of fuel".into())));
    assert!(report.replicas.iter().all(|r| r.agrees == Some(true)));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_faulty_node_is_named() -> anyhow::Result<()> {
    let mut configs = Cluster::configs(5, "faulty");
    configs[4].faulty = true;
    let cluster = cluster(configs).await?;
    let id = cluster.client(0).publish(&example()).await?;
    let mut request = ExecRequest::new(&id, "fib", &["50"]);
    request.replicas = 4;
    // Replicas without the module fetch it from the node that asks.
    let report = cluster.client(0).exec(&request).await?;
    assert_eq!(report.replicas.len(), 5);
    let majority = report.majority.as_ref().map(|m| m.outcome.clone());
    assert_eq!(majority, values(&["12586269025"]));
    assert_eq!(report.disagreeing, [cluster.nodes[4].peer_id().to_string()]);
    let liar = report.replicas.iter().find(|r| r.agrees == Some(false));
    let lie = liar
        .and_then(|r| r.result.as_ref())
        .map(|r| r.outcome.clone());
    assert_eq!(lie, values(&["12586269026"]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_lied_too_often_is_no_longer_asked() -> anyhow::Result<()> {
    let mut configs = Cluster::configs(4, "liar");
    configs[3].faulty = true;
    configs[0].exclude_after = 2;
    let cluster = cluster(configs).await?;
    let liar = cluster.nodes[3].peer_id().to_string();
    let id = cluster.client(0).publish(&example()).await?;
    let mut request = ExecRequest::new(&id, "fib", &["30"]);
    request.replicas = 3;
    for round in 1..=2 {
        let report = cluster.client(0).exec(&request).await?;
        assert_eq!(
            report.disagreeing,
            std::slice::from_ref(&liar),
            "round {round}"
        );
        assert!(report.excluded.is_empty(), "round {round}");
    }
    // Past the threshold: not asked, and the honest replicas still agree.
    let report = cluster.client(0).exec(&request).await?;
    assert_eq!(report.excluded, std::slice::from_ref(&liar));
    assert!(report.replicas.iter().all(|r| r.peer != liar));
    assert_eq!(
        report.replicas.len(),
        3,
        "the local run and the two honest peers"
    );
    assert!(report.disagreeing.is_empty());
    assert_eq!(report.majority.map(|m| m.outcome), values(&["832040"]));
    let status = cluster.client(0).status().await?;
    assert_eq!(status["wrong_answers"][&liar], 2);
    // Remembered across a restart: the file a restarted node reads.
    let scores = kiln_netnode::scores::PeerScores::open(&cluster.dirs[0], 2);
    assert!(scores.excluded(&liar));
    // Another node, which saw no lie, still asks it.
    let report = cluster.client(1).exec(&request).await?;
    assert!(report.excluded.is_empty());
    assert_eq!(report.disagreeing, [liar]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_through_the_api_is_refused() -> anyhow::Result<()> {
    let mut configs = Cluster::configs(2, "badapi");
    for c in &mut configs {
        c.max_module_bytes = 4096;
    }
    let cluster = cluster(configs).await?;
    let client = cluster.client(0);
    let status = |e: Result<String, ApiError>| match e {
        Err(ApiError::Status { status, .. }) => status,
        _ => 0,
    };
    // Fails validation.
    let invalid = kiln::wat2wasm(b"(module (func (result i32) i64.const 0))")?.into_owned();
    assert_eq!(status(client.publish(&invalid).await), 400);
    // Not a module at all, and not text either.
    assert_eq!(
        status(client.publish(b"\0asm\x01\0\0\0\xff\xff").await),
        400
    );
    assert_eq!(status(client.publish(b"(module").await), 400);
    // Imports outside the host API.
    let clock = br#"(module (import "env" "clock" (func)))"#;
    assert_eq!(status(client.publish(clock).await), 400);
    // Over the cap: a data segment of 8 KiB.
    let big = format!(
        "(module (memory 1) (data (i32.const 0) \"{}\"))",
        "x".repeat(8192)
    );
    assert_eq!(status(client.publish(big.as_bytes()).await), 413);
    // Nothing refused was stored.
    assert!(client.list().await?.is_empty());

    // Unknown ids, malformed ids.
    let unknown = "0".repeat(64);
    let code = |r: Result<_, ApiError>| match r {
        Err(ApiError::Status { status, .. }) => status,
        _ => 0,
    };
    assert_eq!(code(client.module(&unknown).await.map(drop)), 404);
    assert_eq!(code(client.module("xyz").await.map(drop)), 400);
    let exec = ExecRequest::new(&unknown, "f", &[]);
    assert_eq!(code(client.exec(&exec).await.map(drop)), 404);
    assert_eq!(
        code(client.raw("POST", "/exec", b"{not json").await.map(drop)),
        400
    );
    assert_eq!(
        code(client.raw("GET", "/nowhere", b"").await.map(drop)),
        404
    );
    assert_eq!(
        code(client.raw("DELETE", "/modules", b"").await.map(drop)),
        405
    );

    // Garbage and over-sized requests on the API's socket.
    let mut garbage = tokio::net::TcpStream::connect(client.addr).await?;
    garbage
        .write_all(b"\x16\x03\x01 not http at all\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    garbage.read_to_end(&mut answer).await?;
    assert!(answer.starts_with(b"HTTP/1.1 400"));
    let mut huge = tokio::net::TcpStream::connect(client.addr).await?;
    huge.write_all(b"POST /modules HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    huge.read_to_end(&mut answer).await?;
    assert!(answer.starts_with(b"HTTP/1.1 413"));
    // A client that sends half a head and goes away.
    let mut half = tokio::net::TcpStream::connect(client.addr).await?;
    half.write_all(b"GET /sta").await?;
    drop(half);

    // The node still works.
    let small = client
        .publish(b"(module (func (export \"one\") (result i32) i32.const 1))")
        .await?;
    assert!(wait_for_module(&cluster.client(1), &small).await);
    let mut request = ExecRequest::new(&small, "one", &[]);
    request.replicas = 1;
    let report = client.exec(&request).await?;
    assert_eq!(report.majority.map(|m| m.outcome), values(&["1"]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_off_loopback_needs_a_token() -> anyhow::Result<()> {
    let mut config = NodeConfig::new(kiln_netnode::cluster::fresh_dir("token"));
    config.api = "0.0.0.0:0".parse()?;
    assert!(kiln_netnode::Node::start(config.clone()).await.is_err());

    // With a token (on loopback here, to stay off the network), requests
    // without it or with a wrong one are refused.
    config.api = "127.0.0.1:0".parse()?;
    config.api_token = Some("s3cret".into());
    let node = kiln_netnode::Node::start(config.clone()).await?;
    let mut client = Client::new(node.api_addr());
    assert!(matches!(
        client.status().await,
        Err(ApiError::Status { status: 401, .. })
    ));
    client.token = Some("wrong".into());
    assert!(client.status().await.is_err());
    client.token = Some("s3cret".into());
    assert!(client.status().await.is_ok());
    node.shutdown();
    let _ = std::fs::remove_dir_all(&config.data_dir);
    Ok(())
}
