//! Test fixture `memory-hog`: when the request carries `x-fault`, allocates 1 MiB blocks in
//! on-request until allocation fails, so only the host's memory cap stops it (a failed
//! `memory.grow` makes std's allocation-failure handler write to stderr and abort: a trap either
//! way). With `x-leak: N` it allocates N KiB and never frees them (a guest whose memory creeps
//! up request after request). Without either it continues. Config is ignored.

use plugin_sdk::{Action, Middleware, Request};

const BLOCK: usize = 1 << 20;

/// The request header that asks for the fault.
pub const FAULT_HEADER: &str = "x-fault";

/// The request header that asks for a leak of that many KiB.
pub const LEAK_HEADER: &str = "x-leak";

/// No config, no state.
pub struct Hog;

impl Middleware for Hog {
    fn from_config(_config: &str) -> Result<Self, String> {
        Ok(Hog)
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        if let Some(kib) = req
            .header(LEAK_HEADER)
            .and_then(|v| std::str::from_utf8(&v).ok()?.parse::<usize>().ok())
        {
            // Touched, then forgotten: the pages stay grown for the instance's life.
            std::mem::forget(std::hint::black_box(vec![0x5a_u8; kib << 10]));
            return Action::Continue;
        }
        if req.header(FAULT_HEADER).is_none() {
            return Action::Continue;
        }
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        // Non-zero fill and `black_box` keep every block allocated and touched.
        loop {
            hoard.push(std::hint::black_box(vec![0xa5; BLOCK]));
            std::hint::black_box(&hoard);
        }
    }
}

plugin_sdk::export_middleware!(Hog);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestRequest};

    #[test]
    fn requests_without_x_fault_continue() {
        assert!(testing::on_request(&Hog, &mut TestRequest::get("/")).is_continue());
    }
}
