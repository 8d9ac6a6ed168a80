//! Bundled plugin `circuit-breaker`: Traefik's `circuitBreaker` middleware (vulcand/oxy's
//! `cbreaker`), built on two contract capabilities: `kv` keeps the rolling window and the
//! state machine, shared by every instance of the middleware, and `completion.on-complete`
//! reports each request's outcome (status, duration) after the response.
//!
//! Options (Traefik v3 names, defaults and semantics):
//! - `expression` (required): oxy's condition, e.g. `NetworkErrorRatio() > 0.5`,
//!   `ResponseCodeRatio(500, 600, 0, 600) > 0.25`, `LatencyAtQuantileMS(50.0) > 100`, combined
//!   with `&&`, `||` and parentheses; parsed when the middleware is configured, so a mistake is
//!   a config error at the option's line;
//! - `checkPeriod` (100ms), `fallbackDuration` (10s), `recoveryDuration` (10s): Go durations or
//!   seconds; 0 keeps the default, as in Traefik;
//! - `responseCode` (503): the status of the requests the breaker refuses, with Go's status text
//!   as the body.
//!
//! One breaker per router, as Traefik builds one middleware instance per router: the keys are
//! prefixed with the router's name. States and transitions: [`state`]. Window: [`window`].
//!
//! ```yaml
//! http:
//!   middlewares:
//!     cb:
//!       circuitBreaker:
//!         expression: "NetworkErrorRatio() > 0.5"
//! ```
//!
//! Cost per request in standby: `on-request` reads the router's name and the state record (two
//! host calls) and leaves a 12-byte ticket in the request's scratch (one more);
//! `on-complete`, off the response path, increments one `kv` counter per quantity the outcome
//! counts in, and once per `checkPeriod` one request evaluates the expression (one
//! `kv.get-many`). Tripped and recovering cost a few more `kv` calls per request.

pub mod expression;
pub mod state;
pub mod window;

use std::time::Duration;

use plugin_sdk::completion::{Ending, Outcome};
use plugin_sdk::kv::{self, KvError};
use plugin_sdk::{Action, Level, Middleware, Reply, Request, log, monotonic_now};
use serde_json::Value;

use state::{Phase, State, Ticket};
use traefik_options::json_text;
use window::{COUNTER_TTL_MS, Plan, SECONDS};

/// Traefik's (oxy's) defaults.
const DEFAULT_CHECK_PERIOD_NS: u64 = 100_000_000;
const DEFAULT_FALLBACK_NS: u64 = 10_000_000_000;
const DEFAULT_RECOVERY_NS: u64 = 10_000_000_000;
const DEFAULT_RESPONSE_CODE: u16 = 503;

/// The `circuitBreaker` middleware.
#[derive(Debug)]
pub struct CircuitBreaker {
    plan: Plan,
    check_period_ns: u64,
    fallback_ns: u64,
    recovery_ns: u64,
    response_code: u16,
}

/// What `on-request` decided.
enum Admission {
    Pass(State),
    Refuse,
}

/// A duration option: a Go duration text, or a number of seconds (as text or a number).
fn duration(option: &str, value: &Value) -> Result<u64, String> {
    let seconds = |s: f64| {
        if s.is_finite() && s >= 0.0 {
            Ok((s * 1e9) as u64)
        } else {
            Err(format!("{option}: must not be negative, got {s}"))
        }
    };
    match value {
        Value::Number(n) => seconds(n.as_f64().unwrap_or(-1.0)),
        Value::String(text) => match text.trim().parse::<f64>() {
            Ok(s) => seconds(s),
            Err(_) => traefik_options::go_duration::parse(text.trim())
                .map_err(|e| format!("{option}: {e}")),
        },
        Value::Null => Ok(0),
        _ => Err(format!("{option}: must be a duration such as \"10s\"")),
    }
}

fn status(value: &Value) -> Result<u16, String> {
    let n = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    };
    match n {
        Some(n) if (200..=599).contains(&n) => Ok(n as u16),
        _ => Err(format!(
            "responseCode: must be a status in 200..599, got {}",
            json_text::value(value)
        )),
    }
}

/// The router's key prefix: its name, or a hash of a name too long for a key.
fn prefix_of(router: &str) -> String {
    if router.len() <= 160 {
        return router.to_string();
    }
    let hash = router.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("#{hash:016x}")
}

fn state_key(prefix: &str) -> String {
    format!("{prefix}|s")
}

