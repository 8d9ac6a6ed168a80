//! The serde-facing shapes of `http.services.<name>` (camelCase, unknown keys rejected), one
//! per service kind, resolved into the model by the sibling modules. Traefik spells some keys
//! either way (`healthCheck` / `healthcheck`); both are accepted.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::config::duration::DurationValue;
use crate::config::size::parse_size;

/// `http.services.<name>.loadBalancer`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawLoadBalancer {
    #[serde(default)]
    pub(crate) servers: Vec<RawServer>,
    pub(crate) pass_host_header: Option<bool>,
    pub(crate) servers_transport: Option<String>,
    pub(crate) sticky: Option<RawSticky>,
    #[serde(alias = "healthcheck")]
    pub(crate) health_check: Option<RawHealthCheck>,
    #[serde(alias = "passiveHealthcheck")]
    pub(crate) passive_health_check: Option<RawPassiveHealthCheck>,
    pub(crate) retry: Option<RawRetry>,
    /// Traefik's balancing strategy; only `wrr` (its default, and wasmgate's only one so far).
    pub(crate) strategy: Option<String>,
    /// Read and checked only: wasmgate writes each response chunk as it arrives.
    #[allow(
        dead_code,
        reason = "accepted: every chunk is already forwarded at once"
    )]
    pub(crate) response_forwarding: Option<RawResponseForwarding>,
}

/// `...loadBalancer.responseForwarding`: Traefik flushes the response to the client every
/// `flushInterval` (default 100ms; `-1` at once). wasmgate always forwards each chunk as it
/// arrives (Traefik's `-1`), which is at least as prompt as any interval, so the key is
/// accepted and has nothing to change.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawResponseForwarding {
    #[allow(
        dead_code,
        reason = "accepted: every chunk is already forwarded at once"
    )]
    pub(crate) flush_interval: Option<FlushInterval>,
}

/// A `flushInterval`: a duration, or Traefik's `-1` (at once).
#[derive(Debug)]
pub(crate) enum FlushInterval {
    Immediate,
    #[allow(
        dead_code,
        reason = "accepted: every chunk is already forwarded at once"
    )]
    Every(DurationValue),
}

impl<'de> Deserialize<'de> for FlushInterval {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.trim() == "-1" {
            return Ok(FlushInterval::Immediate);
        }
        crate::config::duration::parse_duration(&text)
            .map(|d| FlushInterval::Every(DurationValue(d)))
            .map_err(de::Error::custom)
    }
}

/// `...loadBalancer.servers[i]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawServer {
    pub(crate) url: String,
    pub(crate) weight: Option<u32>,
    pub(crate) preserve_path: Option<bool>,
}

/// `...sticky`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawSticky {
    pub(crate) cookie: Option<RawCookie>,
}

/// `...sticky.cookie`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawCookie {
    pub(crate) name: Option<String>,
    pub(crate) secure: Option<bool>,
    pub(crate) http_only: Option<bool>,
    pub(crate) same_site: Option<String>,
    pub(crate) max_age: Option<u64>,
    pub(crate) path: Option<String>,
    pub(crate) domain: Option<String>,
}

/// `...loadBalancer.healthCheck`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawHealthCheck {
    pub(crate) path: Option<String>,
    pub(crate) method: Option<String>,
    pub(crate) scheme: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) hostname: Option<String>,
    pub(crate) headers: Option<BTreeMap<String, String>>,
    pub(crate) interval: Option<DurationValue>,
    pub(crate) unhealthy_interval: Option<DurationValue>,
    pub(crate) timeout: Option<DurationValue>,
    pub(crate) status: Option<u16>,
    pub(crate) mode: Option<String>,
    pub(crate) follow_redirects: Option<bool>,
}

/// `...loadBalancer.passiveHealthCheck`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawPassiveHealthCheck {
    pub(crate) failure_window: Option<DurationValue>,
    pub(crate) max_failed_attempts: Option<u32>,
    #[serde(default)]
    pub(crate) failure_statuses: Vec<StatusRange>,
}

/// `...loadBalancer.retry`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawRetry {
    pub(crate) attempts: Option<u32>,
    pub(crate) initial_interval: Option<DurationValue>,
}

/// `healthCheck: {}` on weighted, mirroring and failover services: Traefik's switch for health
/// propagation, which wasmgate always does; accepted so Traefik files load unchanged.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawHealthPropagation {}

/// `http.services.<name>.weighted`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawWeighted {
    #[serde(default)]
    pub(crate) services: Vec<RawWeightedService>,
    pub(crate) sticky: Option<RawSticky>,
    #[serde(alias = "healthcheck")]
    #[allow(
        dead_code,
        reason = "accepted for Traefik compatibility; propagation is always on"
    )]
    pub(crate) health_check: Option<RawHealthPropagation>,
}

