//! Microbenchmark: one middleware (the bundled `headers` plugin, the Traefik `headers` config
//! of a typical route) on a request with 10 headers, `on-request` + `on-response`, in both
//! isolation modes. Reports median and p99 in µs per request (both hooks together).
//!
//! Run: `cargo bench -p wasmgate --bench plugin_call` (add `-- --quick` for a short run).
//! No gateway, no sockets: this measures the plugin boundary only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Request, Response};
use wasmgate::plugins::{
    Chain, EngineSettings, Isolation, MiddlewareBudget, PluginEngine, PluginMiddleware,
    PluginRegistry, RequestHead, RequestOutcome, ResponseHead, ResponseOutcome,
};

const CONFIG: &str = r#"{
  "customRequestHeaders": {"X-Script-Name": "bench", "X-Remove-Me": ""},
  "customResponseHeaders": {"X-Custom-Response": "yes"}
}"#;

fn request_head(chain_len: usize) -> RequestHead {
    let mut b = Request::builder().method("GET").uri("/api/v1/users?page=2");
    for (n, v) in [
        ("host", "api.example.com"),
        ("user-agent", "bench/1.0"),
        ("accept", "application/json"),
        ("accept-encoding", "gzip, br"),
        ("accept-language", "en-GB,en;q=0.9"),
        ("x-request-id", "7f3c2a1e-44b1-4a77-9c1e-0c8f5d2b9a10"),
        ("x-remove-me", "secret"),
        ("cookie", "session=abcdef0123456789"),
        ("x-forwarded-for", "10.0.0.1"),
        ("x-forwarded-proto", "http"),
    ] {
        b = b.header(n, v);
    }
    let (parts, ()) = b.body(()).expect("valid request").into_parts();
    RequestHead::new(
        parts,
        "/api/v1/users".into(),
        "10.0.0.1:50000".parse().expect("addr"),
        false,
        Arc::from("bench"),
        chain_len,
    )
}

fn response_head() -> ResponseHead {
    let (parts, ()) = Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("content-length", "1024")
        .body(())
        .expect("valid response")
        .into_parts();
    ResponseHead::new(parts)
}

fn run(chain: &Chain, iterations: usize) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let head = request_head(chain.len());
        let resp = response_head();
        let started = Instant::now();
        let mut state = chain.start();
        let (head, outcome) = chain.on_request(head, &mut state);
        assert!(matches!(outcome, RequestOutcome::Forward));
        let (_req, _resp, outcome) = chain.on_response(head, resp, &mut state);
        drop(state);
        samples.push(started.elapsed());
        assert!(matches!(outcome, ResponseOutcome::Forward));
    }
    samples
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1e6
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // `--only NAME` (e.g. `floor/pooled`) runs one case, for profiling.
    let args: Vec<String> = std::env::args().collect();
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let (warmup, iterations) = if quick {
        (2_000, 20_000)
    } else {
        (20_000, 200_000)
    };
    let engine = Arc::new(PluginEngine::new(EngineSettings::default()).expect("engine"));
    let registry = PluginRegistry::load(engine.clone(), None).expect("registry");
    let plugin = registry
        .compiled("headers")
        .expect("compile")
        .expect("bundled headers plugin");
    println!("plugin_call: one middleware, 10 request headers, on-request + on-response");
    println!(
        "{:<22} {:>10} {:>10} {:>10}",
        "plugin/isolation", "median µs", "p99 µs", "samples"
    );
    // `headers` sets 2 headers and removes 1; `floor` is the same plugin with nothing to do:
    // the cost of lending the heads and calling both hooks.
    for (label, config) in [("headers", CONFIG), ("floor", "{}")] {
        for isolation in [Isolation::Pooled, Isolation::PerRequest] {
            let mode = match isolation {
                Isolation::Pooled => "pooled",
                Isolation::PerRequest => "per-request",
            };
            if only
                .as_deref()
                .is_some_and(|o| o != format!("{label}/{mode}"))
            {
                continue;
            }
            let budget = MiddlewareBudget {
                isolation,
                ..MiddlewareBudget::default()
            };
            let mw =
                PluginMiddleware::configure(engine.clone(), "hdrs", plugin.clone(), config, budget)
                    .expect("configure");
            let chain = Chain::new(vec![Arc::new(mw)]);
            run(&chain, warmup);
            let mut samples = run(&chain, iterations);
            samples.sort_unstable();
            println!(
                "{:<22} {:>10.2} {:>10.2} {:>10}",
                format!("{label}/{mode}"),
                percentile(&samples, 0.5),
                percentile(&samples, 0.99),
                samples.len()
            );
        }
    }
}
