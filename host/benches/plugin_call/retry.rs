//! The `retry` rows: the bundled retry plugin's `retry-after`, the one call the gateway makes
//! for a router's `retry` and only after a failed attempt (the plugin is `policy-only`: no hook
//! of it runs while the first attempt succeeds). `retry/retry-after` answers a GET's first
//! failure (a wait); `retry:given-up/retry-after` a POST's (none).

use std::time::Instant;

use wasmgate::config::load_from_str;
use wasmgate::plugins::bindings::retry_policy::RetryMode;

use super::{Bench, middleware, print_row};

const CONFIG: &str = r#"
entryPoints:
  web: { address: "127.0.0.1:0" }
http:
  middlewares:
    retry:
      retry: { attempts: 4, initialInterval: 10ms }
"#;

pub(super) fn rows(bench: &Bench) {
    let config = load_from_str("retry.yaml", CONFIG).expect("retry bench config loads");
    let mw = middleware(&bench.engine, &bench.registry, &config, "retry", false);
    assert_eq!(mw.retry_mode(), RetryMode::PolicyOnly);
    let (warmup, iterations) = if bench.quick {
        (2_000, 20_000)
    } else {
        (20_000, 200_000)
    };
    let iterations = bench.samples.unwrap_or(iterations);
    for (label, method, waits) in [
        ("retry/retry-after", "GET", true),
        ("retry:given-up/retry-after", "POST", false),
    ] {
        if bench.only.as_deref().is_some_and(|o| o != label) {
            continue;
        }
        let call = || {
            let started = Instant::now();
            let answer = mw.retry_after(1, method).expect("retry-after");
            let elapsed = started.elapsed();
            assert_eq!(answer.is_some(), waits, "{label}");
            elapsed
        };
        for _ in 0..warmup {
            call();
        }
        print_row(label, (0..iterations).map(|_| call()).collect());
    }
}
