//! The exports (`handler`: four functions; `capabilities`: two), in terms of a [`Middleware`]
//! type and the instance's config slot.

use std::cell::OnceCell;
use std::sync::Once;
use std::thread::LocalKey;

use super::bindings::exports::wasmgate::plugin::capabilities::Declaration;
use super::bindings::exports::wasmgate::plugin::completion as wit_completion;
use super::bindings::exports::wasmgate::plugin::fixed_edits::{
    Edits as WitFixedEdits, HeaderEdit as WitHeaderEdit,
};
use super::bindings::exports::wasmgate::plugin::hook_needs::Needs;
use super::bindings::exports::wasmgate::plugin::pre_take::{
    KeySource as WitKeySource, TakeSpec as WitTakeSpec,
};
use super::bindings::exports::wasmgate::plugin::retry_policy as wit_retry;
use super::bindings::exports::wasmgate::plugin::subresponses as wit_sub;
use super::bindings::exports::wasmgate::plugin::verdict_memo::MemoSpec as WitMemoSpec;
use super::wit::http as wit_http;
use crate::{Action, Level, Middleware, Request, Response, completion, outbound, retry};

/// `validate-config`: parse, report, drop.
pub fn validate_config<T: Middleware>(config: &str) -> Result<(), String> {
    route_panics_to_host_log();
    crate::config::parse(config, T::from_config).map(drop)
}

/// `init`: parse and keep the config for the instance's life. The host calls it once per
/// instance; a second call is refused rather than silently replacing the config hooks rely on.
pub fn init<T: Middleware>(
    slot: &'static LocalKey<OnceCell<T>>,
    config: &str,
) -> Result<(), String> {
    route_panics_to_host_log();
    let middleware = crate::config::parse(config, T::from_config)?;
    slot.with(|cell| {
        cell.set(middleware)
            .map_err(|_| "init called twice on the same instance".to_string())
    })
}

/// `on-request`: lend the host's request to [`Middleware::on_request`].
pub fn on_request<T: Middleware>(
    slot: &'static LocalKey<OnceCell<T>>,
    req: &wit_http::Request,
) -> wit_http::Action {
    slot.with(|cell| {
        let middleware = initialised(cell);
        to_wit(middleware.on_request(&mut Request::new(req)))
    })
}

/// `on-response`: lend the host's request and response to [`Middleware::on_response`].
pub fn on_response<T: Middleware>(
    slot: &'static LocalKey<OnceCell<T>>,
    req: &wit_http::Request,
    resp: &wit_http::Response,
) -> wit_http::Action {
    slot.with(|cell| {
        let middleware = initialised(cell);
        to_wit(middleware.on_response(&mut Request::new(req), &mut Response::new(resp)))
    })
}

/// `declare`: what the configured middleware needs (asked once per configured middleware).
pub fn declare<T: Middleware>(slot: &'static LocalKey<OnceCell<T>>) -> Declaration {
    slot.with(|cell| {
        let middleware = initialised(cell);
        Declaration {
            response_hook: middleware.wants_response_hook(),
            response_body_peek: middleware.response_body_peek(),
        }
    })
}

/// `hook-needs`: what the configured middleware needs of each request (asked once per
/// configured middleware).
pub fn hook_needs<T: Middleware>(slot: &'static LocalKey<OnceCell<T>>) -> Needs {
    slot.with(|cell| {
        let middleware = initialised(cell);
        Needs {
            request_hook: middleware.wants_request_hook(),
            request_headers_in_response: middleware.reads_request_headers_in_response(),
        }
    })
}

