//! What the Redis and etcd providers share: sessions against the first endpoint that answers,
//! the read -> tree -> send step (nothing sent when the pairs did not change), debouncing of
//! change events, periodic resync, and back-off between failed sessions.
//!
//! A store's own module only opens a [`Session`]: a stream of change events and a way to read
//! every pair under the root.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};

use super::backoff::Backoff;
use super::kv_tree::kv_tree;
use super::{DEBOUNCE, MAX_DEBOUNCE};
use crate::config::{Contribution, ContributionBody, KvProviderConfig};

type ReadPairs =
    Box<dyn FnMut() -> BoxFuture<'static, Result<Vec<(String, String)>, String>> + Send>;

/// One connection to a store: its change events (the stream ends when the connection is
/// lost) and how to read every pair under the root.
pub(crate) struct Session {
    events: BoxStream<'static, ()>,
    read: ReadPairs,
    resync: Duration,
}

impl Session {
    /// `events` yields once per change notification; `read` lists the pairs under the root;
    /// the pairs are also read every `resync` without an event.
    pub(crate) fn new<E, R, F>(events: E, mut read: R, resync: Duration) -> Session
    where
        E: Stream<Item = ()> + Send + 'static,
        R: FnMut() -> F + Send + 'static,
        F: Future<Output = Result<Vec<(String, String)>, String>> + Send + 'static,
    {
        Session {
            events: events.boxed(),
            read: Box::new(move || read().boxed()),
            resync,
        }
    }
}

/// A KV provider's loop over sessions.
pub(crate) struct KvSource {
    provider: &'static str,
    config: KvProviderConfig,
    updates: mpsc::UnboundedSender<Contribution>,
    shutdown: watch::Receiver<bool>,
    last: Option<[u8; 32]>,
}

/// How a session ended.
enum Ended {
    Shutdown,
    Failed(String),
}

impl KvSource {
    pub(crate) fn new(
        provider: &'static str,
        config: KvProviderConfig,
        updates: mpsc::UnboundedSender<Contribution>,
        shutdown: watch::Receiver<bool>,
    ) -> KvSource {
        KvSource {
            provider,
            config,
            updates,
            shutdown,
            last: None,
        }
    }

    /// Opens sessions with `open` (endpoint in, session out), one endpoint after the other,
    /// until `shutdown` flips; a failed session is logged and the next one waits `backoff`.
    pub(crate) async fn run<O, F>(mut self, mut backoff: Backoff, open: O)
    where
        O: Fn(String) -> F,
        F: Future<Output = Result<Session, String>>,
    {
        let endpoints = self.config.endpoints.clone();
        let mut next = 0usize;
        loop {
            let Some(endpoint) = endpoints.get(next % endpoints.len().max(1)).cloned() else {
                return;
            };
            next = next.wrapping_add(1);
            let ended = match open(endpoint.clone()).await {
                Ok(session) => self.drive(session, &endpoint, &mut backoff).await,
                Err(reason) => Ended::Failed(reason),
            };
            let reason = match ended {
                Ended::Shutdown => return,
                Ended::Failed(reason) => reason,
            };
            let wait = backoff.failed();
            tracing::error!(
                provider = self.provider,
                endpoint,
                root_key = self.config.root_key,
                retry_in = ?wait,
                "store unavailable, last good configuration kept: {reason}"
            );
            if super::sleep_or_shutdown(wait, &mut self.shutdown).await {
                return;
            }
        }
    }

    /// Reads and sends the tree, then once per debounced burst of events and per resync.
    async fn drive(
        &mut self,
        mut session: Session,
        endpoint: &str,
        backoff: &mut Backoff,
    ) -> Ended {
        let mut first = true;
        loop {
            match (session.read)().await {
                Ok(pairs) => {
                    if backoff.is_failing() || first {
                        tracing::info!(provider = self.provider, endpoint, "store connected");
                    }
                    backoff.succeeded();
                    first = false;
                    if !self.send_if_changed(endpoint, &pairs) {
                        return Ended::Shutdown;
                    }
                }
                Err(reason) => return Ended::Failed(reason),
            }
            tokio::select! {
                event = session.events.next() => {
                    if event.is_none() {
                        return Ended::Failed("connection lost".to_string());
                    }
                    debounce(&mut session.events).await;
                }
                () = tokio::time::sleep(session.resync) => {}
                _ = self.shutdown.changed() => return Ended::Shutdown,
            }
        }
    }

    /// Sends the tree of `pairs` unless it is what was sent last. `false` when the gateway
    /// stopped listening.
    fn send_if_changed(&mut self, endpoint: &str, pairs: &[(String, String)]) -> bool {
        let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
        sorted.sort();
        let mut hash = Sha256::new();
        for (k, v) in sorted {
            hash.update((k.len() as u64).to_le_bytes());
            hash.update(k.as_bytes());
            hash.update((v.len() as u64).to_le_bytes());
            hash.update(v.as_bytes());
        }
        let digest: [u8; 32] = hash.finalize().into();
        if self.last == Some(digest) {
            return true;
        }
        self.last = Some(digest);
        let contribution = Contribution {
            provider: self.provider,
            origin: PathBuf::from(format!(
                "{} provider {endpoint} {}/",
                self.provider, self.config.root_key
            )),
            body: ContributionBody::Tree(kv_tree(&self.config.root_key, pairs)),
        };
        self.updates.send(contribution).is_ok()
    }
}

/// Waits until `events` has been quiet for [`DEBOUNCE`], at most [`MAX_DEBOUNCE`].
async fn debounce(events: &mut BoxStream<'static, ()>) {
    let deadline = tokio::time::Instant::now() + MAX_DEBOUNCE;
    loop {
        tokio::select! {
            () = tokio::time::sleep(DEBOUNCE) => return,
            () = tokio::time::sleep_until(deadline) => return,
            more = events.next() => if more.is_none() { return },
        }
    }
}
