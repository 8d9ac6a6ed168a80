//! Entrypoint listeners: accept TCP connections and serve HTTP/1.1 and HTTP/2 (h2c prior
//! knowledge) on them with hyper, handing each request to the handler with the current runtime.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::handler::{Connection, handle};
use crate::runtime::Runtime;

/// The live runtime; replaced whole on reload, loaded once per request.
pub type SharedRuntime = Arc<ArcSwap<Runtime>>;

/// A bound entrypoint, ready to serve.
pub struct Entrypoint {
    pub name: Arc<str>,
    pub listener: TcpListener,
}

impl Entrypoint {
    pub async fn bind(name: &str, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Entrypoint {
            name: Arc::from(name),
            listener,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until `shutdown` flips to true; each connection is served on its own
    /// task. Accept errors (e.g. too many open files) are logged and retried after a pause.
    ///
    /// On shutdown the listener closes at once (new connections are refused), idle keep-alive
    /// connections are closed, and requests in flight get up to `grace` to finish; then the
    /// remaining connections are dropped.
    pub async fn serve(
        self,
        runtime: SharedRuntime,
        mut shutdown: watch::Receiver<bool>,
        grace: Duration,
    ) {
        let local = match self.listener.local_addr() {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(entrypoint = &*self.name, "cannot read local address: {e}");
                return;
            }
        };
        let graceful = GracefulShutdown::new();
        loop {
            let accepted = tokio::select! {
                r = self.listener.accept() => r,
                _ = shutdown.changed() => break,
            };
            let (stream, client) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(entrypoint = &*self.name, "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let conn = Arc::new(Connection {
                entrypoint: self.name.clone(),
                client,
                local,
                tls: false,
            });
            let runtime = runtime.clone();
            let service = service_fn(move |req| {
                let conn = conn.clone();
                // One snapshot per request: a reload between two requests of a keep-alive
                // connection takes effect on the next request.
                let snapshot = runtime.load_full();
                async move { Ok::<_, Infallible>(handle(snapshot, &conn, req).await) }
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            let watched = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(e) = watched.await {
                    tracing::debug!(%client, "connection ended with error: {e}");
                }
            });
        }
        drop(self.listener);
        let open = graceful.count();
        tracing::info!(
            entrypoint = &*self.name,
            open,
            ?grace,
            "draining connections"
        );
        if tokio::time::timeout(grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                entrypoint = &*self.name,
                ?grace,
                "grace period over; dropping connections still open"
            );
        }
    }
}
