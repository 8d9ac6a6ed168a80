//! The access log's `ClientUsername`: the user `basicAuth` and `digestAuth` authenticated and
//! the one `forwardAuth`'s `headerField` reads from the auth server's answer, named by their
//! bundled plugins through the `identity` import, in the Common Log Format line and the JSON one.

use crate::forward_auth::roomy;
use crate::observability::read_lines;
use crate::support::{AuthServer, Config, Gateway, Upstream};

use super::digest_auth::{authorization, challenge};
use super::send;

/// `bob:s3cret-m`.
const BOB: &str = "Basic Ym9iOnMzY3JldC1t";

fn middlewares(auth_url: &str) -> String {
    format!(
        r#"
    basic:
      basicAuth:
        users: ["bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1"]
    digest:
      digestAuth:
        users: ["carol:traefik:3f9220f5ccb299c92bf498b9b67930ec"]
    forward:
      forwardAuth:
        address: "{auth_url}"
        headerField: X-Auth-User
"#
    )
}

/// A gateway logging to `file` in `format`, with `/basic`, `/digest`, `/forward` and `/open`
/// (no middleware), 2 s plugin deadline (a forward-auth exchange on a loaded machine).
async fn start(format: &str, file: &str) -> (Upstream, AuthServer, Gateway) {
    let (up, auth) = (Upstream::start("app").await, AuthServer::start().await);
    let mut config = Config::new()
        .route("open", "PathPrefix(`/open`)", "app")
        .service("app", &up.url())
        .middlewares(&middlewares(&auth.url("/allow")));
    for name in ["basic", "digest", "forward"] {
        let rule = format!("PathPrefix(`/{name}`)");
        config = config.route_through(name, &rule, "app", name);
    }
    let statics = format!("accessLog:\n  filePath: {file}\n  format: {format}\n");
    let gw = Gateway::start(&format!("{}{statics}", roomy(config)), &[]);
    (up, auth, gw)
}

/// One authenticated request through each middleware (and one through none), in order.
async fn send_each(gw: &Gateway) {
    let r = send(gw, "GET", "/basic", &[("authorization", BOB)]).await;
    assert_eq!(r.status, 200, "basic");
    let c = challenge(&send(gw, "GET", "/digest", &[]).await);
    let auth = authorization("carol", "digest-pw", "GET", "/digest", &c);
    let r = send(gw, "GET", "/digest", &[("authorization", &auth)]).await;
    assert_eq!(r.status, 200, "digest");
    let r = send(gw, "GET", "/forward", &[]).await;
    assert_eq!(r.status, 200, "forward");
    let r = send(gw, "GET", "/open", &[]).await;
    assert_eq!(r.status, 200, "open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authenticated_user_of_each_auth_middleware_is_in_the_common_log_line() {
    let (_up, _auth, gw) = start("common", "access.log").await;
    send_each(&gw).await;
    let lines = read_lines(&gw.config_path().with_file_name("access.log"), 5);
    // The third CLF field: the user; "-" for the digest challenge and the open route.
    let users: Vec<&str> = lines
        .iter()
        .map(|l| l.split(' ').nth(2).unwrap_or_default())
        .collect();
    assert_eq!(users, ["bob", "-", "carol", "alice", "-"], "{lines:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authenticated_user_of_each_auth_middleware_is_the_json_client_username() {
    let (_up, _auth, gw) = start("json", "access.json").await;
    send_each(&gw).await;
    let lines = read_lines(&gw.config_path().with_file_name("access.json"), 5);
    let users: Vec<String> = lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
            (
                v["RequestPath"].to_string(),
                v["ClientUsername"].to_string(),
            )
        })
        .map(|(path, user)| format!("{} {}", path.trim_matches('"'), user.trim_matches('"')))
        .collect();
    assert_eq!(
        users,
        [
            "/basic bob",
            "/digest -",
            "/digest carol",
            "/forward alice",
            "/open -"
        ],
        "{lines:#?}"
    );
}
