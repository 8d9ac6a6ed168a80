//! Traefik's `forwardAuth`, served by the bundled `forward-auth` plugin on the host's
//! `outbound-http` capability, against a real authentication server (`support::auth_server`):
//! what the auth server is sent, what reaches the upstream on a 2xx, refusals returned as sent,
//! a hanging or unreachable server, that the wait holds no gateway thread; and a user plugin on
//! the same capability, its grant and its allow-list.

use crate::support::tls::{TestCa, TlsUpstream};
use crate::support::{AuthServer, Client, Config, Gateway, Upstream, check_config, fixture_wasm};

/// A gateway whose router `/` goes through middleware `auth` (defined by `middlewares`) to the
/// upstream, and whose router `/free` goes to the upstream directly.
fn config(upstream_url: &str, middlewares: &str) -> String {
    roomy(
        Config::new()
            .route_through("guarded", "PathPrefix(`/`)", "app", "auth")
            .route("free", "PathPrefix(`/free`)", "app")
            .service("app", upstream_url)
            .middlewares(middlewares),
    )
}

/// The config's YAML with a plugin deadline of 2 s instead of 50 ms: these suites check what
/// the auth exchange does, and a debug build on a loaded 2-core CI machine can take longer
/// than 50 ms for one hook call (which would be a 500 of its own).
pub(crate) fn roomy(config: Config) -> String {
    let yaml = config.yaml();
    let defaults = "  defaults:\n    deadline: 2s\n";
    match yaml.find("plugins:\n") {
        Some(at) => {
            let end = at + "plugins:\n".len();
            format!("{}{defaults}{}", &yaml[..end], &yaml[end..])
        }
        None => format!("{yaml}plugins:\n{defaults}"),
    }
}

fn forward_auth(address: &str, options: &str) -> String {
    format!("    auth:\n      forwardAuth:\n        address: \"{address}\"\n{options}")
}

#[tokio::test]
async fn a_2xx_answer_forwards_the_request_with_the_auth_response_headers() {
    let (auth, up) = (AuthServer::start().await, Upstream::start("app").await);
    let options = "        authResponseHeaders: [X-Auth-User]\n        authResponseHeadersRegex: \"^X-Auth-G\"\n";
    let gw = Gateway::start(
        &config(&up.url(), &forward_auth(&auth.url("/allow"), options)),
        &[],
    );
    let reply = Client::http1()
        .get(
            &gw.url("/app/page?q=1"),
            "site.test",
            &[("x-auth-user", "forged"), ("authorization", "Bearer t")],
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "app");
    let seen = up.last();
    assert_eq!(
        seen.header("x-auth-user"),
        Some("alice"),
        "copied over the forged value"
    );
    assert_eq!(
        seen.header("x-auth-group"),
        Some("dev"),
        "copied by the regex"
    );
    assert_eq!(seen.path_and_query, "/app/page?q=1");

    let asked = auth.last();
    assert_eq!(asked.method, "GET");
    assert_eq!(asked.path_and_query, "/allow");
    assert_eq!(asked.header("authorization"), Some("Bearer t"));
    assert_eq!(asked.header("x-forwarded-method"), Some("GET"));
    assert_eq!(asked.header("x-forwarded-uri"), Some("/app/page?q=1"));
    assert_eq!(asked.header("x-forwarded-host"), Some("site.test"));
    assert_eq!(asked.header("x-forwarded-proto"), Some("http"));
    assert_eq!(asked.header("x-forwarded-for"), Some("127.0.0.1"));
    let auth_host = auth.addr.to_string();
    assert_eq!(
        asked.header("host"),
        Some(auth_host.as_str()),
        "the auth server's own host"
    );
}

#[tokio::test]
async fn refusals_reach_the_client_as_the_auth_server_sent_them() {
    let (auth, up) = (AuthServer::start().await, Upstream::start("app").await);
    let middlewares = format!(
        "{}    moved:\n      forwardAuth:\n        address: \"{}\"\n",
        forward_auth(&auth.url("/deny"), ""),
        auth.url("/redirect")
    );
    let yaml = roomy(
        Config::new()
            .route_through("denied", "PathPrefix(`/`)", "app", "auth")
            .route_through("moved", "PathPrefix(`/moved`)", "app", "moved")
            .service("app", &up.url())
            .middlewares(&middlewares),
    );
    let gw = Gateway::start(&yaml, &[]);
    let client = Client::http1();

    let denied = client.get(&gw.url("/x"), "", &[]).await;
    assert_eq!(denied.status, 401);
    assert_eq!(
        denied.header("www-authenticate"),
        Some("Basic realm=\"auth\"")
    );
    assert_eq!(denied.text(), "denied by auth");

    let moved = client.get(&gw.url("/moved"), "", &[]).await;
    assert_eq!(moved.status, 302);
    let expected = auth.url("/login?from=auth");
    assert_eq!(
        moved.header("location"),
        Some(expected.as_str()),
        "made absolute"
    );
    assert_eq!(moved.text(), "see /login");
    assert_eq!(up.count(), 0, "nothing reached the upstream");
}

