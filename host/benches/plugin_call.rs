//! Microbenchmark of the plugin boundary: each bundled plugin with a typical Traefik config, on
//! a request with 10 ordinary headers, the chain's request hooks then its response hooks (what
//! the gateway calls for one request: `on-response` only where a middleware declared it wants
//! it), mostly in `pooled` mode; the chain `headers` + `basicAuth` (cache warm) +
//! `stripPrefix`; a few `per-request` rows; the API-key guard example in each plugin language
//! (Rust, C, Go, JavaScript, Python: `guard-<lang>/pooled|per-request`, with size, compile time
//! and initial memory); the retry plugin's `retry-after` (`retry/retry-after`); and cold bcrypt verifications (cost 5 and 10) with the deadline the
//! config layer gives them. Reports median and p99 per request.
//!
//! Run: `cargo bench -p wasmgate --bench plugin_call` (add `-- --quick` for a short run, about
//! 10 s in all; `-- --only LABEL` for one row, e.g. `chain/pooled`, for profiling;
//! `-- --samples N` for N samples per warm row, e.g. a long run of one row under `perf`;
//! `-- --plugin-dir DIR` to measure `*.wasm` files in DIR instead of the bundled plugins of the
//! same name, e.g. a plugin rebuilt without relinking the host).
//! No gateway, no sockets: this measures the plugin boundary only. Middleware configs go
//! through `wasmgate::config::load_from_str`, so plugins get exactly the JSON and budget a
//! gateway would give them.

#[path = "plugin_call/auth.rs"]
mod auth;
#[path = "plugin_call/cases.rs"]
mod cases;
#[path = "plugin_call/languages.rs"]
mod languages;
#[path = "plugin_call/redis.rs"]
mod redis;
#[path = "plugin_call/retry.rs"]
mod retry;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Request, Response};
use wasmgate::app::build::budget_from_config;
use wasmgate::config::{DEFAULT_DEADLINE, LoadedConfig, load_from_str};
use wasmgate::plugins::bindings::completion::Ending;
use wasmgate::plugins::{
    Chain, ConnectionFacts, EngineSettings, Isolation, PluginEngine, PluginMiddleware,
    PluginRegistry, RequestHead, RequestOutcome, ResponseHead, ResponseOutcome, Subresponse,
};

use auth::{COLD, ColdBcrypt, DIGEST_URI, DigestClient, basic};
use cases::{CONFIG, Expect, ROWS, RequestMaker, RequestParts, Row};

const BASE_HEADERS: [(&str, &str); 8] = [
    ("user-agent", "bench/1.0"),
    ("accept", "application/json"),
    ("accept-encoding", "gzip, br"),
    ("accept-language", "en-GB,en;q=0.9"),
    ("x-request-id", "7f3c2a1e-44b1-4a77-9c1e-0c8f5d2b9a10"),
    ("x-remove-me", "secret"),
    ("cookie", "session=abcdef0123456789"),
    ("x-forwarded-for", "10.0.0.1"),
];

/// The connection every benchmarked request arrived on (shared, as the proxy shares one per
/// connection).
static CONNECTION: std::sync::LazyLock<Arc<ConnectionFacts>> = std::sync::LazyLock::new(|| {
    Arc::new(ConnectionFacts::at(std::net::SocketAddr::from((
        [127, 0, 0, 1],
        8080,
    ))))
});

