//! Resolves the static keys `metrics` and `accessLog` (Traefik's shapes) into
//! [`super::model_observability`]. Keys Traefik has that wasmgate does not implement yet are
//! accepted in the schema and refused with "not supported yet", so a Traefik file fails loudly
//! rather than silently losing a setting.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::duration::DurationValue;
use super::model_observability::{
    AccessLogConfig, AccessLogFields, AccessLogFilters, AccessLogFormat, DEFAULT_ACCESS_LOG_BUFFER,
    FieldMode, PrometheusConfig,
};
use crate::yaml::report::Reporter;

/// `metrics:`; only `prometheus` is implemented.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawMetrics {
    prometheus: Option<RawPrometheus>,
    otlp: Option<serde_json::Value>,
    datadog: Option<serde_json::Value>,
    #[serde(rename = "influxDB2")]
    influx_db2: Option<serde_json::Value>,
    stats_d: Option<serde_json::Value>,
    add_internals: Option<bool>,
}

/// `metrics.prometheus`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawPrometheus {
    entry_point: Option<String>,
    buckets: Option<Vec<f64>>,
    add_entry_points_labels: Option<bool>,
    add_routers_labels: Option<bool>,
    add_services_labels: Option<bool>,
    header_labels: Option<BTreeMap<String, String>>,
    manual_routing: Option<bool>,
}

/// `accessLog:`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawAccessLog {
    file_path: Option<String>,
    format: Option<String>,
    buffering_size: Option<u64>,
    filters: Option<RawFilters>,
    fields: Option<RawFields>,
    add_internals: Option<bool>,
    otlp: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawFilters {
    #[serde(default)]
    status_codes: Vec<String>,
    retry_attempts: Option<bool>,
    min_duration: Option<DurationValue>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawFields {
    default_mode: Option<String>,
    #[serde(default)]
    names: BTreeMap<String, String>,
    headers: Option<RawHeaderFields>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawHeaderFields {
    default_mode: Option<String>,
    #[serde(default)]
    names: BTreeMap<String, String>,
}

const NOT_YET: &str = "not supported yet";

/// `metrics` -> the Prometheus settings, `None` when Prometheus is not configured.
pub(crate) fn resolve_metrics(
    reporter: &mut Reporter<'_>,
    raw: RawMetrics,
    entry_points: &BTreeSet<String>,
) -> Option<PrometheusConfig> {
    for (given, key) in [
        (raw.otlp.is_some(), "otlp"),
        (raw.datadog.is_some(), "datadog"),
        (raw.influx_db2.is_some(), "influxDB2"),
        (raw.stats_d.is_some(), "statsD"),
    ] {
        if given {
            reporter.at(0, &["metrics", key], NOT_YET);
        }
    }
    let add_internals = raw.add_internals.unwrap_or(false);
    let raw = raw.prometheus?;
    let defaults = PrometheusConfig::default();
    let mut header_labels = Vec::new();
    for (label, header) in raw.header_labels.unwrap_or_default() {
        let key = ["metrics", "prometheus", "headerLabels", label.as_str()];
        const TAKEN: [&str; 7] = [
            "code",
            "method",
            "protocol",
            "entrypoint",
            "router",
            "service",
            "le",
        ];
        let valid_label = label
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_label || TAKEN.contains(&label.as_str()) {
            let reason = format!(
                "\"{label}\" cannot be a label name (a Prometheus name not among {TAKEN:?})"
            );
            reporter.at(0, &key, reason);
            continue;
        }
        match http::HeaderName::from_bytes(header.as_bytes()) {
            Ok(name) => header_labels.push((label, name)),
            Err(_) => reporter.at(0, &key, format!("\"{header}\" is not a header name")),
        }
    }
    let manual_routing = raw.manual_routing.unwrap_or(false);
    let entry_point = raw.entry_point.unwrap_or(defaults.entry_point);
    if !manual_routing && !entry_points.contains(&entry_point) {
        let reason = format!(
            "entry point \"{entry_point}\" (which serves /metrics) is not declared under entryPoints"
        );
        reporter.at(0, &["metrics", "prometheus", "entryPoint"], reason);
    }
    let buckets = match raw.buckets {
        Some(b) if b.is_empty() => {
            reporter.at(
                0,
                &["metrics", "prometheus", "buckets"],
                "needs at least one bucket",
            );
            defaults.buckets
        }
        Some(b) if !b.windows(2).all(|w| w[0] < w[1]) || b.iter().any(|v| !v.is_finite()) => {
            let reason = "bucket bounds must be finite and strictly ascending";
            reporter.at(0, &["metrics", "prometheus", "buckets"], reason);
            defaults.buckets
        }
        Some(b) => b,
        None => defaults.buckets,
    };
    Some(PrometheusConfig {
        entry_point,
        buckets,
        add_entry_points_labels: raw
            .add_entry_points_labels
            .unwrap_or(defaults.add_entry_points_labels),
        add_routers_labels: raw
            .add_routers_labels
            .unwrap_or(defaults.add_routers_labels),
        add_services_labels: raw
            .add_services_labels
            .unwrap_or(defaults.add_services_labels),
        header_labels,
        manual_routing,
        add_internals,
    })
}

/// `accessLog` -> its settings; `filePath` is joined onto the main file's directory.
pub(crate) fn resolve_access_log(
    reporter: &mut Reporter<'_>,
    raw: RawAccessLog,
    main_dir: &Path,
) -> AccessLogConfig {
    if raw.otlp.is_some() {
        reporter.at(0, &["accessLog", "otlp"], NOT_YET);
    }
    let format = match raw
        .format
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("common") => AccessLogFormat::Common,
        Some("genericclf") => AccessLogFormat::GenericClf,
        Some("json") => AccessLogFormat::Json,
        Some(other) => {
            let reason = format!("unknown format \"{other}\" (allowed: common, genericCLF, json)");
            reporter.at(0, &["accessLog", "format"], reason);
            AccessLogFormat::Common
        }
    };
    let buffering_size = match raw.buffering_size {
        None | Some(0) => DEFAULT_ACCESS_LOG_BUFFER,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX).min(1 << 20),
    };
    let filters = raw.filters.map(|f| {
        let mut status_codes = Vec::new();
        for (i, text) in f.status_codes.iter().enumerate() {
            match parse_status_range(text) {
                Some(range) => status_codes.push(range),
                None => {
                    let index = i.to_string();
                    let path = ["accessLog", "filters", "statusCodes", index.as_str()];
                    let reason =
                        format!("\"{text}\" is not a status code or a range like \"300-302\"");
                    reporter.at(0, &path, reason);
                }
            }
        }
        AccessLogFilters {
            status_codes,
            retry_attempts: f.retry_attempts.unwrap_or(false),
            min_duration: f.min_duration.map(|d| d.0).filter(|d| !d.is_zero()),
        }
    });
    let mut fields = AccessLogFields::default();
    if let Some(raw_fields) = raw.fields {
        let at = ["accessLog", "fields"];
        if let Some(mode) = raw_fields.default_mode {
            fields.default_mode =
                field_mode(reporter, &at, "defaultMode", &mode, fields.default_mode);
        }
        for (name, mode) in &raw_fields.names {
            let m = field_mode(
                reporter,
                &["accessLog", "fields", "names"],
                name,
                mode,
                FieldMode::Keep,
            );
            fields.names.insert(field_name(name).to_string(), m);
        }
        if let Some(headers) = raw_fields.headers {
            let at = ["accessLog", "fields", "headers"];
            if let Some(mode) = headers.default_mode {
                fields.headers_default_mode =
                    field_mode(reporter, &at, "defaultMode", &mode, FieldMode::Drop);
            }
            for (name, mode) in &headers.names {
                let path = ["accessLog", "fields", "headers", "names"];
                let m = field_mode(reporter, &path, name, mode, FieldMode::Drop);
                fields.headers.insert(name.to_ascii_lowercase(), m);
            }
        }
    }
    AccessLogConfig {
        file_path: raw
            .file_path
            .filter(|p| !p.is_empty())
            .map(|p| super::paths::join_clean(main_dir, &p)),
        format,
        buffering_size,
        filters,
        fields,
        add_internals: raw.add_internals.unwrap_or(false),
    }
}

