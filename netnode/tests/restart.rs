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

/// Limits the files the child may write to `bytes` (`RLIMIT_FSIZE`), with
/// `SIGXFSZ` ignored so that a write past it fails with `EFBIG` as on a full
/// disk, instead of killing the process.
fn file_size_limit(command: &mut std::process::Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the closure calls only async-signal-safe
    // functions (`signal`, `setrlimit`), on no state shared with the parent.
    unsafe {
        command.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Makes `dir`'s module store read-only for the child: its `modules`
/// directory loses its write permission bits. Root ignores those, so a test
/// run as root runs the child as `nobody` (uid and gid 65534), owning the
/// rest of the data directory, which it must still read (its key).
fn read_only_store(
    dir: &std::path::Path,
) -> anyhow::Result<impl FnOnce(&mut std::process::Command)> {
    use std::os::unix::fs::PermissionsExt;
    const NOBODY: u32 = 65534;
    // SAFETY: `geteuid` has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        for entry in walk(dir)? {
            std::os::unix::fs::chown(&entry, Some(NOBODY), Some(NOBODY))?;
        }
    }
    std::fs::set_permissions(dir.join("modules"), std::fs::Permissions::from_mode(0o555))?;
    Ok(move |command: &mut std::process::Command| {
        use std::os::unix::process::CommandExt;
        if root {
            command.uid(NOBODY).gid(NOBODY);
        }
    })
}

/// `dir` and every file and directory beneath it.
fn walk(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut all = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < all.len() {
        if all[i].is_dir() {
            for entry in std::fs::read_dir(&all[i])? {
                all.push(entry?.path());
            }
        }
        i += 1;
    }
    Ok(all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_on_a_full_disk_keeps_serving() -> anyhow::Result<()> {
    let dir = fresh_dir("full-disk");
    let (id, module) = publish_example(&dir).await?;
    // Started again where no file can grow: a full disk.
    let node = common::start_with(&dir, &[], |c| file_size_limit(c, 0))?;
    cannot_write_but_serves(node, &id, &module).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_on_a_read_only_store_keeps_serving() -> anyhow::Result<()> {
    let dir = fresh_dir("read-only");
    let (id, module) = publish_example(&dir).await?;
    let node = common::start_with(&dir, &[], read_only_store(&dir)?)?;
    cannot_write_but_serves(node, &id, &module).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Starts a node on `dir`, publishes the example module and stops the node.
async fn publish_example(dir: &std::path::Path) -> anyhow::Result<(String, Vec<u8>)> {
    let first = start(dir, &[])?;
    let module = kiln::wat2wasm(EXAMPLE_WAT.as_bytes())?.into_owned();
    let id = Client::new(first.api).publish(&module).await?;
    drop(first);
    Ok((id, module))
}

/// `node` refuses a new module with a clear 507 and still lists, serves and
/// runs the module `id` it has.
async fn cannot_write_but_serves(
    node: common::NodeProcess,
    id: &str,
    module: &[u8],
) -> anyhow::Result<()> {
    let client = Client::new(node.api);
    let refused = client
        .publish(b"(module (func (export \"two\") (result i32) i32.const 2))")
        .await;
    let message = match refused {
        Err(e) => e.to_string(),
        Ok(id) => anyhow::bail!("a module was acknowledged by a node that cannot write: {id}"),
    };
    assert!(
        message.contains("507") && message.contains("disk full or read-only"),
        "{message}"
    );
    // What it has, it still serves and runs.
    assert_eq!(client.list().await?, [id.to_string()]);
    assert_eq!(client.module(id).await?, module);
    let report = client.exec(&ExecRequest::new(id, "fib", &["12"])).await?;
    assert_eq!(
        report.majority.map(|m| m.outcome),
        Some(Outcome::Values(vec!["144".into()]))
    );
    client.status().await?;
    drop(node);
    Ok(())
}
