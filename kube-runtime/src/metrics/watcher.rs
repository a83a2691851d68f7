//! Watcher relists and restarts, counted from a watcher's stream.

use futures::{Stream, StreamExt};
use prometheus_client::{
    metrics::{counter::Counter, family::Family},
    registry::Registry,
};

use crate::watcher::Event;

type Labels = [(&'static str, String); 1];

/// `kube_watcher_relists_total{watcher}`: lists after the first one (after a 410 Gone, or when a
/// watch could not resume); `kube_watcher_restarts_total{watcher}`: errors the watcher recovered
/// from by starting again after a backoff. Counted from the stream, so the watcher itself is
/// unchanged.
///
/// ```no_run
/// # fn run(api: kube_client::Api<k8s_openapi::api::core::v1::Pod>) {
/// use kube_runtime::{metrics::WatcherMetrics, watcher};
/// let mut registry = prometheus_client::registry::Registry::default();
/// let metrics = WatcherMetrics::register(&mut registry);
/// let pods = metrics.instrument("pods", watcher(api, watcher::Config::default()));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct WatcherMetrics {
    relists: Family<Labels, Counter>,
    restarts: Family<Labels, Counter>,
}

impl WatcherMetrics {
    /// Registers the two families in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self { relists: Family::default(), restarts: Family::default() };
        registry.register(
            "kube_watcher_relists",
            "Number of times a watcher listed its resource again after the initial list",
            metrics.relists.clone(),
        );
        registry.register(
            "kube_watcher_restarts",
            "Number of errors a watcher recovered from by starting again",
            metrics.restarts.clone(),
        );
        metrics
    }

    /// Passes `stream` through, counting its relists and errors under the label `watcher`.
    pub fn instrument<S, K, E>(
        &self,
        watcher: &str,
        stream: S,
    ) -> impl Stream<Item = Result<Event<K>, E>> + use<S, K, E>
    where
        S: Stream<Item = Result<Event<K>, E>>,
    {
        let label = [("watcher", watcher.to_string())];
        let relists = self.relists.get_or_create(&label).clone();
        let restarts = self.restarts.get_or_create(&label).clone();
        let mut listed = false;
        stream.inspect(move |item| match item {
            Ok(Event::Init) if listed => {
                relists.inc();
            }
            Ok(Event::Init) => listed = true,
            Err(_) => {
                restarts.inc();
            }
            Ok(_) => {}
        })
    }
}

#[cfg(test)]
mod tests {
    use futures::stream;
    use prometheus_client::encoding::text::encode;

    use super::*;

    #[tokio::test]
    async fn relists_and_errors_are_counted() {
        let mut registry = Registry::default();
        let metrics = WatcherMetrics::register(&mut registry);
        let items: Vec<Result<Event<u8>, &str>> = vec![
            Ok(Event::Init),
            Ok(Event::InitDone),
            Err("gone"),
            Ok(Event::Init),
            Ok(Event::Apply(1)),
            Err("x"),
        ];
        let passed: Vec<_> = metrics.instrument("cms", stream::iter(items.clone())).collect().await;
        assert_eq!(passed, items);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(text.contains("kube_watcher_relists_total{watcher=\"cms\"} 1\n"), "{text}");
        assert!(text.contains("kube_watcher_restarts_total{watcher=\"cms\"} 2\n"), "{text}");
    }
}
