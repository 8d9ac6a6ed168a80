//! Traefik's `compress`, served by the bundled `compress` plugin: the plugin negotiates, the
//! gateway compresses natively while streaming (`compression` capability). Each of gzip, br
//! and zstd is negotiated and decoded here to the upstream's bytes; small, excluded and
//! already-encoded responses are left alone; the gateway's memory does not grow with the body.

use std::io::Read;

use crate::forward_auth::roomy;
use crate::support::{Client, Config, Gateway, Upstream, UpstreamBehavior};

const MIB: usize = 1 << 20;

fn gateway(upstream_url: &str, options: &str) -> Gateway {
    let yaml = roomy(
        Config::new()
            .route_through("squeezed", "PathPrefix(`/`)", "app", "squeeze")
            .service("app", upstream_url)
            .middlewares(&format!("    squeeze:\n      compress:\n{options}")),
    );
    Gateway::start(&yaml, &[])
}

fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let read = match encoding {
        "gzip" => flate2::read::GzDecoder::new(body).read_to_end(&mut out),
        "br" => brotli::Decompressor::new(body, 4096).read_to_end(&mut out),
        "zstd" => zstd::stream::read::Decoder::new(body).and_then(|mut d| d.read_to_end(&mut out)),
        other => panic!("unexpected encoding {other}"),
    };
    read.unwrap_or_else(|e| panic!("{encoding} does not decode: {e}"));
    out
}

#[tokio::test]
async fn gzip_br_and_zstd_are_negotiated_and_decode_to_the_upstreams_bytes() {
    let up = Upstream::start_with("app", UpstreamBehavior::BigBody(MIB)).await;
    let gw = gateway(&up.url(), "        encodings: [zstd, br, gzip]\n");
    let client = Client::http1();
    for (accept, expected) in [
        ("gzip", "gzip"),
        ("gzip;q=0.5, br", "br"),
        ("br;q=0.2, zstd;q=0.9, gzip;q=0.1", "zstd"),
        ("*", "zstd"),
    ] {
        let reply = client
            .get(&gw.url("/big"), "", &[("accept-encoding", accept)])
            .await;
        assert_eq!(reply.status, 200, "{accept}");
        assert_eq!(reply.header("content-encoding"), Some(expected), "{accept}");
        assert_eq!(reply.header("vary"), Some("Accept-Encoding"));
        assert!(reply.header("content-length").is_none(), "streamed");
        assert!(
            reply.body.len() < MIB / 10,
            "{expected}: {} bytes",
            reply.body.len()
        );
        let decoded = decode(expected, &reply.body);
        assert_eq!(decoded.len(), MIB);
        assert!(decoded.iter().all(|b| *b == b'x'), "the upstream's bytes");
    }
    let plain = client
        .get(&gw.url("/big"), "", &[("accept-encoding", "identity")])
        .await;
    assert!(plain.header("content-encoding").is_none());
    assert_eq!(plain.body.len(), MIB);
    assert_eq!(
        plain.header("vary"),
        Some("Accept-Encoding"),
        "it could have been"
    );
}

#[tokio::test]
async fn small_excluded_and_range_responses_are_left_alone() {
    let up = Upstream::start("app").await;
    let client = Client::http1();
    let gw = gateway(&up.url(), "        minResponseBodyBytes: 1024\n");
    let small = client
        .get(&gw.url("/"), "", &[("accept-encoding", "gzip")])
        .await;
    assert_eq!(small.text(), "app", "3 bytes, under minResponseBodyBytes");
    assert!(small.header("content-encoding").is_none());

    let big = Upstream::start_with("big", UpstreamBehavior::BigBody(64 << 10)).await;
    let only_html = gateway(&big.url(), "        includedContentTypes: [text/html]\n");
    let excluded = client
        .get(&only_html.url("/"), "", &[("accept-encoding", "gzip")])
        .await;
    assert!(
        excluded.header("content-encoding").is_none(),
        "not text/html"
    );
    assert_eq!(excluded.body.len(), 64 << 10);

    let gw = gateway(&big.url(), "        encodings: [gzip]\n");
    let range = client
        .get(
            &gw.url("/"),
            "",
            &[("accept-encoding", "gzip"), ("range", "bytes=0-9")],
        )
        .await;
    assert!(
        range.header("content-encoding").is_none(),
        "a Range request"
    );
}

