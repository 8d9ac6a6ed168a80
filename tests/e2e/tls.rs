//! TLS termination over real sockets with a real rustls client: certificates by server name
//! (exact, wildcard, default), `sniStrict`, TLS versions per host, client certificates, ALPN
//! h2, forwarding headers, and certificate files reloaded (or a broken pair refused) while
//! serving. Certificates are made at test time (rcgen) and written to temp files.

use std::path::Path;
use std::time::{Duration, Instant};

use rustls::ProtocolVersion;

use crate::support::tls::{Hello, Leaf, TestCa, connect, get, h2_get, h2_sender, served_cert};
use crate::support::{Client, Config, Gateway, Upstream, check_config};

/// Bound for "the reload is visible": a hang guard, not a performance assertion.
const VISIBLE_WITHIN: Duration = Duration::from_secs(10);

/// A gateway config: `routers` and the service `app` at `up`, then `tls` (lines under `tls:`).
fn config(up: &Upstream, entrypoint: &str, routers: &str, tls: &str) -> String {
    let mut yaml = Config::new()
        .entrypoint(entrypoint)
        .routers(routers)
        .service("app", &up.url())
        .yaml();
    if !tls.is_empty() {
        yaml.push_str("tls:\n");
        yaml.push_str(tls);
    }
    yaml
}

fn tls_router(name: &str, host: &str, options: Option<&str>) -> String {
    let tls = match options {
        Some(o) => format!("{{ options: {o} }}"),
        None => "{}".to_string(),
    };
    format!("    {name}: {{ rule: \"Host(`{host}`)\", service: app, tls: {tls} }}\n")
}

/// `defaultCertificate` given as inline PEM (Traefik accepts PEM text for a file).
fn inline_default(leaf: &Leaf) -> String {
    let quoted = |pem: &str| pem.trim_end().replace('\n', "\\n");
    format!(
        "  stores:\n    default:\n      defaultCertificate:\n        certFile: \"{}\"\n        keyFile: \"{}\"\n",
        quoted(&leaf.cert_pem),
        quoted(&leaf.key_pem)
    )
}

#[tokio::test]
async fn certificates_are_chosen_by_server_name_exact_wildcard_then_default() {
    let up = Upstream::start("app").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("test ca");
    let (a, b, wild, default) = (
        ca.leaf(&["a.test"]),
        ca.leaf(&["b.test", "alias.test"]),
        ca.leaf(&["*.wild.test"]),
        ca.leaf(&["default.test"]),
    );
    let routers = [
        tls_router("a", "a.test", None),
        tls_router("b", "b.test", None),
        "    plain: { rule: \"Host(`plain.test`)\", service: app }\n".to_string(),
    ]
    .concat();
    let tls = format!(
        "  certificates:\n{}{}{}{}",
        a.entry(dir.path(), "a"),
        b.entry(dir.path(), "b"),
        wild.entry(dir.path(), "wild"),
        inline_default(&default)
    );
    let gw = Gateway::start(&config(&up, "", &routers, &tls), &[]);

    for (sni, want, what) in [
        ("a.test", &a, "exact name"),
        ("b.test", &b, "first SAN"),
        ("alias.test", &b, "second SAN"),
        ("x.wild.test", &wild, "wildcard"),
        ("X.Wild.Test", &wild, "wildcard, other case"),
        ("y.x.wild.test", &default, "two labels under a wildcard"),
        ("other.test", &default, "unknown name"),
    ] {
        let served = served_cert(gw.addr, sni).await.expect("handshake");
        assert!(served == want.der, "{what} ({sni}) got another certificate");
    }

    // A TLS router answers on TLS only; a router without `tls` on plain connections only.
    let tls_conn = connect(gw.addr, &Hello::sni("a.test")).await.unwrap();
    assert_eq!(get(tls_conn, "a.test", "/x").await.unwrap().0, 200);
    assert_eq!(up.last().header("x-forwarded-proto"), Some("https"));
    let plain = Client::http1();
    assert_eq!(plain.get(&gw.url("/x"), "a.test", &[]).await.status, 404);
    assert_eq!(
        plain.get(&gw.url("/x"), "plain.test", &[]).await.status,
        200
    );
    assert_eq!(up.last().header("x-forwarded-proto"), Some("http"));
    let tls_conn = connect(gw.addr, &Hello::sni("plain.test")).await.unwrap();
    assert_eq!(get(tls_conn, "plain.test", "/x").await.unwrap().0, 404);
}

