//! Live reload: the config file(s) and the plugin directory are watched; a change (or SIGHUP)
//! rebuilds everything off the request threads and swaps the snapshot atomically.
//!
//! One reload = load and validate the config, rescan the plugin directory (only new or changed
//! components are compiled; a rejected file keeps the previous version), build a complete new
//! `Snapshot` (every middleware's config validated by its plugin), and store it in the shared
//! `ArcSwap`. Any error rejects the reload as a whole with `file:line: key: reason` lines, and
//! the old snapshot keeps serving. Requests in flight keep the snapshot (and plugin versions)
//! they started with; each new request loads the current one.
//!
//! Static settings (entry points, plugin directory, engine) are read once at start-up; a
//! reload that changes them logs that a restart is needed and applies the rest.
//!
//! A config that pins a plugin file not here yet (`super::pins`) waits: the old snapshot keeps
//! serving, the wait is reported (log and `/api/reloads`, with the pinned `file:line`), the
//! fetcher is asked for the files, and the config is tried again when one arrives. Provider
//! contributions that wait are kept and applied with it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify::{Event, RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};

use super::build::build_snapshot;
use super::pins;
use crate::config::{self, Contribution, LoadedConfig};
use crate::plugins::{PinnedFiles, PluginRegistry};
use crate::proxy::SharedSnapshot;

/// Quiet time after the last file event before a reload starts (editors and copies write in
/// bursts). A reload starts at the latest `MAX_DEBOUNCE` after the first event of a burst.
const DEBOUNCE: Duration = Duration::from_millis(50);
const MAX_DEBOUNCE: Duration = Duration::from_millis(500);

/// What the live gateway was built from.
struct Live {
    config: LoadedConfig,
    registry: Arc<PluginRegistry>,
    /// Each control-plane provider's last accepted contribution (`crate::providers`).
    contributions: BTreeMap<&'static str, Contribution>,
    /// Contributions newer than the accepted ones, waiting for pinned plugin files; tried
    /// with every reload until they are applied or replaced.
    waiting: BTreeMap<&'static str, Contribution>,
}

/// Pinned plugin files: the files here, and the hashes the fetcher is asked for.
pub struct PinWait {
    pub(crate) files: Arc<PinnedFiles>,
    pub(crate) wanted: watch::Sender<BTreeSet<String>>,
}

pub struct Reloader {
    config_path: PathBuf,
    plugin_dir: Option<PathBuf>,
    /// `experimental.localPlugins` directories (Traefik plugin layout), watched like the
    /// plugin directory.
    local_plugin_dirs: Vec<PathBuf>,
    snapshot: SharedSnapshot,
    live: Mutex<Live>,
    pins: PinWait,
}

/// How a reload went.
#[derive(Debug)]
pub enum ReloadOutcome {
    Applied,
    /// The config or a plugin's validation failed; the old snapshot keeps serving.
    Rejected(Vec<String>),
    /// The config pins plugin files not here yet; the old snapshot keeps serving until they
    /// arrive (the lines say which, where).
    Waiting(Vec<String>),
}

