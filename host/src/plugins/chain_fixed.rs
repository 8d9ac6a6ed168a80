//! A router's chain when every middleware on it can run without its guest on a warm request:
//! fixed edits (`fixed-edits`), a declared take (`pre-take`), a verdict memo (`verdict-memo`),
//! or no request hook (`hook-needs`), none with a guest response hook, and the chain needs
//! nothing else of the chain path (no body, compression, gRPC-Web, `on-complete`, tracing).
//! The proxy then takes the plain path (no request head, no chain state) and runs these steps
//! around forwarding, exactly where the hooks would run: request steps in chain order before
//! the request goes upstream, response edits in reverse order on the response head. Built at
//! config time (`Chain::native_only`).
//!
//! A step that needs the guest (a refused take, a memo miss or a request without the memo's
//! header) stops the run: the proxy then builds the chain path's request head from the parts
//! as the steps before it left them (their edits, the user a memo named, a reserved token's
//! wait) and resumes the chain at that middleware (`Chain::resume_native`), as if the chain
//! path had run from the start. A chain made only of fixed edits never stops (its router's
//! chain is then empty).

use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderMap;

use super::counters::Take;
use super::middleware::PluginMiddleware;
use super::pre_take::delay;
use super::verdict_memo::Lookup;

/// The middlewares of a chain whose request steps are native, in chain order.
#[derive(Clone)]
pub struct FixedChain {
    middlewares: Arc<[Arc<PluginMiddleware>]>,
}

/// What the native request steps did to a request, beyond its headers.
#[derive(Debug, Default)]
pub struct NativeRun {
    /// The user a replayed memo named (`identity.set-user`), for the access log.
    pub user: Option<Arc<str>>,
    /// The wait for a close token a take reserved (`counters::Reservation::After`); 0: none.
    pub take_delay_ns: u64,
    /// Where the steps stopped, when a middleware needs its guest.
    pub stop: Option<NativeStop>,
}

/// The middleware whose hook the chain path must call, and what was tried there already.
#[derive(Debug, PartialEq, Eq)]
pub struct NativeStop {
    /// Its chain position: the middlewares before it made their edits and get their response
    /// edits.
    pub at: usize,
    pub tried: Tried,
}

/// What a middleware's native step tried before its hook had to be called, so that the hook's
/// caller does not try it again.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tried {
    /// Its pre-take was refused (the hook takes again and replies).
    pub take_refused: bool,
    /// Its memo's lookup: a miss (the hook's effects are then recorded) or no such header.
    pub lookup: Option<Lookup>,
}

/// What one middleware's native request step ([`native_request_step`]) came to.
#[derive(Debug, PartialEq, Eq)]
pub enum NativeStep {
    /// It ran without its guest: go on with the next middleware.
    Ran,
    /// Its request hook must be called; what was tried is not tried again.
    NeedsGuest(Tried),
}

/// The request step of `mw` that needs no guest, on a request's `parts` from `client`, in the
/// order its hook would have made it: fixed edits; nothing when it declares no request hook; a
/// declared take (its wait added to `wait_ns`), then a memo's replay (the user it names into
/// `user`). `tried`: what a stopped plain path tried here already. The one place that order is
/// written: the plain path's steps ([`FixedChain::run_request`]) and the chain path's request
/// hooks (`Chain::request_hooks_from`, `Chain::resume_native`) both come here. Costs a header-map edit, a counter take or
/// a memo lookup; allocates nothing unless a memo names a user.
#[inline]
pub fn native_request_step(
    mw: &PluginMiddleware,
    parts: &mut http::request::Parts,
    client: SocketAddr,
    user: &mut Option<Arc<str>>,
    wait_ns: &mut u64,
    mut tried: Tried,
) -> NativeStep {
    let max_headers = mw.budget().max_headers;
    if let Some(fixed) = mw.fixed_edits() {
        // Its `on-request` always makes these edits and continues (`fixed-edits`).
        fixed.apply_request(&mut parts.headers, max_headers);
        return NativeStep::Ran;
    }
    if !mw.needs().request_hook {
        // It said its `on-request` does nothing (`hook-needs`): as if it continued.
        return NativeStep::Ran;
    }
    if !tried.take_refused
        && let Some(take) = mw.pre_take()
    {
        // Its `on-request` would have taken the same token and continued (`pre-take`);
        // refused, its hook is called and replies itself.
        if delay(wait_ns, take.take(parts, client)) == Take::Allowed {
            return NativeStep::Ran;
        }
        tried.take_refused = true;
    }
    if tried.lookup.is_none()
        && let Some(memo) = mw.verdict_memo()
    {
        let lookup = memo.replay_on(&mut parts.headers, user, max_headers);
        if lookup == Lookup::Replayed {
            // Its `on-request` answered `continue` with these effects for this header value,
            // and promised to again (`verdict-memo`).
            return NativeStep::Ran;
        }
        tried.lookup = Some(lookup);
    }
    NativeStep::NeedsGuest(tried)
}

impl FixedChain {
    /// `middlewares` must all run natively (`Chain::native_only` checks).
    pub(super) fn new(middlewares: Arc<[Arc<PluginMiddleware>]>) -> Self {
        FixedChain { middlewares }
    }

    /// The request steps of every middleware, in chain order, on a request's `parts` from
    /// `client`, as the chain path makes them ([`native_request_step`]); stops at the first
    /// middleware that needs its guest.
    pub fn run_request(&self, parts: &mut http::request::Parts, client: SocketAddr) -> NativeRun {
        let mut run = NativeRun::default();
        for (i, mw) in self.middlewares.iter().enumerate() {
            let step = native_request_step(
                mw,
                parts,
                client,
                &mut run.user,
                &mut run.take_delay_ns,
                Tried::default(),
            );
            if let NativeStep::NeedsGuest(tried) = step {
                run.stop = Some(NativeStop { at: i, tried });
                return run;
            }
        }
        run
    }

    /// The response edits, in reverse chain order, of the middlewares whose response hook
    /// would run (`capabilities`).
    pub fn apply_response(&self, headers: &mut HeaderMap) {
        for mw in self.middlewares.iter().rev() {
            if let Some(fixed) = mw.fixed_edits()
                && mw.capabilities().response_hook
            {
                fixed.apply_response(headers, mw.budget().max_headers);
            }
        }
    }
}
