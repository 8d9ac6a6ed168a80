use super::*;
use plugin_sdk::testing::{self, TestRequest};

/// A config, a request, and the expected status and `Location` (`None`: no redirect).
type Case<'a> = (&'a str, TestRequest, Option<(u16, &'a str)>);

/// The status and `Location` for a request, or `None` when it goes on unchanged.
fn redirect(config: &str, req: TestRequest) -> Option<(u16, String)> {
    let mw = testing::instance::<RedirectScheme>(config).unwrap_or_else(|e| panic!("{e}"));
    let mut req = req;
    let before = req.clone();
    let action = testing::on_request(&mw, &mut req);
    assert_eq!(req, before, "the request itself is never edited");
    action.reply().map(|r| {
        let location = r
            .get_header("location")
            .map(|l| String::from_utf8_lossy(l).into_owned());
        (r.status, location.unwrap_or_default())
    })
}

fn get(url_host: &str, target: &str) -> TestRequest {
    TestRequest::get(target).authority(url_host)
}

#[test]
fn traefik_test_cases() {
    let https = r#"{"scheme": "https"}"#;
    let https_8443 = r#"{"scheme": "https", "port": "8443"}"#;
    let cases: &[Case<'_>] = &[
        (https, get("foo", "/"), Some((302, "https://foo/"))),
        (
            https,
            get("foo", "/").header("x-forwarded-proto", "http"),
            Some((302, "https://foo/")),
        ),
        (
            https,
            get("foo", "/").header("x-forwarded-proto", "https"),
            None,
        ),
        (
            https,
            get("foo", "/").header("x-forwarded-proto", "bar"),
            Some((302, "https://foo/")),
        ),
        (
            https,
            get("foo", "/").header("x-forwarded-proto", "ws"),
            Some((302, "https://foo/")),
        ),
        (
            https,
            get("foo", "/").header("x-forwarded-proto", "wss"),
            None,
        ),
        (https, get("foo:8080", "/"), Some((302, "https://foo/"))),
        (
            https_8443,
            get("foo", "/"),
            Some((302, "https://foo:8443/")),
        ),
        (
            https_8443,
            get("foo:8000", "/"),
            Some((302, "https://foo:8443/")),
        ),
        (
            https_8443,
            get("foo:8000", "/").tls(true),
            Some((302, "https://foo:8443/")),
        ),
        (
            https,
            get("foo:8000", "/theother").tls(true),
            Some((302, "https://foo/theother")),
        ),
        (
            r#"{"scheme": "http", "port": "80"}"#,
            get("foo:80", "/"),
            None,
        ),
        (
            r#"{"scheme": "https", "port": "443"}"#,
            get("foo:443", "/").tls(true),
            None,
        ),
        (
            r#"{"scheme": "wss", "port": "9443"}"#,
            get("foo", "/"),
            Some((302, "wss://foo:9443/")),
        ),
        (
            r#"{"scheme": "wss"}"#,
            get("foo:5678", "/"),
            Some((302, "wss://foo/")),
        ),
        (https, get("foo:443", "/"), Some((302, "https://foo/"))),
        (
            r#"{"scheme": "http", "port": "8181"}"#,
            get("foo:8080", "/"),
            Some((302, "http://foo:8181/")),
        ),
        (
            https,
            get("foo:80", "/").tls(true),
            Some((302, "https://foo/")),
        ),
        (https, get("[::1]", "/"), Some((302, "https://[::1]/"))),
        (
            https_8443,
            get("[::1]", "/"),
            Some((302, "https://[::1]:8443/")),
        ),
        (https, get("[::1]:80", "/"), Some((302, "https://[::1]/"))),
        (
            https_8443,
            get("[::1]:80", "/"),
            Some((302, "https://[::1]:8443/")),
        ),
    ];
    for (config, req, want) in cases {
        let want = want.map(|(s, l)| (s, l.to_string()));
        assert_eq!(redirect(config, req.clone()), want, "{config} {req:?}");
    }
}

#[test]
fn permanent_and_method_choose_the_status() {
    let temp = r#"{"scheme": "https"}"#;
    let perm = r#"{"scheme": "https", "permanent": true}"#;
    let status = |config, method| redirect(config, get("a", "/").method(method)).map(|(s, _)| s);
    assert_eq!(status(temp, "GET"), Some(302));
    assert_eq!(status(temp, "POST"), Some(307));
    assert_eq!(status(temp, "HEAD"), Some(307));
    assert_eq!(status(perm, "GET"), Some(301));
    assert_eq!(status(perm, "PUT"), Some(308));
}

#[test]
fn path_and_query_are_kept() {
    let got = redirect(r#"{"scheme": "https"}"#, get("a.test", "/x/y?q=1&r=%20"));
    assert_eq!(got, Some((302, "https://a.test/x/y?q=1&r=%20".to_string())));
}

#[test]
fn a_request_already_on_the_scheme_and_port_goes_on() {
    assert_eq!(redirect(r#"{"scheme": "http"}"#, get("a.test", "/")), None);
    assert_eq!(
        redirect(
            r#"{"scheme": "http", "port": 8080}"#,
            get("a.test:8080", "/")
        ),
        None
    );
    assert_eq!(
        redirect(r#"{"scheme": "https"}"#, get("a.test", "/").tls(true)),
        None
    );
}

#[test]
fn a_numeric_port_and_text_permanent_are_accepted() {
    let got = redirect(
        r#"{"scheme": "https", "port": 8443, "permanent": "true"}"#,
        get("a", "/"),
    );
    assert_eq!(got, Some((301, "https://a:8443/".to_string())));
}

#[test]
fn host_and_port_are_split_as_go_splits_them() {
    assert_eq!(split_host_port("a.test:81"), ("a.test", ":81"));
    assert_eq!(split_host_port("a.test"), ("a.test", ""));
    assert_eq!(split_host_port("[::1]:80"), ("[::1]", ":80"));
    assert_eq!(split_host_port("[::1]"), ("[::1]", ""));
    assert_eq!(split_host_port("::1"), ("::1", ""));
    assert_eq!(split_host_port(""), ("", ""));
}

#[test]
fn bad_configs_are_errors_naming_the_option() {
    let cases = [
        (
            "{}",
            "scheme: required (the scheme to redirect to, e.g. https)",
        ),
        (
            r#"{"scheme": "ht tps"}"#,
            r#"scheme: "ht tps" is not a URI scheme"#,
        ),
        (
            r#"{"scheme": "https", "port": "44a"}"#,
            r#"port: "44a" is not a port number (1-65535)"#,
        ),
        (
            r#"{"scheme": "https", "port": 70000}"#,
            r#"port: "70000" is not a port number (1-65535)"#,
        ),
        (
            r#"{"scheme": "https", "permanent": "sure"}"#,
            r#"permanent: expected true or false, got "sure""#,
        ),
        (
            r#"{"scheme": "https", "prot": "443"}"#,
            r#"unknown option "prot" (known: "scheme", "port", "permanent")"#,
        ),
    ];
    for (config, want) in cases {
        assert_eq!(
            testing::validate_config::<RedirectScheme>(config),
            Err(want.to_string()),
            "{config}"
        );
    }
}
