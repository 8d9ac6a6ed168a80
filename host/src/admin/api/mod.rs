//! Traefik's internal services, answered by the gateway itself: the read-only API
//! (`api@internal`, Traefik's paths and JSON shapes), the dashboard (`dashboard@internal`),
//! `ping@internal`, `prometheus@internal` and `noop@internal`.
//!
//! The API's documents are built once per snapshot from the loaded config ([`ApiModel::build`],
//! config time); a request only filters, pages and serialises them, and reads the servers'
//! live health through [`ServerStatus`] (implemented by `app` over the load balancers, so this
//! layer never reaches up to `lb`).

mod dashboard;
mod documents;
mod listing;
mod model;
mod plugin_figures;
mod redact;
mod reloads;
mod tcp_model;
mod udp_model;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{Method, StatusCode, Uri};

use crate::config::{InternalService, LoadedConfig};
pub use model::ApiModel;
pub use reloads::record_reload;

/// The live health of a service's servers: `(url, up)` for each server of a load-balancer
/// service, `None` for another kind or an unknown name. Called per API request.
pub trait ServerStatus: Send + Sync {
    fn servers(&self, service: &str) -> Option<Vec<(String, bool)>>;
}

/// An answer of an internal service.
#[derive(Debug, Clone)]
pub struct InternalReply {
    pub status: StatusCode,
    pub content_type: &'static str,
    /// Extra headers (`X-Next-Page`, `Location`).
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

impl InternalReply {
    fn new(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        InternalReply {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    fn json(status: StatusCode, value: &serde_json::Value) -> Self {
        let mut body = serde_json::to_vec(value).unwrap_or_default();
        body.push(b'\n');
        Self::new(status, "application/json", body)
    }

    fn not_found(what: &str) -> Self {
        Self::json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "message": format!("{what} not found") }),
        )
    }

    fn redirect(location: String) -> Self {
        let mut reply = Self::new(StatusCode::FOUND, "text/plain; charset=utf-8", "");
        reply.headers.push(("location", location));
        reply
    }
}

/// Set when the gateway starts shutting down: `/ping` answers `terminatingStatusCode`.
static DRAINING: AtomicBool = AtomicBool::new(false);

/// Marks the gateway as shutting down (called once by `app` on SIGTERM / SIGINT).
pub fn set_draining() {
    DRAINING.store(true, Ordering::Relaxed);
}

/// Set while the serving snapshot lacks a pinned plugin file (start-up before the fetch):
/// `/ping` answers 503 so that a load balancer sends no traffic to a gateway that is not
/// ready. Cleared by `app` when a snapshot with every plugin present and compiled is served.
static WAITING_FOR_PLUGINS: AtomicBool = AtomicBool::new(false);

/// Whether the serving snapshot waits for pinned plugin files (see [`WAITING_FOR_PLUGINS`]).
pub fn set_waiting_for_plugins(waiting: bool) {
    WAITING_FOR_PLUGINS.store(waiting, Ordering::Relaxed);
}

/// The internal services of one snapshot.
pub struct Internals {
    model: Option<ApiModel>,
    base_path: String,
    dashboard: bool,
    /// `api.debug`: `<basePath>debug/vars` is served.
    debug: bool,
    ping_terminating_status: u16,
    status: Arc<dyn ServerStatus>,
}

impl Internals {
    /// Builds the API documents of `config` (config time); `plugins` is the `/api/plugins`
    /// list, built by `app` from the plugin registry.
    pub fn build(
        config: &LoadedConfig,
        status: Arc<dyn ServerStatus>,
        plugins: Vec<serde_json::Value>,
    ) -> Internals {
        let statics = &config.static_config;
        super::runtime_figures::mark_started();
        Internals {
            model: statics
                .api
                .as_ref()
                .map(|_| ApiModel::build(config, plugins)),
            base_path: statics
                .api
                .as_ref()
                .map_or_else(|| "/".to_string(), |api| api.base_path.clone()),
            dashboard: statics.api.as_ref().is_some_and(|api| api.dashboard),
            debug: statics.api.as_ref().is_some_and(|api| api.debug),
            ping_terminating_status: statics
                .ping
                .as_ref()
                .map_or(503, |ping| ping.terminating_status_code),
            status,
        }
    }

