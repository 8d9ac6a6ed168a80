//! The `rateLimit.redis` rows: the bundled rate-limit on the Redis backend of `counters`,
//! against a `redis-server` the bench starts on a free loopback port (and stops by PID). Each
//! sample is a whole request as the gateway runs it: the hook records the take, the round trip
//! to Redis is awaited (on a current-thread runtime, as the request's task would), the result
//! stands (`rate-limit/redis`) or, refused, the hook is called again with Redis' answer
//! (`rate-limit:refused/redis`, the replay). Compare with `rate-limit/pooled` (in process).
//! `circuit-breaker/redis-kv`: the bundled circuit-breaker with its `kv` in Redis (`kv.redis`,
//! "record and re-answer"): `on-request` reads the breaker's state (one `get`, so one round trip
//! and one replay) and `on-complete` counts the request (its `kv` operations awaited on the
//! same runtime, each a round trip and a replay), all in the sample. Compare with
//! `circuit-breaker/pooled`.
//! Without `redis-server` on the PATH the rows say so and are skipped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wasmgate::config::load_from_str;

use wasmgate::plugins::Chain;

use super::cases::{Expect, Req, RequestMaker, Row};
use super::{Bench, middleware, one, request_head, runtime};

/// A bench-owned `redis-server`, killed by PID when dropped.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start() -> Option<RedisServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = RedisServer { child, port };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ROWS: [Row; 3] = [
    Row {
        label: "rate-limit/redis",
        middlewares: &["rate-limit-redis"],
        req: Req::Plain,
        expect: Expect::Forward,
        per_request: false,
        declared: false,
    },
    Row {
        label: "rate-limit:refused/redis",
        middlewares: &["rate-limit-redis-refused"],
        req: Req::Plain,
        expect: Expect::Respond(429),
        per_request: false,
        declared: false,
    },
    Row {
        label: "circuit-breaker/redis-kv",
        middlewares: &["circuit-breaker-redis"],
        req: Req::Plain,
        expect: Expect::Forward,
        per_request: false,
        declared: false,
    },
];

/// Runs the Redis rows (those `--only` selects).
pub fn rows(bench: &Bench) {
    let wanted: Vec<&Row> = ROWS.iter().filter(|r| bench.wants(r.label)).collect();
    if wanted.is_empty() {
        return;
    }
    let Some(redis) = RedisServer::start() else {
        println!("(rate-limit/redis rows skipped: no redis-server; run scripts/setup.sh)");
        return;
    };
    let config = format!(
        r#"
entryPoints:
  web: {{ address: "127.0.0.1:0" }}
http:
  middlewares:
    rate-limit-redis:
      rateLimit:
        average: 1000000000
        burst: 1000000000
        redis: {{ endpoints: ["127.0.0.1:{port}"] }}
    rate-limit-redis-refused:
      rateLimit:
        average: 1
        period: 1h
        burst: 1
        redis: {{ endpoints: ["127.0.0.1:{port}"] }}
    circuit-breaker-redis:
      plugin:
        name: circuit-breaker
        capabilities: [kv]
        config: {{ expression: "NetworkErrorRatio() > 0.5" }}
        kv: {{ redis: {{ endpoints: ["127.0.0.1:{port}"] }} }}
"#,
        port = redis.port
    );
    let config = load_from_str("bench-redis.yaml", &config).expect("bench redis config loads");
    let _entered = runtime().enter();
    // The refused row's bucket starts with its one token: spend it first.
    let mw = middleware(
        &bench.engine,
        &bench.registry,
        &config,
        "rate-limit-redis-refused",
        false,
    );
    let chain = Chain::new(vec![mw]);
    let head = request_head(RequestMaker::new(Req::Plain, None).next(), 1);
    assert_eq!(
        one(&chain, head).1,
        Ok(Expect::Forward),
        "the first request takes the token"
    );
    for row in wanted {
        bench.warm_row(&config, row);
    }
}
