//! A faulty plugin fails only the request it faults on (500, or passes it on when fail-open);
//! the next request on the same route is served by a fresh or recycled instance, other routes
//! never notice, and the gateway process stays up. Every fixture faults only when the request
//! carries `x-fault`, so the same route can show both the fault and the recovery.

use std::time::{Duration, Instant};

use crate::support::{Client, Config, Gateway, Upstream, fixture_wasm};

const MODES: [&str; 2] = ["pooled", "per-request"];

/// A gateway with route `/faulty` guarded by `plugin` (with `config` and `isolation`) and a
/// plain route `/plain` to the same upstream.
fn gateway(up: &Upstream, fixture: &str, config: &str, isolation: &str, extra: &str) -> Gateway {
    Gateway::start(
        &Config::new()
            .plugin_dir()
            .route_through("faulty", "PathPrefix(`/faulty`)", "app", "bad")
            .route("plain", "PathPrefix(`/plain`)", "app")
            .service("app", &up.url())
            .middlewares(&format!(
                r#"
    bad:
      plugin:
        name: {fixture}
        config: {config}
        isolation: {isolation}
        deadline: 100ms
        memoryLimit: 8MiB
{extra}
"#
            ))
            .yaml(),
        &[(
            fixture,
            fixture_wasm(&format!("fixture_{}", fixture.replace('-', "_"))),
        )],
    )
}

/// Faults once, recovers on the same route, and shows the gateway unaffected.
async fn assert_contained(fixture: &str, config: &str, isolation: &str) {
    let up = Upstream::start("app").await;
    let mut gw = gateway(&up, fixture, config, isolation, "");
    let c = Client::http1();

    // A normal request first: the plugin works when not asked to fault.
    let r = c.get(&gw.url("/faulty"), "f.test", &[]).await;
    assert_eq!(
        r.status,
        200,
        "{fixture} ({isolation}) without x-fault: {}",
        gw.log()
    );

    for round in 0..2 {
        let started = Instant::now();
        let r = c
            .get(&gw.url("/faulty"), "f.test", &[("x-fault", "1")])
            .await;
        let took = started.elapsed();
        assert_eq!(
            r.status, 500,
            "{fixture} ({isolation}) round {round}: expected 500"
        );
        eprintln!("{fixture} ({isolation}) fault answered in {took:?}");

        let r = c.get(&gw.url("/faulty"), "f.test", &[]).await;
        assert_eq!(
            r.status, 200,
            "{fixture} ({isolation}): the next request on the same route must succeed"
        );
        let r = c.get(&gw.url("/plain"), "f.test", &[]).await;
        assert_eq!(r.status, 200);
    }
    assert!(gw.is_running(), "the gateway process must stay up");
    assert!(
        gw.wait_for_log("plugin failed"),
        "the failure is logged: {}",
        gw.log()
    );
    let log = gw.log();
    assert!(
        log.contains(&format!("plugin=\"{fixture}\""))
            || log.contains(&format!("plugin={fixture}")),
        "log names the plugin: {log}"
    );
    assert!(log.contains("hash="), "log carries the content hash: {log}");
    // 1 normal + 2 × (recovery + plain) = 5 requests reached the upstream; faulted ones never did.
    assert_eq!(up.count(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_is_stopped_by_the_deadline() {
    for mode in MODES {
        assert_contained("loop", "{}", mode).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_traps_and_fails_only_that_request() {
    for mode in MODES {
        assert_contained("trap", r#"{ how: panic }"#, mode).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_instruction_traps_and_fails_only_that_request() {
    for mode in MODES {
        assert_contained("trap", r#"{ how: unreachable }"#, mode).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_growth_past_the_cap_fails_only_that_request() {
    for mode in MODES {
        assert_contained("memory-hog", "{}", mode).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_plugin_output_is_refused_with_500() {
    for output in [
        "status-999",
        "bad-header-name",
        "bad-header-value",
        "huge-body",
        "too-many-headers",
    ] {
        for mode in MODES {
            assert_contained("bad-output", &format!("{{ mode: {output} }}"), mode).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fail_open_middleware_passes_the_request_on_unchanged() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(
        &Config::new()
            .plugin_dir()
            .route_through("r", "PathPrefix(`/`)", "app", "flaky")
            .service("app", &up.url())
            .middlewares(
                r#"
    flaky:
      plugin:
        name: trap
        config: { how: panic }
        failOpen: true
"#,
            )
            .yaml(),
        &[("trap", fixture_wasm("fixture_trap"))],
    );
    let r = Client::http1()
        .get(&gw.url("/open"), "f.test", &[("x-fault", "1")])
        .await;
    assert_eq!(r.status, 200, "fail-open passes the request on");
    assert_eq!(up.count(), 1);
    assert_eq!(up.last().header("x-fault"), Some("1"));
}

/// A panicking plugin's message and location reach the gateway's log, whether it was built for
/// `wasm32-wasip2` (std could write to stderr) or as the bundled plugins are, for
/// `wasm32-unknown-unknown` (no stderr at all): the SDK's panic hook sends it through the log
/// import either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_plugin_logs_its_message_with_or_without_wasi() {
    let up = Upstream::start("app").await;
    for build in ["fixture_trap", "fixture_trap_bare"] {
        let gw = Gateway::start(
            &Config::new()
                .plugin_dir()
                .route_through("r", "PathPrefix(`/`)", "app", "bad")
                .service("app", &up.url())
                .middlewares(
                    r#"
    bad:
      plugin:
        name: trap
        config: { how: panic }
"#,
                )
                .yaml(),
            &[("trap", fixture_wasm(build))],
        );
        let r = Client::http1()
            .get(&gw.url("/boom"), "f.test", &[("x-fault", "1")])
            .await;
        assert_eq!(r.status, 500, "{build}: {}", gw.log());
        assert!(
            gw.wait_for_log("fixture-trap: deliberate panic on /boom"),
            "{build}: the panic message is logged: {}",
            gw.log()
        );
        assert!(
            gw.wait_for_log("tests/plugins/trap/src/lib.rs"),
            "{build}: with its location: {}",
            gw.log()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_plugin_does_not_stall_concurrent_requests_on_other_routes() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up, "loop", "{}", "pooled", "");
    let c = Client::http1();
    let faults: Vec<_> = (0..4)
        .map(|_| {
            let (c, url) = (c.clone(), gw.url("/faulty"));
            tokio::spawn(async move { c.get(&url, "f.test", &[("x-fault", "1")]).await.status })
        })
        .collect();
    for _ in 0..20 {
        assert_eq!(c.get(&gw.url("/plain"), "f.test", &[]).await.status, 200);
    }
    for f in faults {
        assert_eq!(f.await.unwrap(), 500);
    }
    // Hang guard only (not a performance assertion): the loop is bounded by its deadline.
    let started = Instant::now();
    let _ = c
        .get(&gw.url("/faulty"), "f.test", &[("x-fault", "1")])
        .await;
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_instance_that_creeps_towards_its_memory_cap_is_retired_before_it_fails() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up, "memory-hog", "{}", "pooled", "");
    let c = Client::http1();
    // 64 × 256 KiB never freed: twice the 8 MiB cap over the run, an eighth of it per 32 calls.
    for i in 0..64 {
        let r = c
            .get(&gw.url("/faulty"), "f.test", &[("x-leak", "256")])
            .await;
        assert_eq!(r.status, 200, "request {i}: {}", gw.log());
    }
    assert_eq!(up.count(), 64);
    assert!(!gw.log().contains("plugin failed"), "{}", gw.log());
}
