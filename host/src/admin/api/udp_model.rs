//! The API's UDP documents (`/api/udp/routers`, `/services`), in Traefik's shapes, built once
//! per snapshot from `udp:` (config time).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::documents::{RouterFacts, UsedBy, kind_document, qualified, router_document};
use crate::config::{UdpConfig, UdpServiceConfig};

/// UDP routers and services by qualified name.
#[derive(Default)]
pub struct UdpDocuments {
    pub routers: BTreeMap<String, Value>,
    pub services: BTreeMap<String, Value>,
}

impl UdpDocuments {
    /// `udp_entry_points`: where a router without `entryPoints` is used.
    pub fn build(udp: &UdpConfig, udp_entry_points: &[String]) -> UdpDocuments {
        let mut used_by = UsedBy::default();
        let mut routers = BTreeMap::new();
        for (name, router) in &udp.routers {
            let facts = RouterFacts {
                name,
                rule: "",
                service: &router.service,
                middlewares: &[],
                entry_points: &router.entry_points,
                priority: None,
                tls: None,
                observability: None,
            };
            let (name, mut doc) = router_document(facts, udp_entry_points, &mut used_by);
            // A UDP router has no rule (Traefik's UDPRouter has none).
            if let Some(doc) = doc.as_object_mut() {
                doc.remove("rule");
            }
            routers.insert(name, doc);
        }
        let mut services = BTreeMap::new();
        for (name, service) in &udp.services {
            let name = qualified(name);
            let (kind, body) = match service {
                UdpServiceConfig::LoadBalancer(addresses) => {
                    let servers: Vec<Value> =
                        addresses.iter().map(|a| json!({ "address": a })).collect();
                    ("loadBalancer", json!({ "servers": servers }))
                }
                UdpServiceConfig::Weighted(children) => {
                    let children: Vec<Value> = children
                        .iter()
                        .map(|c| json!({ "name": qualified(&c.name), "weight": c.weight }))
                        .collect();
                    ("weighted", json!({ "services": children }))
                }
            };
            let doc = kind_document(&name, kind, body, used_by.service(&name));
            services.insert(name, doc);
        }
        UdpDocuments { routers, services }
    }
}
