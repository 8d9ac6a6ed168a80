//! Real `redis-server` and `etcd` processes for the provider suites, on loopback ports picked
//! here, with their data in a temp dir (kept across a restart), stopped by PID.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::support::free_port;

/// Hang guard for a store to start answering.
const START_WITHIN: Duration = Duration::from_secs(30);

/// A store process; stopped (SIGTERM, then waited for) when dropped.
pub struct Store {
    kind: Kind,
    pub port: u16,
    peer_port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// With TLS: a second, TLS-only client port, and the CA file its certificate chains to.
    tls: Option<(u16, PathBuf)>,
}

#[derive(Clone, Copy)]
enum Kind {
    Redis,
    Etcd,
}

impl Store {
    /// `redis-server` with keyspace notifications on and its data in an append-only file.
    pub async fn redis() -> Store {
        Self::start(Kind::Redis).await
    }

    /// A one-member `etcd` cluster.
    pub async fn etcd() -> Store {
        Self::start(Kind::Etcd).await
    }

    /// `redis-server` also listening with TLS (`tls-port`), its certificate signed by a CA
    /// made for the test.
    pub async fn redis_tls() -> Store {
        Self::start_tls(Kind::Redis).await
    }

    /// `etcd` also serving its clients over HTTPS, as [`Self::redis_tls`].
    pub async fn etcd_tls() -> Store {
        Self::start_tls(Kind::Etcd).await
    }

    fn new(kind: Kind) -> Store {
        Store {
            kind,
            port: free_port(),
            peer_port: free_port(),
            dir: tempfile::tempdir().expect("store dir"),
            child: None,
            tls: None,
        }
    }

    async fn start(kind: Kind) -> Store {
        let mut store = Self::new(kind);
        store.launch().await;
        store
    }

