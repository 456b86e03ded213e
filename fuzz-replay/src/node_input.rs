//! The `node_input` target: arbitrary bytes through every parser of
//! `kiln-node` that a peer or an API client can reach, which must answer
//! with a value or an error, never a panic:
//!
//! - the wire codec (`kiln_netnode::wire::Codec`) reading the bytes as a
//!   request and as a response, under the node's own size caps; a message
//!   that decodes must survive `decode(encode(x)) == x`, and its encoding
//!   must be stable (`encode(decode(encode(x))) == encode(x)`);
//! - a gossip announcement (`Announce::decode`), which must round-trip too;
//! - the HTTP/1.1 request parser of the control API (`http::parse_request`);
//!   a request that parses has its body handed to the parser of its route:
//!   `POST /exec` to `api::plan_exec` (the JSON body, as if the module were
//!   stored and as if not), `POST /modules` to `api::module_from_body` (text
//!   or binary) and the executor's validation, as `POST /modules` does;
//! - the bytes as an exec body on their own, so that JSON mutations need not
//!   first grow an HTTP head.

use std::path::PathBuf;
use std::sync::OnceLock;

use kiln_netnode::NodeConfig;
use kiln_netnode::api::{self, ExecRequest, MAX_REPLICAS};
use kiln_netnode::exec::{ExecLimits, Executor};
use kiln_netnode::gossip::Announce;
use kiln_netnode::http;
use kiln_netnode::libp2p::futures::executor::block_on;
use kiln_netnode::libp2p::request_response::Codec as _;
use kiln_netnode::store::{self, ModuleId};
use kiln_netnode::wire::{self, Codec, PROTOCOL, WireLimits, WireRequest, WireResponse};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Finding, catch};

/// The module cap a node runs with by default.
fn max_module_bytes() -> usize {
    NodeConfig::new(PathBuf::new()).max_module_bytes
}

/// The wire caps a node runs with by default.
fn limits() -> WireLimits {
    let config = NodeConfig::new(PathBuf::new());
    WireLimits::new(config.max_module_bytes, config.limits.max_input_bytes)
}

/// The API's body cap for the default module cap (text is larger than
/// binary, so the API allows four times the module cap).
fn max_body() -> usize {
    max_module_bytes() * 4
}

/// One executor for every input: building an engine per input would be most
/// of the time spent.
fn executor() -> Option<&'static Executor> {
    static EXECUTOR: OnceLock<Option<Executor>> = OnceLock::new();
    EXECUTOR
        .get_or_init(|| Executor::new(kiln::Strategy::Interpreter, ExecLimits::default()).ok())
        .as_ref()
}

/// Checks that a decoded message re-encodes to something that decodes to
/// itself, with a stable encoding.
fn round_trip<T>(what: &str, msg: &T) -> Result<(), Finding>
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let encoded =
        wire::encode(msg).map_err(|e| Finding(format!("{what}: {msg:?} does not encode: {e}")))?;
    let again: T = wire::decode(&encoded).map_err(|e| {
        Finding(format!(
            "{what}: the encoding of {msg:?} does not decode: {e}"
        ))
    })?;
    if again != *msg {
        return Err(Finding(format!(
            "{what}: decode(encode(x)) != x\n  x:     {msg:?}\n  again: {again:?}"
        )));
    }
    let stable = wire::encode(&again)
        .map_err(|e| Finding(format!("{what}: {again:?} does not encode: {e}")))?;
    if stable != encoded {
        return Err(Finding(format!(
            "{what}: the encoding of {msg:?} is not stable"
        )));
    }
    Ok(())
}

/// The wire codec, as the node's request-response behaviour runs it.
fn wire_messages(data: &[u8]) -> Result<(), Finding> {
    let mut codec = Codec::new(limits());
    let request = catch("wire::Codec::read_request", || {
        block_on(codec.read_request(&PROTOCOL, &mut &data[..]))
    })?;
    if let Ok(request) = request {
        if data.len() as u64 > limits().max_request_bytes {
            return Err(Finding(format!(
                "a request of {} bytes passed the cap",
                data.len()
            )));
        }
        round_trip::<WireRequest>("request", &request)?;
    }
    let response = catch("wire::Codec::read_response", || {
        block_on(codec.read_response(&PROTOCOL, &mut &data[..]))
    })?;
    if let Ok(response) = response {
        round_trip::<WireResponse>("response", &response)?;
    }
    Ok(())
}

