//! The bundled `headers` plugin (Traefik's `headers` middleware), short-circuiting plugins,
//! and forwarding headers.

use crate::support::{Client, Config, Gateway, Upstream, fixture_wasm};

fn config(upstream: &Upstream, middlewares: &str, chain: &str) -> String {
    Config::new()
        .plugin_dir()
        .route_through("app", "PathPrefix(`/`)", "app", chain)
        .service("app", &upstream.url())
        .middlewares(middlewares)
        .yaml()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_plugin_adds_and_removes_request_and_response_headers() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(
        &config(
            &up,
            r#"
    hdrs:
      headers:
        customRequestHeaders:
          X-Script-Name: "test"
          X-Remove-Me: ""
        customResponseHeaders:
          X-Custom-Response: "yes"
          X-Upstream: ""
"#,
            "hdrs",
        ),
        &[],
    );
    let r = Client::http1()
        .get(
            &gw.url("/"),
            "h.test",
            &[("x-remove-me", "secret"), ("x-other", "kept")],
        )
        .await;
    assert_eq!(r.status, 200);
    let seen = up.last();
    assert_eq!(
        seen.header("x-script-name"),
        Some("test"),
        "upstream sees the added header"
    );
    assert_eq!(
        seen.header("x-remove-me"),
        None,
        "a header configured empty is removed"
    );
    assert_eq!(seen.header("x-other"), Some("kept"));
    assert_eq!(
        r.header("x-custom-response"),
        Some("yes"),
        "client sees the response header"
    );
    assert_eq!(
        r.header("x-upstream"),
        None,
        "an upstream header configured empty is removed"
    );
    assert_eq!(r.text(), "app");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_answering_directly_short_circuits_the_upstream() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(
        &config(
            &up,
            r#"
    add:
      headers:
        customResponseHeaders: { X-Seen-By-Headers: "1" }
    deny:
      plugin:
        name: deny
        config: { status: 403, body: "go away" }
"#,
            "add, deny",
        ),
        &[("deny", fixture_wasm("fixture_deny"))],
    );
    let c = Client::http1();
    for _ in 0..5 {
        let r = c.get(&gw.url("/secret"), "d.test", &[]).await;
        assert_eq!(r.status, 403);
        assert_eq!(r.text(), "go away");
        assert_eq!(
            r.header("x-seen-by-headers"),
            Some("1"),
            "earlier middlewares' response hooks run on the reply"
        );
    }
    assert_eq!(up.count(), 0, "the upstream must receive zero requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_are_set_and_hop_by_hop_headers_removed() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&config(&up, "    none: { headers: {} }\n", ""), &[]);
    let r = Client::http1()
        .get(
            &gw.url("/p"),
            "fwd.test",
            &[
                ("x-forwarded-for", "6.6.6.6"),
                ("connection", "x-hop"),
                ("x-hop", "must not pass"),
                ("keep-alive", "timeout=5"),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    let seen = up.last();
    assert_eq!(
        seen.header("x-forwarded-for"),
        Some("127.0.0.1"),
        "client-sent X-Forwarded-For is replaced"
    );
    assert_eq!(seen.header("x-forwarded-proto"), Some("http"));
    assert_eq!(seen.header("x-forwarded-host"), Some("fwd.test"));
    assert_eq!(
        seen.header("x-hop"),
        None,
        "headers named in Connection are hop-by-hop"
    );
    assert_eq!(seen.header("keep-alive"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_forwarder_keeps_its_forwarding_headers_and_the_client_ip_is_appended() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(
        &Config::new()
            .entrypoint(r#"forwardedHeaders: { trustedIPs: ["127.0.0.1/32", "10.0.0.0/8"] }"#)
            .route("r", "PathPrefix(`/`)", "app")
            .service("app", &up.url())
            .yaml(),
        &[],
    );
    let r = Client::http1()
        .get(
            &gw.url("/"),
            "t.test",
            &[
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-proto", "https"),
                ("x-real-ip", "203.0.113.7"),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    let seen = up.last();
    assert_eq!(
        seen.header("x-forwarded-for"),
        Some("203.0.113.7, 127.0.0.1")
    );
    assert_eq!(
        seen.header("x-forwarded-proto"),
        Some("https"),
        "kept from the trusted hop"
    );
    assert_eq!(seen.header("x-real-ip"), Some("203.0.113.7"));
}

/// A plugin's `raw-path` is the target as the client sent it, whether or not the gateway
/// normalised the path it routes and forwards (`sslRedirect` builds its `Location` from it).
/// The proxy keeps a copy of the target only when normalising changed it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugins_raw_path_is_the_target_as_sent_whether_or_not_it_was_normalised() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(
        &config(
            &up,
            "    tls-only: { headers: { sslRedirect: true } }\n",
            "tls-only",
        ),
        &[],
    );
    for target in ["/a/b?q=1", "/a/./b?q=1", "/a/x/../b"] {
        let r = Client::http1().get(&gw.url(target), "raw.test", &[]).await;
        assert!(r.status.is_redirection(), "{target}: {}", r.status);
        assert_eq!(
            r.header("location").map(str::to_owned),
            Some(format!("https://raw.test{target}")),
            "{target}"
        );
    }
    assert_eq!(
        up.count(),
        0,
        "redirected requests never reach the upstream"
    );
}
