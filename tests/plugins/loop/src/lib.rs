//! Test fixture `loop`: spins forever in on-request when the request carries `x-fault`, so only
//! the host's epoch deadline stops it; without `x-fault` it continues. Config is ignored.

use plugin_sdk::{Action, Middleware, Request};

/// The request header that asks for the fault.
pub const FAULT_HEADER: &str = "x-fault";

/// No config, no state.
pub struct Spin;

impl Middleware for Spin {
    fn from_config(_config: &str) -> Result<Self, String> {
        Ok(Spin)
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        if req.header(FAULT_HEADER).is_none() {
            return Action::Continue;
        }
        let mut turns: u64 = 0;
        // `black_box` makes every turn observable, so the optimiser cannot drop or shorten the loop.
        loop {
            turns = std::hint::black_box(turns.wrapping_add(1));
        }
    }
}

plugin_sdk::export_middleware!(Spin);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestRequest};

    #[test]
    fn requests_without_x_fault_continue() {
        assert!(testing::on_request(&Spin, &mut TestRequest::get("/")).is_continue());
    }
}
