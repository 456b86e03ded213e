//! Browser peers end to end, in headless Chromium (Debian's `chromium`, or
//! `$KILN_CHROMIUM`): a node serves the page with `--web`, tabs join as
//! peers, and replicated jobs run on native nodes and tabs alike.
//!
//! Without a Chromium the browser test skips, except under `CI=true`, where
//! it fails (`.ci/run` installs one). `KILN_BROWSER_SCREENSHOT=FILE` saves
//! the page of a tab that has run jobs.

mod cdp;
#[path = "../common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail, ensure};
use kiln_netnode::cluster::{EXAMPLE_WAT, fresh_dir};
use kiln_netnode::exec::Outcome;
use kiln_netnode::replicate::{ExecReport, ReplicaReport};
use serde_json::Value;

use cdp::{Browser, Tab};
use common::NodeProcess;

/// A module whose exports each end in a trap the browser's engine names in
/// its own words.
const TRAPS_WAT: &str = r#"(module
  (type $t (func (result i32)))
  (type $u (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $one)
  (memory 1)
  (tag $e)
  (func $one (result i32) (i32.const 1))
  (func (export "div") (result i32) (i32.div_s (i32.const 1) (i32.const 0)))
  (func (export "rem") (result i32) (i32.rem_u (i32.const 1) (i32.const 0)))
  (func (export "overflow") (result i32) (i32.div_s (i32.const 0x80000000) (i32.const -1)))
  (func (export "convert") (result i32) (i32.trunc_f32_s (f32.const nan)))
  (func (export "undefined") (result i32) (call_indirect (type $t) (i32.const 5)))
  (func (export "uninitialized") (result i32) (call_indirect (type $t) (i32.const 1)))
  (func (export "mismatch") (result i32) (call_indirect (type $u) (i32.const 0) (i32.const 0)))
  (func (export "fill") (memory.fill (i32.const 65530) (i32.const 0) (i32.const 90)))
  (func (export "throw") (throw $e)))"#;

/// How long a tab may take to load, start libp2p and connect.
const JOIN_DEADLINE: Duration = Duration::from_secs(60);

fn kiln_node(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln-node"))
        .args(args)
        .output()?;
    let stdout = String::from_utf8(out.stdout)?;
    // `exec` exits with 3 when the replicas disagree; its report is the
    // point then.
    ensure!(
        out.status.success() || out.status.code() == Some(3),
        "kiln-node {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(stdout)
}

/// Publishes the module file at `path` on the node; its id.
fn publish(api: SocketAddr, path: &Path) -> anyhow::Result<String> {
    let published = kiln_node(&[
        "publish",
        "--api",
        &api.to_string(),
        &path.display().to_string(),
    ])?;
    published
        .split_whitespace()
        .next()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("publish printed nothing"))
}

fn status(api: SocketAddr) -> anyhow::Result<Value> {
    Ok(serde_json::from_str(&kiln_node(&[
        "status",
        "--api",
        &api.to_string(),
    ])?)?)
}

fn browser_peers(api: SocketAddr) -> anyhow::Result<Vec<String>> {
    let s = status(api)?;
    Ok(s["browser_peers"]
        .as_array()
        .ok_or_else(|| anyhow!("no browser_peers in {s}"))?
        .iter()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect())
}

