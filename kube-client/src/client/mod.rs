//! The HTTP client: sends the requests kube-core builds through a tower stack (rate limit, retries,
//! headers, authentication, timeout, compression) over hyper and rustls, and decodes responses:
//! JSON or protobuf (by their `Content-Type`), text, byte and line streams, and watch events.

mod builder;
#[cfg(feature = "protobuf")]
mod chunked;
pub(crate) mod connector;
pub mod decode;
mod headers;
mod lines;
pub mod list;
mod pool;
pub mod progress;
pub mod rate_limit;
pub mod retry;
pub(crate) mod tls;
mod watch;

use std::{sync::Arc, time::Instant};

pub use builder::{ClientBuilder, DEFAULT_HTTP2_KEEPALIVE_INTERVAL, DEFAULT_HTTP2_KEEPALIVE_TIMEOUT};
use bytes::Bytes;
pub use connector::ProxyError;
use futures::{Stream, StreamExt, TryStreamExt};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, BodyStream, combinators::UnsyncBoxBody};
use kube_core::{Status, WatchEvent};
pub use pool::DEFAULT_HTTP2_MAX_STREAMS_PER_CONNECTION;
use serde::de::DeserializeOwned;
use tower::{ServiceExt, util::BoxCloneSyncService};
use tracing::Instrument;

use self::{
    decode::{DecodeOptions, Format, decode_as},
    list::ListPart,
};
use crate::{
    Error,
    error::{BoxError, SettingError, uri_path},
};

/// The body of a response.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

/// The service every request goes through.
pub type HttpService = BoxCloneSyncService<Request<Bytes>, Response<Body>, BoxError>;

/// The largest error body read to decode a `Status`.
const MAX_ERROR_BODY: usize = 1024 * 1024;

/// Whether clients ask for protobuf on reads of built-in types unless told otherwise: yes when
/// the `protobuf` feature is on (a default one), as client-go does. Protobuf bodies are smaller
/// and cost the API server and the client less CPU (an informer's sync over protobuf took a
/// third of the time of one over JSON in `just bench-peers`).
pub const PROTOBUF_BY_DEFAULT: bool = cfg!(feature = "protobuf");

/// A client for one cluster: cheap to clone, every clone shares the connection pool.
///
/// ```no_run
/// # async fn run() -> Result<(), kube_client::Error> {
/// use k8s_openapi::api::core::v1::Namespace;
/// use kube_client::Client;
/// use kube_core::{Resource, params::GetParams, request::Request};
///
/// let client = Client::try_default().await?;
/// let req = Request::new(Namespace::url_path(&(), None)).get("default", &GetParams::default())?;
/// let ns: Namespace = client.request(req).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    service: HttpService,
    /// The stack for requests that upgrade their connection (HTTP/1.1 only, no retries,
    /// timeouts or decompression): exec, attach, port-forward.
    upgrade: HttpService,
    base: Arc<Base>,
    default_namespace: Arc<str>,
    /// Ask for protobuf on reads of built-in types (see [`Client::with_protobuf`]).
    protobuf: bool,
}

#[derive(Debug)]
struct Base {
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    path_prefix: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("default_namespace", &self.default_namespace)
            .field("protobuf", &self.protobuf)
            .finish()
    }
}

impl Client {
    /// A client over any service (a custom stack, or a mock transport in tests) for the cluster
    /// at `cluster_url`, whose default namespace is `default_namespace`.
    pub fn new(
        service: HttpService,
        cluster_url: &http::Uri,
        default_namespace: &str,
    ) -> Result<Self, Error> {
        let parts = cluster_url.clone().into_parts();
        let (Some(scheme), Some(authority)) = (parts.scheme, parts.authority) else {
            return Err(SettingError::ClusterUrl { url: cluster_url.to_string() }.into());
        };
        let path_prefix =
            parts.path_and_query.map(|p| p.path().trim_end_matches('/').to_string()).unwrap_or_default();
        Ok(Self {
            upgrade: service.clone(),
            service,
            base: Arc::new(Base { scheme, authority, path_prefix }),
            default_namespace: default_namespace.into(),
            protobuf: PROTOBUF_BY_DEFAULT,
        })
    }

