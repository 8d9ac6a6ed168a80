//! The security options of `headers`: response headers, STS and HPKP on HTTPS only, the
//! allowed-hosts check. (The gateway sets `X-Forwarded-Proto` and `X-Forwarded-Host` itself, so
//! these tests use their own proxy headers for `sslProxyHeaders` and `hostsProxyHeaders`.)

use super::{refused, send, start};

const SECURE: &str = r#"
    secure:
      headers:
        frameDeny: true
        contentTypeNosniff: true
        browserXssFilter: true
        contentSecurityPolicy: "default-src 'self'"
        contentSecurityPolicyReportOnly: "script-src $NONCE"
        referrerPolicy: no-referrer
        permissionsPolicy: "camera=(), microphone=()"
    custom-values:
      headers:
        frameDeny: true
        customFrameOptionsValue: SAMEORIGIN
        browserXssFilter: true
        customBrowserXSSValue: "0"
    sts:
      headers:
        stsSeconds: 31536000
        stsIncludeSubdomains: true
        stsPreload: true
        publicKey: 'pin-sha256="base64=="; max-age=5184000'
        sslProxyHeaders: { X-Ssl: "on" }
    sts-forced:
      headers:
        stsSeconds: 315360
        forceSTSHeader: true
    sts-dev:
      headers:
        stsSeconds: 315360
        forceSTSHeader: true
        isDevelopment: true
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_are_added_to_upstream_responses() {
    let (up, gw) = start(&[("/", "secure")], SECURE).await;
    let r = send(&gw, "GET", "/page", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "app");
    assert_eq!(up.count(), 1);
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-xss-protection"), Some("1; mode=block"));
    assert_eq!(
        r.header("content-security-policy"),
        Some("default-src 'self'")
    );
    let report_only = r
        .header("content-security-policy-report-only")
        .unwrap_or("");
    assert!(
        report_only.starts_with("script-src 'nonce-") && report_only.len() > 30,
        "$NONCE becomes a fresh nonce: {report_only}"
    );
    let again = send(&gw, "GET", "/page", &[]).await;
    assert_ne!(
        again.header("content-security-policy-report-only"),
        Some(report_only)
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(
        r.header("permissions-policy"),
        Some("camera=(), microphone=()")
    );
    assert_eq!(r.header("strict-transport-security"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_frame_options_and_xss_values_win_over_the_switches() {
    let (_up, gw) = start(&[("/", "custom-values")], SECURE).await;
    let r = send(&gw, "GET", "/", &[]).await;
    assert_eq!(r.header("x-frame-options"), Some("SAMEORIGIN"));
    assert_eq!(r.header("x-xss-protection"), Some("0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_and_public_key_pins_are_sent_only_for_https_requests() {
    let (_up, gw) = start(&[("/", "sts")], SECURE).await;
    let plain = send(&gw, "GET", "/", &[]).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("strict-transport-security"), None);
    assert_eq!(plain.header("public-key-pins"), None);
    let proxied = send(&gw, "GET", "/", &[("x-ssl", "on")]).await;
    assert_eq!(
        proxied.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains; preload"),
        "sslProxyHeaders mark the request as HTTPS"
    );
    assert_eq!(
        proxied.header("public-key-pins"),
        Some(r#"pin-sha256="base64=="; max-age=5184000"#)
    );
    let other = send(&gw, "GET", "/", &[("x-ssl", "off")]).await;
    assert_eq!(other.header("strict-transport-security"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_sts_header_sends_sts_on_plain_http_unless_in_development() {
    let (_up, gw) = start(&[("/forced", "sts-forced"), ("/dev", "sts-dev")], SECURE).await;
    let forced = send(&gw, "GET", "/forced", &[]).await;
    assert_eq!(
        forced.header("strict-transport-security"),
        Some("max-age=315360")
    );
    let dev = send(&gw, "GET", "/dev", &[]).await;
    assert_eq!(dev.status, 200);
    assert_eq!(dev.header("strict-transport-security"), None);
}

const HOSTS: &str = r#"
    hosts:
      headers:
        allowedHosts: [app.test, api.test]
        hostsProxyHeaders: [X-Original-Host]
        customResponseHeaders: { X-Served-By: gateway }
    hosts-dev:
      headers:
        allowedHosts: [app.test]
        isDevelopment: true
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_hosts_let_listed_hosts_in_and_answer_others_500_bad_host() {
    let (up, gw) = start(&[("/", "hosts")], HOSTS).await;
    let ok = send(&gw, "GET", "/", &[("host", "API.test")]).await;
    assert_eq!(ok.status, 200, "hosts compare case-insensitively");
    assert_eq!(up.count(), 1);

    let bad = send(&gw, "GET", "/", &[("host", "evil.test")]).await;
    assert_eq!(bad.status, 500);
    assert_eq!(bad.text(), "Bad Host\n");
    assert_eq!(
        bad.header("x-served-by"),
        Some("gateway"),
        "custom headers still apply"
    );
    let with_port = send(&gw, "GET", "/", &[("host", "app.test:8080")]).await;
    assert_eq!(
        with_port.status, 500,
        "the port is part of the host, as in Traefik"
    );
    assert_eq!(up.count(), 1, "refused requests never reach the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_proxy_headers_name_the_host_to_check() {
    let (up, gw) = start(&[("/", "hosts")], HOSTS).await;
    let proxied = send(
        &gw,
        "GET",
        "/",
        &[("host", "10.0.0.7:8080"), ("x-original-host", "app.test")],
    )
    .await;
    assert_eq!(proxied.status, 200);
    assert_eq!(up.last().header("x-original-host"), Some("app.test"));
    let spoofed = send(
        &gw,
        "GET",
        "/",
        &[("host", "app.test"), ("x-original-host", "evil.test")],
    )
    .await;
    assert_eq!(spoofed.status, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn is_development_turns_the_host_check_off() {
    let (_up, gw) = start(&[("/", "hosts-dev")], HOSTS).await;
    let r = send(&gw, "GET", "/", &[("host", "anything.test")]).await;
    assert_eq!(r.status, 200);
}

#[test]
fn headers_options_traefik_v3_removed_or_mistyped_are_config_errors_naming_them() {
    let stderr = refused(
        &[("/", "old")],
        "    old:\n      headers:\n        accessControlAllowOrigin: \"*\"\n",
    );
    assert!(
        stderr.contains("http.middlewares.old.headers")
            && stderr.contains("option \"accessControlAllowOrigin\" was removed in Traefik v3"),
        "{stderr}"
    );
    let stderr = refused(
        &[("/", "bad")],
        "    bad:\n      headers:\n        accessControlAllowOriginListRegex: [\"(unclosed\"]\n",
    );
    assert!(
        stderr.contains("accessControlAllowOriginListRegex[0]: invalid regular expression"),
        "{stderr}"
    );
    let stderr = refused(
        &[("/", "typo")],
        "    typo:\n      headers:\n        frameDeny: \"yes\"\n",
    );
    assert!(stderr.contains("frameDeny: must be a boolean"), "{stderr}");
}
