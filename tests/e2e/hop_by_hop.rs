//! Hop-by-hop header hygiene and Traefik's CVE-2021-32813: a client naming a header in
//! `Connection` must not make the gateway drop that header when a middleware set it on purpose
//! (hop-by-hop removal runs before the plugins), while the client's own copy is gone; headers
//! named in `Connection` are removed from requests and from upstream responses.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use crate::support::h1_raw::{Answer, RawH1, RawResponse};
use crate::support::{Config, Gateway, Upstream};

/// `bob:s3cret-m` (`htpasswd -nbm bob s3cret-m`).
const BOB_HASH: &str = "bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1";
const BOB: &str = "Basic Ym9iOnMzY3JldC1t";

/// A raw upstream answering every connection with `response`, then closing it.
fn raw_upstream(response: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind raw upstream");
    let addr = listener.local_addr().expect("raw upstream addr");
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 8192];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response);
        }
    });
    addr
}

/// Responses naming `X-Up-Secret` in `Connection`, plus the legacy `Keep-Alive`.
const HOP_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: X-Up-Secret\r\nX-Up-Secret: from-upstream\r\nKeep-Alive: timeout=5\r\nX-Up-Kept: yes\r\nContent-Length: 2\r\n\r\nok";

fn gateway(up: &Upstream, raw: SocketAddr) -> Gateway {
    Gateway::start(
        &Config::new()
            .route_through("hdrs", "PathPrefix(`/hdrs`)", "app", "setUser")
            .route_through("auth", "PathPrefix(`/auth`)", "app", "auth")
            .route("plain", "PathPrefix(`/plain`)", "app")
            .route("resp", "PathPrefix(`/resp`)", "raw")
            .route_through("respSet", "PathPrefix(`/resp-set`)", "raw", "setResp")
            .service("app", &up.url())
            .service("raw", &format!("http://{raw}"))
            .middlewares(&format!(
                r#"
    setUser:
      headers:
        customRequestHeaders:
          X-Auth-User: "plugin-user"
          X-Forwarded-User: "plugin-fwd"
    auth:
      basicAuth:
        users: ["{BOB_HASH}"]
        headerField: X-Auth-User
    setResp:
      headers:
        customResponseHeaders:
          X-Up-Secret: "from-plugin"
"#
            ))
            .yaml(),
        &[],
    )
}

