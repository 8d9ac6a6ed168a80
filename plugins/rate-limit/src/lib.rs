//! Bundled plugin `rate-limit`: Traefik's `rateLimit` middleware, a token bucket per traffic
//! source kept by the host (`counters` capability, scoped to the middleware, so every instance
//! and every request of the middleware shares the buckets).
//!
//! Options (Traefik v3 names and semantics):
//! - `average`: requests per `period` (0, the default: no limit);
//! - `period`: a Go duration or a number of seconds (default 1s);
//! - `burst`: the bucket size (default and minimum 1);
//! - `sourceCriterion`: at most one of `ipStrategy` (`depth`, `excludedIPs`, `ipv6Subnet`),
//!   `requestHeaderName` (the header's value; absent is one source), `requestHost` (the
//!   request's host); the client's IP (TCP peer) by default.
//!
//! A refused request gets 429 `Too Many Requests` with `Retry-After` (whole seconds, rounded
//! up) and `X-Retry-In` (Go's duration text), as Traefik sends them. As in Traefik, a request
//! whose token is at most `maxDelay` away (1/(2·rate), with the rate truncated to a whole number
//! of requests a second; 500 ms below 1 a second) is admitted after waiting for it rather than
//! refused: the gateway's `rateLimit` grant lets the host's `take` reserve such a token and
//! answer `allowed`, and the request waits for it after the request hooks, on its own task (no
//! thread, no plugin instance held). The hook itself never waits. With `redis`, a short bucket
//! is refused at once (no wait).
//!
//! ```yaml
//! http:
//!   middlewares:
//!     api-limit:
//!       rateLimit:
//!         average: 100
//!         period: 1s
//!         burst: 50
//!         sourceCriterion:
//!           requestHeaderName: X-Api-Key
//! ```
//!
//! Cost per request: for the client's IP (TCP peer, with or without `ipv6Subnet`), a header or
//! the host as the source, and in-process counters, the plugin declares its take (`pre-take`):
//! the gateway computes the same key and takes natively, and an admitted request never enters
//! the plugin (no instance, no hook call: a key read and one bucket update, ≈ 0.1 µs); only a
//! refused request calls `on-request`, which takes again (refused) and builds the 429. With
//! `depth` / `excludedIPs` or `redis`, every request calls `on-request`: one or two host calls
//! to read the source (the client's IP: `client-ip`, a typed address, its key text written on
//! the stack), one `counters.take` (≈ 1 µs in `pooled` mode). With `average` 0 nothing is
//! called (`hook-needs`).

mod config;

use plugin_sdk::counters::{self, Take};
use plugin_sdk::pre_take::PreTake;
use plugin_sdk::{Action, Middleware, Reply, Request};
use traefik_options::go_duration;

pub use config::{RateLimitConfig, Source};

/// The `rateLimit` middleware.
pub struct RateLimit {
    config: RateLimitConfig,
}

impl Middleware for RateLimit {
    /// Request-only: the gateway skips the response hook.
    fn wants_response_hook(&self) -> bool {
        false
    }

    /// With no limit (`average` 0) `on_request` does nothing: not called.
    fn wants_request_hook(&self) -> bool {
        self.config.rate > 0.0
    }

    /// The hook's take, made by the gateway before the hook (which is then called only for a
    /// refused request, to build the 429), for the sources the gateway keys as the hook does:
    /// the TCP peer (with `ipv6Subnet`), a header, the host. Not for `depth` / `excludedIPs`.
    fn pre_take(&self) -> Option<PreTake> {
        let c = &self.config;
        if c.rate <= 0.0 {
            return None;
        }
        Some(PreTake {
            source: c.source.pre_take_source()?,
            cost: 1,
            rate_per_second: c.rate,
            burst: c.burst,
        })
    }

    fn from_config(config: &str) -> Result<Self, String> {
        RateLimitConfig::parse(config).map(|config| RateLimit { config })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let c = &self.config;
        if c.rate <= 0.0 {
            return Action::Continue;
        }
        match c
            .source
            .with_key(req, |key| counters::take(key, 1, c.rate, c.burst))
        {
            Take::Allowed => Action::Continue,
            Take::Denied { wait_ns } => Action::Respond(too_many_requests(wait_ns)),
        }
    }
}

/// Traefik's `serveDelayError`.
fn too_many_requests(wait_ns: u64) -> Reply {
    let retry_after = wait_ns.div_ceil(1_000_000_000);
    Reply::new(429)
        .header("retry-after", retry_after.to_string())
        .header("x-retry-in", go_duration::format(wait_ns))
        .header("content-type", "text/plain; charset=utf-8")
        .body("Too Many Requests")
}

plugin_sdk::export_middleware!(RateLimit);

#[cfg(test)]
mod tests;