    /// A client from [`Config::infer`](crate::Config::infer): `$KUBECONFIG`, `~/.kube/config`,
    /// or the in-cluster service account.
    pub async fn try_default() -> Result<Self, Error> {
        let config = tokio::task::spawn_blocking(crate::Config::infer).await.map_err(Error::ConfigTask)??;
        Self::try_from(config)
    }

    /// The namespace of the configuration's context (`default` when it names none).
    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    /// Asks the API server for protobuf (`application/vnd.kubernetes.protobuf`) instead of JSON
    /// on the reads of every [`Api`](crate::Api) made from this client (get, list, watch,
    /// their metadata-only forms, and the watcher's lists and watches) of built-in types:
    /// smaller bodies, and less CPU to decode. Custom resources stay JSON (the API server has no
    /// protobuf for them), except metadata-only reads, served in protobuf for every type; any
    /// answer in JSON is decoded as JSON. Writes send JSON. On by default with the `protobuf`
    /// feature, as in client-go ([`PROTOBUF_BY_DEFAULT`]); see
    /// [`Config::protobuf`](crate::Config::protobuf) and
    /// [`Api::with_protobuf`](crate::Api::with_protobuf). Needs the `protobuf` feature (a
    /// default one); without it reads stay JSON whatever this says.
    #[must_use]
    pub fn with_protobuf(self, protobuf: bool) -> Self {
        Self { protobuf, ..self }
    }

    /// Whether this client asks for protobuf (see [`Client::with_protobuf`]).
    pub fn protobuf(&self) -> bool {
        self.protobuf
    }

    /// Wraps the client's whole stack (retries included, so each call is seen once) in a tower
    /// layer: request metrics, extra headers, fault injection in tests. Clones made before this
    /// call keep the old stack.
    ///
    /// ```no_run
    /// # fn run(client: kube_client::Client) {
    /// let client = client.with_layer(&tower::layer::layer_fn(|inner| inner));
    /// # }
    /// ```
    #[must_use]
    pub fn with_layer<L>(self, layer: &L) -> Self
    where
        L: tower::Layer<HttpService>,
        L::Service: tower::Service<http::Request<Bytes>, Response = Response<Body>, Error = BoxError>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower::Service<http::Request<Bytes>>>::Future: Send + 'static,
    {
        Self {
            service: BoxCloneSyncService::new(layer.layer(self.service)),
            upgrade: BoxCloneSyncService::new(layer.layer(self.upgrade)),
            ..self
        }
    }

    /// Uses `upgrade` for requests that upgrade their connection to a WebSocket (exec, attach,
    /// port-forward). It must speak HTTP/1.1 to the server and keep hyper's upgrade in the
    /// response's extensions. [`Client::new`] uses the main service for both, which suits an
    /// HTTP/1.1 stack; [`ClientBuilder`] gives upgrades connections of their own.
    #[must_use]
    pub fn with_upgrade_service(self, upgrade: HttpService) -> Self {
        Self { upgrade, ..self }
    }

    fn absolute(&self, uri: &http::Uri) -> Result<http::Uri, Error> {
        let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let full = format!("{}{}", self.base.path_prefix, path_and_query);
        http::Uri::builder()
            .scheme(self.base.scheme.clone())
            .authority(self.base.authority.clone())
            .path_and_query(full)
            .build()
            .map_err(|e| Error::BuildRequest(kube_core::Error::Http(e)))
    }

