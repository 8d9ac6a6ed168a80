//! The one wasmtime `Engine` of the process: compiler settings, the pooling allocator, epochs.
//!
//! Created once at start-up. Every plugin, bundled or from the plugin directory, is compiled
//! with it, and every instance is allocated from its pool. An epoch ticker thread increments the
//! engine's epoch every `epoch_tick` while some call may still be running (`epoch_ticker`); a
//! hook call's deadline is counted in those ticks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::epoch_ticker::{EpochArm, EpochTicker};

/// How long the epoch ticker keeps ticking after the last armed deadline could have passed,
/// before it parks: long enough that a steady stream of requests never parks it (no wake-up
/// syscall on the request path), short enough that an idle gateway stops waking up.
const TICKER_IDLE_AFTER: Duration = Duration::from_secs(1);

/// Pool and engine sizing. Defaults follow the measurements in ARCHITECTURE.md ("The plugin
/// runtime").
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Period of the epoch ticker; deadlines are rounded up to whole ticks.
    pub epoch_tick: Duration,
    /// Largest linear memory any plugin may reach; per-middleware caps must not exceed it.
    pub max_memory_size: usize,
    /// Virtual address space reserved per linear-memory slot (plus a 32 MiB guard). At 4 GiB
    /// (the default) every 32-bit address a guest can form lands inside its reservation, so the
    /// compiled code carries no bounds check on loads and stores (an out-of-bounds access hits
    /// an unmapped page and traps); below 4 GiB each access compares against the memory's
    /// length first. Address space only: nothing is committed until a guest touches it, and
    /// `total_component_instances` × 2 slots × 4 GiB is 8 TiB of the 128 TiB a 64-bit Linux
    /// process has. The guest's growth is still capped by `max_memory_size` and the
    /// middleware's `memoryLimit`.
    pub memory_reservation: u64,
    /// Component instances alive at once across all middlewares (warm pools + in-flight).
    pub total_component_instances: u32,
    /// Memory kept resident (not decommitted) when a pooled slot is reused: cheap fresh instances.
    pub linear_memory_keep_resident: usize,
    /// Table bytes kept resident (reset with `memset`) when a slot is reused.
    pub table_keep_resident: usize,
    /// Whether slot resets ask Linux (6.7+, `PAGEMAP_SCAN`) which pages the instance dirtied
    /// and restore only those, instead of `memset`-ing the first `linear_memory_keep_resident`
    /// bytes whatever the instance touched. Falls back to the `memset` where unsupported.
    pub pagemap_scan: bool,
    /// Freed pool slots kept warm for their last module. Each keeps up to
    /// `linear_memory_keep_resident` bytes resident, so this bounds the RSS that plugin reloads
    /// (new modules, new slots) can pin: with wasmtime's default of 100, 100 reloads grew RSS
    /// by 24 MB; with 8, by 5 MB, flat after the first 20.
    pub max_unused_warm_slots: u32,
    /// Freed pool slots (memories, tables) queued before their reset is flushed and they go back
    /// into the pool; 1 (the default) flushes each as its instance is dropped. Batching saves
    /// `madvise` calls only for memory beyond `linear_memory_keep_resident`, and it kept
    /// replaced plugin versions alive: wasmtime clears the slots kept warm for a module when the
    /// module is dropped, but a slot still queued then escapes (every freed memory is queued,
    /// even one with nothing to decommit) and comes back warm for a module that no longer
    /// exists, holding that module's memory image and with it its compiled code (its `.cwasm`
    /// mapping) and up to `linear_memory_keep_resident` resident bytes, until another module
    /// takes the slot. With 8: 4–5 old versions of a reloaded plugin mapped at any time, and
    /// a p99 of per-request instances 1–3 µs higher (every 8th drop flushed the batch).
    pub decommit_batch_size: usize,
    /// On-disk cache of compiled components, keyed by content hash and engine settings
    /// (wasmtime's cache: entries that do not match are recompiled, never trusted). `None`
    /// disables it.
    pub cache_dir: Option<std::path::PathBuf>,
    /// Where compiled components are written and mapped from (`artifacts`), so their code is
    /// resident only where used. `None`: compiled in memory (through `cache_dir`).
    pub artifact_dir: Option<std::path::PathBuf>,
    /// Whether wasmtime writes `/tmp/perf-<pid>.map` (`ProfilingStrategy::PerfMap`) so that
    /// `perf report` names guest functions (`wasm[0]::function[12]::on_request`-style symbols)
    /// instead of bare addresses. Off by default: for profiling only (the `plugin_call` bench's
    /// `--engine perf-map=true`); the file grows with every module compiled and is never removed.
    pub perf_map: bool,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            epoch_tick: Duration::from_millis(1),
            max_memory_size: 256 << 20,
            memory_reservation: 4 << 30,
            total_component_instances: 1000,
            linear_memory_keep_resident: 192 << 10,
            table_keep_resident: 16 << 10,
            pagemap_scan: false,
            max_unused_warm_slots: 8,
            decommit_batch_size: 1,
            cache_dir: None,
            artifact_dir: None,
            perf_map: false,
        }
    }
}