/// `fixed-edits`: the hooks' work as fixed header edits, if the configured middleware says so
/// (asked once per configured middleware).
pub fn fixed_edits<T: Middleware>(slot: &'static LocalKey<OnceCell<T>>) -> Option<WitFixedEdits> {
    slot.with(|cell| {
        let edits = initialised(cell).fixed_edits()?;
        let wit = |edits: Vec<crate::fixed_edits::HeaderEdit>| {
            edits
                .into_iter()
                .map(|edit| match edit {
                    crate::fixed_edits::HeaderEdit::Set(n, v) => WitHeaderEdit::Set((n, v)),
                    crate::fixed_edits::HeaderEdit::Append(n, v) => WitHeaderEdit::Append((n, v)),
                    crate::fixed_edits::HeaderEdit::Remove(n) => WitHeaderEdit::Remove(n),
                })
                .collect()
        };
        Some(WitFixedEdits {
            request_headers: wit(edits.request),
            response_headers: wit(edits.response),
        })
    })
}

/// `pre-take`: the take `on-request` makes, if the configured middleware declares it (asked
/// once per configured middleware).
pub fn pre_take<T: Middleware>(slot: &'static LocalKey<OnceCell<T>>) -> Option<WitTakeSpec> {
    slot.with(|cell| {
        let take = initialised(cell).pre_take()?;
        Some(WitTakeSpec {
            source: match take.source {
                crate::pre_take::KeySource::ClientIp { ipv6_subnet } => {
                    WitKeySource::ClientIp(ipv6_subnet)
                }
                crate::pre_take::KeySource::RequestHeader(name) => {
                    WitKeySource::RequestHeader(name)
                }
                crate::pre_take::KeySource::RequestHost => WitKeySource::RequestHost,
            },
            cost: take.cost,
            rate_per_second: take.rate_per_second,
            burst: take.burst,
        })
    })
}

/// `verdict-memo`: the header `on-request`'s `continue` depends on alone, if the configured
/// middleware declares it (asked once per configured middleware).
pub fn verdict_memo<T: Middleware>(slot: &'static LocalKey<OnceCell<T>>) -> Option<WitMemoSpec> {
    slot.with(|cell| {
        let memo = initialised(cell).verdict_memo()?;
        Some(WitMemoSpec {
            header: memo.header,
            ttl_ms: memo.ttl_ms,
            max_entries: memo.max_entries,
        })
    })
}

/// `on-response-body`: lend the heads and the body's first bytes to
/// [`Middleware::on_response_body`].
pub fn on_response_body<T: Middleware>(
    slot: &'static LocalKey<OnceCell<T>>,
    req: &wit_http::Request,
    resp: &wit_http::Response,
    body_start: &[u8],
    complete: bool,
) -> wit_http::Action {
    slot.with(|cell| {
        let middleware = initialised(cell);
        to_wit(middleware.on_response_body(
            &mut Request::new(req),
            &mut Response::new(resp),
            body_start,
            complete,
        ))
    })
}

/// `on-request-subresponse`: lend the request and the answer to
/// [`Middleware::on_request_subresponse`].
pub fn on_request_subresponse<T: Middleware>(
    slot: &'static LocalKey<OnceCell<T>>,
    req: &wit_http::Request,
    answer: Result<wit_sub::Subresponse, wit_sub::SubrequestFailure>,
) -> wit_http::Action {
    slot.with(|cell| {
        let middleware = initialised(cell);
        to_wit(middleware.on_request_subresponse(&mut Request::new(req), from_wit(answer)))
    })
}

/// `on-response-subresponse`: lend both heads and the answer to
/// [`Middleware::on_response_subresponse`].
pub fn on_response_subresponse<T: Middleware>(
    slot: &'static LocalKey<OnceCell<T>>,
    req: &wit_http::Request,
    resp: &wit_http::Response,
    answer: Result<wit_sub::Subresponse, wit_sub::SubrequestFailure>,
) -> wit_http::Action {
    slot.with(|cell| {
        let middleware = initialised(cell);
        to_wit(middleware.on_response_subresponse(
            &mut Request::new(req),
            &mut Response::new(resp),
            from_wit(answer),
        ))
    })
}

