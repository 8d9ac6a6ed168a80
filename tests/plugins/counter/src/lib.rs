//! Test fixture `counter`: counts hook calls in instance memory.
//!
//! `on-request` increments the instance's request counter and sets the request header
//! `x-instance-calls: N`; `on-response` increments a separate response counter and sets the
//! response header `x-instance-calls: N`. Two counters keep each header at 1 for a fresh instance
//! whether the host uses one instance per request or one per hook call. So: per-request isolation
//! shows 1 every time; a pooled instance shows 1, 2, 3...; a recycled instance starts at 1 again.
//! Config is ignored.

use std::cell::Cell;

use plugin_sdk::{Action, Middleware, Request, Response};

/// Calls seen by this instance, per hook.
#[derive(Default)]
pub struct Counter {
    requests: Cell<u64>,
    responses: Cell<u64>,
}

/// The header both hooks set.
pub const HEADER: &str = "x-instance-calls";

fn bump(cell: &Cell<u64>) -> u64 {
    let n = cell.get().saturating_add(1);
    cell.set(n);
    n
}

impl Middleware for Counter {
    fn from_config(_config: &str) -> Result<Self, String> {
        Ok(Counter::default())
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let n = bump(&self.requests);
        // A decimal number is always a valid header value.
        let _ = req.set_header(HEADER, n.to_string());
        Action::Continue
    }

    fn on_response(&self, _req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        let n = bump(&self.responses);
        let _ = resp.set_header(HEADER, n.to_string());
        Action::Continue
    }
}

plugin_sdk::export_middleware!(Counter);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestRequest, TestResponse};

    #[test]
    fn each_hook_counts_calls_on_the_same_instance() {
        let mw = testing::instance::<Counter>("{}").unwrap_or_default();
        for expected in ["1", "2", "3"] {
            let mut req = TestRequest::get("/");
            let mut resp = TestResponse::new(200);
            testing::on_request(&mw, &mut req);
            testing::on_response(&mw, &mut req, &mut resp);
            assert_eq!(req.header_str(HEADER).as_deref(), Some(expected));
            assert_eq!(resp.header_str(HEADER).as_deref(), Some(expected));
        }
    }
}
