//! `WASMGATE_WORKER_THREADS`: how many runtime threads serve requests. The benchmark harness
//! (bench/) runs the gateway with one, like the single-worker proxies it is compared with.
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

fn spawn_with_workers(upstream: &Upstream, workers: &str) -> Spawned {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yml");
    std::fs::write(
        &config,
        Config::new()
            .route("app", "PathPrefix(`/`)", "app")
            .service("app", &upstream.url())
            .yaml(),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmgate"))
        .arg("run")
        .arg(&config)
        .env("WASMGATE_WORKER_THREADS", workers)
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
async fn worker_threads_setting_sets_the_runtime_worker_count() {
    let up = Upstream::start("app").await;
    let gw = spawn_with_workers(&up, "3");
    assert_eq!(concurrent_gets(&gw, 32).await, 32, "every request answered");
    assert_eq!(up.count(), 32, "the upstream saw every request");
    let workers = gw
        .thread_names()
        .iter()
        .filter(|n| n.starts_with("tokio-"))
        .count();
    assert_eq!(workers, 3, "three runtime worker threads");
}