impl Reloader {
    pub fn new(
        config_path: PathBuf,
        config: LoadedConfig,
        registry: PluginRegistry,
        snapshot: SharedSnapshot,
        contributions: Vec<Contribution>,
        pins: PinWait,
    ) -> Arc<Self> {
        let plugin_dir = config.static_config.plugins.directory.clone();
        let local_plugin_dirs = config
            .static_config
            .plugins
            .local_plugins
            .iter()
            .map(|(_, dir)| dir.clone())
            .collect();
        Arc::new(Reloader {
            config_path,
            plugin_dir,
            local_plugin_dirs,
            snapshot,
            live: Mutex::new(Live {
                config,
                registry: Arc::new(registry),
                contributions: contributions.into_iter().map(|c| (c.provider, c)).collect(),
                waiting: BTreeMap::new(),
            }),
            pins,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Live> {
        // Only reloads take this lock, one at a time; a panic mid-reload leaves `Live` as it was.
        self.live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The paths whose changes trigger a reload: every config file, every certificate, key and
    /// CA file the config names (`tls`, HTTP and TCP servers transports; as at start-up), the plugin
    /// directory.
    pub fn watched_paths(&self) -> (Vec<PathBuf>, Option<PathBuf>) {
        let live = self.lock();
        let files = live
            .config
            .files()
            .into_iter()
            .chain(live.config.dynamic.tls.files())
            .chain(
                live.config
                    .dynamic
                    .http
                    .servers_transports
                    .values()
                    .flat_map(|t| t.tls.files()),
            )
            .chain(
                live.config
                    .dynamic
                    .tcp
                    .servers_transports
                    .values()
                    .filter_map(|t| t.tls.as_ref())
                    .flat_map(|tls| tls.files()),
            )
            .map(Path::to_path_buf)
            .collect();
        (files, self.plugin_dir.clone())
    }

    /// Rebuilds and swaps. Blocking and CPU-heavy (compiles changed plugins): call it from a
    /// blocking thread, inside the tokio runtime (transports need its handle).
    pub fn reload(&self, why: &str) -> ReloadOutcome {
        self.reload_with(why, None)
    }

    /// Tries the config again once a pinned plugin file arrived (`crate::providers::
    /// plugin_fetch`), with the contributions that waited for it. Blocking, as `reload`.
    pub fn plugin_arrived(&self) -> ReloadOutcome {
        self.reload_with("plugin fetched", None)
    }

    /// [`Reloader::reload`] with a provider's new contribution in place of its last accepted
    /// one. Accepted: it becomes that provider's last good contribution. Refused: the provider
    /// keeps its last good one (and the gateway its snapshot), and the refusal names the
    /// provider. Blocking, as `reload`.
    pub fn reload_provider(&self, candidate: Contribution) -> ReloadOutcome {
        let why = format!("provider {}", candidate.provider);
        let provider = candidate.provider;
        let outcome = self.reload_with(&why, Some(candidate));
        if let ReloadOutcome::Rejected(_) = &outcome {
            tracing::error!(
                provider,
                "the provider's change was refused; its last good configuration keeps serving"
            );
        }
        outcome
    }

    fn reload_with(&self, why: &str, candidate: Option<Contribution>) -> ReloadOutcome {
        let started = std::time::Instant::now();
        let mut live = self.lock();
        // The newest contribution of each provider: its candidate, else what waits, else its
        // last accepted one.
        let mut contributions = live.contributions.clone();
        contributions.extend(live.waiting.iter().map(|(p, c)| (*p, c.clone())));
        let candidate_provider = candidate.as_ref().map(|c| c.provider);
        if let Some(candidate) = candidate {
            contributions.insert(candidate.provider, candidate);
        }
        let inputs: Vec<Contribution> = contributions.values().cloned().collect();
        let config = match config::load_with(&self.config_path, &inputs) {
            Ok(c) => c,
            Err(errors) => {
                if let Some(provider) = candidate_provider {
                    live.waiting.remove(provider);
                }
                let errors = errors.0.iter().map(ToString::to_string).collect();
                return self.rejected(why, errors, started);
            }
        };
        if config.static_config.entry_points != live.config.static_config.entry_points
            || config.static_config.udp_entry_points != live.config.static_config.udp_entry_points
            || config.static_config.plugins.directory != self.plugin_dir
        {
            tracing::warn!("entry points or the plugin directory changed: restart to apply them");
        }
        let in_use: BTreeSet<String> = live
            .config
            .dynamic
            .http
            .middlewares
            .values()
            .chain(config.dynamic.http.middlewares.values())
            .map(|m| m.registry_name().into_owned())
            .collect();
        let mut registry = live.registry.rescan(self.plugin_dir.as_deref(), &in_use);
        let missing = pins::resolve_pins(&config, &mut registry, &self.pins.files);
        self.pins.wanted.send_replace(pins::hashes(&missing));
        if !missing.is_empty() {
            let sources = pins::sources(&config);
            let lines: Vec<String> = pins::missing_errors(&config, &missing, &sources)
                .iter()
                .map(ToString::to_string)
                .collect();
            if sources.is_empty() {
                if let Some(provider) = candidate_provider {
                    live.waiting.remove(provider);
                }
                return self.rejected(why, lines, started);
            }
            // The candidate waits with the files (what waited already still does).
            if let Some(provider) = candidate_provider
                && let Some(contribution) = contributions.remove(provider)
            {
                live.waiting.insert(provider, contribution);
            }
            return self.waiting(why, lines);
        }
        let snapshot = match build_snapshot(&config, &registry) {
            Ok(r) => r,
            Err(errors) => {
                if let Some(provider) = candidate_provider {
                    live.waiting.remove(provider);
                }
                let errors = errors.iter().map(ToString::to_string).collect();
                return self.rejected(why, errors, started);
            }
        };
        self.snapshot.store(Arc::new(snapshot));
        *live = Live {
            config,
            registry: Arc::new(registry),
            contributions,
            waiting: BTreeMap::new(),
        };
        // Every plugin of the serving snapshot is present and compiled.
        crate::admin::api::set_waiting_for_plugins(false);
        crate::admin::config_loaded(true, started.elapsed());
        crate::admin::api::record_reload(why, true, &[]);
        tracing::info!(trigger = why, "configuration reloaded");
        super::release_memory::release_after_config();
        ReloadOutcome::Applied
    }

    /// Reports a config that waits for pinned plugin files (the old snapshot keeps serving).
    fn waiting(&self, why: &str, lines: Vec<String>) -> ReloadOutcome {
        crate::admin::api::record_reload(why, false, &lines);
        for line in &lines {
            tracing::warn!(
                trigger = why,
                "configuration waits for a plugin file: {line}"
            );
        }
        ReloadOutcome::Waiting(lines)
    }

    fn rejected(
        &self,
        why: &str,
        errors: Vec<String>,
        started: std::time::Instant,
    ) -> ReloadOutcome {
        crate::admin::config_loaded(false, started.elapsed());
        crate::admin::api::record_reload(why, false, &errors);
        super::release_memory::release_after_config();
        for e in &errors {
            tracing::error!(
                trigger = why,
                "reload rejected, previous configuration kept: {e}"
            );
        }
        ReloadOutcome::Rejected(errors)
    }

    /// Starts watching the config files and the plugin directory. Call before serving, so no
    /// change made after the gateway reports it is listening can be missed. `providers`
    /// carries the control-plane providers' contributions (`crate::providers`).
    pub fn watch(
        self: &Arc<Self>,
        providers: mpsc::UnboundedReceiver<Contribution>,
        arrived: mpsc::UnboundedReceiver<String>,
    ) -> ReloadTrigger {
        let (tx, rx) = mpsc::unbounded_channel::<()>();
        let watcher = match self.start_watcher(tx) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!("file watching unavailable ({e}); reload with SIGHUP");
                None
            }
        };
        let hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!("cannot listen for SIGHUP: {e}");
                None
            }
        };
        ReloadTrigger {
            reloader: self.clone(),
            events: rx,
            hangup,
            _watcher: watcher,
            providers,
            arrived,
        }
    }

