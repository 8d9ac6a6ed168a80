//! Traefik's `passTLSClientCert` (bundled plugin `pass-tls-client-cert`) and the `connection`
//! interface it reads, over real mTLS connections: a rustls client presents a certificate
//! chain made at test time (rcgen, with known serial numbers, validity, names and SANs); the
//! upstream sees the PEM chain and the info fields exactly as Traefik writes them, computed
//! here from the parameters the certificates were made with; without a client certificate
//! neither header reaches it (a forged one is removed). The access log's TLS fields
//! (`TLSVersion`, `TLSCipher`, `TLSClientSubject`) are checked on the same connections.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use base64::Engine as _;
use rcgen::{CertificateParams, DnType, SanType, SerialNumber};

use crate::support::tls::{Hello, Leaf, TestCa, connect, get_with};
use crate::support::{Config, Gateway, Upstream, fixture_wasm, free_port};

/// The client CA: known serial and validity (notAfter past 2049: a GeneralizedTime).
fn client_ca() -> (TestCa, i64, i64) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "Test Client CA");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Cheese");
    params.serial_number = Some(SerialNumber::from(7u64));
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2060, 6, 30);
    let (nb, na) = (
        params.not_before.unix_timestamp(),
        params.not_after.unix_timestamp(),
    );
    (TestCa::from_params(params), nb, na)
}

/// What the client leaf is made of.
struct LeafFacts {
    leaf: Leaf,
    serial_decimal: String,
    not_before: i64,
    not_after: i64,
}

/// A client leaf with every name field Traefik reports (given in another order than Traefik
/// writes them), each kind of SAN, a 9-byte serial with its top bit set (DER adds a zero
/// byte) and a validity in UTCTime.
fn client_leaf(ca: &TestCa) -> LeafFacts {
    let mut params = CertificateParams::new(vec!["client.test".to_string()]).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    let dn = &mut params.distinguished_name;
    dn.push(DnType::CommonName, "client one");
    dn.push(DnType::CountryName, "FR");
    dn.push(DnType::StateOrProvinceName, "Occitanie");
    dn.push(DnType::LocalityName, "Zürich");
    dn.push(DnType::OrganizationName, "Cheese");
    dn.push(DnType::OrganizationalUnitName, "Signing");
    dn.push(DnType::CustomDnType(vec![2, 5, 4, 5]), "SN-1234");
    dn.push(
        DnType::CustomDnType(vec![0, 9, 2342, 19_200_300, 100, 1, 25]),
        rcgen::DnValue::Ia5String("example".try_into().expect("ia5")),
    );
    let ia5 = |s: &str| rcgen::string::Ia5String::try_from(s).expect("ia5");
    params.subject_alt_names.extend([
        SanType::URI(ia5("spiffe://example/client")),
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))),
        SanType::Rfc822Name(ia5("alice@example.com")),
        SanType::DnsName(ia5("b.client.test")),
    ]);
    let serial = [0x80u8, 1, 2, 3, 4, 5, 6, 7, 8];
    params.serial_number = Some(SerialNumber::from(serial.to_vec()));
    params.not_before = rcgen::date_time_ymd(2024, 2, 29) + std::time::Duration::from_secs(45_296);
    params.not_after = rcgen::date_time_ymd(2049, 12, 31);
    let serial_decimal = serial
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b))
        .to_string();
    LeafFacts {
        not_before: params.not_before.unix_timestamp(),
        not_after: params.not_after.unix_timestamp(),
        leaf: ca.sign(params),
        serial_decimal,
    }
}

/// Go's `url.QueryEscape`, written out for the expectations.
fn go_query_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) => (b as char).to_string(),
            b' ' => "+".to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// A gateway with one HTTPS router through `certs` (passTLSClientCert with `options`) and
