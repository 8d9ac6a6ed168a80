//! Traefik v3's per-router `observability` (`accessLogs`, `metrics`, `tracing`) and its default
//! `entryPoints.<name>.observability`, seen from outside: a real gateway, real clients, the
//! access-log file read back, `/metrics` scraped, spans received by a real OTLP receiver.

use std::time::Duration;

use crate::observability::{parse_exposition, read_lines, scrape, value, with_statics};
use crate::support::{Client, Config, Gateway, OtlpReceiver, Upstream, free_port};

const PATIENCE: Duration = Duration::from_secs(30);

/// Entrypoint `web` (every signal on by default) and `side` (`accessLogs` and `metrics` off by
/// default). Routers: `loud` on web (the defaults), `quiet` on web (its own block turns
/// both off), `inherit` on side (side's defaults: off), `claimed` on side (its own block: on).
fn four_routers(up: &Upstream) -> Config {
    Config::new()
        .routers(
            "    loud: { rule: \"PathPrefix(`/loud`)\", service: loud-svc, entryPoints: [web] }\n\
             \x20   quiet:\n      rule: \"PathPrefix(`/quiet`)\"\n      service: quiet-svc\n      entryPoints: [web]\n      observability: { accessLogs: false, metrics: false }\n\
             \x20   inherit: { rule: \"PathPrefix(`/inherit`)\", service: inherit-svc, entryPoints: [side] }\n\
             \x20   claimed:\n      rule: \"PathPrefix(`/claimed`)\"\n      service: claimed-svc\n      entryPoints: [side]\n      observability: { tracing: true, traceVerbosity: detailed }\n",
        )
        .service("loud-svc", &up.url())
        .service("quiet-svc", &up.url())
        .service("inherit-svc", &up.url())
        .service("claimed-svc", &up.url())
}

/// `side` (with its `observability` defaults) and `traefik` (serving `/metrics`).
fn side_entrypoint(side: u16, metrics: u16) -> String {
    format!(
        "  side:\n    address: \"127.0.0.1:{side}\"\n    observability: {{ accessLogs: false, metrics: false }}\n  traefik:\n    address: \"127.0.0.1:{metrics}\"\n"
    )
}

