//! The scrape side of the metrics: `GET /metrics` reads the atomics of `super::metrics` into the
//! exposition format.
//!
//! Encoding goes through `prometheus-client` (the Prometheus org's Rust client): a
//! [`Collector`] reads the atomics at scrape time and the crate's text encoder writes the
//! format (HELP/TYPE lines, escaping, `_total`, histogram `_bucket`/`_sum`/`_count`). Its own
//! `Family` and `Histogram` types are not used on the request path: `Family` takes a read lock
//! per lookup and `Histogram` a write lock per observation.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::exposition_values::{ConstU64, GaugeI64};
use super::metrics::{Metrics, Series, SeriesKey, SeriesSet, lock};

impl Metrics {
    /// The Prometheus text format (0.0.4, what Traefik serves and `promtool check metrics`
    /// reads): the OpenMetrics text with counter families named by their `_total` samples and
    /// without the OpenMetrics-only `# EOF` / `# UNIT` lines.
    pub fn render_text(self: &Arc<Self>) -> String {
        let open = self.render();
        let counters: std::collections::HashSet<&str> = open
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.strip_suffix(" counter"))
            .collect();
        let mut out = String::with_capacity(open.len() + 64 * counters.len());
        for line in open.lines() {
            if line == "# EOF" || line.starts_with("# UNIT ") {
                continue;
            }
            let meta = ["# HELP ", "# TYPE "]
                .into_iter()
                .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
            match meta {
                Some((prefix, rest)) => {
                    let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                    let total = if counters.contains(name) {
                        "_total"
                    } else {
                        ""
                    };
                    out.push_str(&format!("{prefix}{name}{total} {tail}\n"));
                }
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out
    }

    /// The OpenMetrics text as `prometheus-client` writes it.
    pub fn render(self: &Arc<Self>) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Scrape(self.clone())));
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            tracing::warn!("cannot encode metrics: {e}");
        }
        out
    }
}

/// Reads the atomics at scrape time.
#[derive(Debug)]
struct Scrape(Arc<Metrics>);

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let m = &self.0;
        let counter = |encoder: &mut DescriptorEncoder<'_>, name: &str, help: &str, v: u64| {
            let metric = ConstU64(v);
            let e = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            metric.encode(e)
        };
        counter(
            &mut encoder,
            "traefik_config_reloads",
            "Configurations applied (start-up and reloads).",
            m.reloads.load(Relaxed),
        )?;
        counter(
            &mut encoder,
            "traefik_config_reloads_failure",
            "Reloads refused (the previous configuration kept serving).",
            m.reload_failures.load(Relaxed),
        )?;
        let last = m.last_reload_success.load(Relaxed);
        let e = encoder.encode_descriptor(
            "traefik_config_last_reload_success",
            "Unix time of the last configuration applied.",
            None,
            MetricType::Gauge,
        )?;
        GaugeI64(last).encode(e)?;
        {
            let open = lock(&m.open_connections);
            let mut e = encoder.encode_descriptor(
                "traefik_open_connections",
                "Open client connections.",
                None,
                MetricType::Gauge,
            )?;
            for (ep, (slots, size)) in open.iter() {
                let n = size.saturating_sub(slots.available_permits());
                let labels = [("entrypoint", ep.as_str()), ("protocol", "TCP")];
                GaugeI64(i64::try_from(n).unwrap_or(i64::MAX)).encode(e.encode_family(&labels)?)?;
            }
        }
        counter(
            &mut encoder,
            "wasmgate_accesslog_dropped_lines",
            "Access-log lines dropped because the writer fell behind.",
            lock(&m.access_log_dropped).load(Relaxed),
        )?;
        super::exposition_plugins::encode_plugins(
            &mut encoder,
            &super::plugin_metrics::lock_in_use(&m.plugins),
        )?;
        super::exposition_published::encode_published(&mut encoder, &m.published)?;
        {
            let retries = lock(&m.retries);
            if !retries.is_empty() {
                let mut e = encoder.encode_descriptor(
                    "traefik_service_retries",
                    "Requests retried on another server, by service.",
                    None,
                    MetricType::Counter,
                )?;
                for (service, n) in retries.iter() {
                    let labels = [("service", service.as_str())];
                    ConstU64(n.load(Relaxed)).encode(e.encode_family(&labels)?)?;
                }
            }
        }
        let scopes: [(&str, Vec<Arc<SeriesSet>>); 3] = [
            (
                "entrypoint",
                lock(&m.entrypoints).values().cloned().collect(),
            ),
            ("router", lock(&m.routers).values().cloned().collect()),
            ("service", lock(&m.services).values().cloned().collect()),
        ];
        for (scope, sets) in &scopes {
            if sets.is_empty() {
                continue;
            }
            encode_scope(&mut encoder, scope, sets, m.header_labels())?;
        }
        Ok(())
    }
}