    fn start_watcher(
        &self,
        tx: mpsc::UnboundedSender<()>,
    ) -> notify::Result<notify::RecommendedWatcher> {
        let (files, plugin_dir) = self.watched_paths();
        let relevant = Relevance {
            files: files.clone(),
            plugin_dir: plugin_dir.clone(),
            local_plugin_dirs: self.local_plugin_dirs.clone(),
        };
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
            if let Ok(event) = event
                && !event.kind.is_access()
                && event.paths.iter().any(|p| relevant.matters(p))
            {
                let _ = tx.send(());
            }
        })?;
        // Watch directories, not files: editors and `mv` replace files, which ends a watch on
        // the old inode.
        let dirs: BTreeSet<PathBuf> = files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect();
        for dir in dirs.iter().filter(|d| Some(*d) != plugin_dir.as_ref()) {
            watcher.watch(dir, RecursiveMode::NonRecursive)?;
        }
        // Recursive: Traefik-layout plugins live in sub-directories (`<name>/plugin.wasm`).
        if let Some(d) = plugin_dir {
            watcher.watch(&d, RecursiveMode::Recursive)?;
        }
        for dir in &self.local_plugin_dirs {
            if let Err(e) = watcher.watch(dir, RecursiveMode::NonRecursive) {
                tracing::warn!(dir = %dir.display(), "cannot watch a local plugin directory: {e}");
            }
        }
        Ok(watcher)
    }
}