async fn get(c: &Client, url: &str) -> u16 {
    c.get(url, "obs.test", &[]).await.status.as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routers_with_access_logs_or_metrics_off_write_no_line_and_count_in_no_series() {
    let up = Upstream::start("app").await;
    let (side, metrics) = (free_port(), free_port());
    let statics = "accessLog:\n  filePath: access.log\nmetrics:\n  prometheus:\n    addRoutersLabels: true\napi:\n  insecure: true\n";
    let yaml = with_statics(&four_routers(&up), &side_entrypoint(side, metrics), statics);
    let gw = Gateway::start(&yaml, &[]);
    let c = Client::http1();
    let side_url = |path: &str| format!("http://127.0.0.1:{side}{path}");
    // The silent ones first: the writer keeps order, so once the loud lines are written any
    // silent line would be there too.
    for i in 0..3 {
        assert_eq!(get(&c, &gw.url(&format!("/quiet/{i}"))).await, 200);
        assert_eq!(get(&c, &side_url(&format!("/inherit/{i}"))).await, 200);
    }
    for i in 0..2 {
        assert_eq!(get(&c, &side_url(&format!("/nothing/{i}"))).await, 404);
    }
    for i in 0..4 {
        assert_eq!(get(&c, &gw.url(&format!("/loud/{i}"))).await, 200);
    }
    for i in 0..2 {
        assert_eq!(get(&c, &side_url(&format!("/claimed/{i}"))).await, 200);
    }
    assert_eq!(get(&c, &gw.url("/nothing/web")).await, 404);
    assert_eq!(up.count(), 3 + 3 + 4 + 2);

    let log = gw.config_path().with_file_name("access.log");
    let lines = read_lines(&log, 7);
    let paths: Vec<&str> = lines
        .iter()
        .map(|l| l.split('"').nth(1).unwrap_or(l))
        .collect();
    assert_eq!(
        paths,
        [
            "GET /loud/0 HTTP/1.1",
            "GET /loud/1 HTTP/1.1",
            "GET /loud/2 HTTP/1.1",
            "GET /loud/3 HTTP/1.1",
            "GET /claimed/0 HTTP/1.1",
            "GET /claimed/1 HTTP/1.1",
            "GET /nothing/web HTTP/1.1",
        ],
        "{lines:#?}"
    );

    // The API shows a router's own block, and none for a router that inherits.
    let api = |name: &str| {
        let (c, url) = (
            c.clone(),
            format!("http://127.0.0.1:{metrics}/api/http/routers/{name}@file"),
        );
        async move {
            let r = c.get(&url, "obs.test", &[]).await;
            assert_eq!(r.status, 200, "{}", r.text());
            serde_json::from_slice::<serde_json::Value>(&r.body).expect("JSON")
        }
    };
    assert_eq!(
        api("quiet").await["observability"],
        serde_json::json!({
            "accessLogs": false,
            "metrics": false,
            "tracing": true,
            "traceVerbosity": "minimal",
        })
    );
    assert!(api("inherit").await.get("observability").is_none());

    let text = scrape(&c, &format!("http://127.0.0.1:{metrics}/metrics")).await;
    let s = parse_exposition(&text);
    let labels = |code, ep| {
        [
            ("code", code),
            ("method", "GET"),
            ("protocol", "http"),
            ("entrypoint", ep),
        ]
    };
    let ep = |code, name| value(&s, "traefik_entrypoint_requests_total", &labels(code, name));
    assert_eq!(ep("200", "web"), 4.0, "{text}");
    assert_eq!(ep("404", "web"), 1.0, "{text}");
    assert_eq!(ep("200", "side"), 2.0, "{text}");
    assert!(
        !text.contains("code=\"404\",method=\"GET\",protocol=\"http\",entrypoint=\"side\""),
        "side's unrouted requests are not counted: {text}"
    );
    let router = |name: &str, service: &str| {
        value(
            &s,
            "traefik_router_requests_total",
            &[
                ("code", "200"),
                ("method", "GET"),
                ("protocol", "http"),
                ("router", name),
                ("service", service),
            ],
        )
    };
    assert_eq!(router("loud@file", "loud-svc@file"), 4.0);
    assert_eq!(router("claimed@file", "claimed-svc@file"), 2.0);
    // Per-request series only: a service's health and retry counters are not per request.
    let per_request: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("traefik_router_")
                || l.starts_with("traefik_service_request")
                || l.starts_with("traefik_service_responses")
        })
        .collect();
    for silent in ["quiet", "inherit"] {
        assert!(
            per_request
                .iter()
                .all(|l| !l.contains(&format!("router=\"{silent}@file\""))
                    && !l.contains(&format!("service=\"{silent}-svc@file\""))),
            "{silent} has series: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_with_tracing_off_exports_no_span_and_the_others_still_do() {
    let receiver = OtlpReceiver::start().await;
    let up = Upstream::start("app").await;
    let config = Config::new()
        .routers(
            "    traced: { rule: \"PathPrefix(`/traced`)\", service: app }\n\
             \x20   hidden:\n      rule: \"PathPrefix(`/hidden`)\"\n      service: app\n      observability: { tracing: false }\n",
        )
        .service("app", &up.url());
    let statics = format!(
        "tracing:\n  otlp:\n    http:\n      endpoint: {}\n",
        receiver.endpoint()
    );
    let yaml = format!("{}{statics}", config.yaml());
    let mut gw =
        Gateway::start_with_plugins_and_env(&yaml, &[], &[("OTEL_BSP_SCHEDULE_DELAY", "50")]);
    let c = Client::http1();
    let incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    for i in 0..3 {
        let r = c
            .get(
                &gw.url(&format!("/hidden/{i}")),
                "obs.test",
                &[("traceparent", incoming)],
            )
            .await;
        assert_eq!(r.status, 200);
    }
    for i in 0..2 {
        assert_eq!(get(&c, &gw.url(&format!("/traced/{i}"))).await, 200);
    }
    assert_eq!(get(&c, &gw.url("/nowhere")).await, 404);
    // Hidden requests carry the client's own context upstream, untouched.
    let requests = up.requests();
    for received in &requests[..3] {
        assert_eq!(received.header("traceparent"), Some(incoming));
    }
    for received in &requests[3..] {
        let sent = received
            .header("traceparent")
            .expect("traceparent upstream");
        assert!(!sent.contains("0af7651916cd43dd8448eb211c80319c"), "{sent}");
    }
    let roots =
        |s: &[crate::support::ReceivedSpan]| s.iter().filter(|s| s.name == "EntryPoint").count();
    receiver.wait_for(PATIENCE, |s| roots(s) >= 3).await;
    // A graceful stop exports whatever is still queued: a hidden span would be there now.
    gw.signal("TERM");
    // Off this runtime's worker: the receiver's tasks keep running while the gateway exits.
    let exited = tokio::task::block_in_place(|| gw.wait_exit(PATIENCE));
    assert!(exited.is_some(), "gateway did not stop");
    assert_eq!(receiver.problems(), Vec::<String>::new());
    let spans = receiver.spans();
    let roots: Vec<_> = spans.iter().filter(|s| s.name == "EntryPoint").collect();
    assert_eq!(
        roots.len(),
        3,
        "two traced requests and the 404: {spans:#?}"
    );
    for s in &spans {
        assert_ne!(s.trace_id, "0af7651916cd43dd8448eb211c80319c", "{s:#?}");
        assert!(
            s.attr("url.path").is_none_or(|p| !p.starts_with("/hidden")),
            "{s:#?}"
        );
    }
    let routed: Vec<_> = roots
        .iter()
        .filter_map(|s| s.attr("traefik.router.name"))
        .collect();
    assert_eq!(routed, ["traced@file", "traced@file"], "{roots:#?}");
    assert_eq!(
        spans.iter().filter(|s| s.name == "ReverseProxy").count(),
        2,
        "{spans:#?}"
    );
}