    /// Sends a request and returns the response whatever its status.
    pub async fn send(&self, req: Request<Vec<u8>>) -> Result<Response<Body>, Error> {
        let (mut parts, body) = req.into_parts();
        let path = uri_path(&parts.uri);
        parts.uri = self.absolute(&parts.uri)?;
        let method = parts.method.clone();
        let req = Request::from_parts(parts, Bytes::from(body));
        let span = tracing::debug_span!(
            "kube_request",
            verb = %method,
            path = %path,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let start = Instant::now();
        let result = self.service.clone().oneshot(req).instrument(span.clone()).await;
        span.record("latency_ms", start.elapsed().as_millis() as u64);
        match result {
            Ok(resp) => {
                span.record("status", resp.status().as_u16());
                // Deprecation notices and other warnings: `299 - "text"` (RFC 7234).
                for warning in resp.headers().get_all(http::header::WARNING) {
                    let text = String::from_utf8_lossy(warning.as_bytes());
                    let text = text.split_once(" - ").map_or(&*text, |(_, t)| t.trim_matches('"'));
                    tracing::warn!(parent: &span, warning = %text, "the API server sent a warning");
                }
                Ok(resp)
            }
            Err(e) => Err(classify(e, path)),
        }
    }

    /// Sends a request that asks to upgrade its connection (a WebSocket handshake) through the
    /// upgrade stack: the `101 Switching Protocols` response (hyper's upgrade in its
    /// extensions), or the `Status` the server answered with instead.
    pub(crate) async fn send_upgrade(
        &self,
        req: Request<Vec<u8>>,
    ) -> Result<Result<Response<Body>, Status>, Error> {
        let (mut parts, body) = req.into_parts();
        let path = uri_path(&parts.uri);
        parts.uri = self.absolute(&parts.uri)?;
        let req = Request::from_parts(parts, Bytes::from(body));
        let span = tracing::debug_span!("kube_upgrade", path = %path, status = tracing::field::Empty);
        let resp = self
            .upgrade
            .clone()
            .oneshot(req)
            .instrument(span.clone())
            .await
            .map_err(|e| classify(e, path.clone()))?;
        span.record("status", resp.status().as_u16());
        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            return Ok(Ok(resp));
        }
        Ok(Err(status_of(resp, path).await))
    }

    /// Sends a request and fails with [`Error::Api`] unless the status is a success.
    pub async fn send_checked(&self, req: Request<Vec<u8>>) -> Result<Response<Body>, Error> {
        let path = uri_path(req.uri());
        let resp = self.send(req).await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(Error::Api(Box::new(status_of(resp, path).await)))
    }

