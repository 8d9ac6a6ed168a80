//! The plugin through the SDK's native harness.

use base64::engine::general_purpose::STANDARD;
use plugin_sdk::testing::{self, TestRequest};

use super::*;

const CONFIG: &str = r#"{
    "users": [
        "alice:$2y$05$ZzeWa.HILIuIrOcdETjZDeZVplQrJ.Edims7tOZWEAd4k577gXn7e",
        "bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1",
        "dave:{SHA}ZnB77uxZYGhjHppL6R7KgbbYWZE="
    ],
    "realm": "Staff",
    "headerField": "X-WebAuth-User",
    "removeHeader": true
}"#;

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

fn mw(config: &str) -> BasicAuth {
    testing::instance::<BasicAuth>(config).unwrap_or_else(|e| panic!("{e}"))
}

fn assert_challenged(action: &Action, realm: &str) {
    let reply = action.reply().unwrap_or_else(|| panic!("not challenged"));
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.get_header("www-authenticate"),
        Some(format!("Basic realm=\"{realm}\"").as_bytes())
    );
    assert_eq!(reply.get_header("content-type"), Some(&b"text/plain"[..]));
    assert_eq!(reply.body, b"401 Unauthorized\n");
}

#[test]
fn every_hash_format_lets_its_user_in_with_the_user_passed_upstream() {
    let mw = mw(CONFIG);
    for (user, password) in [
        ("alice", "s3cret-b"),
        ("bob", "s3cret-m"),
        ("dave", "s3cret-s"),
    ] {
        let mut req = TestRequest::get("/").header("authorization", basic(user, password));
        assert!(testing::on_request(&mw, &mut req).is_continue(), "{user}");
        assert_eq!(req.header_str("x-webauth-user").as_deref(), Some(user));
        assert_eq!(req.user.as_deref(), Some(user), "the access log's user");
        assert_eq!(req.header_bytes("authorization"), None, "removeHeader");
    }
}

#[test]
fn wrong_missing_or_malformed_credentials_get_401_with_the_realm() {
    let mw = mw(CONFIG);
    for auth in [
        Some(basic("bob", "wrong")),
        Some(basic("mallory", "s3cret-m")),
        Some("Bearer abc".to_string()),
        Some("Basic !!!".to_string()),
        Some(format!("Basic {}", STANDARD.encode("no-colon"))),
        None,
    ] {
        let mut req = TestRequest::get("/");
        if let Some(auth) = &auth {
            req = req.header("authorization", auth);
        }
        assert_challenged(&testing::on_request(&mw, &mut req), "Staff");
    }
}

#[test]
fn the_scheme_is_case_insensitive_and_the_password_may_hold_colons() {
    let mw = mw(r#"{"users": ["x:{SHA}3OptnM09ILoVSfbZtd3mB0IViII="]}"#);
    let auth = format!("bAsIc {}", STANDARD.encode("x:a:b"));
    let mut req = TestRequest::get("/").header("authorization", &auth);
    assert!(testing::on_request(&mw, &mut req).is_continue());
    assert_eq!(
        req.header_str("authorization").as_deref(),
        Some(auth.as_str()),
        "kept without removeHeader"
    );
    assert_eq!(req.header_bytes("x-webauth-user"), None);
}

#[test]
fn the_default_realm_is_traefik() {
    let mw = mw("{}");
    assert_challenged(
        &testing::on_request(&mw, &mut TestRequest::get("/")),
        "traefik",
    );
}

#[test]
fn a_verified_password_is_served_from_the_cache_and_a_wrong_one_is_remembered() {
    let mw = mw(CONFIG);
    assert_eq!(mw.cache.len(), (0, 0));
    for _ in 0..3 {
        let mut req = TestRequest::get("/").header("authorization", basic("alice", "s3cret-b"));
        assert!(testing::on_request(&mw, &mut req).is_continue());
    }
    assert_eq!(mw.cache.len(), (1, 0), "one verification cached for alice");
    for _ in 0..3 {
        let mut req = TestRequest::get("/").header("authorization", basic("alice", "nope"));
        assert!(testing::on_request(&mw, &mut req).reply().is_some());
    }
    assert_eq!(mw.cache.len(), (1, 1));
    let mut req = TestRequest::get("/").header("authorization", basic("alice", "s3cret-b"));
    assert!(
        testing::on_request(&mw, &mut req).is_continue(),
        "a failure does not evict the success"
    );
}

#[test]
fn parse_basic_follows_go() {
    let parsed = |header: &[u8]| {
        parse_basic(header).and_then(|c| {
            c.split()
                .map(|(user, password)| (user.to_string(), password.to_vec()))
        })
    };
    assert_eq!(
        parsed(b"Basic dXNlcjpwYXNz"),
        Some(("user".to_string(), b"pass".to_vec()))
    );
    assert_eq!(
        parsed(b"Basic Og=="),
        Some((String::new(), Vec::new())),
        "empty user and password"
    );
    assert_eq!(
        parsed(b"Basic dXNlcjpwOmFzcw=="),
        Some(("user".to_string(), b"p:ass".to_vec())),
        "split at the first colon"
    );
    assert_eq!(parsed(b"Basic dXNlcjpwYXNz=="), None, "bad padding");
    assert_eq!(parsed(b"Basic"), None);
    assert_eq!(parsed(b"Basicx dXNlcjpwYXNz"), None);
    // "\xff:pw": a user name that is not UTF-8.
    assert_eq!(parsed(b"Basic /zpwdw=="), None);
}

#[test]
fn credentials_longer_than_the_inline_buffer_parse_the_same() {
    for len in [
        INLINE_CREDENTIALS - 2,
        INLINE_CREDENTIALS - 1,
        INLINE_CREDENTIALS,
        INLINE_CREDENTIALS + 1,
        300,
    ] {
        let password = "p".repeat(len - "user:".len());
        let header = basic("user", &password);
        let credentials = parse_basic(header.as_bytes()).unwrap_or_else(|| panic!("len {len}"));
        assert_eq!(credentials.decoded().len(), len);
        assert_eq!(
            credentials.split(),
            Some(("user", password.as_bytes())),
            "len {len}"
        );
        let corrupt = format!("{}!", &header[..header.len() - 1]);
        assert!(parse_basic(corrupt.as_bytes()).is_none(), "len {len}");
    }
    let mw = mw(r#"{"users": ["x:{SHA}3OptnM09ILoVSfbZtd3mB0IViII="]}"#);
    let mut req = TestRequest::get("/").header("authorization", basic("x", &"a".repeat(200)));
    assert!(
        testing::on_request(&mw, &mut req).reply().is_some(),
        "a long wrong password is refused"
    );
}

#[test]
fn the_verdict_is_declared_a_function_of_the_authorization_header_for_the_cache_ttl() {
    let memo = mw(CONFIG).verdict_memo().expect("declared");
    assert_eq!(memo.header, "authorization");
    assert_eq!(memo.ttl_ms, 60_000);
    assert!(memo.max_entries >= 3, "a slot per user at least");
}
