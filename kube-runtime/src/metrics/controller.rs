//! Controller and work-queue metrics with controller-runtime's names and labels, fed by the
//! controller's [`Observe`] hooks.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{
        MetricType,
        counter::Counter,
        family::Family,
        gauge::{ConstGauge, Gauge},
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::{
    controller::{Observe, Priority, ReconcileResult},
    reflector::ObjectRef,
};

type Labels<const N: usize> = [(&'static str, String); N];
type Histograms<const N: usize> = Family<Labels<N>, Histogram, fn() -> Histogram>;

/// controller-runtime's buckets for `controller_runtime_reconcile_time_seconds`.
const RECONCILE_BUCKETS: [f64; 40] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25,
    1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0,
    50.0, 60.0,
];

fn reconcile_histogram() -> Histogram {
    Histogram::new(RECONCILE_BUCKETS)
}

/// client-go's work-queue buckets: 10 ns to 1000 s, by factors of ten.
fn queue_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1e-8, 10.0, 12))
}

/// Running reconciles by controller, read at scrape time.
type Running = Arc<Mutex<BTreeMap<String, HashMap<ObjectRef, Instant>>>>;

/// The families, registered once per registry and shared by every controller's
/// [`ControllerMetrics`].
#[derive(Debug, Clone)]
pub struct Metrics {
    reconcile_total: Family<Labels<2>, Counter>,
    reconcile_errors: Family<Labels<1>, Counter>,
    reconcile_panics: Family<Labels<1>, Counter>,
    reconcile_time: Histograms<1>,
    max_concurrent: Family<Labels<1>, Gauge>,
    active_workers: Family<Labels<1>, Gauge>,
    depth: Family<Labels<2>, Gauge>,
    adds: Family<Labels<2>, Counter>,
    queue_duration: Histograms<2>,
    work_duration: Histograms<2>,
    retries: Family<Labels<2>, Counter>,
    running: Running,
}

impl Metrics {
    /// Registers controller-runtime's controller and work-queue families in `registry`:
    /// `controller_runtime_reconcile_total{controller,result}`, `..._reconcile_errors_total`,
    /// `..._reconcile_panics_total`, `..._reconcile_time_seconds`, `..._max_concurrent_reconciles`,
    /// `..._active_workers`, and `workqueue_{depth, adds_total, queue_duration_seconds,
    /// work_duration_seconds, unfinished_work_seconds, longest_running_processor_seconds,
    /// retries_total}{name,controller}`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self {
            reconcile_total: Family::default(),
            reconcile_errors: Family::default(),
            reconcile_panics: Family::default(),
            reconcile_time: Family::new_with_constructor(reconcile_histogram),
            max_concurrent: Family::default(),
            active_workers: Family::default(),
            depth: Family::default(),
            adds: Family::default(),
            queue_duration: Family::new_with_constructor(queue_histogram),
            work_duration: Family::new_with_constructor(queue_histogram),
            retries: Family::default(),
            running: Running::default(),
        };
        let r = registry;
        r.register(
            "controller_runtime_reconcile",
            "Total number of reconciliations per controller",
            m.reconcile_total.clone(),
        );
        r.register(
            "controller_runtime_reconcile_errors",
            "Total number of reconciliation errors per controller",
            m.reconcile_errors.clone(),
        );
        r.register(
            "controller_runtime_reconcile_panics",
            "Total number of reconciliation panics per controller",
            m.reconcile_panics.clone(),
        );
        r.register(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            m.reconcile_time.clone(),
        );
        r.register(
            "controller_runtime_max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller",
            m.max_concurrent.clone(),
        );
        r.register(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller",
            m.active_workers.clone(),
        );
        r.register("workqueue_depth", "Current depth of workqueue", m.depth.clone());
        r.register("workqueue_adds", "Total number of adds handled by workqueue", m.adds.clone());
        r.register(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested",
            m.queue_duration.clone(),
        );
        r.register(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes",
            m.work_duration.clone(),
        );
        r.register("workqueue_retries", "Total number of retries handled by workqueue", m.retries.clone());
        r.register_collector(Box::new(RunningCollector(m.running.clone())));
        m
    }

    /// The observer of the controller `name` (the `controller` label, and the work queue's
    /// `name`), whose concurrency limit is `max_concurrent_reconciles` (0: unbounded).
    /// Install it with `Controller::observe`.
    pub fn controller(&self, name: &str, max_concurrent_reconciles: usize) -> Arc<ControllerMetrics> {
        let controller = [("controller", name.to_string())];
        let queue = [("name", name.to_string()), ("controller", name.to_string())];
        // Series exist from the start (at zero), as controller-runtime initialises them.
        for result in [
            ReconcileResult::Success,
            ReconcileResult::Error,
            ReconcileResult::Requeue,
            ReconcileResult::Panic,
        ] {
            let _ = self
                .reconcile_total
                .get_or_create(&[controller[0].clone(), ("result", result.as_str().into())]);
        }
        let _ = self.reconcile_errors.get_or_create(&controller);
        let _ = self.reconcile_panics.get_or_create(&controller);
        let _ = self.active_workers.get_or_create(&controller);
        let _ = self.adds.get_or_create(&queue);
        let _ = self.retries.get_or_create(&queue);
        let _ = self.depth.get_or_create(&queue);
        let limit = i64::try_from(max_concurrent_reconciles).unwrap_or(i64::MAX);
        self.max_concurrent.get_or_create(&controller).set(limit);
        self.running.lock().unwrap_or_else(PoisonError::into_inner).entry(name.to_string()).or_default();
        Arc::new(ControllerMetrics { metrics: self.clone(), controller, queue })
    }
}

