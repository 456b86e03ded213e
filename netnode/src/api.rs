//! The control API, HTTP/JSON on loopback:
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /modules` | module bytes (binary, or text to encode) | `{"id", "size", "announced"}` |
//! | `GET /modules` | | `[{"id", "size"}]` |
//! | `GET /modules/{id}` | | the module's bytes (verified) |
//! | `POST /exec` | [`ExecRequest`] | [`ExecReport`](crate::replicate::ExecReport) |
//! | `GET /status` | | peer id, listen addresses, peers, modules |
//!
//! Errors are `{"error": message}` with a 4xx or 5xx status.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::exec::Job;
use crate::http::{self, Request, Response, ServerConfig};
use crate::node::Shared;
use crate::replicate::replicated_exec;
use crate::store::{ModuleId, StoreError};

/// The body of `POST /exec`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecRequest {
    /// The module's id.
    pub module: String,
    /// The export to call.
    pub export: String,
    /// Its arguments (see [`Job::args`]).
    #[serde(default)]
    pub args: Vec<String>,
    /// Fuel for the call.
    #[serde(default = "default_fuel")]
    pub fuel: u64,
    /// Peers to run it on besides this node.
    #[serde(default)]
    pub replicas: usize,
    /// Whether this node runs it too.
    #[serde(default = "default_true")]
    pub local: bool,
    /// The job's input bytes, in hex.
    #[serde(default)]
    pub input_hex: String,
    /// How long to wait for each replica, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_fuel() -> u64 {
    10_000_000
}

fn default_true() -> bool {
    true
}

fn default_timeout_ms() -> u64 {
    30_000
}

/// The most replicas one request may ask for.
pub const MAX_REPLICAS: usize = 32;

/// Serves the API until `shutdown`.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let config = ServerConfig {
        token: shared.config.api_token.clone(),
        // Text modules are larger than their binary; leave room.
        max_body: shared.config.max_module_bytes.saturating_mul(4),
        read_timeout: Duration::from_secs(30),
    };
    let handler = move |request: Request| {
        let shared = Arc::clone(&shared);
        async move { handle(&shared, request).await }
    };
    http::serve(listener, config, handler, shutdown).await;
}

async fn handle(shared: &Arc<Shared>, request: Request) -> Response {
    let path = request.path.split('?').next().unwrap_or("");
    match (request.method.as_str(), path) {
        ("POST", "/modules") => post_module(shared, request.body).await,
        ("GET", "/modules") => match shared.store.list_with_sizes() {
            Ok(list) => Response::json(
                200,
                &json!(
                    list.iter()
                        .map(|(id, size)| json!({ "id": id.to_string(), "size": size }))
                        .collect::<Vec<_>>()
                ),
            ),
            Err(e) => Response::error(500, e),
        },
        ("GET", p) if p.starts_with("/modules/") => {
            get_module(shared, &p["/modules/".len()..]).await
        }
        ("POST", "/exec") => exec(shared, &request.body).await,
        ("GET", "/status") => status(shared).await,
        (_, "/modules" | "/exec" | "/status") => Response::error(405, "method not allowed"),
        _ => Response::error(404, "no such route"),
    }
}

async fn post_module(shared: &Arc<Shared>, body: Vec<u8>) -> Response {
    let binary = match kiln::wat2wasm(&body) {
        Ok(b) => b.into_owned(),
        Err(e) => return Response::error(400, format!("module rejected: {e}")),
    };
    let size = binary.len();
    match shared.publish(binary).await {
        Ok((id, announced)) => Response::json(
            200,
            &json!({ "id": id.to_string(), "size": size, "announced": announced }),
        ),
        Err(e @ StoreError::TooLarge { .. }) => Response::error(413, e),
        Err(e @ (StoreError::Rejected(_) | StoreError::Mismatch { .. })) => Response::error(400, e),
        Err(e) => Response::error(500, e),
    }
}

async fn get_module(shared: &Arc<Shared>, id: &str) -> Response {
    let Ok(id) = id.parse::<ModuleId>() else {
        return Response::error(400, "a module id is 64 hex digits");
    };
    match shared.module_bytes(id).await {
        Ok(Some(bytes)) => Response {
            status: 200,
            content_type: "application/wasm",
            body: bytes,
        },
        Ok(None) => Response::error(404, format!("unknown module {id}")),
        Err(e @ StoreError::Corrupt(_)) => Response::error(404, e),
        Err(e) => Response::error(500, e),
    }
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

async fn exec(shared: &Arc<Shared>, body: &[u8]) -> Response {
    let request: ExecRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return Response::error(400, format!("bad exec request: {e}")),
    };
    let Ok(id) = request.module.parse::<ModuleId>() else {
        return Response::error(400, "a module id is 64 hex digits");
    };
    if !shared.store.contains(&id) {
        return Response::error(404, format!("unknown module {id}"));
    }
    if request.replicas > MAX_REPLICAS {
        return Response::error(400, format!("at most {MAX_REPLICAS} replicas"));
    }
    let Some(input) = parse_hex(&request.input_hex) else {
        return Response::error(400, "input_hex is not hex");
    };
    let job = Job {
        module: id.to_string(),
        export: request.export,
        args: request.args,
        fuel: request.fuel,
        input,
    };
    let timeout = Duration::from_millis(request.timeout_ms.clamp(1, 600_000));
    let report = replicated_exec(shared, job, request.replicas, request.local, timeout).await;
    match serde_json::to_value(&report) {
        Ok(v) => Response::json(200, &v),
        Err(e) => Response::error(500, e),
    }
}

async fn status(shared: &Arc<Shared>) -> Response {
    let net = shared.status().await;
    let modules = shared.store.list().map(|l| l.len()).unwrap_or(0);
    Response::json(
        200,
        &json!({
            "peer_id": shared.peer_id.to_string(),
            "listen_addrs": net.listen_addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "peers": net.peers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "gossip_peers": net.gossip_peers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "modules": modules,
            "faulty": shared.config.faulty,
            "engine": format!("{:?}", shared.config.strategy),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_input_is_checked() {
        assert_eq!(parse_hex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(parse_hex("0"), None);
        assert_eq!(parse_hex("zz"), None);
        assert_eq!(parse_hex("é0"), None);
    }
}
