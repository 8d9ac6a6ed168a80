//! The routing snapshot: everything a request needs, built from a config at load time (by
//! `app::build`) and swapped whole (one `ArcSwap` store) on reload. Requests load it once and
//! never lock.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::lb::Service;
use crate::plugins::Chain;
use crate::router::RouteTable;

/// Where a router sends its requests.
#[derive(Clone)]
pub enum Backend {
    /// A service of the config (load balancer, weighted, mirroring, failover).
    Service(Arc<Service>),
    /// One of Traefik's internal services (`api@internal`, `ping@internal`...), answered by
    /// the gateway itself (`admin::api`).
    Internal(crate::config::InternalService),
    /// A router whose middlewares pin a plugin file that is not here yet (start-up before the
    /// fetch): answered 503 until a snapshot with the file replaces this one.
    PluginsPending,
}

/// What a matched router leads to.
pub struct RouteTarget {
    pub router: Arc<str>,
    pub chain: Chain,
    pub backend: Backend,
    /// The router's `maxInFlight` permits (shared by its entrypoints); `None`: unlimited.
    pub in_flight: Option<Arc<tokio::sync::Semaphore>>,
    /// Encoded characters the router's `encodedCharacters` middleware allows in the path,
    /// overriding the entrypoint's; `None`: the entrypoint's apply.
    pub encoded_characters: Option<crate::router::path::Encoded>,
    /// Where this route's metrics and access-log fields go (resolved at build time; empty when
    /// nothing records). Shared: a recorded request takes one reference for all of it.
    pub observe: Arc<crate::admin::RouteHandles>,
    /// The router's `retry` and `buffering.retryExpression`, run around forwarding.
    pub native: NativeMiddlewares,
}

/// The middlewares the proxy runs itself at the forwarding step (ARCHITECTURE, "Native
/// middlewares"), built at config time per router. Empty for most routes: then forwarding
/// pays one slice-length test and two `Option` tests.
#[derive(Default, Clone)]
pub struct NativeMiddlewares {
    /// `retry`, handed to the load balancer (whose own `retry`, if any, wins).
    pub retry: Option<crate::lb::retry::RetryPolicy>,
    /// `buffering.retryExpression`: a request whose body the chain held whole is sent again
    /// while it holds after an attempt (`handler::forward`).
    pub buffer_retry: Option<Arc<crate::config::retry_expression::RetryExpression>>,
    /// The router's chain when it is only fixed header edits (`plugins::chain_fixed`): its
    /// chain is then empty and the plain path applies the edits around forwarding.
    pub fixed_edits: Option<crate::plugins::chain_fixed::FixedChain>,
}

/// Route tables by entrypoint name, looked up once per request ([`Snapshot::routes_for`]): keys
/// come from the config, not from clients, so FxHash (a few instructions for a short name, where
/// SipHash took ≈ 200) is safe here.
pub type EntrypointTables = HashMap<String, RouteTable<RouteTarget>, rustc_hash::FxBuildHasher>;

/// Route tables by entrypoint name, and the TLS side of the entrypoints that terminate TLS.
#[derive(Default)]
pub struct Snapshot {
    /// Routers without `tls`: matched on plain connections.
    pub entrypoints: EntrypointTables,
    /// Routers with `tls` (their own or their entrypoint's `http.tls`): matched on TLS
    /// connections only, as in Traefik.
    pub tls_entrypoints: EntrypointTables,
    /// Certificates and options of each entrypoint with TLS routers; read once per accepted
    /// connection, so a reload's certificates reach the connections accepted after it.
    pub tls: HashMap<String, Arc<crate::tls::EntrypointTls>>,
    /// TCP routers of each entrypoint that has some; read once per accepted connection. An
    /// entrypoint without TCP routers is absent, and its connections take the HTTP path as
    /// they would without TCP support.
    pub tcp: HashMap<String, Arc<crate::tcp::TcpEntrypoint>>,
    /// The service of each UDP entrypoint's router; read once per new UDP session (an
    /// entrypoint without a router is absent: its datagrams are dropped).
    pub udp: HashMap<String, Arc<crate::udp::UdpService>>,
    /// The internal services' state of this config (API documents, ping); `None` in snapshots
    /// built without one (tests).
    pub internals: Option<Arc<crate::admin::api::Internals>>,
}

impl Snapshot {
    /// The routers of `entrypoint` that plain connections match.
    pub fn routes(&self, entrypoint: &str) -> Option<&RouteTable<RouteTarget>> {
        self.entrypoints.get(entrypoint)
    }

    /// The routers of `entrypoint` a connection matches: the TLS routers on a TLS connection,
    /// the others on a plain one.
    pub fn routes_for(&self, entrypoint: &str, tls: bool) -> Option<&RouteTable<RouteTarget>> {
        if tls {
            self.tls_entrypoints.get(entrypoint)
        } else {
            self.entrypoints.get(entrypoint)
        }
    }
}

/// The live snapshot; replaced whole on reload, loaded once per request.
pub type SharedSnapshot = Arc<ArcSwap<Snapshot>>;
