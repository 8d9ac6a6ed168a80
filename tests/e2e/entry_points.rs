//! An entrypoint's `http.redirections` and `http.middlewares` (Traefik's static keys, issue 13):
//! the redirect every Traefik user writes to send `web` to `websecure`, and middlewares put in
//! front of every router of one entrypoint.

use http::{Method, Request};

use crate::support::client::empty;
use crate::support::{Client, Gateway, Upstream, check_config, free_port, run_refused};

/// `redirections.entryPoint.to` naming an entrypoint redirects every request of `web` to that
/// entrypoint's port with `https`, permanently unless told otherwise (301 for GET, 308 for
/// other methods, as Traefik); `to: ":8443"` uses that port; the target entrypoint's own
/// routers are unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entry_point_redirections_send_every_request_to_the_target_entry_point() {
    let up = Upstream::start("app").await;
    let (secure, alt) = (free_port(), free_port());
    let config = format!(
        r#"entryPoints:
  web:
    address: "127.0.0.1:0"
    http:
      redirections:
        entryPoint:
          to: websecure
  websecure:
    address: "127.0.0.1:{secure}"
  alt:
    address: "127.0.0.1:{alt}"
    http:
      redirections:
        entryPoint: {{ to: ":8443", permanent: false }}
http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      service: app
  services:
    app:
      loadBalancer:
        servers: [{{ url: "{}" }}]
"#,
        up.url()
    );
    let gw = Gateway::start(&config, &[]);
    // `start` waits for `web` only; the other two entry points are awaited by their log line.
    for name in ["websecure", "alt"] {
        let listening = format!("listening entrypoint=\"{name}\"");
        assert!(
            gw.wait_for_log(&listening),
            "{name} not listening:\n{}",
            gw.log()
        );
    }
    let client = Client::http1();
    let r = client.get(&gw.url("/a/b?x=1"), "app.test", &[]).await;
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some(format!("https://app.test:{secure}/a/b?x=1").as_str())
    );
    let post = Request::builder()
        .method(Method::POST)
        .uri(gw.url("/form"))
        .header("host", "app.test:80")
        .body(empty())
        .unwrap();
    let r = client.send(post).await;
    assert_eq!(r.status, 308);
    assert_eq!(
        r.header("location"),
        Some(format!("https://app.test:{secure}/form").as_str())
    );
    let r = client
        .get(&format!("http://127.0.0.1:{alt}/p"), "app.test", &[])
        .await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("https://app.test:8443/p"));
    assert_eq!(up.count(), 0, "no redirected request reached the upstream");
    let r = client
        .get(&format!("http://127.0.0.1:{secure}/p"), "app.test", &[])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(up.count(), 1);

    let bad = config.replace("to: websecure", "to: nowhere");
    let (ok, _, stderr) = check_config(&bad, &[]);
    assert!(!ok);
    assert!(
        stderr.contains(
            "gateway.yml:7: entryPoints.web.http.redirections.entryPoint.to: entry point \
             \"nowhere\" is not declared under entryPoints"
        ),
        "{stderr}"
    );
}

