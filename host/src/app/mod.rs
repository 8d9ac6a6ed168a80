//! Start-up, reload and shutdown of a gateway process: config -> engine -> registry ->
//! routing snapshot -> listeners. `main.rs` only parses arguments and calls in here.
//!
//! - `build`, `build_services`: a loaded config -> a [`Snapshot`] (route tables, plugin
//!   chains, services, transports);
//! - `reload`: watch the config and plugin files, rebuild and swap the snapshot;
//! - `provider_start`: the control-plane providers started before the first snapshot;
//! - `check`: `wasmgate check`, every problem of every stage in one run.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::config::{self, LoadedConfig};
use crate::plugins::pinned_files::PINNED_FILES_DIR;
use crate::plugins::{EngineSettings, PinnedFiles, PluginEngine, PluginRegistry};
use crate::proxy::{Entrypoint, Snapshot};
use build::build_snapshot_pending;
pub use per_core::WorkerModel;
use pins::MissingPin;
use reload::{PinWait, Reloader};

mod acme_names;
pub mod build;
mod build_http_wasm;
mod build_native;
pub mod build_services;
mod build_tcp;
mod build_tcp_middlewares;
mod build_udp;
pub mod check;
mod config_rejection;
mod json_position;
pub mod logging;
pub mod outbound_grant;
mod per_core;
mod pins;
pub mod plugin_tool;
mod plugin_view;
mod provider_start;
mod release_memory;
pub mod reload;
mod server_status;
mod trace_client;

pub use crate::plugins::engine::{compiled_cache_dir, default_cache_dir};

/// Where plugin files pinned by hash are kept: `plugin-files/` in [`default_cache_dir`]
/// (`None`, memory only, when the cache is off).
pub fn pinned_files_dir() -> Option<std::path::PathBuf> {
    default_cache_dir().map(|dir| dir.join(PINNED_FILES_DIR))
}

/// Everything a config needs before it can serve: the plugin engine, the registry, the snapshot.
pub struct Prepared {
    pub config: LoadedConfig,
    pub registry: PluginRegistry,
    pub snapshot: Snapshot,
}

/// Loads and validates a config completely (plugins compiled, every middleware's config
/// validated by its plugin). Errors are `file:line: key: reason` lines.
/// Plugins pinned by hash must be in the plugin directory or the pinned-file cache (nothing is
/// fetched here).
pub fn prepare(path: &Path) -> Result<Prepared, Vec<String>> {
    let files = PinnedFiles::new(pinned_files_dir());
    let (prepared, missing) = prepare_with(path, &[], &files, |_| Ok(()))?;
    if missing.is_empty() {
        return Ok(prepared);
    }
    let errors = pins::missing_errors(&prepared.config, &missing, &[]);
    Err(errors.iter().map(ToString::to_string).collect())
}

