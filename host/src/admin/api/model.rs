//! The API's documents, in Traefik's shapes (`/api/http/routers` entries with `entryPoints`,
//! `service`, `rule`, `priority`, `status`, `using`, `name`, `provider`...), built once per
//! snapshot from the loaded config; and the dispatch of `/api/...` paths over them.

use std::collections::BTreeMap;
use std::time::SystemTime;

use http::{StatusCode, Uri};
use serde_json::{Map, Value, json};

use super::documents::{RouterFacts, UsedBy, finish, kind_document, qualified, router_document};
use super::listing::{Criteria, percent_decode};
use super::{InternalReply, ServerStatus};
use crate::config::{LoadedConfig, ServiceConfig};

/// The API's documents of one config.
pub struct ApiModel {
    /// By qualified name (`web-app@file`, `api@internal`), sorted.
    routers: BTreeMap<String, Value>,
    services: BTreeMap<String, Value>,
    middlewares: BTreeMap<String, Value>,
    entry_points: BTreeMap<String, Value>,
    features: Value,
    started: String,
    /// wasmgate's `/api/plugins`: every plugin the registry holds and every refused file.
    plugins: Vec<Value>,
    tcp: super::tcp_model::TcpDocuments,
    udp: super::udp_model::UdpDocuments,
}

impl ApiModel {
    /// Builds every document of `config`. Config time; linear in the config.
    pub fn build(config: &LoadedConfig, plugins: Vec<Value>) -> ApiModel {
        let http = &config.dynamic.http;
        let all_entry_points: Vec<String> =
            config.static_config.entry_points.keys().cloned().collect();
        let mut used_by = UsedBy::default();
        let mut routers = BTreeMap::new();
        for (name, router) in &http.routers {
            let priority = router
                .priority
                .unwrap_or_else(|| i64::try_from(router.rule.len()).unwrap_or(i64::MAX));
            let facts = RouterFacts {
                name,
                rule: &router.rule,
                service: &router.service,
                middlewares: &router.middlewares,
                entry_points: &router.entry_points,
                priority: Some(priority),
                tls: router
                    .tls
                    .as_ref()
                    .map(|tls| json!({ "options": tls.options_name() })),
                observability: router.observability.map(|o| {
                    let verbosity = match o.trace_verbosity {
                        crate::config::TraceVerbosity::Minimal => "minimal",
                        crate::config::TraceVerbosity::Detailed => "detailed",
                    };
                    json!({
                        "accessLogs": o.access_logs,
                        "metrics": o.metrics,
                        "tracing": o.tracing,
                        "traceVerbosity": verbosity,
                    })
                }),
            };
            let (name, doc) = router_document(facts, &all_entry_points, &mut used_by);
            routers.insert(name, doc);
        }

        let mut services = BTreeMap::new();
        for (name, service) in &http.services {
            let name = qualified(name);
            let (kind, body) = match service {
                ServiceConfig::LoadBalancer(lb) => {
                    let servers: Vec<Value> = lb
                        .servers
                        .iter()
                        .map(|s| json!({ "url": s.url.to_string().trim_end_matches('/'), "weight": s.weight }))
                        .collect();
                    let mut body =
                        json!({ "servers": servers, "passHostHeader": lb.pass_host_header });
                    if let Some(hc) = &lb.health_check {
                        body["healthCheck"] = json!({
                            "path": hc.path,
                            "interval": format!("{:?}", hc.interval),
                            "timeout": format!("{:?}", hc.timeout),
                        });
                    }
                    if let Some(transport) = &lb.servers_transport {
                        body["serversTransport"] = json!(qualified(transport));
                    }
                    ("loadBalancer", body)
                }
                ServiceConfig::Weighted(w) => {
                    let children: Vec<Value> = w
                        .services
                        .iter()
                        .map(|c| json!({ "name": qualified(&c.name), "weight": c.weight }))
                        .collect();
                    ("weighted", json!({ "services": children }))
                }
                ServiceConfig::Mirroring(m) => {
                    let mirrors: Vec<Value> = m
                        .mirrors
                        .iter()
                        .map(|c| json!({ "name": qualified(&c.name), "percent": c.percent }))
                        .collect();
                    (
                        "mirroring",
                        json!({ "service": qualified(&m.service), "mirrors": mirrors }),
                    )
                }
                ServiceConfig::Failover(f) => (
                    "failover",
                    json!({ "service": qualified(&f.service), "fallback": qualified(&f.fallback) }),
                ),
            };
            let doc = kind_document(&name, kind, body, used_by.service(&name));
            services.insert(name, doc);
        }

        let mut middlewares = BTreeMap::new();
        for (name, mw) in &http.middlewares {
            let name = qualified(name);
            let mut doc = Map::new();
            let type_key = mw.type_key.clone();
            let config_value = if let Some(members) = &mw.chain {
                let members: Vec<String> = members.iter().map(|m| qualified(m)).collect();
                json!({ "middlewares": members })
            } else {
                let parsed = serde_json::from_str(&mw.config_json).unwrap_or(Value::Null);
                super::redact::middleware_config(&type_key, parsed)
            };
            doc.insert(type_key.clone(), config_value);
            if !mw.plugin.is_empty() {
                doc.insert("plugin".into(), json!(mw.plugin));
            }
            doc.insert("usedBy".into(), used_by.middleware(&name));
            doc.insert("type".into(), json!(type_key.to_ascii_lowercase()));
            middlewares.insert(name.clone(), finish(doc, &name));
        }

        let entry_points = config
            .static_config
            .entry_points
            .iter()
            .map(|(name, ep)| {
                let mut doc = json!({ "address": ep.address.to_string(), "name": name });
                if let Some(tls) = &ep.tls {
                    doc["http"] = json!({ "tls": { "options": tls.options_name() } });
                }
                (name.clone(), doc)
            })
            .collect();

        let features = json!({
            "tracing": "",
            "metrics": if config.static_config.metrics.is_some() { "Prometheus" } else { "" },
            "accessLog": config.static_config.access_log.is_some(),
        });
        ApiModel {
            routers,
            services,
            middlewares,
            entry_points,
            features,
            started: super::super::timefmt::rfc3339_utc(SystemTime::now()),
            plugins,
            tcp: super::tcp_model::TcpDocuments::build(&config.dynamic.tcp, &all_entry_points),
            udp: super::udp_model::UdpDocuments::build(
                &config.dynamic.udp,
                &config
                    .static_config
                    .udp_entry_points
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>(),
            ),
        }
    }

