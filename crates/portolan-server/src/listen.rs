//! The accept loop: one task per connection, served by hyper (HTTP/1.1) with the limits a server
//! facing hostile clients needs and `axum::serve` does not set — a header read timeout
//! (a client that does not finish its request head in time is dropped; it also ends an idle
//! keep-alive connection, since waiting for the next request is waiting for its head), a
//! bound on open connections (beyond it new ones wait in the kernel's backlog, so a flood
//! of idle sockets cannot take every file descriptor), and a graceful shutdown that stops
//! accepting and lets requests in flight finish. Each request carries the peer address
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
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_read: Duration::from_secs(10),
            max_connections: 512,
        }
    }
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
