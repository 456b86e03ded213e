//! A minimal HTTP/1.1 server and client for the control API, on tokio.
//!
//! One request per connection (`Connection: close`), bodies sized by
//! `Content-Length` (no chunked encoding), headers capped at 16 KiB and
//! bodies at a configured size, every connection bounded by a deadline.
//! That is all the API and its command-line clients need.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The largest request or response head.
const MAX_HEAD: usize = 16 * 1024;

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, query included.
    pub path: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// A response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
        }
    }

    /// A JSON error `{"error": message}`.
    pub fn error(status: u16, message: impl std::fmt::Display) -> Response {
        Response::json(status, &serde_json::json!({ "error": message.to_string() }))
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        503 => "Service Unavailable",
        507 => "Insufficient Storage",
        _ => "Error",
    }
}

/// Finds the end of the head (`\r\n\r\n`) in `buf`.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Reads a head and a `Content-Length` body of at most `max_body` bytes.
/// Returns the head's lines and the body.
async fn read_message<R: AsyncRead + Unpin>(
    stream: &mut R,
    max_body: usize,
) -> Result<(Vec<String>, Vec<u8>), Response> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let end = loop {
        // The cap holds however the head arrives: in small reads (the size
        // check below) or whole in one read (this one).
        if let Some(end) = head_end(&buf) {
            if end > MAX_HEAD {
                return Err(Response::error(413, "request head too large"));
            }
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err(Response::error(413, "request head too large"));
        }
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| Response::error(400, e))?;
        if n == 0 {
            return Err(Response::error(
                400,
                "connection closed before the head ended",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..end - 4])
        .map_err(|_| Response::error(400, "head is not UTF-8"))?;
    let lines: Vec<String> = head.split("\r\n").map(str::to_string).collect();
    let mut length = 0usize;
    for line in &lines[1..] {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value
                    .trim()
                    .parse()
                    .map_err(|_| Response::error(400, "bad Content-Length"))?;
            } else if name.trim().eq_ignore_ascii_case("transfer-encoding") {
                return Err(Response::error(400, "chunked bodies are not supported"));
            }
        }
    }
    if length > max_body {
        return Err(Response::error(
            413,
            format!("body of {length} bytes is larger than {max_body}"),
        ));
    }
    let mut body = buf[end..].to_vec();
    if body.len() > length {
        body.truncate(length);
    }
    while body.len() < length {
        let want = (length - body.len()).min(chunk.len());
        let n = stream
            .read(&mut chunk[..want])
            .await
            .map_err(|e| Response::error(400, e))?;
        if n == 0 {
            return Err(Response::error(400, "connection closed in the body"));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((lines, body))
}

async fn read_request<R: AsyncRead + Unpin>(
    stream: &mut R,
    max_body: usize,
) -> Result<Request, Response> {
    let (lines, body) = read_message(stream, max_body).await?;
    let mut first = lines[0].split(' ');
    let (Some(method), Some(path), Some(version)) = (first.next(), first.next(), first.next())
    else {
        return Err(Response::error(400, "bad request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(Response::error(400, "not HTTP/1.x"));
    }
    let authorization = lines[1..].iter().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("authorization")
            .then(|| value.trim().to_string())
    });
    Ok(Request {
        method: method.to_string(),
        path: path.to_string(),
        authorization,
        body,
    })
}

/// Parses one request held in memory with the server's own parser, as if
/// `bytes` were all a client sent before closing its side: the request, or
/// the error response the server would send. For tests and fuzzing.
///
/// # Errors
///
/// The error response (400 or 413) for a malformed, incomplete or
/// over-sized request.
pub fn parse_request(bytes: &[u8], max_body: usize) -> Result<Request, Response> {
    // Reading from a slice never waits, so no runtime is needed to drive it.
    libp2p::futures::executor::block_on(read_request(&mut &bytes[..], max_body))
}

async fn write_response(stream: &mut TcpStream, response: &Response) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&response.body).await?;
    stream.shutdown().await
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Settings of [`serve`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Required as `Authorization: Bearer <token>` when set.
    pub token: Option<String>,
    /// The largest request body.
    pub max_body: usize,
    /// How long reading a request may take.
    pub read_timeout: Duration,
}

