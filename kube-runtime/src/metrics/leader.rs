//! Leadership as a gauge, read from the electors' [`Leadership`] at scrape time.

use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{MetricType, gauge::ConstGauge},
    registry::Registry,
};

use crate::leader::Leadership;

/// client-go's `leader_election_master_status{name}`: 1 while this process leads the Lease
/// `name`, 0 otherwise.
#[derive(Debug, Clone, Default)]
pub struct LeaderMetrics {
    tracked: Arc<Mutex<Vec<(String, Leadership)>>>,
}

impl LeaderMetrics {
    /// Registers the gauge in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register_collector(Box::new(metrics.clone()));
        metrics
    }

    /// Reports `leadership` under the label `name` (the Lease's name).
    pub fn track(&self, name: &str, leadership: Leadership) {
        self.tracked.lock().unwrap_or_else(PoisonError::into_inner).push((name.to_string(), leadership));
    }
}

impl Collector for LeaderMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let values: Vec<(String, i64)> = self
            .tracked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, l)| (name.clone(), i64::from(l.is_leader())))
            .collect();
        let mut metric = encoder.encode_descriptor(
            "leader_election_master_status",
            "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease",
            None,
            MetricType::Gauge,
        )?;
        for (name, value) in values {
            ConstGauge::new(value).encode(metric.encode_family(&[("name", name)])?)?;
        }
        Ok(())
    }
}
