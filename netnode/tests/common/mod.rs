//! `kiln-node start` as a child process, for the tests that kill it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a test waits for a node to start or catch up.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// A `kiln-node start` child process, killed when dropped.
pub struct NodeProcess {
    pub child: Child,
    pub peer: String,
    pub listen: String,
    pub api: SocketAddr,
    /// The browser page's address, with `--web`.
    pub web: Option<SocketAddr>,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `kiln-node start` on `dir` and reads the addresses it prints.
pub fn start(dir: &Path, peers: &[&str]) -> anyhow::Result<NodeProcess> {
    start_with(dir, peers, |_| {})
}

/// [`start`], with the command adjusted by `configure` (which may add
/// arguments of `start`).
pub fn start_with(
    dir: &Path,
    peers: &[&str],
    configure: impl FnOnce(&mut Command),
) -> anyhow::Result<NodeProcess> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kiln-node"));
    command
        .args(["start", "--quiet", "--api", "127.0.0.1:0", "--data-dir"])
        .arg(dir);
    for peer in peers {
        command.args(["--peer", peer]);
    }
    configure(&mut command);
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
        web: None,
    };
    while process.api.port() == 0 {
        let line = rx.recv_timeout(DEADLINE)?;
        if let Some(peer) = line.strip_prefix("peer ") {
            process.peer = peer.to_string();
        } else if let Some(addr) = line.strip_prefix("listen ") {
            // The TCP address, not the WebSocket one (for browsers).
            if !addr.contains("/ws/") {
                process.listen = addr.to_string();
            }
        } else if let Some(web) = line.strip_prefix("web http://") {
            process.web = Some(web.trim_end_matches('/').parse()?);
        } else if let Some(api) = line.strip_prefix("api http://") {
            process.api = api.parse()?;
        }
    }
    Ok(process)
}