/// File events and SIGHUP, feeding reloads. Dropping it stops watching.
pub struct ReloadTrigger {
    reloader: Arc<Reloader>,
    events: mpsc::UnboundedReceiver<()>,
    hangup: Option<tokio::signal::unix::Signal>,
    _watcher: Option<notify::RecommendedWatcher>,
    /// Contributions of the control-plane providers, each applied by
    /// [`Reloader::reload_provider`].
    providers: mpsc::UnboundedReceiver<Contribution>,
    /// Hashes of pinned plugin files the fetcher kept ([`Reloader::plugin_arrived`]).
    arrived: mpsc::UnboundedReceiver<String>,
}

impl ReloadTrigger {
    /// Reloads on every (debounced) change or SIGHUP until `shutdown` flips. Reloads run one
    /// at a time on the blocking pool.
    /// Each contribution of a control-plane provider is applied the same way
    /// ([`Reloader::reload_provider`]), one reload at a time with the file reloads.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let why = tokio::select! {
                _ = shutdown.changed() => return,
                Some(()) = self.events.recv() => {
                    debounce(&mut self.events).await;
                    "file change"
                }
                Some(()) = recv_signal(&mut self.hangup) => "SIGHUP",
                Some(candidate) = self.providers.recv() => {
                    let reloader = self.reloader.clone();
                    let _ = tokio::task::spawn_blocking(move || reloader.reload_provider(candidate)).await;
                    continue;
                }
                Some(_) = self.arrived.recv() => {
                    // Several files of one config arrive together: one reload for all.
                    while self.arrived.try_recv().is_ok() {}
                    let reloader = self.reloader.clone();
                    let _ = tokio::task::spawn_blocking(move || reloader.plugin_arrived()).await;
                    continue;
                }
            };
            let reloader = self.reloader.clone();
            let _ = tokio::task::spawn_blocking(move || reloader.reload(why)).await;
        }
    }
}

/// Which file events matter: a config file, or a `.wasm` file (or a Traefik manifest) in the
/// plugin directory, its sub-directories or a local plugin directory.
struct Relevance {
    files: Vec<PathBuf>,
    plugin_dir: Option<PathBuf>,
    local_plugin_dirs: Vec<PathBuf>,
}

impl Relevance {
    fn matters(&self, path: &Path) -> bool {
        if self.files.iter().any(|f| f == path) {
            return true;
        }
        let in_plugin_dir = self
            .plugin_dir
            .as_deref()
            .is_some_and(|d| path.parent() == Some(d));
        let is_config = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        );
        let is_wasm = path.extension().and_then(|e| e.to_str()) == Some("wasm");
        let is_manifest = path.file_name().and_then(|n| n.to_str())
            == Some(crate::plugins::http_wasm::layout::MANIFEST);
        let in_plugin_tree = self
            .plugin_dir
            .as_deref()
            .is_some_and(|d| path.starts_with(d))
            || self
                .local_plugin_dirs
                .iter()
                .any(|d| path.parent() == Some(d.as_path()));
        (in_plugin_dir && is_wasm)
            || (in_plugin_tree && (is_wasm || is_manifest))
            || (is_config && self.files.iter().any(|f| f.parent() == path.parent()))
    }
}

/// Waits for a burst of events to settle.
async fn debounce(rx: &mut mpsc::UnboundedReceiver<()>) {
    let deadline = tokio::time::Instant::now() + MAX_DEBOUNCE;
    loop {
        let quiet = tokio::time::sleep(DEBOUNCE);
        tokio::select! {
            _ = quiet => return,
            _ = tokio::time::sleep_until(deadline) => return,
            more = rx.recv() => if more.is_none() { return },
        }
    }
}

async fn recv_signal(s: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match s {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}
