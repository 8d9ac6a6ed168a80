//! ACME against a real CA: pebble (its test CA, challenges validated for real against the
//! gateway's entrypoints). Routers with `tls.certResolver` get certificates by HTTP-01 and by
//! TLS-ALPN-01; a real rustls client verifying against pebble's root sees them; they are
//! stored in Traefik's `acme.json` layout (mode 0600) and a restarted gateway serves them with
//! pebble stopped.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::support::pebble::Pebble;
use crate::support::{Gateway, Upstream, free_port};

mod tcp_routers;

/// Hang guard for an issuance (pebble validates in well under a second; a loaded CI machine
/// may be much slower). Not a performance assertion.
const ISSUED_WITHIN: Duration = Duration::from_secs(180);

const HTTP01_NAME: &str = "http01.acme.test";
const ALPN_NAME: &str = "alpn.acme.test";

/// A `certificatesResolvers` entry's body (4 spaces in) for pebble, storing into `storage`,
/// with the `challenge` key (e.g. `tlsChallenge: {}`).
fn resolver_yaml(pebble: &Pebble, storage: &Path, challenge: &str) -> String {
    format!(
        "    acme:\n      email: ops@acme.test\n      storage: \"{}\"\n      caServer: \"{}\"\n      \
         caCertificates: [\"{}\"]\n      {challenge}\n",
        storage.display(),
        pebble.directory_url,
        pebble.ca_file.display()
    )
}

fn gateway_config(
    web: u16,
    websecure: u16,
    pebble: &Pebble,
    storage: &Path,
    up: &Upstream,
) -> String {
    let resolver = |challenge: &str| resolver_yaml(pebble, storage, challenge);
    format!(
        "entryPoints:\n  web: {{ address: \"127.0.0.1:{web}\" }}\n  websecure: {{ address: \"127.0.0.1:{websecure}\" }}\n\
         certificatesResolvers:\n  byhttp:\n{}  bytls:\n{}\
         http:\n  routers:\n\
         \x20   viahttp: {{ rule: \"Host(`{HTTP01_NAME}`)\", service: app, entryPoints: [websecure], tls: {{ certResolver: byhttp }} }}\n\
         \x20   catchall: {{ rule: \"PathPrefix(`/`)\", service: app, entryPoints: [web] }}\n\
         \x20   viatls: {{ rule: \"Host(`{ALPN_NAME}`)\", service: app, entryPoints: [websecure], tls: {{ certResolver: bytls }} }}\n\
         \x20 services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n",
        resolver("httpChallenge: { entryPoint: web }"),
        resolver("tlsChallenge: {}"),
        up.url()
    )
}

/// Pebble validating against two gateway entrypoints picked for the test, and the gateway's
/// config with two resolvers (HTTP-01 and TLS-ALPN-01) storing into one file.
struct Setup {
    pebble: Pebble,
    /// Pebble's issuing root.
    root: CertificateDer<'static>,
    yaml: String,
    /// The `websecure` entrypoint.
    secure: SocketAddr,
    storage: std::path::PathBuf,
    _up: Upstream,
    _dir: tempfile::TempDir,
}

impl Setup {
    /// `lifetime_secs`: how long pebble's certificates live (its default: 5 years).
    async fn start(lifetime_secs: Option<u64>) -> Setup {
        let up = Upstream::start("app").await;
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("acme.json");
        let (web, websecure) = (free_port(), free_port());
        let pebble = Pebble::start_issuing_for(web, websecure, lifetime_secs);
        let root = CertificateDer::from_pem_slice(pebble.root_pem().await.as_bytes())
            .expect("pebble's root is PEM");
        let yaml = gateway_config(web, websecure, &pebble, &storage, &up);
        Setup {
            pebble,
            root,
            yaml,
            secure: SocketAddr::from(([127, 0, 0, 1], websecure)),
            storage,
            _up: up,
            _dir: dir,
        }
    }
}

/// A TLS handshake with `sni` that verifies the served chain against `root` (and the name).
async fn verified_chain(
    addr: SocketAddr,
    sni: &str,
    root: &CertificateDer<'static>,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let stream = verified_stream(addr, sni, root).await?;
    let chain = stream.get_ref().1.peer_certificates().unwrap_or_default();
    Ok(chain.to_vec())
}

/// A TLS connection with `sni` whose served chain verified against `root` (and the name).
async fn verified_stream(
    addr: SocketAddr,
    sni: &str,
    root: &CertificateDer<'static>,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from(sni.to_string()).map_err(|e| e.to_string())?;
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())
}

