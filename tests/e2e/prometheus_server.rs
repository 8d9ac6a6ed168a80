//! The gateway's metrics as Prometheus and Traefik users see them: a real Prometheus server
//! (Debian `prometheus`, installed by scripts/setup.sh) scraping a real gateway process, and
//! the families only a scrape shows (server health, certificate expiry, wasmgate's plugin,
//! pool and reload figures, `headerLabels`, `manualRouting`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::observability::{
    deny_plugin, mixed, mixed_path, parse_exposition, promtool_check, scrape, send_many,
    sum_matching, value, with_statics,
};
use crate::support::tls::TestCa;
use crate::support::{Client, Config, Gateway, Upstream, free_port};

/// A Prometheus server started for one test, on a loopback port of its own, scraping
/// `target` every 200 ms; stopped (by its own pid) when dropped.
struct PrometheusServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl PrometheusServer {
    fn start(target: &str) -> PrometheusServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 200ms\n  scrape_timeout: 150ms\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: wasmgate\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ),
        )
        .expect("write prometheus.yml");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("the prometheus server (Debian package prometheus) is needed: run scripts/setup.sh ({e})")
            });
        PrometheusServer { child, port, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Waits for "Server is ready to receive web requests." in its log.
    fn wait_ready(&mut self) {
        let until = Instant::now() + Duration::from_secs(60);
        while !self
            .log()
            .contains("Server is ready to receive web requests")
        {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < until,
                "prometheus not ready:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The instant vector of `query`, as `(labels, value)` pairs.
    async fn query(&self, c: &Client, query: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        let encoded: String = query
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => {
                    char::from(b).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect();
        let url = format!(
            "http://127.0.0.1:{}/api/v1/query?query={encoded}",
            self.port
        );
        let reply = c.get(&url, "", &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let body: Value = serde_json::from_slice(&reply.body).expect("json");
        assert_eq!(body["status"], "success", "{body}");
        body["data"]["result"]
            .as_array()
            .map(|all| {
                all.iter()
                    .map(|sample| {
                        let labels = sample["metric"]
                            .as_object()
                            .map(|m| {
                                m.iter()
                                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                                    .collect()
                            })
                            .unwrap_or_default();
                        let value = sample["value"][1]
                            .as_str()
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(f64::NAN);
                        (labels, value)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_server_scrapes_the_gateway_and_its_query_api_returns_the_traffic() {
    let up = Upstream::start("app").await;
    let port = free_port();
    let yaml = with_statics(
        &mixed(&up),
        &format!("  traefik:\n    address: \"127.0.0.1:{port}\"\n"),
        "metrics:\n  prometheus: {}\n",
    );
    let gw = Gateway::start(&yaml, &deny_plugin());
    let c = Client::http1();
    let sent = send_many(&c, &gw, 120, mixed_path, &[]).await;
    assert_eq!(
        sent,
        BTreeMap::from([(200, 30), (403, 30), (404, 30), (502, 30)])
    );
    let mut prometheus = PrometheusServer::start(&format!("127.0.0.1:{port}"));
    prometheus.wait_ready();

    // Await a scrape that holds the traffic sent (Prometheus scrapes every 200 ms).
    let until = Instant::now() + Duration::from_secs(60);
    let seen = loop {
        let got = prometheus
            .query(&c, "traefik_entrypoint_requests_total")
            .await;
        let by_code: BTreeMap<u16, usize> = got
            .iter()
            .filter(|(l, _)| l.get("entrypoint").map(String::as_str) == Some("web"))
            .filter_map(|(l, v)| Some((l.get("code")?.parse().ok()?, *v as usize)))
            .collect();
        if by_code == sent {
            break got;
        }
        assert!(
            Instant::now() < until,
            "Prometheus never returned the traffic sent {sent:?}; last answer {got:?}\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for (labels, _) in &seen {
        assert_eq!(labels["job"], "wasmgate", "{labels:?}");
        assert_eq!(labels["method"], "GET", "{labels:?}");
        assert_eq!(labels["protocol"], "http", "{labels:?}");
    }
    // The scrape itself is healthy and the service counters are there too.
    let up_now = prometheus.query(&c, "up").await;
    assert_eq!(up_now.len(), 1, "{up_now:?}");
    assert_eq!(up_now[0].1, 1.0);
    let service = prometheus
        .query(
            &c,
            "traefik_service_requests_total{service=\"app@file\",code=\"200\"}",
        )
        .await;
    assert_eq!(service.len(), 1, "{service:?}");
    assert_eq!(service[0].1, 30.0);
}

fn certificate_entry(dir: &Path) -> String {
    let leaf = TestCa::new("metrics-ca").leaf(&["secure.test", "www.secure.test"]);
    leaf.entry(dir, "secure")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_health_certificates_plugin_figures_and_reload_durations_are_scraped() {
    let up = Upstream::start("app").await;
    let dead = crate::observability::dead_url();
    let port = free_port();
    let certs = tempfile::tempdir().expect("tempdir");
    let services = format!(
        "    app:\n      loadBalancer:\n        servers: [{{ url: \"{}\" }}]\n    pair:\n      loadBalancer:\n        servers: [{{ url: \"{}\" }}, {{ url: \"{dead}\" }}]\n        healthCheck: {{ path: /health, interval: 50ms, timeout: 50ms }}\n",
        up.url(),
        up.url()
    );
    let config = Config::new()
        .plugin_dir()
        .route_through("guarded", "PathPrefix(`/deny`)", "app", "deny")
        .route("pair", "PathPrefix(`/pair`)", "pair")
        .services(&services)
        .middlewares("    deny:\n      plugin: { name: deny, config: { status: 403 } }\n");
    let statics = "metrics:\n  prometheus:\n    headerLabels: { tenant: X-Tenant }\n";
    let yaml = with_statics(
        &config,
        &format!("  traefik:\n    address: \"127.0.0.1:{port}\"\n"),
        statics,
    ) + &format!("tls:\n  certificates:\n{}", certificate_entry(certs.path()));
    let gw = Gateway::start(&yaml, &deny_plugin());
    let c = Client::http1();
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    for i in 0..12 {
        let tenant = if i % 3 == 0 { "blue" } else { "green" };
        let r = c
            .get(&gw.url("/deny/x"), "app.test", &[("x-tenant", tenant)])
            .await;
        assert_eq!(r.status, 403);
    }

    // Await the health check marking the dead server down (it starts up).
    let until = Instant::now() + Duration::from_secs(20);
    let (text, s) = loop {
        let text = scrape(&c, &metrics).await;
        let s = parse_exposition(&text);
        let down = [("service", "pair@file"), ("url", dead.as_str())];
        if s.contains_key(&key("traefik_service_server_up", &down))
            && value(&s, "traefik_service_server_up", &down) == 0.0
        {
            break (text, s);
        }
        assert!(Instant::now() < until, "dead server never down:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let upstream = up.url();
    assert_eq!(
        value(
            &s,
            "traefik_service_server_up",
            &[("service", "pair@file"), ("url", upstream.as_str())]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(
            &s,
            "traefik_service_server_up",
            &[("service", "app@file"), ("url", upstream.as_str())]
        ),
        1.0
    );

    // The configured certificate, with Traefik's labels.
    let cert = s
        .iter()
        .find(|((name, _), _)| name == "traefik_tls_certs_not_after")
        .unwrap_or_else(|| panic!("no certificate expiry:\n{text}"));
    let labels: BTreeMap<&str, &str> = cert
        .0
        .1
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(labels["sans"], "secure.test,www.secure.test", "{text}");
    assert!(
        !labels["serial"].is_empty() && labels["serial"].bytes().all(|b| b.is_ascii_digit()),
        "{labels:?}"
    );
    assert!(labels.contains_key("cn"), "{labels:?}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    assert!(*cert.1 > now, "not after {} is in the future", cert.1);

    // The plugin's figures: every call timed, one warm instance made and idle again.
    let who = [
        ("middleware", "deny"),
        ("plugin", "deny"),
        ("hook", "on-request"),
    ];
    let calls = sum_matching(&s, "wasmgate_plugin_calls_total", &who);
    assert_eq!(calls, 12.0, "{text}");
    assert_eq!(
        sum_matching(&s, "wasmgate_plugin_hook_duration_seconds_count", &who),
        calls,
        "{text}"
    );
    let mut inf = who.to_vec();
    inf.push(("le", "+Inf"));
    assert_eq!(
        sum_matching(&s, "wasmgate_plugin_hook_duration_seconds_bucket", &inf),
        calls
    );
    assert!(sum_matching(&s, "wasmgate_plugin_hook_duration_seconds_sum", &who) > 0.0);
    let mw = [("middleware", "deny"), ("plugin", "deny")];
    let made = sum_matching(&s, "wasmgate_plugin_instantiations_total", &mw);
    assert!(made >= 1.0, "{text}");
    let live = sum_matching(&s, "wasmgate_plugin_instances_live", &mw);
    let idle = sum_matching(&s, "wasmgate_plugin_instances_idle", &mw);
    assert!(
        live >= 1.0 && idle == live && live <= made,
        "sequential requests leave every instance idle: live {live}, idle {idle}, made {made}\n{text}"
    );

    // headerLabels: the requests counters only, split by the header's value.
    let tenant = |t: &'static str| {
        sum_matching(
            &s,
            "traefik_entrypoint_requests_total",
            &[("entrypoint", "web"), ("code", "403"), ("tenant", t)],
        )
    };
    assert_eq!((tenant("blue"), tenant("green")), (4.0, 8.0), "{text}");
    assert!(
        !text.contains("traefik_entrypoint_responses_bytes_total{code=\"403\",method=\"GET\",protocol=\"http\",entrypoint=\"web\",tenant"),
        "{text}"
    );

    // Start-up counted as one configuration load, no refused plugin file yet.
    assert_eq!(
        value(&s, "wasmgate_config_reload_duration_seconds_count", &[]),
        1.0
    );
    assert!(!text.contains("wasmgate_plugin_files_rejected{"), "{text}");
    promtool_check(&text);

    // A refused new version of the plugin: listed by name and hash, the old one serving.
    let plugin_dir = gw.plugin_dir();
    std::fs::write(plugin_dir.join(".deny.tmp"), b"not a component").expect("write");
    std::fs::rename(plugin_dir.join(".deny.tmp"), plugin_dir.join("deny.wasm")).expect("rename");
    assert!(gw.wait_for_log("plugin rejected"), "{}", gw.log());
    let until = Instant::now() + Duration::from_secs(20);
    let s = loop {
        let text = scrape(&c, &metrics).await;
        let s = parse_exposition(&text);
        // The refused file is published before that reload's duration is observed: a scrape
        // between the two saw the first without the second (a failed CI run), so await both.
        if sum_matching(&s, "wasmgate_plugin_files_rejected", &[("plugin", "deny")]) == 1.0
            && value(&s, "wasmgate_config_reload_duration_seconds_count", &[]) >= 2.0
        {
            break s;
        }
        assert!(
            Instant::now() < until,
            "refused file or its reload's duration never listed:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(value(&s, "wasmgate_config_reload_duration_seconds_count", &[]) >= 2.0);
    assert_eq!(
        c.get(&gw.url("/deny/x"), "app.test", &[]).await.status,
        403,
        "the good version still serves"
    );
}

fn key(name: &str, labels: &[(&str, &str)]) -> crate::observability::SampleKey {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.sort();
    (name.to_string(), labels)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_manual_routing_metrics_are_served_only_by_a_users_router() {
    let up = Upstream::start("app").await;
    let port = free_port();
    let config = Config::new()
        .route("ok", "PathPrefix(`/ok`)", "app")
        .service("app", &up.url())
        .routers(
            "    scrape:\n      rule: \"Host(`metrics.test`) && Path(`/custom-metrics`)\"\n      service: prometheus@internal\n",
        );
    let yaml = with_statics(
        &config,
        &format!("  traefik:\n    address: \"127.0.0.1:{port}\"\n"),
        "metrics:\n  prometheus:\n    manualRouting: true\n    addRoutersLabels: true\n",
    );
    let gw = Gateway::start(&yaml, &[]);
    let c = Client::http1();
    for _ in 0..3 {
        assert_eq!(c.get(&gw.url("/ok"), "app.test", &[]).await.status, 200);
    }
    let r = c
        .get(&format!("http://127.0.0.1:{port}/metrics"), "", &[])
        .await;
    assert_eq!(r.status, 404, "no automatic /metrics: {}", r.text());
    let r = c.get(&gw.url("/custom-metrics"), "metrics.test", &[]).await;
    assert_eq!(r.status, 200);
    let text = r.text();
    let s = parse_exposition(&text);
    assert_eq!(
        value(
            &s,
            "traefik_router_requests_total",
            &[
                ("code", "200"),
                ("method", "GET"),
                ("protocol", "http"),
                ("router", "ok@file"),
                ("service", "app@file"),
            ]
        ),
        3.0,
        "{text}"
    );
    promtool_check(&text);
}