#[tokio::test]
async fn without_a_default_certificate_one_is_generated_and_sni_strict_refuses_unknown_names() {
    let up = Upstream::start("app").await;
    let dir = tempfile::tempdir().unwrap();
    let a = TestCa::new("ca").leaf(&["a.test"]);
    let tls = format!("  certificates:\n{}", a.entry(dir.path(), "a"));
    let gw = Gateway::start(
        &config(&up, "", &tls_router("a", "a.test", None), &tls),
        &[],
    );
    let generated = served_cert(gw.addr, "unknown.test")
        .await
        .expect("handshake");
    assert!(generated != a.der);
    let no_sni = connect(gw.addr, &Hello::default())
        .await
        .expect("handshake");
    assert!(
        no_sni.served == generated,
        "one generated default certificate"
    );
    drop(gw);

    let strict = format!("{tls}  options:\n    default:\n      sniStrict: true\n");
    let gw = Gateway::start(
        &config(&up, "", &tls_router("a", "a.test", None), &strict),
        &[],
    );
    assert!(
        served_cert(gw.addr, "a.test")
            .await
            .is_ok_and(|c| c == a.der)
    );
    assert!(served_cert(gw.addr, "unknown.test").await.is_err());
    assert!(connect(gw.addr, &Hello::default()).await.is_err());
}

#[tokio::test]
async fn tls12_only_and_tls13_only_options_apply_per_host() {
    let up = Upstream::start("app").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("ca");
    let (old, new) = (ca.leaf(&["old.test"]), ca.leaf(&["new.test"]));
    let routers = [
        tls_router("old", "old.test", Some("tls12")),
        tls_router("new", "new.test", Some("tls13")),
    ]
    .concat();
    let tls = format!(
        "  certificates:\n{}{}  options:\n    tls12: {{ maxVersion: VersionTLS12 }}\n    tls13: {{ minVersion: VersionTLS13 }}\n",
        old.entry(dir.path(), "old"),
        new.entry(dir.path(), "new"),
    );
    let gw = Gateway::start(&config(&up, "", &routers, &tls), &[]);
    let hello = |sni: &str, version| Hello {
        version: Some(version),
        ..Hello::sni(sni)
    };
    use ProtocolVersion::{TLSv1_2, TLSv1_3};
    let negotiated =
        |h: std::io::Result<crate::support::tls::Handshaken>| h.ok().and_then(|h| h.version);
    assert_eq!(
        negotiated(connect(gw.addr, &Hello::sni("old.test")).await),
        Some(TLSv1_2)
    );
    assert_eq!(
        negotiated(connect(gw.addr, &hello("old.test", TLSv1_2)).await),
        Some(TLSv1_2)
    );
    assert_eq!(
        negotiated(connect(gw.addr, &hello("old.test", TLSv1_3)).await),
        None
    );
    assert_eq!(
        negotiated(connect(gw.addr, &Hello::sni("new.test")).await),
        Some(TLSv1_3)
    );
    assert_eq!(
        negotiated(connect(gw.addr, &hello("new.test", TLSv1_2)).await),
        None
    );
    // Names no router claims use the default options (both versions).
    assert_eq!(
        negotiated(connect(gw.addr, &hello("other.test", TLSv1_2)).await),
        Some(TLSv1_2)
    );
}

#[tokio::test]
async fn require_and_verify_client_cert_accepts_the_ca_and_refuses_another() {
    let up = Upstream::start("app").await;
    let dir = tempfile::tempdir().unwrap();
    let (server_ca, client_ca, other_ca) = (TestCa::new("s"), TestCa::new("c"), TestCa::new("o"));
    let server = server_ca.leaf(&["m.test"]);
    let ca_file = dir.path().join("clients-ca.pem");
    std::fs::write(&ca_file, client_ca.pem()).unwrap();
    let tls = format!(
        "  certificates:\n{}  options:\n    mtls:\n      clientAuth:\n        caFiles: [\"{}\"]\n        clientAuthType: RequireAndVerifyClientCert\n",
        server.entry(dir.path(), "m"),
        ca_file.display()
    );
    let gw = Gateway::start(
        &config(&up, "", &tls_router("m", "m.test", Some("mtls")), &tls),
        &[],
    );
    let with = |cert: Option<Leaf>| Hello {
        client_cert: cert,
        ..Hello::sni("m.test")
    };
    // TLS 1.3 clients learn of a refused certificate on their first read.
    let request = |hello: Hello| async move {
        match connect(gw.addr, &hello).await {
            Ok(conn) => get(conn, "m.test", "/").await.map(|r| r.0),
            Err(e) => Err(e.to_string()),
        }
    };
    assert_eq!(
        request(with(Some(client_ca.leaf(&["client"])))).await,
        Ok(200)
    );
    assert!(
        request(with(Some(other_ca.leaf(&["client"]))))
            .await
            .is_err()
    );
    assert!(request(with(None)).await.is_err());
}

