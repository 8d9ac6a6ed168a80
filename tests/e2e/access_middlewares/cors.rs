//! The CORS options of `headers`: preflights answered by the gateway, headers on actual
//! responses.

use super::{send, start};

const CORS: &str = r#"
    cors:
      headers:
        accessControlAllowMethods: [GET, OPTIONS, PUT]
        accessControlAllowHeaders: [X-Api-Key, Content-Type]
        accessControlAllowOriginList: ["https://app.test"]
        accessControlAllowOriginListRegex: ["^https://[a-z]+\\.partner\\.test$"]
        accessControlExposeHeaders: [X-Total-Count]
        accessControlAllowCredentials: true
        accessControlMaxAge: 100
        addVaryHeader: true
    any-origin:
      headers:
        accessControlAllowOriginList: ["*"]
"#;

const PREFLIGHT: &[(&str, &str)] = &[
    ("origin", "https://app.test"),
    ("access-control-request-method", "PUT"),
    ("access-control-request-headers", "X-Api-Key"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cors_preflight_is_answered_by_the_gateway_with_the_configured_headers() {
    let (up, gw) = start(&[("/", "cors")], CORS).await;
    let r = send(&gw, "OPTIONS", "/api/items", PREFLIGHT).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.test")
    );
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET,OPTIONS,PUT")
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("X-Api-Key,Content-Type")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("access-control-max-age"), Some("100"));
    assert!(r.body.is_empty());
    assert_eq!(up.count(), 0, "the upstream never sees a preflight");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preflight_from_a_regex_origin_gets_that_origin_and_an_unlisted_one_gets_none() {
    let (up, gw) = start(&[("/", "cors")], CORS).await;
    let partner = [
        ("origin", "https://shop.partner.test"),
        ("access-control-request-method", "GET"),
    ];
    let r = send(&gw, "OPTIONS", "/", &partner).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://shop.partner.test")
    );
    let evil = [
        ("origin", "https://evil.test"),
        ("access-control-request-method", "GET"),
    ];
    let r = send(&gw, "OPTIONS", "/", &evil).await;
    assert_eq!(
        r.status, 200,
        "Traefik answers, without allowing the origin"
    );
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET,OPTIONS,PUT")
    );
    assert_eq!(up.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actual_cors_request_reaches_the_upstream_and_gets_origin_expose_credentials_and_vary() {
    let (up, gw) = start(&[("/", "cors")], CORS).await;
    let r = send(&gw, "GET", "/api/items", &[("origin", "https://app.test")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "app");
    assert_eq!(up.last().header("origin"), Some("https://app.test"));
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.test")
    );
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("X-Total-Count")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("vary"), Some("Origin"));
    assert_eq!(r.header("access-control-max-age"), None, "preflight only");

    let r = send(&gw, "GET", "/", &[("origin", "https://evil.test")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert_eq!(
        r.header("vary"),
        Some("Origin"),
        "addVaryHeader applies to every response"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wildcard_origin_list_allows_any_origin_as_star() {
    let (up, gw) = start(&[("/", "any-origin")], CORS).await;
    let r = send(&gw, "GET", "/", &[("origin", "https://whoever.test")]).await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("vary"), None, "no addVaryHeader here");
    let r = send(&gw, "OPTIONS", "/", PREFLIGHT).await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("access-control-max-age"),
        Some("0"),
        "Traefik always sends it"
    );
    assert_eq!(up.count(), 1, "only the GET went upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_options_request_that_is_not_a_preflight_goes_upstream() {
    let (up, gw) = start(&[("/", "cors")], CORS).await;
    let r = send(&gw, "OPTIONS", "/", &[("origin", "https://app.test")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "app");
    let seen = up.last();
    assert_eq!(seen.method, "OPTIONS");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.test")
    );
}