/// Waits until the node lists `n` browser peers.
fn wait_for_browsers(api: SocketAddr, n: usize) -> anyhow::Result<Vec<String>> {
    let deadline = Instant::now() + JOIN_DEADLINE;
    loop {
        let peers = browser_peers(api)?;
        if peers.len() == n {
            return Ok(peers);
        }
        if Instant::now() > deadline {
            bail!("the node lists {} browser peers, not {n}", peers.len());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Call<'a> {
    export: &'a str,
    args: &'a [&'a str],
    fuel: u64,
    input: Option<&'a Path>,
}

fn exec(
    api: SocketAddr,
    module: &str,
    call: &Call<'_>,
    replicas: usize,
) -> anyhow::Result<ExecReport> {
    let (api, fuel, replicas) = (api.to_string(), call.fuel.to_string(), replicas.to_string());
    let mut args = vec![
        "exec",
        "--api",
        &api,
        "--json",
        "--fuel",
        &fuel,
        "--replicas",
        &replicas,
        "--timeout-ms",
        "60000",
    ];
    let input;
    if let Some(path) = call.input {
        input = path.display().to_string();
        args.extend(["--input", &input]);
    }
    args.extend(["--", module, call.export]);
    args.extend(call.args);
    Ok(serde_json::from_str(&kiln_node(&args)?)?)
}

fn replica<'r>(report: &'r ExecReport, peer: &str) -> anyhow::Result<&'r ReplicaReport> {
    report
        .replicas
        .iter()
        .find(|r| r.peer == peer)
        .ok_or_else(|| anyhow!("{peer} is not among the replicas: {report:?}"))
}

/// The bits of what the example's `nan` export returns on the tab's engine
/// without rewriting (`bytes` is the original module).
fn naive_nan_bits(browser: &mut Browser, tab: &Tab, bytes: &[u8]) -> anyhow::Result<String> {
    let list = bytes
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let expression = format!(
        "(async () => {{
            const noop = () => 0
            const kiln = {{ input_len: noop, input_read: noop, output_write: noop }}
            const {{ instance }} = await WebAssembly.instantiate(new Uint8Array([{list}]), {{ kiln }})
            const view = new DataView(new ArrayBuffer(8))
            view.setFloat64(0, instance.exports.nan())
            return view.getBigUint64(0).toString(16)
        }})()"
    );
    browser
        .eval(tab, &expression)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no bits"))
}

/// Opens the page at `url` in a new tab and waits until it has connected;
/// returns the tab and its peer id.
fn join(browser: &mut Browser, url: &str) -> anyhow::Result<(Tab, String)> {
    let tab = browser.open(url)?;
    browser.wait_for(
        &tab,
        "window.kilnPeer?.state.connection === 'connected'",
        JOIN_DEADLINE,
    )?;
    let id = browser
        .eval(&tab, "window.kilnPeer.state.self")?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no peer id in the page"))?;
    Ok((tab, id))
}

