//! `chain`: a middleware made of other middlewares, expanded where routers name it; a Traefik
//! config chaining access middlewares as a Traefik user writes it; cycles and unknown members
//! refused by `wasmgate check`.

use super::{refused, send, start};

const ORDER: &str = r#"
    first:
      headers:
        customRequestHeaders: { X-Step: first, X-First: "1" }
        customResponseHeaders: { X-Last-Response-Hook: first }
    second:
      headers:
        customRequestHeaders: { X-Step: second }
        customResponseHeaders: { X-Last-Response-Hook: second }
    third:
      headers:
        customRequestHeaders: { X-Third: "1" }
    inner:
      chain:
        middlewares: [second]
    both:
      chain:
        middlewares: [first, inner@file]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_runs_its_members_in_order_where_the_router_names_it() {
    let (up, gw) = start(&[("/", "both, third")], ORDER).await;
    let r = send(&gw, "GET", "/", &[]).await;
    assert_eq!(r.status, 200);
    let seen = up.last();
    assert_eq!(
        seen.header("x-step"),
        Some("second"),
        "request hooks in chain order"
    );
    assert_eq!(seen.header("x-first"), Some("1"));
    assert_eq!(
        seen.header("x-third"),
        Some("1"),
        "the router's next middleware runs too"
    );
    assert_eq!(
        r.header("x-last-response-hook"),
        Some("first"),
        "response hooks in reverse order"
    );
}

/// A Traefik dynamic config as a Traefik user writes it: access middlewares in a chain.
const TRAEFIK_STYLE: &str = r#"
    office:
      ipWhiteList:
        sourceRange:
          - "127.0.0.1/32"
          - "192.168.1.0/24"
    auth:
      basicAuth:
        users:
          - "bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1"
        realm: "Back office"
        headerField: "X-WebAuth-User"
        removeHeader: true
    secured:
      headers:
        frameDeny: true
        stsSeconds: 63072000
        forceSTSHeader: true
        accessControlAllowOriginList:
          - "https://office.example.com"
        accessControlAllowMethods: ["GET", "POST"]
        addVaryHeader: true
    back-office:
      chain:
        middlewares:
          - office
          - secured
          - auth
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traefik_style_chain_of_access_middlewares_behaves_as_traefik_documents() {
    let (up, gw) = start(&[("/admin", "back-office@file")], TRAEFIK_STYLE).await;

    let preflight = [
        ("origin", "https://office.example.com"),
        ("access-control-request-method", "POST"),
    ];
    let r = send(&gw, "OPTIONS", "/admin/users", &preflight).await;
    assert_eq!(
        r.status, 200,
        "the preflight is answered before authentication"
    );
    assert_eq!(r.header("access-control-allow-methods"), Some("GET,POST"));

    let r = send(&gw, "GET", "/admin/users", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Basic realm="Back office""#)
    );
    assert_eq!(
        r.header("x-frame-options"),
        Some("DENY"),
        "headers' response hook ran"
    );
    assert_eq!(up.count(), 0);

    let r = send(
        &gw,
        "GET",
        "/admin/users",
        &[
            ("authorization", "Basic Ym9iOnMzY3JldC1t"),
            ("origin", "https://office.example.com"),
        ],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=63072000")
    );
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://office.example.com")
    );
    assert_eq!(r.header("vary"), Some("Origin"));
    let seen = up.last();
    assert_eq!(seen.header("x-webauth-user"), Some("bob"));
    assert_eq!(seen.header("authorization"), None);
}

#[test]
fn a_chain_cycle_is_refused_by_check_naming_the_cycle() {
    let stderr = refused(
        &[("/", "a")],
        "    a:\n      chain:\n        middlewares: [b]\n    b:\n      chain:\n        middlewares: [h, a]\n    h:\n      headers:\n        frameDeny: true\n",
    );
    // The middlewares start on line 10 (see `config`): b's members are on line 15.
    assert!(
        stderr.contains(
            "gateway.yml:15: http.middlewares.b.chain.middlewares[1]: chain cycle: a -> b -> a"
        ),
        "{stderr}"
    );
}

#[test]
fn a_chain_member_that_is_not_defined_is_refused_by_check() {
    let stderr = refused(
        &[("/", "c")],
        "    c:\n      chain:\n        middlewares: [ghost]\n",
    );
    assert!(
        stderr.contains(
            "http.middlewares.c.chain.middlewares[0]: middleware \"ghost\" is not defined"
        ),
        "{stderr}"
    );
}
