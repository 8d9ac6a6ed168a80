//! Pebble, the ACME test CA (Debian package `pebble`), as a child process for one test: its
//! HTTPS certificate made at test time (rcgen), its DNS answered by `pebble-challtestsrv`
//! (every name → 127.0.0.1), and its validation ports pointed at the gateway's entrypoints so
//! challenges are really validated. Stopped by PID when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::free_port;
use super::tls::{Hello, TestCa, connect, get};

/// A running pebble (and its DNS).
pub struct Pebble {
    pebble: Option<Child>,
    dns: Option<Child>,
    pub directory_url: String,
    /// The PEM file of the CA that signed pebble's HTTPS certificate (for `caCertificates`).
    pub ca_file: PathBuf,
    management: SocketAddr,
    _dir: tempfile::TempDir,
}

/// Reads `child`'s stdout until a line contains `needle` (the process says it is ready).
fn wait_for_line(child: &mut Child, needle: &str, what: &str) {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let needle = needle.to_string();
    std::thread::spawn(move || {
        let mut told = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !told && line.contains(&needle) {
                let _ = tx.send(());
                told = true;
            }
        }
    });
    // A hang guard: pebble starts in well under a second.
    if rx.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = child.kill();
        panic!("{what} did not start (is the Debian package `pebble` installed?)");
    }
}

impl Pebble {
    /// Starts pebble validating HTTP-01 on `http_port` and TLS-ALPN-01 on `tls_port` of
    /// 127.0.0.1 (the gateway's entrypoints), issuing certificates valid for `lifetime_secs`
    /// (`None`: pebble's default, 5 years).
    pub fn start_issuing_for(http_port: u16, tls_port: u16, lifetime_secs: Option<u64>) -> Pebble {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = TestCa::new("pebble https test ca");
        let ca_file = dir.path().join("pebble-ca.pem");
        std::fs::write(&ca_file, ca.pem()).expect("write ca");
        let (cert, key) = ca
            .leaf(&["127.0.0.1", "localhost"])
            .write(dir.path(), "pebble");
        let (listen, management, dns) = (free_port(), free_port(), free_port());
        let mut config = serde_json::json!({ "pebble": {
            "listenAddress": format!("127.0.0.1:{listen}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": cert,
            "privateKey": key,
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        if let Some(secs) = lifetime_secs {
            config["pebble"]["certificateValidityPeriod"] = secs.into();
        }
        let config_file = dir.path().join("pebble.json");
        std::fs::write(&config_file, config.to_string()).expect("write pebble config");
        let mut dns_child = Command::new("pebble-challtestsrv")
            .args([
                "-dns01",
                &format!("127.0.0.1:{dns}"),
                "-defaultIPv4",
                "127.0.0.1",
            ])
            .args([
                "-defaultIPv6",
                "",
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
            ])
            .args(["-management", &format!("127.0.0.1:{}", free_port())])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pebble-challtestsrv (Debian package `pebble`)");
        wait_for_line(
            &mut dns_child,
            "Starting challenge servers",
            "pebble-challtestsrv",
        );
        let mut child = Command::new("pebble")
            .arg("-config")
            .arg(&config_file)
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            // No random sleep before validating; no random nonce refusals. Challenges are
            // validated for real (no PEBBLE_VA_ALWAYS_VALID).
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pebble (Debian package `pebble`)");
        wait_for_line(&mut child, "ACME directory available", "pebble");
        Pebble {
            pebble: Some(child),
            dns: Some(dns_child),
            directory_url: format!("https://127.0.0.1:{listen}/dir"),
            ca_file,
            management: SocketAddr::from(([127, 0, 0, 1], management)),
            _dir: dir,
        }
    }

    /// Pebble's issuing root (it makes a new one each run), as PEM.
    pub async fn root_pem(&self) -> String {
        // Pebble logs that it listens just before its listener is up: connect until it is.
        let until = std::time::Instant::now() + Duration::from_secs(30);
        let conn = loop {
            match connect(self.management, &Hello::default()).await {
                Ok(conn) => break conn,
                Err(e) if std::time::Instant::now() < until => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("pebble's management interface: {e}"),
            }
        };
        let (status, body) = get(conn, "127.0.0.1", "/roots/0")
            .await
            .expect("GET /roots/0");
        assert_eq!(status, 200, "pebble's root: {body}");
        body
    }

    /// Stops pebble and its DNS (by PID) and waits for them to exit.
    pub fn stop(&mut self) {
        for child in [self.pebble.take(), self.dns.take()].into_iter().flatten() {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether pebble is still running.
    pub fn is_running(&mut self) -> bool {
        match &mut self.pebble {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.stop();
    }
}
