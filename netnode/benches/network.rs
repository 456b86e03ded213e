//! The peer node on loopback: how long a 1 MiB module takes to reach four
//! peers, and the round trip of a job run on three replicas.
//!
//! Run with `cargo bench -p kiln-netnode --bench network` (about a minute,
//! once built). Every node runs in this process, on 127.0.0.1, each with its
//! own data directory under the system's temporary directory (removed at the
//! end).
//!
//! - `propagate/1MiB-to-4-peers`: from `publish` on one node (validation,
//!   the durable write and the gossip announcement included) until the four
//!   other nodes have fetched, verified, validated and durably stored the
//!   module. Each iteration publishes a new module (the store is
//!   content-addressed, so the same bytes would be a no-op) and, untimed,
//!   deletes it from every data directory afterwards, so that the disk holds
//!   one of them at a time; criterion runs flat samples.
//! - `exec/local` and `exec/replicas-3`: `POST /exec` on one node of four,
//!   `fib(30)` run on that node alone, and on it and three peers with the
//!   results compared; the difference is what replication costs. The module
//!   is on every node beforehand, and the per-peer throttle is lifted so that
//!   criterion's back-to-back requests are not answered `Busy`.

use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use kiln_netnode::api::ExecRequest;
use kiln_netnode::cluster::{Cluster, EXAMPLE_WAT, poll_until};
use kiln_netnode::throttle::ThrottleConfig;
use kiln_netnode::{ModuleId, Outcome};
use tokio::runtime::Runtime;

/// The size of the propagated module's data segment.
const MODULE_DATA_BYTES: usize = 1 << 20;

/// How long any one step may take before the benchmark gives up.
const DEADLINE: Duration = Duration::from_secs(120);

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

fn start_cluster(rt: &Runtime, n: usize, label: &str, throttled: bool) -> Cluster {
    let mut configs = Cluster::configs(n, label);
    if !throttled {
        for c in &mut configs {
            c.throttle = ThrottleConfig {
                burst: 1e9,
                per_second: 1e9,
            };
        }
    }
    rt.block_on(Cluster::start(configs, DEADLINE))
        .expect("the nodes start")
        .expect("the nodes connect to each other in time")
}

/// Appends `n` as an unsigned LEB128.
fn leb(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A section: its id, its size, its contents.
fn section(out: &mut Vec<u8>, id: u8, contents: &[u8]) {
    out.push(id);
    leb(out, contents.len());
    out.extend_from_slice(contents);
}

/// A valid module of one memory and one active data segment of
/// [`MODULE_DATA_BYTES`] pseudo-random bytes, different for every `tag`.
fn big_module(tag: u64) -> Vec<u8> {
    let mut data = Vec::with_capacity(MODULE_DATA_BYTES);
    let mut state = tag.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    while data.len() < MODULE_DATA_BYTES {
        // xorshift64: incompressible enough, and cheap.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(MODULE_DATA_BYTES);
    let pages = MODULE_DATA_BYTES.div_ceil(65536);

    let mut module = b"\0asm\x01\0\0\0".to_vec();
    let mut memory = vec![1, 0x00]; // one memory, no maximum
    leb(&mut memory, pages);
    section(&mut module, 5, &memory);
    // One active segment for memory 0 at `i32.const 0`.
    let mut segments = vec![1, 0x00, 0x41, 0x00, 0x0b];
    leb(&mut segments, data.len());
    segments.extend_from_slice(&data);
    section(&mut module, 11, &segments);
    module
}

fn propagate(c: &mut Criterion) {
    let rt = runtime();
    let cluster = start_cluster(&rt, 5, "bench-propagate", true);
    let mut tag = 0u64;
    let mut group = c.benchmark_group("propagate");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Bytes(big_module(0).len() as u64));
    group.bench_function("1MiB-to-4-peers", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                tag += 1;
                let module = big_module(tag);
                let id = ModuleId::of(&module);
                total += rt.block_on(async {
                    let started = Instant::now();
                    let (published, _) = cluster.nodes[0]
                        .shared()
                        .publish(module)
                        .await
                        .expect("the origin accepts the module");
                    assert_eq!(published, id);
                    let everywhere = poll_until(DEADLINE, Duration::from_millis(1), || async {
                        cluster.nodes[1..]
                            .iter()
                            .all(|n| n.shared().store.contains(&id))
                    })
                    .await;
                    assert!(everywhere, "the module did not reach four peers in time");
                    started.elapsed()
                });
                for dir in &cluster.dirs {
                    let _ = std::fs::remove_file(dir.join("modules").join(format!("{id}.wasm")));
                }
            }
            total
        });
    });
    group.finish();
    cluster.shutdown();
}

fn exec(c: &mut Criterion) {
    let rt = runtime();
    let cluster = start_cluster(&rt, 4, "bench-exec", false);
    let module = kiln::wat2wasm(EXAMPLE_WAT.as_bytes())
        .expect("the example module encodes")
        .into_owned();
    let client = cluster.client(0);
    let id = rt
        .block_on(client.publish(&module))
        .expect("the example module is published");
    let everywhere = rt.block_on(poll_until(DEADLINE, Duration::from_millis(10), || {
        let id = id.parse::<ModuleId>();
        let nodes = &cluster.nodes;
        async move { id.is_ok_and(|id| nodes.iter().all(|n| n.shared().store.contains(&id))) }
    }));
    assert!(everywhere, "the example module did not reach every node");

    let expected = Outcome::Values(vec!["832040".into()]);
    let mut group = c.benchmark_group("exec");
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    for replicas in [0, 3] {
        let name = if replicas == 0 {
            "local".to_string()
        } else {
            format!("replicas-{replicas}")
        };
        let mut request = ExecRequest::new(&id, "fib", &["30"]);
        request.replicas = replicas;
        request.fuel = 1_000_000;
        group.bench_function(name, |b| {
            b.iter(|| {
                let report = rt
                    .block_on(client.exec(&request))
                    .expect("the node answers");
                assert_eq!(report.replicas.len(), replicas + 1, "{report:?}");
                assert!(
                    report.disagreeing.is_empty() && report.unanswered.is_empty(),
                    "{report:?}"
                );
                assert_eq!(report.majority.map(|m| m.outcome).as_ref(), Some(&expected));
            });
        });
    }
    group.finish();
    cluster.shutdown();
}

criterion_group!(benches, propagate, exec);
criterion_main!(benches);
