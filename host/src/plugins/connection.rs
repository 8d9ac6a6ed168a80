//! Connection-level (L4) middlewares, host side: the `connection` export of a
//! `connection-middleware` component, called once per TCP connection a TCP router took
//! (`tcp::serve`), before the service is dialled.
//!
//! The same `PluginMiddleware` as HTTP middlewares (configure, probe and fitted memory cap,
//! pool, per-request isolation, deadline, recycling, metrics, failure log): only the hook
//! differs. An instance is checked out for the `on-connect` call only and goes back to the pool
//! right after it, never held while the connection is open. In-flight counts taken in the call
//! (`counters.acquire-in-flight`) come back as leases the connection holds until it closes.
//!
//! Cost per connection and middleware: a pool pop and push, one hook call with the connection's
//! facts copied into the instance (addresses, SNI, ALPN, at most 1 KiB of first bytes).

use super::bindings::connection::{ConnectionInfo, Verdict as WitVerdict};
use super::budget::MiddlewareBudget;
use super::counters::InFlightLease;
use super::error::PluginError;
use super::instance::{PluginInstance, classify, wrong_world};
use super::middleware::PluginMiddleware;
use crate::admin::plugin_metrics::Hook;

/// At most this many of the connection's first bytes are handed to `on-connect`.
pub const MAX_FIRST_BYTES: usize = 1024;

/// The facts `on-connect` receives (the WIT record).
pub type Connection = ConnectionInfo;

/// What a connection middleware decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionVerdict {
    Accept,
    /// Close the connection; the plugin's reason.
    Reject(String),
}

impl PluginInstance {
    /// Calls `on-connect`; returns the verdict and the in-flight counts the call took.
    fn on_connect(
        &mut self,
        deadline_ticks: u64,
        budget: &MiddlewareBudget,
        conn: &Connection,
    ) -> (Result<WitVerdict, PluginError>, Vec<InFlightLease>) {
        let Some(hooks) = &self.bindings.connection else {
            return (Err(wrong_world()), Vec::new());
        };
        self.requests += 1;
        self.arm.arm(&mut self.store, deadline_ticks);
        self.store.data_mut().connection_leases = Some(Vec::new());
        let result = hooks
            .call_on_connect(&mut self.store, conn)
            .map_err(|e| classify(e, &self.store, budget));
        let leases = self
            .store
            .data_mut()
            .connection_leases
            .take()
            .unwrap_or_default();
        (result, leases)
    }
}

impl PluginMiddleware {
    /// Runs `on-connect` for one connection. On `Accept`, the counts the plugin took are added
    /// to `leases` (the caller holds them until the connection closes); on `Reject` or a
    /// failure they are released at once. A failure (trap, deadline, memory cap) discards the
    /// instance and is logged and counted like an HTTP hook's; the caller closes the
    /// connection (a connection middleware never fails open: there is no head to pass on
    /// unchanged, and an access check that failed must not admit).
    pub fn on_connect(
        &self,
        conn: &Connection,
        leases: &mut Vec<InFlightLease>,
    ) -> Result<ConnectionVerdict, PluginError> {
        let result = self.timed(Hook::Request, || {
            let mut slot = None;
            let mut inst = self.checkout(&mut slot)?;
            let (result, taken) = inst.on_connect(self.deadline_ticks, self.budget(), conn);
            self.checkin(inst, result.is_err(), &mut slot);
            if let Ok(WitVerdict::Accept) = result {
                leases.extend(taken);
            }
            result
        });
        if let Some(c) = self.counters() {
            c.called(Hook::Request);
        }
        match result {
            Ok(WitVerdict::Accept) => Ok(ConnectionVerdict::Accept),
            Ok(WitVerdict::Reject(why)) => Ok(ConnectionVerdict::Reject(why)),
            Err(err) => {
                super::chain::log_failure(self, "on-connect", &err);
                Err(err)
            }
        }
    }
}
