//! TCP routers with `tls.certResolver` (Traefik's `tcp.routers.<r>.tls.certResolver`): the
//! gateway obtains their certificates from pebble by HTTP-01 and by TLS-ALPN-01 (the CA's
//! `acme-tls/1` handshake reaches the challenge certificate although a TCP router has the
//! name), then terminates TLS with them and forwards the plain bytes to the TCP server.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{resolver_yaml, verified_stream, wait_issued};
use crate::support::pebble::Pebble;
use crate::support::tcp_backend::TcpBackend;
use crate::support::{Gateway, free_port};

const HTTP01_NAME: &str = "tcp-http01.acme.test";
const ALPN_NAME: &str = "tcp-alpn.acme.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_routers_get_certificates_by_http01_and_tls_alpn01_and_terminate_with_them() {
    let echo = TcpBackend::start(None, false).await;
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("acme.json");
    let (web, websecure) = (free_port(), free_port());
    let pebble = Pebble::start_issuing_for(web, websecure, None);
    let root = CertificateDer::from_pem_slice(pebble.root_pem().await.as_bytes())
        .expect("pebble's root is PEM");
    let resolver = |challenge: &str| resolver_yaml(&pebble, &storage, challenge);
    let yaml = format!(
        "entryPoints:\n  web: {{ address: \"127.0.0.1:{web}\" }}\n  websecure: {{ address: \"127.0.0.1:{websecure}\" }}\n\
         certificatesResolvers:\n  byhttp:\n{}  bytls:\n{}\
         tcp:\n  routers:\n\
         \x20   viahttp: {{ rule: \"HostSNI(`{HTTP01_NAME}`)\", service: echo, entryPoints: [websecure], tls: {{ certResolver: byhttp }} }}\n\
         \x20   viatls: {{ rule: \"HostSNI(`{ALPN_NAME}`)\", service: echo, entryPoints: [websecure], tls: {{ certResolver: bytls, domains: [{{ main: \"{ALPN_NAME}\" }}] }} }}\n\
         \x20 services:\n    echo: {{ loadBalancer: {{ servers: [{{ address: \"{}\" }}] }} }}\n",
        resolver("httpChallenge: { entryPoint: web }"),
        resolver("tlsChallenge: {}"),
        echo.addr
    );
    let gw = Gateway::start(&yaml, &[]);
    wait_issued(&gw, HTTP01_NAME).await;
    wait_issued(&gw, ALPN_NAME).await;
    let secure = std::net::SocketAddr::from(([127, 0, 0, 1], websecure));
    for name in [HTTP01_NAME, ALPN_NAME] {
        let mut stream = verified_stream(secure, name, &root)
            .await
            .unwrap_or_else(|e| panic!("{name}: not served pebble's certificate: {e}"));
        let chain = stream.get_ref().1.peer_certificates().unwrap_or_default();
        assert!(chain.len() >= 2, "{name}: leaf and pebble's intermediate");
        stream.write_all(name.as_bytes()).await.expect("write");
        let mut back = vec![0u8; name.len()];
        stream.read_exact(&mut back).await.expect("echo");
        assert_eq!(
            back,
            name.as_bytes(),
            "the TCP server echoed the plain bytes"
        );
    }
    assert!(echo.accepted() >= 2);
    let log = gw.log();
    assert!(!log.contains("cannot obtain"), "no failed order:\n{log}");
}