    async fn start_tls(kind: Kind) -> Store {
        let mut store = Self::new(kind);
        let ca = crate::support::tls::TestCa::new("store test CA");
        let ca_path = store.dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca.pem()).expect("write ca");
        ca.leaf(&["localhost", "127.0.0.1"])
            .write(store.dir.path(), "server");
        store.tls = Some((free_port(), ca_path));
        store.launch().await;
        store
    }

    /// `host:port` of the TLS port, and the CA file (a store started with TLS).
    pub fn tls_endpoint(&self) -> (String, PathBuf) {
        let (port, ca) = self.tls.clone().expect("a store started with TLS");
        (format!("127.0.0.1:{port}"), ca)
    }

    /// `host:port` for the gateway's `endpoints`.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn command(&self) -> Command {
        let dir = self.dir.path();
        match self.kind {
            Kind::Redis => {
                let mut c = Command::new("redis-server");
                c.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
                    .args([
                        "--save",
                        "",
                        "--appendonly",
                        "yes",
                        "--appendfsync",
                        "always",
                    ])
                    .args(["--notify-keyspace-events", "KA"])
                    .arg("--dir")
                    .arg(dir);
                if let Some((tls_port, ca)) = &self.tls {
                    c.args(["--tls-port", &tls_port.to_string()])
                        .arg("--tls-cert-file")
                        .arg(dir.join("server.pem"))
                        .arg("--tls-key-file")
                        .arg(dir.join("server.key"))
                        .arg("--tls-ca-cert-file")
                        .arg(ca)
                        .args(["--tls-auth-clients", "no"]);
                }
                c
            }
            Kind::Etcd => {
                let client = format!("http://127.0.0.1:{}", self.port);
                let peer = format!("http://127.0.0.1:{}", self.peer_port);
                let listen = match &self.tls {
                    Some((tls_port, _)) => format!("{client},https://127.0.0.1:{tls_port}"),
                    None => client.clone(),
                };
                let mut c = Command::new("etcd");
                if self.tls.is_some() {
                    c.arg("--cert-file")
                        .arg(dir.join("server.pem"))
                        .arg("--key-file")
                        .arg(dir.join("server.key"));
                }
                c.args(["--name", "t"])
                    .arg("--data-dir")
                    .arg(PathBuf::from(dir).join("etcd"))
                    .args([
                        "--listen-client-urls",
                        &listen,
                        "--advertise-client-urls",
                        &client,
                    ])
                    .args([
                        "--listen-peer-urls",
                        &peer,
                        "--initial-advertise-peer-urls",
                        &peer,
                    ])
                    .args(["--initial-cluster", &format!("t={peer}")]);
                c
            }
        }
    }

    async fn launch(&mut self) {
        let child = self
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the store (run scripts/setup.sh: redis-server, etcd-server)");
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if self.answers().await {
                return;
            }
            assert!(started.elapsed() < START_WITHIN, "the store did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn answers(&self) -> bool {
        match self.kind {
            Kind::Redis => self.redis_conn().await.is_some(),
            Kind::Etcd => self
                .etcd_call("/v3/kv/range", &serde_json::json!({"key": B64.encode("x")}))
                .await
                .is_some(),
        }
    }

    /// Stops the process (SIGTERM, then waits for it to exit).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    /// Starts the process again on the same ports, with the same data.
    pub async fn restart(&mut self) {
        self.launch().await;
    }

    /// Writes every pair in one step (Redis MSET; an etcd transaction).
    pub async fn put(&self, pairs: &[(&str, &str)]) {
        match self.kind {
            Kind::Redis => {
                let mut conn = self.redis_conn().await.expect("redis connection");
                let mut cmd = redis::cmd("MSET");
                for (k, v) in pairs {
                    cmd.arg(*k).arg(*v);
                }
                let () = cmd.query_async(&mut conn).await.expect("MSET");
            }
            Kind::Etcd => {
                let success: Vec<_> = pairs
                    .iter()
                    .map(|(k, v)| {
                        serde_json::json!({"request_put": {"key": B64.encode(k), "value": B64.encode(v)}})
                    })
                    .collect();
                let txn = serde_json::json!({"success": success});
                self.etcd_call("/v3/kv/txn", &txn).await.expect("etcd txn");
            }
        }
    }

    /// Writes one binary value (a plugin file).
    pub async fn put_bytes(&self, key: &str, value: &[u8]) {
        match self.kind {
            Kind::Redis => {
                let mut conn = self.redis_conn().await.expect("redis connection");
                let () = redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .query_async(&mut conn)
                    .await
                    .expect("SET");
            }
            Kind::Etcd => {
                let body = serde_json::json!({"key": B64.encode(key), "value": B64.encode(value)});
                self.etcd_call("/v3/kv/put", &body).await.expect("etcd put");
            }
        }
    }

    /// Deletes `keys`.
    pub async fn delete(&self, keys: &[&str]) {
        match self.kind {
            Kind::Redis => {
                let mut conn = self.redis_conn().await.expect("redis connection");
                let _: i64 = redis::cmd("DEL")
                    .arg(keys)
                    .query_async(&mut conn)
                    .await
                    .expect("DEL");
            }
            Kind::Etcd => {
                for key in keys {
                    let body = serde_json::json!({"key": B64.encode(key)});
                    self.etcd_call("/v3/kv/deleterange", &body)
                        .await
                        .expect("etcd delete");
                }
            }
        }
    }

    async fn redis_conn(&self) -> Option<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).ok()?;
        client.get_multiplexed_async_connection().await.ok()
    }

    async fn etcd_call(&self, path: &str, body: &serde_json::Value) -> Option<serde_json::Value> {
        use http_body_util::{BodyExt, Full};
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Full<bytes::Bytes>>();
        let req = http::Request::post(format!("http://127.0.0.1:{}{path}", self.port))
            .body(Full::new(bytes::Bytes::from(body.to_string())))
            .ok()?;
        let resp = tokio::time::timeout(Duration::from_secs(5), client.request(req))
            .await
            .ok()?
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let bytes = resp.into_body().collect().await.ok()?.to_bytes();
        serde_json::from_slice(&bytes).ok()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.stop();
    }
}