#[tokio::test]
async fn auth_request_headers_limit_what_the_auth_server_is_sent() {
    let (auth, up) = (AuthServer::start().await, Upstream::start("app").await);
    let options = "        authRequestHeaders: [Cookie]\n";
    let gw = Gateway::start(
        &config(&up.url(), &forward_auth(&auth.url("/allow"), options)),
        &[],
    );
    let headers = [("cookie", "s=1"), ("authorization", "secret")];
    let reply = Client::http1().get(&gw.url("/"), "", &headers).await;
    assert_eq!(reply.status, 200);
    let asked = auth.last();
    assert_eq!(asked.header("cookie"), Some("s=1"));
    assert_eq!(asked.header("authorization"), None);
    assert_eq!(
        asked.header("x-forwarded-method"),
        Some("GET"),
        "always set"
    );
}

#[tokio::test]
async fn trust_forward_header_decides_whose_x_forwarded_values_are_sent() {
    let (auth, up) = (AuthServer::start().await, Upstream::start("app").await);
    let claimed = [
        ("x-forwarded-method", "DELETE"),
        ("x-forwarded-uri", "/claimed"),
    ];
    for (trust, method, uri) in [(false, "GET", "/real"), (true, "DELETE", "/claimed")] {
        let options = format!("        trustForwardHeader: {trust}\n");
        let gw = Gateway::start(
            &config(&up.url(), &forward_auth(&auth.url("/allow"), &options)),
            &[],
        );
        let reply = Client::http1().get(&gw.url("/real"), "", &claimed).await;
        assert_eq!(reply.status, 200);
        let asked = auth.last();
        assert_eq!(
            asked.header("x-forwarded-method"),
            Some(method),
            "trust {trust}"
        );
        assert_eq!(asked.header("x-forwarded-uri"), Some(uri), "trust {trust}");
    }
}

/// More requests wait on the auth server than the gateway has worker threads (2 on CI): if a
/// wait held a thread, the other route could not answer until the auth server did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_on_the_auth_server_holds_no_gateway_thread() {
    const WAITING: usize = 8;
    const OTHERS: usize = 40;
    let (auth, up) = (AuthServer::start().await, Upstream::start("app").await);
    let gw = Gateway::start(
        &config(&up.url(), &forward_auth(&auth.url("/hang"), "")),
        &[],
    );
    let client = Client::http1();
    let waiting: Vec<_> = (0..WAITING)
        .map(|_| {
            let (client, url) = (client.clone(), gw.url("/guarded"));
            tokio::spawn(async move { client.get(&url, "", &[]).await.status.as_u16() })
        })
        .collect();
    auth.wait_hanging(WAITING).await;
    let mut served = 0;
    for _ in 0..OTHERS {
        if Client::http1().get(&gw.url("/free"), "", &[]).await.status == 200 {
            served += 1;
        }
    }
    assert_eq!(served, OTHERS, "the other route kept serving");
    assert!(
        waiting.iter().all(|t| !t.is_finished()),
        "the guarded requests were still waiting on the auth server meanwhile"
    );
    assert_eq!(auth.hanging(), WAITING);
    auth.release();
    for task in waiting {
        assert_eq!(
            task.await.unwrap(),
            200,
            "let through once the auth server said 200"
        );
    }
}

