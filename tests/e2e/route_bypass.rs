//! Route bypasses: for each spelling of a guarded path or host, which router the request
//! reached (each router has its own upstream, which answers `x-upstream: <name>`) and the exact
//! path that upstream received. Requests are written byte for byte on a raw socket, so no
//! client library tidies the target first. The gateway's reading of a path is
//! `router::path` (Traefik's RFC 3986 §6.2.2 normalisation): escapes of unreserved characters
//! decoded, other escapes upper-cased, dot segments removed, slashes merged, ambiguous escapes
//! governed by `encodedCharacters`. The property under test: the router's reading and the
//! upstream's are one (an upstream that decodes what it receives once sees what was routed).

use std::time::Duration;

use crate::support::h1_raw::{Answer, RawH1};
use crate::support::{Client, Config, Gateway, Upstream};

/// Where one request went.
#[derive(Debug, PartialEq, Eq)]
enum Reached {
    /// Served by the router whose upstream has this name, which received this path and query.
    Router(&'static str, String),
    /// Answered by the gateway itself with this status.
    Status(u16),
}

struct Setup {
    gw: Gateway,
    upstreams: Vec<(&'static str, Upstream)>,
}

impl Setup {
    /// One gateway: `admin` guards `/admin` (and the host `admin.test`), `api-host` is
    /// `HostRegexp(`^api\.test$`)`, `cafe` is `Path(`/café`)`, `secret` is
    /// `PathRegexp(`^/secret/[0-9]+$`)`, `strip` strips `/strip`, `app` takes the rest; `entrypoint` is extra YAML under
    /// `entryPoints.web`, `extra_routers` / `extra_middlewares` extra entries.
    async fn start(entrypoint: &str, extra_routers: &str, extra_middlewares: &str) -> Setup {
        let mut upstreams = Vec::new();
        for name in [
            "admin",
            "admin-host",
            "api-host",
            "cafe",
            "secret",
            "strip",
            "app",
            "open",
        ] {
            upstreams.push((name, Upstream::start(name).await));
        }
        let mut config = Config::new().entrypoint(entrypoint);
        for (name, up) in &upstreams {
            config = config.service(name, &up.url());
        }
        let yaml = config
            .route("admin", "PathPrefix(`/admin`)", "admin")
            .route("admin-host", "Host(`admin.test`)", "admin-host")
            .route("api-host", "HostRegexp(`^api\\\\.test$`)", "api-host")
            .route("cafe", "Path(`/café`)", "cafe")
            .route("secret", "PathRegexp(`^/secret/[0-9]+$`)", "secret")
            .route_through("strip", "PathPrefix(`/strip`)", "strip", "strip")
            // The catch-all comes last whatever the rules' lengths.
            .routers("    app: { rule: \"PathPrefix(`/`)\", service: app, priority: 1 }\n")
            .routers(extra_routers)
            .middlewares("    strip:\n      stripPrefix:\n        prefixes: [\"/strip\"]\n")
            .middlewares(extra_middlewares)
            .yaml();
        Setup {
            gw: Gateway::start(&yaml, &[]),
            upstreams,
        }
    }

    /// Sends `head` (request line and headers, without the final blank line) on a fresh
    /// connection and reports where it went.
    fn send(&self, head: &str) -> Reached {
        let mut conn = RawH1::connect(self.gw.addr, Duration::from_secs(10)).expect("connect");
        conn.send(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes())
            .expect("send");
        let Answer::Response(resp) = conn.read_response() else {
            panic!("{head:?}: no response");
        };
        match resp.header("x-upstream") {
            Some(name) => {
                let (name, up) = self
                    .upstreams
                    .iter()
                    .find(|(n, _)| *n == name)
                    .expect("a known upstream");
                Reached::Router(name, up.last().path_and_query)
            }
            None => Reached::Status(resp.status),
        }
    }

