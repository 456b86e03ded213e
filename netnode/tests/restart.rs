//! `kiln-node` as an operator runs it: a child process killed with SIGKILL
//! and started again on the same data directory keeps its identity and its
//! modules, still verified; a half-written or corrupted file is never
//! served. A second node started with `--peer` pulls the modules from it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use kiln_netnode::api::ExecRequest;
use kiln_netnode::client::Client;
use kiln_netnode::cluster::{EXAMPLE_WAT, fresh_dir, poll_until};
use kiln_netnode::{ModuleId, Outcome};

const DEADLINE: Duration = Duration::from_secs(90);

/// A `kiln-node start` child process, killed when dropped.
struct NodeProcess {
    child: Child,
    peer: String,
    listen: String,
    api: SocketAddr,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `kiln-node start` on `dir` and reads the addresses it prints.
fn start(dir: &Path, peers: &[&str]) -> anyhow::Result<NodeProcess> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kiln-node"));
    command
        .args(["start", "--quiet", "--api", "127.0.0.1:0", "--data-dir"])
        .arg(dir);
    for peer in peers {
        command.args(["--peer", peer]);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut process = NodeProcess {
        child,
        peer: String::new(),
        listen: String::new(),
        api: SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    while process.api.port() == 0 {
        let line = rx.recv_timeout(DEADLINE)?;
        if let Some(peer) = line.strip_prefix("peer ") {
            process.peer = peer.to_string();
        } else if let Some(addr) = line.strip_prefix("listen ") {
            process.listen = addr.to_string();
        } else if let Some(api) = line.strip_prefix("api http://") {
            process.api = api.parse()?;
        }
    }
    Ok(process)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_restarts_with_its_modules() -> anyhow::Result<()> {
    let dir = fresh_dir("restart");
    let first = start(&dir, &[])?;
    let client = Client::new(first.api);
    let module = kiln::wat2wasm(EXAMPLE_WAT.as_bytes())?.into_owned();
    let id = client.publish(&module).await?;
    let other = client
        .publish(b"(module (func (export \"two\") (result i32) i32.const 2))")
        .await?;
    let peer = first.peer.clone();
    drop(first); // SIGKILL: no chance to clean up

    // What a crash mid-write leaves: a temporary file; and a module file
    // damaged on disk.
    let modules = dir.join("modules");
    let partial = ModuleId::of(b"never acknowledged");
    std::fs::write(modules.join(format!(".tmp-{partial}-1-0")), b"never ack")?;
    std::fs::write(modules.join(format!("{other}.wasm")), b"\0asm damaged")?;

    let second = start(&dir, &[])?;
    assert_eq!(second.peer, peer, "the key persists");
    let client = Client::new(second.api);
    assert_eq!(
        client.list().await?,
        std::slice::from_ref(&id),
        "the damaged file is not listed"
    );
    assert_eq!(client.module(&id).await?, module);
    let report = client.exec(&ExecRequest::new(&id, "fib", &["12"])).await?;
    assert_eq!(
        report.majority.map(|m| m.outcome),
        Some(Outcome::Values(vec!["144".into()]))
    );
    let leftovers: Vec<_> = std::fs::read_dir(&modules)?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files are cleaned up");

    // A new node given the restarted one as --peer pulls its modules.
    let dir2 = fresh_dir("restart-peer");
    let third = start(&dir2, &[&second.listen])?;
    let client3 = Client::new(third.api);
    let synced = poll_until(DEADLINE, Duration::from_millis(20), || async {
        client3.list().await.is_ok_and(|l| l.contains(&id))
    })
    .await;
    assert!(synced, "the new peer never pulled the module");
    drop(third);
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&dir2);
    Ok(())
}