#[tokio::test]
async fn an_auth_server_past_the_deadline_or_unreachable_gives_500() {
    let (auth, up) = (AuthServer::start().await, Upstream::start("app").await);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/auth", closed.local_addr().unwrap());
    drop(closed);
    // The plugin: form of the same bundled plugin sets the grant's deadline (Traefik's is 30 s).
    // The plugin imports `body` (for `forwardBody`), so that form grants it too.
    let plugin = |name: &str, address: &str, origin: &str| {
        format!(
            "    {name}:\n      plugin:\n        name: forward-auth\n        config: {{ address: \"{address}\" }}\n        capabilities: [outbound-http, body]\n        outboundHttp: {{ allow: [\"{origin}\"], timeout: 300ms }}\n        body: {{ request: {{ maxBytes: 64KiB, overLimit: pass }} }}\n"
        )
    };
    let middlewares =
        plugin("auth", &auth.url("/hang"), &auth.url("")) + &plugin("dead", &dead, &dead);
    let yaml = roomy(
        Config::new()
            .route_through("slow", "PathPrefix(`/`)", "app", "auth")
            .route_through("dead", "PathPrefix(`/dead`)", "app", "dead")
            .service("app", &up.url())
            .middlewares(&middlewares),
    );
    let gw = Gateway::start(&yaml, &[]);
    let client = Client::http1();
    let slow = client.get(&gw.url("/slow"), "", &[]).await;
    assert_eq!(slow.status, 500, "past the deadline: {}", slow.text());
    let dead = client.get(&gw.url("/dead"), "", &[]).await;
    assert_eq!(dead.status, 500, "unreachable: {}", dead.text());
    assert_eq!(up.count(), 0);
}

fn probe(grant: &str) -> String {
    format!("    auth:\n      plugin:\n        name: outbound-probe\n{grant}")
}

#[tokio::test]
async fn a_user_plugin_asks_allow_listed_addresses_only() {
    let (auth, up) = (AuthServer::start().await, Upstream::start("app").await);
    let grant = format!(
        "        config: \"{}\"\n        capabilities: [outbound-http]\n        outboundHttp:\n          allow: [\"{}\"]\n",
        auth.url("/allow"),
        auth.url("")
    );
    let yaml = roomy(
        Config::new()
            .plugin_dir()
            .route_through("guarded", "PathPrefix(`/`)", "app", "auth")
            .service("app", &up.url())
            .middlewares(&probe(&grant)),
    );
    let gw = Gateway::start(
        &yaml,
        &[("outbound-probe", fixture_wasm("fixture_outbound_probe"))],
    );
    let client = Client::http1();
    let reply = client.get(&gw.url("/"), "", &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = up.last();
    assert_eq!(seen.header("x-probe-status"), Some("200"));
    assert_eq!(seen.header("x-probe-body"), Some("ok"));

    let elsewhere = format!("http://{}/allow", up.addr);
    let refused = client
        .get(&gw.url("/"), "", &[("x-probe-url", &elsewhere)])
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.text().contains("NotAllowed"), "{}", refused.text());
    assert_eq!(
        auth.requests().len(),
        1,
        "the refused subrequest was never sent"
    );
}

#[test]
fn a_plugin_importing_outbound_http_needs_the_grant_at_load() {
    let plugins = [("outbound-probe", fixture_wasm("fixture_outbound_probe"))];
    let with_dir = |grant: &str| {
        Config::new()
            .plugin_dir()
            .route_through("r", "PathPrefix(`/`)", "app", "auth")
            .service("app", "http://127.0.0.1:1")
            .middlewares(&probe(grant))
            .yaml()
    };
    let (ok, stdout, stderr) = check_config(&with_dir(""), &plugins);
    assert!(!ok, "refused without the grant; stdout: {stdout}");
    assert!(
        stderr.contains(".yml:")
            && stderr.contains("http.middlewares.auth")
            && stderr.contains("outbound-http"),
        "{stderr}"
    );
    let granted = "        capabilities: [outbound-http]\n        outboundHttp: { allow: [\"http://127.0.0.1:9\"] }\n";
    let (ok, stdout, stderr) = check_config(&with_dir(granted), &plugins);
    assert!(ok, "loads with the grant: {stdout} {stderr}");
}

#[test]
fn forward_auth_bad_sizes_and_bad_tls_files_are_config_errors() {
    let check = |options: &str| {
        let yaml = config(
            "http://127.0.0.1:1",
            &forward_auth("http://127.0.0.1:9/auth", options),
        );
        check_config(&yaml, &[])
    };
    // `headerField` names the access log's user (`access_middlewares::access_log_user`).
    let (ok, _, stderr) = check("        headerField: X-WebAuth-User\n");
    assert!(ok, "{stderr}");
    // forwardBody sends at most 64 KiB: a larger maxBodySize is refused where it is written.
    let (ok, _, stderr) = check("        forwardBody: true\n        maxBodySize: 1048576\n");
    assert!(
        !ok && stderr.contains(".yml:") && stderr.contains("maxBodySize: 1048576 is over 65536"),
        "{stderr}"
    );
    let (ok, _, stderr) = check("        forwardBody: true\n        maxBodySize: 1024\n");
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = check("        tls:\n          cert: client.pem\n");
    assert!(
        !ok && stderr.contains("cert and key go together"),
        "{stderr}"
    );
    let (ok, _, stderr) = check("        tls:\n          ca: missing-ca.pem\n");
    assert!(
        !ok && stderr.contains("missing-ca.pem"),
        "a CA file that does not load: {stderr}"
    );
    let (ok, stdout, stderr) =
        check("        maxBodySize: 1024\n        preserveLocationHeader: true\n");
    assert!(ok, "{stdout} {stderr}");
}

