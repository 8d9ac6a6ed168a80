//! Traefik's access-control middlewares, served by bundled plugins and the config: the CORS and
//! security options of `headers`, `basicAuth`, `digestAuth`, `ipAllowList` (and `ipWhiteList`),
//! and `chain`. One test per documented option, asserting what the upstream receives and what
//! the client gets, plus the config errors `wasmgate check` reports.

mod access_log_user;
mod basic_auth;
mod basic_auth_memo;
mod chain;
mod cors;
mod digest_auth;
mod ip_allow_list;
mod security;

use crate::support::client::{Reply, empty};
use crate::support::{Client, Config, Gateway, Upstream, check_config};

/// A gateway config with one router per `(path prefix, middleware list)`, all to the server at
/// `upstream_url`. With one router, the middlewares start on line 10 of the file.
fn config(upstream_url: &str, routes: &[(&str, &str)], middlewares: &str) -> String {
    routes
        .iter()
        .enumerate()
        .fold(Config::new(), |config, (i, (prefix, chain))| {
            config.route_through(
                &format!("r{i}"),
                &format!("PathPrefix(`{prefix}`)"),
                "app",
                chain,
            )
        })
        .service("app", upstream_url)
        .middlewares(middlewares)
        .yaml()
}

/// An upstream and a gateway in front of it.
async fn start(routes: &[(&str, &str)], middlewares: &str) -> (Upstream, Gateway) {
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&config(&up.url(), routes, middlewares), &[]);
    (up, gw)
}

/// Sends `method target` with these headers and an empty body over HTTP/1.1.
async fn send(gw: &Gateway, method: &str, target: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = http::Request::builder().method(method).uri(gw.url(target));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    Client::http1()
        .send(req.body(empty()).expect("request"))
        .await
}

/// Runs `wasmgate check` on a config with these routes and middlewares (upstream never
/// contacted) and returns its stderr, asserting the config is refused.
fn refused(routes: &[(&str, &str)], middlewares: &str) -> String {
    let yaml = config("http://127.0.0.1:1", routes, middlewares);
    let (ok, stdout, stderr) = check_config(&yaml, &[]);
    assert!(!ok, "config must be refused; stdout: {stdout}");
    stderr
}
