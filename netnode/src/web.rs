//! The browser peer's page, served by `kiln-node start --web ADDR`.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the page (`web/index.html`) |
//! | `GET /page.js`, `GET /worker.js` | its scripts |
//! | `GET /libp2p.js` | js-libp2p and its parts, bundled (`web/README.md`) |
//! | `GET /node.json` | `{"peer_id", "ws_port"}`: what the page dials |
//!
//! That is all this listener serves: it may face the world, so it answers no
//! route of the control API (`api.rs`), which stays on its own address
//! behind its token. Everything a tab does after loading the page goes
//! through libp2p, as a peer (`net.rs` limits what a browser peer may ask).
//! The files are compiled into the binary: serving them needs no build step
//! and no files beside the node.

use std::sync::Arc;
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::http::{self, Request, Response, ServerConfig};
use crate::shared::Shared;

/// The page's files: path, content type, bytes (`/` is `/index.html`).
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "/index.html",
        "text/html; charset=utf-8",
        include_bytes!("../web/index.html"),
    ),
    (
        "/page.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/page.js"),
    ),
    (
        "/worker.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/worker.js"),
    ),
    (
        "/libp2p.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/libp2p.js"),
    ),
];

/// Serves the page until `shutdown`.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let config = ServerConfig {
        token: None,
        // Requests carry no body; a small one is read so that the route
        // can refuse it as such.
        max_body: 1024,
        read_timeout: Duration::from_secs(10),
    };
    let handler = move |request: Request| {
        let shared = Arc::clone(&shared);
        async move { handle(&shared, &request).await }
    };
    http::serve(listener, config, handler, shutdown).await;
}

async fn handle(shared: &Shared, request: &Request) -> Response {
    let path = match request.path.split('?').next().unwrap_or("") {
        "/" => "/index.html",
        path => path,
    };
    if request.method != "GET" {
        return Response::error(405, "the page's server answers GET only");
    }
    if path == "/node.json" {
        return node_info(shared).await;
    }
    match FILES.iter().find(|(p, _, _)| *p == path) {
        Some(&(_, content_type, body)) => Response {
            status: 200,
            content_type,
            body: body.to_vec(),
        },
        None => Response::error(404, "no such page"),
    }
}

/// What the page needs to dial the node: its peer id and the port of its
/// WebSocket listener (on the host the page was loaded from).
async fn node_info(shared: &Shared) -> Response {
    let net = shared.status().await;
    let ws_port = net.listen_addrs.iter().find_map(|addr| {
        let mut port = None;
        let mut ws = false;
        for p in addr.iter() {
            match p {
                Protocol::Tcp(n) => port = Some(n),
                Protocol::Ws(_) => ws = true,
                _ => {}
            }
        }
        port.filter(|_| ws)
    });
    match ws_port {
        Some(port) => Response::json(
            200,
            &json!({ "peer_id": shared.peer_id.to_string(), "ws_port": port }),
        ),
        None => Response::error(503, "the node is not listening on WebSocket"),
    }
}