/// A gossip announcement, as `Shared::on_announce` reads it.
fn announcement(data: &[u8]) -> Result<(), Finding> {
    let max = max_module_bytes();
    let Some((id, size)) = catch("Announce::decode", || Announce::decode(data, max))? else {
        return Ok(());
    };
    if size > max as u64 {
        return Err(Finding(format!(
            "an announcement of size {size} passed the cap"
        )));
    }
    let encoded = serde_json::to_vec(&Announce {
        id: id.to_string(),
        size,
    })
    .map_err(|e| Finding(format!("announcement does not encode: {e}")))?;
    match Announce::decode(&encoded, max) {
        Some(again) if again == (id, size) => Ok(()),
        other => Err(Finding(format!(
            "announcement ({id}, {size}) re-decodes as {other:?}"
        ))),
    }
}

/// An exec body: whatever it is, a plan that comes out keeps the API's
/// bounds and carries exactly the input the body wrote in hex.
fn exec_body(body: &[u8]) -> Result<(), Finding> {
    for stored in [true, false] {
        let plan = catch("api::plan_exec", || api::plan_exec(body, |_| stored))?;
        let Ok(plan) = plan else {
            continue;
        };
        if !stored {
            return Err(Finding("an exec of an unknown module was planned".into()));
        }
        if plan.job.module.parse::<ModuleId>().is_err() || plan.replicas > MAX_REPLICAS {
            return Err(Finding(format!("an exec plan out of bounds: {plan:?}")));
        }
        let written = serde_json::from_slice::<ExecRequest>(body)
            .map(|r| r.input_hex.to_ascii_lowercase())
            .map_err(|e| Finding(format!("a planned exec body does not parse again: {e}")))?;
        if store::hex(&plan.job.input) != written {
            return Err(Finding(format!(
                "input_hex {written:?} was read as {:?}",
                plan.job.input
            )));
        }
    }
    Ok(())
}

/// A module upload: text is encoded, and the binary validated as the node
/// validates what it stores.
fn module_body(body: &[u8]) -> Result<(), Finding> {
    let binary = catch("api::module_from_body", || api::module_from_body(body))?;
    let (Ok(binary), Some(executor)) = (binary, executor()) else {
        return Ok(());
    };
    catch("Executor::validate", || {
        executor.validate(&binary).map(drop)
    })?
    .ok();
    Ok(())
}

/// The control API's HTTP parser, then the parser of the request's route.
fn http_request(data: &[u8]) -> Result<(), Finding> {
    let request = catch("http::parse_request", || {
        http::parse_request(data, max_body())
    })?;
    let Ok(request) = request else {
        return Ok(());
    };
    if request.body.len() > max_body() {
        return Err(Finding(format!(
            "a body of {} bytes passed the cap",
            request.body.len()
        )));
    }
    let path = request.path.split('?').next().unwrap_or("");
    match (request.method.as_str(), path) {
        ("POST", "/exec") => exec_body(&request.body),
        ("POST", "/modules") => module_body(&request.body),
        _ => Ok(()),
    }
}

/// Checks one input.
///
/// # Errors
///
/// A panic in one of the node's parsers, a message that does not survive
/// re-encoding, or a parsed value past the node's caps.
pub fn node_input_outcome(data: &[u8]) -> Result<(), Finding> {
    wire_messages(data)?;
    announcement(data)?;
    http_request(data)?;
    exec_body(data)
}

/// The `node_input` fuzz target's body.
///
/// # Panics
///
/// On every finding (see [`node_input_outcome`]).
pub fn check_node_input(data: &[u8]) {
    if let Err(finding) = node_input_outcome(data) {
        panic!("{finding}");
    }
}