/// Waits until the gateway logs that `name`'s certificate was obtained; the log on failure.
async fn wait_issued(gw: &Gateway, name: &str) {
    wait_issued_times(gw, name, 1).await;
}

/// Waits until the gateway has logged `times` certificates obtained for `name`.
async fn wait_issued_times(gw: &Gateway, name: &str, times: usize) {
    let until = Instant::now() + ISSUED_WITHIN;
    let needle = format!("domain=\"{name}\"");
    loop {
        let log = gw.log();
        let obtained = log
            .lines()
            .filter(|l| l.contains("ACME certificate obtained") && l.contains(&needle))
            .count();
        if obtained >= times {
            return;
        }
        assert!(
            Instant::now() < until,
            "no certificate for {name}; log:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routers_get_certificates_by_http01_and_tls_alpn01_and_a_restart_reuses_them() {
    let mut setup = Setup::start(None).await;
    let (root, yaml, secure, storage) = (
        setup.root.clone(),
        setup.yaml.clone(),
        setup.secure,
        setup.storage.clone(),
    );

    let gw = Gateway::start(&yaml, &[]);
    // Until a certificate exists the default one is served: nothing pebble signed.
    wait_issued(&gw, HTTP01_NAME).await;
    wait_issued(&gw, ALPN_NAME).await;
    for name in [HTTP01_NAME, ALPN_NAME] {
        let chain = verified_chain(secure, name, &root).await;
        let chain = chain.unwrap_or_else(|e| panic!("{name}: chain not issued by pebble: {e}"));
        assert!(chain.len() >= 2, "{name}: leaf and pebble's intermediate");
    }
    let log = gw.log();
    assert!(!log.contains("cannot obtain"), "no failed order:\n{log}");

    // Stored in Traefik's layout, owner-only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&storage)
        .expect("storage written")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&storage).unwrap()).expect("acme.json is JSON");
    for (resolver, name) in [("byhttp", HTTP01_NAME), ("bytls", ALPN_NAME)] {
        let record = &stored[resolver];
        assert!(
            record["Account"]["Registration"]["uri"].is_string(),
            "{resolver}: {record}"
        );
        assert_eq!(record["Certificates"][0]["domain"]["main"], name);
        assert!(record["Certificates"][0]["certificate"].is_string());
        assert!(record["Certificates"][0]["key"].is_string());
    }
    drop(gw);

    // With pebble gone, a restarted gateway serves the stored certificates at once.
    setup.pebble.stop();
    assert!(!setup.pebble.is_running());
    let gw = Gateway::start(&yaml, &[]);
    assert!(
        gw.wait_for_log("listening entrypoint=\"websecure\""),
        "{}",
        gw.log()
    );
    for name in [HTTP01_NAME, ALPN_NAME] {
        let chain = verified_chain(secure, name, &root).await;
        chain.unwrap_or_else(|e| panic!("{name} after restart: {e}\n{}", gw.log()));
    }
    let served =
        crate::support::tls::connect(secure, &crate::support::tls::Hello::sni(HTTP01_NAME))
            .await
            .expect("handshake");
    let (status, _) = crate::support::tls::get(served, HTTP01_NAME, "/")
        .await
        .expect("GET over the ACME certificate");
    assert_eq!(status, 200);
    let log = gw.log();
    assert!(
        !log.contains("cannot obtain"),
        "the CA was not asked again:\n{log}"
    );
    assert!(
        !log.contains("ACME account created"),
        "no new account:\n{log}"
    );
}

