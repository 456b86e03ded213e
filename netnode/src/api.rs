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
//! Errors are `{"error": message}` with a 4xx or 5xx status. A store that
//! cannot take a new module because its disk is full or its directory is
//! read-only answers `POST /modules` with 507 and says so; everything else
//! (reading, running, gossip) goes on with the modules it has.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::exec::Job;
use crate::http::{self, Request, Response, ServerConfig};
use crate::replicate::replicated_exec;
use crate::shared::Shared;
use crate::store::{ModuleId, StoreError, parse_hex};

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

/// The module a `POST /modules` body holds: binary bytes as they are, text
/// encoded to binary. Validation comes after, when the node stores it.
///
/// # Errors
///
/// A 400 response if the body is neither a binary module nor text that
/// encodes.
pub fn module_from_body(body: &[u8]) -> Result<Vec<u8>, Response> {
    match kiln::wat2wasm(body) {
        Ok(b) => Ok(b.into_owned()),
        Err(e) => Err(Response::error(400, format!("module rejected: {e}"))),
    }
}

async fn post_module(shared: &Arc<Shared>, body: Vec<u8>) -> Response {
    let binary = match module_from_body(&body) {
        Ok(b) => b,
        Err(response) => return response,
    };
    let size = binary.len();
    match shared.publish(binary).await {
        Ok((id, announced)) => Response::json(
            200,
            &json!({ "id": id.to_string(), "size": size, "announced": announced }),
        ),
        Err(e @ StoreError::TooLarge { .. }) => Response::error(413, e),
        Err(e @ (StoreError::Rejected(_) | StoreError::Mismatch { .. })) => Response::error(400, e),
        Err(e) if e.is_unwritable() => Response::error(
            507,
            format!("the module store cannot take new modules (disk full or read-only): {e}"),
        ),
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

/// A `POST /exec` body, checked: what to run, where, and how long to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecPlan {
    /// The job every replica runs.
    pub job: Job,
    /// Peers to run it on besides this node (at most [`MAX_REPLICAS`]).
    pub replicas: usize,
    /// Whether this node runs it too.
    pub local: bool,
    /// How long to wait for each replica (1 ms to 10 minutes).
    pub timeout: Duration,
}

/// Why a `POST /exec` body is refused.
#[derive(Debug, thiserror::Error)]
pub enum ExecRequestError {
    /// The body is not an [`ExecRequest`].
    #[error("bad exec request: {0}")]
    Malformed(serde_json::Error),
    /// The module id is not 64 hex digits.
    #[error("a module id is 64 hex digits")]
    BadModuleId,
    /// This node does not hold the module.
    #[error("unknown module {0}")]
    UnknownModule(ModuleId),
    /// More replicas than [`MAX_REPLICAS`] were asked for.
    #[error("at most {MAX_REPLICAS} replicas")]
    TooManyReplicas,
    /// `input_hex` is not hex.
    #[error("input_hex is not hex")]
    BadInput,
}

impl ExecRequestError {
    /// The HTTP status the API answers with: 404 for a module this node does
    /// not hold, 400 for the rest.
    pub fn status(&self) -> u16 {
        match self {
            ExecRequestError::UnknownModule(_) => 404,
            _ => 400,
        }
    }
}

impl From<ExecRequestError> for Response {
    fn from(e: ExecRequestError) -> Response {
        Response::error(e.status(), e)
    }
}

/// Reads and checks a `POST /exec` body; `is_stored` says whether this node
/// holds a module. The checks run in a fixed order: the body, the module id,
/// whether the module is here, the replicas, the input.
///
/// # Errors
///
/// The first check that fails (see [`ExecRequestError`]).
pub fn plan_exec(
    body: &[u8],
    is_stored: impl FnOnce(&ModuleId) -> bool,
) -> Result<ExecPlan, ExecRequestError> {
    let request: ExecRequest = serde_json::from_slice(body).map_err(ExecRequestError::Malformed)?;
    let Ok(id) = request.module.parse::<ModuleId>() else {
        return Err(ExecRequestError::BadModuleId);
    };
    if !is_stored(&id) {
        return Err(ExecRequestError::UnknownModule(id));
    }
    if request.replicas > MAX_REPLICAS {
        return Err(ExecRequestError::TooManyReplicas);
    }
    let Some(input) = parse_hex(&request.input_hex) else {
        return Err(ExecRequestError::BadInput);
    };
    Ok(ExecPlan {
        job: Job {
            module: id.to_string(),
            export: request.export,
            args: request.args,
            fuel: request.fuel,
            input,
        },
        replicas: request.replicas,
        local: request.local,
        timeout: Duration::from_millis(request.timeout_ms.clamp(1, 600_000)),
    })
}

async fn exec(shared: &Arc<Shared>, body: &[u8]) -> Response {
    let plan = match plan_exec(body, |id| shared.store.contains(id)) {
        Ok(plan) => plan,
        Err(e) => return e.into(),
    };
    let report = replicated_exec(shared, plan.job, plan.replicas, plan.local, plan.timeout).await;
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
            "browser_peers": net.browser_peers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "modules": modules,
            "faulty": shared.config.faulty,
            "wrong_answers": shared.scores.all(),
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
        assert_eq!(parse_hex("éé"), None);
        assert_eq!(parse_hex("C0fFee"), Some(vec![0xc0, 0xff, 0xee]));
        // `u8::from_str_radix` takes a sign: "+f" is not two hex digits.
        assert_eq!(parse_hex("+f"), None);
        assert_eq!(parse_hex("+f+f"), None);
        assert_eq!(parse_hex("-1"), None);
    }

    fn status(plan: Result<ExecPlan, ExecRequestError>) -> u16 {
        plan.map_or_else(|e| e.status(), |_| 200)
    }

    #[test]
    fn exec_bodies_are_checked_in_order() {
        let id = ModuleId::of(b"m").to_string();
        let body = format!(r#"{{"module":"{id}","export":"f","input_hex":"00FF"}}"#);
        let plan = plan_exec(body.as_bytes(), |_| true);
        assert_eq!(
            plan.ok(),
            Some(ExecPlan {
                job: Job {
                    module: id.clone(),
                    export: "f".into(),
                    args: Vec::new(),
                    fuel: default_fuel(),
                    input: vec![0, 255],
                },
                replicas: 0,
                local: true,
                timeout: Duration::from_millis(default_timeout_ms()),
            })
        );
        assert_eq!(status(plan_exec(b"{not json", |_| true)), 400);
        let bad_id = br#"{"module":"abc","export":"f"}"#;
        assert_eq!(status(plan_exec(bad_id, |_| true)), 400);
        // An unknown module is a 404 even when the rest is wrong too.
        let many = format!(r#"{{"module":"{id}","export":"f","replicas":99}}"#);
        assert_eq!(status(plan_exec(many.as_bytes(), |_| false)), 404);
        assert_eq!(status(plan_exec(many.as_bytes(), |_| true)), 400);
        let odd = format!(r#"{{"module":"{id}","export":"f","input_hex":"+f"}}"#);
        assert_eq!(status(plan_exec(odd.as_bytes(), |_| true)), 400);
        let zero = format!(r#"{{"module":"{id}","export":"f","timeout_ms":0}}"#);
        let plan = plan_exec(zero.as_bytes(), |_| true).map(|p| p.timeout);
        assert_eq!(plan.ok(), Some(Duration::from_millis(1)));
    }

    #[test]
    fn exec_request_errors_answer_as_before() {
        let id = ModuleId::of(b"m");
        let malformed = serde_json::from_slice::<ExecRequest>(b"{not json")
            .map(drop)
            .map_err(ExecRequestError::Malformed);
        assert!(matches!(malformed, Err(ref e) if e.status() == 400));
        let cases = [
            (
                ExecRequestError::BadModuleId,
                400,
                "a module id is 64 hex digits".to_string(),
            ),
            (
                ExecRequestError::UnknownModule(id),
                404,
                format!("unknown module {id}"),
            ),
            (
                ExecRequestError::TooManyReplicas,
                400,
                format!("at most {MAX_REPLICAS} replicas"),
            ),
            (
                ExecRequestError::BadInput,
                400,
                "input_hex is not hex".to_string(),
            ),
        ];
        for (e, status, message) in cases {
            assert_eq!(Response::from(e), Response::error(status, message));
        }
    }

    #[test]
    fn module_bodies_are_binary_or_text() {
        let binary = b"\0asm\x01\0\0\0".to_vec();
        assert_eq!(module_from_body(&binary), Ok(binary.clone()));
        assert_eq!(module_from_body(b"(module)"), Ok(binary));
        assert_eq!(module_from_body(b"(module").map_err(|r| r.status), Err(400));
    }
}
