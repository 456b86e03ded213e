//! A typed client of a node's control API, used by the `kiln-node`
//! subcommands, the demo and the tests.

use std::net::SocketAddr;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::ExecRequest;
use crate::http::{self, ClientError};
use crate::replicate::ExecReport;

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request did not complete.
    #[error(transparent)]
    Http(#[from] ClientError),
    /// The node answered with an error status.
    #[error("HTTP {status}: {message}")]
    Status {
        /// The status code.
        status: u16,
        /// The node's message.
        message: String,
    },
    /// The answer is not the JSON expected.
    #[error("unexpected answer: {0}")]
    Json(#[from] serde_json::Error),
}

/// A client of one node's API.
#[derive(Debug, Clone)]
pub struct Client {
    /// The API's address.
    pub addr: SocketAddr,
    /// The bearer token, if the API needs one.
    pub token: Option<String>,
    /// How long one call may take.
    pub timeout: Duration,
}

impl Client {
    /// A client of the API at `addr`, without a token, with a 120 s timeout.
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            token: None,
            timeout: Duration::from_secs(120),
        }
    }

    /// Sends a request and returns the body of a 2xx answer.
    ///
    /// # Errors
    ///
    /// See [`ApiError`].
    pub async fn raw(&self, method: &str, path: &str, body: &[u8]) -> Result<Vec<u8>, ApiError> {
        let (status, body) = http::request(
            self.addr,
            method,
            path,
            body,
            self.token.as_deref(),
            self.timeout,
        )
        .await?;
        if !(200..300).contains(&status) {
            let message = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(ApiError::Status { status, message });
        }
        Ok(body)
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<T, ApiError> {
        Ok(serde_json::from_slice(
            &self.raw(method, path, body).await?,
        )?)
    }

    /// `POST /modules`: stores and announces a module; returns its id.
    ///
    /// # Errors
    ///
    /// See [`ApiError`].
    pub async fn publish(&self, module: &[u8]) -> Result<String, ApiError> {
        let v: Value = self.json("POST", "/modules", module).await?;
        Ok(v.get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// `GET /modules`: the ids held.
    ///
    /// # Errors
    ///
    /// See [`ApiError`].
    pub async fn list(&self) -> Result<Vec<String>, ApiError> {
        let v: Vec<Value> = self.json("GET", "/modules", b"").await?;
        Ok(v.iter()
            .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_string))
            .collect())
    }

    /// `GET /modules/{id}`: a module's bytes.
    ///
    /// # Errors
    ///
    /// See [`ApiError`].
    pub async fn module(&self, id: &str) -> Result<Vec<u8>, ApiError> {
        self.raw("GET", &format!("/modules/{id}"), b"").await
    }

    /// `POST /exec`.
    ///
    /// # Errors
    ///
    /// See [`ApiError`].
    pub async fn exec(&self, request: &ExecRequest) -> Result<ExecReport, ApiError> {
        let body = serde_json::to_vec(request)?;
        self.json("POST", "/exec", &body).await
    }

    /// `GET /status`.
    ///
    /// # Errors
    ///
    /// See [`ApiError`].
    pub async fn status(&self) -> Result<Value, ApiError> {
        self.json("GET", "/status", b"").await
    }
}

impl ExecRequest {
    /// A request to call `export` of `module` with `args`, with default fuel,
    /// no replicas and a local run.
    pub fn new(module: &str, export: &str, args: &[&str]) -> ExecRequest {
        ExecRequest {
            module: module.to_string(),
            export: export.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            fuel: 10_000_000,
            replicas: 0,
            local: true,
            input_hex: String::new(),
            timeout_ms: 30_000,
        }
    }
}
