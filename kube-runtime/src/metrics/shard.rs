//! Sharding metrics: members and objects owned per replica (read at scrape time), moves written
//! by the assigner or slots moved by the server-side claims, and how long this replica took to
//! let moved objects go.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{
        MetricType,
        counter::Counter,
        family::Family,
        gauge::ConstGauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use tokio::sync::watch;

use crate::{
    reflector::{Cacheable, Store},
    shard::{ObserveShard, Ring, Shard},
};

type Labels<const N: usize> = [(&'static str, String); N];

fn drain_histogram() -> Histogram {
    // 1 ms to about 65 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// A gauge read when scraped.
struct Tracked {
    group: String,
    members: watch::Receiver<Ring>,
    owned: Vec<(String, Box<dyn Fn() -> usize + Send + Sync>)>,
}

/// `kube_shard_members{group}`, `kube_shard_owned_objects{group,controller}`,
/// `kube_shard_assignments_total{group,kind,step}`, `kube_shard_let_go_total{group}`,
/// `kube_shard_slot_moves_total{group,step}` and `kube_shard_drain_duration_seconds{group}`.
///
/// ```no_run
/// # fn f(shard: kube_runtime::shard::Shard, store: kube_runtime::Store<k8s_openapi::api::core::v1::ConfigMap>) {
/// use std::sync::Arc;
/// use kube_runtime::metrics::ShardMetrics;
///
/// let mut registry = prometheus_client::registry::Registry::default();
/// let metrics = ShardMetrics::register(&mut registry);
/// metrics.track(&shard);
/// metrics.track_owned(&shard, "configmaps", &store); // the sharded controller's store
/// shard.observe(Arc::new(metrics.clone()));
/// # }
/// ```
#[derive(Clone)]
pub struct ShardMetrics {
    assignments: Family<Labels<3>, Counter>,
    let_go: Family<Labels<1>, Counter>,
    slot_moves: Family<Labels<2>, Counter>,
    drain_time: Family<Labels<1>, Histogram, fn() -> Histogram>,
    tracked: Arc<Mutex<Vec<Tracked>>>,
}

impl std::fmt::Debug for ShardMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardMetrics").finish_non_exhaustive()
    }
}

impl ShardMetrics {
    /// Registers the families in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self {
            assignments: Family::default(),
            let_go: Family::default(),
            slot_moves: Family::default(),
            drain_time: Family::new_with_constructor(drain_histogram),
            tracked: Arc::default(),
        };
        registry.register(
            "kube_shard_assignments",
            "Label writes of the elected assigner, by step (assign, take_over, drain, keep)",
            m.assignments.clone(),
        );
        registry.register(
            "kube_shard_let_go",
            "Objects this replica let go to their new owner",
            m.let_go.clone(),
        );
        registry.register(
            "kube_shard_slot_moves",
            "Slots this replica took over or gave up (server-side assignment), by step",
            m.slot_moves.clone(),
        );
        registry.register(
            "kube_shard_drain_duration_seconds",
            "Time from a drain request seen to the object let go (server-side: from a slot no longer reconciled to it given up)",
            m.drain_time.clone(),
        );
        registry.register_collector(Box::new(m.clone()));
        m
    }

    /// Reports the live members of `shard`'s group.
    pub fn track(&self, shard: &Shard) {
        let mut tracked = self.tracked.lock().unwrap_or_else(PoisonError::into_inner);
        tracked.push(Tracked {
            group: shard.config().group.clone(),
            members: shard.ring(),
            owned: Vec::new(),
        });
    }

    /// Reports how many objects the sharded controller `controller` holds in `store`.
    pub fn track_owned<K: Cacheable>(&self, shard: &Shard, controller: &str, store: &Store<K>) {
        let group = &shard.config().group;
        let mut tracked = self.tracked.lock().unwrap_or_else(PoisonError::into_inner);
        let store = store.clone();
        let owned: Box<dyn Fn() -> usize + Send + Sync> = Box::new(move || store.len());
        match tracked.iter_mut().find(|t| &t.group == group) {
            Some(t) => t.owned.push((controller.to_string(), owned)),
            None => tracked.push(Tracked {
                group: group.clone(),
                members: shard.ring(),
                owned: vec![(controller.to_string(), owned)],
            }),
        }
    }
}

impl ObserveShard for ShardMetrics {
    fn assigned(&self, group: &str, kind: &str, step: &'static str) {
        self.assignments
            .get_or_create(&[
                ("group", group.to_string()),
                ("kind", kind.to_string()),
                ("step", step.to_string()),
            ])
            .inc();
    }

    fn let_go(&self, group: &str, took: Duration) {
        self.let_go.get_or_create(&[("group", group.to_string())]).inc();
        self.drain_time.get_or_create(&[("group", group.to_string())]).observe(took.as_secs_f64());
    }

    fn slot_moved(&self, group: &str, step: &'static str, drained: Option<Duration>) {
        self.slot_moves.get_or_create(&[("group", group.to_string()), ("step", step.to_string())]).inc();
        if let Some(took) = drained {
            self.drain_time.get_or_create(&[("group", group.to_string())]).observe(took.as_secs_f64());
        }
    }
}

impl Collector for ShardMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (members, owned) = {
            let tracked = self.tracked.lock().unwrap_or_else(PoisonError::into_inner);
            let members: Vec<(String, i64)> = tracked
                .iter()
                .map(|t| (t.group.clone(), i64::try_from(t.members.borrow().len()).unwrap_or(i64::MAX)))
                .collect();
            let owned: Vec<(String, String, i64)> = tracked
                .iter()
                .flat_map(|t| {
                    t.owned
                        .iter()
                        .map(|(c, n)| (t.group.clone(), c.clone(), i64::try_from(n()).unwrap_or(i64::MAX)))
                })
                .collect();
            (members, owned)
        };
        let mut metric = encoder.encode_descriptor(
            "kube_shard_members",
            "Live members of the shard group",
            None,
            MetricType::Gauge,
        )?;
        for (group, n) in members {
            ConstGauge::new(n).encode(metric.encode_family(&[("group", group)])?)?;
        }
        let mut metric = encoder.encode_descriptor(
            "kube_shard_owned_objects",
            "Objects the sharded controller of this replica holds",
            None,
            MetricType::Gauge,
        )?;
        for (group, controller, n) in owned {
            ConstGauge::new(n)
                .encode(metric.encode_family(&[("group", group), ("controller", controller)])?)?;
        }
        Ok(())
    }
}
