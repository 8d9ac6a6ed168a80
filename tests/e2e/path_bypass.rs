//! Path-normalisation bypasses (Traefik's and Envoy's CVE classics) against a
//! `PathPrefix(`/admin`)` router guarded by a deny plugin: every spelling of /admin is denied
//! or refused, and the upstream behind the catch-all route never sees an admin path.

use crate::support::{Client, Gateway, Upstream, fixture_wasm};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_spelling_of_a_guarded_path_is_denied_or_refused() {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(
        &format!(
            r#"
entryPoints:
  web: {{ address: "127.0.0.1:0" }}
plugins:
  directory: plugins
http:
  routers:
    admin: {{ rule: "PathPrefix(`/admin`)", service: app, middlewares: [deny] }}
    rest: {{ rule: "PathPrefix(`/`)", service: app }}
  services:
    app: {{ loadBalancer: {{ servers: [{{ url: "{}" }}] }} }}
  middlewares:
    deny:
      plugin: {{ name: deny, config: {{ status: 403 }} }}
"#,
            up.url()
        ),
        &[("deny", fixture_wasm("fixture_deny"))],
    );
    let c = Client::http1();
    let cases = [
        ("/admin", 403),
        ("/api/../admin", 403),
        ("/api/%2e%2e/admin", 403),
        ("/api/.%2E/admin/users", 403),
        ("/%2e%2e/admin", 403),
        ("//admin", 403),
        ("/./admin", 403),
        ("/%2Fadmin", 400),
        ("/api%2F..%2Fadmin", 400),
        ("/api%5C..%5Cadmin", 400),
    ];
    for (path, want) in cases {
        let r = c.get(&gw.url(path), "p.test", &[]).await;
        assert_eq!(r.status.as_u16(), want, "{path}");
    }
    // Paths that only look similar go to the catch-all route, normalised.
    let r = c.get(&gw.url("/api../x"), "p.test", &[]).await;
    assert_eq!(r.status, 200);
    let r = c.get(&gw.url("/public/./page"), "p.test", &[]).await;
    assert_eq!(r.status, 200);
    let seen: Vec<String> = up
        .requests()
        .into_iter()
        .map(|r| r.path_and_query)
        .collect();
    assert_eq!(
        seen,
        ["/api../x", "/public/page"],
        "the upstream saw only the two legitimate paths, normalised"
    );
}
