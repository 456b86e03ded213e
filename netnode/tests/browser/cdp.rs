//! Headless Chromium driven through its DevTools protocol: launch, open and
//! close tabs, evaluate JavaScript in a tab, take a screenshot. Bounded waits
//! and loopback only.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// How long one DevTools command may take.
const COMMAND_DEADLINE: Duration = Duration::from_secs(60);

/// The Chromium to drive: `$KILN_CHROMIUM`, or `chromium` on the `PATH`.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KILN_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromium"))
            .find(|p| p.is_file())
    })
}

/// A headless Chromium, killed (with its profile removed) when dropped.
pub struct Browser {
    child: Child,
    profile: PathBuf,
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

/// A tab of a [`Browser`].
#[derive(Debug, Clone)]
pub struct Tab {
    target: String,
    session: String,
}

impl Browser {
    /// Starts `chromium` headless with a fresh profile in `profile`.
    pub fn launch(chromium: &Path, profile: PathBuf) -> anyhow::Result<Browser> {
        std::fs::create_dir_all(&profile)?;
        let mut child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1200,900",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", chromium.display()))?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                bail!("chromium did not print its DevTools address within 60 s");
            }
        };
        let (socket, _) = tungstenite::connect(url.as_str())?;
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream.set_read_timeout(Some(Duration::from_secs(1)))?;
        }
        Ok(Browser {
            child,
            profile,
            socket,
            next_id: 1,
        })
    }

    /// Sends a command (to a tab's session, or to the browser) and returns
    /// its result.
    pub fn command(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::Text(message.to_string().into()))?;
        let deadline = Instant::now() + COMMAND_DEADLINE;
        while Instant::now() < deadline {
            let text = match self.socket.read() {
                Ok(Message::Text(text)) => text,
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let reply: Value = serde_json::from_str(text.as_str())?;
            if reply["id"] != json!(id) {
                continue; // an event, or another command's reply
            }
            if let Some(error) = reply.get("error") {
                bail!("{method}: {error}");
            }
            return Ok(reply["result"].clone());
        }
        bail!("{method}: no reply within {COMMAND_DEADLINE:?}")
    }

    /// Opens `url` in a new tab.
    pub fn open(&mut self, url: &str) -> anyhow::Result<Tab> {
        let created = self.command(None, "Target.createTarget", json!({ "url": url }))?;
        let target = created["targetId"]
            .as_str()
            .ok_or_else(|| anyhow!("no targetId"))?
            .to_string();
        let attached = self.command(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        )?;
        let session = attached["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no sessionId"))?
            .to_string();
        Ok(Tab { target, session })
    }

    /// Closes a tab (its page goes away as if the user closed it).
    pub fn close(&mut self, tab: &Tab) -> anyhow::Result<()> {
        self.command(
            None,
            "Target.closeTarget",
            json!({ "targetId": tab.target }),
        )
        .map(drop)
    }

    /// Evaluates `expression` in `tab` (awaiting a promise) and returns its
    /// value as JSON.
    pub fn eval(&mut self, tab: &Tab, expression: &str) -> anyhow::Result<Value> {
        let result = self.command(
            Some(&tab.session),
            "Runtime.evaluate",
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
        )?;
        if let Some(exception) = result.get("exceptionDetails") {
            bail!("{expression}: {exception}");
        }
        Ok(result["result"]["value"].clone())
    }

    /// Evaluates `expression` in `tab` every 100 ms until it is true, for
    /// at most `timeout`.
    pub fn wait_for(
        &mut self,
        tab: &Tab,
        expression: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.eval(tab, expression)? == json!(true) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("{expression} not true within {timeout:?}")
    }

    /// A PNG of `tab`'s page.
    pub fn screenshot(&mut self, tab: &Tab) -> anyhow::Result<Vec<u8>> {
        let shot = self.command(
            Some(&tab.session),
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true }),
        )?;
        let data = shot["data"].as_str().ok_or_else(|| anyhow!("no data"))?;
        use base64::Engine as _;
        Ok(base64::engine::general_purpose::STANDARD.decode(data)?)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