/// `WASMGATE_PLUGIN_INSTANCES`: a smaller pool than [`EngineSettings::total_component_instances`]'s
/// default, read once at start-up. For running the gateway under tools that cannot map the
/// pool's address space (valgrind maps at most tens of GiB; 1000 instances reserve 8 TiB):
/// `bench/harness/instructions.py` sets it. Guests keep their 4 GiB reservations, so their
/// compiled code is the same as in production.
pub const INSTANCES_ENV: &str = "WASMGATE_PLUGIN_INSTANCES";

impl EngineSettings {
    /// These settings with `total_component_instances` from [`INSTANCES_ENV`] (see
    /// [`EngineSettings::with_instance_cap`]).
    pub fn with_instance_cap_from_env(self) -> Self {
        self.with_instance_cap(std::env::var(INSTANCES_ENV).ok().as_deref())
    }

    /// These settings with `total_component_instances` set to `cap` when it is a whole number of
    /// at least 1; unchanged otherwise (absent, empty, not a number, 0).
    pub fn with_instance_cap(self, cap: Option<&str>) -> Self {
        match cap.and_then(|v| v.trim().parse::<u32>().ok()) {
            Some(n) if n >= 1 => EngineSettings {
                total_component_instances: n,
                ..self
            },
            _ => self,
        }
    }
}

/// Where wasmtime keeps compiled components: `compiled/` in [`default_cache_dir`]. Its own
/// directory, because wasmtime's cache cleanup deletes every file in it that it did not write
/// (the pinned plugin files live beside it).
pub fn compiled_cache_dir() -> Option<std::path::PathBuf> {
    default_cache_dir().map(|dir| dir.join("compiled"))
}

/// Where compiled components are mapped from (`artifacts`): `artifacts/` in
/// [`default_cache_dir`].
pub fn artifact_dir() -> Option<std::path::PathBuf> {
    default_cache_dir().map(|dir| dir.join("artifacts"))
}

/// The gateway's cache directory (compiled plugins under `compiled/`, pinned plugin files under
/// `plugin-files/`): `$WASMGATE_CACHE_DIR` (`off` disables), else `$XDG_CACHE_HOME/wasmgate`,
/// else `$HOME/.cache/wasmgate`. Read once per engine created.
pub fn default_cache_dir() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    match std::env::var_os("WASMGATE_CACHE_DIR") {
        Some(v) if v == "off" => return None,
        // wasmtime's cache wants an absolute directory.
        Some(v) => return std::path::absolute(PathBuf::from(v)).ok(),
        None => {}
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("wasmgate"))
}

/// The engine plus its ticker; dropping it stops the ticker.
pub struct PluginEngine {
    engine: Engine,
    settings: EngineSettings,
    ticker: EpochTicker,
    /// Whether this engine's memories are `snapshot_memory`'s (the sibling below).
    shows_memories: bool,
    /// The sibling engine of per-request snapshots (`snapshot`): the same settings, its
    /// memories made by `snapshot_memory` so that the host can copy them, and its instances
    /// allocated on demand (the pooling allocator makes its own memories). Made when the first
    /// per-request middleware whose plugin may be snapshotted is configured; `None` if it could
    /// not be made.
    viewed: std::sync::OnceLock<Option<Arc<PluginEngine>>>,
    /// Instances alive in the viewed engine, which has no pool to cap them
    /// ([`PluginEngine::instance_ticket`]).
    live: Arc<AtomicUsize>,
}

/// A place among a capped number of live instances (the viewed engine's, a middleware's
/// snapshotted ones); given back when the instance holding it is dropped.
pub struct InstanceTicket(Arc<AtomicUsize>);

