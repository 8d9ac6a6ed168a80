//! Tracing (static `tracing`), seen from outside: a real gateway exporting over OTLP/HTTP to a
//! real receiver that decodes the protobuf export requests, a real upstream reading the
//! `traceparent` it was sent, real clients. The export delay is shortened through the
//! OpenTelemetry environment variable (`OTEL_BSP_SCHEDULE_DELAY`); "nothing exported" is
//! checked after a graceful shutdown, which exports whatever is still queued.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::{
    Client, Config, Gateway, OtlpReceiver, ReceivedSpan, Upstream, check_config, fixture_wasm,
    located_errors,
};

/// How long to wait for exports that must come (a bound, not a measurement).
const PATIENCE: Duration = Duration::from_secs(30);
const FAST_EXPORT: &[(&str, &str)] = &[("OTEL_BSP_SCHEDULE_DELAY", "50")];

fn tracing_yaml(receiver: &OtlpReceiver, extra: &str) -> String {
    format!(
        "tracing:\n  serviceName: edge-gw\n{extra}  otlp:\n    http:\n      endpoint: {}\n",
        receiver.endpoint()
    )
}

/// A route `/api` through two bundled middlewares (`hdrs`, then `strip`) to `up`.
fn two_middlewares(up: &Upstream) -> Config {
    Config::new()
        .plugin_dir()
        .route_through("api", "PathPrefix(`/api`)", "app", "hdrs, strip")
        .service("app", &up.url())
        .middlewares(
            "    hdrs:\n      headers: { customRequestHeaders: { X-Traced: \"yes\" } }\n    strip:\n      stripPrefix: { prefixes: [\"/api\"] }\n",
        )
}

/// (version, trace id, parent id, flags) of a `traceparent` value.
fn traceparent(value: &str) -> (String, String, String, String) {
    let parts: Vec<&str> = value.split('-').collect();
    assert_eq!(parts.len(), 4, "traceparent {value:?}");
    assert_eq!(parts[1].len(), 32, "trace id of {value:?}");
    assert_eq!(parts[2].len(), 16, "parent id of {value:?}");
    (
        parts[0].to_string(),
        parts[1].to_string(),
        parts[2].to_string(),
        parts[3].to_string(),
    )
}

fn one<'a>(
    spans: &'a [ReceivedSpan],
    what: &str,
    pick: impl Fn(&ReceivedSpan) -> bool,
) -> &'a ReceivedSpan {
    let found: Vec<&ReceivedSpan> = spans.iter().filter(|s| pick(s)).collect();
    assert_eq!(found.len(), 1, "{what}: {found:#?}\nall: {spans:#?}");
    found[0]
}