/// `GET /api/v1/users?page=2` with `host`, the 8 base headers, `x-forwarded-proto` and `extra`.
fn request_head(parts: RequestParts, chain_len: usize) -> RequestHead {
    let mut b = Request::builder()
        .method("GET")
        .uri(DIGEST_URI)
        .header("host", parts.host);
    for (n, v) in BASE_HEADERS {
        b = b.header(n, v);
    }
    b = b.header(
        "x-forwarded-proto",
        if parts.tls { "https" } else { "http" },
    );
    for (n, v) in &parts.extra {
        b = b.header(*n, v.as_str());
    }
    let (head, ()) = b.body(()).expect("valid request").into_parts();
    let raw_path = head.uri.path().to_string();
    RequestHead::new(
        head,
        raw_path.into(),
        parts.client,
        parts.tls,
        CONNECTION.clone(),
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

/// One request through `chain` (both hooks, as the gateway runs them): its duration and what
/// came back (`Forward`, or the status of a plugin's reply). A plugin failure is `Err`.
fn one(chain: &Chain, head: RequestHead) -> (Duration, Result<Expect, String>) {
    let resp = response_head();
    let started = Instant::now();
    // A chain with a middleware that asked for `on-complete` (circuit-breaker, in-flight-req)
    // pays it here too: outside a Tokio runtime `finish` runs the hooks inline.
    let mut completion = chain.completion();
    let mut state = chain.start();
    let (mut head, mut outcome) = chain.on_request(head, &mut state);
    // forward-auth: the auth server's 200, made up here (the row measures the plugin only).
    loop {
        match outcome {
            RequestOutcome::Subrequest(_) => {
                let answer = Subresponse {
                    status: 200,
                    headers: vec![("x-auth-user".to_string(), b"alice".to_vec())],
                    body: Vec::new(),
                    body_truncated: false,
                };
                (head, outcome) = chain.resume_request(head, &mut state, Ok(answer));
            }
            // rate-limit with `redis`: the real round trip to the bench's redis-server, awaited
            // on a current-thread runtime as the request's task would await it.
            RequestOutcome::Takes(takes) => {
                let answers = runtime().block_on(takes.run());
                (head, outcome) = chain.resume_takes(head, &mut state, answers);
            }
            _ => break,
        }
    }
    if let Some(completion) = &mut completion {
        chain.note_entered(&state, completion);
        completion.keep_request(&mut head);
    }
    let (mut req, mut resp, mut response) = chain.on_response(head, resp, &mut state);
    // A response hook with `kv` in Redis: the operation awaited, the hook called again.
    while let ResponseOutcome::Kv(call) = response {
        let answered = runtime().block_on(call.run());
        (req, resp, response) = chain.resume_response_kv(
            req,
            resp,
            &mut state,
            wasmgate::plugins::BodyStart::UNKNOWN,
            answered,
        );
    }
    drop(resp);
    if let Some(mut completion) = completion {
        completion.keep_response(&mut req);
        let status = match &response {
            ResponseOutcome::Replace(reply) => reply.status.as_u16(),
            _ => 200,
        };
        // Inside the bench's runtime (the Redis rows) `finish` spawns its task there: run it
        // to its end here (its `kv` operations in Redis awaited), so the sample includes it.
        let before = tokio::runtime::Handle::try_current()
            .map(|h| h.metrics().num_alive_tasks())
            .ok();
        completion.finish(Some(status), 1024, Ending::Complete);
        if let Some(before) = before {
            runtime().block_on(async {
                while tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks()
                    > before
                {
                    tokio::task::yield_now().await;
                }
            });
        }
    }
    drop(state);
    let elapsed = started.elapsed();
    let result = match (outcome, response) {
        (RequestOutcome::Failed(e), _) | (_, ResponseOutcome::Failed(e)) => Err(e.to_string()),
        (RequestOutcome::Respond(reply), _) => Ok(Expect::Respond(reply.status.as_u16())),
        (RequestOutcome::Forward, ResponseOutcome::Replace(reply)) => {
            Ok(Expect::Respond(reply.status.as_u16()))
        }
        (RequestOutcome::Forward, ResponseOutcome::Forward) => Ok(Expect::Forward),
        (RequestOutcome::Subrequest(_) | RequestOutcome::Takes(_), _)
        | (_, ResponseOutcome::Subrequest(_) | ResponseOutcome::Kv(_)) => {
            Err("an unanswered subrequest".to_string())
        }
    };
    (elapsed, result)
}

fn run(chain: &Chain, maker: &mut RequestMaker, expect: Expect, n: usize) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let head = request_head(maker.next(), chain.len());
        let (elapsed, got) = one(chain, head);
        assert_eq!(got, Ok(expect), "the row must measure the path it names");
        samples.push(elapsed);
    }
    samples
}