/// `http.middlewares` of an entrypoint run before a router's own middlewares on that
/// entrypoint only: a router on two entrypoints is split as Traefik splits it, and the copy on
/// the other entrypoint runs without them. A name that is no middleware is an error at its
/// line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entry_point_middlewares_run_first_on_that_entry_point_only() {
    let up = Upstream::start("app").await;
    let side = free_port();
    let config = format!(
        r#"entryPoints:
  web:
    address: "127.0.0.1:0"
    http:
      middlewares:
        - tag@file
  side:
    address: "127.0.0.1:{side}"
http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      service: app
      middlewares: [own]
  middlewares:
    tag:
      headers:
        customRequestHeaders: {{ X-Entry: web, X-Order: entrypoint }}
    own:
      headers:
        customRequestHeaders: {{ X-Order: router }}
  services:
    app:
      loadBalancer:
        servers: [{{ url: "{}" }}]
"#,
        up.url()
    );
    let gw = Gateway::start(&config, &[]);
    let client = Client::http1();
    assert_eq!(client.get(&gw.url("/"), "app.test", &[]).await.status, 200);
    let seen = up.last();
    assert_eq!(seen.header("x-entry"), Some("web"));
    // The entrypoint's middleware ran first: the router's own overwrote its header.
    assert_eq!(seen.header("x-order"), Some("router"));
    let r = client
        .get(&format!("http://127.0.0.1:{side}/"), "app.test", &[])
        .await;
    assert_eq!(r.status, 200);
    let seen = up.last();
    assert_eq!(seen.header("x-entry"), None);
    assert_eq!(seen.header("x-order"), Some("router"));

    let bad = config.replace("- tag@file", "- missing");
    let (ok, _, stderr) = check_config(&bad, &[]);
    assert!(!ok);
    assert!(
        stderr.contains(
            "gateway.yml:6: entryPoints.web.http.middlewares[0]: middleware \"missing\" is not \
             defined"
        ),
        "{stderr}"
    );
}

/// Routers without `entryPoints` go to the entry points marked `asDefault`; when none is
/// marked, to every entry point but Traefik's own `traefik` (where the API lives). Also loads
/// Traefik's `global` section (nothing to switch off: wasmgate never calls home) and
/// `http.maxHeaderBytes`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routers_without_entry_points_go_to_the_default_entry_points() {
    let up = Upstream::start("app").await;
    let other = free_port();
    let config = |default_key: &str| {
        format!(
            r#"global:
  checkNewVersion: false
  sendAnonymousUsage: false
entryPoints:
  web:
    address: "127.0.0.1:0"
    {default_key}
    http:
      maxHeaderBytes: 8KiB
  traefik:
    address: "127.0.0.1:{other}"
http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      service: app
  services:
    app:
      loadBalancer:
        servers: [{{ url: "{}" }}]
"#,
            up.url()
        )
    };
    let client = Client::http1();
    let on_other = format!("http://127.0.0.1:{other}/");
    for default_key in ["asDefault: true", "asDefault: false"] {
        let gw = Gateway::start(&config(default_key), &[]);
        assert_eq!(client.get(&gw.url("/"), "app.test", &[]).await.status, 200);
        assert_eq!(
            client.get(&on_other, "app.test", &[]).await.status,
            404,
            "{default_key}: the router is not on the traefik entry point"
        );
        let big = "x".repeat(10 << 10);
        let r = client
            .get(&gw.url("/"), "app.test", &[("x-big", &big)])
            .await;
        assert_eq!(r.status, 431, "http.maxHeaderBytes applies");
    }
}

/// `reusePort: true` lets a second gateway process listen on the same port (an upgrade
/// without a gap): both serve, the kernel spreading new connections between them. Without it
/// the second process cannot listen and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_port_lets_two_gateways_listen_on_one_port() {
    let (old, new) = (Upstream::start("old").await, Upstream::start("new").await);
    let port = free_port();
    let config = |up: &Upstream, reuse: bool| {
        format!(
            r#"entryPoints:
  web:
    address: "127.0.0.1:{port}"
    reusePort: {reuse}
http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      service: app
  services:
    app:
      loadBalancer:
        servers: [{{ url: "{}" }}]
"#,
            up.url()
        )
    };
    let _first = Gateway::start(&config(&old, true), &[]);
    let _second = Gateway::start(&config(&new, true), &[]);
    let url = format!("http://127.0.0.1:{port}/");
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..64 {
        // A new connection each time, so that the kernel picks a listener each time.
        let reply = Client::http1().get(&url, "app.test", &[]).await;
        assert_eq!(reply.status, 200);
        seen.insert(reply.text());
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen.len(), 2, "both processes served: {seen:?}");

    let stderr = run_refused(&config(&new, false));
    assert!(stderr.contains("cannot listen"), "{stderr}");
}