fn in_trace(spans: &[ReceivedSpan], trace: &str) -> Vec<ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.trace_id == trace)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_is_one_trace_with_a_span_per_middleware_and_the_upstream_attempt() {
    let receiver = OtlpReceiver::start().await;
    let up = Upstream::start("app").await;
    let statics = tracing_yaml(
        &receiver,
        "  capturedRequestHeaders: [X-Request-Id]\n  safeQueryParams: [page]\n",
    );
    let yaml = format!("{}{statics}", two_middlewares(&up).yaml());
    let gw = Gateway::start_with_plugins_and_env(&yaml, &[], FAST_EXPORT);
    let c = Client::http1();
    for i in 0..3 {
        let r = c
            .get(
                &gw.url(&format!("/api/items/{i}?page=2&token=secret")),
                "trace.test",
                &[("x-request-id", "req-1")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(up.count(), 3);
    // Four spans per request: the request, two middlewares, one upstream attempt.
    let spans = receiver.wait_for(PATIENCE, |s| s.len() >= 12).await;
    assert_eq!(receiver.problems(), Vec::<String>::new());
    assert_eq!(spans.len(), 12, "{spans:#?}");
    let traces: BTreeSet<&str> = spans.iter().map(|s| s.trace_id.as_str()).collect();
    assert_eq!(traces.len(), 3, "one trace per request: {traces:?}");
    for received in up.requests() {
        let sent = received
            .header("traceparent")
            .unwrap_or_else(|| panic!("no traceparent upstream: {:?}", received.headers));
        let (version, trace_id, parent_id, flags) = traceparent(sent);
        assert_eq!((version.as_str(), flags.as_str()), ("00", "01"));
        assert!(
            traces.contains(trace_id.as_str()),
            "{trace_id} not exported"
        );
        let trace = in_trace(&spans, &trace_id);
        assert_eq!(trace.len(), 4, "{trace:#?}");
        let root = one(&trace, "EntryPoint", |s| s.name == "EntryPoint");
        assert_eq!(root.kind, 2, "server span");
        assert_eq!(root.parent_span_id, "", "a new trace starts here");
        assert_eq!(root.service_name, "edge-gw");
        assert_eq!(root.attr("http.request.method"), Some("GET"));
        assert!(
            root.attr("url.path")
                .is_some_and(|p| p.starts_with("/api/items/"))
        );
        assert_eq!(root.attr("url.query"), Some("page=2&token=REDACTED"));
        assert_eq!(root.attr("http.response.status_code"), Some("200"));
        assert_eq!(root.attr("traefik.router.name"), Some("api@file"));
        assert_eq!(root.attr("traefik.service.name"), Some("app@file"));
        assert_eq!(root.attr("entry_point"), Some("web"));
        assert_eq!(root.attr("http.request.header.x-request-id"), Some("req-1"));
        assert_eq!(root.attr("server.address"), Some("trace.test"));
        // Middleware spans nest in chain order, as Traefik's do.
        let hdrs = one(&trace, "hdrs span", |s| {
            s.attr("traefik.middleware.name") == Some("hdrs")
        });
        let strip = one(&trace, "strip span", |s| {
            s.attr("traefik.middleware.name") == Some("strip")
        });
        for mw in [hdrs, strip] {
            assert_eq!(mw.kind, 1, "internal span");
            assert!(
                mw.attr("wasmgate.plugin.name")
                    .is_some_and(|p| !p.is_empty())
            );
            assert_eq!(Some(mw.name.as_str()), mw.attr("wasmgate.plugin.name"));
            assert!(
                mw.attr("wasmgate.plugin.hash")
                    .is_some_and(|h| h.len() >= 8),
                "{mw:#?}"
            );
            assert_eq!(mw.status_code, 0);
        }
        assert_eq!(hdrs.parent_span_id, root.span_id);
        assert_eq!(strip.parent_span_id, hdrs.span_id);
        let attempt = one(&trace, "ReverseProxy", |s| s.name == "ReverseProxy");
        assert_eq!(attempt.kind, 3, "client span");
        assert_eq!(attempt.parent_span_id, strip.span_id);
        assert_eq!(attempt.attr("http.response.status_code"), Some("200"));
        assert_eq!(
            attempt.attr("server.address"),
            Some(up.addr.ip().to_string().as_str())
        );
        assert!(
            attempt
                .attr("url.full")
                .is_some_and(|u| u.starts_with(&up.url()) && u.ends_with("token=REDACTED")),
            "{attempt:#?}"
        );
        // The upstream's parent is the gateway's attempt span.
        assert_eq!(parent_id, attempt.span_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incoming_traceparent_keeps_its_trace_id_and_the_upstream_continues_it() {
    let receiver = OtlpReceiver::start().await;
    let up = Upstream::start("app").await;
    let yaml = format!(
        "{}{}",
        Config::new()
            .route("all", "PathPrefix(`/`)", "app")
            .service("app", &up.url())
            .yaml(),
        tracing_yaml(&receiver, "")
    );
    let gw = Gateway::start_with_env(&yaml, FAST_EXPORT);
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let client_span = "00f067aa0ba902b7";
    let incoming = format!("00-{trace_id}-{client_span}-01");
    let r = Client::http1()
        .get(
            &gw.url("/continued"),
            "trace.test",
            &[("traceparent", &incoming), ("tracestate", "vendor=abc")],
        )
        .await;
    assert_eq!(r.status, 200);
    let spans = receiver.wait_for(PATIENCE, |s| s.len() >= 2).await;
    assert_eq!(spans.len(), 2, "request and upstream attempt: {spans:#?}");
    assert!(spans.iter().all(|s| s.trace_id == trace_id), "{spans:#?}");
    let root = one(&spans, "EntryPoint", |s| s.name == "EntryPoint");
    assert_eq!(
        root.parent_span_id, client_span,
        "the client's span is the parent"
    );
    let attempt = one(&spans, "ReverseProxy", |s| s.name == "ReverseProxy");
    assert_eq!(attempt.parent_span_id, root.span_id);
    let sent = up.last();
    let (_, sent_trace, sent_parent, flags) =
        traceparent(sent.header("traceparent").expect("traceparent upstream"));
    assert_eq!(sent_trace, trace_id);
    assert_eq!(sent_parent, attempt.span_id, "not the client's span id");
    assert_eq!(flags, "01");
    assert_eq!(sent.header("tracestate"), Some("vendor=abc"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_rate_zero_exports_nothing_and_still_propagates_an_unsampled_context() {
    let receiver = OtlpReceiver::start().await;
    let up = Upstream::start("app").await;
    let yaml = format!(
        "{}{}",
        two_middlewares(&up).yaml(),
        tracing_yaml(&receiver, "  sampleRate: 0\n")
    );
    let mut gw = Gateway::start_with_plugins_and_env(&yaml, &[], FAST_EXPORT);
    let c = Client::http1();
    for i in 0..5 {
        let r = c
            .get(&gw.url(&format!("/api/{i}")), "trace.test", &[])
            .await;
        assert_eq!(r.status, 200);
    }
    let mut trace_ids = BTreeSet::new();
    for received in up.requests() {
        let (_, trace_id, _, flags) = traceparent(
            received
                .header("traceparent")
                .expect("traceparent upstream"),
        );
        assert_eq!(flags, "00", "not sampled");
        trace_ids.insert(trace_id);
    }
    assert_eq!(trace_ids.len(), 5, "a new trace per request");
    // A graceful stop exports whatever is queued: nothing may come.
    gw.signal("TERM");
    // Off this runtime's worker: the receiver's tasks keep running while the gateway exits.
    let exited = tokio::task::block_in_place(|| gw.wait_exit(PATIENCE));
    assert!(exited.is_some(), "gateway did not stop");
    assert_eq!(receiver.exports(), 0, "{:#?}", receiver.spans());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_plugin_marks_its_span_with_the_failure_kind() {
    let receiver = OtlpReceiver::start().await;
    let up = Upstream::start("app").await;
    let yaml = format!(
        "{}{}",
        Config::new()
            .plugin_dir()
            .route_through("r", "PathPrefix(`/`)", "app", "flaky")
            .service("app", &up.url())
            .middlewares(
                "    flaky:\n      plugin:\n        name: trap\n        config: { how: panic }\n        failOpen: true\n",
            )
            .yaml(),
        tracing_yaml(&receiver, "")
    );
    let gw = Gateway::start_with_plugins_and_env(
        &yaml,
        &[("trap", fixture_wasm("fixture_trap"))],
        FAST_EXPORT,
    );
    // The fixture traps when asked to by `x-fault`.
    let r = Client::http1()
        .get(&gw.url("/x"), "trace.test", &[("x-fault", "1")])
        .await;
    assert_eq!(r.status, 200, "fail-open passes the request on");
    let spans = receiver.wait_for(PATIENCE, |s| s.len() >= 3).await;
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let flaky = one(&spans, "flaky span", |s| {
        s.attr("traefik.middleware.name") == Some("flaky")
    });
    assert_eq!(flaky.name, "trap");
    assert_eq!(flaky.attr("error.type"), Some("trap"));
    assert_eq!(flaky.status_code, 2, "error status");
    let attempt = one(&spans, "ReverseProxy", |s| s.name == "ReverseProxy");
    assert_eq!(attempt.parent_span_id, flaky.span_id);
}

#[test]
fn tracing_config_errors_are_located() {
    let yaml = format!(
        "{}tracing:\n  sampleRate: 2\n  otlp:\n    grpc:\n      endpoint: localhost:4317\n    http:\n      endpoint: \"ftp://collector\"\n",
        Config::new()
            .route("all", "PathPrefix(`/`)", "app")
            .service("app", "http://127.0.0.1:1")
            .yaml()
    );
    let (ok, _, stderr) = check_config(&yaml, &[]);
    assert!(!ok, "accepted: {stderr}");
    let lines = located_errors(&stderr);
    let tracing_line = yaml
        .lines()
        .position(|l| l == "tracing:")
        .expect("tracing line")
        + 1;
    for want in [
        format!(
            "{}: tracing.sampleRate: 2 is not a fraction between 0 and 1",
            tracing_line + 1
        ),
        format!(
            "{}: tracing.otlp.grpc: export over one of otlp.http and otlp.grpc, not both",
            tracing_line + 3
        ),
        format!(
            "{}: tracing.otlp.http.endpoint: \"ftp://collector\": the scheme must be http or https",
            tracing_line + 6
        ),
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(&want)),
            "missing {want:?} in {lines:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_auth_call_is_a_child_span_of_its_middleware_and_the_auth_server_continues_it() {
    let receiver = OtlpReceiver::start().await;
    let (auth, up) = (
        crate::support::AuthServer::start().await,
        Upstream::start("app").await,
    );
    let config = Config::new()
        .route_through("guarded", "PathPrefix(`/`)", "app", "auth")
        .service("app", &up.url())
        .middlewares(&format!(
            "    auth:\n      forwardAuth:\n        address: \"{}\"\n",
            auth.url("/allow")
        ));
    let yaml = format!(
        "{}{}",
        crate::forward_auth::roomy(config),
        tracing_yaml(&receiver, "")
    );
    let gw = Gateway::start_with_plugins_and_env(&yaml, &[], FAST_EXPORT);
    let r = Client::http1()
        .get(&gw.url("/page"), "trace.test", &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The request, the auth middleware, its subrequest, the upstream attempt.
    let spans = receiver.wait_for(PATIENCE, |s| s.len() >= 4).await;
    assert_eq!(receiver.problems(), Vec::<String>::new());
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let root = one(&spans, "EntryPoint", |s| s.name == "EntryPoint");
    let mw = one(&spans, "auth span", |s| {
        s.attr("traefik.middleware.name") == Some("auth")
    });
    let sub = one(&spans, "Subrequest", |s| s.name == "Subrequest");
    let attempt = one(&spans, "ReverseProxy", |s| s.name == "ReverseProxy");
    assert_eq!(mw.parent_span_id, root.span_id);
    assert_eq!(
        sub.parent_span_id, mw.span_id,
        "under the middleware that sent it"
    );
    assert_eq!(sub.kind, 3, "client span");
    assert_eq!(sub.trace_id, root.trace_id);
    assert_eq!(sub.attr("http.request.method"), Some("GET"));
    assert_eq!(sub.attr("http.response.status_code"), Some("200"));
    assert_eq!(
        sub.attr("url.full"),
        Some(auth.url("/allow").as_str()),
        "{sub:#?}"
    );
    assert_eq!(
        sub.attr("server.address"),
        Some(auth.addr.ip().to_string().as_str())
    );
    assert_eq!(attempt.parent_span_id, mw.span_id);
    // The auth server was sent the subrequest's context, the upstream the attempt's.
    let asked = auth.requests();
    assert_eq!(asked.len(), 1);
    let (_, trace_id, parent_id, flags) = traceparent(
        asked[0]
            .header("traceparent")
            .expect("traceparent to the auth server"),
    );
    assert_eq!(
        (trace_id.as_str(), flags.as_str()),
        (root.trace_id.as_str(), "01")
    );
    assert_eq!(parent_id, sub.span_id);
    let (_, up_trace, up_parent, _) = traceparent(
        up.last()
            .header("traceparent")
            .expect("traceparent upstream"),
    );
    assert_eq!(up_trace, root.trace_id);
    assert_eq!(up_parent, attempt.span_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_grpc_exports_the_same_spans_with_its_headers_as_metadata() {
    let receiver = OtlpReceiver::start().await;
    let up = Upstream::start("app").await;
    let statics = format!(
        "tracing:\n  serviceName: grpc-gw\n  otlp:\n    grpc:\n      endpoint: \"{}\"\n      insecure: true\n      headers: {{ x-api-key: k1 }}\n",
        receiver.addr
    );
    let yaml = format!("{}{statics}", two_middlewares(&up).yaml());
    let gw = Gateway::start_with_plugins_and_env(&yaml, &[], FAST_EXPORT);
    let r = Client::http1()
        .get(&gw.url("/api/items/1"), "trace.test", &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The request, two middlewares, the upstream attempt.
    let spans = receiver.wait_for(PATIENCE, |s| s.len() >= 4).await;
    assert_eq!(receiver.problems(), Vec::<String>::new());
    assert_eq!(spans.len(), 4, "{spans:#?}");
    assert!(receiver.grpc_exports() >= 1);
    assert_eq!(receiver.exports(), receiver.grpc_exports(), "gRPC only");
    assert_eq!(receiver.metadata("x-api-key").as_deref(), Some("k1"));
    let root = one(&spans, "EntryPoint", |s| s.name == "EntryPoint");
    assert_eq!(root.service_name, "grpc-gw");
    let (_, trace_id, _, _) = traceparent(
        up.last()
            .header("traceparent")
            .expect("traceparent upstream"),
    );
    assert_eq!(trace_id, root.trace_id);
}