    /// `GET <target>` with `Host: p.test`.
    fn get(&self, target: &str) -> Reached {
        self.send(&format!("GET {target} HTTP/1.1\r\nHost: p.test"))
    }
}

fn router(name: &'static str, path: &str) -> Reached {
    Reached::Router(name, path.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_spelling_of_a_path_reaches_the_router_its_upstream_would_read() {
    let s = Setup::start("", "", "").await;
    let cases = [
        // Percent-encoded unreserved characters are the same characters.
        ("/admin/x", router("admin", "/admin/x")),
        ("/%61dmin/x", router("admin", "/admin/x")),
        ("/%61%64%6d%69%6e/x", router("admin", "/admin/x")),
        ("/ad%6Din", router("admin", "/admin")),
        ("/%61dmin?q=%61", router("admin", "/admin?q=%61")),
        // Case is significant in a path: `/Admin` is not `/admin`, for the router and upstream.
        ("/%41dmin/x", router("app", "/Admin/x")),
        // Dot segments in every spelling, slash runs.
        ("/api/../admin/x", router("admin", "/admin/x")),
        ("/api/%2e%2e/admin", router("admin", "/admin")),
        ("/api/%2E%2e/%61dmin", router("admin", "/admin")),
        ("/api/.%2e/admin", router("admin", "/admin")),
        ("/./admin", router("admin", "/admin")),
        ("//admin", router("admin", "/admin")),
        ("/../../admin", router("admin", "/admin")),
        ("/admin/../app", router("app", "/app")),
        // An escaped percent stays one: the upstream decodes `/%2561dmin` to `/%61dmin`, not to
        // `/admin` (a second decoding would be the upstream's own bug).
        ("/%2561dmin", router("app", "/%2561dmin")),
        ("/%252e%252e/admin", router("app", "/%252e%252e/admin")),
        // Other escapes keep their encoding, upper-cased.
        ("/caf%c3%a9", router("cafe", "/caf%C3%A9")),
        ("/caf%C3%A9", router("cafe", "/caf%C3%A9")),
        ("/a%3ab", router("app", "/a%3Ab")),
        // `;` and its escape: a plain prefix, as in Traefik.
        ("/admin;x", router("admin", "/admin;x")),
        ("/%3Badmin", router("app", "/%3Badmin")),
        // Ambiguous escapes refused by the entrypoint's default `encodedCharacters`.
        ("/admin%2Fx", Reached::Status(400)),
        ("/x%2F..%2Fadmin", Reached::Status(400)),
        ("/x%5C..%5Cadmin", Reached::Status(400)),
        ("/admin%00", Reached::Status(400)),
        // Malformed escapes.
        ("/100%", Reached::Status(400)),
        ("/%%61dmin", Reached::Status(400)),
        ("/%zzadmin", Reached::Status(400)),
        // PathRegexp sees the normalised path too.
        ("/secret/%31%32", router("secret", "/secret/12")),
        ("/x/../secret/7", router("secret", "/secret/7")),
        ("/secret/7/", router("app", "/secret/7/")),
        ("/secret/7%2F", Reached::Status(400)),
        // stripPrefix sees the normalised path, so an encoded prefix is stripped too.
        ("/strip/x", router("strip", "/x")),
        ("/%73trip/x", router("strip", "/x")),
        ("/x/../strip/y", router("strip", "/y")),
        // Absolute-form targets are read the same way.
        ("http://p.test/%61dmin/x", router("admin", "/admin/x")),
        ("http://p.test/api/../admin", router("admin", "/admin")),
    ];
    let mut wrong = Vec::new();
    for (target, want) in cases {
        let got = s.get(target);
        if got != want {
            wrong.push(format!("{target}: got {got:?}, want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_spelling_of_a_host_reaches_the_host_router() {
    let s = Setup::start("", "", "").await;
    let cases = [
        ("GET /x HTTP/1.1\r\nHost: admin.test", "admin-host"),
        ("GET /x HTTP/1.1\r\nHost: ADMIN.Test", "admin-host"),
        ("GET /x HTTP/1.1\r\nHost: admin.test.", "admin-host"),
        ("GET /x HTTP/1.1\r\nHost: admin.test:8080", "admin-host"),
        ("GET /x HTTP/1.1\r\nHost: admin.test.:8080", "admin-host"),
        // Absolute-form: the target's authority names the host (RFC 9112 §3.2.2).
        (
            "GET http://admin.test/x HTTP/1.1\r\nHost: admin.test",
            "admin-host",
        ),
        (
            "GET http://ADMIN.test./x HTTP/1.1\r\nHost: ADMIN.test.",
            "admin-host",
        ),
        // An anchored HostRegexp: case-insensitive, and nothing around it.
        ("GET /x HTTP/1.1\r\nHost: API.test", "api-host"),
        ("GET /x HTTP/1.1\r\nHost: api.test:81", "api-host"),
        ("GET /x HTTP/1.1\r\nHost: api.test.evil", "app"),
        ("GET /x HTTP/1.1\r\nHost: evil-api.test", "app"),
        ("GET /x HTTP/1.1\r\nHost: apixtest", "app"),
        // Look-alikes do not match.
        ("GET /x HTTP/1.1\r\nHost: admin.test..", "app"),
        ("GET /x HTTP/1.1\r\nHost: xadmin.test", "app"),
        ("GET /x HTTP/1.1\r\nHost: admin.test.evil", "app"),
    ];
    let mut wrong = Vec::new();
    for (head, want) in cases {
        match s.send(head) {
            Reached::Router(name, path) if name == want && path == "/x" => {}
            got => wrong.push(format!("{head:?}: got {got:?}, want {want}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // A Host header that disagrees with an absolute-form target is refused, so the router
    // (which reads the target) and an upstream reading the header cannot disagree.
    for head in [
        "GET http://admin.test/x HTTP/1.1\r\nHost: other.test",
        "GET http://other.test/x HTTP/1.1\r\nHost: admin.test",
    ] {
        assert_eq!(s.send(head), Reached::Status(400), "{head:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_paths_are_read_like_http1_paths() {
    let s = Setup::start("", "", "").await;
    let c = Client::http2();
    // HTTP/2 carries the host in `:authority`; a Host header must agree with it.
    let authority = s.gw.addr.to_string();
    for (path, want_upstream, want_path) in [
        ("/%61dmin/x", "admin", "/admin/x"),
        ("/api/%2e%2e/admin", "admin", "/admin"),
        ("/caf%c3%a9", "cafe", "/caf%C3%A9"),
    ] {
        let r = c.get(&s.gw.url(path), &authority, &[]).await;
        assert_eq!(r.header("x-upstream"), Some(want_upstream), "{path}");
        let (_, up) = s
            .upstreams
            .iter()
            .find(|(n, _)| *n == want_upstream)
            .expect("upstream");
        assert_eq!(up.last().path_and_query, want_path, "{path}");
    }
    let r = c.get(&s.gw.url("/admin%2fx"), &authority, &[]).await;
    assert_eq!(r.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entrypoint_encoded_characters_options_allow_and_refuse() {
    let s = Setup::start(
        "http:\n      encodedCharacters:\n        allowEncodedSlash: true\n        \
         allowEncodedSemicolon: false\n        allowEncodedHash: false\n",
        "",
        "",
    )
    .await;
    // An allowed `%2F` is kept encoded: it is no separator for the router, and the upstream
    // receives it as sent (upper-cased).
    assert_eq!(s.get("/admin%2fx"), router("admin", "/admin%2Fx"));
    assert_eq!(s.get("/x%2F..%2Fadmin"), router("app", "/x%2F..%2Fadmin"));
    assert_eq!(s.get("/a%3Bb"), Reached::Status(400));
    assert_eq!(s.get("/a%23b"), Reached::Status(400));
    assert_eq!(s.get("/a%3Fb"), router("app", "/a%3Fb"));
    assert_eq!(s.get("/a%5Cb"), Reached::Status(400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routers_encoded_characters_middleware_overrides_the_entrypoint() {
    let s = Setup::start(
        "",
        "    open: { rule: \"PathPrefix(`/open`)\", service: open, middlewares: [slashes] }\n    \
         strict: { rule: \"PathPrefix(`/strict`)\", service: open, middlewares: [strict] }\n",
        "    slashes:\n      encodedCharacters:\n        allowEncodedSlash: true\n    \
         strict:\n      encodedCharacters: {}\n",
    )
    .await;
    // The `open` router allows `%2F`; every other router keeps the entrypoint's refusal.
    assert_eq!(s.get("/open/a%2Fb"), router("open", "/open/a%2Fb"));
    assert_eq!(s.get("/admin%2Fb"), Reached::Status(400));
    assert_eq!(s.get("/app/a%2Fb"), Reached::Status(400));
    // The middleware's options default to false: `%3B` is refused on `strict` only.
    assert_eq!(s.get("/strict/a%3Bb"), Reached::Status(400));
    assert_eq!(s.get("/strict/ab"), router("open", "/strict/ab"));
    assert_eq!(s.get("/app/a%3Bb"), router("app", "/app/a%3Bb"));
}