impl InstanceTicket {
    /// A place if fewer than `cap` are taken from `count`. One compare-and-swap.
    pub fn take(count: &Arc<AtomicUsize>, cap: usize) -> Option<InstanceTicket> {
        count
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < cap).then_some(n + 1)
            })
            .ok()?;
        Some(InstanceTicket(count.clone()))
    }
}

impl Drop for InstanceTicket {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl PluginEngine {
    pub fn new(settings: EngineSettings) -> wasmtime::Result<Self> {
        Self::build(settings, false)
    }

    /// The sibling engine whose memories the host can see (per-request snapshots), made on
    /// first use: an engine and its epoch ticker thread (idle until a call is armed).
    pub fn viewed(&self) -> Option<&Arc<PluginEngine>> {
        if self.shows_memories {
            return None;
        }
        self.viewed
            .get_or_init(|| {
                Self::build(self.settings.clone(), true)
                    .map(Arc::new)
                    .inspect_err(|e| {
                        tracing::warn!(
                            "per-request snapshots are off: cannot make their engine: {e:#}"
                        )
                    })
                    .ok()
            })
            .as_ref()
    }

    /// A place for one more instance in this engine, or `None` when
    /// `total_component_instances` are alive: the cap the pooling allocator sets for the other
    /// engine, kept by the viewed one (whose instances are allocated on demand) this way.
    pub fn instance_ticket(&self) -> Option<InstanceTicket> {
        let cap = usize::try_from(self.settings.total_component_instances).unwrap_or(usize::MAX);
        InstanceTicket::take(&self.live, cap)
    }