    /// Answers a request routed to `service`. Only `GET` and `HEAD` read the API, dashboard and
    /// ping; anything else is 405.
    pub fn answer(&self, service: InternalService, method: &Method, uri: &Uri) -> InternalReply {
        if service == InternalService::Noop {
            // Traefik's noop handler: for routers whose middlewares (redirects) always answer.
            return InternalReply::new(StatusCode::IM_A_TEAPOT, "text/plain; charset=utf-8", "");
        }
        if method != Method::GET && method != Method::HEAD {
            return InternalReply::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain; charset=utf-8",
                "method not allowed\n",
            );
        }
        match service {
            InternalService::Ping => {
                if DRAINING.load(Ordering::Relaxed) {
                    let status = StatusCode::from_u16(self.ping_terminating_status)
                        .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                    let text = status.canonical_reason().unwrap_or("Service Unavailable");
                    InternalReply::new(status, "text/plain; charset=utf-8", text.to_string())
                } else if WAITING_FOR_PLUGINS.load(Ordering::Relaxed) {
                    let body = "waiting for pinned plugin files";
                    InternalReply::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "text/plain; charset=utf-8",
                        body,
                    )
                } else {
                    InternalReply::new(StatusCode::OK, "text/plain; charset=utf-8", "OK")
                }
            }
            InternalService::Prometheus => {
                match super::recorder().and_then(|r| r.metrics.clone()) {
                    Some(metrics) => InternalReply::new(
                        StatusCode::OK,
                        "text/plain; version=0.0.4; charset=utf-8",
                        metrics.render_text(),
                    ),
                    None => InternalReply::not_found("metrics"),
                }
            }
            InternalService::Dashboard if self.dashboard => {
                dashboard::answer(&self.base_path, uri.path())
            }
            InternalService::Api if self.debug_path(uri) => {
                if uri.path() == format!("{}debug/vars", self.base_path) {
                    InternalReply::json(StatusCode::OK, &super::runtime_figures::document())
                } else {
                    InternalReply::not_found("debug page (only debug/vars is served; no pprof)")
                }
            }
            InternalService::Api => match &self.model {
                Some(model) => model.answer(&self.base_path, uri, self.status.as_ref()),
                None => InternalReply::not_found("api"),
            },
            InternalService::Dashboard | InternalService::Noop => InternalReply::not_found("page"),
        }
    }
}

impl Internals {
    /// Under `<basePath>debug/` with `api.debug` on.
    fn debug_path(&self, uri: &Uri) -> bool {
        self.debug
            && uri
                .path()
                .strip_prefix(self.base_path.as_str())
                .is_some_and(|rest| rest == "debug" || rest.starts_with("debug/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoServers;

    impl ServerStatus for NoServers {
        fn servers(&self, _: &str) -> Option<Vec<(String, bool)>> {
            None
        }
    }

    #[test]
    fn ping_answers_the_terminating_status_once_draining_and_noop_is_a_teapot() {
        let internals = Internals {
            model: None,
            base_path: "/".to_string(),
            dashboard: false,
            debug: false,
            ping_terminating_status: 204,
            status: Arc::new(NoServers),
        };
        let uri: Uri = "/ping".parse().expect("uri");
        let noop = internals.answer(InternalService::Noop, &Method::GET, &uri);
        assert_eq!(noop.status, StatusCode::IM_A_TEAPOT);
        let post = internals.answer(InternalService::Ping, &Method::POST, &uri);
        assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            internals
                .answer(InternalService::Ping, &Method::GET, &uri)
                .status,
            StatusCode::OK
        );
        set_draining();
        assert_eq!(
            internals
                .answer(InternalService::Ping, &Method::GET, &uri)
                .status,
            StatusCode::NO_CONTENT
        );
        let dashboard = internals.answer(InternalService::Dashboard, &Method::GET, &uri);
        assert_eq!(dashboard.status, StatusCode::NOT_FOUND, "dashboard: false");
    }
}