/// One row of the warm table: median and p99 in µs, and the sample count.
fn print_row(label: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    println!(
        "{:<34} {:>10.2} {:>10.2} {:>10}",
        label,
        us(percentile(&samples, 0.5)),
        us(percentile(&samples, 0.99)),
        samples.len()
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The middleware `name` of `config`, configured as the gateway would (its budget from the
/// config layer), optionally switched to `per-request`.
fn configured(
    engine: &Arc<PluginEngine>,
    registry: &PluginRegistry,
    config: &LoadedConfig,
    name: &str,
    per_request: bool,
) -> PluginMiddleware {
    let mw = config
        .dynamic
        .http
        .middlewares
        .get(name)
        .unwrap_or_else(|| panic!("middleware {name} in the bench config"));
    let plugin = registry
        .compiled(&mw.plugin)
        .expect("compile")
        .unwrap_or_else(|| panic!("plugin {}", mw.plugin));
    let mut budget = budget_from_config(&mw.runtime);
    if plugin.imports_kv() && mw.runtime.kv {
        budget.kv = Some(wasmgate::plugins::kv::kv_scope_for(name));
    }
    if plugin.imports_counters() && mw.runtime.counters {
        budget.counters = Some(wasmgate::plugins::counters::scope_for(name));
    }
    if plugin.imports_outbound_http()
        && let Some(outbound) = &mw.runtime.outbound
    {
        // The grant's transport spawns its pool reaper: built inside a runtime.
        let _entered = runtime().enter();
        let key = ["http", "middlewares", name];
        let grant = wasmgate::app::outbound_grant::build(
            config,
            &key,
            outbound,
            &std::collections::HashMap::new(),
        )
        .expect("the grant");
        budget.outbound = Some(grant);
    }
    if let Some(redis) = &mw.runtime.kv_redis {
        budget.redis_kv =
            Some(wasmgate::plugins::redis_kv::RedisKv::new(name, redis, None).expect("redis"));
    }
    if let Some(redis) = &mw.runtime.counters_redis {
        budget.redis_counters = Some(
            wasmgate::plugins::redis_counters::RedisCounters::new(name, redis, None)
                .expect("redis"),
        );
    }
    if per_request {
        budget.isolation = Isolation::PerRequest;
    }
    PluginMiddleware::configure(engine.clone(), name, plugin, &mw.config_json, budget)
        .expect("configure")
}

/// [`configured`], shared.
fn middleware(
    engine: &Arc<PluginEngine>,
    registry: &PluginRegistry,
    config: &LoadedConfig,
    name: &str,
    per_request: bool,
) -> Arc<PluginMiddleware> {
    Arc::new(configured(engine, registry, config, name, per_request))
}

/// The Digest client for a chain holding `digest-auth`: one unauthenticated request for the
/// challenge (also warms the instance).
fn digest_client(chain: &Chain) -> DigestClient {
    let mut plain = RequestMaker::new(cases::Req::Plain, None);
    let mut state = chain.start();
    let (_, outcome) = chain.on_request(request_head(plain.next(), chain.len()), &mut state);
    let RequestOutcome::Respond(reply) = outcome else {
        panic!("digest-auth must challenge a request without credentials");
    };
    let challenge = reply
        .headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .expect("a WWW-Authenticate challenge");
    DigestClient::from_challenge(challenge).expect("nonce and opaque in the challenge")
}

struct Bench {
    engine: Arc<PluginEngine>,
    registry: PluginRegistry,
    quick: bool,
    only: Option<String>,
    samples: Option<usize>,
}

impl Bench {
    /// Whether row `label` runs: every row, or those `--only` names (comma-separated).
    fn wants(&self, label: &str) -> bool {
        self.only
            .as_deref()
            .is_none_or(|o| o.split(',').any(|l| l == label))
    }

    fn warm_row(&self, config: &LoadedConfig, row: &Row) {
        let mws = row
            .middlewares
            .iter()
            .map(|name| {
                let mw = configured(&self.engine, &self.registry, config, name, row.per_request);
                // Rows measure the hook path unless they keep the plugin's declarations
                // (fixed edits, pre-take, verdict memo).
                Arc::new(match row.declared {
                    true => mw,
                    false => mw.with_hooks_called(),
                })
            })
            .collect();
        let chain = Chain::new(mws);
        let digest = row
            .middlewares
            .contains(&"digest-auth")
            .then(|| digest_client(&chain));
        let mut maker = RequestMaker::new(row.req, digest);
        let (warmup, iterations) = if self.quick {
            (2_000, 20_000)
        } else {
            (20_000, 200_000)
        };
        let iterations = self.samples.unwrap_or(iterations);
        run(&chain, &mut maker, row.expect, warmup);
        print_row(row.label, run(&chain, &mut maker, row.expect, iterations));
    }

    /// Cold verifications of `cold`'s hash: each sample is a user the instance has not verified
    /// yet. With `deadline`, the middleware's deadline is forced to it (instead of what the
    /// config layer chose). Returns the sorted samples that passed and the number that failed.
    fn cold_samples(
        &self,
        cold: &ColdBcrypt,
        n: usize,
        deadline: Option<Duration>,
    ) -> (Vec<Duration>, usize, Duration) {
        let text = cold.config(n + 1, None);
        let config = load_from_str("cold.yaml", &text).expect("cold config loads");
        let mw = &config.dynamic.http.middlewares["cold"];
        let plugin = self
            .registry
            .compiled(&mw.plugin)
            .expect("compile")
            .expect("basic-auth plugin");
        let mut budget = budget_from_config(&mw.runtime);
        if let Some(d) = deadline {
            budget.deadline = d;
        }
        let used = budget.deadline;
        let mw = PluginMiddleware::configure(
            self.engine.clone(),
            "cold",
            plugin,
            &mw.config_json,
            budget,
        )
        .expect("configure");
        let chain = Chain::new(vec![Arc::new(mw)]);
        let head = |user: usize| {
            let parts = RequestParts {
                host: "api.example.com",
                tls: false,
                client: ([10, 0, 0, 1], 50000).into(),
                extra: vec![("authorization", basic(&format!("u{user}"), cold.password))],
            };
            request_head(parts, 1)
        };
        // u0 warms the instance (instantiation, init), off the clock.
        let _ = one(&chain, head(0));
        let mut samples = Vec::with_capacity(n);
        let mut failed = 0;
        for user in 1..=n {
            let (elapsed, got) = one(&chain, head(user));
            match got {
                Ok(Expect::Forward) => samples.push(elapsed),
                Ok(other) => panic!("cold login of u{user} answered {other:?}"),
                Err(_) => failed += 1,
            }
        }
        samples.sort_unstable();
        (samples, failed, used)
    }

    /// http-wasm guests (Traefik Wasm plugins, core modules), pooled and per-request: a WAT
    /// guest that sets one request header and one response header (the same work as a small
    /// `headers` config, through the http-wasm host instead of the component contract), and
    /// the Rust guest built with `http-wasm-guest` and the Go guest (standard library) answering
    /// 401 (their size and compile time printed above the rows).
    fn http_wasm_rows(&self) {
        const GUEST: &str = r#"(module
          (import "http_handler" "set_header_value" (func $set (param i32 i32 i32 i32 i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "x-hw")
          (data (i32.const 8) "1")
          (func (export "handle_request") (result i64)
            (call $set (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 8) (i32.const 1))
            (i64.const 1))
          (func (export "handle_response") (param i32 i32)
            (call $set (i32.const 1) (i32.const 0) (i32.const 4) (i32.const 8) (i32.const 1))))"#;
        let headers = wat::parse_str(GUEST).expect("the bench guest is valid WAT");
        // The guest built with the published `http-wasm-guest` crate (host/build.rs), on its
        // reject path (no API key: it answers 401 itself).
        let rust_guest = std::fs::read(env!("WASMGATE_HTTP_WASM_RUST_GUEST")).expect("rust guest");
        let compile = |bytes: &[u8]| {
            let started = Instant::now();
            let module = wasmgate::plugins::http_wasm::HttpWasmModule::compile(&self.engine, bytes)
                .expect("compile the http-wasm guest");
            (Arc::new(module), started.elapsed())
        };
        let (headers, _) = compile(&headers);
        let (guard, guard_compile) = compile(&rust_guest);
        println!(
            "(http-wasm-rust-guard: {} KiB, compiled in {:.1} ms)",
            rust_guest.len() / 1024,
            ms(guard_compile)
        );
        // The Go guest (standard library, host/build.rs; empty path without a Go toolchain),
        // on the same reject path.
        let go_guest = Some(env!("WASMGATE_HTTP_WASM_GO_GUEST"))
            .filter(|p| !p.is_empty())
            .map(|p| std::fs::read(p).expect("go guest"));
        let go_guard = go_guest.as_ref().map(|bytes| {
            let (module, took) = compile(bytes);
            println!(
                "(http-wasm-go-guard: {} KiB, compiled in {:.1} ms)",
                bytes.len() / 1024,
                ms(took)
            );
            module
        });
        if go_guard.is_none() {
            println!("(http-wasm-go-guard rows skipped: no Go toolchain; run scripts/setup.sh)");
        }
        let go_rows = go_guard.iter().flat_map(|guard| {
            [
                (
                    "http-wasm-go-guard/pooled",
                    guard,
                    r#"{"key":"secret"}"#,
                    Expect::Respond(401),
                    Isolation::Pooled,
                ),
                (
                    "http-wasm-go-guard/per-request",
                    guard,
                    r#"{"key":"secret"}"#,
                    Expect::Respond(401),
                    Isolation::PerRequest,
                ),
            ]
        });
        for (label, module, config, expect, isolation) in [
            (
                "http-wasm-headers/pooled",
                &headers,
                "{}",
                Expect::Forward,
                Isolation::Pooled,
            ),
            (
                "http-wasm-headers/per-request",
                &headers,
                "{}",
                Expect::Forward,
                Isolation::PerRequest,
            ),
            (
                "http-wasm-rust-guard/pooled",
                &guard,
                r#"{"key":"secret"}"#,
                Expect::Respond(401),
                Isolation::Pooled,
            ),
            (
                "http-wasm-rust-guard/per-request",
                &guard,
                r#"{"key":"secret"}"#,
                Expect::Respond(401),
                Isolation::PerRequest,
            ),
        ]
        .into_iter()
        .chain(go_rows)
        {
            if !self.wants(label) {
                continue;
            }
            // Go's runtime starts in every fresh instance (about a millisecond, more on a busy
            // machine): a 2 s deadline so that a slow start is measured, not killed (it does not
            // change what a call costs), and fewer samples.
            let go_start = label.starts_with("http-wasm-go") && isolation == Isolation::PerRequest;
            let budget = wasmgate::plugins::MiddlewareBudget {
                isolation,
                deadline: if go_start {
                    Duration::from_secs(2)
                } else {
                    DEFAULT_DEADLINE
                },
                ..Default::default()
            };
            let identity = wasmgate::plugins::host_state::PluginIdentity {
                middleware: Arc::from("hw"),
                plugin: Arc::from("hw"),
                hash: Arc::from("bench"),
                output_budget: Arc::default(),
            };
            let mw = PluginMiddleware::http_wasm(
                self.engine.clone(),
                identity,
                module.clone(),
                config,
                budget,
            )
            .expect("configure the http-wasm guest");
            let chain = Chain::new(vec![Arc::new(mw)]);
            let mut maker = RequestMaker::new(cases::Req::Plain, None);
            let (warmup, iterations) = match (self.quick, go_start) {
                (true, false) => (2_000, 20_000),
                (true, true) => (50, 500),
                (false, false) => (20_000, 200_000),
                (false, true) => (200, 5_000),
            };
            run(&chain, &mut maker, expect, warmup);
            print_row(label, run(&chain, &mut maker, expect, iterations));
        }
    }

    fn cold_rows(&self) {
        let wanted = |label: &str| self.wants(label);
        if !COLD.iter().any(|c| wanted(c.label)) {
            return;
        }
        println!();
        println!(
            "cold bcrypt: a user the verification cache has not seen, pooled, one request each"
        );
        println!(
            "{:<34} {:>10} {:>10} {:>10} {:>8} {:>12}",
            "row", "median ms", "p99 ms", "max ms", "killed", "deadline ms"
        );
        for cold in &COLD {
            if !wanted(cold.label) {
                continue;
            }
            let n = match (self.quick, cold.label.ends_with("10")) {
                (true, false) => 40,
                (true, true) => 10,
                (false, false) => 300,
                (false, true) => 40,
            };
            let (samples, failed, deadline) = self.cold_samples(cold, n, None);
            print_cold(cold.label, &samples, failed, n, deadline);
            if cold.label.ends_with("10") {
                // What the plain default deadline would do to the same logins.
                let n = if self.quick { 4 } else { 10 };
                let (samples, failed, deadline) =
                    self.cold_samples(cold, n, Some(DEFAULT_DEADLINE));
                print_cold(
                    "  (same, plain default deadline)",
                    &samples,
                    failed,
                    n,
                    deadline,
                );
            }
        }
    }
}

fn print_cold(label: &str, samples: &[Duration], failed: usize, n: usize, deadline: Duration) {
    let stat = |p: f64| {
        if samples.is_empty() {
            "-".to_string()
        } else {
            format!("{:.1}", ms(percentile(samples, p)))
        }
    };
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>8} {:>12.0}",
        label,
        stat(0.5),
        stat(0.99),
        stat(1.0),
        format!("{failed}/{n}"),
        ms(deadline)
    );
}

/// The runtime the bench awaits on (subrequest transports, Redis takes).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The engine's settings: the gateway's defaults, with `--engine KEY=VALUE` overrides (pool
/// tuning experiments without a rebuild): `keep-resident=BYTES`, `table-keep-resident=BYTES`,
/// `pagemap-scan=true|false`, `reservation=BYTES` (below 4 GiB: guests keep their bounds checks),
/// `decommit-batch=N` (freed slots flushed N at a time), `perf-map=true|false` (wasmtime writes
/// `/tmp/perf-<pid>.map` so that `perf report` names the guests' functions; profiling only).
/// `WASMGATE_PLUGIN_INSTANCES=N` caps the pool as in the gateway, so that the bench runs under
/// valgrind (bench/README, "Per-request isolation in instructions").
fn engine_settings(args: &[String]) -> EngineSettings {
    let mut settings = EngineSettings::default();
    for pair in args.windows(2).filter(|w| w[0] == "--engine") {
        let (key, value) = pair[1].split_once('=').expect("--engine takes KEY=VALUE");
        let bytes = || value.parse::<usize>().expect("a byte count");
        match key {
            "keep-resident" => settings.linear_memory_keep_resident = bytes(),
            "table-keep-resident" => settings.table_keep_resident = bytes(),
            "pagemap-scan" => settings.pagemap_scan = value == "true",
            "reservation" => settings.memory_reservation = bytes() as u64,
            "decommit-batch" => settings.decommit_batch_size = bytes(),
            "perf-map" => settings.perf_map = value == "true",
            other => panic!("unknown --engine setting {other}"),
        }
        println!("engine: {key} = {value}");
    }
    settings
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value_of = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let quick = args.iter().any(|a| a == "--quick");
    let only = value_of("--only");
    let plugin_dir = value_of("--plugin-dir").map(PathBuf::from);
    let samples = value_of("--samples").map(|n| n.parse().expect("--samples takes a count"));
    let settings = engine_settings(&args).with_instance_cap_from_env();
    let engine = Arc::new(PluginEngine::new(settings).expect("engine"));
    let registry = PluginRegistry::load(engine.clone(), plugin_dir.as_deref()).expect("registry");
    let config = load_from_str("bench.yaml", CONFIG).expect("bench config loads");
    let bench = Bench {
        engine,
        registry,
        quick,
        only,
        samples,
    };
    println!("plugin_call: 10 request headers; request hooks, then the response hooks wanted");
    if let Some(dir) = &plugin_dir {
        println!("plugins from {} override the bundled ones", dir.display());
    }
    println!("load average at start: {}", load_average());
    println!(
        "{:<34} {:>10} {:>10} {:>10}",
        "row", "median µs", "p99 µs", "samples"
    );
    for row in ROWS {
        if !bench.wants(row.label) {
            continue;
        }
        bench.warm_row(&config, row);
    }
    redis::rows(&bench);
    retry::rows(&bench);
    languages::rows(&bench);
    bench.http_wasm_rows();
    bench.cold_rows();
    println!("load average at end: {}", load_average());
}
