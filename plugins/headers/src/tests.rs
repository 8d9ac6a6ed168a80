//! The plugin through the SDK's native harness: custom headers, CORS and security headers.

use super::*;
use plugin_sdk::testing::{self, TestRequest, TestResponse};

const CONFIG: &str = r#"{
    "customRequestHeaders": {"X-Script-Name": "test", "X-Forwarded-Server": ""},
    "customResponseHeaders": {"X-Custom-Response-Header": "value", "Server": ""}
}"#;

#[test]
fn request_headers_are_set_replaced_and_removed() {
    let mw = testing::instance::<Headers>(CONFIG).unwrap_or_else(|e| panic!("{e}"));
    let mut req = TestRequest::get("/")
        .header("x-script-name", "old")
        .header("X-Script-Name", "older")
        .header("x-forwarded-server", "gw1")
        .header("accept", "*/*");
    assert!(testing::on_request(&mw, &mut req).is_continue());
    assert_eq!(req.header_all("x-script-name"), vec![b"test".to_vec()]);
    assert_eq!(req.header_bytes("x-forwarded-server"), None);
    assert_eq!(req.header_str("accept").as_deref(), Some("*/*"));
}

#[test]
fn response_headers_are_set_and_removed_and_the_request_is_untouched() {
    let mw = testing::instance::<Headers>(CONFIG).unwrap_or_else(|e| panic!("{e}"));
    let mut req = TestRequest::get("/");
    let before = req.clone();
    let mut resp = TestResponse::new(200)
        .header("server", "nginx")
        .header("content-type", "text/html");
    assert!(testing::on_response(&mw, &mut req, &mut resp).is_continue());
    assert_eq!(
        resp.header_str("x-custom-response-header").as_deref(),
        Some("value")
    );
    assert_eq!(resp.header_bytes("server"), None);
    assert_eq!(
        resp.header_str("content-type").as_deref(),
        Some("text/html")
    );
    assert_eq!(resp.status, 200);
    assert_eq!(req, before);
}

#[test]
fn an_empty_config_changes_nothing() {
    let mw = testing::instance::<Headers>("{}").unwrap_or_else(|e| panic!("{e}"));
    let mut req = TestRequest::get("/").header("a", "1");
    let mut resp = TestResponse::new(404).header("b", "2");
    let (req_before, resp_before) = (req.clone(), resp.clone());
    assert!(testing::on_request(&mw, &mut req).is_continue());
    assert!(testing::on_response(&mw, &mut req, &mut resp).is_continue());
    assert_eq!((req, resp), (req_before, resp_before));
}

