//! `https://` servers: verified against `rootCAs` and `serverName`, HTTP/2 by ALPN, a client
//! certificate for servers that ask (mTLS to the upstream), `insecureSkipVerify`; a server
//! whose certificate does not verify gets 502 and a log line saying why.

use crate::support::tls::{TestCa, TlsUpstream};
use crate::support::{Client, Config, Gateway, check_config};

/// A gateway with one catch-all router to `https://<up>` through servers transport `t`
/// (`transport` is its YAML body, 6 spaces in).
fn gateway(up: &TlsUpstream, transport: &str) -> Gateway {
    let yaml = Config::new()
        .route("all", "PathPrefix(`/`)", "app")
        .services(&format!(
            "    app:\n      loadBalancer:\n        serversTransport: t\n        servers: [{{ url: \"https://{}\" }}]\n",
            up.addr
        ))
        .http(&format!("  serversTransports:\n    t:\n{transport}"))
        .yaml();
    Gateway::start(&yaml, &[])
}

#[tokio::test]
async fn a_private_ca_and_server_name_verify_the_upstream_and_h2_is_negotiated() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("upstream ca");
    let up = TlsUpstream::start(&ca.leaf(&["backend.test"]), None).await;
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let roots = format!("      rootCAs: [\"{}\"]\n", ca_file.display());

    let gw = gateway(&up, &format!("      serverName: backend.test\n{roots}"));
    let reply = Client::http1().get(&gw.url("/"), "a.test", &[]).await;
    assert_eq!(
        (reply.status.as_u16(), reply.text()),
        (200, "https HTTP/2.0".to_string())
    );
    drop(gw);

    // The URL's host (an IP address) is not in the certificate: refused, and said why.
    let gw = gateway(&up, &roots);
    assert_eq!(
        Client::http1()
            .get(&gw.url("/"), "a.test", &[])
            .await
            .status,
        502
    );
    assert!(gw.wait_for_log("certificate"), "log:\n{}", gw.log());
    drop(gw);

    let gw = gateway(&up, &format!("      serverName: other.test\n{roots}"));
    assert_eq!(
        Client::http1()
            .get(&gw.url("/"), "a.test", &[])
            .await
            .status,
        502
    );
    drop(gw);

    // Without rootCAs the system store is used, which does not know the test CA...
    let gw = gateway(&up, "      serverName: backend.test\n");
    assert_eq!(
        Client::http1()
            .get(&gw.url("/"), "a.test", &[])
            .await
            .status,
        502
    );
    drop(gw);
    // ...unless verification is off.
    let gw = gateway(&up, "      insecureSkipVerify: true\n");
    assert_eq!(
        Client::http1()
            .get(&gw.url("/"), "a.test", &[])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_client_certificate_is_presented_to_an_upstream_that_requires_one() {
    let dir = tempfile::tempdir().unwrap();
    let (server_ca, client_ca) = (TestCa::new("server ca"), TestCa::new("client ca"));
    let up = TlsUpstream::start(&server_ca.leaf(&["backend.test"]), Some(&client_ca)).await;
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, server_ca.pem()).unwrap();
    let base = format!(
        "      serverName: backend.test\n      rootCAs: [\"{}\"]\n",
        ca_file.display()
    );
    let (cert, key) = client_ca.leaf(&["gateway"]).write(dir.path(), "client");
    let with_cert = format!(
        "{base}      certificates:\n        - {{ certFile: \"{}\", keyFile: \"{}\" }}\n",
        cert.display(),
        key.display()
    );
    let gw = gateway(&up, &with_cert);
    assert_eq!(
        Client::http1()
            .get(&gw.url("/"), "a.test", &[])
            .await
            .status,
        200
    );
    drop(gw);

    let gw = gateway(&up, &base);
    assert_eq!(
        Client::http1()
            .get(&gw.url("/"), "a.test", &[])
            .await
            .status,
        502
    );
}

#[tokio::test]
async fn peer_cert_uri_checks_the_uri_san_instead_of_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("mesh ca");
    let identity = "spiffe://mesh.test/backend";
    let up = TlsUpstream::start(&ca.leaf_with_uri(&["backend.test"], Some(identity)), None).await;
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let roots = format!("      rootCAs: [\"{}\"]\n", ca_file.display());

    // The URL's host (an IP address) is not in the certificate; the URI is, and that is enough.
    let gw = gateway(&up, &format!("{roots}      peerCertURI: \"{identity}\"\n"));
    assert_eq!(
        Client::http1()
            .get(&gw.url("/"), "a.test", &[])
            .await
            .status,
        200
    );
    drop(gw);

    let gw = gateway(
        &up,
        &format!("{roots}      peerCertURI: spiffe://mesh.test/other\n"),
    );
    assert_eq!(
        Client::http1()
            .get(&gw.url("/"), "a.test", &[])
            .await
            .status,
        502
    );
    assert!(
        gw.wait_for_log("spiffe://mesh.test/other"),
        "log:\n{}",
        gw.log()
    );
}