/// `conn` (the fixture that reports what the `connection` interface says), the TLS options
/// requiring `client_auth_type` with the client CA's file; the access log in JSON, and
/// Prometheus metrics on a plain entry point of their own (the port returned).
fn gateway(
    up: &Upstream,
    dir: &std::path::Path,
    ca: &TestCa,
    client_auth_type: &str,
    options: &str,
) -> (Gateway, u16) {
    let server = TestCa::new("server ca").leaf(&["m.test"]);
    let ca_file: PathBuf = dir.join("clients-ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write ca");
    let mut yaml = Config::new()
        .plugin_dir()
        .routers(
            "    m: { rule: \"Host(`m.test`)\", service: app, middlewares: [certs, conn], tls: { options: mtls } }\n",
        )
        .middlewares(&format!(
            "    certs:\n      passTLSClientCert: {options}\n    conn:\n      plugin: {{ name: conn-info }}\n"
        ))
        .service("app", &up.url())
        .yaml();
    yaml.push_str(&format!(
        "tls:\n  certificates:\n{}  options:\n    mtls:\n      clientAuth:\n        caFiles: [\"{}\"]\n        clientAuthType: {client_auth_type}\n",
        server.entry(dir, "m"),
        ca_file.display()
    ));
    yaml.push_str("accessLog:\n  filePath: access.json\n  format: json\n");
    let metrics = free_port();
    yaml.push_str("metrics:\n  prometheus:\n    entryPoint: metrics\n    addRoutersLabels: true\n");
    let yaml = yaml.replacen(
        "entryPoints:\n",
        &format!("entryPoints:\n  metrics:\n    address: \"127.0.0.1:{metrics}\"\n"),
        1,
    );
    let gw = Gateway::start(&yaml, &[("conn-info", fixture_wasm("fixture_conn_info"))]);
    (gw, metrics)
}

const ALL_INFO: &str = "{ pem: true, info: { notAfter: true, notBefore: true, sans: true, serialNumber: true, \
     subject: { country: true, province: true, locality: true, organization: true, organizationalUnit: true, commonName: true, serialNumber: true, domainComponent: true }, \
     issuer: { country: true, province: true, locality: true, organization: true, commonName: true, serialNumber: true, domainComponent: true } } }";

#[tokio::test]
async fn the_upstream_sees_the_pem_chain_and_traefiks_info_fields() {
    let up = Upstream::start("app").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, ca_nb, ca_na) = client_ca();
    let facts = client_leaf(&ca);
    let (gw, metrics) = gateway(&up, dir.path(), &ca, "RequireAndVerifyClientCert", ALL_INFO);
    let hello = Hello {
        client_cert: Some(facts.leaf.clone()),
        client_chain: vec![ca.der()],
        ..Hello::sni("m.test")
    };
    let conn = connect(gw.addr, &hello).await.expect("handshake");
    let reply = get_with(conn, "m.test", "/", &[]).await;
    assert_eq!(reply.map(|r| r.0), Ok(200), "{}", gw.log());
    let seen = up.last();

    let b64 = |der: &[u8]| base64::engine::general_purpose::STANDARD.encode(der);
    let pem = format!("{},{}", b64(&facts.leaf.der), b64(&ca.der()));
    assert_eq!(
        seen.header("x-forwarded-tls-client-cert"),
        Some(pem.as_str())
    );

    let leaf_info = format!(
        "Subject=\"DC=example,C=FR,ST=Occitanie,L=Zürich,O=Cheese,OU=Signing,SN=SN-1234,CN=client one\";\
         Issuer=\"O=Cheese,CN=Test Client CA\";SerialNumber=\"{}\";NB=\"{}\";NA=\"{}\";\
         SAN=\"client.test,b.client.test,alice@example.com,10.1.2.3,spiffe://example/client\"",
        facts.serial_decimal, facts.not_before, facts.not_after
    );
    let ca_info = format!(
        "Subject=\"O=Cheese,CN=Test Client CA\";Issuer=\"O=Cheese,CN=Test Client CA\";\
         SerialNumber=\"7\";NB=\"{ca_nb}\";NA=\"{ca_na}\""
    );
    let info = go_query_escape(&format!("{leaf_info},{ca_info}"));
    assert_eq!(
        seen.header("x-forwarded-tls-client-cert-info"),
        Some(info.as_str())
    );

    // The `connection` interface: two certificates; not a transparent entrypoint, so the
    // destination is the gateway's own address.
    assert_eq!(seen.header("x-client-certs"), Some("2"));
    let local = gw.addr.to_string();
    assert_eq!(seen.header("x-local-addr"), Some(local.as_str()));
    assert_eq!(seen.header("x-original-dst"), Some(local.as_str()));

    // The access log names the session as Traefik does.
    let line = &access_lines(&gw, 1)[0];
    assert_eq!(line["RequestScheme"], "https", "{line}");
    assert_eq!(line["TLSVersion"], "1.3", "{line}");
    assert_eq!(line["TLSCipher"], rustls_default_suite(), "{line}");
    assert_eq!(line["TLSClientSubject"], LEAF_SUBJECT, "{line}");

    // Traefik's `*_requests_tls_total`, by version and cipher, in each scope.
    let c = crate::support::Client::http1();
    let url = format!("http://127.0.0.1:{metrics}/metrics");
    let text = crate::observability::scrape(&c, &url).await;
    let samples = crate::observability::parse_exposition(&text);
    let tls = [
        ("tls_version", "1.3"),
        ("tls_cipher", rustls_default_suite()),
    ];
    for (family, scope) in [
        (
            "traefik_entrypoint_requests_tls_total",
            ("entrypoint", "web"),
        ),
        ("traefik_router_requests_tls_total", ("router", "m@file")),
        (
            "traefik_service_requests_tls_total",
            ("service", "app@file"),
        ),
    ] {
        let mut labels = tls.to_vec();
        labels.push(scope);
        assert_eq!(
            crate::observability::sum_matching(&samples, family, &labels),
            1.0,
            "{family}: {text}"
        );
    }
    crate::observability::promtool_check(&text);
}

