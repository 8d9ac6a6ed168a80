//! Values read from atomics at scrape time, in the shape `prometheus-client`'s encoder takes.

use prometheus_client::encoding::{EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;

/// A counter value read at scrape time.
#[derive(Debug)]
pub(super) struct ConstU64(pub(super) u64);

impl EncodeMetric for ConstU64 {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::MetricEncoder<'_>,
    ) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<NoLabelSet, _, u64>(&self.0, None)
    }
    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

/// A gauge value read at scrape time.
#[derive(Debug)]
pub(super) struct GaugeI64(pub(super) i64);

impl EncodeMetric for GaugeI64 {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::MetricEncoder<'_>,
    ) -> Result<(), std::fmt::Error> {
        encoder.encode_gauge(&self.0)
    }
    fn metric_type(&self) -> MetricType {
        MetricType::Gauge
    }
}