/// Serves `handler` on `listener` until `shutdown` turns true. Each
/// connection runs in its own task; a slow or broken client affects only
/// its own connection.
pub async fn serve<H, F>(
    listener: TcpListener,
    config: ServerConfig,
    handler: H,
    mut shutdown: watch::Receiver<bool>,
) where
    H: Fn(Request) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break } else { continue }
            }
            accepted = listener.accept() => accepted,
        };
        let Ok((mut stream, _)) = accepted else {
            // Out of file descriptors and the like: back off briefly.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let handler = handler.clone();
        let config = config.clone();
        tokio::spawn(async move {
            let request = tokio::time::timeout(
                config.read_timeout,
                read_request(&mut stream, config.max_body),
            )
            .await
            .unwrap_or_else(|_| Err(Response::error(408, "request not received in time")));
            let response = match request {
                Err(response) => response,
                Ok(request) => {
                    let authorised = match &config.token {
                        None => true,
                        Some(token) => request.authorization.as_deref().is_some_and(|h| {
                            h.strip_prefix("Bearer ")
                                .is_some_and(|t| same_secret(t.trim().as_bytes(), token.as_bytes()))
                        }),
                    };
                    if authorised {
                        handler(request).await
                    } else {
                        Response::error(401, "missing or wrong bearer token")
                    }
                }
            };
            let _ = write_response(&mut stream, &response).await;
        });
    }
}

/// A client-side failure.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting, sending or receiving failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The response is not HTTP.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// No response in time.
    #[error("no response within {0:?}")]
    Timeout(Duration),
}

/// Sends one request to `addr` and returns the status and body.
///
/// # Errors
///
/// See [`ClientError`].
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
    token: Option<&str>,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), ClientError> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        let end =
            head_end(&response).ok_or_else(|| ClientError::Malformed("no end of head".into()))?;
        let status_line = std::str::from_utf8(&response[..end])
            .ok()
            .and_then(|h| h.lines().next())
            .ok_or_else(|| ClientError::Malformed("no status line".into()))?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| ClientError::Malformed(status_line.to_string()))?;
        Ok((status, response[end..].to_vec()))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(ClientError::Timeout(timeout)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"ab"));
    }

    fn status(bytes: &[u8], max_body: usize) -> u16 {
        parse_request(bytes, max_body).map_or_else(|r| r.status, |_| 200)
    }

    #[test]
    fn requests_parse_in_memory_as_on_a_socket() {
        let get = parse_request(
            b"GET /status HTTP/1.1\r\nHost: x\r\nauthorization:  Bearer t0k \r\n\r\n",
            16,
        );
        assert_eq!(
            get,
            Ok(Request {
                method: "GET".into(),
                path: "/status".into(),
                authorization: Some("Bearer t0k".into()),
                body: Vec::new(),
            })
        );
        // The body is what Content-Length says, whatever follows it.
        let post = parse_request(
            b"POST /exec HTTP/1.0\r\ncontent-length: 2\r\n\r\n{}extra",
            16,
        );
        assert_eq!(post.map(|r| r.body), Ok(b"{}".to_vec()));
        assert_eq!(
            status(b"POST /exec HTTP/1.1\r\nContent-Length: 17\r\n\r\n", 16),
            413
        );
        // A head just over the cap, read whole (it used to pass when the
        // end of the head came in the read that crossed the cap).
        let long_head = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(status(long_head.as_bytes(), 16), 413);
        let fits = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD - 25));
        assert_eq!(status(fits.as_bytes(), 16), 200);
        for bad in [
            &b"POST /exec HTTP/1.1\r\nContent-Length: 5\r\n\r\n{}"[..],
            b"POST /exec HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST /exec HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"GET /status\r\n\r\n",
            b"GET /status SPDY/3\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
            b"GET /status HTTP/1.1\r\n",
            b"",
        ] {
            assert_eq!(status(bad, 16), 400, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn heads_end_at_a_blank_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n"), None);
    }
}
