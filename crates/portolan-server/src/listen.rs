//! The accept loop: one task per connection, served by hyper (HTTP/1.1) with the limits a server
//! facing hostile clients needs and `axum::serve` does not set — a header read timeout
//! (a client that does not finish its request head in time is dropped; it also ends an idle
//! keep-alive connection, since waiting for the next request is waiting for its head), a
//! bound on open connections (beyond it new ones wait in the kernel's backlog, so a flood
//! of idle sockets cannot take every file descriptor), bounds on a request head's size
//! (64 KiB, at most 100 headers: 431 beyond) and on a request's whole time (a body sent a
//! byte at a time is answered 408), and a graceful shutdown that stops accepting and lets
//! requests in flight finish. Each request carries the peer address
//! (`ConnectInfo<SocketAddr>`), which the failed-auth throttle keys on.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// How long a client has to send a request's head (line and headers), counted from
    /// when the server starts waiting for it — on a kept-alive connection, from the end of
    /// the previous answer, so this is also the idle timeout (default 10 s).
    pub header_read: Duration,
    /// Most connections open at once (default 512); more wait to be accepted.
    pub max_connections: usize,
    /// How long one request may take from its head to its answer, body upload included
    /// (default 60 s); beyond it the answer is 408 and the connection is closed.
    pub request: Duration,
}

/// Largest request head (request line and headers) read, in bytes; hyper's default
/// (about 400 KiB) let one request carry a 300 KB method.
pub const MAX_HEAD: usize = 64 * 1024;

/// Most headers in one request.
pub const MAX_HEADERS: usize = 100;

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_read: Duration::from_secs(10),
            max_connections: 512,
            request: Duration::from_secs(60),
        }
    }
}

/// Answers 431 to a request whose head (method, target, header names and values) is larger
/// than [`MAX_HEAD`]: hyper's buffer bound is only approximate (it parses whatever its last
/// read brought in, up to about twice the bound).
async fn head_within_limit(
    req: Request<Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let size = req.method().as_str().len()
        + req.uri().to_string().len()
        + req
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    if size > MAX_HEAD {
        let mut res = axum::response::Response::new(Body::from(format!(
            "{{\"error\":\"the request head is {size} bytes; at most {MAX_HEAD}\",\"field\":\"headers\"}}"
        )));
        *res.status_mut() = axum::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
        res.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        res.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        return res;
    }
    next.run(req).await
}

/// Serves `app` on `listener` until `shutdown` completes, then drains the connections.
pub async fn run(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (stop_tx, stop_rx) = watch::channel(());
    let (open_tx, open_rx) = watch::channel(());
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut shutdown = std::pin::pin!(shutdown);
    let app = app
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            limits.request,
        ))
        .layer(axum::middleware::from_fn(head_within_limit));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // out of file descriptors, a connection reset before accept…: keep going
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req.map(Body::new)
        });
        let mut stop = stop_rx.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read)
                .max_buf_size(MAX_HEAD)
                .max_headers(MAX_HEADERS)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, %peer, "connection ended");
                    }
                }
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(open);
            drop(slot);
        });
    }
    drop(listener);
    drop(stop_rx);
    // tell every connection to finish its request in flight and close
    let _ = stop_tx.send(());
    drop(open_rx);
    open_tx.closed().await;
}
