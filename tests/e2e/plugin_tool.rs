//! The plugin author's tools as an author meets them, through the real `wasmgate` binary:
//! `plugin new` in a directory outside this repository, the build command it prints, then
//! `plugin test` on the result (the project's own `test.sh`); `plugin test` naming the failed
//! check on each misbehaving fixture; `plugin inspect` naming the world of a bundled plugin, a
//! capability plugin and an http-wasm guest.
//!
//! Builds are cached by content so an unchanged tree does not rebuild: JavaScript, Python, C and
//! Go through the projects' own `WASMGATE_BUILD_CACHE` (in `target/lang-wasm/scaffold/`), Rust
//! through a shared `CARGO_TARGET_DIR` (`target/scaffold-rust/`: dependencies built once). The
//! language tools are the ones `scripts/setup.sh` installed under `target/lang-tools/` (the
//! command `plugin new` prints names them); a missing one fails the test naming the script.
//! `plugin test` gets `--deadline 2s`: a debug gateway on a shared 2-core machine (see
//! languages.rs for the measured costs).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::fixture_wasm;

const GUARD_CONFIG: &str = r#"{"keys": {"alice": "alice-secret-key"}}"#;

fn wasmgate() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wasmgate"));
    c.env(
        "WASMGATE_CACHE_DIR",
        target_dir().join("tmp/wasmgate-plugin-cache"),
    );
    c
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp sits in the target directory")
        .to_path_buf()
}

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host crate sits in the workspace")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `plugin new x --lang LANG` in a fresh directory outside the repository, the build command it
/// printed run as printed (plus cache settings), and the project's `test.sh`
/// (`wasmgate plugin test`) on the component. Returns the component's path and the report.
fn scaffold_build_and_test(lang: &str) -> (PathBuf, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let canonical = dir.path().canonicalize().expect("tempdir path");
    assert!(
        !canonical.starts_with(workspace_root().canonicalize().expect("root")),
        "the project must sit outside the repository: {}",
        canonical.display()
    );
    let out = wasmgate()
        .args(["plugin", "new", "x", "--lang", lang])
        .current_dir(dir.path())
        .output()
        .expect("run wasmgate plugin new");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "plugin new --lang {lang}: {stderr}");
    let line = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("plugin new printed no {key:?} line: {stdout}"))
            .to_owned()
    };
    let build = line("build: ");
    let mut wasm = dir.path().join(line("wasm: "));

    let mut sh = Command::new("nice");
    sh.args(["-n", "19", "bash", "-c", &build])
        .current_dir(dir.path())
        .env(
            "WASMGATE_BUILD_CACHE",
            target_dir().join("lang-wasm/scaffold"),
        );
    if lang == "rust" {
        let shared = target_dir().join("scaffold-rust");
        sh.env("CARGO_TARGET_DIR", &shared)
            .env("CARGO_NET_OFFLINE", "true");
        wasm = shared.join("wasm32-wasip2/release/x.wasm");
        let _ = std::fs::remove_file(&wasm);
    }
    let built = sh.output().expect("run the build command");
    let (_, build_err) = text(&built);
    assert!(
        built.status.success(),
        "{lang}: `{build}` failed (tools come from `bash scripts/setup.sh`):\n{build_err}"
    );
    assert!(wasm.is_file(), "{lang}: no component at {}", wasm.display());

    let project = dir.path().join("x");
    let test_args: Vec<String> = if lang == "rust" {
        // test.sh names the in-project path; the shared target directory holds the build.
        vec![
            "plugin".into(),
            "test".into(),
            wasm.display().to_string(),
            "--config".into(),
            GUARD_CONFIG.into(),
            "--header".into(),
            "x-api-key: alice-secret-key".into(),
            "--deadline".into(),
            "2s".into(),
        ]
    } else {
        Vec::new()
    };
    let tested = if lang == "rust" {
        wasmgate().args(&test_args).output().expect("plugin test")
    } else {
        Command::new("bash")
            .args(["test.sh", "--deadline", "2s"])
            .current_dir(&project)
            .env("WASMGATE", env!("CARGO_BIN_EXE_wasmgate"))
            .env(
                "WASMGATE_CACHE_DIR",
                target_dir().join("tmp/wasmgate-plugin-cache"),
            )
            .output()
            .expect("run test.sh")
    };
    let (report, errors) = text(&tested);
    assert!(
        tested.status.success(),
        "{lang}: plugin test failed:\n{report}\n{errors}"
    );
    for expected in [
        "ok   load:",
        "ok   validate-config:",
        "ok   garbage-config:",
        "hooks (pooled):",
        "hooks (per-request):",
        "cost (pooled): on-request median",
        "cost (per-request): on-request median",
        "PASS ",
    ] {
        assert!(
            report.contains(expected),
            "{lang}: no {expected:?} in:\n{report}"
        );
    }
    // The guard answers the request that carries no key, and lets the keyed ones through.
    let bare = report
        .lines()
        .find(|l| l.contains("plain GET without --header headers"))
        .unwrap_or_else(|| panic!("{lang}: {report}"));
    assert!(bare.contains("reply 401"), "{lang}: {bare}");
    let h2 = report
        .lines()
        .find(|l| l.contains("HTTP/2 head (no Host header)"))
        .unwrap_or_else(|| panic!("{lang}: {report}"));
    assert!(
        h2.trim_start().starts_with("ok") && h2.contains("continue"),
        "{lang}: {h2}"
    );
    (wasm, report)
}

