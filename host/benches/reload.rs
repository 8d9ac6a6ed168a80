//! Reload and start-up measurements for the hot-reload issue (a benchmark, not a test):
//! - start-up time (process spawn to "listening") with 20 distinct plugins, cold compile cache
//!   vs warm cache, median of 5 each;
//! - plugin swap latency: rename of a new plugin file -> first response served by it, median of
//!   20 (polled every 2 ms);
//! - gateway RSS after 1 vs 100 plugin reloads.
//!
//! Run: `cargo bench -p wasmgate --bench reload`. Uses the release `wasmgate` binary and the
//! test fixtures built by host/build.rs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn wasm(stem: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("WASMGATE_WASM_DIR")).join(format!("{stem}.wasm")))
        .expect("fixture")
}

/// A distinct component with the same behaviour: the fixture plus a unique custom section
/// (id 0, valid at the end of a component), so every copy has its own content hash.
fn distinct(base: &[u8], n: usize) -> Vec<u8> {
    let name = format!("wasmgate-bench-{n}");
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name.as_bytes());
    let mut out = base.to_vec();
    out.push(0);
    out.push(payload.len() as u8);
    out.extend_from_slice(&payload);
    out
}

fn write_config(dir: &Path, plugins: usize, upstream: SocketAddr) -> PathBuf {
    let mut yaml = String::from(
        "entryPoints:\n  web: { address: \"127.0.0.1:0\" }\nplugins:\n  directory: plugins\nlog: { level: warn }\nhttp:\n  routers:\n",
    );
    yaml.push_str("    r: { rule: \"PathPrefix(`/`)\", service: app, middlewares: [");
    yaml.push_str(
        &(0..plugins)
            .map(|i| format!("m{i}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    yaml.push_str("] }\n");
    yaml.push_str(&format!("  services:\n    app: {{ loadBalancer: {{ servers: [{{ url: \"http://{upstream}\" }}] }} }}\n  middlewares:\n"));
    for i in 0..plugins {
        yaml.push_str(&format!("    m{i}: {{ plugin: {{ name: p{i} }} }}\n"));
    }
    let path = dir.join("gateway.yml");
    std::fs::write(&path, yaml).expect("config");
    path
}

fn spawn(config: &Path, cache: &Path) -> (Child, SocketAddr, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmgate"))
        .arg("run")
        .arg(config)
        .env("WASMGATE_CACHE_DIR", cache)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("gateway exited").expect("read");
        if let Some(a) = line.strip_prefix("entrypoint web listening on ") {
            break a.trim().parse().expect("addr");
        }
    };
    (child, addr, started.elapsed())
}

/// A one-shot HTTP/1.1 GET; returns the raw response head.
fn get(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nhost: b.test\r\nconnection: close\r\n\r\n")
        .expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn upstream() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                );
            });
        }
    });
    addr
}

fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let up = upstream();
    let dir = tempfile::tempdir().expect("tempdir");
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).expect("plugin dir");
    let base = wasm("fixture_tag_v1");
    for i in 0..20 {
        std::fs::write(plugins.join(format!("p{i}.wasm")), distinct(&base, i)).expect("plugin");
    }
    let config = write_config(dir.path(), 20, up);

    // Start-up, cold cache (a fresh cache dir each time) vs warm (one shared, pre-filled).
    let mut cold = Vec::new();
    for round in 0..5 {
        let cache = dir.path().join(format!("cold-cache-{round}"));
        let (mut child, _, took) = spawn(&config, &cache);
        cold.push(took);
        let _ = child.kill();
        let _ = child.wait();
    }
    let warm_cache = dir.path().join("cold-cache-0");
    let mut warm = Vec::new();
    for _ in 0..5 {
        let (mut child, _, took) = spawn(&config, &warm_cache);
        warm.push(took);
        let _ = child.kill();
        let _ = child.wait();
    }
    println!(
        "start-up with 20 plugins: cold cache {:?}, warm cache {:?} (median of 5)",
        median(cold),
        median(warm)
    );

    // Swap latency and RSS over reloads: one plugin alternating between two versions.
    let single = dir.path().join("single");
    std::fs::create_dir_all(single.join("plugins")).expect("dir");
    std::fs::write(single.join("plugins/p0.wasm"), wasm("fixture_tag_v1")).expect("plugin");
    let config = write_config(&single, 1, up);
    let (mut child, addr, _) = spawn(&config, &warm_cache);
    let versions = [
        (wasm("fixture_tag_v2"), "x-plugin-version: 2"),
        (wasm("fixture_tag_v1"), "x-plugin-version: 1"),
    ];
    let mut swaps = Vec::new();
    let mut rss_after_first = 0;
    for i in 0..100 {
        let (bytes, marker) = &versions[i % 2];
        let tmp = single.join("plugins/.p0.tmp");
        std::fs::write(&tmp, bytes).expect("write");
        let written = Instant::now();
        std::fs::rename(&tmp, single.join("plugins/p0.wasm")).expect("rename");
        while !get(addr).to_ascii_lowercase().contains(marker) {
            assert!(
                written.elapsed() < Duration::from_secs(30),
                "swap {i} never served"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        if i < 20 {
            swaps.push(written.elapsed());
        }
        if i == 0 {
            rss_after_first = rss(child.id());
        }
    }
    let rss_after_100 = rss(child.id());
    println!(
        "plugin swap, rename -> first response by the new version: median {:?} of 20",
        median(swaps)
    );
    println!(
        "RSS after 1 reload {} KiB, after 100 reloads {} KiB (growth {} KiB)",
        rss_after_first / 1024,
        rss_after_100 / 1024,
        rss_after_100.saturating_sub(rss_after_first) / 1024
    );
    let _ = child.kill();
    let _ = child.wait();
}
