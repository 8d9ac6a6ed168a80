//! Thread-per-core serving (`WASMGATE_WORKER_MODEL=per-core`, the default with two or more
//! workers): N worker threads, each with its
//! own current-thread runtime and its own listener per TCP entrypoint (with `reusePort: true`,
//! its own socket, all bound to the same address with `SO_REUSEPORT`, so the kernel spreads new
//! connections over them; otherwise one shared socket, see [`bind_for_workers`]). A
//! connection lives and dies on the worker that accepted it: its reads, writes, plugin calls
//! and upstream requests run on that thread, with no work-stealing scheduler and no wake-up
//! crossing to another core, as nginx's, HAProxy's and Pingora's workers do. What the workers
//! share is what a reload swaps (the snapshot), the connection slots of each entrypoint
//! (`maxConnections` stays a per-entrypoint limit) and the process-wide services (plugin
//! engine, access-log writer, metrics). The control tasks (reloads, providers, health checks,
//! UDP entrypoints, shutdown) stay on the runtime that called [`start`].
//!
//! When it runs: once at start-up; then each worker until shutdown. Costs one thread per worker
//! and one socket per worker and entrypoint.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::{Semaphore, watch};

use crate::config::EntryPointConfig;
use crate::proxy::{ConnectionLimits, Entrypoint, SharedSnapshot};

/// How entrypoint connections are spread over threads (`WASMGATE_WORKER_MODEL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerModel {
    /// One tokio runtime serves every connection: current-thread for one worker (what the
    /// benchmarks compare against single-worker proxies), work-stealing for more.
    Shared,
    /// This many worker threads (two or more), each with its own runtime and listeners.
    PerCore(usize),
}

impl WorkerModel {
    /// Reads `WASMGATE_WORKER_MODEL`: `per-core` (the default) or `shared`, over `workers`
    /// threads (`WASMGATE_WORKER_THREADS`, else one per core). One worker is always the shared
    /// current-thread runtime: per-core would only add a control thread. Runs once at start.
    pub fn from_env(workers: Option<usize>) -> Result<WorkerModel, String> {
        let workers =
            workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        match std::env::var("WASMGATE_WORKER_MODEL")
            .ok()
            .as_deref()
            .map(str::trim)
        {
            None | Some("") | Some("per-core") if workers > 1 => Ok(WorkerModel::PerCore(workers)),
            None | Some("") | Some("per-core") | Some("shared") => Ok(WorkerModel::Shared),
            Some(other) => Err(format!(
                "WASMGATE_WORKER_MODEL: {other:?} is neither \"per-core\" nor \"shared\""
            )),
        }
    }
}

/// Binds every TCP entrypoint for the workers (`bind_for_workers`), prints and logs each address
/// once, and starts the workers. `shutdown_for` gives an entrypoint's shutdown signal (its
/// `requestAcceptGraceTimeout` applied). The returned handles end once every worker has stopped
/// accepting and drained its connections.
pub async fn start(
    workers: usize,
    entry_points: &BTreeMap<String, EntryPointConfig>,
    snapshot: &SharedSnapshot,
    shutdown_for: impl Fn(&EntryPointConfig) -> watch::Receiver<bool>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let workers = workers.max(1);
    tracing::info!(
        workers,
        "per-core workers: a runtime and listeners per worker thread"
    );
    let mut per_worker: Vec<Vec<WorkerPlan>> = (0..workers).map(|_| Vec::new()).collect();
    for (name, ep) in entry_points {
        let (listeners, address) = bind_for_workers(name, ep, workers).await?;
        println!("entrypoint {name} listening on {address}");
        tracing::info!(entrypoint = name.as_str(), local = %address, "listening");
        let max = ConnectionLimits::from(&ep.limits)
            .max_connections
            .clamp(1, u32::MAX as usize);
        let slots = Arc::new(Semaphore::new(max));
        let shutdown = shutdown_for(ep);
        for (plans, listener) in per_worker.iter_mut().zip(listeners) {
            plans.push(WorkerPlan {
                name: name.clone(),
                config: ep.clone(),
                listener,
                slots: slots.clone(),
                shutdown: shutdown.clone(),
            });
        }
    }
    let mut handles = Vec::with_capacity(workers);
    for (worker, plans) in per_worker.into_iter().enumerate() {
        let snapshot = snapshot.clone();
        // Sent when the worker's thread ends, however it ends (the sender drops with it).
        let (ended, on_end) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(format!("wasmgate-w{worker}"))
            .spawn(move || {
                let _ended = ended;
                run_worker(worker, plans, snapshot);
            })
            .context("cannot start a worker thread")?;
        handles.push(tokio::spawn(async move {
            let _ = on_end.await;
        }));
    }
    Ok(handles)
}

/// The listeners of one entrypoint, one per worker, deregistered from the calling runtime.
/// With `reusePort: true`, one socket per worker, all with `SO_REUSEPORT` (the first picks the
/// port when the config says `:0`, the others bind the port it got): the kernel balances new
/// connections over them. With `reusePort: false` (Traefik's default) the port must stay closed
/// to other processes, which `SO_REUSEPORT` on our sockets would let in: one socket, without
/// it, shared by every worker (a duplicated descriptor each; a new connection wakes every
/// worker's poll and one of them accepts it, as nginx's workers share a listening socket).
async fn bind_for_workers(
    name: &str,
    ep: &EntryPointConfig,
    workers: usize,
) -> anyhow::Result<(Vec<std::net::TcpListener>, std::net::SocketAddr)> {
    let tproxy = ep.transparent.as_ref().is_some_and(|t| t.tproxy);
    let mut listeners = Vec::with_capacity(workers);
    let mut address = ep.address;
    while listeners.len() < workers {
        let bound = Entrypoint::bind(name, address, ep.reuse_port, tproxy)
            .await
            .with_context(|| format!("entrypoint {name}: cannot listen on {address}"))?;
        address = bound.local_addr()?;
        let listener = bound.listener.into_std()?;
        if !ep.reuse_port {
            for _ in 1..workers {
                listeners.push(listener.try_clone()?);
            }
        }
        listeners.push(listener);
    }
    Ok((listeners, address))
}

/// One worker's share of an entrypoint.
struct WorkerPlan {
    name: String,
    config: EntryPointConfig,
    listener: std::net::TcpListener,
    slots: Arc<Semaphore>,
    shutdown: watch::Receiver<bool>,
}

/// A worker thread's life: its runtime, its listeners, until each entrypoint has drained.
fn run_worker(worker: usize, plans: Vec<WorkerPlan>, snapshot: SharedSnapshot) {
    crate::upstream::worker::set_current(worker);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(worker, "cannot start the worker's runtime: {e}");
            return;
        }
    };
    runtime.block_on(async move {
        let mut tasks = Vec::with_capacity(plans.len());
        for plan in plans {
            let listener = match tokio::net::TcpListener::from_std(plan.listener) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(
                        worker,
                        entrypoint = plan.name.as_str(),
                        "cannot take the listener over: {e}"
                    );
                    continue;
                }
            };
            let ep = &plan.config;
            let snapshot = snapshot.clone();
            let entrypoint = Entrypoint::on(&plan.name, listener)
                .with_transparent(ep.transparent.clone())
                .with_observability(ep.observability)
                .with_slots(plan.slots);
            tasks.push(tokio::spawn(async move {
                entrypoint
                    .serve_as(&plan.config, snapshot, plan.shutdown)
                    .await
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
}
