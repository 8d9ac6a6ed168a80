//! Resolves the services made of services: `weighted`, `mirroring`, `failover`. Names are kept
//! as written (minus a Traefik `@file` suffix); whether they exist, and that no service reaches
//! itself, is checked once everything is resolved (`references.rs`).

use super::balancer::{At, resolve_sticky};
use super::raw::{RawFailover, RawMirroring, RawWeighted};
use crate::config::definitions::local_name;
use crate::config::model_dynamic::{
    DEFAULT_MIRROR_MAX_BODY_SIZE, FailoverConfig, MirrorConfig, MirroringConfig, WeightedConfig,
    WeightedServiceConfig,
};
use crate::yaml::report::Reporter;

pub(crate) fn resolve_weighted(
    reporter: &mut Reporter<'_>,
    at: &At<'_>,
    service: &str,
    raw: RawWeighted,
) -> Option<WeightedConfig> {
    if raw.services.is_empty() {
        at.report(reporter, &["services"], "at least one service is required");
        return None;
    }
    let services: Vec<WeightedServiceConfig> = raw
        .services
        .iter()
        .map(|s| WeightedServiceConfig {
            name: local_name(&s.name),
            weight: s.weight.unwrap_or(1),
        })
        .collect();
    if services.iter().all(|s| s.weight == 0) {
        at.report(
            reporter,
            &["services"],
            "at least one service needs a weight above 0",
        );
        return None;
    }
    let sticky = match raw.sticky.map(|s| resolve_sticky(reporter, at, service, s)) {
        None => None,
        Some(Ok(cookie)) => cookie,
        Some(Err(())) => return None,
    };
    Some(WeightedConfig { services, sticky })
}

/// Mirrors per mirroring service (the request path samples them into a 64-bit mask).
const MAX_MIRRORS: usize = 64;

pub(crate) fn resolve_mirroring(
    reporter: &mut Reporter<'_>,
    at: &At<'_>,
    raw: RawMirroring,
) -> Option<MirroringConfig> {
    let mut ok = true;
    if raw.mirrors.len() > MAX_MIRRORS {
        let reason = format!("at most {MAX_MIRRORS} mirrors are allowed");
        at.report(reporter, &["mirrors"], reason);
        ok = false;
    }
    let mut mirrors = Vec::with_capacity(raw.mirrors.len());
    for (index, mirror) in raw.mirrors.iter().enumerate() {
        let percent = mirror.percent.unwrap_or(0);
        if percent > 100 {
            let index = index.to_string();
            let reason = format!("invalid percent {percent}: must be 0-100");
            at.report(reporter, &["mirrors", &index, "percent"], reason);
            ok = false;
        }
        mirrors.push(MirrorConfig {
            name: local_name(&mirror.name),
            percent,
        });
    }
    ok.then(|| MirroringConfig {
        service: local_name(&raw.service),
        mirrors,
        mirror_body: raw.mirror_body.unwrap_or(true),
        max_body_size: match raw.max_body_size {
            Some(limit) => limit.0,
            None => Some(DEFAULT_MIRROR_MAX_BODY_SIZE),
        },
    })
}

pub(crate) fn resolve_failover(raw: RawFailover) -> FailoverConfig {
    FailoverConfig {
        service: local_name(&raw.service),
        fallback: local_name(&raw.fallback),
    }
}
