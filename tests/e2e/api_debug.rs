//! Traefik's `api.debug`: `/debug/vars` on the API's entry point, with the gateway's runtime
//! figures as JSON; off by default (404). A real gateway, real clients.

use serde_json::Value;

use crate::support::{Client, Gateway, Upstream, free_port};

fn config(up: &str, traefik_port: u16, debug: bool) -> String {
    format!(
        r#"entryPoints:
  web:
    address: "127.0.0.1:0"
  traefik:
    address: "127.0.0.1:{traefik_port}"
api:
  insecure: true
  debug: {debug}
http:
  routers:
    app:
      rule: "PathPrefix(`/app`)"
      entryPoints: [web]
      service: app
      middlewares: [tag]
  services:
    app:
      loadBalancer:
        servers: [{{ url: "{up}" }}]
  middlewares:
    tag:
      headers:
        customRequestHeaders: {{ X-Tag: "a" }}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_debug_serves_debug_vars_with_runtime_figures() {
    let up = Upstream::start("app").await;
    let port = free_port();
    let gw = Gateway::start(&config(&up.url(), port, true), &[]);
    let c = Client::http1();
    for i in 0..3 {
        let r = c.get(&gw.url(&format!("/app/{i}")), "gw.test", &[]).await;
        assert_eq!(r.status, 200);
    }
    let r = c
        .get(
            &format!("http://127.0.0.1:{port}/debug/vars"),
            "gw.test",
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let vars: Value = serde_json::from_slice(&r.body).expect("JSON");
    assert!(
        vars["uptimeSeconds"].as_f64().is_some_and(|s| s >= 0.0),
        "{vars:#}"
    );
    assert!(
        vars["startedAt"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{vars:#}"
    );
    // This request's own connection is open on the traefik entry point.
    assert!(
        vars["openConnections"]["traefik"]
            .as_u64()
            .is_some_and(|n| n >= 1),
        "{vars:#}"
    );
    assert!(
        vars["openConnections"]["web"].as_u64().is_some(),
        "{vars:#}"
    );
    assert!(
        vars["tokio"]["workers"].as_u64().is_some_and(|n| n >= 1),
        "{vars:#}"
    );
    assert!(
        vars["tokio"]["aliveTasks"].as_u64().is_some_and(|n| n >= 1),
        "{vars:#}"
    );
    let rss = vars["memory"]["rssBytes"].as_u64().unwrap_or(0);
    assert!(
        rss > 1 << 20,
        "a gateway is more than a MiB resident: {vars:#}"
    );
    let pools = vars["plugins"].as_array().expect("plugins");
    let tag = pools
        .iter()
        .find(|p| p["middleware"] == "tag")
        .unwrap_or_else(|| panic!("no pool for tag: {vars:#}"));
    assert!(tag["created"].as_u64().is_some_and(|n| n >= 1), "{vars:#}");
    assert!(
        vars["notAvailable"]
            .as_array()
            .is_some_and(|l| !l.is_empty())
    );
    // Only vars: Traefik's pprof pages are not there.
    let pprof = c
        .get(
            &format!("http://127.0.0.1:{port}/debug/pprof/"),
            "gw.test",
            &[],
        )
        .await;
    assert_eq!(pprof.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_without_debug_answers_404_on_debug_vars() {
    let up = Upstream::start("app").await;
    let port = free_port();
    let _gw = Gateway::start(&config(&up.url(), port, false), &[]);
    let c = Client::http1();
    let r = c
        .get(
            &format!("http://127.0.0.1:{port}/debug/vars"),
            "gw.test",
            &[],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    let api = c
        .get(
            &format!("http://127.0.0.1:{port}/api/version"),
            "gw.test",
            &[],
        )
        .await;
    assert_eq!(api.status, 200);
}
