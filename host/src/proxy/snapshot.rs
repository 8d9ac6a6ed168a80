//! The routing snapshot: everything a request needs, built from a config at load time (by
//! `app::build`) and swapped whole (one `ArcSwap` store) on reload. Requests load it once and
//! never lock.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::lb::Service;
use crate::plugins::Chain;
use crate::router::RouteTable;

/// What a matched router leads to.
pub struct RouteTarget {
    pub router: Arc<str>,
    pub chain: Chain,
    pub service: Arc<Service>,
    /// The router's `maxInFlight` permits (shared by its entrypoints); `None`: unlimited.
    pub in_flight: Option<Arc<tokio::sync::Semaphore>>,
    /// Encoded characters the router's `encodedCharacters` middleware allows in the path,
    /// overriding the entrypoint's; `None`: the entrypoint's apply.
    pub encoded_characters: Option<crate::router::path::Encoded>,
}

/// Route tables by entrypoint name.
#[derive(Default)]
pub struct Snapshot {
    pub entrypoints: HashMap<String, RouteTable<RouteTarget>>,
}

impl Snapshot {
    pub fn routes(&self, entrypoint: &str) -> Option<&RouteTable<RouteTarget>> {
        self.entrypoints.get(entrypoint)
    }
}

/// The live snapshot; replaced whole on reload, loaded once per request.
pub type SharedSnapshot = Arc<ArcSwap<Snapshot>>;