    /// Sends a request and decodes the response (JSON, or protobuf if the server answered it).
    pub fn request<T: DeserializeOwned>(
        &self,
        req: Request<Vec<u8>>,
    ) -> impl Future<Output = Result<T, Error>> + Send + 'static {
        self.request_with(req, DecodeOptions::default())
    }

    /// Sends a request and decodes the response as `options` say (e.g. without
    /// managedFields).
    pub fn request_with<T: DeserializeOwned>(
        &self,
        req: Request<Vec<u8>>,
        options: DecodeOptions,
    ) -> impl Future<Output = Result<T, Error>> + Send + 'static {
        let this = self.clone();
        async move {
            let path = uri_path(req.uri());
            let (bytes, format) = this.request_body(req).await?;
            decode_as(&bytes, format, &path, options)
        }
    }

    /// Sends a LIST request and decodes the response item by item as it arrives (see
    /// [`list::list_items`]): memory stays at one item, whatever the size of the list.
    pub fn request_list<T: DeserializeOwned + Send + 'static>(
        &self,
        req: Request<Vec<u8>>,
        options: DecodeOptions,
    ) -> impl Future<Output = Result<impl Stream<Item = Result<ListPart<T>, Error>> + Send + use<T>, Error>>
    + Send
    + 'static {
        let this = self.clone();
        async move {
            let path = uri_path(req.uri());
            let resp = this.send_checked(req).await?;
            let format = Format::of_headers(resp.headers());
            let body = body_stream(resp.into_body(), path.clone());
            #[cfg(feature = "protobuf")]
            if format == Format::Protobuf {
                return Ok(list::protobuf_list_items(body, path, options).left_stream());
            }
            #[cfg(feature = "protobuf")]
            return Ok(list::list_items(body, path, options).right_stream());
            #[cfg(not(feature = "protobuf"))]
            {
                let _ = format;
                Ok(list::list_items(body, path, options))
            }
        }
    }

    /// Sends a request and returns the whole body.
    pub async fn request_bytes(&self, req: Request<Vec<u8>>) -> Result<Bytes, Error> {
        Ok(self.request_body(req).await?.0)
    }

    /// Sends a request and returns the whole body and its format.
    async fn request_body(&self, req: Request<Vec<u8>>) -> Result<(Bytes, Format), Error> {
        let path = uri_path(req.uri());
        let resp = self.send_checked(req).await?;
        let format = Format::of_headers(resp.headers());
        Ok((collect(resp.into_body(), path).await?, format))
    }

    /// Sends a request and returns the body as text.
    pub async fn request_text(&self, req: Request<Vec<u8>>) -> Result<String, Error> {
        let path = uri_path(req.uri());
        let bytes = self.request_bytes(req).await?;
        String::from_utf8(bytes.to_vec()).map_err(|e| Error::Decode { uri: path, source: e.into() })
    }

    /// Sends a request and decodes either the expected object or a `Status` (as some deletes
    /// answer once the object is gone).
    pub fn request_status<T: DeserializeOwned>(
        &self,
        req: Request<Vec<u8>>,
    ) -> impl Future<Output = Result<either::Either<T, Status>, Error>> + Send + 'static {
        let this = self.clone();
        async move {
            let path = uri_path(req.uri());
            let (bytes, format) = this.request_body(req).await?;
            let options = DecodeOptions::default();
            #[cfg(feature = "protobuf")]
            if format == Format::Protobuf {
                let env = kube_core::protobuf::Envelope::parse(&bytes)
                    .map_err(|e| decode::protobuf_error(&path, &e, Some(bytes.len())))?;
                if env.kind == "Status" {
                    return decode_as(&bytes, format, &path, options).map(either::Either::Right);
                }
                return decode_as(&bytes, format, &path, options).map(either::Either::Left);
            }
            // Only the kind is read first (the rest is skipped, not built), then the body is
            // decoded once into what it is.
            #[derive(serde::Deserialize)]
            struct Kind {
                kind: Option<String>,
            }
            let kind: Kind = decode_as(&bytes, format, &path, options)?;
            if kind.kind.as_deref() == Some("Status") {
                return decode_as(&bytes, format, &path, options).map(either::Either::Right);
            }
            decode_as(&bytes, format, &path, options).map(either::Either::Left)
        }
    }

    /// Sends a request and streams the body's bytes as they arrive.
    pub async fn request_stream(
        &self,
        req: Request<Vec<u8>>,
    ) -> Result<impl Stream<Item = Result<Bytes, Error>> + Send + use<>, Error> {
        let path = uri_path(req.uri());
        let resp = self.send_checked(uncompressed(req)).await?;
        Ok(body_stream(resp.into_body(), path))
    }

    /// Sends a request and streams the body's lines (without line endings) as they arrive.
    pub async fn request_lines(
        &self,
        req: Request<Vec<u8>>,
    ) -> Result<impl Stream<Item = Result<String, Error>> + Send + use<>, Error> {
        let path = uri_path(req.uri());
        let resp = self.send_checked(uncompressed(req)).await?;
        let lines = lines::Lines::new(body_stream(resp.into_body(), path.clone()), path.clone());
        Ok(lines.map(move |l| {
            l.and_then(|l| {
                String::from_utf8(l.to_vec())
                    .map_err(|e| Error::Decode { uri: path.clone(), source: e.into() })
            })
        }))
    }

    /// Sends a watch request and streams its events, decoded as `options` say. The stream ends
    /// when the server closes the watch (for example at its timeout); an `ERROR` event arrives as
    /// [`WatchEvent::Error`].
    pub fn request_events<K: DeserializeOwned + Send + 'static>(
        &self,
        req: Request<Vec<u8>>,
        options: DecodeOptions,
    ) -> impl Future<Output = Result<impl Stream<Item = Result<WatchEvent<K>, Error>> + Send + use<K>, Error>>
    + Send
    + 'static {
        let this = self.clone();
        async move {
            let path = uri_path(req.uri());
            let resp = this.send_checked(uncompressed(req)).await?;
            let format = Format::of_headers(resp.headers());
            let body = body_stream(resp.into_body(), path.clone());
            #[cfg(feature = "protobuf")]
            if format == Format::Protobuf {
                // Boxed: the JSON event stream is `Unpin`, and callers may rely on it.
                return Ok(watch::protobuf_events(body, path, options).boxed().left_stream());
            }
            #[cfg(feature = "protobuf")]
            return Ok(watch::events(body, path, options).right_stream());
            #[cfg(not(feature = "protobuf"))]
            {
                let _ = format;
                Ok(watch::events(body, path, options))
            }
        }
    }
}

