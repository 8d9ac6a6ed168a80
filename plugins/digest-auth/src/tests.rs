//! The plugin through the SDK's native harness, with a client computing RFC 2617 responses.

use plugin_sdk::testing::{self, TestRequest};

use super::*;

// `htdigest -c file traefik carol` with password `digest-pw`.
const CONFIG: &str = r#"{
    "users": ["carol:traefik:3f9220f5ccb299c92bf498b9b67930ec"],
    "headerField": "X-WebAuth-User",
    "removeHeader": true
}"#;

fn mw(config: &str) -> DigestAuth {
    testing::instance::<DigestAuth>(config).unwrap_or_else(|e| panic!("{e}"))
}

/// The challenge's parameters, after checking the reply is a 401 challenge.
fn challenge(action: &Action) -> std::collections::BTreeMap<String, String> {
    let reply = action.reply().unwrap_or_else(|| panic!("not challenged"));
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body, b"401 Unauthorized\n");
    let header = String::from_utf8(
        reply
            .get_header("www-authenticate")
            .unwrap_or_default()
            .to_vec(),
    )
    .unwrap();
    params::digest_params(&header).unwrap_or_else(|| panic!("not a Digest challenge: {header}"))
}

fn authorization(
    user: &str,
    password: &str,
    method: &str,
    uri: &str,
    c: &std::collections::BTreeMap<String, String>,
    nc: u32,
) -> String {
    let ha1 = md5_hex(&[user, ":", &c["realm"], ":", password]);
    let ha2 = md5_hex(&[method, ":", uri]);
    let nc = format!("{nc:08x}");
    let response = md5_hex(&[
        &ha1,
        ":",
        &c["nonce"],
        ":",
        &nc,
        ":",
        "0a4f113b",
        ":",
        "auth",
        ":",
        &ha2,
    ]);
    format!(
        r#"Digest username="{user}", realm="{}", nonce="{}", uri="{uri}", algorithm=MD5, qop=auth, nc={nc}, cnonce="0a4f113b", response="{response}", opaque="{}""#,
        c["realm"], c["nonce"], c["opaque"]
    )
}

#[test]
fn a_request_without_credentials_is_challenged() {
    let mw = mw(CONFIG);
    let c = challenge(&testing::on_request(&mw, &mut TestRequest::get("/")));
    assert_eq!(c["realm"], "traefik");
    assert_eq!(c["algorithm"], "MD5");
    assert_eq!(c["qop"], "auth");
    assert_eq!(c["nonce"].len(), 48);
    assert!(!c.contains_key("stale"));
}

#[test]
fn the_right_password_passes_with_the_user_upstream() {
    let mw = mw(CONFIG);
    let c = challenge(&testing::on_request(&mw, &mut TestRequest::get("/")));
    for nc in 1..=3 {
        let auth = authorization("carol", "digest-pw", "GET", "/data?x=1", &c, nc);
        let mut req = TestRequest::get("/data?x=1").header("authorization", &auth);
        assert!(testing::on_request(&mw, &mut req).is_continue(), "nc {nc}");
        assert_eq!(req.header_str("x-webauth-user").as_deref(), Some("carol"));
        assert_eq!(req.user.as_deref(), Some("carol"), "the access log's user");
        assert_eq!(req.header_bytes("authorization"), None);
    }
}

#[test]
fn another_instance_of_the_same_middleware_accepts_the_nonce() {
    let first = mw(CONFIG);
    let second = mw(CONFIG);
    let c = challenge(&testing::on_request(&first, &mut TestRequest::get("/")));
    let auth = authorization("carol", "digest-pw", "GET", "/", &c, 1);
    let mut req = TestRequest::get("/").header("authorization", &auth);
    assert!(testing::on_request(&second, &mut req).is_continue());
}

#[test]
fn a_wrong_password_user_uri_or_opaque_is_challenged_again() {
    let mw = mw(CONFIG);
    let c = challenge(&testing::on_request(&mw, &mut TestRequest::get("/")));
    let cases = [
        authorization("carol", "wrong", "GET", "/a", &c, 1),
        authorization("mallory", "digest-pw", "GET", "/a", &c, 1),
        authorization("carol", "digest-pw", "GET", "/other", &c, 1),
        authorization("carol", "digest-pw", "GET", "/a", &c, 1).replace(&c["opaque"], "x"),
        authorization("carol", "digest-pw", "GET", "/a", &c, 1).replace("qop=auth", "qop=auth-int"),
    ];
    for auth in cases {
        let mut req = TestRequest::get("/a").header("authorization", &auth);
        let c2 = challenge(&testing::on_request(&mw, &mut req));
        assert!(!c2.contains_key("stale"), "{auth}");
    }
}

#[test]
fn a_replayed_count_is_answered_stale() {
    let mw = mw(CONFIG);
    let c = challenge(&testing::on_request(&mw, &mut TestRequest::get("/")));
    let auth = authorization("carol", "digest-pw", "GET", "/", &c, 1);
    let mut req = TestRequest::get("/").header("authorization", &auth);
    assert!(testing::on_request(&mw, &mut req).is_continue());
    let mut replay = TestRequest::get("/").header("authorization", &auth);
    let c2 = challenge(&testing::on_request(&mw, &mut replay));
    assert_eq!(c2.get("stale").map(String::as_str), Some("true"));
    assert_ne!(c2["nonce"], c["nonce"], "a fresh nonce comes with it");
}

#[test]
fn a_uri_whose_path_prefixes_the_request_path_is_accepted_like_go_http_auth() {
    let mw = mw(CONFIG);
    let c = challenge(&testing::on_request(&mw, &mut TestRequest::get("/")));
    let auth = authorization("carol", "digest-pw", "GET", "/dir", &c, 1);
    let mut req = TestRequest::get("/dir/file").header("authorization", &auth);
    assert!(testing::on_request(&mw, &mut req).is_continue());
}

#[test]
fn a_custom_realm_is_used_in_the_challenge_and_the_lookup() {
    let mw = mw(r#"{"realm": "Ops", "users": ["carol:Ops:9e7f0e0d55a6f0e4f03e0c2f7f6d4b10"]}"#);
    let c = challenge(&testing::on_request(&mw, &mut TestRequest::get("/")));
    assert_eq!(c["realm"], "Ops");
}
