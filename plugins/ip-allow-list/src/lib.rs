//! Bundled plugin `ip-allow-list`: Traefik's `ipAllowList` middleware, also serving its
//! deprecated name `ipWhiteList`.
//!
//! Options (Traefik v3 names and semantics):
//! - `sourceRange` (required): addresses and CIDR ranges (IPv4 and IPv6) allowed in;
//! - `ipStrategy`: `depth`, `excludedIPs`, `ipv6Subnet` — which address is checked (see
//!   [`strategy`]); without it, the TCP peer's;
//! - `rejectStatusCode`: the status of a refusal (default 403; any status Go has a text for,
//!   200..=599), sent with that text as a `text/plain` body.
//!
//! ```yaml
//! http:
//!   middlewares:
//!     office-only:
//!       ipAllowList:
//!         sourceRange: ["127.0.0.1/32", "192.168.1.0/24"]
//!         ipStrategy: { depth: 2, excludedIPs: ["10.0.0.1"] }
//!         rejectStatusCode: 404
//! ```
//!
//! Cost per request: one host call (the peer address or `X-Forwarded-For`) and a scan of the
//! configured ranges.

mod config;

use traefik_options::ip_net as net;
pub use traefik_options::ip_strategy as strategy;

use plugin_sdk::{Action, Middleware, Reply, Request};

pub use config::IpAllowListConfig;

/// The `ipAllowList` middleware.
pub struct IpAllowList {
    config: IpAllowListConfig,
}

impl Middleware for IpAllowList {
    /// Request-only: the gateway skips the response hook (one call per request saved).
    fn wants_response_hook(&self) -> bool {
        false
    }

    fn from_config(config: &str) -> Result<Self, String> {
        IpAllowListConfig::parse(config).map(|config| IpAllowList { config })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let client = self.config.strategy.client_ip(req);
        let allowed = net::parse_addr(&client)
            .is_some_and(|ip| self.config.source_range.iter().any(|r| r.contains(ip)));
        if allowed {
            return Action::Continue;
        }
        plugin_sdk::debug!("ip-allow-list: refusing {client:?}");
        let code = self.config.reject_status;
        let mut reply = Reply::new(code);
        if !traefik_options::status_text::bodyless(code) {
            reply = reply
                .header("content-type", "text/plain; charset=utf-8")
                .body(traefik_options::status_text::text(code).unwrap_or_default());
        }
        Action::Respond(reply)
    }
}

plugin_sdk::export_middleware!(IpAllowList);

#[cfg(test)]
mod tests;
