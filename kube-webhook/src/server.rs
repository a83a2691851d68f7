//! The HTTPS server: routes by path to [`Handler`]s, with the API server's limits.
//!
//! Each route answers `POST` with `Content-Type: application/json` (else 405 or 415); bodies
//! over the limit (7 MiB by default, as the API server's) get 413 before they are read whole;
//! bodies not sent within 30 s get 408. `GET /healthz` and `/readyz` answer 200 (reaching them
//! over TLS means the certificate is loaded). HTTP/1.1 and HTTP/2 are served, each connection in
//! its own task, so a slow handler or client holds up no one else.

use std::{
    collections::HashMap,
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::pin,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::{conn::auto, graceful::GracefulShutdown},
};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::{Error, Handler, TlsConfig, WebhookMetrics, tls::CertWatcher};

/// The API server's limit on request bodies, also ours by default: 7 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 7 * 1024 * 1024;
/// How long a client has to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client has to send a request body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Bound::serve`] waits for requests in flight after its shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

struct State {
    routes: HashMap<String, Handler>,
    metrics: Option<WebhookMetrics>,
    body_limit: usize,
}

/// A webhook server under construction: its TLS configuration and routes.
///
/// ```no_run
/// # async fn run() -> Result<(), kube_webhook::Error> {
/// use k8s_openapi::api::core::v1::ConfigMap;
/// use kube_webhook::{TlsConfig, Validator, WebhookServer};
///
/// let validate = Validator::new(|_req: kube_core::admission::AdmissionRequest<ConfigMap>| async { Ok(vec![]) });
/// let server = WebhookServer::new(TlsConfig::from_files("/certs/tls.crt", "/certs/tls.key"))
///     .route("/validate-configmaps", validate)
///     .bind("0.0.0.0:9443".parse().unwrap())
///     .await?;
/// server.serve(async { tokio::signal::ctrl_c().await.ok(); }).await;
/// # Ok(()) }
/// ```
pub struct WebhookServer {
    tls: TlsConfig,
    state: State,
}

impl std::fmt::Debug for WebhookServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let routes: Vec<&String> = self.state.routes.keys().collect();
        f.debug_struct("WebhookServer")
            .field("tls", &self.tls)
            .field("routes", &routes)
            .finish_non_exhaustive()
    }
}

impl WebhookServer {
    /// A server with these certificates and no routes.
    pub fn new(tls: TlsConfig) -> Self {
        Self { tls, state: State { routes: HashMap::new(), metrics: None, body_limit: DEFAULT_BODY_LIMIT } }
    }

    /// Serves `handler` (a [`Validator`](crate::Validator), [`Defaulter`](crate::Defaulter),
    /// [`Converter`](kube_core::conversion::Converter) or [`Handler`]) at `path`, such as
    /// `/validate-foos`. A second handler for the same path replaces the first.
    #[must_use]
    pub fn route(mut self, path: &str, handler: impl Into<Handler>) -> Self {
        self.state.routes.insert(path.to_owned(), handler.into());
        self
    }

    /// Records requests in `metrics`.
    #[must_use]
    pub fn metrics(mut self, metrics: WebhookMetrics) -> Self {
        self.state.metrics = Some(metrics);
        self
    }

    /// The largest body accepted ([`DEFAULT_BODY_LIMIT`] unless set).
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.state.body_limit = bytes;
        self
    }

    /// Loads the certificate and binds `addr` (port 0 picks a free port).
    ///
    /// # Errors
    /// When the certificate or key cannot be read or do not match, the client CA is invalid,
    /// or the address cannot be bound.
    pub async fn bind(self, addr: SocketAddr) -> Result<Bound, Error> {
        let (config, watcher) = self.tls.build(self.state.metrics.clone())?;
        let listener = TcpListener::bind(addr).await.map_err(|source| Error::Bind { addr, source })?;
        Ok(Bound { listener, acceptor: TlsAcceptor::from(config), watcher, state: Arc::new(self.state) })
    }
}

/// A bound webhook server; [`serve`](Self::serve) it.
pub struct Bound {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    watcher: CertWatcher,
    state: Arc<State>,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("listener", &self.listener)
            .field("watcher", &self.watcher)
            .finish_non_exhaustive()
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Bound {
    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(Error::Accept)
    }

    /// The watcher of the certificate files (to force a [`reload`](CertWatcher::reload) or see
    /// the certificate served).
    pub fn cert_watcher(&self) -> &CertWatcher {
        &self.watcher
    }

    /// Serves until `shutdown` completes, reloading the certificate when its files change. On
    /// shutdown it stops accepting connections, lets requests in flight finish (up to
    /// [`SHUTDOWN_GRACE`]) and returns.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let _reload = AbortOnDrop(tokio::spawn(self.watcher.clone().watch()));
        let graceful = GracefulShutdown::new();
        let mut shutdown = pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "webhook server failed to accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let acceptor = self.acceptor.clone();
            let state = self.state.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "webhook tls handshake failed"),
                    Err(_) => return tracing::debug!(%peer, "webhook tls handshake timed out"),
                };
                let service = hyper::service::service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(respond(&state, req).await) }
                });
                let conn = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .into_owned();
                if let Err(e) = watcher.watch(conn).await {
                    tracing::debug!(%peer, error = %e, "webhook connection ended with an error");
                }
            });
        }
        if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
            tracing::warn!("webhook server shut down with requests still in flight");
        }
    }
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.into())));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    resp
}

fn is_json(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

async fn respond(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let Some(handler) = state.routes.get(&path) else {
        return match (req.method(), path.as_str()) {
            (&Method::GET | &Method::HEAD, "/healthz" | "/readyz" | "/livez") => text(StatusCode::OK, "ok\n"),
            _ => text(StatusCode::NOT_FOUND, format!("no webhook at {path}\n")),
        };
    };
    if req.method() != Method::POST {
        return text(StatusCode::METHOD_NOT_ALLOWED, "webhooks answer POST only\n");
    }
    let started = Instant::now();
    if let Some(m) = &state.metrics {
        m.started(&path);
    }
    let (resp, denied) = review(state, handler, req).await;
    if let Some(m) = &state.metrics {
        m.finished(&path, resp.status().as_u16(), started.elapsed().as_secs_f64(), denied);
    }
    resp
}

async fn review(state: &State, handler: &Handler, req: Request<Incoming>) -> (Response<Full<Bytes>>, bool) {
    if !is_json(&req) {
        return (text(StatusCode::UNSUPPORTED_MEDIA_TYPE, "the body must be application/json\n"), false);
    }
    let limit = state.body_limit;
    let too_large =
        || text(StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than {limit} bytes\n"));
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return (too_large(), false);
    }
    let body = match tokio::time::timeout(BODY_TIMEOUT, Limited::new(req.into_body(), limit).collect()).await
    {
        Ok(Ok(body)) => body.to_bytes(),
        Ok(Err(e)) if e.is::<LengthLimitError>() => return (too_large(), false),
        Ok(Err(e)) => {
            return (text(StatusCode::BAD_REQUEST, format!("failed to read the body: {e}\n")), false);
        }
        Err(_) => return (text(StatusCode::REQUEST_TIMEOUT, "the body did not arrive in time\n"), false),
    };
    let outcome = handler.handle(&body).await;
    let mut resp = Response::new(Full::new(Bytes::from(outcome.body)));
    *resp.status_mut() = outcome.status;
    resp.headers_mut().insert(header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    (resp, outcome.denied)
}
