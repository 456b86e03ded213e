//! `kiln-node` as an operator runs it: a child process killed with SIGKILL
//! and started again on the same data directory keeps its identity and its
//! modules, still verified; a half-written or corrupted file is never
//! served. A second node started with `--peer` pulls the modules from it.

use std::time::Duration;

use kiln_netnode::api::ExecRequest;
use kiln_netnode::client::Client;
use kiln_netnode::cluster::{EXAMPLE_WAT, fresh_dir, poll_until};
use kiln_netnode::{ModuleId, Outcome};

mod common;
use common::{DEADLINE, start};

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
