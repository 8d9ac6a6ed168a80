//! Building a middleware's `outbound-http` grant from its config: the allowed origins (checked
//! here, each a located error when it is not an absolute `http://` / `https://` URL), the
//! allowed services (resolved to the snapshot's services), and a transport of its own for URL
//! destinations (pooled connections; `https://` verified against the grant's CA, e.g.
//! `forwardAuth.tls.ca`, else the system's trust store; a client certificate where given).
//! Runs at config load, once per granted middleware.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{ConfigError, LoadedConfig, OutboundHttpConfig, ServersTransportConfig};
use crate::lb::Service;
use crate::plugins::{Origin, OutboundGrant};
use crate::upstream::transport::{TransportSettings, UpstreamTransport};

/// The grant, or the first problem found, located at the middleware's `key`.
pub fn build(
    config: &LoadedConfig,
    key: &[&str],
    outbound: &OutboundHttpConfig,
    services: &HashMap<&str, Arc<Service>>,
) -> Result<Arc<OutboundGrant>, ConfigError> {
    let at = |reason: String| config.error_at(key, reason);
    let origins = outbound
        .allow
        .iter()
        .map(|url| Origin::parse(url).map_err(|e| at(format!("outboundHttp.allow: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let mut allowed = HashMap::new();
    for name in &outbound.services {
        let service = services.get(name.as_str()).ok_or_else(|| {
            at(format!(
                "outboundHttp.services: service {name:?} does not exist"
            ))
        })?;
        allowed.insert(name.clone(), service.clone());
    }
    let defaults = ServersTransportConfig::default();
    let tls_config = outbound.tls.as_ref().unwrap_or(&defaults.tls);
    let tls = crate::tls::upstream_tls(tls_config, |reason| at(reason.to_string()))?;
    let transport = UpstreamTransport::new(&TransportSettings {
        dial_timeout: defaults.dial_timeout,
        response_header_timeout: None,
        idle_conn_timeout: defaults.idle_conn_timeout,
        max_idle_conns_per_host: defaults.max_idle_conns_per_host,
        max_conns_per_host: None,
        tls: Some(tls),
        http2: Default::default(),
    });
    let max_body = outbound
        .max_response_body_size
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    Ok(Arc::new(OutboundGrant::new(
        origins,
        allowed,
        transport,
        outbound.timeout.unwrap_or(Duration::ZERO),
        max_body,
    )))
}