/// The access log's fields as Traefik names them (its `CoreLogData` keys).
const FIELD_NAMES: &[&str] = &[
    "ClientAddr",
    "ClientHost",
    "ClientPort",
    "ClientUsername",
    "DownstreamContentSize",
    "DownstreamStatus",
    "Duration",
    "GzipRatio",
    "OriginContentSize",
    "OriginDuration",
    "OriginStatus",
    "Overhead",
    "RequestAddr",
    "RequestContentSize",
    "RequestCount",
    "RequestHost",
    "RequestMethod",
    "RequestPath",
    "RequestPort",
    "RequestProtocol",
    "RequestScheme",
    "RetryAttempts",
    "RouterName",
    "ServiceAddr",
    "ServiceName",
    "ServiceURL",
    "StartLocal",
    "StartUTC",
    "TLSCipher",
    "TLSClientSubject",
    "TLSVersion",
    "entryPointName",
];

/// A `fields.names` key as the log spells the field: Traefik matches them without regard to
/// case (`clientusername` is `ClientUsername`); a name it does not know is kept as written
/// (and matches nothing, as in Traefik).
fn field_name(name: &str) -> &str {
    FIELD_NAMES
        .iter()
        .find(|known| known.eq_ignore_ascii_case(name))
        .map_or(name, |known| known)
}