#[tokio::test]
async fn h2_is_negotiated_by_alpn_and_the_upstream_sees_https() {
    let up = Upstream::start("app").await;
    let dir = tempfile::tempdir().unwrap();
    let leaf = TestCa::new("ca").leaf(&["h.test"]);
    let tls = format!("  certificates:\n{}", leaf.entry(dir.path(), "h"));
    // `http.tls` on the entrypoint makes its routers TLS routers.
    let routers = "    h: { rule: \"Host(`h.test`)\", service: app }\n";
    let gw = Gateway::start(&config(&up, "http: { tls: {} }", routers, &tls), &[]);
    for (alpn, want) in [
        (vec!["h2", "http/1.1"], Some(b"h2".to_vec())),
        (vec!["http/1.1"], Some(b"http/1.1".to_vec())),
        (vec![], None),
    ] {
        let hello = Hello {
            alpn,
            ..Hello::sni("h.test")
        };
        let conn = connect(gw.addr, &hello).await.expect("handshake");
        assert_eq!(conn.alpn, want);
        assert_eq!(get(conn, "h.test", "/p").await.map(|r| r.0), Ok(200));
        assert_eq!(up.last().header("x-forwarded-proto"), Some("https"));
    }
    // The entrypoint's routers are TLS routers: a plain request matches none.
    assert_eq!(
        Client::http1()
            .get(&gw.url("/p"), "h.test", &[])
            .await
            .status,
        404
    );
}

/// Replaces a file the way deploy tools do: write a temp file, rename it over.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn a_replaced_certificate_reaches_new_connections_and_a_broken_pair_is_refused() {
    let up = Upstream::start("app").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("ca");
    let (first, second) = (ca.leaf(&["r.test"]), ca.leaf(&["r.test"]));
    let tls = format!("  certificates:\n{}", first.entry(dir.path(), "r"));
    let gw = Gateway::start(
        &config(&up, "", &tls_router("r", "r.test", None), &tls),
        &[],
    );
    assert!(
        served_cert(gw.addr, "r.test")
            .await
            .is_ok_and(|c| c == first.der)
    );
    let kept = connect(gw.addr, &Hello::sni("r.test")).await.unwrap();
    let h2 = Hello {
        alpn: vec!["h2"],
        ..Hello::sni("r.test")
    };
    let mut kept_h2 = h2_sender(connect(gw.addr, &h2).await.unwrap()).await;
    assert_eq!(h2_get(&mut kept_h2, "r.test", "/").await, Ok(200));

    // New connections, one after another, all through the swap: none may fail.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (stop, addr) = (stop.clone(), gw.addr);
        tokio::spawn(async move {
            let (mut ok, mut failed) = (0usize, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let result = match connect(addr, &Hello::sni("r.test")).await {
                    Ok(conn) => get(conn, "r.test", "/load").await.map(|r| r.0),
                    Err(e) => Err(e.to_string()),
                };
                match result {
                    Ok(200) => ok += 1,
                    other => failed.push(format!("{other:?}")),
                }
            }
            (ok, failed)
        })
    };

    let (cert, key) = (dir.path().join("r.pem"), dir.path().join("r.key"));
    replace(&key, &second.key_pem);
    replace(&cert, &second.cert_pem);
    let started = Instant::now();
    loop {
        if served_cert(gw.addr, "r.test")
            .await
            .is_ok_and(|c| c == second.der)
        {
            break;
        }
        assert!(
            started.elapsed() < VISIBLE_WITHIN,
            "the new certificate was not served; log:\n{}",
            gw.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("new certificate served after {:?}", started.elapsed());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed) = load.await.unwrap();
    let total = ok + failed.len();
    assert!(
        failed.is_empty(),
        "{} of {total} requests failed during the swap: {failed:?}",
        failed.len()
    );
    println!("{total} new TLS connections during the swap, none failed");
    // Connections handshaken before the swap keep working (HTTP/1.1 and HTTP/2).
    assert_eq!(get(kept, "r.test", "/").await.map(|r| r.0), Ok(200));
    assert_eq!(h2_get(&mut kept_h2, "r.test", "/").await, Ok(200));

    // A key that is not the certificate's: the reload is refused, the old pair keeps serving.
    replace(&key, &ca.leaf(&["r.test"]).key_pem);
    assert!(
        gw.wait_for_log("keyFile: the key does not match the certificate"),
        "log:\n{}",
        gw.log()
    );
    assert!(
        served_cert(gw.addr, "r.test")
            .await
            .is_ok_and(|c| c == second.der)
    );
}

