//! A node killed with SIGKILL a hundred times, at random moments while it
//! publishes, fetches from a peer and executes, and restarted on the same
//! data directory each time. After every restart: every module it
//! acknowledged is listed and served intact, every stored module hashes to
//! its name, no temporary file is left, and it rejoins its peer.
//!
//! The moments come from a seeded generator; the seed is printed, and
//! `KILN_CRASH_SEED=N` replays a run. `KILN_CRASH_ROUNDS=N` changes the count.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiln_netnode::api::ExecRequest;
use kiln_netnode::client::Client;
use kiln_netnode::cluster::{EXAMPLE_WAT, fresh_dir, poll_until};
use kiln_netnode::{ModuleId, store::sha256_hex};

mod common;
use common::{DEADLINE, NodeProcess, start};

/// The modules the node acknowledged: id and bytes, in order.
type Acked = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A small deterministic generator (xorshift64*), for reproducible kills.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

/// A module no other round publishes: a function returning `n`.
fn module(n: u64) -> Vec<u8> {
    let text = format!("(module (func (export \"v\") (result i64) i64.const {n}))");
    kiln::wat2wasm(text.as_bytes())
        .expect("valid text")
        .into_owned()
}

/// Checks the restarted node (process `pid`): `acked` all listed and served
/// intact, every file in its store intact, no temporary file of an earlier
/// process (the node's own may be in flight: it fetches from its peer).
async fn check_store(
    client: &Client,
    dir: &std::path::Path,
    acked: &[(String, Vec<u8>)],
    round: u64,
    pid: u32,
) -> anyhow::Result<()> {
    let listed: std::collections::HashSet<String> = client.list().await?.into_iter().collect();
    for (id, _) in acked {
        anyhow::ensure!(
            listed.contains(id),
            "round {round}: acknowledged module {id} missing"
        );
    }
    // Served intact: the last 50 acknowledged (the ones written just before
    // the kill) and every 37th of the rest (the files' hashes are all
    // checked below).
    let recent = acked.len().saturating_sub(50);
    for (i, (id, bytes)) in acked.iter().enumerate() {
        if i >= recent || i % 37 == 0 {
            anyhow::ensure!(
                &client.module(id).await? == bytes,
                "round {round}: module {id} served changed"
            );
        }
    }
    for entry in std::fs::read_dir(dir.join("modules"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        // `.tmp-<id>-<pid>-<n>`: the writer's process id.
        let writer = name
            .strip_prefix(".tmp-")
            .and_then(|rest| rest.split('-').nth(1));
        anyhow::ensure!(
            writer.is_none_or(|w| w == pid.to_string()),
            "round {round}: temporary file {name} left behind"
        );
        if let Some(id) = name.strip_suffix(".wasm") {
            let bytes = std::fs::read(dir.join("modules").join(&name))?;
            anyhow::ensure!(
                sha256_hex(&bytes) == id,
                "round {round}: stored module {name} fails its hash"
            );
        }
    }
    Ok(())
}

/// Whether `peer`'s status lists `id` among its connected peers.
async fn connected(client: &Client, id: &str) -> bool {
    client.status().await.is_ok_and(|s| {
        s["peers"]
            .as_array()
            .is_some_and(|peers| peers.iter().any(|p| p == id))
    })
}

/// The work a round puts on node `a` (and its peer `b`) until it is killed:
/// publishing to `a` (recorded in `acked` once acknowledged), publishing to
/// `b` (which `a` then fetches), and executing on `a`.
fn load(a: &NodeProcess, b: &Client, round: u64, acked: &Acked) {
    let client = Client::new(a.api);
    let acked = Arc::clone(acked);
    tokio::spawn(async move {
        for i in 0..1000 {
            let bytes = module(round * 1000 + i);
            match client.publish(&bytes).await {
                Ok(id) => acked.lock().expect("not poisoned").push((id, bytes)),
                Err(_) => return,
            }
        }
    });
    let b = b.clone();
    tokio::spawn(async move {
        for i in 0..20 {
            let _ = b.publish(&module(1_000_000 + round * 100 + i)).await;
        }
    });
    let client = Client::new(a.api);
    let fib = ModuleId::of(&kiln::wat2wasm(EXAMPLE_WAT.as_bytes()).expect("valid")).to_string();
    tokio::spawn(async move {
        for _ in 0..50 {
            if client
                .exec(&ExecRequest::new(&fib, "fib", &["20"]))
                .await
                .is_err()
            {
                return;
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_a_hundred_times_loses_nothing() -> anyhow::Result<()> {
    let seed = env_number("KILN_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let rounds = env_number("KILN_CRASH_ROUNDS").unwrap_or(100);
    eprintln!("crash loop: seed {seed} (KILN_CRASH_SEED), {rounds} rounds");
    let mut rng = Rng(seed | 1);

    let dir_a = fresh_dir("crash-a");
    let dir_b = fresh_dir("crash-b");
    let b = start(&dir_b, &[])?;
    let client_b = Client::new(b.api);
    let example = kiln::wat2wasm(EXAMPLE_WAT.as_bytes())?.into_owned();
    let acked: Acked = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut peer_a = None;
    for round in 0..=rounds {
        let a = start(&dir_a, &[&b.listen])?;
        let client = Client::new(a.api);
        if let Some(peer) = &peer_a {
            anyhow::ensure!(
                &a.peer == peer,
                "round {round}: the node's identity changed"
            );
        }
        peer_a = Some(a.peer.clone());
        let snapshot = acked.lock().expect("not poisoned").clone();
        check_store(&client, &dir_a, &snapshot, round, a.child.id()).await?;
        let rejoined = poll_until(DEADLINE, Duration::from_millis(10), || async {
            connected(&client, &b.peer).await && connected(&client_b, &a.peer).await
        })
        .await;
        anyhow::ensure!(rejoined, "round {round}: the node never rejoined its peer");
        if round == rounds {
            break;
        }
        if round == 0 {
            let id = client.publish(&example).await?;
            acked
                .lock()
                .expect("not poisoned")
                .push((id, example.clone()));
        }
        load(&a, &client_b, round, &acked);
        tokio::time::sleep(Duration::from_millis(rng.below(250))).await;
        drop(a); // SIGKILL, whatever it was doing
    }
    let total = acked.lock().expect("not poisoned").len();
    eprintln!(
        "crash loop: {rounds} kills in {:.1?}, {total} acknowledged modules kept",
        started.elapsed()
    );
    anyhow::ensure!(
        total > rounds as usize,
        "too little was published to test anything"
    );
    drop(b);
    let _ = std::fs::remove_dir_all(&dir_a);
    let _ = std::fs::remove_dir_all(&dir_b);
    Ok(())
}