#[tokio::test]
async fn a_compressed_body_streams_without_the_gateway_holding_it() {
    let body = 16 * MIB;
    let up = Upstream::start_with("app", UpstreamBehavior::BigBody(body)).await;
    let gw = gateway(&up.url(), "");
    let client = Client::http1();
    // Warm up: pools, plugin instances, codec tables.
    for accept in ["gzip", "br", "zstd"] {
        client
            .get(&gw.url("/"), "", &[("accept-encoding", accept)])
            .await;
    }
    for accept in ["gzip", "br", "zstd"] {
        let (before, _) = gw.memory_kib();
        gw.reset_peak_memory();
        let reply = client
            .get(&gw.url("/"), "", &[("accept-encoding", accept)])
            .await;
        assert_eq!(reply.header("content-encoding"), Some(accept));
        assert_eq!(decode(accept, &reply.body).len(), body);
        let (_, peak) = gw.memory_kib();
        let growth_kib = peak.saturating_sub(before);
        eprintln!("{accept}: peak RSS growth {growth_kib} KiB for a {body}-byte body");
        assert!(
            growth_kib < 4 * 1024,
            "{accept}: the gateway grew by {growth_kib} KiB for a 16 MiB body"
        );
    }
}

#[test]
fn a_plugin_importing_compression_needs_the_grant_at_load() {
    let yaml = Config::new()
        .plugin_dir()
        .route_through("r", "PathPrefix(`/`)", "app", "squeeze")
        .service("app", "http://127.0.0.1:1")
        .middlewares("    squeeze:\n      plugin:\n        name: compress\n")
        .yaml();
    let (ok, stdout, stderr) = crate::support::check_config(&yaml, &[]);
    assert!(!ok, "refused without the grant; stdout: {stdout}");
    assert!(
        stderr.contains(".yml:") && stderr.contains("imports the compression capability"),
        "{stderr}"
    );
}

/// CPU time (user + system) the gateway process has used, in milliseconds.
fn cpu_ms(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    // Fields after the command name (which may hold spaces) start at state (field 3).
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 =
        fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
    ticks * 10
}

/// A gateway gzipping `/native` by the host (`compress`) and `/wasm` inside a plugin granted
/// `body` (`tests/plugins/wasm-gzip`), both to `upstream_url`; `more` adds to the config,
/// `statics` to the static config.
fn native_and_wasm_gzip(
    upstream_url: &str,
    more: impl FnOnce(Config) -> Config,
    statics: &str,
) -> Gateway {
    let config = Config::new()
        .plugin_dir()
        .route_through("native", "PathPrefix(`/native`)", "app", "native")
        .route_through("wasm", "PathPrefix(`/wasm`)", "app", "wasm")
        .service("app", upstream_url)
        .middlewares(
            "    native:\n      compress:\n        encodings: [gzip]\n    wasm:\n      plugin:\n        name: wasm-gzip\n        capabilities: [body]\n        body: { response: { maxBytes: 2MiB } }\n",
        );
    let yaml = format!("{}{statics}", roomy(more(config)));
    Gateway::start(
        &yaml,
        &[(
            "wasm-gzip",
            crate::support::fixture_wasm("fixture_wasm_gzip"),
        )],
    )
}