/// Streams are read as they arrive: the API server writes compressed watch streams as a series
/// of gzip members, which one-shot decompression rejects, so streaming responses are not
/// compressed.
fn uncompressed(mut req: Request<Vec<u8>>) -> Request<Vec<u8>> {
    req.headers_mut()
        .entry(http::header::ACCEPT_ENCODING)
        .or_insert(http::HeaderValue::from_static("identity"));
    req
}

fn classify(e: BoxError, path: String) -> Error {
    if progress::is_timeout(&*e) {
        tracing::debug!(error = %e, source = ?e.source(), "request timed out");
        return Error::Timeout { uri: path };
    }
    match e.downcast::<crate::auth::Error>() {
        Ok(auth) => Error::Auth(*auth),
        Err(e) => Error::Transport { uri: path, source: e },
    }
}

fn body_stream(body: Body, path: String) -> impl Stream<Item = Result<Bytes, Error>> + Send {
    BodyStream::new(body)
        .try_filter_map(|frame| futures::future::ready(Ok(frame.into_data().ok())))
        .map_err(move |e| classify(e, path.clone()))
}

async fn collect(body: Body, path: String) -> Result<Bytes, Error> {
    body.collect().await.map(|c| c.to_bytes()).map_err(|e| classify(e, path))
}

/// The `Status` of a failed response: the server's own when the body is one, otherwise made
/// from the HTTP status and (the start of) the body.
async fn status_of(resp: Response<Body>, path: String) -> Status {
    let code = resp.status();
    let format = Format::of_headers(resp.headers());
    let mut body = resp.into_body();
    let mut bytes = Vec::new();
    // Read at most MAX_ERROR_BODY: an error body is small, garbage may not be.
    while bytes.len() < MAX_ERROR_BODY {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    bytes.extend_from_slice(data);
                }
            }
            _ => break,
        }
    }
    let status = match format {
        Format::Json => serde_json::from_slice::<Status>(&bytes).ok(),
        #[cfg(feature = "protobuf")]
        Format::Protobuf => kube_core::protobuf::from_envelope::<Status>(&bytes, Default::default()).ok(),
        #[cfg(not(feature = "protobuf"))]
        Format::Protobuf => None,
    };
    if let Some(mut status) = status
        && (status.code != 0 || !status.reason.is_empty() || !status.message.is_empty())
    {
        if status.code == 0 {
            status.code = code.as_u16();
        }
        return status;
    }
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).trim().to_string();
    let message = if text.is_empty() { format!("{path}: {code}") } else { format!("{path}: {text}") };
    Status::failure(code.as_u16(), reason_of(code), &message)
}

fn reason_of(code: StatusCode) -> &'static str {
    match code.as_u16() {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Gone",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}
