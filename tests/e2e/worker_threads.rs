//! `WASMGATE_WORKER_THREADS`: how many runtime threads serve requests. The benchmark harness
//! (bench/) runs the gateway with one, like the single-worker proxies it is compared with.
//! With two or more, by default (`WASMGATE_WORKER_MODEL=per-core`) each worker thread has its
//! own runtime and listener per entrypoint; `shared` is one work-stealing runtime.
//!
//! The gateway is spawned here directly (the shared `Gateway` guard sets no extra environment).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{Client, Config, Upstream};

/// Kills the gateway when the test ends, however it ends.
struct Spawned {
    child: Child,
    addr: String,
    config: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Spawned {
    /// Names of the process's threads (`/proc/PID/task/*/comm`, at most 15 bytes each). Tokio
    /// names its runtime threads `tokio-...` (`tokio-rt-worker` today).
    fn thread_names(&self) -> Vec<String> {
        let tasks = format!("/proc/{}/task", self.child.id());
        let mut names = Vec::new();
        for entry in std::fs::read_dir(tasks).unwrap() {
            let comm = entry.unwrap().path().join("comm");
            names.push(std::fs::read_to_string(comm).unwrap().trim().to_owned());
        }
        names
    }
}

/// The gateway's config: every request to `upstream`; `entrypoint`: more YAML for `web`.
fn config_for(upstream: &Upstream, entrypoint: &str) -> String {
    Config::new()
        .entrypoint(entrypoint)
        .route("app", "PathPrefix(`/`)", "app")
        .service("app", &upstream.url())
        .yaml()
}

fn spawn_with_workers(upstream: &Upstream, workers: &str) -> Spawned {
    spawn_with_env(upstream, &[("WASMGATE_WORKER_THREADS", workers)], "")
}

fn spawn_with_env(upstream: &Upstream, env: &[(&str, &str)], entrypoint: &str) -> Spawned {
    spawn_with_yaml(&config_for(upstream, entrypoint), env)
}

/// The gateway on config `yaml`, with more environment `env`.
fn spawn_with_yaml(yaml: &str, env: &[(&str, &str)]) -> Spawned {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yml");
    std::fs::write(&config, yaml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmgate"))
        .arg("run")
        .arg(&config)
        .envs(env.iter().copied())
        .env("WASMGATE_CACHE_DIR", "off")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("entrypoint web listening on ") {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    // The guard exists before the wait, so a gateway that never starts is still killed.
    let mut spawned = Spawned {
        child,
        addr: String::new(),
        config,
        _dir: dir,
    };
    spawned.addr = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("gateway did not start");
    spawned
}

/// Sends `n` requests at once, each on its own connection; returns how many came back 200
/// with the upstream's body.
async fn concurrent_gets(gw: &Spawned, n: usize) -> usize {
    let url = format!("http://{}/w", gw.addr);
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Client::http1().get(&url, "w.test", &[]).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == 200 && r.text() == "app" {
            ok += 1;
        }
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_thread_serves_concurrent_requests_without_runtime_worker_threads() {
    let up = Upstream::start("app").await;
    let gw = spawn_with_workers(&up, "1");
    assert_eq!(concurrent_gets(&gw, 32).await, 32, "every request answered");
    assert_eq!(up.count(), 32, "the upstream saw every request");
    let names = gw.thread_names();
    assert!(
        !names.iter().any(|n| n.starts_with("tokio-")),
        "a current-thread runtime spawns no worker threads: {names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_threads_setting_sets_the_shared_runtime_worker_count() {
    let up = Upstream::start("app").await;
    let gw = spawn_with_env(
        &up,
        &[
            ("WASMGATE_WORKER_THREADS", "3"),
            ("WASMGATE_WORKER_MODEL", "shared"),
        ],
        "",
    );
    assert_eq!(concurrent_gets(&gw, 32).await, 32, "every request answered");
    assert_eq!(up.count(), 32, "the upstream saw every request");
    let workers = gw
        .thread_names()
        .iter()
        .filter(|n| n.starts_with("tokio-"))
        .count();
    assert_eq!(workers, 3, "three runtime worker threads");
}

/// The listening TCP sockets on `port` (`/proc/net/tcp`, state `0A`): one per listener.
fn listeners_on(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            cols.len() > 3
                && cols[3] == "0A"
                && cols[1].rsplit(':').next() == Some(format!("{port:04X}").as_str())
        })
        .count()
}

const PER_CORE_2: &[(&str, &str)] = &[
    ("WASMGATE_WORKER_MODEL", "per-core"),
    ("WASMGATE_WORKER_THREADS", "2"),
];

fn port_of(gw: &Spawned) -> u16 {
    gw.addr.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_core_workers_with_reuse_port_each_listen_on_the_port_and_serve_every_request() {
    let up = Upstream::start("app").await;
    // Per-core is the default model with two workers or more.
    let gw = spawn_with_env(&up, &[("WASMGATE_WORKER_THREADS", "2")], "reusePort: true");
    let one_per_worker = listeners_on(port_of(&gw));
    assert_eq!(one_per_worker, 2, "one SO_REUSEPORT listener per worker");
    let names = gw.thread_names();
    for worker in ["wasmgate-w0", "wasmgate-w1"] {
        assert!(
            names.iter().any(|n| n == worker),
            "{worker} runs: {names:?}"
        );
    }
    assert_eq!(concurrent_gets(&gw, 64).await, 64, "every request answered");
    assert_eq!(up.count(), 64, "the upstream saw every request");
    // Keep-alive reuse on each worker's own upstream connections.
    let client = Client::http1();
    let url = format!("http://{}/again", gw.addr);
    for _ in 0..20 {
        let r = client.get(&url, "w.test", &[]).await;
        assert_eq!((r.status.as_u16(), r.text()), (200, "app".to_owned()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_core_workers_serve_a_reloaded_config_and_stop_on_sigterm() {
    let old = Upstream::start("old").await;
    let new = Upstream::start("new").await;
    let mut gw = spawn_with_env(&old, PER_CORE_2, "");
    // Without `reusePort` the workers share one socket that no other process may join.
    assert_eq!(listeners_on(port_of(&gw)), 1, "one listening socket");
    assert!(
        std::net::TcpListener::bind(&gw.addr).is_err(),
        "the port stays closed to others"
    );
    let url = format!("http://{}/r", gw.addr);
    assert_eq!(Client::http1().get(&url, "w.test", &[]).await.text(), "old");
    std::fs::write(&gw.config, config_for(&new, "")).unwrap();
    // Every worker reads the one snapshot: once a fresh connection sees the new upstream, so
    // do all the connections after it, whichever worker accepts them.
    let until = std::time::Instant::now() + Duration::from_secs(30);
    while Client::http1().get(&url, "w.test", &[]).await.text() != "new" {
        assert!(
            std::time::Instant::now() < until,
            "the reload was not applied"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answers: Vec<String> = futures_util::future::join_all(
        (0..32).map(|_| async { Client::http1().get(&url, "w.test", &[]).await.text() }),
    )
    .await;
    assert!(answers.iter().all(|a| a == "new"), "{answers:?}");
    // As an operator would stop it.
    let status = Command::new("kill")
        .args(["-TERM", &gw.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let until = std::time::Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = gw.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < until,
            "the gateway did not stop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "clean exit after SIGTERM: {exit:?}");
}

/// Each worker thread adds to request counters of its own (no shared atomics on the request
/// path); a scrape sums them: requests spread over two per-core workers are each counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_core_workers_count_every_request_exactly_once_in_metrics() {
    let up = Upstream::start("app").await;
    let statics = "metrics:\n  prometheus:\n    entryPoint: web\n    addRoutersLabels: true\n";
    let yaml = format!("{}{statics}", config_for(&up, "reusePort: true"));
    let gw = spawn_with_yaml(&yaml, PER_CORE_2);
    assert_eq!(listeners_on(port_of(&gw)), 2, "one listener per worker");
    let n = 200;
    let mut ok = 0;
    for _ in 0..n / 50 {
        ok += concurrent_gets(&gw, 50).await;
    }
    assert_eq!(ok, n, "every request answered");
    assert_eq!(up.count(), n, "the upstream saw every request");
    // A request is recorded once its response body has gone out: scrape until the router's
    // count is in (it may trail the client's last read), then check every figure is exact.
    let url = format!("http://{}/metrics", gw.addr);
    let client = Client::http1();
    let router = [
        ("code", "200"),
        ("method", "GET"),
        ("protocol", "http"),
        ("router", "app@file"),
        ("service", "app@file"),
    ];
    let until = std::time::Instant::now() + Duration::from_secs(30);
    let samples = loop {
        let s = crate::observability::parse_exposition(
            &crate::observability::scrape(&client, &url).await,
        );
        let counted = s
            .iter()
            .find(|((name, labels), _)| {
                name == "traefik_router_requests_total"
                    && router
                        .iter()
                        .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map_or(0.0, |(_, v)| *v);
        if counted >= n as f64 || std::time::Instant::now() > until {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let total = |name: &str, scope: &[(&str, &str)]| -> f64 {
        samples
            .iter()
            .filter(|((metric, labels), _)| {
                metric == name
                    && scope
                        .iter()
                        .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, v)| *v)
            .sum()
    };
    let n = n as f64;
    let ep = [("entrypoint", "web"), ("code", "200")];
    let svc = [("service", "app@file"), ("code", "200")];
    assert_eq!(total("traefik_router_requests_total", &router), n);
    assert_eq!(total("traefik_entrypoint_requests_total", &ep), n);
    assert_eq!(total("traefik_service_requests_total", &svc), n);
    assert_eq!(
        total("traefik_service_request_duration_seconds_count", &svc),
        n,
        "the histogram counts every request once"
    );
    let mut inf = svc.to_vec();
    inf.push(("le", "+Inf"));
    assert_eq!(
        total("traefik_service_request_duration_seconds_bucket", &inf),
        n
    );
    assert_eq!(
        total("traefik_service_responses_bytes_total", &svc),
        3.0 * n,
        "\"app\", three bytes a response"
    );
}

#[test]
fn an_unknown_worker_model_is_refused_with_its_name() {
    let out = Command::new(env!("CARGO_BIN_EXE_wasmgate"))
        .args(["run", "/nonexistent.yml"])
        .env("WASMGATE_WORKER_MODEL", "per-thread")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("WASMGATE_WORKER_MODEL") && stderr.contains("per-thread"),
        "{stderr}"
    );
}
