//! Metrics and access log, seen from outside: a real gateway process, real clients, a scrape of
//! `/metrics` checked against the requests sent (by `promtool check metrics`, from the Debian
//! `prometheus` package, and by the small exposition parser below), and the access-log file
//! read back line by line. A real Prometheus server scraping the gateway: `prometheus_server`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Client, Config, Gateway, Upstream, check_config, fixture_wasm, free_port};

/// An address nothing listens on (a dead upstream).
pub(crate) fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// Routers `ok` (200 from the upstream), `deny` (403 from the deny plugin, never reaching the
/// service), `dead` (502: nothing listens); anything else is 404.
pub(crate) fn mixed(up: &Upstream) -> Config {
    Config::new()
        .plugin_dir()
        .route("ok", "PathPrefix(`/ok`)", "app")
        .route_through("deny", "PathPrefix(`/deny`)", "app", "deny")
        .route("dead", "PathPrefix(`/dead`)", "gone")
        .service("app", &up.url())
        .service("gone", &dead_url())
        .middlewares("    deny:\n      plugin: { name: deny, config: { status: 403 } }\n")
}

pub(crate) fn with_statics(config: &Config, entrypoints: &str, statics: &str) -> String {
    let yaml = config.yaml();
    let yaml = yaml.replacen("entryPoints:\n", &format!("entryPoints:\n{entrypoints}"), 1);
    format!("{yaml}{statics}")
}

pub(crate) fn deny_plugin() -> Vec<(&'static str, std::path::PathBuf)> {
    vec![("deny", fixture_wasm("fixture_deny"))]
}

/// Sends `n` GETs to `path_of(i)` with headers, 16 at a time; returns the statuses by code.
pub(crate) async fn send_many(
    c: &Client,
    gw: &Gateway,
    n: usize,
    path_of: impl Fn(usize) -> String,
    headers: &'static [(&'static str, &'static str)],
) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    let paths: Vec<String> = (0..n).map(path_of).collect();
    for batch in paths.chunks(16) {
        let mut tasks = Vec::new();
        for path in batch {
            let (c, url) = (c.clone(), gw.url(path));
            tasks.push(tokio::spawn(async move {
                c.get(&url, "app.test", headers).await.status.as_u16()
            }));
        }
        for t in tasks {
            *counts.entry(t.await.unwrap()).or_insert(0) += 1;
        }
    }
    counts
}

/// The path of request `i` of a mixed run: 200, 403, 502 and 404 in turn.
pub(crate) fn mixed_path(i: usize) -> String {
    match i % 4 {
        0 => format!("/ok/{i}"),
        1 => format!("/deny/{i}"),
        2 => format!("/dead/{i}"),
        _ => format!("/nothing/{i}"),
    }
}

/// One sample of the exposition: metric name and labels (sorted).
pub(crate) type SampleKey = (String, Vec<(String, String)>);

/// A small parser of the Prometheus text format: checks every line is a comment or a
/// well-formed sample, and returns the samples.
pub(crate) fn parse_exposition(text: &str) -> BTreeMap<SampleKey, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), Vec::new()),
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("bad labels {line:?}"));
                let mut labels: Vec<(String, String)> = body
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .map(|pair| {
                        let (k, v) = pair
                            .split_once("=\"")
                            .unwrap_or_else(|| panic!("bad label {line:?}"));
                        (k.to_string(), v.trim_end_matches('"').to_string())
                    })
                    .collect();
                labels.sort();
                (name.to_string(), labels)
            }
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line:?}"
        );
        assert!(
            samples.insert((name, labels), value).is_none(),
            "duplicate sample {line:?}"
        );
    }
    samples
}

pub(crate) fn value(
    samples: &BTreeMap<SampleKey, f64>,
    name: &str,
    labels: &[(&str, &str)],
) -> f64 {
    let mut want: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    want.sort();
    samples
        .get(&(name.to_string(), want.clone()))
        .copied()
        .unwrap_or_else(|| panic!("no sample {name}{want:?}"))
}

