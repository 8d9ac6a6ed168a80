//! The real `wasmgate` binary as a child process, with a config written to a temp dir.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Config;

/// Path of a guest component built by host/build.rs (e.g. `fixture_loop`).
pub fn fixture_wasm(stem: &str) -> PathBuf {
    Path::new(env!("WASMGATE_WASM_DIR")).join(format!("{stem}.wasm"))
}

/// A free local port (bound and released: a gateway entry point binds it right after), for an
/// entry point whose address a test must know, such as `traefik`.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Compiled plugins are cached here across the gateways a test run starts.
fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasmgate-plugin-cache")
}

pub struct Gateway {
    child: Child,
    pub addr: SocketAddr,
    /// Holds the config and plugin directory for the life of the process.
    _dir: tempfile::TempDir,
    stderr: Arc<Mutex<String>>,
}

impl Gateway {
    /// Starts a gateway whose config is `yaml` (written as `gateway.yml`; it must declare an
    /// entrypoint `web` on `127.0.0.1:0`). `plugins` are (name, .wasm path) copied into the
    /// plugin directory `plugins/` next to the config.
    pub fn start(yaml: &str, plugins: &[(&str, PathBuf)]) -> Gateway {
        Self::start_with_cache(yaml, plugins, &cache_dir())
    }

    /// A gateway with one catch-all router to one upstream server at `server_url`, and no
    /// plugins: the shape most protocol suites need. `entrypoint` is YAML for the entrypoint
    /// `web` beyond its address (e.g. `transport: { limits: { maxConnections: 5 } }`), or "".
    pub fn single_route(server_url: &str, entrypoint: &str) -> Gateway {
        Self::start(
            &Config::new()
                .entrypoint(entrypoint)
                .route("all", "PathPrefix(`/`)", "app")
                .service("app", server_url)
                .yaml(),
            &[],
        )
    }

    /// Like `start`, with its own compiled-plugin cache directory.
    pub fn start_with_cache(yaml: &str, plugins: &[(&str, PathBuf)], cache: &Path) -> Gateway {
        Self::spawn(yaml, plugins, cache, &[])
    }

    /// Like `start`, with these variables added to the gateway's environment.
    pub fn start_with_env(yaml: &str, env: &[(&str, &str)]) -> Gateway {
        Self::spawn(yaml, &[], &cache_dir(), env)
    }

    /// Like `start` (with plugins), with these variables added to the gateway's environment.
    pub fn start_with_plugins_and_env(
        yaml: &str,
        plugins: &[(&str, PathBuf)],
        env: &[(&str, &str)],
    ) -> Gateway {
        Self::spawn(yaml, plugins, &cache_dir(), env)
    }

    fn spawn(
        yaml: &str,
        plugins: &[(&str, PathBuf)],
        cache: &Path,
        env: &[(&str, &str)],
    ) -> Gateway {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_config(dir.path(), yaml, plugins);
        Self::launch(dir, &path, cache, env)
    }

