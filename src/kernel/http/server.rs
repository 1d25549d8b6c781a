//! The HTTP server loop, in place of `axum::serve`, for the limits it lacks: a deadline for a
//! request's headers (which also ends idle keep-alive connections), a cap on open connections
//! (past it, new ones wait in the kernel's accept queue), and a shutdown that cannot be held up.
//! On the signal it stops accepting (under socket activation new connections then wait in the
//! queue for the next process), answers with `Connection: close` so clients stop reusing
//! connections before they close, and waits for them to go, at most for the lame-duck window:
//! busy clients leave within one request, so a restart is not held up by the full window. Then
//! it drains in-flight requests until a deadline and drops what is left. Request bodies have
//! their own deadline (`layers.rs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, header};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// The server's limits; see the settings of the same names.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_read: Duration,
    pub max_connections: usize,
    pub lame_duck: Duration,
    pub shutdown_grace: Duration,
}

/// What every accepted connection shares.
struct Acceptor {
    router: Router,
    builder: auto::Builder<TokioExecutor>,
    slots: Arc<Semaphore>,
    closing: Arc<AtomicBool>,
    graceful: GracefulShutdown,
    header_read: Duration,
}

/// Serves `router` on `listener` until `shutdown` turns true, then winds down within the limits.
pub async fn run(router: Router, listener: TcpListener, limits: Limits, mut shutdown: watch::Receiver<bool>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read);
    let acceptor = Acceptor {
        router,
        builder,
        slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
        closing: Arc::new(AtomicBool::new(false)),
        graceful: GracefulShutdown::new(),
        header_read: limits.header_read,
    };
    acceptor.accept_until(&listener, stopped(&mut shutdown)).await;
    drop(listener);
    acceptor.closing.store(true, Ordering::Release);
    let lame_duck_over = tokio::time::Instant::now() + limits.lame_duck;
    while acceptor.graceful.count() > 0 && tokio::time::Instant::now() < lame_duck_over {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if tokio::time::timeout(limits.shutdown_grace, acceptor.graceful.shutdown()).await.is_err() {
        tracing::warn!(event = "shutdown_deadline", "connections still open at the shutdown deadline were dropped");
    }
}

impl Acceptor {
    /// Accepts and serves connections until `until` resolves.
    async fn accept_until(&self, listener: &TcpListener, until: impl std::future::Future<Output = ()>) {
        tokio::pin!(until);
        loop {
            let slot = tokio::select! {
                slot = self.slots.clone().acquire_owned() => slot,
                () = &mut until => return,
            };
            let Ok(slot) = slot else { return };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors or a transient network error: back off briefly.
                        tracing::warn!(error = %error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut until => return,
            };
            let service = connection_service(self.router.clone(), peer, self.closing.clone());
            let (builder, watcher, first_bytes) = (self.builder.clone(), self.graceful.watcher(), self.header_read);
            tokio::spawn(async move {
                // hyper-util reads the first bytes (HTTP/1 or HTTP/2?) with no timer of its own: a
                // client that connects and sends nothing would hold its slot for ever.
                let mut first = [0u8; 1];
                if let Ok(Ok(1..)) = tokio::time::timeout(first_bytes, stream.peek(&mut first)).await {
                    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection.into_owned()).await;
                }
                drop(slot);
            });
        }
    }
}

/// Resolves once shutdown is asked for (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// The router for one connection: it sees the peer's address, and closes the connection after
/// each response once shutdown has begun.
fn connection_service(
    router: Router,
    peer: SocketAddr,
    closing: Arc<AtomicBool>,
) -> hyper_util::service::TowerToHyperService<
    impl tower::Service<
        Request<hyper::body::Incoming>,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future = impl Send,
    > + Clone,
> {
    let service = tower::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        let closing = closing.clone();
        async move {
            let mut response = router.oneshot(req.map(axum::body::Body::new)).await?;
            if closing.load(Ordering::Acquire) {
                response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response)
        }
    });
    hyper_util::service::TowerToHyperService::new(service)
}