pub(crate) async fn scrape(c: &Client, url: &str) -> String {
    let r = c.get(url, "metrics.test", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
}

/// A middleware's plugin hook calls so far (`wasmgate_plugin_calls_total`), from a scrape of
/// the gateway's `/metrics`.
pub(crate) async fn hook_calls(gw: &Gateway, middleware: &str) -> f64 {
    middleware_metric(gw, "wasmgate_plugin_calls_total", middleware).await
}

/// The sum of a middleware's samples of the plugin metric `name`, from a scrape of the
/// gateway's `/metrics`.
pub(crate) async fn middleware_metric(gw: &Gateway, name: &str, middleware: &str) -> f64 {
    let text = scrape(&Client::http1(), &gw.url("/metrics")).await;
    sum_matching(
        &parse_exposition(&text),
        name,
        &[("middleware", middleware)],
    )
}

/// `promtool check metrics` on a scrape (Debian `prometheus`, installed by scripts/setup.sh);
/// fails the test when it finds a problem or is not installed.
pub(crate) fn promtool_check(text: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("promtool (Debian package prometheus) is needed: run scripts/setup.sh ({e})")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_every_request_by_code_router_and_service() {
    let up = Upstream::start("app").await;
    let port = free_port();
    let yaml = with_statics(
        &mixed(&up),
        &format!("  traefik:\n    address: \"127.0.0.1:{port}\"\n"),
        "metrics:\n  prometheus:\n    addRoutersLabels: true\n    buckets: [0.05, 0.5, 2]\n",
    );
    let gw = Gateway::start(&yaml, &deny_plugin());
    let c = Client::http1();
    let counts = send_many(&c, &gw, 80, mixed_path, &[]).await;
    assert_eq!(
        counts,
        BTreeMap::from([(200, 20), (403, 20), (404, 20), (502, 20)])
    );
    let text = scrape(&c, &format!("http://127.0.0.1:{port}/metrics")).await;
    let s = parse_exposition(&text);
    let ep = |code| {
        value(
            &s,
            "traefik_entrypoint_requests_total",
            &[
                ("code", code),
                ("method", "GET"),
                ("protocol", "http"),
                ("entrypoint", "web"),
            ],
        )
    };
    for code in ["200", "403", "404", "502"] {
        assert_eq!(ep(code), 20.0, "entrypoint, code {code}\n{text}");
    }
    let router = |code, router, service| {
        value(
            &s,
            "traefik_router_requests_total",
            &[
                ("code", code),
                ("method", "GET"),
                ("protocol", "http"),
                ("router", router),
                ("service", service),
            ],
        )
    };
    assert_eq!(router("200", "ok@file", "app@file"), 20.0);
    assert_eq!(router("403", "deny@file", "app@file"), 20.0);
    assert_eq!(router("502", "dead@file", "gone@file"), 20.0);
    let service = |code, service| {
        value(
            &s,
            "traefik_service_requests_total",
            &[
                ("code", code),
                ("method", "GET"),
                ("protocol", "http"),
                ("service", service),
            ],
        )
    };
    // The deny plugin answers before the service: the service counts only what reached it.
    assert_eq!(service("200", "app@file"), 20.0);
    assert_eq!(service("502", "gone@file"), 20.0);
    assert!(!text.contains("code=\"403\",method=\"GET\",protocol=\"http\",service=\"app@file\"}"));
    // The histogram counts every request and uses the configured buckets.
    let hist = [
        ("code", "200"),
        ("method", "GET"),
        ("protocol", "http"),
        ("entrypoint", "web"),
    ];
    assert_eq!(
        value(
            &s,
            "traefik_entrypoint_request_duration_seconds_count",
            &hist
        ),
        20.0
    );
    let mut inf = hist.to_vec();
    inf.push(("le", "+Inf"));
    assert_eq!(
        value(
            &s,
            "traefik_entrypoint_request_duration_seconds_bucket",
            &inf
        ),
        20.0
    );
    let mut half = hist.to_vec();
    half.push(("le", "0.5"));
    value(
        &s,
        "traefik_entrypoint_request_duration_seconds_bucket",
        &half,
    );
    // The upstream's bodies went out: response bytes were counted for the 200s.
    let bytes = value(&s, "traefik_entrypoint_responses_bytes_total", &hist);
    assert!(bytes > 0.0, "{text}");
    // The scraping connection is open on the traefik entrypoint.
    let open = value(
        &s,
        "traefik_open_connections",
        &[("entrypoint", "traefik"), ("protocol", "TCP")],
    );
    assert!(open >= 1.0, "{text}");
    assert_eq!(value(&s, "traefik_config_reloads_total", &[]), 1.0);
    promtool_check(&text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_counters_follow_an_accepted_and_a_refused_reload() {
    let up = Upstream::start("app").await;
    let statics = "metrics:\n  prometheus:\n    entryPoint: web\n";
    let config = Config::new()
        .route("ok", "PathPrefix(`/ok`)", "app")
        .service("app", &up.url());
    let gw = Gateway::start(&with_statics(&config, "", statics), &[]);
    let c = Client::http1();
    let s = parse_exposition(&scrape(&c, &gw.url("/metrics")).await);
    assert_eq!(value(&s, "traefik_config_reloads_total", &[]), 1.0);
    let first = value(&s, "traefik_config_last_reload_success", &[]);
    assert!(first > 1.6e9, "a Unix time: {first}");

    std::thread::sleep(Duration::from_millis(1100));
    let grown = config.clone().route("more", "PathPrefix(`/more`)", "app");
    std::fs::write(gw.config_path(), with_statics(&grown, "", statics)).unwrap();
    assert!(gw.wait_for_log("configuration reloaded"), "{}", gw.log());
    let s = parse_exposition(&scrape(&c, &gw.url("/metrics")).await);
    assert_eq!(value(&s, "traefik_config_reloads_total", &[]), 2.0);
    assert_eq!(value(&s, "traefik_config_reloads_failure_total", &[]), 0.0);
    let second = value(&s, "traefik_config_last_reload_success", &[]);
    assert!(second > first, "{second} > {first}");

    let broken = with_statics(&grown, "", statics).replace("PathPrefix(`/more`)", "Nope(`x`)");
    std::fs::write(gw.config_path(), broken).unwrap();
    assert!(gw.wait_for_log("reload rejected"), "{}", gw.log());
    let s = parse_exposition(&scrape(&c, &gw.url("/metrics")).await);
    assert_eq!(value(&s, "traefik_config_reloads_total", &[]), 2.0);
    assert_eq!(value(&s, "traefik_config_reloads_failure_total", &[]), 1.0);
    assert_eq!(value(&s, "traefik_config_last_reload_success", &[]), second);
}

#[test]
fn a_metrics_entrypoint_that_is_not_declared_is_a_config_error() {
    let yaml = format!(
        "{}metrics:\n  prometheus: {{}}\n",
        Config::new()
            .route("r", "PathPrefix(`/`)", "app")
            .service("app", "http://127.0.0.1:9")
            .yaml()
    );
    let (ok, _, stderr) = check_config(&yaml, &[]);
    assert!(!ok);
    assert!(
        stderr.contains("metrics.prometheus")
            && stderr.contains("\"traefik\" (which serves /metrics) is not declared"),
        "{stderr}"
    );
    let yaml = yaml.replace("prometheus: {}", "prometheus: {}\n  datadog: {}");
    let (ok, _, stderr) = check_config(&yaml, &[]);
    assert!(
        !ok && stderr.contains("metrics.datadog: not supported yet"),
        "{stderr}"
    );
}

/// Waits until `path` holds `lines` lines (the writer runs off the request path).
pub(crate) fn read_lines(path: &Path, lines: usize) -> Vec<String> {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let got: Vec<String> = text.lines().map(str::to_string).collect();
        if got.len() >= lines || Instant::now() > until {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_access_log_has_one_line_per_request_with_headers_redacted() {
    let up = Upstream::start("app").await;
    let statics = "accessLog:\n  filePath: access.json\n  format: json\n  fields:\n    names: { ClientUsername: drop }\n    headers:\n      defaultMode: keep\n      names: { Authorization: redact, X-Secret: drop }\n";
    let gw = Gateway::start(&with_statics(&mixed(&up), "", statics), &deny_plugin());
    let c = Client::http1();
    const HEADERS: &[(&str, &str)] = &[
        ("authorization", "Bearer hunter2"),
        ("x-secret", "s3"),
        ("user-agent", "obs-test/1"),
    ];
    let n = 1000;
    let counts = send_many(&c, &gw, n, mixed_path, HEADERS).await;
    let log = gw.config_path().with_file_name("access.json");
    let lines = read_lines(&log, n);
    assert_eq!(lines.len(), n, "one line per request");
    let mut by_status = BTreeMap::new();
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let status = v["DownstreamStatus"].as_u64().unwrap() as u16;
        *by_status.entry(status).or_insert(0) += 1;
        assert_eq!(v["request_Authorization"], "REDACTED", "{line}");
        assert_eq!(v["request_User-Agent"], "obs-test/1", "{line}");
        assert!(v.get("request_X-Secret").is_none(), "{line}");
        assert!(v.get("ClientUsername").is_none(), "{line}");
        assert!(
            !line.contains("hunter2") && !line.contains("s3\""),
            "{line}"
        );
        assert_eq!(v["ClientHost"], "127.0.0.1");
        assert_eq!(v["RequestMethod"], "GET");
        assert_eq!(v["entryPointName"], "web");
        assert!(v["Duration"].as_u64().is_some());
        let path = v["RequestPath"].as_str().unwrap();
        match status {
            200 => {
                assert!(path.starts_with("/ok/"), "{line}");
                assert_eq!(v["RouterName"], "ok@file");
                assert_eq!(v["ServiceName"], "app@file");
                assert_eq!(v["OriginStatus"], 200);
                assert_eq!(v["ServiceURL"], up.url().as_str());
                assert_eq!(v["RetryAttempts"], 0);
                // The response's headers, as the upstream sent them and as the client got
                // them (Traefik's `origin_` and `downstream_` fields).
                assert_eq!(v["origin_X-Upstream"], "app", "{line}");
                assert_eq!(v["downstream_X-Upstream"], "app", "{line}");
                assert_eq!(v["OriginContentSize"], v["DownstreamContentSize"], "{line}");
            }
            403 => {
                assert_eq!(v["RouterName"], "deny@file");
                assert!(v.get("OriginStatus").is_none(), "{line}");
                assert!(v.get("origin_X-Upstream").is_none(), "{line}");
                assert!(v.get("OriginContentSize").is_none(), "{line}");
            }
            502 => assert_eq!(v["RouterName"], "dead@file"),
            404 => assert!(v.get("RouterName").is_none(), "{line}"),
            other => panic!("unexpected status {other}: {line}"),
        }
    }
    assert_eq!(by_status, counts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn common_log_format_lines_pass_the_status_filter_only() {
    let up = Upstream::start("app").await;
    let statics =
        "accessLog:\n  filePath: access.log\n  filters:\n    statusCodes: [\"400-499\"]\n";
    let gw = Gateway::start(&with_statics(&mixed(&up), "", statics), &deny_plugin());
    let c = Client::http1();
    let counts = send_many(&c, &gw, 1000, mixed_path, &[("user-agent", "clf-test")]).await;
    assert_eq!(counts.values().sum::<usize>(), 1000);
    let want = counts[&403] + counts[&404];
    let log = gw.config_path().with_file_name("access.log");
    let lines = read_lines(&log, want);
    // Give a stray extra line time to show up before counting.
    std::thread::sleep(Duration::from_millis(200));
    let lines = if lines.len() == want {
        read_lines(&log, want)
    } else {
        lines
    };
    assert_eq!(lines.len(), want, "{}", lines.join("\n"));
    for line in &lines {
        // 127.0.0.1 - - [03/Dec/2026:10:00:00 +0000] "GET /deny/1 HTTP/1.1" 403 7 "-" "-" 12 "deny" "-" 0ms
        let (client, rest) = line
            .split_once(" - - [")
            .unwrap_or_else(|| panic!("{line}"));
        assert_eq!(client, "127.0.0.1");
        let (_time, rest) = rest.split_once("] \"").unwrap_or_else(|| panic!("{line}"));
        let (request, rest) = rest.split_once("\" ").unwrap_or_else(|| panic!("{line}"));
        assert!(
            request.starts_with("GET /") && request.ends_with(" HTTP/1.1"),
            "{line}"
        );
        let status: u16 = rest[..3].parse().unwrap_or_else(|_| panic!("{line}"));
        assert!((400..500).contains(&status), "{line}");
        assert!(line.ends_with("ms"), "{line}");
        // Headers are dropped by default (Traefik's headers.defaultMode), so no user agent.
        assert!(!line.contains("clf-test"), "{line}");
        if status == 403 {
            assert!(line.contains("\"deny@file\" \"-\""), "{line}");
        }
    }
}

/// Minutes past midnight of an RFC 3339 or CLF time's `HH:MM`, read at byte `at`.
fn minute_of_day(text: &str, at: usize) -> i64 {
    let hm = text.get(at..at + 5).unwrap_or_else(|| panic!("{text}"));
    let (h, m) = hm.split_once(':').unwrap_or_else(|| panic!("{text}"));
    h.parse::<i64>().unwrap() * 60 + m.parse::<i64>().unwrap()
}

/// Traefik writes `StartLocal`, logrus' `time` and (where `StartUTC` is dropped) the CLF time
/// in the process's time zone, here +02:30 ([`line_at_plus_0230`]).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_log_times_are_local_where_traefik_writes_local_time() {
    let up = Upstream::start("app").await;
    let line = line_at_plus_0230(&up, "access.json", "format: json").await;
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let (local, utc) = (
        v["StartLocal"].as_str().unwrap(),
        v["StartUTC"].as_str().unwrap(),
    );
    assert!(local.ends_with("+02:30"), "{local}");
    assert!(utc.ends_with('Z'), "{utc}");
    // The same instant: 2 h 30 min apart on the clock, the same fraction of a second.
    let apart = (minute_of_day(local, 11) - minute_of_day(utc, 11)).rem_euclid(24 * 60);
    assert_eq!(apart, 150, "{local} {utc}");
    assert_eq!(local.get(16..local.len() - 6), utc.get(16..utc.len() - 1));
    // logrus' `time`: RFC3339 in whole seconds, local.
    let time = v["time"].as_str().unwrap();
    assert_eq!(time.len(), "2026-12-07T03:30:00+02:30".len(), "{time}");
    assert!(time.ends_with("+02:30"), "{time}");

    // CLF: `StartUTC` dropped, so the line's time is `StartLocal`.
    let line = line_at_plus_0230(&up, "access.log", "fields: { names: { StartUTC: drop } }").await;
    let time = line
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(time, _)| time)
        .unwrap_or_else(|| panic!("{line}"));
    assert!(time.ends_with(" +0230"), "{line}");
}

/// The access-log line of one request to `/ok`, from a gateway running with `TZ` at +02:30
/// (a POSIX zone: no zone files needed), its `accessLog` writing to `file` with `settings`.
async fn line_at_plus_0230(up: &Upstream, file: &str, settings: &str) -> String {
    let statics = format!("accessLog:\n  filePath: {file}\n  {settings}\n");
    let gw = Gateway::start_with_plugins_and_env(
        &with_statics(&mixed(up), "", &statics),
        &deny_plugin(),
        &[("TZ", "WGT-2:30")],
    );
    let r = Client::http1().get(&gw.url("/ok/1"), "t.test", &[]).await;
    assert_eq!(r.status, 200);
    let lines = read_lines(&gw.config_path().with_file_name(file), 1);
    lines
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no line\n{}", gw.log()))
}

/// Traefik logs the request's header map as the entry point and the middlewares left it (the
/// access log holds the request's own map): forwarding headers set, a header a middleware
/// added or removed shown so. Here through Traefik's `headers` middleware (run natively) and
/// the Rust API-key guard (a Wasm hook that strips the key and names the user).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_log_shows_request_headers_as_the_middlewares_left_them() {
    let up = Upstream::start("app").await;
    let config = Config::new()
        .plugin_dir()
        .route_through("edited", "PathPrefix(`/edited`)", "app", "tag")
        .route_through("guarded", "PathPrefix(`/guarded`)", "app", "guard")
        .service("app", &up.url())
        .middlewares(
            "    tag:\n      headers:\n        customRequestHeaders: { X-Tag: \"a\", X-Drop: \"\" }\n    \
             guard:\n      plugin:\n        name: guard\n        \
             config: { keys: { alice: \"alice-secret-key\" }, userHeader: x-api-user }\n",
        );
    let statics = "accessLog:\n  filePath: access.json\n  format: json\n  fields:\n    headers:\n      defaultMode: keep\n";
    let gw = Gateway::start(
        &with_statics(&config, "", statics),
        &[("guard", fixture_wasm("example_rust_plugin"))],
    );
    let c = Client::http1();
    let r = c
        .get(&gw.url("/edited"), "h.test", &[("x-drop", "client-sent")])
        .await;
    assert_eq!(r.status, 200);
    let key = [("x-api-key", "alice-secret-key")];
    assert_eq!(c.get(&gw.url("/guarded"), "h.test", &key).await.status, 200);
    assert_eq!(
        c.get(&gw.url("/guarded/no-key"), "h.test", &[])
            .await
            .status,
        401
    );
    let lines = read_lines(&gw.config_path().with_file_name("access.json"), 3);
    let line = |path: &str| -> serde_json::Value {
        lines
            .iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|v| v["RequestPath"] == path)
            .unwrap_or_else(|| panic!("no line for {path}: {lines:?}"))
    };
    let edited = line("/edited");
    assert_eq!(edited["request_X-Tag"], "a", "{edited}");
    assert!(edited.get("request_X-Drop").is_none(), "{edited}");
    assert_eq!(edited["request_X-Forwarded-Proto"], "http", "{edited}");
    assert_eq!(edited["request_Host"], "h.test", "{edited}");
    let guarded = line("/guarded");
    assert_eq!(guarded["request_X-Api-User"], "alice", "{guarded}");
    assert!(guarded.get("request_X-Api-Key").is_none(), "{guarded}");
    let refused = line("/guarded/no-key");
    assert_eq!(refused["DownstreamStatus"], 401, "{refused}");
    assert!(refused.get("request_X-Api-User").is_none(), "{refused}");
    assert_eq!(refused["request_X-Forwarded-Proto"], "http", "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigusr1_after_a_rename_reopens_the_file_and_loses_no_line() {
    let up = Upstream::start("app").await;
    let statics = "accessLog:\n  filePath: access.log\n";
    let config = Config::new()
        .route("ok", "PathPrefix(`/`)", "app")
        .service("app", &up.url());
    let gw = Gateway::start(&with_statics(&config, "", statics), &[]);
    let c = Client::http1();
    let log = gw.config_path().with_file_name("access.log");
    let rotated = gw.config_path().with_file_name("access.log.1");
    send_many(&c, &gw, 150, |i| format!("/before/{i}"), &[]).await;
    std::fs::rename(&log, &rotated).unwrap();
    gw.signal("USR1");
    let until = Instant::now() + Duration::from_secs(10);
    while !log.exists() {
        assert!(
            Instant::now() < until,
            "no new file after SIGUSR1; log:\n{}",
            gw.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    send_many(&c, &gw, 150, |i| format!("/after/{i}"), &[]).await;
    let new = read_lines(&log, 150);
    let old = std::fs::read_to_string(&rotated).unwrap();
    let old: Vec<&str> = old.lines().collect();
    // A line of the first batch can still be on its way when the signal lands (the line is
    // sent when the response body is dropped, just after the client has its response): it
    // then goes to the new file. None is lost, and none of the second batch goes to the old.
    let before = |lines: &[&str]| lines.iter().filter(|l| l.contains("/before/")).count();
    let new: Vec<&str> = new.iter().map(String::as_str).collect();
    assert_eq!(
        before(&old) + before(&new),
        150,
        "no line of the first batch is lost"
    );
    assert!(
        before(&old) >= 140,
        "the renamed file keeps the lines before the signal"
    );
    assert_eq!(
        old.len(),
        before(&old),
        "nothing after the signal goes to the renamed file"
    );
    assert_eq!(new.iter().filter(|l| l.contains("/after/")).count(), 150);
}

/// The sum of the samples of `name` whose labels include `subset`.
pub(crate) fn sum_matching(
    samples: &BTreeMap<SampleKey, f64>,
    name: &str,
    subset: &[(&str, &str)],
) -> f64 {
    samples
        .iter()
        .filter(|((n, labels), _)| {
            n == name
                && subset
                    .iter()
                    .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_plugin_shows_in_its_failure_counter_with_kind_trap() {
    let up = Upstream::start("app").await;
    let statics = "metrics:\n  prometheus:\n    entryPoint: web\n";
    let config = Config::new()
        .plugin_dir()
        .route_through("guarded", "PathPrefix(`/app`)", "app", "boom")
        .service("app", &up.url())
        .middlewares("    boom:\n      plugin: { name: trap }\n");
    let gw = Gateway::start(
        &with_statics(&config, "", statics),
        &[("trap", fixture_wasm("fixture_trap"))],
    );
    let c = Client::http1();
    for _ in 0..6 {
        assert_eq!(c.get(&gw.url("/app/x"), "app.test", &[]).await.status, 200);
    }
    for _ in 0..4 {
        let r = c
            .get(&gw.url("/app/x"), "app.test", &[("x-fault", "1")])
            .await;
        assert_eq!(r.status, 500);
    }
    let text = scrape(&c, &gw.url("/metrics")).await;
    let s = parse_exposition(&text);
    let who = [
        ("middleware", "boom"),
        ("plugin", "trap"),
        ("hook", "on-request"),
    ];
    assert_eq!(
        sum_matching(&s, "wasmgate_plugin_calls_total", &who),
        10.0,
        "{text}"
    );
    let mut trap = who.to_vec();
    trap.push(("kind", "trap"));
    assert_eq!(
        sum_matching(&s, "wasmgate_plugin_failures_total", &trap),
        4.0,
        "{text}"
    );
    assert_eq!(
        sum_matching(&s, "wasmgate_plugin_failures_total", &who),
        4.0,
        "{text}"
    );
    promtool_check(&text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_show_in_the_service_counter_and_the_access_log_with_the_answering_server() {
    let up = Upstream::start("live").await;
    let statics = "metrics:\n  prometheus:\n    entryPoint: web\naccessLog:\n  filePath: access.json\n  format: json\n";
    let service = format!(
        "    pair:\n      loadBalancer:\n        servers: [{{ url: \"{}\" }}, {{ url: \"{}\" }}]\n        retry: {{ attempts: 2, initialInterval: 1ms }}\n",
        dead_url(),
        up.url()
    );
    let config = Config::new()
        .route("r", "PathPrefix(`/`)", "pair")
        .services(&service);
    let gw = Gateway::start(&with_statics(&config, "", statics), &[]);
    let c = Client::http1();
    let counts = send_many(&c, &gw, 20, |i| format!("/x/{i}"), &[]).await;
    assert_eq!(counts, BTreeMap::from([(200, 20)]));
    let text = scrape(&c, &gw.url("/metrics")).await;
    let s = parse_exposition(&text);
    let retries = value(
        &s,
        "traefik_service_retries_total",
        &[("service", "pair@file")],
    );
    assert!(retries > 0.0, "{text}");
    let lines = read_lines(&gw.config_path().with_file_name("access.json"), 20);
    assert_eq!(lines.len(), 20);
    let mut logged = 0.0;
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["ServiceURL"], up.url().as_str(), "{line}");
        logged += v["RetryAttempts"].as_f64().unwrap();
    }
    assert_eq!(
        logged, retries,
        "the log's RetryAttempts add up to the counter"
    );
}

/// Traefik logs a trusted forwarder's `X-Forwarded-For` as `ClientHost` (the client behind the
/// load balancer); from an untrusted client the header is not believed and `ClientHost` is the
/// peer. Two entrypoints, one trusting loopback (`forwardedHeaders.trustedIPs`), one not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_forwarders_client_is_the_access_logs_client_host() {
    let up = Upstream::start("app").await;
    let trusted = free_port();
    let entrypoints = format!(
        "  lb:\n    address: \"127.0.0.1:{trusted}\"\n    forwardedHeaders:\n      trustedIPs: [\"127.0.0.1/32\"]\n"
    );
    let statics = "accessLog:\n  filePath: access.json\n  format: json\n";
    let config = Config::new()
        .route("r", "PathPrefix(`/`)", "app")
        .service("app", &up.url());
    let gw = Gateway::start(&with_statics(&config, &entrypoints, statics), &[]);
    let c = Client::http1();
    let chain = [("x-forwarded-for", "203.0.113.7, 198.51.100.2")];
    let via_lb = c
        .get(&format!("http://127.0.0.1:{trusted}/lb"), "a.test", &chain)
        .await;
    assert_eq!(via_lb.status.as_u16(), 200);
    let direct = c.get(&gw.url("/direct"), "a.test", &chain).await;
    assert_eq!(direct.status.as_u16(), 200);

    let lines = read_lines(&gw.config_path().with_file_name("access.json"), 2);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let line = |path: &str| -> serde_json::Value {
        lines
            .iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON"))
            .find(|v| v["RequestPath"] == path)
            .expect("a line for the path")
    };
    let lb = line("/lb");
    assert_eq!(lb["ClientHost"], "203.0.113.7, 198.51.100.2", "{lb}");
    assert_eq!(lb["entryPointName"], "lb");
    let peer = lb["ClientAddr"].as_str().unwrap_or_default().to_string();
    assert!(peer.starts_with("127.0.0.1:"), "{lb}");
    let direct = line("/direct");
    assert_eq!(direct["ClientHost"], "127.0.0.1", "{direct}");

    // Traefik's timing split: the time at the service and the gateway's own share of it.
    let ns =
        |v: &serde_json::Value, key: &str| v[key].as_u64().unwrap_or_else(|| panic!("{key}: {v}"));
    for v in [&lb, &direct] {
        assert!(ns(v, "OriginDuration") > 0, "{v}");
        assert_eq!(
            ns(v, "OriginDuration") + ns(v, "Overhead"),
            ns(v, "Duration"),
            "{v}"
        );
    }
}

/// As in Traefik, requests a router sends to an internal service (`ping@internal` here) are
/// neither logged nor counted unless the section says `addInternals`; the other routes' are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_services_are_observed_only_with_add_internals() {
    let up = Upstream::start("app").await;
    let config = Config::new()
        .route("health", "Path(`/health`)", "ping@internal")
        .route("app", "PathPrefix(`/app`)", "app")
        .service("app", &up.url());
    for add_internals in [false, true] {
        let statics = format!(
            "ping:\n  manualRouting: true\nmetrics:\n  addInternals: {add_internals}\n  prometheus:\n    entryPoint: web\n    addRoutersLabels: true\naccessLog:\n  filePath: access.json\n  format: json\n  addInternals: {add_internals}\n"
        );
        let gw = Gateway::start(&with_statics(&config, "", &statics), &[]);
        let c = Client::http1();
        // The last request's line comes after every earlier one's (one connection, in
        // order): once it is written, a line the others should not have made would be too.
        for path in ["/health", "/health", "/app/x", "/app/last"] {
            let r = c.get(&gw.url(path), "a.test", &[]).await;
            assert_eq!(r.status, 200, "{path}");
        }
        let expected = if add_internals { 4 } else { 2 };
        let text = scrape(&c, &gw.url("/metrics")).await;
        let s = parse_exposition(&text);
        assert_eq!(
            sum_matching(
                &s,
                "traefik_entrypoint_requests_total",
                &[("entrypoint", "web")]
            ),
            expected as f64,
            "addInternals {add_internals}: {text}"
        );
        let health = sum_matching(
            &s,
            "traefik_router_requests_total",
            &[("router", "health@file")],
        );
        assert_eq!(health, if add_internals { 2.0 } else { 0.0 }, "{text}");
        let log = gw.config_path().with_file_name("access.json");
        let lines = read_lines(&log, expected);
        assert!(
            lines.last().is_some_and(|l| l.contains("/app/last")),
            "{lines:?}"
        );
        assert_eq!(
            lines.len(),
            expected,
            "addInternals {add_internals}: {lines:?}"
        );
        let routers: Vec<String> = lines
            .iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON"))
            .map(|v| v["RouterName"].as_str().unwrap_or_default().to_string())
            .collect();
        assert!(routers.contains(&"app@file".to_string()), "{routers:?}");
    }
}

/// Traefik's `log` section: `format: json` and `filePath` (Traefik configs carry them and were
/// refused): the gateway's own events go to the file as JSON objects, none to standard error,
/// and `SIGUSR1` after a rename reopens the file. (The harness sets `RUST_LOG`, which wins
/// over `log.level`; the level's reading is covered by the config's unit tests.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateways_own_log_goes_to_log_file_path_as_json_at_log_level() {
    let up = Upstream::start("app").await;
    let statics =
        "log:\n  level: WARN\n  format: json\n  filePath: wasmgate.log\n  noColor: true\n";
    let config = Config::new()
        .route("ok", "PathPrefix(`/ok`)", "app")
        .service("app", &up.url());
    let gw = Gateway::start(&with_statics(&config, "", statics), &[]);
    let path = gw.config_path().with_file_name("wasmgate.log");
    // Waits until the file at `path` has a line containing `needle`; returns its lines.
    let lines_with = |needle: &str| -> Vec<serde_json::Value> {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.contains(needle) || Instant::now() > until {
                return text
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
                    .collect();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let started = lines_with("\"listening\"");
    assert!(
        started
            .iter()
            .any(|v| v["message"] == "listening" && v["level"] == "INFO"),
        "{started:?}; stderr:\n{}",
        gw.log()
    );
    assert!(
        !gw.log().contains("listening\""),
        "nothing on stderr: {}",
        gw.log()
    );

    let c = Client::http1();
    let rotated = gw.config_path().with_file_name("wasmgate.log.1");
    std::fs::rename(&path, &rotated).expect("rename");
    gw.signal("USR1");
    let until = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(Instant::now() < until, "no new file after SIGUSR1");
        std::thread::sleep(Duration::from_millis(10));
    }
    // A reload's line goes to the new file.
    let changed = config.route("more", "PathPrefix(`/more`)", "app");
    std::fs::write(gw.config_path(), with_statics(&changed, "", statics)).expect("rewrite");
    let after = lines_with("configuration reloaded");
    assert!(
        after
            .iter()
            .any(|v| v["message"] == "configuration reloaded" && v["level"] == "INFO"),
        "{after:?}"
    );
    let old = std::fs::read_to_string(&rotated).unwrap_or_default();
    assert!(
        old.contains("listening") && !old.contains("configuration reloaded"),
        "the renamed file keeps the earlier lines only"
    );
    assert_eq!(c.get(&gw.url("/more/x"), "a.test", &[]).await.status, 200);
}
