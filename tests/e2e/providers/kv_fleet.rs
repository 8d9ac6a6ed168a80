//! `providers.redis` and `providers.etcd`: three gateway processes on one store converge on a
//! written change (the spread between them is measured and printed), refuse a half-written
//! change all three, and keep serving through a store restart, picking up changes after it.

use std::time::{Duration, Instant};

use super::stores::Store;
use crate::support::{Client, Gateway, Upstream};

/// Hang guard for "the change is visible": not a performance assertion.
const VISIBLE_WITHIN: Duration = Duration::from_secs(30);
const CHANGES: usize = 20;
const URL_KEY: &str = "traefik/http/services/app/loadbalancer/servers/0/url";

fn gateway_yaml(provider: &str, endpoint: &str) -> String {
    format!(
        "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n\
         providers:\n  {provider}:\n    endpoints: [\"{endpoint}\"]\n    rootKey: traefik\n"
    )
}

/// Writes the router `all` (every path) to the service `app`, whose one server is `url`.
async fn put_catch_all(store: &Store, url: &str) {
    store
        .put(&[
            ("traefik/http/routers/all/rule", "PathPrefix(`/`)"),
            ("traefik/http/routers/all/service", "app"),
            (URL_KEY, url),
        ])
        .await;
}

/// Polls `gw` until `upstream` answers; returns when it first did.
async fn until_served_by(c: Client, gw_url: String, upstream: &'static str) -> Instant {
    let started = Instant::now();
    loop {
        let r = c.get(&gw_url, "kv.test", &[]).await;
        if r.status == 200 && r.header("x-upstream") == Some(upstream) {
            return Instant::now();
        }
        assert!(
            started.elapsed() < VISIBLE_WITHIN,
            "{upstream} not served within {VISIBLE_WITHIN:?} by {gw_url}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Waits until every gateway serves `upstream`; returns (spread between the first and the
/// last, time from `written` to the last).
async fn converge(
    gws: &[Gateway],
    upstream: &'static str,
    written: Instant,
) -> (Duration, Duration) {
    let pollers: Vec<_> = gws
        .iter()
        .map(|gw| tokio::spawn(until_served_by(Client::http1(), gw.url("/probe"), upstream)))
        .collect();
    let mut seen = Vec::new();
    for poller in pollers {
        seen.push(poller.await.expect("poller"));
    }
    let (first, last) = (
        seen.iter().min().copied().unwrap_or(written),
        seen.iter().max().copied().unwrap_or(written),
    );
    (last - first, last - written)
}

fn median_max(mut values: Vec<Duration>) -> (Duration, Duration) {
    values.sort();
    (values[values.len() / 2], values[values.len() - 1])
}

async fn fleet_converges_refuses_and_survives_a_restart(mut store: Store, provider: &str) {
    let (a, b) = (Upstream::start("a").await, Upstream::start("b").await);
    put_catch_all(&store, &a.url()).await;
    let yaml = gateway_yaml(provider, &store.endpoint());
    let gws: Vec<Gateway> = (0..3).map(|_| Gateway::start(&yaml, &[])).collect();
    converge(&gws, "a", Instant::now()).await;

    // 20 changes: the spread between the three gateways, and write -> last gateway.
    let (mut spreads, mut lags) = (Vec::new(), Vec::new());
    for round in 0..CHANGES {
        let (url, name) = if round % 2 == 0 {
            (b.url(), "b")
        } else {
            (a.url(), "a")
        };
        let written = Instant::now();
        store.put(&[(URL_KEY, &url)]).await;
        let (spread, lag) = converge(&gws, name, written).await;
        spreads.push(spread);
        lags.push(lag);
    }
    let (spread_median, spread_max) = median_max(spreads);
    let (lag_median, lag_max) = median_max(lags);
    println!(
        "{provider} fleet of 3, {CHANGES} changes: spread between gateways median {spread_median:?} \
         max {spread_max:?}; write -> last gateway median {lag_median:?} max {lag_max:?}"
    );
    // After an even number of changes the fleet serves `a` again.

    // Half-written: a router whose service is not written (yet). Refused by all three.
    store
        .put(&[
            ("traefik/http/routers/half/rule", "PathPrefix(`/half`)"),
            ("traefik/http/routers/half/service", "missing"),
        ])
        .await;
    for gw in &gws {
        assert!(
            gw.wait_for_log(&format!("service \"missing@{provider}\" is not defined")),
            "log:\n{}",
            gw.log()
        );
        assert!(
            gw.log().contains(&format!("{provider} provider")),
            "log:\n{}",
            gw.log()
        );
    }
    let c = Client::http1();
    for gw in &gws {
        let r = c.get(&gw.url("/half"), "kv.test", &[]).await;
        assert_eq!(
            r.header("x-upstream"),
            Some("a"),
            "the old config keeps serving"
        );
    }
    store
        .delete(&[
            "traefik/http/routers/half/rule",
            "traefik/http/routers/half/service",
        ])
        .await;

    // The store restarted: the gateways keep serving meanwhile and pick up a change after.
    store.stop();
    for gw in &gws {
        assert!(gw.wait_for_log("store unavailable"), "log:\n{}", gw.log());
        let r = c.get(&gw.url("/probe"), "kv.test", &[]).await;
        assert_eq!(
            r.header("x-upstream"),
            Some("a"),
            "serving while the store is down"
        );
    }
    store.restart().await;
    let written = Instant::now();
    store.put(&[(URL_KEY, &b.url())]).await;
    let (spread, lag) = converge(&gws, "b", written).await;
    println!("{provider} after a store restart: spread {spread:?}, write -> last gateway {lag:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_fleet_of_three_converges_refuses_half_written_changes_and_survives_a_store_restart()
{
    fleet_converges_refuses_and_survives_a_restart(Store::redis().await, "redis").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_fleet_of_three_converges_refuses_half_written_changes_and_survives_a_store_restart() {
    fleet_converges_refuses_and_survives_a_restart(Store::etcd().await, "etcd").await;
}

/// `providers.<store>.tls`: the gateway reads the store over TLS, trusting the test's CA
/// (`tls.ca`), and picks up a change made after start-up.
async fn a_provider_reads_its_store_over_tls(store: Store, provider: &str) {
    let (a, b) = (Upstream::start("a").await, Upstream::start("b").await);
    put_catch_all(&store, &a.url()).await;
    let (endpoint, ca) = store.tls_endpoint();
    let yaml = format!(
        "{}    tls:\n      ca: \"{}\"\n",
        gateway_yaml(provider, &endpoint),
        ca.display()
    );
    let gw = Gateway::start(&yaml, &[]);
    until_served_by(Client::http1(), gw.url("/probe"), "a").await;
    store.put(&[(URL_KEY, &b.url())]).await;
    until_served_by(Client::http1(), gw.url("/probe"), "b").await;
    assert!(
        !gw.log().contains("store unavailable"),
        "log:\n{}",
        gw.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_provider_reads_a_tls_redis_server() {
    a_provider_reads_its_store_over_tls(Store::redis_tls().await, "redis").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_etcd_provider_reads_an_https_etcd() {
    a_provider_reads_its_store_over_tls(Store::etcd_tls().await, "etcd").await;
}
