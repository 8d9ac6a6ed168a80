//! The scrape side of what the layers above publish (`super::published`): server health,
//! certificate expiry, refused plugin files and reload durations.

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;

use super::exposition_values::GaugeI64;
use super::metrics::lock;
use super::published::Published;

pub(super) fn encode_published(
    encoder: &mut DescriptorEncoder<'_>,
    published: &Published,
) -> Result<(), std::fmt::Error> {
    let servers = published.servers();
    if !servers.is_empty() {
        let mut e = encoder.encode_descriptor(
            "traefik_service_server_up",
            "Whether a service's server is up (1) or down (0) by its health checks.",
            None,
            MetricType::Gauge,
        )?;
        for (service, url, up) in &servers {
            let labels = [("service", service.as_str()), ("url", url.as_str())];
            GaugeI64(i64::from(*up)).encode(e.encode_family(&labels)?)?;
        }
    }
    let mut certs = lock(&published.certificates).clone();
    // ACME-issued ones too; one sample per certificate (a configured file may hold one).
    for acme in super::published::acme_certificates() {
        if !certs
            .iter()
            .any(|c| c.serial == acme.serial && c.cn == acme.cn)
        {
            certs.push(acme);
        }
    }
    if !certs.is_empty() {
        let mut e = encoder.encode_descriptor(
            "traefik_tls_certs_not_after",
            "Expiry of the certificates served, as Unix time.",
            None,
            MetricType::Gauge,
        )?;
        for c in &certs {
            let labels = [
                ("cn", c.cn.as_str()),
                ("serial", c.serial.as_str()),
                ("sans", c.sans.as_str()),
            ];
            GaugeI64(c.not_after).encode(e.encode_family(&labels)?)?;
        }
    }
    let rejected = lock(&published.rejected_files).clone();
    let mut e = encoder.encode_descriptor(
        "wasmgate_plugin_files_rejected",
        "Plugin files refused by the last scan of the plugin directory (the last good version keeps serving).",
        None,
        MetricType::Gauge,
    )?;
    for r in &rejected {
        let labels = [("plugin", r.plugin.as_str()), ("hash", r.hash.as_str())];
        GaugeI64(1).encode(e.encode_family(&labels)?)?;
    }
    let h = &published.reload_durations;
    let mut e = encoder.encode_descriptor(
        "wasmgate_config_reload_duration_seconds",
        "Time to read, check and build a configuration (start-up, reloads applied or refused).",
        None,
        MetricType::Histogram,
    )?;
    let buckets = h.buckets();
    e.encode_histogram::<NoLabelSet>(h.sum_seconds(), h.count(), &buckets, None)?;
    Ok(())
}