    /// Answers `GET <basePath>api/...`.
    pub fn answer(&self, base_path: &str, uri: &Uri, status: &dyn ServerStatus) -> InternalReply {
        let Some(rest) = uri
            .path()
            .strip_prefix(base_path)
            .and_then(|p| p.strip_prefix("api"))
        else {
            return InternalReply::not_found("page");
        };
        let criteria = Criteria::from_query(uri.query());
        let segments: Vec<String> = rest
            .trim_start_matches('/')
            .split('/')
            .map(percent_decode)
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        match segments.as_slice() {
            ["overview"] => self.overview(),
            ["version"] => InternalReply::json(
                StatusCode::OK,
                &json!({
                    "Version": env!("CARGO_PKG_VERSION"),
                    "Codename": "wasmgate",
                    "startDate": self.started,
                }),
            ),
            ["rawdata"] => self.rawdata(status),
            ["entrypoints"] | ["entrypoints", ""] => {
                criteria.page(self.entry_points.values().cloned().collect())
            }
            ["entrypoints", name] => one(self.entry_points.get(*name), "entry point"),
            ["http", "routers"] | ["http", "routers", ""] => {
                let items = self
                    .routers
                    .iter()
                    .filter(|(name, doc)| {
                        let rule = doc["rule"].as_str().unwrap_or_default();
                        let service = doc["service"].as_str().unwrap_or_default();
                        let middlewares: Vec<String> = doc["middlewares"]
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|m| m.as_str().map(String::from))
                                    .collect()
                            })
                            .unwrap_or_default();
                        criteria.with_status("enabled")
                            && criteria.search_in(&[rule, name.as_str()])
                            && criteria.with_service(service)
                            && criteria.with_middleware(&middlewares)
                    })
                    .map(|(_, doc)| doc.clone())
                    .collect();
                criteria.page(items)
            }
            ["http", "routers", name] => one(self.routers.get(*name), "router"),
            ["http", "services"] | ["http", "services", ""] => {
                let items = self
                    .services
                    .iter()
                    .filter(|(name, _)| {
                        criteria.with_status("enabled") && criteria.search_in(&[name.as_str()])
                    })
                    .map(|(name, doc)| with_server_status(name, doc, status))
                    .collect();
                criteria.page(items)
            }
            ["http", "services", name] => match self.services.get(*name) {
                Some(doc) => {
                    InternalReply::json(StatusCode::OK, &with_server_status(name, doc, status))
                }
                None => InternalReply::not_found("service"),
            },
            ["http", "middlewares"] | ["http", "middlewares", ""] => {
                criteria.page_by_name(&self.middlewares)
            }
            ["http", "middlewares", name] => one(self.middlewares.get(*name), "middleware"),
            ["tcp", "routers"] | ["tcp", "routers", ""] => {
                criteria.page_of_l4_routers(&self.tcp.routers)
            }
            ["tcp", "routers", name] => one(self.tcp.routers.get(*name), "router"),
            ["tcp", "services"] | ["tcp", "services", ""] => {
                criteria.page_by_name(&self.tcp.services)
            }
            ["tcp", "middlewares"] | ["tcp", "middlewares", ""] => {
                criteria.page_by_name(&self.tcp.middlewares)
            }
            ["tcp", "services", name] => one(self.tcp.services.get(*name), "service"),
            ["tcp", "middlewares", name] => one(self.tcp.middlewares.get(*name), "middleware"),
            ["udp", "routers"] | ["udp", "routers", ""] => {
                criteria.page_of_l4_routers(&self.udp.routers)
            }
            ["udp", "services"] | ["udp", "services", ""] => {
                criteria.page_by_name(&self.udp.services)
            }
            ["udp", "routers", name] => one(self.udp.routers.get(*name), "router"),
            ["udp", "services", name] => one(self.udp.services.get(*name), "service"),
            ["plugins"] | ["plugins", ""] => {
                let items = self
                    .plugins
                    .iter()
                    .filter(|p| criteria.search_in(&[p["name"].as_str().unwrap_or_default()]))
                    .map(super::plugin_figures::with_live_figures)
                    .collect();
                criteria.page(items)
            }
            ["reloads"] | ["reloads", ""] => criteria.page(super::reloads::history()),
            _ => InternalReply::not_found("page"),
        }
    }

    fn overview(&self) -> InternalReply {
        let count = |n: usize| json!({ "total": n, "warnings": 0, "errors": 0 });
        let udp = json!({
            "routers": count(self.udp.routers.len()),
            "services": count(self.udp.services.len()),
        });
        let tcp = json!({
            "routers": count(self.tcp.routers.len()),
            "services": count(self.tcp.services.len()),
            "middlewares": count(self.tcp.middlewares.len()),
        });
        InternalReply::json(
            StatusCode::OK,
            &json!({
                "http": {
                    "routers": count(self.routers.len()),
                    "services": count(self.services.len()),
                    "middlewares": count(self.middlewares.len()),
                },
                "tcp": tcp,
                "udp": udp,
                "features": self.features,
                "providers": ["File"],
            }),
        )
    }

    fn rawdata(&self, status: &dyn ServerStatus) -> InternalReply {
        let services: Map<String, Value> = self
            .services
            .iter()
            .map(|(name, doc)| (name.clone(), with_server_status(name, doc, status)))
            .collect();
        InternalReply::json(
            StatusCode::OK,
            &json!({
                "routers": self.routers,
                "middlewares": self.middlewares,
                "services": services,
                "tcpRouters": self.tcp.routers,
                "tcpMiddlewares": self.tcp.middlewares,
                "tcpServices": self.tcp.services,
                "udpRouters": self.udp.routers,
                "udpServices": self.udp.services,
            }),
        )
    }
}

fn one(doc: Option<&Value>, what: &str) -> InternalReply {
    match doc {
        Some(doc) => InternalReply::json(StatusCode::OK, doc),
        None => InternalReply::not_found(what),
    }
}

/// A service document with `serverStatus` read now (`UP` / `DOWN` per server URL).
fn with_server_status(name: &str, doc: &Value, status: &dyn ServerStatus) -> Value {
    let mut doc = doc.clone();
    let local = name.strip_suffix("@file").unwrap_or(name);
    if let Some(servers) = status.servers(local) {
        let map: Map<String, Value> = servers
            .into_iter()
            .map(|(url, up)| (url, json!(if up { "UP" } else { "DOWN" })))
            .collect();
        doc["serverStatus"] = Value::Object(map);
    }
    doc
}
