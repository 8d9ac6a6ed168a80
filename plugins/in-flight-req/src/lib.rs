//! Bundled plugin `in-flight-req`: Traefik's `inFlightReq` middleware, a cap on the requests in
//! flight per traffic source, counted by the host (`counters` capability, scoped to the
//! middleware).
//!
//! Options (Traefik v3 names and semantics):
//! - `amount` (required, at least 1): requests in flight allowed per source;
//! - `sourceCriterion`: at most one of `ipStrategy` (`depth`, `excludedIPs`, `ipv6Subnet`),
//!   `requestHeaderName`, `requestHost`; the request's host by default (as in Traefik).
//!
//! A request over the cap gets 429 with oxy's text (`max connections reached: <amount>`). The
//! count is taken in `on-request` and released by the host, never by the plugin, when the
//! request is over, as in Traefik (released when the next handler has written the whole
//! response): the plugin asks for `on-complete`, so the host holds the count until the response
//! body has been sent, the upstream failed, or the client went away, and releases it after
//! that hook.
//!
//! ```yaml
//! http:
//!   middlewares:
//!     four-at-a-time:
//!       inFlightReq:
//!         amount: 4
//!         sourceCriterion:
//!           ipStrategy: { depth: 1 }
//! ```
//!
//! Cost per request: one or two host calls to read the source, one `acquire-in-flight`, and
//! the `on-complete` call (an empty hook, off the response path).

use plugin_sdk::counters;
use plugin_sdk::{Action, Middleware, Reply, Request};
use serde_json::Value;
use traefik_options::json_text;
use traefik_options::source_criterion::{self, Source};

/// The `inFlightReq` middleware.
pub struct InFlightReq {
    amount: u32,
    source: Source,
}

impl Middleware for InFlightReq {
    /// The host releases the count, so no response hook is needed.
    fn wants_response_hook(&self) -> bool {
        false
    }

    /// The count is held until the exchange is over, body included: the host releases it
    /// after this middleware's `on-complete` (which has nothing more to do).
    fn wants_on_complete(&self) -> bool {
        true
    }

    fn from_config(config: &str) -> Result<Self, String> {
        let options = traefik_options::options::option_map(config)?;
        let mut amount = None;
        let mut source = Source::Host;
        for (option, value) in options {
            match option.as_str() {
                "amount" => amount = Some(whole_number(&value)?),
                "sourceCriterion" => source = source_criterion::parse(value, Source::Host)?,
                _ => return Err(format!("unknown option {option:?}")),
            }
        }
        let amount = match amount {
            Some(n) if n >= 1 => u32::try_from(n).unwrap_or(u32::MAX),
            Some(n) => return Err(format!("amount: must be at least 1, got {n}")),
            None => return Err("amount: required (requests in flight per source)".to_string()),
        };
        Ok(InFlightReq { amount, source })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let source = self.source.of(req);
        if counters::acquire_in_flight(req, &source, self.amount) {
            return Action::Continue;
        }
        Action::Respond(
            Reply::new(429)
                .header("content-type", "text/plain; charset=utf-8")
                .body(format!("max connections reached: {}", self.amount)),
        )
    }
}

/// A whole number given as a number or as text (Traefik's file provider reads both).
fn whole_number(value: &Value) -> Result<i64, String> {
    match value {
        Value::Number(n) => n.as_i64().ok_or_else(|| {
            format!(
                "amount: must be a whole number, got {}",
                json_text::number(n)
            )
        }),
        Value::String(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("amount: must be a whole number, got {text:?}")),
        _ => Err("amount: must be a number".to_string()),
    }
}

plugin_sdk::export_middleware!(InFlightReq);

#[cfg(test)]
mod tests;