fn encode_scope(
    encoder: &mut DescriptorEncoder<'_>,
    scope: &str,
    sets: &[Arc<SeriesSet>],
    header_labels: &[(String, http::HeaderName)],
) -> Result<(), std::fmt::Error> {
    type Pick = fn(&Series) -> u64;
    let counters: [(&str, &str, Pick); 3] = [
        ("requests", "HTTP requests processed", Series::requests),
        (
            "requests_bytes",
            "Bytes of request bodies",
            Series::request_bytes,
        ),
        (
            "responses_bytes",
            "Bytes of response bodies",
            Series::response_bytes,
        ),
    ];
    for (suffix, help, pick) in counters {
        let name = format!("traefik_{scope}_{suffix}");
        let help = format!("{help}, by {scope}.");
        let mut e = encoder.encode_descriptor(&name, &help, None, MetricType::Counter)?;
        if suffix == "requests" && !header_labels.is_empty() {
            // `headerLabels`: only the requests counters carry them (Traefik's rule).
            for set in sets {
                for ((key, values), n) in set.header_series.load().iter() {
                    let mut labels = labels_of(set, key);
                    for ((label, _), value) in header_labels.iter().zip(values.iter()) {
                        labels.push((label.as_str(), value.clone()));
                    }
                    ConstU64(n.load(Relaxed)).encode(e.encode_family(&labels)?)?;
                }
            }
            continue;
        }
        for_each_series(sets, |labels, s| {
            ConstU64(pick(s)).encode(e.encode_family(&labels)?)
        })?;
    }
    if sets.iter().any(|s| !s.tls_series.load().is_empty()) {
        let name = format!("traefik_{scope}_requests_tls");
        let help = format!("HTTP requests over TLS, by {scope}, TLS version and cipher.");
        let mut e = encoder.encode_descriptor(&name, &help, None, MetricType::Counter)?;
        for set in sets {
            for (tls, n) in set.tls_series.load().iter() {
                let mut labels: Vec<(&str, String)> = vec![
                    ("tls_version", tls.version.to_string()),
                    ("tls_cipher", tls.cipher.to_string()),
                ];
                labels.extend(set.labels.iter().map(|(k, v)| (*k, v.clone())));
                ConstU64(n.load(Relaxed)).encode(e.encode_family(&labels)?)?;
            }
        }
    }
    let name = format!("traefik_{scope}_request_duration_seconds");
    let help = format!("HTTP request durations, by {scope}.");
    let mut e = encoder.encode_descriptor(&name, &help, None, MetricType::Histogram)?;
    for set in sets {
        let series = set.series.load();
        for (key, s) in series.iter() {
            let labels = labels_of(set, key);
            // Per-bucket counts: the encoder writes them cumulated, as the format wants.
            let mut total = 0;
            let mut buckets = Vec::with_capacity(set.bounds.len() + 1);
            for (i, count) in s.bucket_counts().enumerate() {
                total += count;
                let bound = set.bounds.get(i).copied().unwrap_or(f64::MAX);
                buckets.push((bound, count));
            }
            let sum = Duration::from_nanos(s.duration_nanos()).as_secs_f64();
            let mut family = e.encode_family(&labels)?;
            family.encode_histogram::<NoLabelSet>(sum, total, &buckets, None)?;
        }
    }
    Ok(())
}

fn labels_of<'a>(set: &'a SeriesSet, key: &SeriesKey) -> Vec<(&'a str, String)> {
    let mut labels: Vec<(&str, String)> = vec![
        ("code", key.code.to_string()),
        ("method", key.method.to_string()),
        ("protocol", key.protocol.label().to_string()),
    ];
    labels.extend(set.labels.iter().map(|(k, v)| (*k, v.clone())));
    labels
}

fn for_each_series(
    sets: &[Arc<SeriesSet>],
    mut f: impl FnMut(Vec<(&str, String)>, &Series) -> Result<(), std::fmt::Error>,
) -> Result<(), std::fmt::Error> {
    for set in sets {
        for (key, s) in set.series.load().iter() {
            f(labels_of(set, key), s)?;
        }
    }
    Ok(())
}