#[test]
fn check_names_a_servers_transport_file_that_does_not_load() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing-ca.pem");
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let yaml = Config::new()
        .route("all", "PathPrefix(`/`)", "app")
        .services(
            "    app:\n      loadBalancer:\n        serversTransport: t\n        servers: [{ url: \"https://127.0.0.1:1\" }]\n",
        )
        .http(&format!(
            "  serversTransports:\n    t:\n      rootCAs: [\"{}\"]\n    u:\n      certificates:\n        - {{ certFile: \"{}\", keyFile: \"{}\" }}\n",
            missing.display(),
            not_pem.display(),
            not_pem.display()
        ))
        .yaml();
    let (ok, _, stderr) = check_config(&yaml, &[]);
    assert!(!ok);
    for needle in [
        format!(
            "http.serversTransports.t.rootCAs: cannot read \"{}\"",
            missing.display()
        ),
        "http.serversTransports.u.certificates[0].certFile: no PEM certificate found".to_string(),
    ] {
        assert!(stderr.contains(&needle), "want {needle:?} in:\n{stderr}");
    }
}

/// Traefik's static `serversTransport` is the transport of every load balancer that names
/// none: an `https://` server with a private CA verifies through its `rootCAs`, and
/// `insecureSkipVerify` there turns verification off for all of them; a service naming its own
/// transport still uses that one.
#[tokio::test]
async fn the_static_servers_transport_is_the_default_of_every_load_balancer() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("upstream ca");
    let up = TlsUpstream::start(&ca.leaf(&["127.0.0.1"]), None).await;
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let config = |static_transport: &str| {
        let yaml = Config::new()
            .route("all", "PathPrefix(`/`)", "app")
            .route("strict", "PathPrefix(`/strict`)", "strict")
            .services(&format!(
                "    app:\n      loadBalancer:\n        servers: [{{ url: \"https://{0}\" }}]\n    strict:\n      loadBalancer:\n        serversTransport: strict\n        servers: [{{ url: \"https://{0}\" }}]\n",
                up.addr
            ))
            .http("  serversTransports:\n    strict:\n      serverName: nobody.test\n")
            .yaml();
        format!("serversTransport:\n{static_transport}{yaml}")
    };
    let status = |gw: &Gateway, path: &'static str| {
        let url = gw.url(path);
        async move { Client::http1().get(&url, "a.test", &[]).await.status }
    };
    let roots = format!("  rootCAs: [\"{}\"]\n", ca_file.display());
    let gw = Gateway::start(&config(&roots), &[]);
    assert_eq!(status(&gw, "/").await, 200, "log:\n{}", gw.log());
    assert_eq!(status(&gw, "/strict").await, 502, "its own transport");
    drop(gw);
    let gw = Gateway::start(&config("  maxIdleConnsPerHost: 4\n"), &[]);
    assert_eq!(
        status(&gw, "/").await,
        502,
        "the system roots do not know the CA"
    );
    drop(gw);
    let gw = Gateway::start(&config("  insecureSkipVerify: true\n"), &[]);
    assert_eq!(status(&gw, "/").await, 200);

    let (ok, _, stderr) = check_config(&config("  rootCAs: [\"/nonexistent/ca.pem\"]\n"), &[]);
    assert!(!ok);
    assert!(stderr.contains("serversTransport"), "{stderr}");
}

#[tokio::test]
async fn disable_http2_keeps_an_https_upstream_on_http1() {
    let ca = TestCa::new("upstream ca");
    let up = TlsUpstream::start(&ca.leaf(&["backend.test"]), None).await;
    let gw = gateway(
        &up,
        "      insecureSkipVerify: true\n      disableHTTP2: true\n",
    );
    let reply = Client::http1().get(&gw.url("/"), "a.test", &[]).await;
    assert_eq!(
        (reply.status.as_u16(), reply.text()),
        (200, "https HTTP/1.1".to_string()),
        "the upstream offers h2 and is answered in HTTP/1.1"
    );
}