/// Sends `GET path` with these extra header lines over a fresh raw connection; returns the
/// response.
fn get(addr: SocketAddr, path: &str, lines: &[&str]) -> RawResponse {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: h.test\r\n");
    for line in lines {
        req.push_str(line);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    let mut c = RawH1::connect(addr, Duration::from_secs(30)).expect("connect");
    c.send(req.as_bytes()).expect("send");
    match c.read_response() {
        Answer::Response(r) => r,
        other => panic!("{path}: no response: {other:?}"),
    }
}

/// Every value the upstream received for `name` on the request to `path`.
fn seen(up: &Upstream, path: &str, name: &str) -> Vec<String> {
    let reqs: Vec<_> = up
        .requests()
        .into_iter()
        .filter(|r| r.path_and_query == path)
        .collect();
    assert_eq!(reqs.len(), 1, "{path} reached the upstream once");
    reqs[0]
        .headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_named_in_connection_does_not_remove_what_a_middleware_set() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up, raw_upstream(HOP_RESPONSE));
    let addr = gw.addr;
    // Each variant: the Connection header lines, plus the client's own forged copies.
    let variants: [&[&str]; 5] = [
        &["Connection: close, X-Auth-User"],
        &["Connection: keep-alive, X-Forwarded-User"],
        &["Connection: X-Auth-User", "Connection: X-Forwarded-User"],
        &[
            "Connection: keep-alive",
            "Connection: x-auth-user, X-FORWARDED-USER, close",
        ],
        &["Connection: X-Auth-User,X-Forwarded-User,close"],
    ];
    let answers = tokio::task::spawn_blocking(move || {
        variants
            .iter()
            .enumerate()
            .map(|(i, lines)| {
                let mut all = lines.to_vec();
                all.extend([
                    "X-Auth-User: client-forged",
                    "X-Forwarded-User: client-forged",
                ]);
                (i, lines.to_vec(), get(addr, &format!("/hdrs/{i}"), &all))
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (i, lines, r) in answers {
        let path = format!("/hdrs/{i}");
        assert_eq!(r.status, 200, "{lines:?}");
        assert_eq!(
            seen(&up, &path, "x-auth-user"),
            ["plugin-user"],
            "{lines:?}: the middleware's value, only"
        );
        assert_eq!(
            seen(&up, &path, "x-forwarded-user"),
            ["plugin-fwd"],
            "{lines:?}: the middleware's value, only"
        );
        assert!(
            seen(&up, &path, "connection").is_empty(),
            "{lines:?}: Connection is hop-by-hop"
        );
    }
    assert_eq!(up.count(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_header_field_survives_a_client_naming_it_in_connection() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up, raw_upstream(HOP_RESPONSE));
    let addr = gw.addr;
    let auth = format!("Authorization: {BOB}");
    let (named, forged_only, auth_named) = tokio::task::spawn_blocking(move || {
        (
            get(
                addr,
                "/auth/1",
                &[
                    "Connection: close, X-Auth-User",
                    &auth,
                    "X-Auth-User: admin",
                ],
            ),
            get(addr, "/auth/2", &[&auth, "X-Auth-User: admin"]),
            // A client that names Authorization itself only strips its own credentials.
            get(addr, "/auth/3", &["Connection: Authorization", &auth]),
        )
    })
    .await
    .unwrap();
    assert_eq!(named.status, 200);
    assert_eq!(seen(&up, "/auth/1", "x-auth-user"), ["bob"]);
    assert_eq!(forged_only.status, 200);
    assert_eq!(
        seen(&up, "/auth/2", "x-auth-user"),
        ["bob"],
        "headerField replaces the client's copy"
    );
    assert_eq!(
        auth_named.status, 401,
        "Authorization named in Connection is removed before basicAuth runs"
    );
    assert_eq!(up.count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_named_in_connection_and_hop_by_hop_headers_never_reach_the_upstream() {
    let up = Upstream::start("app").await;
    let gw = gateway(&up, raw_upstream(HOP_RESPONSE));
    let addr = gw.addr;
    let r = tokio::task::spawn_blocking(move || {
        get(
            addr,
            "/plain/1",
            &[
                "Connection: close, X-Secret",
                "Connection: X-Other",
                "X-Secret: 1",
                "X-Other: 2",
                "X-Kept: 3",
                "Keep-Alive: timeout=5",
                "Proxy-Connection: keep-alive",
                "Proxy-Authorization: Basic Zm9vOmJhcg==",
                "TE: gzip",
                "Trailer: X-Checksum",
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    for gone in [
        "connection",
        "x-secret",
        "x-other",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
    ] {
        assert!(
            seen(&up, "/plain/1", gone).is_empty(),
            "{gone} must not reach the upstream"
        );
    }
    assert_eq!(seen(&up, "/plain/1", "x-kept"), ["3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_named_in_an_upstream_connection_header_are_removed_unless_a_middleware_sets_them()
{
    let up = Upstream::start("app").await;
    let gw = gateway(&up, raw_upstream(HOP_RESPONSE));
    let addr = gw.addr;
    let (plain, set) = tokio::task::spawn_blocking(move || {
        (
            get(addr, "/resp/1", &["Connection: close"]),
            get(addr, "/resp-set/1", &["Connection: close"]),
        )
    })
    .await
    .unwrap();
    assert_eq!(plain.status, 200, "{}", plain.head);
    assert_eq!(plain.body, b"ok");
    assert_eq!(plain.header("x-up-secret"), None, "{}", plain.head);
    assert_eq!(plain.header("keep-alive"), None, "{}", plain.head);
    assert_eq!(plain.header("x-up-kept"), Some("yes"));
    assert_eq!(set.status, 200, "{}", set.head);
    assert_eq!(
        set.header("x-up-secret"),
        Some("from-plugin"),
        "a response header a middleware set survives: {}",
        set.head
    );
    assert_eq!(
        set.head.to_ascii_lowercase().matches("x-up-secret").count(),
        1,
        "{}",
        set.head
    );
}
