//! Test fixture `std-hashmap`: builds a std `HashMap` in `from_config` and in `on-request`.
//! Rust's std seeds it from `wasi:random/insecure-seed` at the WASI version the toolchain
//! imports (0.2.x older than the host's), so this proves the host links WASI under the
//! component's own import versions. Sets `x-hashmap-entries` on the request.

use std::collections::HashMap;

use plugin_sdk::{Action, Middleware, Request};

pub struct StdHashMap {
    seeded: HashMap<String, u32>,
}

impl Middleware for StdHashMap {
    fn from_config(_config: &str) -> Result<Self, String> {
        let mut seeded = HashMap::new();
        seeded.insert("config".to_owned(), 1);
        Ok(StdHashMap { seeded })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let mut per_request: HashMap<&str, u32> = HashMap::new();
        per_request.insert("request", 1);
        let entries = self.seeded.len() + per_request.len();
        let _ = req.set_header("x-hashmap-entries", entries.to_string());
        Action::Continue
    }
}

plugin_sdk::export_middleware!(StdHashMap);