/// The [`Observe`] implementation of one controller; see [`Metrics::controller`].
#[derive(Debug)]
pub struct ControllerMetrics {
    metrics: Metrics,
    controller: Labels<1>,
    queue: Labels<2>,
}

impl ControllerMetrics {
    fn running<T>(&self, f: impl FnOnce(&mut HashMap<ObjectRef, Instant>) -> T) -> T {
        let mut running = self.metrics.running.lock().unwrap_or_else(PoisonError::into_inner);
        f(running.entry(self.controller[0].1.clone()).or_default())
    }
}

impl Observe for ControllerMetrics {
    fn queued(&self, _key: &ObjectRef, _priority: Priority) {
        self.metrics.adds.get_or_create(&self.queue).inc();
    }

    fn dequeued(&self, _key: &ObjectRef, waited: Duration) {
        self.metrics.queue_duration.get_or_create(&self.queue).observe(waited.as_secs_f64());
    }

    fn reconcile_started(&self, key: &ObjectRef) {
        self.running(|r| r.insert(key.clone(), Instant::now()));
    }

    fn reconcile_finished(&self, key: &ObjectRef, result: ReconcileResult, took: Duration) {
        self.running(|r| r.remove(key));
        let m = &self.metrics;
        let label = match result {
            // controller-runtime counts panics as errors too, and has no timeout result.
            ReconcileResult::Timeout => ReconcileResult::Error,
            other => other,
        };
        m.reconcile_total
            .get_or_create(&[self.controller[0].clone(), ("result", label.as_str().into())])
            .inc();
        if result.is_failure() {
            m.reconcile_errors.get_or_create(&self.controller).inc();
        }
        if result == ReconcileResult::Panic {
            m.reconcile_panics.get_or_create(&self.controller).inc();
        }
        m.reconcile_time.get_or_create(&self.controller).observe(took.as_secs_f64());
        m.work_duration.get_or_create(&self.queue).observe(took.as_secs_f64());
    }

    fn retried(&self, _key: &ObjectRef) {
        self.metrics.retries.get_or_create(&self.queue).inc();
    }