    /// Like `start` without plugins, with `files` (path relative to the config's directory,
    /// contents) written first: e.g. Traefik plugin layouts, `plugins/<name>/.traefik.yml`.
    pub fn start_with_files(yaml: &str, files: &[(&str, Vec<u8>)]) -> Gateway {
        let dir = tempfile::tempdir().expect("tempdir");
        for (relative, bytes) in files {
            let path = dir.path().join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create fixture dir");
            }
            std::fs::write(&path, bytes).expect("write fixture file");
        }
        let path = write_config(dir.path(), yaml, &[]);
        Self::launch(dir, &path, &cache_dir(), &[])
    }

    /// Like `start` without plugins, the process running with group id `gid` (root's user
    /// otherwise), so that iptables can tell the gateway's own connections apart
    /// (`-m owner --gid-owner`). Started from a thread inside a network namespace, the gateway
    /// runs in that namespace.
    pub fn start_in_group(yaml: &str, gid: u32) -> Gateway {
        Self::start_in_group_with_plugins(yaml, gid, &[])
    }

    /// [`Gateway::start_in_group`] with `plugins` in its plugin directory.
    pub fn start_in_group_with_plugins(
        yaml: &str,
        gid: u32,
        plugins: &[(&str, PathBuf)],
    ) -> Gateway {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_config(dir.path(), yaml, plugins);
        let mut command = Command::new(env!("CARGO_BIN_EXE_wasmgate"));
        std::os::unix::process::CommandExt::gid(&mut command, gid);
        Self::launch_command(command, dir, &path, &cache_dir(), &[])
    }

    fn launch(dir: tempfile::TempDir, path: &Path, cache: &Path, env: &[(&str, &str)]) -> Gateway {
        let command = Command::new(env!("CARGO_BIN_EXE_wasmgate"));
        Self::launch_command(command, dir, path, cache, env)
    }

    fn launch_command(
        mut command: Command,
        dir: tempfile::TempDir,
        path: &Path,
        cache: &Path,
        env: &[(&str, &str)],
    ) -> Gateway {
        let mut child = command
            .arg("run")
            .arg(path)
            .envs(env.iter().copied())
            .env("WASMGATE_CACHE_DIR", cache)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn wasmgate");
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let mut pipe = child.stderr.take().expect("stderr");
            let sink = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("entrypoint web listening on ") {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(a) => a.parse().expect("listening address"),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("gateway did not start; stderr:\n{}", stderr.lock().unwrap());
            }
        };
        Gateway {
            child,
            addr,
            _dir: dir,
            stderr,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Everything the gateway wrote to stderr so far (its log).
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle` (logs are written asynchronously).
    pub fn wait_for_log(&self, needle: &str) -> bool {
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The config file the gateway was started with (rewrite it to test reloads).
    pub fn config_path(&self) -> PathBuf {
        self._dir.path().join("gateway.yml")
    }

    /// The plugin directory (`plugins/` next to the config).
    pub fn plugin_dir(&self) -> PathBuf {
        self._dir.path().join("plugins")
    }

    /// Sends a signal (`TERM`, `HUP`...) to the gateway process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits (bounded, as a hang guard) for the process to exit; returns its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// How many times `needle` occurs in the log so far.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log().matches(needle).count()
    }

    /// Awaits (polling every 10 ms, without blocking the test's runtime) until `needle` occurs
    /// at least `count` times in the log, for at most `within` (a hang guard); whether it did.
    pub async fn await_log_count(&self, needle: &str, count: usize, within: Duration) -> bool {
        let until = Instant::now() + within;
        while self.log_count(needle) < count {
            if Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits (bounded, as a hang guard) until the gateway holds exactly `open` client
    /// connections on its entrypoint and has none left in the listener's accept queue, as the
    /// kernel's socket table (/proc/net/tcp) shows them: a connection counts from its handshake
    /// until the gateway closes its side. Tests of connection limits await this instead of
    /// sleeping and hoping the gateway has accepted (or let go of) what they opened.
    pub fn wait_for_client_connections(&self, open: usize) {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let seen = client_connections(self.addr);
            if seen == (open, 0) {
                return;
            }
            assert!(
                Instant::now() < until,
                "the gateway holds (open, not yet accepted) = {seen:?} client connections, \
                 not ({open}, 0)"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The process's resident set and its peak since start or the last `reset_peak_memory`,
    /// in KiB (`VmRSS`, `VmHWM` from /proc/<pid>/status).
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/<pid>/status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{name} missing in /proc/<pid>/status"))
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Resets the peak resident set (`VmHWM`) to the current one (writes 5 to
    /// /proc/<pid>/clear_refs), so a later `memory_kib` shows the peak of what came after.
    pub fn reset_peak_memory(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5")
            .expect("write /proc/<pid>/clear_refs");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_config(dir: &Path, yaml: &str, plugins: &[(&str, PathBuf)]) -> PathBuf {
    let plugin_dir = dir.join("plugins");
    std::fs::create_dir_all(&plugin_dir).expect("plugin dir");
    for (name, src) in plugins {
        std::fs::copy(src, plugin_dir.join(format!("{name}.wasm")))
            .unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
    }
    let path = dir.join("gateway.yml");
    std::fs::write(&path, yaml).expect("write config");
    path
}

/// Runs `wasmgate check` on a config; returns (success, stdout, stderr).
pub fn check_config(yaml: &str, plugins: &[(&str, PathBuf)]) -> (bool, String, String) {
    run_check(Command::new(env!("CARGO_BIN_EXE_wasmgate")), yaml, plugins)
}

/// Asserts that `wasmgate check` refuses `yaml` with an error at the line of its first `key:`
/// (`gateway.yml:LINE:`) that mentions `reason`.
pub fn assert_refused_at_key(yaml: &str, plugins: &[(&str, PathBuf)], key: &str, reason: &str) {
    let line = yaml
        .lines()
        .position(|l| l.trim_start().starts_with(&format!("{key}:")))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{key} in the config"));
    let (ok, stdout, stderr) = check_config(yaml, plugins);
    assert!(!ok, "refused: {key}; stdout: {stdout}");
    assert!(
        stderr.contains(&format!(".yml:{line}:")) && stderr.contains(reason),
        "expected line {line} and {reason:?}: {stderr}"
    );
}

/// Runs `wasmgate run` on a config (written as `gateway.yml` in a temporary directory) that
/// must stop start-up; returns its stderr. Panics when the gateway exits successfully.
pub fn run_refused(yaml: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gateway.yml");
    std::fs::write(&path, yaml).expect("write config");
    let out = Command::new(env!("CARGO_BIN_EXE_wasmgate"))
        .arg("run")
        .arg(&path)
        .output()
        .expect("run wasmgate");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "start-up was not refused: {stderr}");
    stderr
}

/// The `LINE: key: reason` part of each error line `wasmgate check` wrote for `gateway.yml`.
pub fn located_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter_map(|line| line.split_once("gateway.yml:").map(|(_, rest)| rest))
        .collect()
}

/// `check_config` at the lowest CPU priority (`nice -n 19`): for compiling big components into
/// the shared cache while timing-sensitive suites run beside it on the same cores.
pub fn check_config_niced(yaml: &str, plugins: &[(&str, PathBuf)]) -> (bool, String, String) {
    let mut nice = Command::new("nice");
    nice.args(["-n", "19", env!("CARGO_BIN_EXE_wasmgate")]);
    run_check(nice, yaml, plugins)
}

fn run_check(
    mut command: Command,
    yaml: &str,
    plugins: &[(&str, PathBuf)],
) -> (bool, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(dir.path(), yaml, plugins);
    let out = command
        .arg("check")
        .arg(&path)
        .env("WASMGATE_CACHE_DIR", cache_dir())
        .output()
        .expect("run wasmgate check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `(open, waiting)` for the IPv4 listener at `addr`, from /proc/net/tcp: `open` counts the
/// server-side sockets of its connections the gateway has not closed (ESTABLISHED or
/// CLOSE_WAIT), `waiting` the connections still in the accept queue (the listener's rx_queue).
fn client_connections(addr: SocketAddr) -> (usize, usize) {
    const ESTABLISHED: &str = "01";
    const CLOSE_WAIT: &str = "08";
    const LISTEN: &str = "0A";
    let std::net::IpAddr::V4(ip) = addr.ip() else {
        panic!("{addr}: only IPv4 listeners are looked up");
    };
    // IPv4 addresses are printed as the u32 in host byte order (little-endian here).
    let local = format!(
        "{:08X}:{:04X}",
        u32::from_le_bytes(ip.octets()),
        addr.port()
    );
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    let (mut open, mut waiting) = (0, 0);
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, address, _, state, queues, ..] = fields[..] else {
            continue;
        };
        if address != local {
            continue;
        }
        match state {
            ESTABLISHED | CLOSE_WAIT => open += 1,
            LISTEN => {
                let rx = queues.split_once(':').map_or("0", |(_, rx)| rx);
                waiting = usize::from_str_radix(rx, 16).expect("rx_queue");
            }
            _ => {}
        }
    }
    (open, waiting)
}