fn counter_key(prefix: &str, generation: u32, second: u64, index: usize) -> String {
    format!("{prefix}|w{generation}|{second}|{index}")
}

fn log_phase(phase: Phase, prefix: &str) {
    log(
        Level::Info,
        &format!("circuit breaker: {}, router {prefix}", phase.name()),
    );
}

impl CircuitBreaker {
    /// Replaces the record `seen` (as read) with `next`; true when this call made the change.
    fn swap(key: &str, seen: Option<&[u8]>, next: &State) -> Result<bool, KvError> {
        kv::compare_and_swap(key, seen, &next.encode(), Duration::ZERO)
    }

    fn admit(&self, prefix: &str, now: u64) -> Result<Admission, KvError> {
        let key = state_key(prefix);
        let mut state = State::default();
        // A transition lost to another instance is read again; a few rounds at most.
        for _ in 0..4 {
            let raw = kv::get(&key)?;
            state = State::decode(raw.as_deref());
            match state.phase {
                Phase::Standby => return Ok(Admission::Pass(state)),
                Phase::Tripped if now < state.until => return Ok(Admission::Refuse),
                Phase::Tripped => {
                    let next = State {
                        phase: Phase::Recovering,
                        until: now.saturating_add(self.recovery_ns),
                        recovery_start: now,
                        ..state
                    };
                    if Self::swap(&key, raw.as_deref(), &next)? {
                        log_phase(Phase::Recovering, prefix);
                    }
                }
                Phase::Recovering if now > state.until => {
                    let next = State {
                        phase: Phase::Standby,
                        until: now,
                        ..state
                    };
                    if Self::swap(&key, raw.as_deref(), &next)? {
                        log_phase(Phase::Standby, prefix);
                    }
                }
                Phase::Recovering => return self.recovering(prefix, state, now),
            }
        }
        Ok(Admission::Pass(state))
    }

    /// oxy's ratio controller: let this request through if that keeps the share of requests
    /// let through since recovering started under the target, which grows linearly from 0 to
    /// 0.5 over `recoveryDuration`.
    fn recovering(&self, prefix: &str, state: State, now: u64) -> Result<Admission, KvError> {
        let base = format!("{prefix}|r{}", state.recovery_start);
        let keys = [format!("{base}|a"), format!("{base}|d")];
        let counts = kv::get_many(&keys)?;
        let count = |i: usize| kv::parse_counter(counts.get(i).and_then(|v| v.as_deref()));
        let (allowed, denied) = (count(0) as f64, count(1) as f64);
        let elapsed = now.saturating_sub(state.recovery_start) as f64;
        let target = 0.5 * elapsed / self.recovery_ns.max(1) as f64;
        let ttl = Duration::from_nanos(self.recovery_ns) + Duration::from_secs(SECONDS);
        if (allowed + 1.0) / (allowed + 1.0 + denied) < target {
            kv::increment(&keys[0], 1, ttl)?;
            Ok(Admission::Pass(state))
        } else {
            kv::increment(&keys[1], 1, ttl)?;
            Ok(Admission::Refuse)
        }
    }

    /// The window's sums per counter: the 10 seconds up to `second` of `generation`.
    fn sums(&self, prefix: &str, generation: u32, second: u64) -> Result<Vec<i64>, KvError> {
        let counters = self.plan.counters();
        let keys: Vec<String> = (second.saturating_sub(SECONDS - 1)..=second)
            .flat_map(|s| (0..counters).map(move |i| counter_key(prefix, generation, s, i)))
            .collect();
        let mut sums = vec![0; counters];
        let mut at = 0;
        for chunk in keys.chunks(kv::MAX_GET_MANY) {
            for value in kv::get_many(chunk)? {
                sums[at % counters] += kv::parse_counter(value.as_deref());
                at += 1;
            }
        }
        Ok(sums)
    }

