//! The minimal WASI every component gets: stdout and stderr go to the gateway log with the
//! middleware and plugin names, under a byte budget; the monotonic clock reads; a file cannot be
//! opened (no preopened directory: the `fixture-stdio` plugin's `expect` traps), which fails only
//! that request.

use crate::support::{Client, Config, Gateway, Upstream, fixture_wasm};

const MODES: [&str; 2] = ["pooled", "per-request"];

/// Routes `/pooled` and `/per-request` through the `stdio` fixture in that mode, `/plain`
/// straight to the upstream.
fn gateway(up: &Upstream) -> Gateway {
    let mut config = Config::new().plugin_dir().service("app", &up.url()).route(
        "plain",
        "PathPrefix(`/plain`)",
        "app",
    );
    for mode in MODES {
        config = config
            .route_through(
                mode,
                &format!("PathPrefix(`/{mode}`)"),
                "app",
                &format!("io-{mode}"),
            )
            .middlewares(&format!(
                "    io-{mode}:\n      plugin:\n        name: stdio\n        isolation: {mode}\n        \
                 deadline: 5s\n"
            ));
    }
    Gateway::start(&config.yaml(), &[("stdio", fixture_wasm("fixture_stdio"))])
}

/// The first log line containing `needle`, once it is there.
fn log_line(gw: &Gateway, needle: &str) -> String {
    assert!(
        gw.wait_for_log(needle),
        "{needle:?} never logged:\n{}",
        gw.log()
    );
    gw.log()
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_prints_to_the_gateway_log_under_its_name_and_reads_the_monotonic_clock() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up);
    let c = Client::http1();
    for mode in MODES {
        let r = c
            .get(
                &gw.url(&format!("/{mode}/hi")),
                "w.test",
                &[("x-print", "1")],
            )
            .await;
        assert_eq!(r.status, 200, "{mode}: {}", gw.log());
        assert_eq!(up.last().header("x-clock-ok"), Some("true"), "{mode}");
        for stream in ["stdout", "stderr"] {
            let line = log_line(&gw, &format!("says hello on {stream} for /{mode}/hi"));
            for field in [
                format!("middleware=\"io-{mode}\""),
                "plugin=\"stdio\"".to_owned(),
                format!("stream=\"{stream}\""),
            ] {
                assert!(line.contains(&field), "{mode}: {field} missing in {line}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_opens_a_file_fails_that_request_only() {
    let up = Upstream::start("app").await;
    let mut gw = gateway(&up);
    let c = Client::http1();
    for mode in MODES {
        let url = gw.url(&format!("/{mode}/file"));
        let r = c.get(&url, "w.test", &[("x-open", "1")]).await;
        assert_eq!(r.status, 500, "{mode}: {}", r.text());
        assert!(!r.text().contains("hostname"), "{mode}: {}", r.text());
        let r = c.get(&url, "w.test", &[]).await;
        assert_eq!(
            r.status, 200,
            "{mode}: the next request on the route is served"
        );
        let r = c.get(&gw.url("/plain"), "w.test", &[]).await;
        assert_eq!(r.status, 200);
    }
    // The panic message went through the plugin's stderr into the log.
    log_line(&gw, "fixture-stdio opens a file");
    assert!(gw.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_flooding_its_output_is_cut_to_its_log_budget() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up);
    let c = Client::http1();
    // 1000 lines of 1 KiB: 1 MB, against a budget of 64 KiB at once and 16 KiB/s.
    let r = c
        .get(&gw.url("/pooled/flood"), "w.test", &[("x-flood", "1000")])
        .await;
    let line = "x".repeat(1023);
    let others: Vec<String> = gw
        .log()
        .lines()
        .filter(|l| !l.contains(&line))
        .map(str::to_owned)
        .collect();
    assert_eq!(r.status, 200, "{others:#?}");
    log_line(&gw, "plugin output over the budget");
    let logged = gw.log().lines().filter(|l| l.contains(&line)).count();
    assert!(
        (1..500).contains(&logged),
        "{logged} of the 1000 lines were logged; the budget lets about 64 through"
    );
}
