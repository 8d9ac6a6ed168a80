//! Resolves the static `api` and `ping` sections, checks references to Traefik's internal
//! services (`api@internal`...), and adds the routers Traefik adds for them: with
//! `api.insecure`, `api@internal` and `dashboard@internal` on the `traefik` entry point; with
//! `ping` (unless `manualRouting`), `ping@internal` on its entry point. Runs once per load.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::model_dynamic::{HttpConfig, RouterConfig};
use super::model_internal::{ApiConfig, InternalService, PingConfig};
use super::model_static::StaticConfig;
use crate::yaml::report::Reporter;

/// The entry point Traefik serves its own endpoints on.
pub(crate) const TRAEFIK_ENTRY_POINT: &str = "traefik";

/// Priorities of the internal routers: above any router a user writes (Traefik's values).
const PING_PRIORITY: i64 = i32::MAX as i64;
const API_PRIORITY: i64 = i32::MAX as i64 - 1;
const DASHBOARD_PRIORITY: i64 = i32::MAX as i64 - 2;

/// `api:`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawApi {
    dashboard: Option<bool>,
    insecure: Option<bool>,
    base_path: Option<String>,
    debug: Option<bool>,
    /// Traefik v3.0–3.1's dashboard advertisement switch; nothing to switch off here.
    disable_dashboard_ad: Option<bool>,
}

/// `ping:`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawPing {
    entry_point: Option<String>,
    manual_routing: Option<bool>,
    terminating_status_code: Option<u16>,
}

pub(crate) fn resolve_api(reporter: &mut Reporter<'_>, raw: RawApi) -> ApiConfig {
    let _ = raw.disable_dashboard_ad;
    let mut base_path = raw.base_path.unwrap_or_else(|| "/".to_string());
    if !base_path.starts_with('/') {
        reporter.at(0, &["api", "basePath"], "must start with /");
        base_path = "/".to_string();
    }
    if !base_path.ends_with('/') {
        base_path.push('/');
    }
    ApiConfig {
        dashboard: raw.dashboard.unwrap_or(true),
        insecure: raw.insecure.unwrap_or(false),
        base_path,
        debug: raw.debug.unwrap_or(false),
    }
}

pub(crate) fn resolve_ping(
    reporter: &mut Reporter<'_>,
    raw: RawPing,
    entry_points: &BTreeSet<String>,
) -> PingConfig {
    let entry_point = raw
        .entry_point
        .unwrap_or_else(|| TRAEFIK_ENTRY_POINT.to_string());
    let manual_routing = raw.manual_routing.unwrap_or(false);
    if !manual_routing && !entry_points.contains(&entry_point) {
        let reason = format!(
            "entry point \"{entry_point}\" (which serves /ping) is not declared under entryPoints"
        );
        reporter.at(0, &["ping", "entryPoint"], reason);
    }
    let terminating_status_code = raw.terminating_status_code.unwrap_or(503);
    if !(100..=599).contains(&terminating_status_code) {
        reporter.at(
            0,
            &["ping", "terminatingStatusCode"],
            "must be an HTTP status (100-599)",
        );
    }
    PingConfig {
        entry_point,
        manual_routing,
        terminating_status_code,
    }
}

/// `api.insecure` serves on the `traefik` entry point, which must exist.
pub(crate) fn check_api_entry_point(
    reporter: &mut Reporter<'_>,
    api: Option<&ApiConfig>,
    entry_points: &BTreeSet<String>,
) {
    if api.is_some_and(|api| api.insecure) && !entry_points.contains(TRAEFIK_ENTRY_POINT) {
        reporter.at(
            0,
            &["api", "insecure"],
            "serves the API and dashboard on the entry point \"traefik\", which is not declared \
             under entryPoints",
        );
    }
}

/// What a router's `service: <name>@internal` refers to: `None` when the name is not one of
/// Traefik's internal services; otherwise the service, or why it is not available.
pub(crate) fn internal_reference(
    reference: &str,
    statics: &StaticConfig,
) -> Option<Result<InternalService, String>> {
    let service = InternalService::from_reference(reference)?;
    let present = match service {
        InternalService::Api => statics.api.is_some(),
        InternalService::Dashboard => statics.api.as_ref().is_some_and(|api| api.dashboard),
        InternalService::Ping => statics.ping.is_some(),
        InternalService::Prometheus => statics.metrics.is_some(),
        InternalService::Noop => true,
    };
    Some(if present {
        Ok(service)
    } else {
        let section = service.needs().unwrap_or_default();
        Err(format!(
            "service \"{reference}\" is not defined: Traefik's internal service exists only \
             when the static section `{section}` is configured{}",
            if service == InternalService::Dashboard {
                " (with dashboard: true)"
            } else {
                ""
            }
        ))
    })
}

/// Adds the internal routers Traefik adds for `api.insecure` and `ping` (named
/// `api@internal`, `dashboard@internal`, `ping@internal`, as Traefik's API lists them).
pub(crate) fn add_internal_routers(http: &mut HttpConfig, statics: &StaticConfig) {
    let router = |rule: String, service: &str, entry_point: &str, priority: i64| RouterConfig {
        rule,
        service: service.to_string(),
        entry_points: vec![entry_point.to_string()],
        middlewares: Vec::new(),
        priority: Some(priority),
        max_in_flight: None,
        tls: None,
        observability: None,
    };
    if let Some(api) = statics.api.as_ref().filter(|api| api.insecure) {
        let base = &api.base_path;
        http.routers.insert(
            "api@internal".to_string(),
            router(
                if api.debug {
                    format!("PathPrefix(`{base}api`) || PathPrefix(`{base}debug`)")
                } else {
                    format!("PathPrefix(`{base}api`)")
                },
                "api@internal",
                TRAEFIK_ENTRY_POINT,
                API_PRIORITY,
            ),
        );
        if api.dashboard {
            http.routers.insert(
                "dashboard@internal".to_string(),
                router(
                    format!("PathPrefix(`{base}`)"),
                    "dashboard@internal",
                    TRAEFIK_ENTRY_POINT,
                    DASHBOARD_PRIORITY,
                ),
            );
        }
    }
    if let Some(ping) = statics.ping.as_ref().filter(|ping| !ping.manual_routing) {
        http.routers.insert(
            "ping@internal".to_string(),
            router(
                "PathPrefix(`/ping`)".to_string(),
                "ping@internal",
                &ping.entry_point,
                PING_PRIORITY,
            ),
        );
    }
}