#[test]
fn plugin_new_rust_builds_outside_the_repository_and_passes_plugin_test() {
    let (wasm, _) = scaffold_build_and_test("rust");
    // The project's own .cargo/config.toml gave the guest its 64 KiB stack: with Rust's default
    // 1 MiB stack, linear memory would start above 1 MiB.
    let out = wasmgate()
        .args(["plugin", "inspect"])
        .arg(&wasm)
        .output()
        .expect("inspect");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let initial: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("initial memory:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no initial memory in {stdout}"));
    assert!(
        initial < 1 << 20,
        "initial memory {initial}: stack size not applied"
    );
}

#[test]
fn plugin_new_c_builds_and_passes_plugin_test() {
    scaffold_build_and_test("c");
}

/// JavaScript and Python in one test, one after the other: each build and first compile takes
/// 30-80 s of both cores.
#[test]
fn plugin_new_js_and_python_build_and_pass_plugin_test() {
    for lang in ["js", "python"] {
        scaffold_build_and_test(lang);
    }
}

/// Go: the scaffold holds the hand-written binding of the contract, builds with Go's own
/// toolchain and wit-c, and passes `plugin test` like the others.
#[test]
fn plugin_new_go_builds_and_passes_plugin_test() {
    scaffold_build_and_test("go");
}

#[test]
fn plugin_new_refuses_an_unknown_language_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = wasmgate()
        .args(["plugin", "new", "x", "--lang", "cobol"])
        .current_dir(dir.path())
        .output()
        .expect("run wasmgate");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown language \"cobol\"") && stderr.contains("c or go"),
        "{stderr}"
    );
    assert!(!dir.path().join("x").exists());
}