#[test]
fn check_names_the_key_of_each_acme_mistake() {
    let yaml = "entryPoints:\n  web: { address: \"127.0.0.1:0\" }\n\
                certificatesResolvers:\n\
                \x20 dns:\n    acme:\n      storage: acme.json\n      dnsChallenge: { provider: x }\n\
                \x20 nodir:\n    acme:\n      storage: /nonexistent-dir/acme.json\n      tlsChallenge: {}\n\
                \x20 rsa:\n    acme:\n      keyType: RSA4096\n      httpChallenge: { entryPoint: nope }\n\
                http:\n  routers:\n\
                \x20   r: { rule: \"Host(`a.test`)\", service: s, tls: { certResolver: missing } }\n\
                \x20 services:\n    s: { loadBalancer: { servers: [{ url: \"http://127.0.0.1:9\" }] } }\n";
    let (ok, _, stderr) = crate::support::check_config(yaml, &[]);
    assert!(!ok);
    assert_eq!(
        crate::support::located_errors(&stderr),
        [
            "7: certificatesResolvers.dns.acme.dnsChallenge: not supported: DNS-01 needs a DNS \
             provider; use httpChallenge or tlsChallenge",
            "10: certificatesResolvers.nodir.acme.storage: the directory of \
             \"/nonexistent-dir/acme.json\" does not exist",
            "14: certificatesResolvers.rsa.acme.keyType: unsupported key type \"RSA4096\" \
             (supported: EC256, EC384; RSA keys cannot be generated with the ring provider)",
            "15: certificatesResolvers.rsa.acme.httpChallenge.entryPoint: unknown entry point \
             \"nope\"",
            "18: http.routers.r.tls.certResolver: unknown certificate resolver \"missing\" \
             (defined: dns, nodir, rsa)",
        ],
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_is_renewed_before_it_expires_and_served_without_restart() {
    // Certificates living 30 s: renewed two thirds into their life (after about 20 s).
    let setup = Setup::start(Some(30)).await;
    let (root, yaml, secure, storage) = (
        setup.root.clone(),
        setup.yaml.clone(),
        setup.secure,
        setup.storage.clone(),
    );
    let gw = Gateway::start(&yaml, &[]);

    wait_issued(&gw, HTTP01_NAME).await;
    let first = verified_chain(secure, HTTP01_NAME, &root)
        .await
        .expect("first certificate");
    wait_issued_times(&gw, HTTP01_NAME, 2).await;
    let renewed = verified_chain(secure, HTTP01_NAME, &root)
        .await
        .expect("renewed certificate");
    assert_ne!(
        first[0], renewed[0],
        "a new certificate is served after renewal"
    );
    let stored = std::fs::read_to_string(&storage).expect("storage");
    let stored: serde_json::Value = serde_json::from_str(&stored).expect("json");
    let certs = stored["byhttp"]["Certificates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        certs.len(),
        1,
        "the renewed certificate replaces the old one: {stored}"
    );
}

#[tokio::test]
async fn until_a_certificate_exists_the_default_is_served_and_failed_orders_are_retried() {
    let up = Upstream::start("app").await;
    let dir = tempfile::tempdir().unwrap();
    // A CA that is not there: every order fails.
    let closed = free_port();
    let websecure = free_port();
    let yaml = format!(
        "entryPoints:\n  web: {{ address: \"127.0.0.1:0\" }}\n  websecure: {{ address: \"127.0.0.1:{websecure}\" }}\n\
         certificatesResolvers:\n  le:\n    acme:\n      storage: \"{}\"\n      caServer: \"https://127.0.0.1:{closed}/dir\"\n      tlsChallenge: {{}}\n\
         http:\n  routers:\n\
         \x20   app: {{ rule: \"Host(`down.acme.test`)\", service: app, entryPoints: [websecure], tls: {{ certResolver: le }} }}\n\
         \x20 services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n",
        dir.path().join("acme.json").display(),
        up.url()
    );
    let gw = Gateway::start(&yaml, &[]);
    assert!(
        gw.wait_for_log("listening entrypoint=\"websecure\""),
        "{}",
        gw.log()
    );
    let secure = SocketAddr::from(([127, 0, 0, 1], websecure));
    let served = crate::support::tls::served_cert(secure, "down.acme.test")
        .await
        .expect("handshake");
    let default = crate::support::tls::served_cert(secure, "other.test")
        .await
        .expect("handshake");
    assert_eq!(
        served, default,
        "the default certificate until one is issued"
    );
    let conn =
        crate::support::tls::connect(secure, &crate::support::tls::Hello::sni("down.acme.test"))
            .await
            .expect("handshake");
    let (status, _) = crate::support::tls::get(conn, "down.acme.test", "/")
        .await
        .expect("GET");
    assert_eq!(status, 200, "requests are served meanwhile");
    let failure = "cannot obtain an ACME certificate";
    let retried = gw.await_log_count(failure, 2, ISSUED_WITHIN).await;
    assert!(retried, "no retry:\n{}", gw.log());
    let log = gw.log();
    let line = log
        .lines()
        .find(|l| l.contains(failure))
        .unwrap_or_default();
    assert!(
        line.contains("resolver=\"le\"") && line.contains("domain=\"down.acme.test\""),
        "the failure names the resolver and the domain: {line}"
    );
}

#[test]
fn a_storage_file_that_is_not_acme_json_stops_start_up_naming_its_resolver() {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("acme.json");
    std::fs::write(&storage, "not json").unwrap();
    let yaml = format!(
        "entryPoints:\n  web: {{ address: \"127.0.0.1:0\" }}\n\
         certificatesResolvers:\n  le:\n    acme:\n      storage: \"{}\"\n      tlsChallenge: {{}}\n",
        storage.display()
    );
    let stderr = crate::support::run_refused(&yaml);
    assert!(
        stderr.contains("gateway.yml:6: certificatesResolvers.le.acme.storage:")
            && stderr.contains("is not an ACME storage file"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_stores_generated_certificate_comes_from_its_resolver() {
    const DEFAULT_NAME: &str = "default.acme.test";
    let setup = Setup::start(None).await;
    let yaml = format!(
        "{}tls:\n  stores:\n    default:\n      defaultGeneratedCert:\n        resolver: bytls\n        \
         domain: {{ main: \"{DEFAULT_NAME}\", sans: [\"www.{DEFAULT_NAME}\"] }}\n",
        setup.yaml
    );
    let gw = Gateway::start(&yaml, &[]);
    wait_issued(&gw, DEFAULT_NAME).await;
    let obtained = verified_chain(setup.secure, DEFAULT_NAME, &setup.root)
        .await
        .unwrap_or_else(|e| panic!("the certificate of {DEFAULT_NAME} verifies: {e}"));
    // A name that no certificate covers gets the default certificate: the one obtained.
    let served = crate::support::tls::served_cert(setup.secure, "nothing-covers.this.test")
        .await
        .expect("handshake");
    assert_eq!(
        served, obtained[0],
        "the default is the resolver's certificate"
    );
}

/// The `traefik_tls_certs_not_after` samples of a scrape whose `sans` label is `name`:
/// `(serial, value)`.
fn not_after_samples(scrape: &str, name: &str) -> Vec<(String, f64)> {
    let samples = crate::observability::parse_exposition(scrape);
    samples
        .iter()
        .filter(|((metric, labels), _)| {
            metric == "traefik_tls_certs_not_after"
                && labels.iter().any(|(k, v)| k == "sans" && v == name)
        })
        .map(|((_, labels), value)| {
            let serial = labels
                .iter()
                .find(|(k, _)| k == "serial")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            (serial, *value)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acme_issued_certificates_show_in_the_tls_certs_not_after_metrics() {
    let mut setup = Setup::start(None).await;
    let metrics_port = free_port();
    let yaml = setup.yaml.replacen(
        "entryPoints:\n",
        &format!("entryPoints:\n  traefik: {{ address: \"127.0.0.1:{metrics_port}\" }}\n"),
        1,
    ) + "metrics:\n  prometheus: {}\n";
    let c = crate::support::Client::http1();
    let metrics_url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let check = |scrape: &str, served: &[(&str, Vec<CertificateDer<'static>>)]| {
        for (name, chain) in served {
            let leaf = &chain[0];
            let fields = der_walk::tbs_fields(leaf).expect("the served leaf parses");
            let serial = der_walk::integer_decimal(fields.serial);
            let found = not_after_samples(scrape, name);
            assert_eq!(found.len(), 1, "{name}: {found:?}\n{scrape}");
            assert_eq!(
                found[0].0, serial,
                "{name}: the served certificate's serial"
            );
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64();
            assert!(found[0].1 > now, "{name}: expires in the future: {scrape}");
        }
    };

    let gw = Gateway::start(&yaml, &[]);
    wait_issued(&gw, HTTP01_NAME).await;
    wait_issued(&gw, ALPN_NAME).await;
    let mut served = Vec::new();
    for name in [HTTP01_NAME, ALPN_NAME] {
        let chain = verified_chain(setup.secure, name, &setup.root).await;
        served.push((name, chain.unwrap_or_else(|e| panic!("{name}: {e}"))));
    }
    let scrape = crate::observability::scrape(&c, &metrics_url).await;
    check(&scrape, &served);
    crate::observability::promtool_check(&scrape);
    drop(gw);

    // Read back from storage at start-up (before any snapshot or scrape), they show too.
    setup.pebble.stop();
    let gw = Gateway::start(&yaml, &[]);
    assert!(
        gw.wait_for_log("listening entrypoint=\"traefik\""),
        "{}",
        gw.log()
    );
    let scrape = crate::observability::scrape(&c, &metrics_url).await;
    check(&scrape, &served);
}
