//! Hot reload of plugins and dynamic config while serving, and graceful shutdown.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::proc_memory::{anon_rss_bytes, executable_file_mappings};
use crate::support::{Client, Config, Gateway, Upstream, UpstreamBehavior, fixture_wasm};

/// Bound for "the change is visible": a hang guard, not a performance assertion. The measured
/// latencies are printed (the issue note reports them).
const VISIBLE_WITHIN: Duration = Duration::from_secs(10);

fn tag_config(up: &Upstream) -> String {
    Config::new()
        .plugin_dir()
        .route_through("r", "PathPrefix(`/`)", "app", "tag")
        .service("app", &up.url())
        .middlewares("    tag:\n      plugin: { name: tag }\n")
        .yaml()
}

/// Replaces a plugin file atomically (write a temp file, rename over), as deploy tools do.
fn install(plugin_dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = plugin_dir.join(format!(".{name}.wasm.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, plugin_dir.join(format!("{name}.wasm"))).unwrap();
}

/// Polls until a response carries `x-plugin-version: want`; returns how long it took.
async fn until_version(c: &Client, gw: &Gateway, want: &str) -> Duration {
    let started = Instant::now();
    loop {
        let r = c.get(&gw.url("/probe"), "t.test", &[]).await;
        if r.header("x-plugin-version") == Some(want) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < VISIBLE_WITHIN,
            "version {want} not served within {VISIBLE_WITHIN:?}; log:\n{}",
            gw.log()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Steady load: one request every 5 ms (about 200/s) until stopped; returns every status.
fn steady_load(
    c: &Client,
    url: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<u16>> {
    let c = c.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        let mut inflight = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            tick.tick().await;
            let (c, url) = (c.clone(), url.clone());
            inflight.push(tokio::spawn(async move {
                c.get(&url, "t.test", &[]).await.status.as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for t in inflight {
            statuses.push(t.await.unwrap());
        }
        statuses
    })
}

fn summary(latencies: &mut [Duration]) -> String {
    latencies.sort();
    format!(
        "median {:?}, max {:?} over {}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
        latencies.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_a_plugin_under_load_fails_no_request() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&tag_config(&up), &[("tag", fixture_wasm("fixture_tag_v1"))]);
    let versions = [
        std::fs::read(fixture_wasm("fixture_tag_v1")).unwrap(),
        std::fs::read(fixture_wasm("fixture_tag_v2")).unwrap(),
    ];
    let c = Client::http1();
    until_version(&c, &gw, "1").await;

    let stop = Arc::new(AtomicBool::new(false));
    let load = steady_load(&c, gw.url("/load"), stop.clone());
    let mut latencies = Vec::new();
    for i in 0..20 {
        let (bytes, want) = if i % 2 == 0 {
            (&versions[1], "2")
        } else {
            (&versions[0], "1")
        };
        install(&gw.plugin_dir(), "tag", bytes);
        latencies.push(until_version(&c, &gw, want).await);
        // Keep the load running between swaps (about 5 s of load in all).
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let statuses = load.await.unwrap();
    let failed = statuses.iter().filter(|s| !(200..300).contains(*s)).count();
    eprintln!(
        "plugin swap: write -> served: {}; {} requests under load",
        summary(&mut latencies),
        statuses.len()
    );
    assert!(
        statuses.len() > 500,
        "the load ran ({} requests)",
        statuses.len()
    );
    assert_eq!(failed, 0, "non-2xx responses during plugin swaps");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_wrong_world_or_truncated_plugin_never_replaces_the_good_one() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&tag_config(&up), &[("tag", fixture_wasm("fixture_tag_v1"))]);
    let c = Client::http1();
    until_version(&c, &gw, "1").await;
    let v2 = std::fs::read(fixture_wasm("fixture_tag_v2")).unwrap();
    let bad: [(&str, Vec<u8>); 3] = [
        (
            "corrupt",
            b"\0asm\x0d\x00\x01\x00 this is not a component".to_vec(),
        ),
        (
            "wrong world",
            std::fs::read(fixture_wasm("fixture_other_world")).unwrap(),
        ),
        ("truncated", v2[..v2.len() / 2].to_vec()),
    ];
    for (what, bytes) in bad {
        let before = gw.log_count("plugin rejected");
        install(&gw.plugin_dir(), "tag", &bytes);
        await_log_count_past(
            &gw,
            "plugin rejected",
            before,
            &format!("{what} file was not reported"),
        )
        .await;
        for _ in 0..5 {
            let r = c.get(&gw.url("/"), "t.test", &[]).await;
            assert_eq!(r.status, 200, "{what}");
            assert_eq!(
                r.header("x-plugin-version"),
                Some("1"),
                "after a {what} file the old version keeps serving"
            );
        }
    }
    let log = gw.log();
    assert!(
        log.contains("hash="),
        "the rejection names the content hash: {log}"
    );
    assert!(
        log.contains("tag.wasm"),
        "the rejection names the file: {log}"
    );
    // The watcher still works after the rejections: a good file is picked up.
    install(&gw.plugin_dir(), "tag", &v2);
    until_version(&c, &gw, "2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_plugin_file_keeps_serving_its_last_good_version() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&tag_config(&up), &[("tag", fixture_wasm("fixture_tag_v1"))]);
    let c = Client::http1();
    until_version(&c, &gw, "1").await;
    std::fs::remove_file(gw.plugin_dir().join("tag.wasm")).unwrap();
    assert!(
        gw.wait_for_log("keeping its last good version"),
        "{}",
        gw.log()
    );
    let r = c.get(&gw.url("/"), "t.test", &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.header("x-plugin-version")),
        (200, Some("1"))
    );
}

fn routes_config(stable_upstream: &Upstream, extra: Option<&Upstream>) -> String {
    let config = Config::new()
        .route_through(
            "stable",
            "PathPrefix(`/load`) || PathPrefix(`/probe`)",
            "stable",
            "hdrs",
        )
        .service("stable", &stable_upstream.url())
        .middlewares(
            "    hdrs:\n      headers:\n        customResponseHeaders: { X-Upstream-Seen: \"yes\" }\n",
        );
    match extra {
        Some(extra) => config
            .route("extra", "PathPrefix(`/extra`)", "extra")
            .service("extra", &extra.url()),
        None => config,
    }
    .yaml()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewriting_the_config_under_load_fails_no_request_on_stable_routes() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let extra = Upstream::start("extra").await;
    let gw = Gateway::start(&routes_config(&a, None), &[]);
    let c = Client::http1();
    let stop = Arc::new(AtomicBool::new(false));
    let load = steady_load(&c, gw.url("/load"), stop.clone());
    let mut latencies = Vec::new();
    for i in 0..20 {
        // Alternate: add /extra and move the stable route to upstream b; then remove /extra and
        // move it back to a.
        let (stable, with_extra, want) = if i % 2 == 0 {
            (&b, Some(&extra), "b")
        } else {
            (&a, None, "a")
        };
        let written = Instant::now();
        std::fs::write(gw.config_path(), routes_config(stable, with_extra)).unwrap();
        loop {
            let r = c.get(&gw.url("/probe"), "t.test", &[]).await;
            if r.text() == want {
                break;
            }
            assert!(
                written.elapsed() < VISIBLE_WITHIN,
                "config {i} not applied; log:\n{}",
                gw.log()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        latencies.push(written.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let extra_status = c.get(&gw.url("/extra"), "t.test", &[]).await.status;
        assert_eq!(extra_status, if with_extra.is_some() { 200 } else { 404 });

        if i == 10 {
            // An invalid config in between changes nothing.
            let rejected = gw.log_count("reload rejected");
            std::fs::write(
                gw.config_path(),
                "http:\n  routers:\n    broken: { rule: \"Hots(`x`)\", service: nowhere }\n",
            )
            .unwrap();
            await_log_count_past(
                &gw,
                "reload rejected",
                rejected,
                "invalid config not reported",
            )
            .await;
            assert_eq!(
                c.get(&gw.url("/probe"), "t.test", &[]).await.text(),
                want,
                "the old config keeps serving"
            );
            assert_eq!(
                c.get(&gw.url("/extra"), "t.test", &[]).await.status,
                extra_status
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    let statuses = load.await.unwrap();
    let failed = statuses.iter().filter(|s| **s != 200).count();
    eprintln!(
        "config rewrite: write -> applied: {}; {} requests under load",
        summary(&mut latencies),
        statuses.len()
    );
    assert!(
        statuses.len() > 500,
        "the load ran ({} requests)",
        statuses.len()
    );
    let failures: Vec<_> = statuses.iter().filter(|s| **s != 200).collect();
    assert_eq!(
        failed,
        0,
        "failed requests on the stable route during config rewrites: {failures:?}; log:\n{}",
        gw.log()
    );
    assert!(
        gw.log().contains("file:") || gw.log().contains("gateway.yml:"),
        "the rejection is located"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_forces_a_reload() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&tag_config(&up), &[("tag", fixture_wasm("fixture_tag_v1"))]);
    let before = gw.log_count("configuration reloaded");
    gw.signal("HUP");
    await_log_count_past(
        &gw,
        "configuration reloaded",
        before,
        "no reload after SIGHUP",
    )
    .await;
    assert!(gw.log().contains("SIGHUP"));
}

/// A supervisor may stop the gateway the moment it reports listening. The signal handlers are
/// installed before the first listener is bound, so that SIGTERM drains and exits 0 (it used to
/// find no handler in the window between "listening" and the wait for signals, and killed the
/// process: connections reset, exit by signal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_right_after_listening_drains_and_exits_zero() {
    let up = Upstream::start("app").await;
    let mut gw = Gateway::start(
        &Config::new()
            .route("r", "PathPrefix(`/`)", "app")
            .service("app", &up.url())
            .yaml(),
        &[],
    );
    gw.signal("TERM");
    let status = gw
        .wait_exit(Duration::from_secs(30))
        .expect("the gateway exits after SIGTERM");
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        gw.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_slow_response_complete_then_exits_zero() {
    let slow =
        Upstream::start_with("slow", UpstreamBehavior::Slow(Duration::from_millis(1500))).await;
    let mut gw = Gateway::start(
        &Config::new()
            .entrypoint("transport: { lifeCycle: { graceTimeOut: 20s } }")
            .route("r", "PathPrefix(`/`)", "slow")
            .service("slow", &slow.url())
            .yaml(),
        &[],
    );
    let c = Client::http1();
    let url = gw.url("/slow");
    let pending = tokio::spawn(async move { c.get(&url, "t.test", &[]).await });
    // Let the request reach the upstream before the signal.
    let until = Instant::now() + VISIBLE_WITHIN;
    while slow.count() == 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    gw.signal("TERM");
    let r = pending.await.unwrap();
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (200, "slow"),
        "the in-flight response completes"
    );
    let status = gw
        .wait_exit(Duration::from_secs(30))
        .expect("the gateway exits after draining");
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        gw.log()
    );
    // New connections are refused once shutdown started.
    assert!(std::net::TcpStream::connect(gw.addr).is_err());
}

/// Waits until `needle` occurs in the log more than `before` times (the event after the one
/// counted); fails with `what` and the log after [`VISIBLE_WITHIN`].
async fn await_log_count_past(gw: &Gateway, needle: &str, before: usize, what: &str) {
    let seen = gw.await_log_count(needle, before + 1, VISIBLE_WITHIN).await;
    assert!(seen, "{what}; log:\n{}", gw.log());
}

/// Alternates `tag` between v1 and v2 `count` times, awaiting each version's first response.
/// Calls `after_first` once the first replacement serves; returns each swap's latency.
async fn alternate_tag(
    c: &Client,
    gw: &Gateway,
    count: usize,
    mut after_first: impl FnMut(),
) -> Vec<Duration> {
    let versions = [
        std::fs::read(fixture_wasm("fixture_tag_v1")).unwrap(),
        std::fs::read(fixture_wasm("fixture_tag_v2")).unwrap(),
    ];
    let mut latencies = Vec::with_capacity(count);
    for i in 0..count {
        let (bytes, want) = if i % 2 == 0 {
            (&versions[1], "2")
        } else {
            (&versions[0], "1")
        };
        install(&gw.plugin_dir(), "tag", bytes);
        latencies.push(until_version(c, gw, want).await);
        if i == 0 {
            after_first();
        }
    }
    latencies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_plugin_reloads_do_not_grow_memory() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&tag_config(&up), &[("tag", fixture_wasm("fixture_tag_v1"))]);
    let c = Client::http1();
    until_version(&c, &gw, "1").await;
    let (mut after_first, mut code_after_first) = (0, 0);
    let mut latencies = alternate_tag(&c, &gw, 100, || {
        after_first = anon_rss_bytes(gw.pid());
        code_after_first = executable_file_mappings(gw.pid(), ".cwasm");
    })
    .await;
    let after_hundred = anon_rss_bytes(gw.pid());
    let code = executable_file_mappings(gw.pid(), ".cwasm");
    let growth = after_hundred.saturating_sub(after_first);
    eprintln!(
        "anonymous RSS after 1 reload {after_first} B, after 100 {after_hundred} B, growth \
         {growth} B; compiled plugin versions mapped {code_after_first} then {code}; swap {}",
        summary(&mut latencies)
    );
    // Anonymous memory (heap, pool slots) is where a leak per reload would grow; total RSS is
    // not the measure, since the gateway unmaps clean code pages after each reload and the next
    // request maps some back (total growth swung 1.2–10 MB between runs of the same binary).
    // Measured: anonymous growth 1.06–1.47 MB in six runs, almost all in the first ~5 reloads:
    // the pool's unused warm slots filling up to `max_unused_warm_slots` (each keeps the
    // zeroed pages of its last instance resident, 128 KiB for this plugin) and the reload
    // thread's glibc arena. Before the pool returned freed slots at once
    // (`EngineSettings::decommit_batch_size`), 1.2–1.8 MB, with 4–5 replaced versions' code
    // still mapped; before bounding warm pool slots it was 24 MB and still climbing.
    assert!(
        growth < 4 << 20,
        "RSS grew by {growth} bytes over 100 plugin reloads"
    );
}

/// A replaced plugin version's compiled component (its code, a mapping of its `.cwasm` file)
/// goes once no request uses it, and so do the pool slots its instances used (each slot kept
/// warm for a module maps that module's memory image, which holds the module's code): before
/// the pool returned freed slots at once, the last slots of each old version waited in a
/// decommit batch while the version was dropped, escaped wasmtime's purge of its slots, and
/// kept its code mapped until another module's instance took the slot (4–5 old versions at
/// any time, 128 KiB resident each).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_plugin_versions_leave_no_compiled_code_mapped() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&tag_config(&up), &[("tag", fixture_wasm("fixture_tag_v1"))]);
    let c = Client::http1();
    until_version(&c, &gw, "1").await;
    assert_eq!(
        executable_file_mappings(gw.pid(), ".cwasm"),
        1,
        "one compiled plugin in use"
    );
    alternate_tag(&c, &gw, 20, || {}).await;
    // The new version answers before the old one's last request has quite finished (its
    // snapshot goes with the response's end): await the count, the old code must go.
    await_one_compiled_version(&gw, "after 20 replacements").await;
}

/// Waits until exactly one compiled plugin (`.cwasm`) is mapped executable in the gateway;
/// fails with the mappings left after [`VISIBLE_WITHIN`].
async fn await_one_compiled_version(gw: &Gateway, when: &str) {
    let until = Instant::now() + VISIBLE_WITHIN;
    loop {
        let mapped = executable_file_mappings(gw.pid(), ".cwasm");
        if mapped == 1 {
            return;
        }
        assert!(
            Instant::now() < until,
            "{mapped} compiled plugin versions still mapped {when} (1 in use):\n{}",
            std::fs::read_to_string(format!("/proc/{}/maps", gw.pid()))
                .unwrap_or_default()
                .lines()
                .filter(|l| l.ends_with(".cwasm"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A replaced plugin version's series leave `/metrics` once no middleware runs it (as Traefik
/// drops a removed router's series): before, the scrape kept the counters of every version
/// ever loaded, one set of series (and a few hundred bytes) per version and middleware.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_plugin_versions_metric_series_leave_the_scrape() {
    use crate::observability::{parse_exposition, scrape};
    let up = Upstream::start("app").await;
    let statics = "metrics:\n  prometheus:\n    entryPoint: web\n";
    let yaml = format!("{}{statics}", tag_config(&up));
    let gw = Gateway::start(&yaml, &[("tag", fixture_wasm("fixture_tag_v1"))]);
    let c = Client::http1();
    until_version(&c, &gw, "1").await;
    // The content hashes that have a call counter for middleware `tag` in one scrape.
    let versions = |text: &str| -> Vec<String> {
        let mut hashes: Vec<String> = parse_exposition(text)
            .keys()
            .filter(|(name, labels)| {
                name == "wasmgate_plugin_calls_total"
                    && labels.iter().any(|(k, v)| k == "middleware" && v == "tag")
            })
            .filter_map(|(_, labels)| {
                labels
                    .iter()
                    .find(|(k, _)| k == "hash")
                    .map(|(_, v)| v.clone())
            })
            .collect();
        hashes.dedup();
        hashes
    };
    let first = scrape(&c, &gw.url("/metrics")).await;
    let first = versions(&first);
    assert_eq!(first.len(), 1, "one version's series at first: {first:?}");
    let v2 = std::fs::read(fixture_wasm("fixture_tag_v2")).unwrap();
    install(&gw.plugin_dir(), "tag", &v2);
    until_version(&c, &gw, "2").await;
    let text = scrape(&c, &gw.url("/metrics")).await;
    let second = versions(&text);
    assert_eq!(
        second.len(),
        1,
        "only the running version's series after the swap: {second:?}\n{text}"
    );
    assert_ne!(first, second, "the series are the new version's");
}

/// A plugin file that overrides a bundled plugin is the only version of it kept compiled: once
/// a new file replaces the first one, whose bytes were the bundled plugin's own, the registry
/// no longer keeps that version (which it took over from the old registry by the bundled
/// plugin's content hash) compiled and mapped beside the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_overriding_a_bundled_plugin_leaves_one_version_compiled() {
    let up = Upstream::start("app").await;
    let bundled = fixture_wasm("wasmgate_plugin_headers");
    let config = Config::new()
        .plugin_dir()
        .route_through("r", "PathPrefix(`/`)", "app", "h")
        .service("app", &up.url())
        .middlewares("    h:\n      headers:\n        customResponseHeaders: { X-Seen: \"yes\" }\n")
        .yaml();
    let gw = Gateway::start(&config, &[("headers", bundled.clone())]);
    let c = Client::http1();
    let r = c.get(&gw.url("/"), "t.test", &[]).await;
    assert_eq!((r.status.as_u16(), r.header("x-seen")), (200, Some("yes")));
    assert_eq!(executable_file_mappings(gw.pid(), ".cwasm"), 1);
    // The same component plus a custom section: another content hash, the same behaviour.
    let mut replaced = std::fs::read(&bundled).unwrap();
    let name = b"wasmgate-test";
    let body_len = u8::try_from(1 + name.len() + 1).unwrap();
    replaced.extend_from_slice(&[0, body_len, u8::try_from(name.len()).unwrap()]);
    replaced.extend_from_slice(name);
    replaced.push(b'2');
    let reloads = gw.log_count("configuration reloaded");
    install(&gw.plugin_dir(), "headers", &replaced);
    await_log_count_past(&gw, "configuration reloaded", reloads, "no reload").await;
    let r = c.get(&gw.url("/"), "t.test", &[]).await;
    assert_eq!((r.status.as_u16(), r.header("x-seen")), (200, Some("yes")));
    await_one_compiled_version(&gw, "once a file replaced the bundled plugin's bytes").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_plugin_version_that_rejects_its_config_never_replaces_the_old_one() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&tag_config(&up), &[("tag", fixture_wasm("fixture_tag_v1"))]);
    let c = Client::http1();
    until_version(&c, &gw, "1").await;
    let before = gw.log_count("reload rejected");
    // A valid component whose validate-config refuses the middleware's config (`{}` lacks the
    // `mode` it requires).
    install(
        &gw.plugin_dir(),
        "tag",
        &std::fs::read(fixture_wasm("fixture_bad_output")).unwrap(),
    );
    await_log_count_past(
        &gw,
        "reload rejected",
        before,
        "the rejection was not reported",
    )
    .await;
    assert!(gw.log().contains("rejected its config"), "{}", gw.log());
    for _ in 0..5 {
        let r = c.get(&gw.url("/"), "t.test", &[("x-fault", "1")]).await;
        assert_eq!(
            (r.status.as_u16(), r.header("x-plugin-version")),
            (200, Some("1"))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_compile_cache_is_ignored_and_rebuilt() {
    let up = Upstream::start("app").await;
    let cache = tempfile::tempdir().unwrap();
    let plugins = [("tag", fixture_wasm("fixture_tag_v1"))];
    {
        let gw = Gateway::start_with_cache(&tag_config(&up), &plugins, cache.path());
        until_version(&Client::http1(), &gw, "1").await;
    }
    // Overwrite every cached artifact with garbage.
    let mut corrupted = 0;
    let mut dirs = vec![cache.path().to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                std::fs::write(&path, b"definitely not a compiled module").unwrap();
                corrupted += 1;
            }
        }
    }
    assert!(corrupted > 0, "the first run wrote the cache");
    let gw = Gateway::start_with_cache(&tag_config(&up), &plugins, cache.path());
    let r = Client::http1().get(&gw.url("/"), "t.test", &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.header("x-plugin-version")),
        (200, Some("1"))
    );
}