/// [`prepare`], running `setup` on the loaded config before the snapshot is built (`run`
/// installs the metrics and access-log recorder there, so routes resolve their handles).
/// Pinned plugin files are taken from `files`; the pins found nowhere are returned with a
/// snapshot whose routers using them answer 503 (`build::build_snapshot_pending`), unless the
/// config has no source to fetch them from (an error).
fn prepare_with(
    path: &Path,
    contributions: &[config::Contribution],
    files: &PinnedFiles,
    setup: impl FnOnce(&LoadedConfig) -> Result<(), Vec<String>>,
) -> Result<(Prepared, Vec<MissingPin>), Vec<String>> {
    let config = config::load_with(path, contributions)
        .map_err(|errs| errs.0.iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
    setup(&config)?;
    let plugins = &config.static_config.plugins;
    let settings = EngineSettings {
        epoch_tick: plugins.epoch_tick,
        cache_dir: compiled_cache_dir(),
        artifact_dir: crate::plugins::engine::artifact_dir(),
        ..EngineSettings::default()
    }
    .with_instance_cap_from_env();
    let engine = PluginEngine::new(settings)
        .map_err(|e| vec![format!("cannot start the plugin engine: {e:#}")])?;
    let mut registry = PluginRegistry::load(Arc::new(engine), plugins.directory.as_deref())
        .map_err(|e| {
            let dir = plugins
                .directory
                .as_deref()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            vec![
                config
                    .error_at(&["plugins", "directory"], format!("{dir}: {e}"))
                    .to_string(),
            ]
        })?
        .with_local_plugins(&plugins.local_plugins)
        .map_err(|e| {
            vec![
                config
                    .error_at(&["experimental", "localPlugins"], e.to_string())
                    .to_string(),
            ]
        })?;
    let missing = pins::resolve_pins(&config, &mut registry, files);
    let sources = pins::sources(&config);
    if !missing.is_empty() && sources.is_empty() {
        let errors = pins::missing_errors(&config, &missing, &sources);
        return Err(errors.iter().map(ToString::to_string).collect());
    }
    let snapshot = build_snapshot_pending(&config, &registry, &pins::middlewares(&missing))
        .map_err(|errs| errs.iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
    let prepared = Prepared {
        config,
        registry,
        snapshot,
    };
    Ok((prepared, missing))
}

/// Serves until SIGTERM or SIGINT, reloading on config or plugin changes and on SIGHUP.
/// Prints one line per entrypoint to stdout once it listens: `entrypoint NAME listening on
/// ADDR` (tests and scripts read the bound port from it). On SIGTERM: stop accepting, let
/// in-flight requests finish within each entrypoint's grace period, exit 0.
pub async fn run(path: &Path) -> anyhow::Result<()> {
    run_with(path, WorkerModel::Shared).await
}

/// [`run`], with the TCP entrypoints served as `workers` says (`per_core`).
pub async fn run_with(path: &Path, workers: WorkerModel) -> anyhow::Result<()> {
    if let WorkerModel::PerCore(n) = workers {
        // Before any pool is built: the upstream pools keep idle connections per worker.
        crate::upstream::worker::set_count(n);
    }
    let mut signals = ShutdownSignals::catch();
    // Absolute, so file events (which carry absolute paths) match the config's files.
    let path = std::fs::canonicalize(path)
        .with_context(|| format!("cannot open config {}", path.display()))?;
    let setup = |config: &LoadedConfig| {
        install_recorder(config)?;
        install_tracing(config)?;
        install_acme(config)
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let files = Arc::new(PinnedFiles::new(pinned_files_dir()));
    let (wanted, wanted_rx) = watch::channel(std::collections::BTreeSet::new());
    let (arrived_tx, arrived) = tokio::sync::mpsc::unbounded_channel();
    let fetch = provider_start::FetchSetup {
        files: files.clone(),
        wanted: wanted_rx,
        arrived: arrived_tx,
    };
    let mut providers = provider_start::StartedProviders::start(&path, &shutdown_rx, fetch).await;
    let mut first = std::mem::take(&mut providers.first);
    let started = std::time::Instant::now();
    let mut attempt = prepare_with(&path, &first, &files, setup);
    if let Err(errors) = &attempt
        && !first.is_empty()
    {
        // The providers' first contributions are refused: start from the files alone; each
        // contribution is offered again as a reload, which reports why it is refused.
        tracing::warn!(
            "starting without the providers' first configuration ({} error(s))",
            errors.len()
        );
        providers.offer_again(std::mem::take(&mut first));
        attempt = prepare_with(&path, &[], &files, setup);
    }
    let (prepared, missing) = match attempt {
        Ok(p) => p,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            anyhow::bail!("invalid configuration: {} error(s)", errors.len());
        }
    };
    crate::admin::config_loaded(true, started.elapsed());
    if missing.is_empty() {
        crate::admin::api::record_reload("start-up", true, &[]);
    } else {
        // Serving, but not ready: routers using the missing plugins answer 503, and so does
        // `/ping`, until the fetcher brings the files and the reload that follows applies.
        crate::admin::api::set_waiting_for_plugins(true);
        let sources = pins::sources(&prepared.config);
        let lines: Vec<String> = pins::missing_errors(&prepared.config, &missing, &sources)
            .iter()
            .map(ToString::to_string)
            .collect();
        for line in &lines {
            tracing::warn!("not ready, waiting for a plugin file: {line}");
        }
        crate::admin::api::record_reload("start-up", false, &lines);
        wanted.send_replace(pins::hashes(&missing));
    }
    let snapshot = Arc::new(ArcSwap::from_pointee(prepared.snapshot));
    let entry_points = prepared.config.static_config.entry_points.clone();
    let udp_entry_points = prepared.config.static_config.udp_entry_points.clone();
    // Watch before listening: a change made once the gateway says it listens is never missed.
    let reloader = Reloader::new(
        path.clone(),
        prepared.config,
        prepared.registry,
        snapshot.clone(),
        first,
        PinWait { files, wanted },
    );
    let updates = std::mem::replace(
        &mut providers.updates,
        tokio::sync::mpsc::unbounded_channel().1,
    );
    let reload_task = tokio::spawn(reloader.watch(updates, arrived).run(shutdown_rx.clone()));
    let mut tasks = Vec::new();
    if let WorkerModel::PerCore(n) = workers {
        let shutdown_for =
            |ep: &config::EntryPointConfig| delayed(shutdown_rx.clone(), ep.accept_grace);
        tasks.extend(per_core::start(n, &entry_points, &snapshot, shutdown_for).await?);
    }
    let shared_entry_points = match workers {
        WorkerModel::Shared => entry_points.iter().collect::<Vec<_>>(),
        WorkerModel::PerCore(_) => Vec::new(),
    };
    for (name, ep) in shared_entry_points {
        let tproxy = ep.transparent.as_ref().is_some_and(|t| t.tproxy);
        let entrypoint = Entrypoint::bind(name, ep.address, ep.reuse_port, tproxy)
            .await
            .with_context(|| format!("entrypoint {name}: cannot listen on {}", ep.address))?
            .with_transparent(ep.transparent.clone())
            .with_observability(ep.observability);
        let local = entrypoint.local_addr()?;
        println!("entrypoint {name} listening on {local}");
        tracing::info!(entrypoint = name.as_str(), %local, "listening");
        let (snapshot, shutdown) = (
            snapshot.clone(),
            delayed(shutdown_rx.clone(), ep.accept_grace),
        );
        let ep = ep.clone();
        tasks.push(tokio::spawn(async move {
            entrypoint.serve_as(&ep, snapshot, shutdown).await
        }));
    }
    for (name, ep) in &udp_entry_points {
        let entrypoint = crate::udp::UdpEntrypoint::bind(name, ep.address, ep.timeout)
            .await
            .with_context(|| format!("entrypoint {name}: cannot listen on {}/udp", ep.address))?;
        let local = entrypoint.local_addr()?;
        println!("entrypoint {name} listening on {local}/udp");
        tracing::info!(entrypoint = name.as_str(), %local, "listening (UDP)");
        tasks.push(tokio::spawn(
            entrypoint.serve(udp_routes(&snapshot, name), shutdown_rx.clone()),
        ));
    }
    // Every entrypoint is serving: what starting used and serving does not goes back.
    release_memory::release_after_config();

    signals.recv().await;
    crate::admin::api::set_draining();
    tracing::info!(
        "shutting down: /ping answers 503; each entry point stops accepting after its \
         requestAcceptGraceTimeout and waits for the requests in flight"
    );
    let _ = shutdown_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    let _ = reload_task.await;
    let flush = || crate::admin::flush_access_log(std::time::Duration::from_secs(2));
    let _ = tokio::task::spawn_blocking(flush).await;
    crate::admin::trace::shutdown(std::time::Duration::from_secs(2)).await;
    tracing::info!("stopped");
    Ok(())
}

/// The live snapshot's service for UDP entrypoint `name`, read by its listener once per new
/// session.
fn udp_routes(
    snapshot: &Arc<ArcSwap<crate::proxy::Snapshot>>,
    name: &str,
) -> crate::udp::UdpRouteSource {
    let (snapshot, name) = (snapshot.clone(), name.to_string());
    Arc::new(move || snapshot.load().udp.get(&name).cloned())
}

/// A shutdown signal for one entry point: `shutdown` flipped, `accept_grace` later (Traefik's
/// `requestAcceptGraceTimeout`: the entry point serves as usual meanwhile). Zero: `shutdown`
/// itself.
fn delayed(
    shutdown: watch::Receiver<bool>,
    accept_grace: std::time::Duration,
) -> watch::Receiver<bool> {
    if accept_grace.is_zero() {
        return shutdown;
    }
    let (tx, rx) = watch::channel(false);
    let mut shutdown = shutdown;
    tokio::spawn(async move {
        if shutdown.wait_for(|&stop| stop).await.is_ok() {
            tokio::time::sleep(accept_grace).await;
        }
        let _ = tx.send(true);
    });
    rx
}

/// Starts the ACME resolvers (`tls::acme`): their stored certificates are served from the first
/// snapshot on; orders start once routers ask for names.
fn install_acme(config: &LoadedConfig) -> Result<(), Vec<String>> {
    let resolvers = &config.static_config.certificate_resolvers;
    crate::tls::acme::install(resolvers).map_err(|(name, e)| {
        let at = ["certificatesResolvers", name.as_str(), "acme", "storage"];
        vec![config.error_at(&at, e.to_string()).to_string()]
    })
}

/// Installs the process's metrics and access-log recorder from the static config (`admin`).
fn install_recorder(config: &LoadedConfig) -> Result<(), Vec<String>> {
    let s = &config.static_config;
    let recorder = crate::admin::Recorder::new(
        s.metrics.as_ref(),
        s.access_log.as_ref(),
        s.api.is_some(),
        s.entry_points.keys().map(String::as_str),
    )
    .map_err(|e| {
        let path = s
            .access_log
            .as_ref()
            .and_then(|l| l.file_path.as_ref())
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        vec![
            config
                .error_at(
                    &["accessLog", "filePath"],
                    format!("cannot open {path}: {e}"),
                )
                .to_string(),
        ]
    })?;
    crate::admin::install(recorder);
    Ok(())
}

/// Starts tracing (`admin::trace`) when the static config has `tracing`: the exporter's HTTP
/// client (TLS files read here) and its export task. Once per process; a second call (start-up
/// retried without the providers' contributions) keeps the first.
fn install_tracing(config: &LoadedConfig) -> Result<(), Vec<String>> {
    let Some(tracing_config) = &config.static_config.tracing else {
        return Ok(());
    };
    if crate::admin::trace::tracer().is_some() {
        return Ok(());
    }
    let site = |reason: &str| config.error_at(&["tracing", "otlp", "http", "tls"], reason);
    let client = trace_client::ExportClient::shared(tracing_config.otlp_http.tls.as_ref(), site)
        .map_err(|e| vec![e.to_string()])?;
    crate::admin::trace::install(tracing_config, client).map_err(|e| {
        let at = ["tracing", "otlp", "http", "endpoint"];
        vec![config.error_at(&at, e.to_string()).to_string()]
    })
}

/// SIGTERM and SIGINT, caught from the moment this is built: built before any listener is
/// bound, so a signal that arrives once the gateway says it listens (a supervisor stopping it
/// right after start) drains and exits 0 instead of killing the process by the default action.
struct ShutdownSignals {
    term: Option<tokio::signal::unix::Signal>,
    int: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignals {
    fn catch() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        for (name, r) in [("SIGTERM", &term), ("SIGINT", &int)] {
            if let Err(e) = r {
                tracing::warn!("cannot catch {name}: {e}");
            }
        }
        ShutdownSignals {
            term: term.ok(),
            int: int.ok(),
        }
    }

    /// Resolves at the first SIGTERM or SIGINT.
    async fn recv(&mut self) {
        async fn one(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = one(&mut self.term) => {},
            _ = one(&mut self.int) => {},
        }
    }
}