/// `...weighted.services[i]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawWeightedService {
    pub(crate) name: String,
    pub(crate) weight: Option<u32>,
}

/// `http.services.<name>.mirroring`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawMirroring {
    pub(crate) service: String,
    #[serde(default)]
    pub(crate) mirrors: Vec<RawMirror>,
    pub(crate) mirror_body: Option<bool>,
    pub(crate) max_body_size: Option<MirrorBodyLimit>,
    #[serde(alias = "healthcheck")]
    #[allow(
        dead_code,
        reason = "accepted for Traefik compatibility; propagation is always on"
    )]
    pub(crate) health_check: Option<RawHealthPropagation>,
}

/// `...mirroring.mirrors[i]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawMirror {
    pub(crate) name: String,
    pub(crate) percent: Option<u32>,
}

/// `http.services.<name>.failover`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawFailover {
    pub(crate) service: String,
    pub(crate) fallback: String,
    #[serde(alias = "healthcheck")]
    #[allow(
        dead_code,
        reason = "accepted for Traefik compatibility; propagation is always on"
    )]
    pub(crate) health_check: Option<RawHealthPropagation>,
}

/// An inclusive status range: `502`, `"502"` or `"500-599"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatusRange(pub(crate) u16, pub(crate) u16);

impl<'de> Deserialize<'de> for StatusRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StatusRangeVisitor)
    }
}

struct StatusRangeVisitor;

fn status_code<E: de::Error>(n: u64) -> Result<u16, E> {
    u16::try_from(n)
        .ok()
        .filter(|s| (100..=599).contains(s))
        .ok_or_else(|| E::custom(format_args!("invalid status {n}: must be 100-599")))
}

impl Visitor<'_> for StatusRangeVisitor {
    type Value = StatusRange;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a status such as 502 or a range such as \"500-599\"")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<StatusRange, E> {
        let s = status_code(n)?;
        Ok(StatusRange(s, s))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<StatusRange, E> {
        match u64::try_from(n) {
            Ok(n) => self.visit_u64(n),
            Err(_) => Err(E::custom(format_args!(
                "invalid status {n}: must be 100-599"
            ))),
        }
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<StatusRange, E> {
        let bad = || {
            E::custom(format_args!(
                "invalid status range \"{text}\": expected e.g. \"500-599\""
            ))
        };
        let (low, high) = text.split_once('-').unwrap_or((text, text));
        let low: u64 = low.trim().parse().map_err(|_| bad())?;
        let high: u64 = high.trim().parse().map_err(|_| bad())?;
        let (low, high) = (status_code(low)?, status_code(high)?);
        if low > high {
            return Err(bad());
        }
        Ok(StatusRange(low, high))
    }
}

/// `mirroring.maxBodySize`: bytes (integer or `"64KiB"`), or `-1` for no limit (Traefik's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MirrorBodyLimit(pub(crate) Option<u64>);

impl<'de> Deserialize<'de> for MirrorBodyLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MirrorBodyLimitVisitor)
    }
}

struct MirrorBodyLimitVisitor;

impl Visitor<'_> for MirrorBodyLimitVisitor {
    type Value = MirrorBodyLimit;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a size such as 65536 or \"64KiB\", or -1 for no limit")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<MirrorBodyLimit, E> {
        Ok(MirrorBodyLimit(Some(n)))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<MirrorBodyLimit, E> {
        match n {
            -1 => Ok(MirrorBodyLimit(None)),
            n => match u64::try_from(n) {
                Ok(n) => Ok(MirrorBodyLimit(Some(n))),
                Err(_) => Err(E::custom(format_args!(
                    "invalid size {n}: must be -1 (no limit) or a size"
                ))),
            },
        }
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<MirrorBodyLimit, E> {
        if text.trim() == "-1" {
            return Ok(MirrorBodyLimit(None));
        }
        parse_size(text)
            .map(|n| MirrorBodyLimit(Some(n)))
            .map_err(|reason| E::custom(format_args!("invalid size \"{text}\": {reason}")))
    }
}

#[cfg(test)]
mod flush_interval_tests {
    use super::FlushInterval;

    #[test]
    fn flush_interval_is_a_duration_or_minus_one() {
        let read = |text: &str| serde_json::from_str::<FlushInterval>(text);
        assert!(matches!(read("\"-1\""), Ok(FlushInterval::Immediate)));
        assert!(matches!(read("\"100ms\""), Ok(FlushInterval::Every(_))));
        assert!(read("\"soon\"").is_err());
    }
}
