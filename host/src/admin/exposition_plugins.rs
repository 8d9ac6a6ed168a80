//! The scrape side of wasmgate's plugin figures (`super::plugin_metrics`): calls, failures by
//! kind, hook-duration histograms, instances live and idle, instantiations.

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;

use super::exposition_values::{ConstU64, GaugeI64};
use super::plugin_metrics::{PluginCounters, PluginCountersByVersion as Plugins};

pub(super) fn encode_plugins(
    encoder: &mut DescriptorEncoder<'_>,
    plugins: &Plugins,
) -> Result<(), std::fmt::Error> {
    if plugins.is_empty() {
        return Ok(());
    }
    let who = |p: &'_ PluginCounters| {
        [
            ("middleware", p.middleware.clone()),
            ("plugin", p.plugin.clone()),
            ("hash", p.hash.clone()),
        ]
    };
    let mut e = encoder.encode_descriptor(
        "wasmgate_plugin_calls",
        "Plugin hook calls, by middleware, plugin version and hook.",
        None,
        MetricType::Counter,
    )?;
    for p in plugins.values() {
        for (hook, n) in p.calls() {
            let mut labels = who(p).to_vec();
            labels.push(("hook", hook.to_string()));
            ConstU64(n).encode(e.encode_family(&labels)?)?;
        }
    }
    let mut e = encoder.encode_descriptor(
        "wasmgate_plugin_failures",
        "Failed plugin hook calls, by kind (trap, deadline, memory, invalid_output...).",
        None,
        MetricType::Counter,
    )?;
    for p in plugins.values() {
        for (hook, kind, n) in p.failures() {
            let mut labels = who(p).to_vec();
            labels.push(("hook", hook.to_string()));
            labels.push(("kind", kind.to_string()));
            ConstU64(n).encode(e.encode_family(&labels)?)?;
        }
    }
    let mut e = encoder.encode_descriptor(
        "wasmgate_plugin_hook_duration_seconds",
        "Plugin hook call durations (taking an instance included), by middleware, plugin version and hook.",
        None,
        MetricType::Histogram,
    )?;
    for p in plugins.values() {
        for (hook, h) in p.durations() {
            let mut labels = who(p).to_vec();
            labels.push(("hook", hook.to_string()));
            let buckets = h.buckets();
            let count = buckets.iter().map(|(_, n)| n).sum();
            e.encode_family(&labels)?.encode_histogram::<NoLabelSet>(
                h.sum_seconds(),
                count,
                &buckets,
                None,
            )?;
        }
    }
    type Pick = fn(&PluginCounters) -> i64;
    let gauges: [(&str, &str, Pick); 2] = [
        (
            "wasmgate_plugin_instances_live",
            "Plugin instances alive (pooled, in use, or held by a per-request middleware).",
            |p| p.instances().0,
        ),
        (
            "wasmgate_plugin_instances_idle",
            "Plugin instances waiting in their middleware's pool.",
            |p| p.instances().1,
        ),
    ];
    for (name, help, pick) in gauges {
        let mut e = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for p in plugins.values() {
            GaugeI64(pick(p)).encode(e.encode_family(&who(p))?)?;
        }
    }
    let mut e = encoder.encode_descriptor(
        "wasmgate_plugin_instantiations",
        "Plugin instances created (instantiated and initialised).",
        None,
        MetricType::Counter,
    )?;
    for p in plugins.values() {
        ConstU64(p.instantiations()).encode(e.encode_family(&who(p))?)?;
    }
    Ok(())
}
