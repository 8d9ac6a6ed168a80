//! The API's TCP documents (`/api/tcp/routers`, `/services`, `/middlewares`), in Traefik's
//! shapes, built once per snapshot from `tcp:` (config time).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::documents::{RouterFacts, UsedBy, kind_document, qualified, router_document};
use crate::config::{TcpConfig, TcpMiddlewareConfig, TcpServiceConfig};

/// TCP routers, services and middlewares by qualified name.
#[derive(Default)]
pub struct TcpDocuments {
    pub routers: BTreeMap<String, Value>,
    pub services: BTreeMap<String, Value>,
    pub middlewares: BTreeMap<String, Value>,
}

impl TcpDocuments {
    /// `all_entry_points`: where a router without `entryPoints` is used.
    pub fn build(tcp: &TcpConfig, all_entry_points: &[String]) -> TcpDocuments {
        let mut used_by = UsedBy::default();
        let mut routers = BTreeMap::new();
        for (name, router) in &tcp.routers {
            let facts = RouterFacts {
                name,
                rule: &router.rule,
                service: &router.service,
                middlewares: &router.middlewares,
                entry_points: &router.entry_points,
                priority: router.priority,
                tls: router.tls.as_ref().map(
                    |tls| json!({ "passthrough": tls.passthrough, "options": tls.options_name() }),
                ),
                observability: None,
            };
            let (name, doc) = router_document(facts, all_entry_points, &mut used_by);
            routers.insert(name, doc);
        }

        let mut services = BTreeMap::new();
        for (name, service) in &tcp.services {
            let name = qualified(name);
            let (kind, body) = match service {
                TcpServiceConfig::LoadBalancer(lb) => {
                    let servers: Vec<Value> = lb
                        .servers
                        .iter()
                        .map(|s| json!({ "address": s.address, "weight": s.weight, "tls": s.tls }))
                        .collect();
                    let mut body = json!({ "servers": servers });
                    if let Some(version) = lb.proxy_protocol {
                        body["proxyProtocol"] = json!({ "version": version });
                    }
                    if let Some(transport) = &lb.servers_transport {
                        body["serversTransport"] = json!(qualified(transport));
                    }
                    ("loadBalancer", body)
                }
                TcpServiceConfig::Weighted(children) => {
                    let children: Vec<Value> = children
                        .iter()
                        .map(|c| json!({ "name": qualified(&c.name), "weight": c.weight }))
                        .collect();
                    ("weighted", json!({ "services": children }))
                }
                TcpServiceConfig::Passthrough => ("passthrough", json!({})),
            };
            let doc = kind_document(&name, kind, body, used_by.service(&name));
            services.insert(name, doc);
        }

        let mut middlewares = BTreeMap::new();
        for (name, middleware) in &tcp.middlewares {
            let name = qualified(name);
            let (kind, body) = match middleware {
                TcpMiddlewareConfig::IpAllowList(ranges) => {
                    let ranges: Vec<String> = ranges.iter().map(ToString::to_string).collect();
                    ("ipAllowList", json!({ "sourceRange": ranges }))
                }
                TcpMiddlewareConfig::InFlightConn(amount) => {
                    ("inFlightConn", json!({ "amount": amount }))
                }
                TcpMiddlewareConfig::Plugin { name, .. } => ("plugin", json!({ "name": name })),
            };
            let doc = kind_document(&name, kind, body, used_by.middleware(&name));
            middlewares.insert(name, doc);
        }
        TcpDocuments {
            routers,
            services,
            middlewares,
        }
    }
}