struct Setup {
    // Dropped in reverse order: the browser goes first.
    native: NodeProcess,
    web_node: NodeProcess,
    web: SocketAddr,
    dirs: Vec<PathBuf>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn start_nodes() -> anyhow::Result<Setup> {
    let dirs = vec![
        fresh_dir("browser-web-node"),
        fresh_dir("browser-native-node"),
    ];
    let web_node = common::start_with(&dirs[0], &[], |c| {
        c.args(["--web", "127.0.0.1:0"]);
    })?;
    let web = web_node
        .web
        .ok_or_else(|| anyhow!("no web address printed"))?;
    let native = common::start(&dirs[1], &[&web_node.listen])?;
    Ok(Setup {
        native,
        web_node,
        web,
        dirs,
    })
}

#[test]
fn a_browser_tab_answers_replicated_jobs_as_native_nodes_do() -> anyhow::Result<()> {
    let Some(chromium) = cdp::find_chromium() else {
        ensure!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no chromium: under CI=true this test must run (.ci/run installs Debian's chromium)"
        );
        eprintln!("skipped: no chromium (install Debian's chromium or set KILN_CHROMIUM)");
        return Ok(());
    };
    let setup = start_nodes()?;
    let api = setup.web_node.api;
    let url = format!("http://{}/", setup.web);
    let mut browser = Browser::launch(&chromium, fresh_dir("browser-profile"))?;

    // A tab joins as a peer of its own.
    let (honest, honest_id) = join(&mut browser, &url)?;
    ensure!(wait_for_browsers(api, 1)? == std::slice::from_ref(&honest_id));
    browser.wait_for(
        &honest,
        "window.kilnPeer.state.peers.length === 2",
        JOIN_DEADLINE,
    )?;

    // Every kind of ending the example module has, on the node, the native
    // peer and the tab.
    let wat_dir = fresh_dir("browser-files");
    std::fs::create_dir_all(&wat_dir)?;
    let module_path = wat_dir.join("example.wat");
    std::fs::write(&module_path, EXAMPLE_WAT)?;
    let input_path = wat_dir.join("input");
    std::fs::write(&input_path, b"a browser tab is a peer")?;
    let module = publish(api, &module_path)?;
    let calls = [
        Call {
            export: "fib",
            args: &["90"],
            fuel: 100_000,
            input: None,
        },
        Call {
            export: "reverse",
            args: &[],
            fuel: 1_000_000,
            input: Some(&input_path),
        },
        Call {
            export: "nan",
            args: &[],
            fuel: 1_000,
            input: None,
        },
        Call {
            export: "spin",
            args: &[],
            fuel: 100_000,
            input: None,
        },
        Call {
            export: "bomb",
            args: &["1"],
            fuel: 10_000_000,
            input: None,
        },
        Call {
            export: "deep",
            args: &["0"],
            fuel: 10_000_000,
            input: None,
        },
        Call {
            export: "oob",
            args: &[],
            fuel: 1_000,
            input: None,
        },
        // Long enough to compare the engines' speed, not only the cost of
        // sending a job.
        Call {
            export: "spin",
            args: &[],
            fuel: 300_000_000,
            input: None,
        },
    ];
    for call in &calls {
        let report = exec(api, &module, call, 2)?;
        let local = report.replicas.first().and_then(|r| r.result.clone());
        let tab = replica(&report, &honest_id)?;
        ensure!(tab.browser, "the tab is reported as a browser peer");
        ensure!(
            tab.result.is_some() && tab.result == local,
            "{}: the tab answered {:?} ({:?}), the node {local:?}",
            call.export,
            tab.result,
            tab.error
        );
        ensure!(
            report.replicas.len() == 3
                && report.disagreeing.is_empty()
                && report.unanswered.is_empty(),
            "{}: {report:?}",
            call.export
        );
        let native = replica(&report, &setup.native.peer)?;
        eprintln!(
            "{}: {:?}, fuel {}; the tab answered in {} ms, the native peer in {} ms",
            call.export,
            local.as_ref().map(|r| &r.outcome),
            local.as_ref().map_or(0, |r| r.fuel_used),
            tab.latency_ms,
            native.latency_ms
        );
    }

    // Each trap the engine names, named as Kiln names it.
    let traps_path = wat_dir.join("traps.wat");
    std::fs::write(&traps_path, TRAPS_WAT)?;
    let traps = publish(api, &traps_path)?;
    for (export, message) in [
        ("div", "integer divide by zero"),
        ("rem", "integer divide by zero"),
        ("overflow", "integer overflow"),
        ("convert", "invalid conversion to integer"),
        ("undefined", "undefined element"),
        ("uninitialized", "uninitialized element"),
        ("mismatch", "indirect call type mismatch"),
        ("fill", "out of bounds memory access"),
        ("throw", "uncaught exception"),
    ] {
        let call = Call {
            export,
            args: &[],
            fuel: 1_000,
            input: None,
        };
        let report = exec(api, &traps, &call, 2)?;
        let tab = replica(&report, &honest_id)?;
        ensure!(
            tab.result.as_ref().map(|r| &r.outcome) == Some(&Outcome::Trap(message.into()))
                && report.disagreeing.is_empty()
                && report.unanswered.is_empty(),
            "{export}: {report:?}"
        );
    }

    // The NaN's bits differ on the tab's engine without the rewriting.
    let bytes = kiln::wat2wasm(EXAMPLE_WAT.as_bytes())?.into_owned();
    let naive = naive_nan_bits(&mut browser, &honest, &bytes)?;
    let report = exec(api, &module, &calls[2], 2)?;
    let tab = replica(&report, &honest_id)?;
    let canonical = Outcome::Values(vec!["nan:0x7ff8000000000000".into()]);
    ensure!(
        tab.result.as_ref().map(|r| &r.outcome) == Some(&canonical),
        "{tab:?}"
    );
    #[cfg(target_arch = "x86_64")]
    ensure!(
        naive == "fff8000000000000",
        "sqrt(-1) without rewriting gives the x86 default NaN, not {naive}"
    );
    eprintln!("nan: {naive} on the tab's engine alone, 7ff8000000000000 rewritten");

    // A lying tab is named, as a lying native node is.
    let (_liar, liar_id) = join(&mut browser, &format!("{url}?lie=1"))?;
    wait_for_browsers(api, 2)?;
    let report = exec(api, &module, &calls[0], 3)?;
    ensure!(report.disagreeing == [liar_id.clone()], "{report:?}");
    ensure!(replica(&report, &honest_id)?.agrees == Some(true));

    // The page shows what the node sees.
    browser.wait_for(
        &honest,
        "document.querySelectorAll('#jobs tr').length >= 9 && document.querySelectorAll('#peers tr').length === 3",
        JOIN_DEADLINE,
    )?;
    let text = browser.eval(&honest, "document.body.innerText")?;
    let text = text.as_str().unwrap_or_default();
    for expected in [
        honest_id.as_str(),
        &liar_id,
        &setup.native.peer,
        "2880067194370816120",
        "trap: out of fuel",
    ] {
        ensure!(
            text.contains(expected),
            "the page does not show {expected}:\n{text}"
        );
    }
    if let Some(path) = std::env::var_os("KILN_BROWSER_SCREENSHOT") {
        std::fs::write(&path, browser.screenshot(&honest)?)
            .with_context(|| format!("writing {}", PathBuf::from(&path).display()))?;
    }

    // A tab closed in the middle of a job does not answer; the job completes
    // on the others.
    let module_for_exec = module.clone();
    let running = std::thread::spawn(move || {
        let long = Call {
            export: "spin",
            args: &[],
            fuel: 3_000_000_000,
            input: None,
        };
        exec(api, &module_for_exec, &long, 3)
    });
    browser.wait_for(
        &honest,
        "window.kilnPeer.state.jobs[0]?.status === 'running'",
        JOIN_DEADLINE,
    )?;
    browser.close(&honest)?;
    let report = running.join().map_err(|_| anyhow!("exec panicked"))??;
    let closed = replica(&report, &honest_id)?;
    ensure!(
        closed.result.is_none() && report.unanswered == [honest_id.clone()],
        "{report:?}"
    );
    ensure!(
        report.majority.as_ref().map(|r| &r.outcome) == Some(&Outcome::Trap("out of fuel".into())),
        "{report:?}"
    );
    let _ = std::fs::remove_dir_all(&wat_dir);
    Ok(())
}

#[test]
fn the_web_listener_serves_the_page_and_never_the_api() -> anyhow::Result<()> {
    let setup = start_nodes()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let get = |path: &'static str| {
            kiln_netnode::http::request(setup.web, "GET", path, b"", None, Duration::from_secs(10))
        };
        for path in ["/", "/page.js", "/worker.js", "/libp2p.js"] {
            let (status, body) = get(path).await?;
            ensure!(status == 200 && !body.is_empty(), "{path}: {status}");
        }
        let (status, body) = get("/node.json").await?;
        let info: Value = serde_json::from_slice(&body)?;
        ensure!(status == 200 && info["peer_id"] == setup.web_node.peer.as_str());
        ensure!(info["ws_port"].as_u64().is_some_and(|p| p > 0));
        for (method, path) in [
            ("GET", "/status"),
            ("GET", "/modules"),
            ("POST", "/modules"),
            ("POST", "/exec"),
            ("GET", "/modules/00"),
        ] {
            let (status, _) = kiln_netnode::http::request(
                setup.web,
                method,
                path,
                b"{}",
                None,
                Duration::from_secs(10),
            )
            .await?;
            ensure!(
                status == 404 || status == 405,
                "{method} {path} answered {status}"
            );
        }
        Ok(())
    })
}
