//! The process's runtime figures for `/debug/vars` (`api.debug`): uptime, open connections by
//! entrypoint, tokio's worker and task counts, memory from `/proc/self/statm`, plugin pools.
//! Everything is read when the page is asked for; nothing is counted for it on the request
//! path (connections are read from the entrypoints' slot semaphores, registered at start-up).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// When the process started serving (the first snapshot built), wall clock and monotonic.
static STARTED: OnceLock<(SystemTime, Instant)> = OnceLock::new();

/// Each entrypoint's connection slots: (name, semaphore, size); every open connection holds one.
type Slots = Vec<(String, Arc<tokio::sync::Semaphore>, usize)>;
static SLOTS: Mutex<Slots> = Mutex::new(Vec::new());

/// Notes the start time (the first call wins). Config time.
pub fn mark_started() {
    STARTED.get_or_init(|| (SystemTime::now(), Instant::now()));
}

/// Registers an entrypoint's connection slots. Start-up, once per entrypoint.
pub(super) fn watch(entrypoint: &str, slots: &Arc<tokio::sync::Semaphore>, size: usize) {
    super::metrics::lock(&SLOTS).push((entrypoint.to_string(), slots.clone(), size));
}

/// The `/debug/vars` document. Per request to it.
pub fn document() -> Value {
    let (started, since) = *STARTED.get_or_init(|| (SystemTime::now(), Instant::now()));
    let connections: serde_json::Map<String, Value> = super::metrics::lock(&SLOTS)
        .iter()
        .map(|(name, slots, size)| {
            let open = size.saturating_sub(slots.available_permits());
            (name.clone(), json!(open))
        })
        .collect();
    let tokio = tokio::runtime::Handle::try_current().map_or(Value::Null, |handle| {
        let m = handle.metrics();
        json!({
            "workers": m.num_workers(),
            "aliveTasks": m.num_alive_tasks(),
            "globalQueueDepth": m.global_queue_depth(),
        })
    });
    json!({
        "startedAt": super::rfc3339_utc(started),
        "startedAtUnix": started.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        "uptimeSeconds": since.elapsed().as_secs_f64(),
        "openConnections": connections,
        "tokio": tokio,
        "memory": memory(),
        "plugins": plugin_pools(),
        "accessLogDroppedLines": super::recorder()
            .and_then(|r| r.metrics.as_ref())
            .map(|m| {
                super::metrics::lock(&m.access_log_dropped)
                    .load(std::sync::atomic::Ordering::Relaxed)
            }),
        "tracingDroppedSpans": super::trace::tracer().map(|t| t.dropped_spans()),
        "notAvailable": [
            "memstats (Go runtime figures: see memory)",
            "cmdline (may hold secrets)",
            "pprof (no profiler is built in)",
        ],
    })
}

/// Resident and virtual size in bytes from `/proc/self/statm` (Linux); `null` elsewhere.
fn memory() -> Value {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return Value::Null;
    };
    let mut fields = statm.split_whitespace().map(|f| f.parse::<u64>().ok());
    let (Some(Some(size)), Some(Some(resident))) = (fields.next(), fields.next()) else {
        return Value::Null;
    };
    let page = page_size();
    json!({ "rssBytes": resident * page, "virtualBytes": size * page })
}

fn page_size() -> u64 {
    // SAFETY: sysconf reads a constant of the running system; it has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|s| *s > 0).unwrap_or(4096)
}

/// Every middleware's instance pool: live, idle, created.
fn plugin_pools() -> Value {
    let Some(table) = super::RECORDER.get().and_then(|r| r.plugins.as_ref()) else {
        return json!([]);
    };
    let pools: Vec<Value> = super::plugin_metrics::lock_in_use(table)
        .values()
        .map(|c| {
            let (live, idle) = c.instances();
            json!({
                "middleware": c.middleware,
                "plugin": c.plugin,
                "hash": c.hash,
                "live": live,
                "idle": idle,
                "created": c.instantiations(),
            })
        })
        .collect();
    Value::Array(pools)
}