/// `plugin test` exits non-zero and names the check each misbehaving fixture fails. The
/// fixtures misbehave on requests carrying `x-fault`, which `--header` adds to the battery.
#[test]
fn plugin_test_fails_naming_the_check_on_each_misbehaving_fixture() {
    for (fixture, config, check) in [
        ("fixture_loop", "{}", "deadline"),
        ("fixture_trap", "{}", "trap"),
        ("fixture_memory_hog", "{}", "memory-cap"),
        ("fixture_bad_output", r#"{"mode": "status-999"}"#, "output"),
        (
            "fixture_bad_output",
            r#"{"mode": "bad-header-name", "hook": "response"}"#,
            "output",
        ),
    ] {
        let out = wasmgate()
            .args(["plugin", "test"])
            .arg(fixture_wasm(fixture))
            .args(["--config", config, "--header", "x-fault: 1"])
            .output()
            .expect("run plugin test");
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{fixture}: {stdout}{stderr}");
        assert!(
            stdout.contains(&format!("FAIL {check}: pooled,"))
                && stdout.contains(&format!("FAIL {check}: per-request,")),
            "{fixture}: no {check} failure in both modes:\n{stdout}"
        );
        let summary = stderr
            .lines()
            .find(|l| l.contains("FAILED check(s):"))
            .unwrap_or_else(|| panic!("{fixture}: {stderr}"));
        assert!(summary.contains(check), "{fixture}: {summary}");
    }
    // Without the fault header the same fixture passes the battery: the failures above are
    // the fixtures' doing, not the battery's.
    let out = wasmgate()
        .args(["plugin", "test"])
        .arg(fixture_wasm("fixture_bad_output"))
        .args(["--config", r#"{"mode": "status-999"}"#])
        .output()
        .expect("run plugin test");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
}

/// `plugin test` also reports a plugin that accepts garbage as its config, or fails to start.
#[test]
fn plugin_test_names_a_plugin_that_accepts_garbage_config() {
    let out = wasmgate()
        .args(["plugin", "test"])
        .arg(fixture_wasm("fixture_loop"))
        .output()
        .expect("run plugin test");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("FAIL garbage-config: accepted configs that are not JSON"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("FAIL deadline"),
        "no fault header, no loop: {stdout}"
    );
}

fn inspect(path: &Path) -> String {
    let out = wasmgate()
        .args(["plugin", "inspect"])
        .arg(path)
        .output()
        .expect("run plugin inspect");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{}: {stderr}", path.display());
    stdout
}

fn world(report: &str) -> &str {
    report
        .lines()
        .find_map(|l| l.strip_prefix("world:"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no world in {report}"))
}

/// The names under `imports:` in an inspection report.
fn imports_of(report: &str) -> Vec<&str> {
    report
        .lines()
        .skip_while(|l| *l != "imports:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(str::trim)
        .collect()
}

/// The bundled plugins are built for `wasm32-unknown-unknown` and made components by
/// host/build.rs: none imports wasi-libc's stdio, terminal, environment or exit interfaces
/// (each import is wiring a per-request instantiation pays for); the one WASI interface a
/// bundled plugin may import is `wasi:random/random`, and only the two that ask for random
/// bytes (`plugin_sdk::random::fill`: basicAuth's cache key, headers' CSP nonce) do.
#[test]
fn bundled_plugins_import_no_wasi_interface_but_random() {
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
    let mut crates: Vec<String> = std::fs::read_dir(&plugins)
        .expect("read plugins/")
        .map(|entry| entry.expect("plugins/ entry").path())
        .filter(|dir| dir.join("Cargo.toml").is_file())
        .filter_map(|dir| Some(dir.file_name()?.to_str()?.to_owned()))
        .collect();
    crates.sort();
    assert!(crates.len() >= 20, "{crates:?}");
    let mut random_users = Vec::new();
    for name in &crates {
        let report = inspect(&fixture_wasm(&format!(
            "wasmgate_plugin_{}",
            name.replace('-', "_")
        )));
        let imports = imports_of(&report);
        assert!(
            imports.iter().any(|i| i.starts_with("wasmgate:plugin/")),
            "{name}: {report}"
        );
        for import in imports.iter().filter(|i| i.starts_with("wasi:")) {
            assert!(
                import.starts_with("wasi:random/random@0.2."),
                "{name} imports {import}:\n{report}"
            );
            random_users.push(name.as_str());
        }
    }
    assert_eq!(random_users, ["basic-auth", "headers"]);
}

#[test]
fn plugin_inspect_names_the_world_of_bundled_capability_and_http_wasm_plugins() {
    let headers = inspect(&fixture_wasm("wasmgate_plugin_headers"));
    assert_eq!(world(&headers), "middleware-with-capabilities", "{headers}");
    assert!(
        headers.contains("  wasmgate:plugin/handler@0.1.0"),
        "{headers}"
    );
    assert!(headers.contains("sha256:          "), "{headers}");

    let plain = inspect(&fixture_wasm("fixture_plain_world"));
    assert_eq!(world(&plain), "middleware", "{plain}");

    let rate_limit = inspect(&fixture_wasm("wasmgate_plugin_rate_limit"));
    assert_eq!(
        world(&rate_limit),
        "middleware-with-pre-take",
        "{rate_limit}"
    );
    assert!(
        rate_limit.contains("  wasmgate:plugin/counters@0.1.0"),
        "{rate_limit}"
    );
    assert!(
        rate_limit.contains("  wasmgate:plugin/client-ip@0.1.0"),
        "{rate_limit}"
    );

    let compress = inspect(&fixture_wasm("wasmgate_plugin_compress"));
    assert_eq!(
        world(&compress),
        "middleware-with-compression",
        "{compress}"
    );

    let certs = inspect(&fixture_wasm("wasmgate_plugin_pass_tls_client_cert"));
    assert_eq!(
        world(&certs),
        "middleware-with-client-connection",
        "{certs}"
    );
    assert!(
        certs.contains("  wasmgate:plugin/client-connection@0.1.0"),
        "{certs}"
    );

    let breaker = inspect(&fixture_wasm("wasmgate_plugin_circuit_breaker"));
    assert_eq!(world(&breaker), "middleware-with-kv", "{breaker}");
    assert!(breaker.contains("  wasmgate:plugin/kv@0.1.0"), "{breaker}");
    let grpc_web = inspect(&fixture_wasm("wasmgate_plugin_grpc_web"));
    assert_eq!(world(&grpc_web), "middleware-with-grpc-web", "{grpc_web}");
    assert!(
        grpc_web.contains("  wasmgate:plugin/grpc-web@0.1.0"),
        "{grpc_web}"
    );
    let basic = inspect(&fixture_wasm("wasmgate_plugin_basic_auth"));
    assert_eq!(world(&basic), "middleware-with-verdict-memo", "{basic}");
    assert!(
        basic.contains("  wasmgate:plugin/identity@0.1.0"),
        "{basic}"
    );

    // An http-wasm guest (Traefik's Wasm plugin format): a core module.
    let dir = tempfile::tempdir().expect("tempdir");
    let wat = workspace_root().join("tests/http-wasm/headers.wat");
    let wasm = dir.path().join("headers.wasm");
    std::fs::write(&wasm, wat::parse_file(&wat).expect("wat")).expect("write");
    let guest = inspect(&wasm);
    assert_eq!(world(&guest), "http-wasm", "{guest}");
    assert!(guest.contains("http_handler.get_config"), "{guest}");
    assert!(
        guest.contains("declared memory 0: minimum 64.0 KiB"),
        "{guest}"
    );

    // `plugin test` drives it through the same battery.
    let out = wasmgate()
        .args(["plugin", "test"])
        .arg(&wasm)
        .output()
        .expect("run plugin test");
    let (stdout, stderr) = text(&out);
    assert!(
        stdout.contains("world:          http-wasm"),
        "{stdout}{stderr}"
    );
    assert!(stdout.contains("hooks (pooled):"), "{stdout}{stderr}");
}

/// A connection-level (L4) plugin: `inspect` names its world; `plugin test` runs `on-connect`
/// (plain and TLS connection) instead of the HTTP battery, and fails naming a trap or loop.
#[test]
fn plugin_inspect_and_test_handle_connection_level_plugins() {
    let allow = inspect(&fixture_wasm("wasmgate_plugin_tcp_in_flight_conn"));
    assert_eq!(world(&allow), "connection-middleware", "{allow}");
    assert!(
        allow.contains("  wasmgate:plugin/counters@0.1.0"),
        "{allow}"
    );

    let run = |config: &str| {
        let out = wasmgate()
            .args(["plugin", "test"])
            .arg(fixture_wasm("fixture_connection_probe"))
            .args(["--config", config])
            .output()
            .expect("run plugin test");
        let (stdout, stderr) = text(&out);
        (out.status.code(), stdout, stderr)
    };
    let (code, stdout, stderr) = run(r#"{"mode": "sni", "sni": "example.test", "alpn": "h2"}"#);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    for needle in [
        "world:          connection-middleware",
        "ok   on-connect: plain: reject (want example.test / h2",
        "ok   on-connect: tls: accept",
        "cost: on-connect median",
    ] {
        assert!(stdout.contains(needle), "want {needle:?} in:\n{stdout}");
    }
    for (mode, failure) in [
        ("trap", "plugin trapped"),
        ("loop", "exceeded its deadline"),
    ] {
        let (code, stdout, stderr) = run(&format!(r#"{{"mode": "{mode}"}}"#));
        assert_eq!(code, Some(1), "{mode}: {stdout}{stderr}");
        assert!(
            stdout.contains("FAIL on-connect: plain: ") && stdout.contains(failure),
            "{mode}: {stdout}"
        );
    }
}
