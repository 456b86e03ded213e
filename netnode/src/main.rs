//! `kiln-node`: runs a Kiln peer node (`start`), talks to a running one
//! through its HTTP API (`publish`, `list`, `exec`, `status`), or runs a
//! three-node demonstration (`demo`).

#![forbid(unsafe_code)]

mod demo;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use kiln_netnode::api::ExecRequest;
use kiln_netnode::client::Client;
use kiln_netnode::libp2p::Multiaddr;
use kiln_netnode::{Node, NodeConfig};

/// The API address `start` uses and the clients call by default.
const DEFAULT_API: &str = "127.0.0.1:7700";

#[derive(Parser, Debug)]
#[command(name = "kiln-node", version, about = "Kiln's peer node")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Args, Debug)]
struct ApiArgs {
    /// The node's API address.
    #[arg(long, default_value = DEFAULT_API)]
    api: SocketAddr,
    /// The API's bearer token, if it has one (default: $KILN_NODE_TOKEN).
    #[arg(long)]
    token: Option<String>,
}

impl ApiArgs {
    fn client(&self) -> Client {
        let mut client = Client::new(self.api);
        client.token = self
            .token
            .clone()
            .or_else(|| std::env::var("KILN_NODE_TOKEN").ok());
        client
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Engine {
    Interp,
    Jit,
    Tiered,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Runs a node until interrupted.
    Start {
        /// Where the node keeps its key and modules.
        #[arg(long)]
        data_dir: PathBuf,
        /// libp2p listen address (repeatable).
        #[arg(long, default_value = "/ip4/127.0.0.1/tcp/0")]
        listen: Vec<Multiaddr>,
        /// A peer to connect to, with its /p2p/ id (repeatable).
        #[arg(long)]
        peer: Vec<Multiaddr>,
        /// The API's address (loopback unless --api-token is given).
        #[arg(long, default_value = DEFAULT_API)]
        api: SocketAddr,
        /// Bearer token required by the API (mandatory off loopback;
        /// default: $KILN_NODE_TOKEN).
        #[arg(long)]
        api_token: Option<String>,
        /// The execution tier; results do not depend on it.
        #[arg(long, value_enum, default_value = "interp")]
        engine: Engine,
        /// Largest module accepted, in bytes.
        #[arg(long, default_value_t = 8 << 20)]
        max_module_bytes: usize,
        /// Most fuel one job may use.
        #[arg(long, default_value_t = 10_000_000_000)]
        max_fuel: u64,
        /// Largest linear memory of a job, in bytes.
        #[arg(long, default_value_t = 64 << 20)]
        max_memory_bytes: u64,
        /// Test flag: answer other nodes' jobs with wrong results.
        #[arg(long)]
        faulty: bool,
        /// Stop choosing a peer as a replica once it has answered this many
        /// replicated jobs against the majority (remembered across restarts).
        #[arg(long, default_value_t = 3, value_name = "N")]
        exclude_after: u32,
        /// Serve the browser peer's page on this address (and listen for
        /// browser peers over WebSocket on its IP address). It serves the
        /// page and the peer protocol only, never the API, so it may face
        /// the world.
        #[arg(long, value_name = "ADDR")]
        web: Option<SocketAddr>,
        /// Print less.
        #[arg(long)]
        quiet: bool,
    },
    /// Stores a module (.wasm or .wat) on a node, which announces it.
    Publish {
        #[command(flatten)]
        api: ApiArgs,
        /// The module file.
        file: PathBuf,
    },
    /// Lists a node's modules.
    List {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Runs a call, optionally on several nodes, and compares the results.
    Exec {
        #[command(flatten)]
        api: ApiArgs,
        /// The module id.
        module: String,
        /// The exported function.
        export: String,
        /// Its arguments.
        args: Vec<String>,
        /// Fuel for the call.
        #[arg(long, default_value_t = 10_000_000)]
        fuel: u64,
        /// Other nodes to run it on.
        #[arg(long, default_value_t = 0)]
        replicas: usize,
        /// Do not run it on the node asked, only on replicas.
        #[arg(long)]
        no_local: bool,
        /// A file whose bytes are the job's input.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Milliseconds to wait for each replica.
        #[arg(long, default_value_t = 30_000)]
        timeout_ms: u64,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Shows a node's peer id, addresses, peers and module count.
    Status {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Starts three nodes (one faulty), publishes, runs a replicated job,
    /// and checks that the faulty node is detected.
    Demo,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Cmd) -> anyhow::Result<ExitCode> {
    match command {
        Cmd::Start {
            data_dir,
            listen,
            peer,
            api,
            api_token,
            engine,
            max_module_bytes,
            max_fuel,
            max_memory_bytes,
            faulty,
            exclude_after,
            web,
            quiet,
        } => {
            let mut config = NodeConfig::new(data_dir);
            config.listen = listen;
            config.peers = peer;
            config.api = api;
            config.api_token = api_token.or_else(|| std::env::var("KILN_NODE_TOKEN").ok());
            config.strategy = match engine {
                Engine::Interp => kiln::Strategy::Interpreter,
                Engine::Jit => kiln::Strategy::Jit,
                Engine::Tiered => kiln::Strategy::Tiered,
            };
            config.max_module_bytes = max_module_bytes;
            config.limits.max_fuel = max_fuel;
            config.limits.max_memory_bytes = max_memory_bytes;
            config.faulty = faulty;
            config.exclude_after = exclude_after;
            config.verbose = !quiet;
            config.web = web;
            config.name = "kiln-node".into();
            let node = Node::start(config).await?;
            let net = node.shared().status().await;
            println!("peer {}", node.peer_id());
            for addr in &net.listen_addrs {
                println!("listen {addr}/p2p/{}", node.peer_id());
            }
            if let Some(web) = node.web_addr() {
                println!("web http://{web}/");
            }
            println!("api http://{}", node.api_addr());
            shutdown_signal().await;
            node.shutdown();
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Publish { api, file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            println!("{}", api.client().publish(&bytes).await?);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::List { api } => {
            for id in api.client().list().await? {
                println!("{id}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Status { api } => {
            let status = api.client().status().await?;
            println!("{}", serde_json::to_string_pretty(&status)?);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Exec {
            api,
            module,
            export,
            args,
            fuel,
            replicas,
            no_local,
            input,
            timeout_ms,
            json,
        } => {
            let input = match input {
                Some(path) => {
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?
                }
                None => Vec::new(),
            };
            let request = ExecRequest {
                module,
                export,
                args,
                fuel,
                replicas,
                local: !no_local,
                input_hex: kiln_netnode::store::hex(&input),
                timeout_ms,
            };
            let mut client = api.client();
            client.timeout = Duration::from_millis(timeout_ms) + Duration::from_secs(30);
            let report = client.exec(&request).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for r in &report.replicas {
                    let agreement = match r.agrees {
                        Some(true) => "agrees",
                        Some(false) => "DISAGREES",
                        None => "-",
                    };
                    match &r.result {
                        Some(result) => println!(
                            "{}{}: {:?} fuel={} output_sha256={} {}ms {agreement}",
                            r.peer,
                            match (r.local, r.browser) {
                                (true, _) => " (local)",
                                (false, true) => " (browser)",
                                (false, false) => "",
                            },
                            result.outcome,
                            result.fuel_used,
                            result.output_sha256,
                            r.latency_ms
                        ),
                        None => println!(
                            "{}{}: no result: {} {}ms",
                            r.peer,
                            if r.browser { " (browser)" } else { "" },
                            r.error.as_deref().unwrap_or("?"),
                            r.latency_ms
                        ),
                    }
                }
                if report.replicas.len() < report.replicas_requested + usize::from(!no_local) {
                    println!(
                        "asked for {} replicas, {} peers available",
                        report.replicas_requested,
                        report.replicas.len() - usize::from(!no_local)
                    );
                }
                for peer in &report.disagreeing {
                    println!("disagreeing: {peer}");
                }
                for peer in &report.excluded {
                    println!("not asked (answered wrongly before): {peer}");
                }
            }
            let clean = report.majority.is_some() && report.disagreeing.is_empty();
            Ok(if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Cmd::Demo => Ok(if demo::run().await? {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }),
    }
}

/// Waits for Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
