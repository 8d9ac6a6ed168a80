//! The host side of the `counters` import: a granted middleware's calls go to its
//! [`CounterScope`](super::counters::CounterScope).
//!
//! A component that imports `counters` loads only for a middleware whose config grants it
//! (`app::build` refuses it otherwise), so a call without a scope is a host bug or a bypass:
//! it traps, failing that request only.

use super::bindings::wasmgate::plugin::counters::{self, TakeResult};
use super::counters::Take;
use super::host_state::HostState;

impl counters::Host for HostState {
    fn take(
        &mut self,
        key: String,
        cost: u32,
        rate_per_second: f64,
        burst: u32,
    ) -> wasmtime::Result<TakeResult> {
        let Some(scope) = &self.counters else {
            return Err(wasmtime::format_err!(
                "middleware {:?} called counters.take without the counters grant",
                &*self.identity.middleware
            ));
        };
        Ok(match scope.take(&key, cost, rate_per_second, burst) {
            Take::Allowed => TakeResult::Allowed,
            Take::Denied(wait) => TakeResult::Denied(wait),
        })
    }
}