    /// An engine with pooled instances, or (`shows_memories`) one whose instances are made on
    /// demand with memories the host can see. A fresh instance costs ≈ 9 µs in the first and
    /// ≈ 44 µs in the second (mappings made and faulted in per instance, bench/README): the
    /// second only makes the instances that per-request snapshots then reuse.
    fn build(settings: EngineSettings, shows_memories: bool) -> wasmtime::Result<Self> {
        let mut pool = PoolingAllocationConfig::default();
        let instances = settings.total_component_instances;
        pool.total_component_instances(instances)
            // A component built by wit-bindgen has a few core instances (the module, shims)
            // and one or two memories and tables.
            .total_core_instances(instances.saturating_mul(4))
            .total_memories(instances.saturating_mul(2))
            .total_tables(instances.saturating_mul(4))
            .max_memories_per_component(4)
            .max_tables_per_component(8)
            .max_memory_size(settings.max_memory_size)
            .linear_memory_keep_resident(settings.linear_memory_keep_resident)
            .table_keep_resident(settings.table_keep_resident)
            .pagemap_scan(if settings.pagemap_scan {
                wasmtime::Enabled::Auto
            } else {
                wasmtime::Enabled::No
            })
            .decommit_batch_size(settings.decommit_batch_size.max(1))
            .max_unused_warm_slots(settings.max_unused_warm_slots);

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            // Guard pages and reservations are virtual memory only; a 4 GiB reservation elides
            // the guests' bounds checks (`EngineSettings::memory_reservation`).
            .memory_reservation(settings.memory_reservation)
            .memory_guard_size(32 << 20)
            .max_wasm_stack(512 << 10);
        if shows_memories {
            // Copy-on-write images need memories wasmtime mapped itself.
            config
                .allocation_strategy(InstanceAllocationStrategy::OnDemand)
                .memory_init_cow(false)
                .with_host_memory(Arc::new(super::snapshot_memory::ViewedMemoryCreator));
        } else {
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        if settings.perf_map {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        if let Some(dir) = &settings.cache_dir {
            let mut cache = wasmtime::CacheConfig::new();
            cache.with_directory(dir);
            config.cache(Some(wasmtime::Cache::new(cache)?));
        }
        let engine = Engine::new(&config)?;

        let ticker = EpochTicker::start(engine.clone(), settings.epoch_tick, TICKER_IDLE_AFTER)?;
        Ok(PluginEngine {
            engine,
            settings,
            ticker,
            shows_memories,
            viewed: std::sync::OnceLock::new(),
            live: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// What every entry into a plugin sets its deadline with (`EpochArm::arm`), so that the
    /// ticker runs while the call may.
    pub fn epoch_arm(&self) -> &EpochArm {
        self.ticker.arm()
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// Epoch ticks for a deadline: rounded up, plus one because the current tick is already
    /// partly spent.
    pub fn deadline_ticks(&self, deadline: Duration) -> u64 {
        let tick = self.settings.epoch_tick.as_nanos().max(1);
        let ticks = deadline.as_nanos().div_ceil(tick);
        u64::try_from(ticks).unwrap_or(u64::MAX).saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(module (memory 1) (func (export "oob") (result i32) (i32.load (i32.const -16))))`: a
    /// load at 0xFFFF_FFF0, far past the module's one page.
    const LOAD_PAST_MEMORY: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type: () -> i32
        0x03, 0x02, 0x01, 0x00, // function 0 has type 0
        0x05, 0x03, 0x01, 0x00, 0x01, // memory: min 1 page
        0x07, 0x07, 0x01, 0x03, b'o', b'o', b'b', 0x00, 0x00, // export "oob" = function 0
        0x0a, 0x09, 0x01, 0x07, 0x00, // code: one body, no locals
        0x41, 0x70, 0x28, 0x02, 0x00, 0x0b, // i32.load (i32.const -16), end
    ];

    #[test]
    fn the_viewed_engine_caps_its_live_instances_as_the_pool_caps_the_other() {
        let engine = PluginEngine::new(EngineSettings {
            total_component_instances: 2,
            ..EngineSettings::default()
        })
        .expect("engine");
        let viewed = engine.viewed().expect("the viewed engine");
        assert!(viewed.viewed().is_none(), "no sibling of its own");
        let first = viewed.instance_ticket().expect("room for one");
        let second = viewed.instance_ticket().expect("room for two");
        assert!(viewed.instance_ticket().is_none(), "two alive: full");
        drop(first);
        let third = viewed.instance_ticket().expect("a place given back");
        drop((second, third));
        assert_eq!(viewed.live.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_perf_map_setting_names_compiled_guest_functions_for_perf() {
        assert!(!EngineSettings::default().perf_map, "off by default");
        let engine = PluginEngine::new(EngineSettings {
            perf_map: true,
            ..EngineSettings::default()
        })
        .expect("engine");
        wasmtime::Module::new(engine.engine(), LOAD_PAST_MEMORY).expect("module");
        let path = format!("/tmp/perf-{}.map", std::process::id());
        let map = std::fs::read_to_string(&path).expect("wasmtime wrote the perf map");
        let _ = std::fs::remove_file(&path);
        assert!(map.contains("wasm[0]::function[0]"), "{map}");
    }

    #[test]
    fn a_guest_load_past_its_memory_traps_with_bounds_checks_elided() {
        let settings = EngineSettings::default();
        assert!(
            settings.memory_reservation >= 1 << 32,
            "the default reservation covers every 32-bit address, so no bounds checks"
        );
        let engine = PluginEngine::new(settings).expect("engine");
        // The pooled engine, and the viewed one whose memories `snapshot_memory` maps: both must
        // leave the reservation and guard the elided checks count on.
        let viewed = engine.viewed().expect("the viewed engine");
        for engine in [&engine, &**viewed] {
            let module = wasmtime::Module::new(engine.engine(), LOAD_PAST_MEMORY).expect("module");
            let mut store = wasmtime::Store::new(engine.engine(), ());
            store.set_epoch_deadline(u64::MAX / 2);
            let instance = wasmtime::Instance::new(&mut store, &module, &[]).expect("instance");
            let oob = instance
                .get_typed_func::<(), i32>(&mut store, "oob")
                .expect("export");
            let err = oob.call(&mut store, ()).expect_err("the load traps");
            assert_eq!(
                err.downcast_ref::<wasmtime::Trap>(),
                Some(&wasmtime::Trap::MemoryOutOfBounds),
                "{err:?}"
            );
            // The store (and its pool slot) is still usable after the trap.
            assert!(oob.call(&mut store, ()).is_err());
        }
    }

    #[test]
    fn an_instance_cap_is_taken_only_when_it_is_a_whole_number_of_at_least_one() {
        let default = EngineSettings::default().total_component_instances;
        let cap = |v: Option<&str>| {
            EngineSettings::default()
                .with_instance_cap(v)
                .total_component_instances
        };
        assert_eq!(cap(Some("4")), 4);
        assert_eq!(cap(Some(" 16 ")), 16);
        for refused in [
            None,
            Some(""),
            Some("0"),
            Some("-3"),
            Some("many"),
            Some("1e3"),
        ] {
            assert_eq!(cap(refused), default, "{refused:?}");
        }
    }
}