/// `tls.ca` verifies an https auth server signed by a private CA; without it the system trust
/// store cannot, and the request gets 500; `insecureSkipVerify` accepts any certificate.
#[tokio::test]
async fn an_https_auth_server_is_verified_with_tls_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("auth ca");
    let auth = TlsUpstream::start(&ca.leaf(&["127.0.0.1"]), None).await;
    let ca_file = dir.path().join("auth-ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let up = Upstream::start("app").await;
    let address = format!("https://{}/verify", auth.addr);
    for (tls, status) in [
        (
            format!("        tls:\n          ca: \"{}\"\n", ca_file.display()),
            200,
        ),
        (String::new(), 500),
        (
            "        tls:\n          insecureSkipVerify: true\n".to_string(),
            200,
        ),
    ] {
        let gw = Gateway::start(&config(&up.url(), &forward_auth(&address, &tls)), &[]);
        let reply = Client::http1().get(&gw.url("/"), "", &[]).await;
        assert_eq!(reply.status, status, "tls {tls:?}: {}", reply.text());
    }
}

fn post(url: String, body: &'static [u8]) -> http::Request<crate::support::client::Body> {
    use http_body_util::BodyExt;
    let body = http_body_util::Full::new(bytes::Bytes::from_static(body))
        .map_err(|never| match never {})
        .boxed();
    http::Request::post(url)
        .header("content-type", "application/json")
        .body(body)
        .expect("request")
}

#[tokio::test]
async fn forward_body_sends_the_body_to_the_auth_server_and_still_to_the_upstream() {
    let (auth, up) = (AuthServer::start().await, Upstream::start("app").await);
    let options = "        forwardBody: true\n        maxBodySize: 64\n        preserveRequestMethod: true\n        authResponseHeaders: [X-Auth-User]\n";
    let gw = Gateway::start(
        &config(&up.url(), &forward_auth(&auth.url("/allow"), options)),
        &[],
    );
    let client = Client::http1();
    let payload: &[u8] = br#"{"order":42,"sig":"abc"}"#;
    let reply = client.send(post(gw.url("/orders"), payload)).await;
    assert_eq!(reply.status, 200);
    let asked = auth.last();
    assert_eq!(asked.method, "POST");
    assert_eq!(asked.body_head, payload, "the auth server got the body");
    assert_eq!(asked.header("content-type"), Some("application/json"));
    let seen = up.last();
    assert_eq!(seen.body_len, payload.len());
    assert_eq!(seen.body_head, payload, "the upstream got it intact");
    assert_eq!(seen.header("x-auth-user"), Some("alice"));

    // Over maxBodySize: 401 with an empty body, as Traefik answers; nobody is asked.
    let asked_before = auth.requests().len();
    let over = client.send(post(gw.url("/orders"), &[b'x'; 65])).await;
    assert_eq!(over.status, 401);
    assert!(over.body.is_empty());
    assert_eq!(
        auth.requests().len(),
        asked_before,
        "the auth server was not asked"
    );
    assert_eq!(up.count(), 1, "the upstream saw only the first request");

    // Exactly maxBodySize still goes through.
    let exact = client.send(post(gw.url("/orders"), &[b'y'; 64])).await;
    assert_eq!(exact.status, 200);
    assert_eq!(auth.last().body_len, 64);
    assert_eq!(up.last().body_len, 64);
}

#[tokio::test]
async fn without_forward_body_the_auth_server_gets_no_body_and_the_upstream_all_of_it() {
    let (auth, up) = (AuthServer::start().await, Upstream::start("app").await);
    let gw = Gateway::start(
        &config(
            &up.url(),
            &forward_auth(&auth.url("/allow"), "        maxBodySize: 4\n"),
        ),
        &[],
    );
    let reply = Client::http1()
        .send(post(gw.url("/orders"), b"a body longer than four bytes"))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(auth.last().body_len, 0);
    assert_eq!(up.last().body_len, b"a body longer than four bytes".len());
}
