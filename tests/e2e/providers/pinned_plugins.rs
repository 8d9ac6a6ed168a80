//! Plugins pinned by content hash (`plugin: {name, sha256}`) for a fleet: fetched from a real
//! HTTP plugin store (`plugins.store`) or from `<rootKey>/plugins/<sha256>` in a real Redis or
//! etcd, checked against the hash. The gateway is not ready (`/ping` 503, the pinned route
//! 503) until the file is present and compiled; a file whose hash does not match is refused and
//! reported (log and `/api/reloads`) while the old config keeps serving; a later correct file
//! is picked up. Every gateway here has its own compiled-plugin cache, so nothing is found
//! on disk from another test.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::plugin_store::PluginStore;
use super::stores::Store;
use crate::support::{Client, Gateway, Upstream, fixture_wasm, free_port};

/// Hang guard for an awaited event: not a performance assertion.
const WITHIN: Duration = Duration::from_secs(30);

fn file_and_hash(fixture: &str) -> (Vec<u8>, String) {
    let bytes = std::fs::read(fixture_wasm(fixture)).expect("fixture built by host/build.rs");
    let hash = hex::encode(Sha256::digest(&bytes));
    (bytes, hash)
}

/// The gateway's static part: `web`, and `traefik` (ping, API) on `traefik_port`.
fn statics(traefik_port: u16, extra: &str) -> String {
    format!(
        "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n  traefik:\n    address: \
         \"127.0.0.1:{traefik_port}\"\napi:\n  insecure: true\nping: {{}}\n{extra}"
    )
}

