//! Request metrics of the API client with client-go's names: a tower layer added with
//! [`Client::with_layer`](kube_client::Client::with_layer).

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use bytes::Bytes;
use http::{Request, Response};
use prometheus_client::{
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};

type Labels<const N: usize> = [(&'static str, String); N];

/// client-go's buckets for `rest_client_request_duration_seconds`.
fn latency_histogram() -> Histogram {
    Histogram::new([0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0])
}

/// `rest_client_requests_total{code,host,method}` and
/// `rest_client_request_duration_seconds{host,verb}`, as client-go names them. Requests that got
/// no response count with code `<error>`. The layer wraps the whole client stack, so a request
/// retried by the client counts once, and its latency includes the retries; a watch's latency is
/// the time to its response headers.
///
/// ```no_run
/// # fn run(client: kube_client::Client) {
/// use kube_runtime::metrics::ClientMetrics;
/// let mut registry = prometheus_client::registry::Registry::default();
/// let client = client.with_layer(&ClientMetrics::register(&mut registry));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ClientMetrics {
    requests: Family<Labels<3>, Counter>,
    latency: Family<Labels<2>, Histogram, fn() -> Histogram>,
}

impl ClientMetrics {
    /// Registers the two families in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics =
            Self { requests: Family::default(), latency: Family::new_with_constructor(latency_histogram) };
        registry.register(
            "rest_client_requests",
            "Number of HTTP requests, partitioned by status code, method, and host",
            metrics.requests.clone(),
        );
        registry.register(
            "rest_client_request_duration_seconds",
            "Request latency in seconds. Broken down by verb, and host",
            metrics.latency.clone(),
        );
        metrics
    }

    fn record(&self, method: &str, host: &str, code: Option<u16>, started: Instant) {
        let code = code.map_or_else(|| "<error>".to_string(), |c| c.to_string());
        self.requests
            .get_or_create(&[("code", code), ("host", host.into()), ("method", method.into())])
            .inc();
        self.latency
            .get_or_create(&[("host", host.into()), ("verb", method.into())])
            .observe(started.elapsed().as_secs_f64());
    }
}

impl<S> tower::Layer<S> for ClientMetrics {
    type Service = Instrumented<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Instrumented { inner, metrics: self.clone() }
    }
}

/// A service whose requests are counted and timed; see [`ClientMetrics`].
#[derive(Debug, Clone)]
pub struct Instrumented<S> {
    inner: S,
    metrics: ClientMetrics,
}

impl<S, B> tower::Service<Request<Bytes>> for Instrumented<S>
where
    S: tower::Service<Request<Bytes>, Response = Response<B>>,
    S::Future: Send + 'static,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<B>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        let method = req.method().as_str().to_string();
        let host = req.uri().authority().map(|a| a.as_str().to_string()).unwrap_or_default();
        let metrics = self.metrics.clone();
        let started = Instant::now();
        let response = self.inner.call(req);
        Box::pin(async move {
            let result = response.await;
            let code = result.as_ref().ok().map(|r| r.status().as_u16());
            metrics.record(&method, &host, code, started);
            result
        })
    }
}
