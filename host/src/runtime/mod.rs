//! The runtime snapshot: everything a request needs, built from a config at load time and
//! swapped whole (one `ArcSwap` store) on reload. Requests load it once and never lock.

pub mod build;
pub mod build_services;
pub mod service;

use std::collections::HashMap;
use std::sync::Arc;

use crate::plugins::Chain;
use crate::router::RouteTable;
pub use build::build_runtime;
pub use service::{Server, Service};

/// What a matched router leads to.
pub struct RouteTarget {
    pub router: Arc<str>,
    pub chain: Chain,
    pub service: Arc<Service>,
    /// The router's `maxInFlight` permits (shared by its entrypoints); `None`: unlimited.
    pub in_flight: Option<Arc<tokio::sync::Semaphore>>,
}

/// Route tables by entrypoint name.
#[derive(Default)]
pub struct Runtime {
    pub entrypoints: HashMap<String, RouteTable<RouteTarget>>,
}

impl Runtime {
    pub fn routes(&self, entrypoint: &str) -> Option<&RouteTable<RouteTarget>> {
        self.entrypoints.get(entrypoint)
    }
}