/// Polls `url` until it answers `status`; panics after [`WITHIN`].
async fn until_status(c: &Client, url: &str, status: u16) {
    let started = Instant::now();
    loop {
        if c.get(url, "pin.test", &[]).await.status.as_u16() == status {
            return;
        }
        assert!(
            started.elapsed() < WITHIN,
            "{url} did not answer {status} within {WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls the route until the plugin version `version` stamps its answers.
async fn until_version(c: &Client, gw: &Gateway, version: &str) {
    let started = Instant::now();
    loop {
        let r = c.get(&gw.url("/"), "pin.test", &[]).await;
        if r.status == 200 && r.header("x-plugin-version") == Some(version) {
            return;
        }
        assert!(
            started.elapsed() < WITHIN,
            "plugin version {version} not served within {WITHIN:?}; last {} {:?}; log:\n{}",
            r.status,
            r.header("x-plugin-version"),
            gw.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for the log to report a refused file; returns `/api/reloads` as text (the refusals
/// and waits it records).
async fn refusal_reported(c: &Client, gw: &Gateway, traefik_port: u16) -> String {
    assert!(
        gw.wait_for_log("refused, its content hash is"),
        "log:\n{}",
        gw.log()
    );
    let url = format!("http://127.0.0.1:{traefik_port}/api/reloads");
    c.get(&url, "pin.test", &[]).await.text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_pinned_by_hash_comes_from_the_plugin_store_and_the_gateway_is_ready_only_then() {
    let (v1, h1) = file_and_hash("fixture_tag_v1");
    let (v2, _) = file_and_hash("fixture_tag_v2");
    let up = Upstream::start("app").await;
    let store = PluginStore::start().await;
    let port = free_port();
    let yaml = format!(
        "{}http:\n  routers:\n    all:\n      rule: \"PathPrefix(`/`)\"\n      entryPoints: [web]\n      \
         service: app\n      middlewares: [tag]\n  services:\n    app:\n      loadBalancer:\n        \
         servers: [{{ url: \"{}\" }}]\n  middlewares:\n    tag:\n      plugin:\n        name: tag\n        \
         sha256: \"{h1}\"\n",
        statics(
            port,
            &format!("plugins:\n  store:\n    url: \"{}\"\n", store.url())
        ),
        up.url()
    );
    let cache = tempfile::tempdir().expect("cache dir");
    let gw = Gateway::start_with_cache(&yaml, &[], cache.path());
    let c = Client::http1();
    let ping = format!("http://127.0.0.1:{port}/ping");

    // The store does not have the file yet: asked, and the gateway is not ready.
    let started = Instant::now();
    while store.asked(&h1) == 0 {
        assert!(started.elapsed() < WITHIN, "the store was never asked");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let r = c.get(&ping, "pin.test", &[]).await;
    assert_eq!(r.status.as_u16(), 503, "not ready: {}", r.text());
    let r = c.get(&gw.url("/"), "pin.test", &[]).await;
    assert_eq!(
        r.status.as_u16(),
        503,
        "the pinned route does not run without its plugin"
    );
    assert_eq!(up.count(), 0, "nothing reached the upstream");

    // The store serves other bytes under that hash: refused, reported, still not ready.
    store.put(&h1, &v2);
    let report = refusal_reported(&c, &gw, port).await;
    assert!(
        report.contains("refused, its content hash is") && report.contains(&h1),
        "/api/reloads: {report}"
    );
    assert_eq!(c.get(&ping, "pin.test", &[]).await.status.as_u16(), 503);
    assert_eq!(
        c.get(&gw.url("/"), "pin.test", &[]).await.status.as_u16(),
        503
    );

    // The right file: fetched, compiled, served; the gateway is ready.
    store.put(&h1, &v1);
    until_status(&c, &ping, 200).await;
    until_version(&c, &gw, "1").await;
    let cached = cache.path().join("plugin-files").join(format!("{h1}.wasm"));
    assert_eq!(
        std::fs::read(&cached).ok().as_deref(),
        Some(v1.as_slice()),
        "the file is cached on disk by its hash"
    );
}

/// Redis or etcd: the config and the plugin files in one store.
async fn pinned_plugins_from_a_kv_store(store: Store, provider: &str) {
    let (v1, h1) = file_and_hash("fixture_tag_v1");
    let (v2, h2) = file_and_hash("fixture_tag_v2");
    let up = Upstream::start("app").await;
    store
        .put(&[
            ("traefik/http/routers/all/rule", "PathPrefix(`/`)"),
            ("traefik/http/routers/all/entrypoints/0", "web"),
            ("traefik/http/routers/all/service", "app"),
            ("traefik/http/routers/all/middlewares/0", "tag"),
            (
                "traefik/http/services/app/loadbalancer/servers/0/url",
                &up.url(),
            ),
            ("traefik/http/middlewares/tag/plugin/name", "tag"),
            ("traefik/http/middlewares/tag/plugin/sha256", &h1),
        ])
        .await;
    let port = free_port();
    let yaml = statics(
        port,
        &format!(
            "providers:\n  {provider}:\n    endpoints: [\"{}\"]\n    rootKey: traefik\n",
            store.endpoint()
        ),
    );
    let cache = tempfile::tempdir().expect("cache dir");
    let gw = Gateway::start_with_cache(&yaml, &[], cache.path());
    let c = Client::http1();
    let ping = format!("http://127.0.0.1:{port}/ping");

    // The config names a file the store does not hold yet: not ready.
    assert!(
        gw.wait_for_log("not ready, waiting for a plugin file"),
        "log:\n{}",
        gw.log()
    );
    assert_eq!(c.get(&ping, "pin.test", &[]).await.status.as_u16(), 503);
    assert_eq!(
        c.get(&gw.url("/"), "pin.test", &[]).await.status.as_u16(),
        503
    );

    // The file is written: ready, and the plugin runs.
    store.put_bytes(&format!("traefik/plugins/{h1}"), &v1).await;
    until_status(&c, &ping, 200).await;
    until_version(&c, &gw, "1").await;

    // A change pins v2, but the store holds other bytes under its hash: refused and
    // reported; the old config keeps serving and the gateway stays ready.
    store.put_bytes(&format!("traefik/plugins/{h2}"), &v1).await;
    store
        .put(&[("traefik/http/middlewares/tag/plugin/sha256", &h2)])
        .await;
    let report = refusal_reported(&c, &gw, port).await;
    assert!(
        report.contains(&format!("traefik/plugins/{h2}"))
            && report.contains("is not available yet"),
        "/api/reloads: {report}"
    );
    let r = c.get(&gw.url("/"), "pin.test", &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.header("x-plugin-version")),
        (200, Some("1")),
        "the old config keeps serving"
    );
    assert_eq!(c.get(&ping, "pin.test", &[]).await.status.as_u16(), 200);

    // The right bytes: the waiting change is applied.
    store.put_bytes(&format!("traefik/plugins/{h2}"), &v2).await;
    until_version(&c, &gw, "2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_pinned_by_hash_comes_from_redis_refused_when_its_hash_differs() {
    pinned_plugins_from_a_kv_store(Store::redis().await, "redis").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_pinned_by_hash_comes_from_etcd_refused_when_its_hash_differs() {
    pinned_plugins_from_a_kv_store(Store::etcd().await, "etcd").await;
}
