//! Webhook metrics with controller-runtime's names, registered in the same
//! `prometheus-client` [`Registry`] as the controller's (served by kube-runtime's metrics
//! server, or any other).

use prometheus_client::{
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

type Labels<const N: usize> = [(&'static str, String); N];

/// controller-runtime's buckets for `controller_runtime_webhook_latency_seconds`
/// (prometheus' defaults).
fn latency_histogram() -> Histogram {
    Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
}

/// `controller_runtime_webhook_requests_total{webhook,code}`,
/// `controller_runtime_webhook_latency_seconds{webhook}` and
/// `controller_runtime_webhook_requests_in_flight{webhook}` as controller-runtime names them
/// (`webhook` is the path), plus `kube_webhook_admission_denials_total{webhook}` (admission
/// responses with `allowed: false`) and `kube_webhook_certificate_reloads_total`.
///
/// ```
/// let mut registry = prometheus_client::registry::Registry::default();
/// let metrics = kube_webhook::WebhookMetrics::register(&mut registry);
/// // kube_webhook::WebhookServer::new(tls).metrics(metrics)...
/// # drop(metrics);
/// ```
#[derive(Debug, Clone)]
pub struct WebhookMetrics {
    requests: Family<Labels<2>, Counter>,
    latency: Family<Labels<1>, Histogram, fn() -> Histogram>,
    in_flight: Family<Labels<1>, Gauge>,
    denials: Family<Labels<1>, Counter>,
    reloads: Counter,
}

impl WebhookMetrics {
    /// Registers the families in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            in_flight: Family::default(),
            denials: Family::default(),
            reloads: Counter::default(),
        };
        registry.register(
            "controller_runtime_webhook_requests",
            "Total number of admission requests by HTTP status code.",
            metrics.requests.clone(),
        );
        registry.register(
            "controller_runtime_webhook_latency_seconds",
            "Histogram of the latency of processing admission requests",
            metrics.latency.clone(),
        );
        registry.register(
            "controller_runtime_webhook_requests_in_flight",
            "Current number of admission requests being served.",
            metrics.in_flight.clone(),
        );
        registry.register(
            "kube_webhook_admission_denials",
            "Total number of admission requests denied, by webhook path.",
            metrics.denials.clone(),
        );
        registry.register(
            "kube_webhook_certificate_reloads",
            "Total number of times a new serving certificate was loaded from its files.",
            metrics.reloads.clone(),
        );
        metrics
    }

    pub(crate) fn started(&self, webhook: &str) {
        self.in_flight.get_or_create(&[("webhook", webhook.to_owned())]).inc();
    }

    pub(crate) fn finished(&self, webhook: &str, code: u16, seconds: f64, denied: bool) {
        let label = [("webhook", webhook.to_owned())];
        self.in_flight.get_or_create(&label).dec();
        self.latency.get_or_create(&label).observe(seconds);
        if denied {
            self.denials.get_or_create(&label).inc();
        }
        self.requests.get_or_create(&[("code", code.to_string()), ("webhook", webhook.to_owned())]).inc();
    }

    pub(crate) fn certificate_reloaded(&self) {
        self.reloads.inc();
    }
}