#[test]
fn check_reports_missing_files_mismatched_keys_and_unknown_options() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("ca");
    let (good, other) = (ca.leaf(&["a.test"]), ca.leaf(&["a.test"]));
    let (cert, _) = good.write(dir.path(), "good");
    let (_, other_key) = other.write(dir.path(), "other");
    let missing = dir.path().join("missing.pem");
    let yaml = format!(
        "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n\
         http:\n  routers:\n    r: {{ rule: \"Host(`a.test`)\", service: app, tls: {{ options: nope }} }}\n\
         \x20 services:\n    app: {{ loadBalancer: {{ servers: [{{ url: \"http://127.0.0.1:1\" }}] }} }}\n\
         tls:\n  certificates:\n\
         \x20   - {{ certFile: \"{missing}\", keyFile: \"{other_key}\" }}\n\
         \x20   - {{ certFile: \"{cert}\", keyFile: \"{other_key}\" }}\n\
         \x20 options:\n    old: {{ minVersion: VersionTLS11 }}\n",
        missing = missing.display(),
        cert = cert.display(),
        other_key = other_key.display(),
    );
    let (ok, stdout, stderr) = check_config(&yaml, &[]);
    assert!(!ok, "stdout: {stdout}");
    for needle in [
        ":6: http.routers.r.tls.options: unknown TLS options \"nope\" (defined: default, old)",
        ":14: tls.options.old.minVersion: VersionTLS11 is not supported",
    ] {
        assert!(stderr.contains(needle), "want {needle:?} in:\n{stderr}");
    }

    // With the references right, the files are read and checked.
    let yaml = yaml
        .replace("tls: { options: nope }", "tls: {}")
        .replace("VersionTLS11", "VersionTLS12");
    let (ok, _, stderr) = check_config(&yaml, &[]);
    assert!(!ok);
    for needle in [
        format!(
            ":11: tls.certificates[0].certFile: cannot read \"{}\"",
            missing.display()
        ),
        ":12: tls.certificates[1].keyFile: the key does not match the certificate".to_string(),
    ] {
        assert!(stderr.contains(&needle), "want {needle:?} in:\n{stderr}");
    }
}

#[tokio::test]
async fn redirect_scheme_sends_plain_http_to_the_tls_router_of_the_same_host() {
    let up = Upstream::start("app").await;
    let dir = tempfile::tempdir().unwrap();
    let leaf = TestCa::new("ca").leaf(&["a.test"]);
    let tls = format!("  certificates:\n{}", leaf.entry(dir.path(), "a"));
    let routers = "    plain: { rule: \"Host(`a.test`)\", service: app, middlewares: [to-https] }\n\
                   \x20   secure: { rule: \"Host(`a.test`)\", service: app, middlewares: [to-https], tls: {} }\n";
    let mut yaml = Config::new()
        .routers(routers)
        .service("app", &up.url())
        .middlewares("    to-https: { redirectScheme: { scheme: https, permanent: true } }\n")
        .yaml();
    yaml.push_str("tls:\n");
    yaml.push_str(&tls);
    let gw = Gateway::start(&yaml, &[]);

    let plain = Client::http1().get(&gw.url("/x?q=1"), "a.test", &[]).await;
    assert_eq!(plain.status, 301);
    assert_eq!(plain.header("location"), Some("https://a.test/x?q=1"));
    assert_eq!(up.count(), 0);
    // On TLS the same middleware sees an https request (is-tls) and lets it through.
    let conn = connect(gw.addr, &Hello::sni("a.test")).await.unwrap();
    assert_eq!(get(conn, "a.test", "/x?q=1").await.map(|r| r.0), Ok(200));
    assert_eq!(up.count(), 1);
}