    fn depth(&self, depth: usize) {
        self.metrics.depth.get_or_create(&self.queue).set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    fn active_workers(&self, active: usize) {
        self.metrics
            .active_workers
            .get_or_create(&self.controller)
            .set(i64::try_from(active).unwrap_or(i64::MAX));
    }
}

/// `workqueue_unfinished_work_seconds` and `workqueue_longest_running_processor_seconds`, from
/// the running reconciles at scrape time.
#[derive(Debug)]
struct RunningCollector(Running);

impl Collector for RunningCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let now = Instant::now();
        let per_controller: Vec<(String, f64, f64)> = {
            let running = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            running
                .iter()
                .map(|(name, keys)| {
                    let ages = keys.values().map(|started| now.duration_since(*started).as_secs_f64());
                    let (sum, max) = ages.fold((0.0, 0.0_f64), |(s, m), a| (s + a, m.max(a)));
                    (name.clone(), sum, max)
                })
                .collect()
        };
        let families = [
            (
                "workqueue_unfinished_work_seconds",
                "How many seconds of work has been done that is in progress and hasn't been observed by work_duration",
                true,
            ),
            (
                "workqueue_longest_running_processor_seconds",
                "How many seconds has the longest running processor for workqueue been running",
                false,
            ),
        ];
        for (family, help, sum) in families {
            let mut metric = encoder.encode_descriptor(family, help, None, MetricType::Gauge)?;
            for (name, total, longest) in &per_controller {
                let labels = [("name", name.as_str()), ("controller", name.as_str())];
                ConstGauge::new(if sum { *total } else { *longest })
                    .encode(metric.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;

    use super::*;

    #[test]
    fn observations_land_in_controller_runtime_families() {
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        let observe = metrics.controller("cms", 4);
        let key = ObjectRef::new("a").within("ns");
        observe.queued(&key, Priority::Live);
        observe.depth(1);
        observe.dequeued(&key, Duration::from_millis(3));
        observe.depth(0);
        observe.active_workers(1);
        observe.reconcile_started(&key);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("workqueue_longest_running_processor_seconds{name=\"cms\",controller=\"cms\"} "),
            "{text}"
        );
        observe.reconcile_finished(&key, ReconcileResult::Success, Duration::from_millis(20));
        observe.reconcile_started(&key);
        observe.reconcile_finished(&key, ReconcileResult::Error, Duration::from_millis(20));
        observe.retried(&key);
        observe.reconcile_started(&key);
        observe.reconcile_finished(&key, ReconcileResult::Timeout, Duration::from_millis(20));

        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        for line in [
            "controller_runtime_reconcile_total{controller=\"cms\",result=\"success\"} 1",
            "controller_runtime_reconcile_total{controller=\"cms\",result=\"error\"} 2",
            "controller_runtime_reconcile_total{controller=\"cms\",result=\"requeue_after\"} 0",
            "controller_runtime_reconcile_errors_total{controller=\"cms\"} 2",
            "controller_runtime_reconcile_panics_total{controller=\"cms\"} 0",
            "controller_runtime_reconcile_time_seconds_count{controller=\"cms\"} 3",
            "controller_runtime_max_concurrent_reconciles{controller=\"cms\"} 4",
            "controller_runtime_active_workers{controller=\"cms\"} 1",
            "workqueue_adds_total{name=\"cms\",controller=\"cms\"} 1",
            "workqueue_retries_total{name=\"cms\",controller=\"cms\"} 1",
            "workqueue_depth{name=\"cms\",controller=\"cms\"} 0",
            "workqueue_queue_duration_seconds_count{name=\"cms\",controller=\"cms\"} 1",
            "workqueue_work_duration_seconds_count{name=\"cms\",controller=\"cms\"} 3",
            "workqueue_unfinished_work_seconds{name=\"cms\",controller=\"cms\"} 0.0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