/// `wants-retry-policy`: asked once per configured middleware.
pub fn wants_retry_policy<T: Middleware>(
    slot: &'static LocalKey<OnceCell<T>>,
) -> wit_retry::RetryMode {
    match slot.with(|cell| initialised(cell).retry_mode()) {
        retry::RetryMode::None => wit_retry::RetryMode::None,
        retry::RetryMode::WithHooks => wit_retry::RetryMode::WithHooks,
        retry::RetryMode::PolicyOnly => wit_retry::RetryMode::PolicyOnly,
    }
}

/// `retry-after`: a failed attempt to [`Middleware::retry_after`].
pub fn retry_after<T: Middleware>(
    slot: &'static LocalKey<OnceCell<T>>,
    failed: wit_retry::FailedAttempt,
) -> Option<u64> {
    let failed = retry::FailedAttempt {
        attempt: failed.attempt,
        failure: match failed.failure {
            wit_retry::AttemptFailure::Unreachable => retry::AttemptFailure::Unreachable,
        },
        method: failed.method,
    };
    slot.with(|cell| initialised(cell).retry_after(&failed))
}

/// `wants-on-complete`: asked once per configured middleware.
pub fn wants_on_complete<T: Middleware>(slot: &'static LocalKey<OnceCell<T>>) -> bool {
    slot.with(|cell| initialised(cell).wants_on_complete())
}

/// `on-complete`: the request's outcome to [`Middleware::on_complete`].
pub fn on_complete<T: Middleware>(
    slot: &'static LocalKey<OnceCell<T>>,
    state: Option<Vec<u8>>,
    outcome: wit_completion::Outcome,
) {
    let ending = match outcome.ending {
        wit_completion::Ending::Complete => completion::Ending::Complete,
        wit_completion::Ending::ClientGone => completion::Ending::ClientGone,
        wit_completion::Ending::UpstreamFailed => completion::Ending::UpstreamFailed,
    };
    let outcome = completion::Outcome {
        status: outcome.status,
        body_bytes: outcome.body_bytes,
        duration_ns: outcome.duration_ns,
        ending,
    };
    slot.with(|cell| initialised(cell).on_complete(state.as_deref(), outcome));
}

fn from_wit(answer: Result<wit_sub::Subresponse, wit_sub::SubrequestFailure>) -> outbound::Answer {
    match answer {
        Ok(r) => Ok(outbound::Subresponse {
            status: r.status,
            headers: r.headers,
            body: r.body,
            body_truncated: r.body_truncated,
        }),
        Err(wit_sub::SubrequestFailure::Unreachable(why)) => {
            Err(outbound::SubrequestFailure::Unreachable(why))
        }
        Err(wit_sub::SubrequestFailure::Timeout) => Err(outbound::SubrequestFailure::Timeout),
        Err(wit_sub::SubrequestFailure::NoServer) => Err(outbound::SubrequestFailure::NoServer),
    }
}

/// Replaces std's default panic hook (once per instance, before any plugin code runs) with one
/// that sends the message and location to the host's log at `error`. The default hook would read
/// `RUST_BACKTRACE` and write to stderr, WASI imports a gateway may not provide; with either, the
/// operator would not see the message. The panic still aborts afterwards: a trap for the host.
/// A plugin may install its own hook from `from_config`; it then replaces this one.
pub(super) fn route_panics_to_host_log() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            crate::log(Level::Error, &format!("plugin {info}"));
        }));
    });
}

/// The instance's config. A hook before a successful `init` is a host bug: log it and trap, so
/// the host fails the request and discards the instance instead of running an unconfigured plugin.
pub(super) fn initialised<T>(cell: &OnceCell<T>) -> &T {
    match cell.get() {
        Some(middleware) => middleware,
        None => {
            crate::log(
                Level::Error,
                "plugin-sdk: hook called before a successful init; trapping",
            );
            core::arch::wasm32::unreachable()
        }
    }
}

fn to_wit(action: Action) -> wit_http::Action {
    match action {
        Action::Continue => wit_http::Action::Continue,
        Action::Respond(reply) => wit_http::Action::Respond(wit_http::Reply {
            status: reply.status,
            headers: reply.headers,
            body: reply.body,
        }),
    }
}
