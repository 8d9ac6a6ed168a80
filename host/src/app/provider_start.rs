//! Start-up of the control-plane providers: they start before the first snapshot is built, and
//! start-up waits a little for each one's first contribution, so that the first snapshot
//! already holds their routes and the file config may name their entities (`svc@redis`).
//!
//! A provider that has not answered when its wait ends (its `pollTimeout`, or [`KV_WAIT`] for a
//! KV store) contributes nothing at start-up; its task keeps trying and its first contribution
//! is applied as a reload. Costs one extra read of the config files at start-up (for the
//! provider settings) and at most the longest wait.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::config::{self, Contribution, ProvidersConfig};
use crate::plugins::PinnedFiles;
use crate::providers::PluginFetcher;

/// What the pinned-plugin fetcher (`crate::providers::plugin_fetch`) is started with: where
/// files are kept, the hashes wanted (set by start-up and reloads), where arrivals are sent.
pub(crate) struct FetchSetup {
    pub(crate) files: Arc<PinnedFiles>,
    pub(crate) wanted: watch::Receiver<BTreeSet<String>>,
    pub(crate) arrived: mpsc::UnboundedSender<String>,
}

/// How long start-up waits for a KV store's first tree.
const KV_WAIT: Duration = Duration::from_secs(2);

/// The providers' tasks once started: what they sent in time, and the channel of the rest.
pub(crate) struct StartedProviders {
    pub(crate) first: Vec<Contribution>,
    pub(crate) updates: mpsc::UnboundedReceiver<Contribution>,
    /// Kept to hand back contributions the first snapshot could not take (`offer_again`).
    sender: mpsc::UnboundedSender<Contribution>,
    _tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl StartedProviders {
    /// Starts the providers the config at `path` names (none when it does not load this far:
    /// start-up then reports the config's errors) and the pinned-plugin fetcher over
    /// `plugins.store` and the KV providers, and waits for the providers' first contributions.
    pub(crate) async fn start(
        path: &Path,
        shutdown: &watch::Receiver<bool>,
        fetch: FetchSetup,
    ) -> StartedProviders {
        let (providers, store) = match config::load_for_check(path) {
            (Some(loaded), _) => (
                loaded.static_config.providers,
                loaded.static_config.plugins.store,
            ),
            (None, _) => (ProvidersConfig::default(), None),
        };
        let (sender, mut updates) = mpsc::unbounded_channel();
        let mut tasks = crate::providers::start(&providers, &sender, shutdown);
        if let Some(fetcher) = PluginFetcher::new(store.as_deref(), &providers, fetch.files) {
            let run = fetcher.run(fetch.wanted, fetch.arrived, shutdown.clone());
            tasks.push(tokio::spawn(run));
        }
        let mut waiting: BTreeSet<&'static str> = BTreeSet::new();
        let mut wait = Duration::ZERO;
        if let Some(http) = &providers.http {
            waiting.insert("http");
            wait = wait.max(http.poll_timeout);
        }
        for (name, on) in [
            ("redis", providers.redis.is_some()),
            ("etcd", providers.etcd.is_some()),
        ] {
            if on {
                waiting.insert(name);
                wait = wait.max(KV_WAIT);
            }
        }
        let deadline = tokio::time::Instant::now() + wait;
        let mut first: Vec<Contribution> = Vec::new();
        while !waiting.is_empty() {
            match tokio::time::timeout_at(deadline, updates.recv()).await {
                Ok(Some(contribution)) => {
                    waiting.remove(contribution.provider);
                    first.retain(|c| c.provider != contribution.provider);
                    first.push(contribution);
                }
                Ok(None) | Err(_) => break,
            }
        }
        for provider in waiting {
            tracing::warn!(
                provider,
                "no configuration from the provider yet; starting without it"
            );
        }
        StartedProviders {
            first,
            updates,
            sender,
            _tasks: tasks,
        }
    }

    /// Queues `contributions` to be applied as reloads once the gateway runs (the first
    /// snapshot was built without them because they were refused).
    pub(crate) fn offer_again(&self, contributions: Vec<Contribution>) {
        for contribution in contributions {
            let _ = self.sender.send(contribution);
        }
    }
}
