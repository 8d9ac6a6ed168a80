use super::*;
use plugin_sdk::testing::{self, TestRequest};

fn run(config: &str, req: TestRequest) -> TestRequest {
    let mw = testing::instance::<PassTlsClientCert>(config).unwrap_or_else(|e| panic!("{e}"));
    let mut req = req;
    assert!(testing::on_request(&mw, &mut req).is_continue());
    req
}

#[test]
fn pem_is_the_base64_of_each_certificate_joined_by_commas() {
    let chain = vec![vec![0x30, 0x03, 0x02, 0x01, 0x01], vec![0xff; 4]];
    let req = run(
        r#"{"pem": true}"#,
        TestRequest::get("/").client_certificates(chain),
    );
    assert_eq!(
        req.header_str("x-forwarded-tls-client-cert").as_deref(),
        Some("MAMCAQE=,/////w==")
    );
    assert_eq!(req.header_str("x-forwarded-tls-client-cert-info"), None);
}

#[test]
fn an_unreadable_certificate_gives_an_empty_info_entry() {
    let chain = vec![vec![0x30, 0x00], vec![0x01]];
    let req = run(
        r#"{"info": {"notAfter": true}}"#,
        TestRequest::get("/").client_certificates(chain),
    );
    assert_eq!(
        req.header_str("x-forwarded-tls-client-cert-info")
            .as_deref(),
        Some("%2C")
    );
}

#[test]
fn without_a_client_certificate_forged_headers_are_removed() {
    let forged = TestRequest::get("/")
        .header("x-forwarded-tls-client-cert", "forged")
        .header("x-forwarded-tls-client-cert-info", "forged");
    let req = run(r#"{"pem": true, "info": {}}"#, forged.clone());
    assert_eq!(req.header_str("x-forwarded-tls-client-cert"), None);
    assert_eq!(req.header_str("x-forwarded-tls-client-cert-info"), None);
    // A header this middleware does not set is left alone.
    let req = run(r#"{"pem": true}"#, forged);
    assert_eq!(
        req.header_str("x-forwarded-tls-client-cert-info")
            .as_deref(),
        Some("forged")
    );
}

#[test]
fn options_read_as_traefik_reads_them() {
    let mw = testing::instance::<PassTlsClientCert>(
        r#"{"pem": "true", "info": {"sans": true, "subject": {"commonName": true}, "issuer": {}}}"#,
    )
    .expect("config");
    assert!(mw.pem);
    let info = mw.info.expect("info");
    assert!(info.sans && !info.not_after);
    assert!(info.subject.is_some_and(|s| s.common_name && !s.country));
    assert_eq!(info.issuer, Some(NameFields::default()));
    assert_eq!(
        testing::instance::<PassTlsClientCert>("{}").expect("empty"),
        PassTlsClientCert {
            pem: false,
            info: None
        }
    );
    for bad in [
        r#"{"pem": "maybe"}"#,
        r#"{"info": {"subject": {"street": true}}}"#,
        r#"{"info": {"issuer": {"organizationalUnit": true}}}"#,
        r#"{"format": "pem"}"#,
    ] {
        assert!(
            testing::validate_config::<PassTlsClientCert>(bad).is_err(),
            "{bad}"
        );
    }
}
