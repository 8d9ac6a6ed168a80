//! Traefik's `api` and `ping` static sections, and its internal services (`api@internal`,
//! `dashboard@internal`, `ping@internal`, `prometheus@internal`, `noop@internal`) that routers
//! may name. Resolved at load.

/// `api:` — the read-only API and the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// `dashboard` (default true): `dashboard@internal` serves the web page.
    pub dashboard: bool,
    /// `insecure` (default false): the API and dashboard are served on the `traefik` entry
    /// point by the routers `api@internal` and `dashboard@internal`, without a router of the
    /// user's (Traefik's semantics).
    pub insecure: bool,
    /// `basePath` (default `/`): the prefix of `/api` and `/dashboard/`.
    pub base_path: String,
    /// `debug` (default false): `api@internal` also serves `<basePath>debug/vars`, the
    /// process's runtime figures as JSON (Traefik's expvar page; no pprof).
    pub debug: bool,
}

/// `ping:` — a health endpoint for load balancers in front of the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingConfig {
    /// `entryPoint` (default `traefik`) where `/ping` is served unless `manualRouting`.
    pub entry_point: String,
    /// `manualRouting`: no `ping@internal` router is added; a router of the user's names the
    /// service.
    pub manual_routing: bool,
    /// `terminatingStatusCode` (default 503): the answer while the gateway shuts down.
    pub terminating_status_code: u16,
}

/// One of Traefik's internal services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InternalService {
    /// `api@internal`: the JSON API under `<basePath>api/`.
    Api,
    /// `dashboard@internal`: the web page under `<basePath>dashboard/`.
    Dashboard,
    /// `ping@internal`: `/ping`.
    Ping,
    /// `prometheus@internal`: the metrics page.
    Prometheus,
    /// `noop@internal`: answers nothing useful (418), for routers that only redirect.
    Noop,
}

impl InternalService {
    /// The internal service a `name@internal` reference names, if Traefik has it.
    pub fn from_reference(reference: &str) -> Option<InternalService> {
        Some(match reference.strip_suffix("@internal")? {
            "api" => InternalService::Api,
            "dashboard" => InternalService::Dashboard,
            "ping" => InternalService::Ping,
            "prometheus" => InternalService::Prometheus,
            "noop" => InternalService::Noop,
            _ => return None,
        })
    }

    /// The static section that must be present for this service to exist, if any.
    pub fn needs(self) -> Option<&'static str> {
        match self {
            InternalService::Api | InternalService::Dashboard => Some("api"),
            InternalService::Ping => Some("ping"),
            InternalService::Prometheus => Some("metrics.prometheus"),
            InternalService::Noop => None,
        }
    }
}