/// 1 MiB responses gzipped natively by the host while streaming (`compress`) and inside a
/// plugin on the `body` capability (`tests/plugins/wasm-gzip`, flate2 compiled to Wasm): both
/// decode to the upstream's bytes. It also prints what each costs the gateway (CPU time and
/// peak RSS growth over sequential requests; `--nocapture` shows it), the measurement behind
/// compressing natively; nothing about time is asserted.
#[tokio::test]
async fn gzip_natively_and_in_a_plugin_both_decode_and_their_cost_is_printed() {
    let up = Upstream::start_with("app", UpstreamBehavior::BigBody(MIB)).await;
    let gw = native_and_wasm_gzip(&up.url(), |c| c, "");
    let client = Client::http1();
    const N: u64 = 20;
    for path in ["/native", "/wasm"] {
        for _ in 0..3 {
            client
                .get(&gw.url(path), "", &[("accept-encoding", "gzip")])
                .await;
        }
        let (before, _) = gw.memory_kib();
        gw.reset_peak_memory();
        let cpu = cpu_ms(gw.pid());
        let started = std::time::Instant::now();
        let mut out = 0;
        for _ in 0..N {
            let reply = client
                .get(&gw.url(path), "", &[("accept-encoding", "gzip")])
                .await;
            assert_eq!(reply.header("content-encoding"), Some("gzip"), "{path}");
            assert_eq!(decode("gzip", &reply.body).len(), MIB);
            out = reply.body.len();
        }
        let wall = started.elapsed().as_secs_f64() * 1000.0 / N as f64;
        let cpu = (cpu_ms(gw.pid()) - cpu) as f64 / N as f64;
        let (_, peak) = gw.memory_kib();
        eprintln!(
            "{path}: {wall:.1} ms wall, {cpu:.1} ms gateway CPU per 1 MiB response ({out} bytes out), peak RSS +{} KiB",
            peak.saturating_sub(before)
        );
    }
}

/// Traefik's access log names the upstream's body size (`OriginContentSize`) beside the bytes
/// sent (`DownstreamContentSize`), and their ratio (`GzipRatio`) where a middleware made them
/// differ: compressed natively while streaming (`compress`), and by a plugin given the whole
/// body (`body` capability). A route without a middleware sends the upstream's bytes: both
/// sizes agree and no ratio is written. With headers kept, `origin_` headers are the
/// upstream's and `downstream_` ones the client's (`Content-Encoding` only there).
#[tokio::test]
async fn the_access_log_names_the_upstreams_size_and_the_compression_ratio() {
    let up = Upstream::start_with("app", UpstreamBehavior::BigBody(MIB)).await;
    let gw = native_and_wasm_gzip(
        &up.url(),
        |c| c.route("plain", "PathPrefix(`/plain`)", "app"),
        "accessLog:\n  filePath: access.json\n  format: json\n  fields:\n    headers: { defaultMode: keep }\n",
    );
    let client = Client::http1();
    let mut sent = std::collections::BTreeMap::new();
    for path in ["/native", "/wasm", "/plain"] {
        let reply = client
            .get(&gw.url(path), "", &[("accept-encoding", "gzip")])
            .await;
        assert_eq!(reply.status, 200, "{path}");
        sent.insert(path, reply.body.len() as u64);
    }
    assert!(sent["/native"] < MIB as u64 / 10 && sent["/wasm"] < MIB as u64 / 10);
    assert_eq!(sent["/plain"], MIB as u64);

    let log = gw.config_path().with_file_name("access.json");
    let lines = crate::observability::read_lines(&log, 3);
    assert_eq!(lines.len(), 3, "{lines:?}");
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let path = v["RequestPath"].as_str().expect("RequestPath");
        let downstream = v["DownstreamContentSize"].as_u64().expect("a size");
        assert_eq!(downstream, sent[path], "{path}: {v}");
        assert_eq!(v["OriginContentSize"], MIB as u64, "{path}: {v}");
        // The upstream's headers before the middleware, the client's after it.
        assert!(v.get("origin_Content-Encoding").is_none(), "{path}: {v}");
        match path {
            "/plain" => {
                assert!(v.get("GzipRatio").is_none(), "{v}");
                assert!(v.get("downstream_Content-Encoding").is_none(), "{v}");
            }
            _ => {
                assert_eq!(
                    v["GzipRatio"].as_f64(),
                    Some(MIB as f64 / downstream as f64),
                    "{path}: {v}"
                );
                assert_eq!(v["downstream_Content-Encoding"], "gzip", "{path}: {v}");
            }
        }
    }
}
