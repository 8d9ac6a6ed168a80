//! Building the services of a snapshot from `http.services` and `http.serversTransports`:
//! one transport (connection pools) per servers transport plus the default, then each service
//! after the services it names (the config module has checked that they exist and form no
//! cycle). Runs at start-up and reload, never per request; load balancers with a health check
//! start their probes here (they stop when the snapshot holding them is dropped).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use crate::config::{
    ConfigError, DEFAULT_TRANSPORT, LoadedConfig, ServersTransportConfig, ServiceConfig,
};
use crate::lb::mirroring::replay::MirrorSampler;
use crate::lb::sticky::StickyCookie;
use crate::lb::{LoadBalancer, SmoothWeighted};
use crate::upstream::UpstreamTls;
use crate::upstream::transport::{TransportSettings, UpstreamTransport};

use crate::lb::mirroring::{Mirror, Mirroring};
use crate::lb::service::{Failover, Service, ServiceKind, Weighted};

fn transport_settings(t: &ServersTransportConfig, tls: Option<UpstreamTls>) -> TransportSettings {
    TransportSettings {
        dial_timeout: t.dial_timeout,
        response_header_timeout: t.response_header_timeout,
        idle_conn_timeout: t.idle_conn_timeout,
        max_idle_conns_per_host: t.max_idle_conns_per_host,
        max_conns_per_host: t.max_conns_per_host,
        tls,
        http2: crate::upstream::transport::Http2Settings {
            read_idle_timeout: t.read_idle_timeout,
            ping_timeout: t.ping_timeout,
            disabled: t.disable_http2,
        },
    }
}

/// The TLS side of servers transport `name` (`None`: the default transport); a file that does
/// not load goes to `errors`, and the transport is built without TLS (the config is rejected).
fn upstream_tls(
    config: &LoadedConfig,
    name: Option<&str>,
    t: &ServersTransportConfig,
    errors: &mut Vec<ConfigError>,
) -> Option<UpstreamTls> {
    let site = |reason: &str| match name {
        Some(name) => config.error_at(&["http", "serversTransports", name], reason),
        None => config.error_at(&["serversTransport"], reason),
    };
    crate::tls::upstream_tls(&t.tls, site)
        .map_err(|e| errors.push(e))
        .ok()
}

/// Every service that could be built, by name; problems go to `errors`, located in the
/// config. Must run inside the tokio runtime (transports and health probes spawn tasks).
pub fn build_services<'c>(
    config: &'c LoadedConfig,
    errors: &mut Vec<ConfigError>,
) -> HashMap<&'c str, Arc<Service>> {
    let http = &config.dynamic.http;
    // The static `serversTransport` when written, else the built-in defaults.
    let defaults = http
        .servers_transports
        .get(DEFAULT_TRANSPORT)
        .cloned()
        .unwrap_or_default();
    let default_tls = upstream_tls(config, None, &defaults, errors);
    let default_transport = UpstreamTransport::new(&transport_settings(&defaults, default_tls));
    let mut transports: HashMap<&str, UpstreamTransport> = HashMap::new();
    transports.insert(DEFAULT_TRANSPORT, default_transport.clone());
    for (name, t) in &http.servers_transports {
        if name == DEFAULT_TRANSPORT {
            continue;
        }
        let tls = upstream_tls(config, Some(name), t, errors);
        let transport = UpstreamTransport::new(&transport_settings(t, tls));
        transports.insert(name.as_str(), transport);
    }
    let mut builder = Builder {
        config,
        default_transport,
        transports,
        built: HashMap::new(),
        errors,
    };
    for name in http.services.keys() {
        builder.build(name, 0);
    }
    builder
        .built
        .into_iter()
        .filter_map(|(name, service)| service.map(|s| (name, s)))
        .collect()
}

/// Deeper nesting than this is treated as a cycle (the config check rejects cycles first).
const MAX_DEPTH: usize = 64;

struct Builder<'c, 'e> {
    config: &'c LoadedConfig,
    default_transport: UpstreamTransport,
    transports: HashMap<&'c str, UpstreamTransport>,
    /// `None`: tried and failed (already reported, or a child failed).
    built: HashMap<&'c str, Option<Arc<Service>>>,
    errors: &'e mut Vec<ConfigError>,
}

impl<'c> Builder<'c, '_> {
    fn build(&mut self, name: &str, depth: usize) -> Option<Arc<Service>> {
        let (key, svc) = self.config.dynamic.http.services.get_key_value(name)?;
        if let Some(done) = self.built.get(key.as_str()) {
            return done.clone();
        }
        if depth > MAX_DEPTH {
            return None;
        }
        let service = self.make(key, svc, depth).map(Arc::new);
        self.built.insert(key.as_str(), service.clone());
        service
    }

    fn error(&mut self, path: &[&str], reason: String) {
        self.errors.push(self.config.error_at(path, reason));
    }

    fn make(&mut self, name: &'c str, svc: &'c ServiceConfig, depth: usize) -> Option<Service> {
        let service_name: Arc<str> = Arc::from(name);
        let kind = match svc {
            ServiceConfig::LoadBalancer(lb) => {
                let transport = lb
                    .servers_transport
                    .as_deref()
                    .and_then(|t| self.transports.get(t).cloned())
                    .unwrap_or_else(|| self.default_transport.clone());
                match LoadBalancer::new(service_name.clone(), lb, transport) {
                    Ok(lb) => ServiceKind::LoadBalancer(lb),
                    Err(e) => {
                        self.error(&["http", "services", name, "loadBalancer"], e.to_string());
                        return None;
                    }
                }
            }
            ServiceConfig::Weighted(w) => {
                let children = w
                    .services
                    .iter()
                    .map(|c| self.build(&c.name, depth + 1))
                    .collect::<Option<Vec<_>>>()?;
                let weights: Vec<u32> = w.services.iter().map(|c| c.weight).collect();
                let sticky = match &w.sticky {
                    Some(cookie) => {
                        let keys: Vec<&str> = w.services.iter().map(|c| c.name.as_str()).collect();
                        match StickyCookie::new(cookie, &keys) {
                            Ok(s) => Some(s),
                            Err(e) => {
                                let path = ["http", "services", name, "weighted", "sticky"];
                                self.error(&path, format!("sticky cookie: {e}"));
                                return None;
                            }
                        }
                    }
                    None => None,
                };
                ServiceKind::Weighted(Weighted {
                    children: children.into_boxed_slice(),
                    schedule: SmoothWeighted::new(&weights),
                    sticky,
                })
            }
            ServiceConfig::Mirroring(m) => {
                let main = self.build(&m.service, depth + 1)?;
                let mirrors = m
                    .mirrors
                    .iter()
                    .map(|mirror| {
                        self.build(&mirror.name, depth + 1).map(|service| Mirror {
                            service,
                            sampler: MirrorSampler::new(mirror.percent),
                        })
                    })
                    .collect::<Option<Vec<_>>>()?;
                ServiceKind::Mirroring(Mirroring {
                    name: service_name.clone(),
                    main,
                    mirrors: mirrors.into_boxed_slice(),
                    mirror_body: m.mirror_body,
                    max_body_size: m.max_body_size,
                    in_flight: Arc::new(AtomicUsize::new(0)),
                })
            }
            ServiceConfig::Failover(f) => ServiceKind::Failover(Failover {
                main: self.build(&f.service, depth + 1)?,
                fallback: self.build(&f.fallback, depth + 1)?,
            }),
        };
        Some(Service {
            name: service_name,
            kind,
        })
    }
}
