//! The plugin through the SDK's native harness.

use plugin_sdk::testing::{self, TestRequest};

use super::*;

fn mw(config: &str) -> IpAllowList {
    testing::instance::<IpAllowList>(config).unwrap_or_else(|e| panic!("{e}"))
}

fn status_of(mw: &IpAllowList, mut req: TestRequest) -> u16 {
    match testing::on_request(mw, &mut req) {
        Action::Continue => 200,
        Action::Respond(reply) => reply.status,
    }
}

#[test]
fn the_peer_address_is_checked_by_default() {
    let mw = mw(r#"{"sourceRange": ["192.168.1.0/24", "::1"]}"#);
    assert_eq!(
        status_of(&mw, TestRequest::get("/").client_addr("192.168.1.20:5000")),
        200
    );
    assert_eq!(
        status_of(&mw, TestRequest::get("/").client_addr("[::1]:5000")),
        200
    );
    assert_eq!(
        status_of(&mw, TestRequest::get("/").client_addr("192.168.2.1:5000")),
        403
    );
    assert_eq!(
        status_of(
            &mw,
            TestRequest::get("/")
                .client_addr("10.0.0.1:1")
                .header("x-forwarded-for", "192.168.1.20")
        ),
        403,
        "X-Forwarded-For is ignored without an ipStrategy"
    );
}

#[test]
fn a_refusal_carries_the_status_text() {
    let mw = mw(r#"{"sourceRange": ["10.0.0.1"], "rejectStatusCode": 404}"#);
    let mut req = TestRequest::get("/").client_addr("10.0.0.2:1");
    let action = testing::on_request(&mw, &mut req);
    let reply = action.reply().unwrap_or_else(|| panic!("not refused"));
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body, b"Not Found");
    assert_eq!(
        reply.get_header("content-type"),
        Some(&b"text/plain; charset=utf-8"[..])
    );
    let forbidden = self::mw(r#"{"sourceRange": ["10.0.0.1"]}"#);
    let mut req = TestRequest::get("/").client_addr("10.0.0.2:1");
    let action = testing::on_request(&forbidden, &mut req);
    assert_eq!(
        action.reply().map(|r| r.body.as_slice()),
        Some(&b"Forbidden"[..])
    );
}

#[test]
fn depth_picks_from_the_right_of_x_forwarded_for() {
    let mw = mw(r#"{"sourceRange": ["1.1.1.1"], "ipStrategy": {"depth": 2}}"#);
    let req = |xff: &str| TestRequest::get("/").header("x-forwarded-for", xff);
    assert_eq!(status_of(&mw, req("9.9.9.9, 1.1.1.1, 2.2.2.2")), 200);
    assert_eq!(status_of(&mw, req("1.1.1.1, 9.9.9.9, 2.2.2.2")), 403);
    assert_eq!(status_of(&mw, req("2.2.2.2")), 403, "too few entries");
    assert_eq!(status_of(&mw, TestRequest::get("/")), 403, "no header");
}

#[test]
fn excluded_ips_skip_trusted_proxies_from_the_right() {
    let mw = mw(
        r#"{"sourceRange": ["1.1.1.1"], "ipStrategy": {"excludedIPs": ["10.0.0.0/8", "2.2.2.2"]}}"#,
    );
    let req = |xff: &str| TestRequest::get("/").header("x-forwarded-for", xff);
    assert_eq!(
        status_of(&mw, req("9.9.9.9, 1.1.1.1, 10.1.1.1, 2.2.2.2")),
        200
    );
    assert_eq!(status_of(&mw, req("1.1.1.1, 9.9.9.9, 10.1.1.1")), 403);
    assert_eq!(
        status_of(&mw, req("10.0.0.1, 2.2.2.2")),
        403,
        "all excluded"
    );
}

#[test]
fn an_ipv6_subnet_makes_a_whole_prefix_one_client() {
    let mw =
        mw(r#"{"sourceRange": ["2001:db8:1:2::"], "ipStrategy": {"depth": 1, "ipv6Subnet": 64}}"#);
    let req = |xff: &str| TestRequest::get("/").header("x-forwarded-for", xff);
    assert_eq!(status_of(&mw, req("2001:db8:1:2:aaaa::1")), 200);
    assert_eq!(status_of(&mw, req("2001:db8:1:3::1")), 403);
}

#[test]
fn a_reject_status_without_body_sends_none() {
    let mw = mw(r#"{"sourceRange": ["10.0.0.1"], "rejectStatusCode": 204}"#);
    let mut req = TestRequest::get("/").client_addr("10.0.0.2:1");
    let action = testing::on_request(&mw, &mut req);
    let reply = action.reply().unwrap_or_else(|| panic!("not refused"));
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty() && reply.headers.is_empty());
}
