//! The request-response protocol between nodes, `/kiln/node/1`.
//!
//! One stream carries one request and one response, each a CBOR encoding of
//! [`WireRequest`] or [`WireResponse`] that ends when the writer closes its
//! side. The reader stops at a cap (requests: [`WireLimits::max_request_bytes`];
//! responses: the module cap plus a margin), so an over-sized or endless
//! message fails its stream with an error instead of growing a buffer, and
//! bytes that are not a valid message fail to decode. Either way the stream
//! is dropped and the connection and the node carry on.

use std::io;

use libp2p::StreamProtocol;
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::request_response;
use serde::{Deserialize, Serialize};

use crate::exec::{Job, JobResult};

/// The protocol name.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/kiln/node/1");

/// What a node asks another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireRequest {
    /// The bytes of a module, by hex id.
    Fetch {
        /// The module's id.
        id: String,
    },
    /// Run a job and return its result.
    Exec(Job),
    /// The ids of every module the peer holds.
    List,
    /// Run a job on the peer's own engine: what a node asks a browser peer
    /// (`browser.rs`).
    Run(BrowserJob),
    /// The peers this node is connected to.
    Peers,
}

/// A job for a browser peer: the job, and what its engine needs to run it
/// as Kiln's executor would (see `browser.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserJob {
    /// The job as native peers get it.
    pub job: Job,
    /// The module, rewritten by `kiln::instrument` for the executor's
    /// limits.
    #[serde(with = "serde_bytes")]
    pub module: Vec<u8>,
    /// The arguments in exact form, each typed by the export's signature:
    /// `i32:-1`, `i64:5`, `f32:0x7fc00000`, `f64:0x3ff0000000000000`.
    pub args: Vec<String>,
    /// The export's result types (`i32`, `i64`, `f32`, `f64`), for reading
    /// its results back exactly.
    pub results: Vec<String>,
    /// The most output the job may write.
    pub max_output_bytes: u64,
}

/// A peer a node is connected to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerEntry {
    /// Its peer id.
    pub id: String,
    /// Whether it joined through the node's web listener.
    pub browser: bool,
}

/// What a node answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireResponse {
    /// A module's bytes (the receiver checks them against the id it asked for).
    Module(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The module is not held here.
    NotFound,
    /// A job's result.
    Result(JobResult),
    /// Module ids.
    List(Vec<String>),
    /// The peers the node is connected to.
    Peers(Vec<PeerEntry>),
    /// The request was throttled; try later or elsewhere.
    Busy,
    /// The request could not be served.
    Error(String),
}

impl WireResponse {
    /// A short name of the response's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            WireResponse::Module(_) => "module",
            WireResponse::NotFound => "not found",
            WireResponse::Result(_) => "result",
            WireResponse::List(_) => "list",
            WireResponse::Peers(_) => "peers",
            WireResponse::Busy => "busy",
            WireResponse::Error(_) => "error",
        }
    }
}

/// Message size caps of the codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireLimits {
    /// The largest request accepted.
    pub max_request_bytes: u64,
    /// The largest response accepted.
    pub max_response_bytes: u64,
}

impl WireLimits {
    /// Limits fitting modules of up to `max_module_bytes` and job inputs of up
    /// to `max_input_bytes`.
    pub fn new(max_module_bytes: usize, max_input_bytes: usize) -> WireLimits {
        WireLimits {
            max_request_bytes: max_input_bytes as u64 + 64 * 1024,
            max_response_bytes: max_module_bytes as u64 + 64 * 1024,
        }
    }
}

/// Encodes a message as CBOR.
///
/// # Errors
///
/// Only if allocation fails.
pub fn encode<T: Serialize>(msg: &T) -> io::Result<Vec<u8>> {
    cbor4ii::serde::to_vec(Vec::new(), msg).map_err(io::Error::other)
}

/// Decodes a CBOR message.
///
/// # Errors
///
/// [`io::ErrorKind::InvalidData`] if the bytes are not one.
pub fn decode<T: for<'a> Deserialize<'a>>(bytes: &[u8]) -> io::Result<T> {
    cbor4ii::serde::from_slice(bytes)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
}

/// Reads until the writer closes, failing past `max` bytes.
async fn read_capped<T: AsyncRead + Unpin + Send>(io: &mut T, max: u64) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    io.take(max + 1).read_to_end(&mut buf).await?;
    if buf.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("message larger than {max} bytes"),
        ));
    }
    Ok(buf)
}

/// The request-response codec: CBOR, capped by [`WireLimits`].
#[derive(Debug, Clone, Copy)]
pub struct Codec {
    limits: WireLimits,
}

impl Codec {
    /// A codec with these caps.
    pub fn new(limits: WireLimits) -> Codec {
        Codec { limits }
    }
}

impl request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = WireRequest;
    type Response = WireResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<WireRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode(&read_capped(io, self.limits.max_request_bytes).await?)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<WireResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode(&read_capped(io, self.limits.max_response_bytes).await?)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: WireRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&encode(&req)?).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        resp: WireResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&encode(&resp)?).await?;
        io.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::futures::executor::block_on;
    use request_response::Codec as _;

    #[test]
    fn messages_round_trip() -> io::Result<()> {
        let req = WireRequest::Fetch { id: "ab".into() };
        assert_eq!(decode::<WireRequest>(&encode(&req)?)?, req);
        let resp = WireResponse::Module(vec![0xff; 200]);
        let bytes = encode(&resp)?;
        assert!(bytes.len() < 220, "bytes are one CBOR byte string");
        assert_eq!(decode::<WireResponse>(&bytes)?, resp);
        Ok(())
    }

    #[test]
    fn garbage_and_oversized_messages_are_errors() {
        let mut codec = Codec::new(WireLimits {
            max_request_bytes: 16,
            max_response_bytes: 16,
        });
        let mut garbage: &[u8] = &[0xff, 0x00, 0x13, 0x37];
        let r = block_on(codec.read_request(&PROTOCOL, &mut garbage));
        assert_eq!(r.err().map(|e| e.kind()), Some(io::ErrorKind::InvalidData));
        let big = [0u8; 17];
        let r = block_on(codec.read_response(&PROTOCOL, &mut &big[..]));
        assert_eq!(r.err().map(|e| e.kind()), Some(io::ErrorKind::InvalidData));
        let mut empty: &[u8] = &[];
        assert!(block_on(codec.read_request(&PROTOCOL, &mut empty)).is_err());
    }
}