    /// oxy's `checkAndSet`: at most once per `checkPeriod` (the instance whose swap moves the
    /// next check wins), unless tripped, evaluates the expression and trips when it holds.
    fn check(&self, prefix: &str, now: u64) -> Result<(), KvError> {
        let key = state_key(prefix);
        let raw = kv::get(&key)?;
        let state = State::decode(raw.as_deref());
        if now <= state.next_check {
            return Ok(());
        }
        let checked = State {
            next_check: now.saturating_add(self.check_period_ns),
            ..state
        };
        if !Self::swap(&key, raw.as_deref(), &checked)? || state.phase == Phase::Tripped {
            return Ok(());
        }
        let sums = self.sums(prefix, state.generation, now / 1_000_000_000)?;
        if !self.plan.holds(&sums) {
            return Ok(());
        }
        let tripped = State {
            phase: Phase::Tripped,
            generation: state.generation.wrapping_add(1),
            until: now.saturating_add(self.fallback_ns),
            recovery_start: 0,
            next_check: checked.next_check,
        };
        if Self::swap(&key, Some(&checked.encode()), &tripped)? {
            log_phase(Phase::Tripped, prefix);
        }
        Ok(())
    }

    fn refusal(&self) -> Action {
        let text = traefik_options::status_text::text(self.response_code).unwrap_or("");
        Action::Respond(
            Reply::new(self.response_code)
                .header("content-type", "text/plain; charset=utf-8")
                .body(text),
        )
    }
}

impl Middleware for CircuitBreaker {
    fn from_config(config: &str) -> Result<Self, String> {
        let options = traefik_options::options::option_map(config)?;
        let mut text = None;
        let (mut check, mut fallback, mut recovery) = (0, 0, 0);
        let mut response_code = DEFAULT_RESPONSE_CODE;
        for (option, value) in &options {
            match option.as_str() {
                "expression" => match value {
                    Value::String(t) => text = Some(t.clone()),
                    Value::Null => {}
                    _ => return Err("expression: must be text".to_string()),
                },
                "checkPeriod" => check = duration(option, value)?,
                "fallbackDuration" => fallback = duration(option, value)?,
                "recoveryDuration" => recovery = duration(option, value)?,
                "responseCode" => response_code = status(value)?,
                _ => return Err(format!("unknown option {option:?}")),
            }
        }
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            return Err("expression: required, e.g. \"NetworkErrorRatio() > 0.5\"".to_string());
        };
        let expression = expression::parse(&text).map_err(|e| format!("expression: {e}"))?;
        // Traefik keeps the default for a zero duration.
        let or = |ns: u64, default: u64| if ns == 0 { default } else { ns };
        Ok(CircuitBreaker {
            plan: Plan::new(expression),
            check_period_ns: or(check, DEFAULT_CHECK_PERIOD_NS),
            fallback_ns: or(fallback, DEFAULT_FALLBACK_NS),
            recovery_ns: or(recovery, DEFAULT_RECOVERY_NS),
            response_code,
        })
    }

    fn wants_response_hook(&self) -> bool {
        false
    }

    fn wants_on_complete(&self) -> bool {
        true
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let prefix = prefix_of(&req.router_name());
        // A store that fails (full, say) lets traffic through, as a breaker that saw nothing.
        match self.admit(&prefix, monotonic_now()) {
            Ok(Admission::Refuse) => self.refusal(),
            Ok(Admission::Pass(state)) => {
                let ticket = Ticket {
                    generation: state.generation,
                    next_check: state.next_check,
                    prefix,
                };
                // Without the ticket the outcome is not counted; the request still passes.
                let _ = req.set_state(ticket.encode());
                Action::Continue
            }
            Err(_) => Action::Continue,
        }
    }

    /// Counts the outcome of a request this breaker let through (the status the client got:
    /// 502 / 504 for a network failure; the time to the end of the response, as oxy measures
    /// it), then checks the expression if a check is due.
    fn on_complete(&self, state: Option<&[u8]>, outcome: Outcome) {
        let Some(ticket) = state.and_then(Ticket::decode) else {
            return;
        };
        let status = match (outcome.status, outcome.ending) {
            (Some(status), _) => status,
            (None, Ending::UpstreamFailed) => 502,
            // The client left before any response: nothing to count.
            (None, _) => return,
        };
        let now = monotonic_now();
        let second = now / 1_000_000_000;
        let latency_ms = outcome.duration_ns / 1_000_000;
        let ttl = Duration::from_millis(COUNTER_TTL_MS);
        for index in self.plan.counted(status, latency_ms) {
            let key = counter_key(&ticket.prefix, ticket.generation, second, index);
            let _ = kv::increment(&key, 1, ttl);
        }
        if now > ticket.next_check {
            let _ = self.check(&ticket.prefix, now);
        }
    }
}

plugin_sdk::export_middleware!(CircuitBreaker);

#[cfg(test)]
mod tests;
