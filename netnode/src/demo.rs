//! `kiln-node demo`: three nodes in this process, one faulty; a module
//! published from one, a replicated job run from another, the faulty node
//! named. Every step is printed and checked.

use std::time::{Duration, Instant};

use kiln_netnode::api::ExecRequest;
use kiln_netnode::cluster::{Cluster, EXAMPLE_WAT, poll_until};

/// Runs the demo, printing each step. Returns whether everything held.
///
/// # Errors
///
/// A node that fails to start or an API call that fails.
pub async fn run() -> anyhow::Result<bool> {
    let mut ok = true;
    let mut check = |held: bool, what: &str| {
        println!("  [{}] {what}", if held { "ok" } else { "FAILED" });
        ok &= held;
    };
    println!("1. starting three nodes on 127.0.0.1 (node-2 is started with --faulty)");
    let mut configs = Cluster::configs(3, "demo");
    configs[2].faulty = true;
    let Some(cluster) = Cluster::start(configs, Duration::from_secs(60)).await? else {
        check(false, "the three nodes connected to each other within 60 s");
        return Ok(false);
    };
    let names = ["node-0", "node-1", "node-2"];
    for (i, node) in cluster.nodes.iter().enumerate() {
        println!(
            "  {}: peer {} api http://{}",
            names[i],
            node.peer_id(),
            node.api_addr()
        );
    }
    check(
        true,
        "every node sees the two others (connections and gossip)",
    );

    println!("2. node-0 publishes the example module");
    let module = kiln::wat2wasm(EXAMPLE_WAT.as_bytes())?.into_owned();
    let started = Instant::now();
    let id = cluster.client(0).publish(&module).await?;
    println!("  module {id} ({} bytes)", module.len());
    for (i, name) in names.iter().enumerate().skip(1) {
        let client = cluster.client(i);
        let id = id.clone();
        let arrived = poll_until(Duration::from_secs(60), Duration::from_millis(20), || {
            let (client, id) = (client.clone(), id.clone());
            async move { client.list().await.is_ok_and(|l| l.contains(&id)) }
        })
        .await;
        check(
            arrived,
            &format!(
                "{name} fetched, verified and validated it ({} ms after publishing)",
                started.elapsed().as_millis()
            ),
        );
    }

    println!("3. node-1 runs fib(90) on itself and two replicas");
    let mut request = ExecRequest::new(&id, "fib", &["90"]);
    request.replicas = 2;
    request.fuel = 1_000_000;
    let report = cluster.client(1).exec(&request).await?;
    for r in &report.replicas {
        let name = cluster
            .nodes
            .iter()
            .position(|n| n.peer_id().to_string() == r.peer)
            .map_or("?", |i| names[i]);
        match &r.result {
            Some(result) => println!(
                "  {name}{}: {:?}, fuel {}, {} ms, {}",
                if r.local { " (local)" } else { "" },
                result.outcome,
                result.fuel_used,
                r.latency_ms,
                match r.agrees {
                    Some(true) => "agrees with the majority",
                    Some(false) => "DISAGREES with the majority",
                    None => "no majority",
                }
            ),
            None => println!("  {name}: no result ({})", r.error.as_deref().unwrap_or("")),
        }
    }
    let expected = kiln_netnode::Outcome::Values(vec!["2880067194370816120".into()]);
    check(report.replicas.len() == 3, "three replicas answered");
    check(
        report
            .majority
            .as_ref()
            .is_some_and(|m| m.outcome == expected),
        "the majority result is fib(90) = 2880067194370816120",
    );
    let faulty = cluster.nodes[2].peer_id().to_string();
    check(
        report.disagreeing == [faulty.clone()],
        &format!("the faulty node is detected: node-2 ({faulty})"),
    );
    cluster.shutdown();
    println!("{}", if ok { "demo passed" } else { "demo FAILED" });
    Ok(ok)
}
