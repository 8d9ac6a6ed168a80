//! `basicAuth`: htpasswd users (hashes made by `htpasswd` from apache2-utils), realm,
//! headerField, removeHeader, usersFile, and a cold bcrypt login under the default deadline.

use crate::support::{Gateway, Upstream};

use super::{config, refused, send, start};

// `htpasswd -nbB alice s3cret-b`, `htpasswd -nbm bob s3cret-m`, `htpasswd -nbs dave s3cret-s`.
const STAFF: &str = r#"
    staff:
      basicAuth:
        users:
          - "alice:$2y$05$ZzeWa.HILIuIrOcdETjZDeZVplQrJ.Edims7tOZWEAd4k577gXn7e"
          - "bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1"
          - "dave:{SHA}ZnB77uxZYGhjHppL6R7KgbbYWZE="
        realm: Staff
        headerField: X-WebAuth-User
        removeHeader: true
    plain:
      basicAuth:
        users: ["bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1"]
"#;

/// `Basic base64(user:password)`.
const ALICE: &str = "Basic YWxpY2U6czNjcmV0LWI="; // alice:s3cret-b
const BOB: &str = "Basic Ym9iOnMzY3JldC1t"; // bob:s3cret-m
const DAVE: &str = "Basic ZGF2ZTpzM2NyZXQtcw=="; // dave:s3cret-s
const BOB_WRONG: &str = "Basic Ym9iOndyb25n"; // bob:wrong

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_lets_bcrypt_md5_and_sha1_users_in_and_tells_the_upstream_who() {
    let (up, gw) = start(&[("/", "staff")], STAFF).await;
    for (auth, user) in [(ALICE, "alice"), (BOB, "bob"), (DAVE, "dave")] {
        for _ in 0..2 {
            let r = send(&gw, "GET", "/private", &[("authorization", auth)]).await;
            assert_eq!(r.status, 200, "{user}");
            assert_eq!(r.text(), "app");
            let seen = up.last();
            assert_eq!(seen.header("x-webauth-user"), Some(user), "headerField");
            assert_eq!(seen.header("authorization"), None, "removeHeader");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_answers_wrong_or_missing_credentials_401_with_the_realm() {
    let (up, gw) = start(&[("/staff", "staff"), ("/", "plain")], STAFF).await;
    for headers in [
        &[("authorization", BOB_WRONG)][..],
        &[("authorization", "Basic bWFsbG9yeTpzM2NyZXQtbQ==")][..], // mallory:s3cret-m
        &[("authorization", "Bearer token")][..],
        &[][..],
    ] {
        let r = send(&gw, "GET", "/staff", headers).await;
        assert_eq!(r.status, 401, "{headers:?}");
        assert_eq!(r.header("www-authenticate"), Some(r#"Basic realm="Staff""#));
        assert_eq!(r.header("content-type"), Some("text/plain"));
        assert_eq!(r.text(), "401 Unauthorized\n");
    }
    let r = send(&gw, "GET", "/", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Basic realm="traefik""#),
        "Traefik's default realm"
    );
    assert_eq!(up.count(), 0, "no refused request reaches the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_remove_header_the_upstream_sees_the_authorization() {
    let (up, gw) = start(&[("/", "plain")], STAFF).await;
    let r = send(&gw, "GET", "/", &[("authorization", BOB)]).await;
    assert_eq!(r.status, 200);
    let seen = up.last();
    assert_eq!(seen.header("authorization"), Some(BOB));
    assert_eq!(seen.header("x-webauth-user"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_file_lines_are_read_by_the_gateway_at_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("htpasswd");
    // `htpasswd -nbB frank file-pw`, plus a comment and a blank line.
    std::fs::write(
        &file,
        "# team\nfrank:$2y$05$Kk0yxcleKs8g7scEvNRmBOLujpISVN2Dzhuqij4zDPoliYXOmdgQC\n\n",
    )
    .expect("write users file");
    let mws = format!(
        "    team:\n      basicAuth:\n        usersFile: \"{}\"\n        users: [\"bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1\"]\n        headerField: X-User\n",
        file.display()
    );
    let up = Upstream::start("app").await;
    let gw = Gateway::start(&config(&up.url(), &[("/", "team")], &mws), &[]);
    let frank = "Basic ZnJhbms6ZmlsZS1wdw=="; // frank:file-pw
    let r = send(&gw, "GET", "/", &[("authorization", frank)]).await;
    // A 500 here once, at load average 10: the log says which hook failed and how.
    assert_eq!(r.status, 200, "{}", gw.log());
    assert_eq!(up.last().header("x-user"), Some("frank"));
    let r = send(&gw, "GET", "/", &[("authorization", BOB)]).await;
    assert_eq!(r.status, 200, "inline users are kept next to the file's");
    assert_eq!(up.last().header("x-user"), Some("bob"));
}

#[test]
fn an_unreadable_users_file_or_a_bad_option_is_a_config_error_naming_it() {
    let stderr = refused(
        &[("/", "team")],
        "    team:\n      basicAuth:\n        usersFile: no-such-file.htpasswd\n",
    );
    // The middlewares start on line 10 (see `config`); its usersFile is on line 12.
    assert!(
        stderr.contains("gateway.yml:12: http.middlewares.team.basicAuth.usersFile: cannot read"),
        "{stderr}"
    );
    assert!(stderr.contains("no-such-file.htpasswd"), "{stderr}");
    let stderr = refused(
        &[("/", "team")],
        "    team:\n      basicAuth:\n        users: [\"eve:plaintext\"]\n",
    );
    assert!(
        stderr.contains("http.middlewares.team.basicAuth")
            && stderr.contains("users[0] (eve): unsupported password hash"),
        "{stderr}"
    );
    let stderr = refused(
        &[("/", "team")],
        "    team:\n      basicAuth:\n        realms: x\n",
    );
    assert!(stderr.contains("unknown option \"realms\""), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_cost_10_bcrypt_login_is_not_killed_by_the_default_deadline() {
    // `htpasswd -nbB -C 10 carol cost10pass`: ~85 ms in the guest, above the 50 ms default.
    let mws = r#"
    slow:
      basicAuth:
        users: ["carol:$2y$10$tlIVvW/lSYxrd58wvZFF/.BkkH0//bw6PRl5tzBPZjKLEgatFqPNy"]
"#;
    let (up, gw) = start(&[("/", "slow")], mws).await;
    let carol = "Basic Y2Fyb2w6Y29zdDEwcGFzcw=="; // carol:cost10pass
    let r = send(&gw, "GET", "/", &[("authorization", carol)]).await;
    assert_eq!(r.status, 200, "log:\n{}", gw.log());
    let r = send(
        &gw,
        "GET",
        "/",
        &[("authorization", "Basic Y2Fyb2w6bm9wZQ==")],
    )
    .await;
    assert_eq!(r.status, 401, "a wrong password is refused, not timed out");
    assert_eq!(up.count(), 1);
}