#[test]
fn validate_config_reports_unknown_options() {
    assert_eq!(
        testing::validate_config::<Headers>(r#"{"customRequestHeaders": {}, "stsSecondz": 1}"#),
        Err(r#"unknown option "stsSecondz""#.to_string())
    );
}

fn mw(config: &str) -> Headers {
    testing::instance::<Headers>(config).unwrap_or_else(|e| panic!("{e}"))
}

const CORS: &str = r#"{
    "accessControlAllowMethods": ["GET", "OPTIONS", "PUT"],
    "accessControlAllowHeaders": ["X-Api-Key", "Content-Type"],
    "accessControlAllowOriginList": ["https://app.test"],
    "accessControlExposeHeaders": ["X-Total"],
    "accessControlAllowCredentials": true,
    "accessControlMaxAge": 100,
    "addVaryHeader": true,
    "customResponseHeaders": {"X-Custom": "1"}
}"#;

fn preflight(origin: &str) -> TestRequest {
    TestRequest::new("OPTIONS", "/api")
        .header("origin", origin)
        .header("access-control-request-method", "PUT")
}

#[test]
fn a_preflight_is_answered_with_200_and_the_cors_headers() {
    let mw = mw(CORS);
    let action = testing::on_request(&mw, &mut preflight("https://app.test"));
    let reply = action.reply().unwrap_or_else(|| panic!("not answered"));
    assert_eq!(reply.status, 200);
    let get = |n: &str| {
        reply
            .get_header(n)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(
        get("access-control-allow-credentials").as_deref(),
        Some("true")
    );
    assert_eq!(
        get("access-control-allow-headers").as_deref(),
        Some("X-Api-Key,Content-Type")
    );
    assert_eq!(
        get("access-control-allow-methods").as_deref(),
        Some("GET,OPTIONS,PUT")
    );
    assert_eq!(
        get("access-control-allow-origin").as_deref(),
        Some("https://app.test")
    );
    assert_eq!(get("access-control-max-age").as_deref(), Some("100"));
    assert_eq!(
        get("x-custom"),
        None,
        "custom response headers skip the preflight"
    );
    assert!(reply.body.is_empty());
}

#[test]
fn a_preflight_from_an_unlisted_origin_gets_no_allow_origin() {
    let mw = mw(CORS);
    let action = testing::on_request(&mw, &mut preflight("https://evil.test"));
    let reply = action.reply().unwrap_or_else(|| panic!("not answered"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.get_header("access-control-allow-origin"), None);
}

#[test]
fn options_without_origin_or_request_method_is_not_a_preflight() {
    let mw = mw(CORS);
    let mut no_method = TestRequest::new("OPTIONS", "/").header("origin", "https://app.test");
    assert!(testing::on_request(&mw, &mut no_method).is_continue());
    let mut no_origin =
        TestRequest::new("OPTIONS", "/").header("access-control-request-method", "GET");
    assert!(testing::on_request(&mw, &mut no_origin).is_continue());
    let mut get = TestRequest::get("/")
        .header("origin", "https://app.test")
        .header("access-control-request-method", "GET");
    assert!(testing::on_request(&mw, &mut get).is_continue());
}

#[test]
fn without_cors_options_a_preflight_goes_upstream() {
    let mw = mw(r#"{"frameDeny": true}"#);
    assert!(testing::on_request(&mw, &mut preflight("https://app.test")).is_continue());
}

#[test]
fn an_actual_request_gets_allow_origin_credentials_expose_and_vary() {
    let mw = mw(CORS);
    let mut req = TestRequest::get("/").header("origin", "https://app.test");
    let mut resp = TestResponse::new(200).header("vary", "Accept-Encoding");
    assert!(testing::on_response(&mw, &mut req, &mut resp).is_continue());
    let get = |n: &str| resp.header_str(n);
    assert_eq!(
        get("access-control-allow-origin").as_deref(),
        Some("https://app.test")
    );
    assert_eq!(
        get("access-control-allow-credentials").as_deref(),
        Some("true")
    );
    assert_eq!(
        get("access-control-expose-headers").as_deref(),
        Some("X-Total")
    );
    assert_eq!(get("vary").as_deref(), Some("Accept-Encoding,Origin"));
    assert_eq!(get("x-custom").as_deref(), Some("1"));
    assert_eq!(
        get("access-control-max-age"),
        None,
        "max age is for preflights"
    );
}

const SECURE: &str = r#"{
    "stsSeconds": 31536000,
    "stsIncludeSubdomains": true,
    "stsPreload": true,
    "frameDeny": true,
    "contentTypeNosniff": true,
    "browserXssFilter": true,
    "contentSecurityPolicy": "default-src 'self'",
    "contentSecurityPolicyReportOnly": "script-src $NONCE",
    "referrerPolicy": "no-referrer",
    "permissionsPolicy": "camera=()",
    "publicKey": "pin-sha256=\"abc\"; max-age=10"
}"#;

fn secure_response(config: &str, mut req: TestRequest) -> TestResponse {
    let mw = mw(config);
    assert!(testing::on_request(&mw, &mut req).is_continue());
    let mut resp = TestResponse::new(200)
        .header("x-frame-options", "SAMEORIGIN")
        .header("content-type", "text/html");
    assert!(testing::on_response(&mw, &mut req, &mut resp).is_continue());
    resp
}

#[test]
fn security_headers_replace_the_upstreams_and_sts_needs_https() {
    let resp = secure_response(SECURE, TestRequest::get("/").tls(true));
    let get = |n: &str| resp.header_str(n);
    assert_eq!(
        get("strict-transport-security").as_deref(),
        Some("max-age=31536000; includeSubDomains; preload")
    );
    assert_eq!(get("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(get("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(get("x-xss-protection").as_deref(), Some("1; mode=block"));
    assert_eq!(
        get("content-security-policy").as_deref(),
        Some("default-src 'self'")
    );
    let report_only = get("content-security-policy-report-only").unwrap_or_default();
    assert!(
        report_only.starts_with("script-src 'nonce-"),
        "{report_only}"
    );
    assert_eq!(get("referrer-policy").as_deref(), Some("no-referrer"));
    assert_eq!(get("permissions-policy").as_deref(), Some("camera=()"));
    assert_eq!(
        get("public-key-pins").as_deref(),
        Some("pin-sha256=\"abc\"; max-age=10")
    );
    assert_eq!(get("content-type").as_deref(), Some("text/html"));

    let plain = secure_response(SECURE, TestRequest::get("/"));
    assert_eq!(plain.header_str("strict-transport-security"), None);
    assert_eq!(plain.header_str("public-key-pins"), None);
    assert_eq!(plain.header_str("x-frame-options").as_deref(), Some("DENY"));
}

#[test]
fn ssl_proxy_headers_and_force_sts_make_sts_appear_on_plain_http() {
    let config = r#"{"stsSeconds": 60, "sslProxyHeaders": {"X-Forwarded-Proto": "https"}}"#;
    let proxied = secure_response(
        config,
        TestRequest::get("/").header("x-forwarded-proto", "https"),
    );
    assert_eq!(
        proxied.header_str("strict-transport-security").as_deref(),
        Some("max-age=60")
    );
    let other = secure_response(
        config,
        TestRequest::get("/").header("x-forwarded-proto", "http"),
    );
    assert_eq!(other.header_str("strict-transport-security"), None);
    let forced = secure_response(
        r#"{"stsSeconds": 60, "forceSTSHeader": true}"#,
        TestRequest::get("/"),
    );
    assert_eq!(
        forced.header_str("strict-transport-security").as_deref(),
        Some("max-age=60")
    );
    let dev = secure_response(
        r#"{"stsSeconds": 60, "forceSTSHeader": true, "isDevelopment": true}"#,
        TestRequest::get("/").tls(true),
    );
    assert_eq!(dev.header_str("strict-transport-security"), None);
}

#[test]
fn custom_values_win_over_the_boolean_switches() {
    let resp = secure_response(
        r#"{"frameDeny": true, "customFrameOptionsValue": "SAMEORIGIN",
            "browserXssFilter": true, "customBrowserXSSValue": "0"}"#,
        TestRequest::get("/"),
    );
    assert_eq!(
        resp.header_str("x-frame-options").as_deref(),
        Some("SAMEORIGIN")
    );
    assert_eq!(resp.header_str("x-xss-protection").as_deref(), Some("0"));
}

#[test]
fn a_custom_response_header_overrides_a_security_header() {
    let resp = secure_response(
        r#"{"frameDeny": true, "customResponseHeaders": {"X-Frame-Options": ""}}"#,
        TestRequest::get("/"),
    );
    assert_eq!(resp.header_str("x-frame-options"), None);
}

const HOSTS: &str = r#"{
    "allowedHosts": ["app.test", "API.test"],
    "hostsProxyHeaders": ["X-Forwarded-Host"],
    "customResponseHeaders": {"X-Custom": "1"}
}"#;

#[test]
fn allowed_hosts_compare_case_insensitively_and_the_rest_get_500_bad_host() {
    let mw = mw(HOSTS);
    for host in ["app.test", "api.TEST"] {
        let mut req = TestRequest::get("/").authority(host);
        assert!(testing::on_request(&mw, &mut req).is_continue(), "{host}");
    }
    let mut bad = TestRequest::get("/").authority("app.test:8080");
    let action = testing::on_request(&mw, &mut bad);
    let reply = action.reply().unwrap_or_else(|| panic!("not refused"));
    assert_eq!(reply.status, 500);
    assert_eq!(reply.body, b"Bad Host\n");
    assert_eq!(reply.get_header("x-custom"), Some(&b"1"[..]));
}

#[test]
fn hosts_proxy_headers_take_precedence_over_the_host() {
    let mw = mw(HOSTS);
    let mut proxied = TestRequest::get("/")
        .authority("internal:8080")
        .header("x-forwarded-host", "app.test");
    assert!(testing::on_request(&mw, &mut proxied).is_continue());
    let mut spoofed = TestRequest::get("/")
        .authority("app.test")
        .header("x-forwarded-host", "evil.test");
    assert!(testing::on_request(&mw, &mut spoofed).reply().is_some());
    let dev = self::mw(r#"{"allowedHosts": ["app.test"], "isDevelopment": true}"#);
    let mut any = TestRequest::get("/").authority("other.test");
    assert!(testing::on_request(&dev, &mut any).is_continue());
}

#[test]
fn a_response_headers_only_config_needs_no_request_hook_and_no_request_headers() {
    let only_response = r#"{"customResponseHeaders": {"X-Bench-Proxy": "wasmgate"}}"#;
    let mw = testing::instance::<Headers>(only_response).unwrap_or_else(|e| panic!("{e}"));
    assert!(!mw.wants_request_hook());
    assert!(!mw.reads_request_headers_in_response());
    assert!(mw.wants_response_hook());

    let request_side = testing::instance::<Headers>(CONFIG).unwrap_or_else(|e| panic!("{e}"));
    assert!(request_side.wants_request_hook());
    assert!(!request_side.reads_request_headers_in_response());

    let cors = r#"{"accessControlAllowOriginList": ["https://app.example.com"]}"#;
    let cors = testing::instance::<Headers>(cors).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        cors.wants_request_hook(),
        "preflights are answered on request"
    );
    assert!(cors.reads_request_headers_in_response(), "Origin is read");

    let secure =
        testing::instance::<Headers>(r#"{"frameDeny": true}"#).unwrap_or_else(|e| panic!("{e}"));
    assert!(secure.wants_request_hook());
    assert!(!secure.reads_request_headers_in_response());
}

#[test]
fn custom_headers_are_declared_as_fixed_edits_in_the_hooks_order() {
    use plugin_sdk::fixed_edits::HeaderEdit as Edit;
    let mw = testing::instance::<Headers>(
        r#"{
            "customRequestHeaders": {"X-Script-Name": "test", "X-Forwarded-Server": ""},
            "customResponseHeaders": {"X-Frame-Options": "SAMEORIGIN", "Server": ""},
            "frameDeny": true,
            "contentTypeNosniff": true
        }"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let fixed = mw.fixed_edits().expect("config-fixed");
    assert_eq!(
        fixed.request,
        vec![
            Edit::Remove("x-forwarded-server".into()),
            Edit::Set("x-script-name".into(), b"test".to_vec()),
        ]
    );
    // Security headers first, then the custom ones (which may override them), as `on_response`.
    assert_eq!(
        fixed.response,
        vec![
            Edit::Set("x-frame-options".into(), b"DENY".to_vec()),
            Edit::Set("x-content-type-options".into(), b"nosniff".to_vec()),
            Edit::Remove("server".into()),
            Edit::Set("x-frame-options".into(), b"SAMEORIGIN".to_vec()),
        ]
    );
}

#[test]
fn a_config_that_depends_on_the_request_declares_no_fixed_edits() {
    for config in [
        r#"{"accessControlAllowOriginList": ["https://a.example"]}"#,
        r#"{"customResponseHeaders": {"X-A": "1"}, "accessControlAllowMethods": ["GET"]}"#,
        r#"{"stsSeconds": 60}"#,
        r#"{"allowedHosts": ["a.example"]}"#,
        r#"{"sslRedirect": true}"#,
        r#"{"publicKey": "pin-sha256=\"x\""}"#,
        r#"{"contentSecurityPolicy": "script-src $NONCE"}"#,
    ] {
        let mw = testing::instance::<Headers>(config).unwrap_or_else(|e| panic!("{e}"));
        assert!(mw.fixed_edits().is_none(), "{config}");
    }
    for config in [
        r#"{"stsSeconds": 60, "forceSTSHeader": true}"#,
        r#"{"stsSeconds": 60, "isDevelopment": true}"#,
        r#"{"contentSecurityPolicy": "default-src 'self'"}"#,
    ] {
        let mw = testing::instance::<Headers>(config).unwrap_or_else(|e| panic!("{e}"));
        assert!(mw.fixed_edits().is_some(), "{config}");
    }
}
