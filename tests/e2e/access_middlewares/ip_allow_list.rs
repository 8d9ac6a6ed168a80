//! `ipAllowList` (and its deprecated name `ipWhiteList`): sourceRange, rejectStatusCode and
//! ipStrategy (depth, excludedIPs).
//!
//! The gateway replaces a client's `X-Forwarded-For` with the peer address before any middleware
//! runs (clients are not trusted to speak for proxies), so the ipStrategy tests put the
//! header a trusted proxy would have sent with a `headers` middleware earlier in the chain.

use super::{refused, send, start};

const LISTS: &str = r#"
    local:
      ipAllowList:
        sourceRange: ["127.0.0.1/32", "::1"]
    remote-only:
      ipAllowList:
        sourceRange: ["10.0.0.0/8"]
    remote-404:
      ipAllowList:
        sourceRange: ["10.0.0.0/8"]
        rejectStatusCode: 404
    legacy:
      ipWhiteList:
        sourceRange: ["127.0.0.0/8"]
    proxied:
      headers:
        customRequestHeaders: { X-Forwarded-For: "203.0.113.9, 10.1.2.3, 192.168.0.5" }
    depth-2:
      ipAllowList:
        sourceRange: ["10.0.0.0/8"]
        ipStrategy: { depth: 2 }
    depth-1:
      ipAllowList:
        sourceRange: ["10.0.0.0/8"]
        ipStrategy: { depth: 1 }
    skip-proxies:
      ipAllowList:
        sourceRange: ["203.0.113.0/24"]
        ipStrategy: { excludedIPs: ["192.168.0.0/16", "10.0.0.0/8"] }
    skip-one:
      ipAllowList:
        sourceRange: ["203.0.113.0/24"]
        ipStrategy: { excludedIPs: ["192.168.0.5"] }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_allow_list_lets_a_peer_in_its_source_range_through() {
    let (up, gw) = start(&[("/legacy", "legacy"), ("/", "local")], LISTS).await;
    let r = send(&gw, "GET", "/in", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "app");
    assert_eq!(up.last().path_and_query, "/in");
    let r = send(&gw, "GET", "/legacy", &[]).await;
    assert_eq!(r.status, 200, "ipWhiteList is the same middleware");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_allow_list_refuses_other_peers_with_403_or_the_reject_status_code() {
    let (up, gw) = start(&[("/404", "remote-404"), ("/", "remote-only")], LISTS).await;
    // The client's own X-Forwarded-For claim is not believed.
    let r = send(&gw, "GET", "/", &[("x-forwarded-for", "10.0.0.1")]).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), "Forbidden");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let r = send(&gw, "GET", "/404", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "Not Found");
    assert_eq!(up.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_strategy_depth_checks_the_nth_forwarded_address_from_the_right() {
    let (up, gw) = start(
        &[("/two", "proxied, depth-2"), ("/one", "proxied, depth-1")],
        LISTS,
    )
    .await;
    let r = send(&gw, "GET", "/two", &[]).await;
    assert_eq!(r.status, 200, "depth 2 is 10.1.2.3");
    assert_eq!(
        up.last().header("x-forwarded-for"),
        Some("203.0.113.9, 10.1.2.3, 192.168.0.5")
    );
    let r = send(&gw, "GET", "/one", &[]).await;
    assert_eq!(r.status, 403, "depth 1 is 192.168.0.5");
    assert_eq!(up.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_strategy_excluded_ips_skip_known_proxies_from_the_right() {
    let (up, gw) = start(
        &[
            ("/all", "proxied, skip-proxies"),
            ("/one", "proxied, skip-one"),
        ],
        LISTS,
    )
    .await;
    let r = send(&gw, "GET", "/all", &[]).await;
    assert_eq!(
        r.status, 200,
        "203.0.113.9 is the first address not excluded"
    );
    let r = send(&gw, "GET", "/one", &[]).await;
    assert_eq!(r.status, 403, "10.1.2.3 is the first address not excluded");
    assert_eq!(up.count(), 1);
}

#[test]
fn ip_allow_list_config_errors_name_the_option() {
    let stderr = refused(
        &[("/", "bad")],
        "    bad:\n      ipAllowList:\n        sourceRange: [\"10.0.0.0/33\"]\n",
    );
    assert!(
        stderr.contains("http.middlewares.bad.ipAllowList")
            && stderr.contains(
                "sourceRange[0]: \"10.0.0.0/33\" is neither an IP address nor a CIDR range"
            ),
        "{stderr}"
    );
    let stderr = refused(
        &[("/", "bad")],
        "    bad:\n      ipAllowList:\n        sourceRange: [\"10.0.0.1\"]\n        rejectStatusCode: 299\n",
    );
    assert!(
        stderr.contains("rejectStatusCode: invalid HTTP status code 299"),
        "{stderr}"
    );
    let stderr = refused(
        &[("/", "bad")],
        "    bad:\n      ipAllowList:\n        sourceRange: [\"10.0.0.1\"]\n        ipStrategy: { dept: 1 }\n",
    );
    assert!(
        stderr.contains("ipStrategy: unknown option \"dept\""),
        "{stderr}"
    );
}
