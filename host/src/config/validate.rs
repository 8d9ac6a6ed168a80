//! Reference checks over the merged dynamic config: router -> service, middlewares and entry
//! points; service -> servers transport. Runs once per load, after every entity is resolved.
//!
//! Names are checked against what was *defined*, not what resolved, so an entity with its own
//! error does not also make everything that names it fail.

use std::collections::BTreeSet;

use super::definitions::Definitions;
use super::model_dynamic::{HttpConfig, ServiceConfig};
use super::model_static::StaticConfig;
use super::provider_names::undefined_reason;
use crate::yaml::report::Reporter;

pub(crate) fn check_references(
    reporter: &mut Reporter<'_>,
    http: &HttpConfig,
    definitions: &Definitions<'_>,
    entry_points: &BTreeSet<String>,
    statics: &StaticConfig,
) {
    for (name, router) in &http.routers {
        let Some(def) = definitions.routers.get(name) else {
            continue;
        };
        let base = ["http", "routers", name.as_str()];
        if !definitions.services.contains_key(&router.service) {
            let reason = match super::resolve_internal::internal_reference(&router.service, statics)
            {
                Some(Ok(_)) => None,
                Some(Err(reason)) => Some(reason),
                None => Some(undefined_reason("service", &router.service)),
            };
            if let Some(reason) = reason {
                reporter.at(def.file, &[base[0], base[1], base[2], "service"], reason);
            }
        }
        for (index, middleware) in router.middlewares.iter().enumerate() {
            if !definitions.middlewares.contains_key(middleware) {
                let index = index.to_string();
                let reason = undefined_reason("middleware", middleware);
                reporter.at(
                    def.file,
                    &[base[0], base[1], base[2], "middlewares", &index],
                    reason,
                );
            }
        }
        for (index, entry_point) in router.entry_points.iter().enumerate() {
            if !entry_points.contains(entry_point) {
                let index = index.to_string();
                let udp = statics.udp_entry_points.contains_key(entry_point);
                let reason = super::entry_point_udp::undefined_entry_point(entry_point, udp);
                reporter.at(
                    def.file,
                    &[base[0], base[1], base[2], "entryPoints", &index],
                    reason,
                );
            }
        }
    }
    for (name, service) in &http.services {
        let Some(def) = definitions.services.get(name) else {
            continue;
        };
        let ServiceConfig::LoadBalancer(lb) = service else {
            continue;
        };
        if let Some(transport) = &lb.servers_transport
            && !definitions.transports.contains_key(transport)
        {
            let reason = undefined_reason("servers transport", transport);
            let path = ["http", "services", name, "loadBalancer", "serversTransport"];
            reporter.at(def.file, &path, reason);
        }
    }
    super::resolve_service::check_service_references(reporter, http, definitions);
    super::resolve_chain::check_chains(reporter, http, definitions);
}