/// The client leaf's subject as Go's `pkix.Name.String()` writes it (Go 1.27 printed it for
/// these attributes): the named attributes in Go's order, then the non-X.520 `DC` as a
/// dotted OID.
const LEAF_SUBJECT: &str = "SERIALNUMBER=SN-1234,CN=client one,OU=Signing,O=Cheese,L=Zürich,\
                            ST=Occitanie,C=FR,0.9.2342.19200300.100.1.25=example";

/// The access log's lines, parsed, once `n` are written.
fn access_lines(gw: &Gateway, n: usize) -> Vec<serde_json::Value> {
    let path = gw.config_path().with_file_name("access.json");
    crate::observability::read_lines(&path, n)
        .iter()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// The suite a rustls client and the gateway (rustls, *ring*) agree on with default settings:
/// the first TLS 1.3 suite of the client's list, in Go's spelling.
fn rustls_default_suite() -> &'static str {
    "TLS_AES_256_GCM_SHA384"
}

#[tokio::test]
async fn selected_fields_only_and_no_headers_without_a_client_certificate() {
    let up = Upstream::start("app").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, _, _) = client_ca();
    let facts = client_leaf(&ca);
    let options =
        "{ info: { notBefore: true, subject: { commonName: true, organization: true } } }";
    let (gw, _) = gateway(&up, dir.path(), &ca, "RequestClientCert", options);
    let forged = [
        ("x-forwarded-tls-client-cert", "forged"),
        ("x-forwarded-tls-client-cert-info", "forged"),
    ];

    // A certificate: only the selected fields, and no PEM (a forged PEM header passes on, as
    // this middleware does not set it).
    let hello = Hello {
        client_cert: Some(facts.leaf.clone()),
        ..Hello::sni("m.test")
    };
    let conn = connect(gw.addr, &hello).await.expect("handshake");
    let reply = get_with(conn, "m.test", "/", &forged).await;
    assert_eq!(reply.map(|r| r.0), Ok(200), "{}", gw.log());
    let seen = up.last();
    let info = go_query_escape(&format!(
        "Subject=\"O=Cheese,CN=client one\";NB=\"{}\"",
        facts.not_before
    ));
    assert_eq!(
        seen.header("x-forwarded-tls-client-cert-info"),
        Some(info.as_str())
    );
    assert_eq!(seen.header("x-forwarded-tls-client-cert"), Some("forged"));
    assert_eq!(seen.header("x-client-certs"), Some("1"));

    // No certificate (RequestClientCert lets the handshake through): the info header the
    // client forged does not reach the upstream.
    let conn = connect(gw.addr, &Hello::sni("m.test"))
        .await
        .expect("handshake");
    let reply = get_with(conn, "m.test", "/", &forged[1..]).await;
    assert_eq!(reply.map(|r| r.0), Ok(200));
    let seen = up.last();
    assert_eq!(seen.header("x-forwarded-tls-client-cert-info"), None);
    assert_eq!(seen.header("x-client-certs"), Some("0"));
    assert_eq!(up.count(), 2);

    // The session without a client certificate: version and cipher, no subject.
    let lines = access_lines(&gw, 2);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["TLSClientSubject"], LEAF_SUBJECT);
    assert_eq!(lines[1]["TLSVersion"], "1.3", "{}", lines[1]);
    assert!(lines[1].get("TLSClientSubject").is_none(), "{}", lines[1]);
}
