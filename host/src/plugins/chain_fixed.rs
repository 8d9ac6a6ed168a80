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
    pub user: Option<Box<str>>,
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

/// What a stopped step tried, so that the chain path does not try it again.
#[derive(Debug, PartialEq, Eq)]
pub enum Tried {
    /// Its pre-take was refused (the hook takes again and replies).
    TakeRefused,
    /// Its memo's lookup: a miss (the hook's effects are then recorded) or no such header.
    Memo(Lookup),
}

impl FixedChain {
    /// `middlewares` must all run natively (`Chain::native_only` checks).
    pub(super) fn new(middlewares: Arc<[Arc<PluginMiddleware>]>) -> Self {
        FixedChain { middlewares }
    }

    /// The request edits of every middleware, in chain order (one header-map edit each), for a
    /// chain made only of fixed edits.
    pub fn apply_request(&self, headers: &mut HeaderMap) {
        for mw in self.middlewares.iter() {
            if let Some(fixed) = mw.fixed_edits() {
                fixed.apply_request(headers, mw.budget().max_headers);
            }
        }
    }

    /// The request steps of every middleware, in chain order, on a request's `parts` from
    /// `client`, as `Chain::on_request` makes them: fixed edits, admitted takes, replayed
    /// memos; stops at the first middleware that needs its guest.
    pub fn run_request(&self, parts: &mut http::request::Parts, client: SocketAddr) -> NativeRun {
        let mut run = NativeRun::default();
        for (i, mw) in self.middlewares.iter().enumerate() {
            if let Some(fixed) = mw.fixed_edits() {
                fixed.apply_request(&mut parts.headers, mw.budget().max_headers);
                continue;
            }
            if !mw.needs().request_hook {
                continue;
            }
            if let Some(take) = mw.pre_take() {
                if delay(&mut run.take_delay_ns, take.take(parts, client)) == Take::Allowed {
                    continue;
                }
                run.stop = Some(NativeStop {
                    at: i,
                    tried: Tried::TakeRefused,
                });
                return run;
            }
            // `native_only`: a middleware here without fixed edits, a request hook's take or
            // no request hook has a memo.
            let lookup = match mw.verdict_memo() {
                Some(memo) => {
                    let max_headers = mw.budget().max_headers;
                    memo.replay_on(&mut parts.headers, &mut run.user, max_headers)
                }
                None => Lookup::Absent,
            };
            if lookup != Lookup::Replayed {
                run.stop = Some(NativeStop {
                    at: i,
                    tried: Tried::Memo(lookup),
                });
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
