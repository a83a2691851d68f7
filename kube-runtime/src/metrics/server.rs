//! A small HTTP server (hyper, HTTP/1.1) for `/metrics`, `/healthz` and `/readyz`.

use std::{convert::Infallible, future::Future, net::SocketAddr, pin::pin, sync::Arc};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use prometheus_client::{encoding, registry::Registry};
use tokio::net::TcpListener;

use super::Error;
use crate::reflector::{Cacheable, Store};

/// The OpenMetrics text content type, served to scrapers that ask for it.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Check = Arc<dyn Fn() -> bool + Send + Sync>;

struct State {
    registry: Arc<Registry>,
    checks: Vec<(String, Check)>,
}

/// Serves `/metrics` (OpenMetrics text when the scraper's `Accept` asks for it, as Prometheus
/// does, else the Prometheus text format 0.0.4), `/healthz` (200 while the process serves) and
/// `/readyz` (200 once every readiness check passes, e.g. every store synced; 503 naming the
/// failing ones otherwise).
///
/// Register every family in the registry before handing it over (families add label values on
/// their own afterwards).
///
/// ```no_run
/// # async fn run(store: kube_runtime::Store<k8s_openapi::api::core::v1::Pod>) -> Result<(), kube_runtime::metrics::Error> {
/// use std::sync::Arc;
/// use kube_runtime::metrics::{Metrics, Server};
///
/// let mut registry = prometheus_client::registry::Registry::default();
/// let metrics = Metrics::register(&mut registry);
/// let server = Server::new(Arc::new(registry)).ready_when_synced("pods", &store);
/// let bound = server.bind("0.0.0.0:8080".parse().unwrap()).await?;
/// tokio::spawn(bound.serve(std::future::pending()));
/// # Ok(()) }
/// ```
pub struct Server {
    state: State,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let checks: Vec<&str> = self.state.checks.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Server").field("checks", &checks).finish_non_exhaustive()
    }
}

impl Server {
    /// A server for `registry`, ready with no checks.
    pub fn new(registry: Arc<Registry>) -> Self {
        Self { state: State { registry, checks: Vec::new() } }
    }

    /// Adds a readiness check named `name`.
    #[must_use]
    pub fn ready_when(mut self, name: &str, check: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.state.checks.push((name.to_string(), Arc::new(check)));
        self
    }

    /// Ready only once `store` has its first complete list.
    #[must_use]
    pub fn ready_when_synced<K: Cacheable + Send + Sync + 'static>(
        self,
        name: &str,
        store: &Store<K>,
    ) -> Self {
        let store = store.clone();
        self.ready_when(name, move || store.is_ready())
    }

    /// Binds `addr` (port 0 picks a free port; see [`Bound::local_addr`]).
    pub async fn bind(self, addr: SocketAddr) -> Result<Bound, Error> {
        let listener = TcpListener::bind(addr).await.map_err(|source| Error::Bind { addr, source })?;
        Ok(Bound { listener, state: Arc::new(self.state) })
    }
}

/// A bound server; [`serve`](Self::serve) it.
pub struct Bound {
    listener: TcpListener,
    state: Arc<State>,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound").field("listener", &self.listener).finish_non_exhaustive()
    }
}

impl Bound {
    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(Error::Accept)
    }

    /// Serves connections until `shutdown` completes (connections already open finish their
    /// requests on their own).
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => return,
                accepted = self.listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "metrics server failed to accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let state = self.state.clone();
            let service = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(respond(&state, &req)) }
            });
            tokio::spawn(async move {
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(error = %e, "metrics server connection ended with an error");
                }
            });
        }
    }
}

fn respond<B>(state: &State, req: &Request<B>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD are served\n".into());
    }
    match req.uri().path() {
        "/metrics" => metrics(state, req),
        "/healthz" | "/livez" => text(StatusCode::OK, "ok\n".into()),
        "/readyz" => {
            let failing: Vec<&str> =
                state.checks.iter().filter(|(_, ok)| !ok()).map(|(n, _)| n.as_str()).collect();
            if failing.is_empty() {
                text(StatusCode::OK, "ok\n".into())
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {}\n", failing.join(", ")))
            }
        }
        _ => text(StatusCode::NOT_FOUND, "not found; try /metrics, /healthz or /readyz\n".into()),
    }
}

fn metrics<B>(state: &State, req: &Request<B>) -> Response<Full<Bytes>> {
    let openmetrics = req
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let mut body = String::new();
    let (encoded, content_type) = if openmetrics {
        (encoding::text::encode(&mut body, &state.registry), OPENMETRICS)
    } else {
        (
            encoding::prometheus_text::encode(&mut body, &state.registry),
            encoding::prometheus_text::CONTENT_TYPE,
        )
    };
    if let Err(e) = encoded {
        tracing::warn!(error = %e, "failed to encode metrics");
        return text(StatusCode::INTERNAL_SERVER_ERROR, "failed to encode metrics\n".into());
    }
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    resp.headers_mut().insert(header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    resp
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    resp
}
