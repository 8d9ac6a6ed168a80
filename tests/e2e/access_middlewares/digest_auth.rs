//! `digestAuth`: the challenge, a client computing RFC 2617 responses (MD5, qop=auth), realm,
//! headerField, removeHeader, usersFile.

use std::collections::HashMap;

use md5::{Digest, Md5};

use crate::support::client::Reply;
use crate::support::{Gateway, Upstream};

use super::{config, send, start};

// `htdigest -c file traefik carol` (password digest-pw) and `htdigest file Ops olga` (ops-pw).
const DIGEST: &str = r#"
    digest:
      digestAuth:
        users: ["carol:traefik:3f9220f5ccb299c92bf498b9b67930ec"]
        headerField: X-WebAuth-User
        removeHeader: true
    ops:
      digestAuth:
        users: ["olga:Ops:e8f8ae4d2ab1a6f1b1b3e8b4bb0a6a1c"]
        realm: Ops
"#;

fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The parameters of a 401's `WWW-Authenticate: Digest ...` challenge.
pub(super) fn challenge(r: &Reply) -> HashMap<String, String> {
    assert_eq!(r.status, 401);
    assert_eq!(r.text(), "401 Unauthorized\n");
    let header = r.header("www-authenticate").unwrap_or("");
    let params = header
        .strip_prefix("Digest ")
        .unwrap_or_else(|| panic!("not a Digest challenge: {header:?}"));
    params
        .split(", ")
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

/// The `Authorization` a browser sends for `method uri` after challenge `c`.
pub(super) fn authorization(
    user: &str,
    password: &str,
    method: &str,
    uri: &str,
    c: &HashMap<String, String>,
) -> String {
    let ha1 = md5_hex(&format!("{user}:{}:{password}", c["realm"]));
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    let response = md5_hex(&format!("{ha1}:{}:00000001:4a2b:auth:{ha2}", c["nonce"]));
    format!(
        r#"Digest username="{user}", realm="{}", nonce="{}", uri="{uri}", algorithm=MD5, qop=auth, nc=00000001, cnonce="4a2b", response="{response}", opaque="{}""#,
        c["realm"], c["nonce"], c["opaque"]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_auth_challenges_then_lets_the_right_password_in_with_the_user_upstream() {
    let (up, gw) = start(&[("/", "digest")], DIGEST).await;
    let r = send(&gw, "GET", "/reports?year=2026", &[]).await;
    let c = challenge(&r);
    assert_eq!(c["realm"], "traefik");
    assert_eq!(c["algorithm"], "MD5");
    assert_eq!(c["qop"], "auth");
    assert_eq!(up.count(), 0);

    let auth = authorization("carol", "digest-pw", "GET", "/reports?year=2026", &c);
    let r = send(
        &gw,
        "GET",
        "/reports?year=2026",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, 200, "log:\n{}", gw.log());
    assert_eq!(r.text(), "app");
    let seen = up.last();
    assert_eq!(seen.path_and_query, "/reports?year=2026");
    assert_eq!(seen.header("x-webauth-user"), Some("carol"), "headerField");
    assert_eq!(seen.header("authorization"), None, "removeHeader");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_auth_challenges_a_wrong_password_or_uri_again() {
    let (up, gw) = start(&[("/", "digest")], DIGEST).await;
    let c = challenge(&send(&gw, "GET", "/", &[]).await);
    for auth in [
        authorization("carol", "wrong", "GET", "/a", &c),
        authorization("mallory", "digest-pw", "GET", "/a", &c),
        authorization("carol", "digest-pw", "GET", "/elsewhere", &c),
        authorization("carol", "digest-pw", "POST", "/a", &c),
    ] {
        let r = send(&gw, "GET", "/a", &[("authorization", &auth)]).await;
        let again = challenge(&r);
        assert!(!again.contains_key("stale"), "{auth}");
    }
    assert_eq!(up.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_realm_is_announced_and_only_its_users_match() {
    let (up, gw) = start(&[("/", "ops")], DIGEST).await;
    let c = challenge(&send(&gw, "GET", "/", &[]).await);
    assert_eq!(c["realm"], "Ops");
    // carol exists only in realm "traefik" of the other middleware.
    let auth = authorization("carol", "digest-pw", "GET", "/", &c);
    challenge(&send(&gw, "GET", "/", &[("authorization", &auth)]).await);
    assert_eq!(up.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_users_file_is_read_by_the_gateway_and_the_header_kept_without_remove_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("htdigest");
    std::fs::write(&file, "carol:traefik:3f9220f5ccb299c92bf498b9b67930ec\n").expect("write");
    let mws = format!(
        "    fromfile:\n      digestAuth:\n        usersFile: \"{}\"\n",
        file.display()
    );
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&config(&up.url(), &[("/", "fromfile")], &mws), &[]);
    let c = challenge(&send(&gw, "GET", "/", &[]).await);
    let auth = authorization("carol", "digest-pw", "GET", "/", &c);
    let r = send(&gw, "GET", "/", &[("authorization", &auth)]).await;
    assert_eq!(r.status, 200);
    assert_eq!(up.last().header("authorization"), Some(auth.as_str()));
}
