//! `maxConnsPerHost`: a connector that caps open upstream connections per server.
//!
//! Each new connection first takes a permit from its server's semaphore and keeps it inside
//! the connection object, so the permit returns when hyper drops the connection (closed, idle
//! timeout, error). A request that needs a new connection while the server is at its cap waits
//! for a permit up to the dial timeout, then fails like a dial failure (502). Cost: one map
//! lookup under a mutex per *new connection*; nothing per request on a pooled connection.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::permitted::Permitted;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An `HttpConnector` with an optional per-server connection cap.
#[derive(Clone)]
pub struct LimitedConnector {
    inner: HttpConnector,
    per_host: Option<usize>,
    wait: Duration,
    semaphores: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

impl LimitedConnector {
    pub fn new(inner: HttpConnector, per_host: Option<usize>, wait: Duration) -> Self {
        LimitedConnector {
            inner,
            per_host,
            wait,
            semaphores: Arc::default(),
        }
    }

    fn semaphore_for(&self, uri: &Uri) -> Option<Arc<Semaphore>> {
        let limit = self.per_host?;
        let key = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default();
        let mut map = self.semaphores.lock().unwrap_or_else(|p| p.into_inner());
        Some(
            map.entry(key)
                .or_insert_with(|| Arc::new(Semaphore::new(limit)))
                .clone(),
        )
    }
}

/// A TCP connection holding its server's permit (if limited) for as long as it lives.
pub type LimitedConnection = Permitted<TokioIo<TcpStream>>;

impl tower_service::Service<Uri> for LimitedConnector {
    type Response = LimitedConnection;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<LimitedConnection, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        tower_service::Service::<Uri>::poll_ready(&mut self.inner, cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let semaphore = self.semaphore_for(&uri);
        let mut inner = self.inner.clone();
        let wait = self.wait;
        Box::pin(async move {
            let permit = match semaphore {
                Some(s) => Some(
                    tokio::time::timeout(wait, s.acquire_owned())
                        .await
                        .map_err(|_| format!("maxConnsPerHost reached for {uri}: no connection freed within {wait:?}"))?
                        .map_err(|e| format!("connection limiter closed: {e}"))?,
                ),
                None => None,
            };
            let io = tower_service::Service::<Uri>::call(&mut inner, uri).await?;
            Ok(LimitedConnection {
                io,
                _permit: permit,
            })
        })
    }
}

impl Connection for LimitedConnection {
    fn connected(&self) -> Connected {
        self.io.connected()
    }
}