fn field_mode(
    reporter: &mut Reporter<'_>,
    at: &[&str],
    key: &str,
    text: &str,
    fallback: FieldMode,
) -> FieldMode {
    match text.to_ascii_lowercase().as_str() {
        "keep" => FieldMode::Keep,
        "drop" => FieldMode::Drop,
        "redact" => FieldMode::Redact,
        _ => {
            let path: Vec<&str> = at.iter().copied().chain([key]).collect();
            let reason = format!("unknown mode \"{text}\" (allowed: keep, drop, redact)");
            reporter.at(0, &path, reason);
            fallback
        }
    }
}

/// `"404"` or `"500-599"`.
fn parse_status_range(text: &str) -> Option<std::ops::RangeInclusive<u16>> {
    let text = text.trim();
    let (low, high) = match text.split_once('-') {
        Some((l, h)) => (l.trim().parse().ok()?, h.trim().parse().ok()?),
        None => {
            let code = text.parse().ok()?;
            (code, code)
        }
    };
    (low <= high).then_some(low..=high)
}

#[cfg(test)]
mod tests {
    use super::parse_status_range;
    use crate::config::{AccessLogFormat, FieldMode, load_from_str};

    const HEAD: &str =
        "entryPoints:\n  web: { address: \":80\" }\n  traefik: { address: \":8080\" }\n";

    #[test]
    fn metrics_and_access_log_load_with_traefik_defaults() {
        let text = format!(
            "{HEAD}metrics:\n  prometheus: {{ addRoutersLabels: true }}\naccessLog:\n  format: JSON\n  filters: {{ statusCodes: [\"500-599\"], minDuration: 10ms }}\n  fields:\n    names: {{ routername: drop }}\n    headers: {{ names: {{ Authorization: redact }} }}\n"
        );
        let loaded = load_from_str("/etc/gw/main.yml", &text).unwrap_or_else(|e| {
            panic!(
                "{}",
                e.0.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        let s = loaded.static_config;
        let Some(m) = s.metrics else {
            panic!("metrics")
        };
        assert_eq!(m.entry_point, "traefik");
        assert_eq!(m.buckets, vec![0.1, 0.3, 1.2, 5.0]);
        assert!(m.add_entry_points_labels && m.add_routers_labels && m.add_services_labels);
        let Some(log) = s.access_log else {
            panic!("accessLog")
        };
        assert_eq!(log.format, AccessLogFormat::Json);
        assert_eq!(
            log.fields.field_mode("RouterName"),
            FieldMode::Drop,
            "names match without regard to case"
        );
        assert_eq!(log.file_path, None);
        let Some(f) = log.filters else {
            panic!("filters")
        };
        assert_eq!(f.status_codes, vec![500..=599]);
        assert_eq!(f.min_duration, Some(std::time::Duration::from_millis(10)));
        assert_eq!(log.fields.header_mode("authorization"), FieldMode::Redact);
        assert_eq!(log.fields.header_mode("user-agent"), FieldMode::Drop);
    }

    #[test]
    fn unsupported_and_invalid_observability_keys_are_located_errors() {
        let text = format!(
            "{HEAD}metrics:\n  prometheus:\n    entryPoint: admin\n    headerLabels: {{ code: b }}\n    buckets: [1, 0.5]\naccessLog:\n  format: xml\n  filters: {{ statusCodes: [\"abc\"] }}\n  fields: {{ defaultMode: hide }}\n"
        );
        let Err(errors) = load_from_str("main.yml", &text) else {
            panic!("accepted")
        };
        let lines: Vec<String> = errors.0.iter().map(|e| e.to_string()).collect();
        let all = lines.join("\n");
        for want in [
            "metrics.prometheus.entryPoint: entry point \"admin\" (which serves /metrics) is not declared",
            "metrics.prometheus.headerLabels.code: \"code\" cannot be a label name",
            "metrics.prometheus.buckets: bucket bounds must be finite and strictly ascending",
            "accessLog.format: unknown format \"xml\"",
            "accessLog.filters.statusCodes[0]: \"abc\" is not a status code",
            "accessLog.fields.defaultMode: unknown mode \"hide\"",
        ] {
            assert!(all.contains(want), "missing {want:?} in:\n{all}");
        }
    }

    #[test]
    fn generic_clf_is_a_format() {
        let text = format!("{HEAD}accessLog:\n  format: genericCLF\n");
        let loaded = load_from_str("main.yml", &text).unwrap_or_else(|e| panic!("{}", e.0[0]));
        let log = loaded.static_config.access_log.expect("accessLog");
        assert_eq!(log.format, AccessLogFormat::GenericClf);
    }

    #[test]
    fn status_ranges() {
        assert_eq!(parse_status_range("404"), Some(404..=404));
        assert_eq!(parse_status_range("300-302"), Some(300..=302));
        assert_eq!(parse_status_range("302-300"), None);
        assert_eq!(parse_status_range("abc"), None);
    }
}
