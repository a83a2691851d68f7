//! Assembling the client: TLS, connector, connection pool and the tower stack, from a [`Config`].

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, header::USER_AGENT};
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client as HyperClient, rt::TokioExecutor};
use tower::{ServiceBuilder, util::BoxCloneSyncService};

use super::{
    Client, HttpService,
    connector::{HttpsConnector, ProxyConnector},
    headers::{self, HeadersLayer},
    pool::{Counted, DEFAULT_HTTP2_MAX_STREAMS_PER_CONNECTION, Pool},
    progress::{ProgressBody, ProgressLayer, ProgressTimeouts},
    rate_limit::{RateLimitLayer, RateLimiter},
    retry::{RetryLayer, RetryPolicy},
    tls::{self, RotatingClientCert},
};
use crate::{
    Config, Error,
    auth::{Auth, layer::AuthLayer},
    error::{BoxError, SettingError, TlsError},
};

/// The default interval of HTTP/2 keepalive pings: a ping is sent after this long without any
/// frame from the server (client-go's `ReadIdleTimeout`).
pub const DEFAULT_HTTP2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// The default time an HTTP/2 keepalive ping may go unanswered before the connection, and every
/// request and watch on it, fails (client-go's `PingTimeout`). A dead connection is noticed
/// within interval + timeout: 45 s by default.
pub const DEFAULT_HTTP2_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(15);
/// Builds a [`Client`] from a [`Config`] with the transport's options: retries, a client-side
/// rate limit, the `User-Agent`.
///
/// ```no_run
/// # fn run(config: kube_client::Config) -> Result<(), kube_client::Error> {
/// use kube_client::client::{ClientBuilder, retry::RetryPolicy};
/// let client = ClientBuilder::new(config)
///     .rate_limit(20.0, 40)
///     .retry_policy(RetryPolicy { max_retries: 3, ..RetryPolicy::default() })
///     .user_agent("my-operator/1.0")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    config: Config,
    retry: RetryPolicy,
    rate_limit: Option<(f64, u32)>,
    user_agent: String,
    pool_idle_timeout: Duration,
    keepalive: Option<(Duration, Duration)>,
    http2_max_streams: usize,
}

impl ClientBuilder {
    /// A builder with retries on, no client-side rate limit and the default `User-Agent`.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            retry: RetryPolicy::default(),
            rate_limit: None,
            user_agent: headers::USER_AGENT.to_string(),
            pool_idle_timeout: Duration::from_secs(90),
            keepalive: Some((DEFAULT_HTTP2_KEEPALIVE_INTERVAL, DEFAULT_HTTP2_KEEPALIVE_TIMEOUT)),
            http2_max_streams: DEFAULT_HTTP2_MAX_STREAMS_PER_CONNECTION,
        }
    }

    /// Sets HTTP/2 keepalive: after `interval` without a frame from the server a ping is sent,
    /// and when it is not answered within `timeout` the connection is closed, failing its
    /// requests and watches. `None` turns pings off. Defaults:
    /// [`DEFAULT_HTTP2_KEEPALIVE_INTERVAL`] and [`DEFAULT_HTTP2_KEEPALIVE_TIMEOUT`].
    ///
    /// Idle pooled connections are pinged too, so a dead one is dropped before it is reused.
    #[must_use]
    pub fn http2_keepalive(mut self, keepalive: Option<(Duration, Duration)>) -> Self {
        self.keepalive = keepalive;
        self
    }

    /// Sets how many requests (watches included) one HTTP/2 connection carries at once; past
    /// that, the client opens another connection. Default:
    /// [`DEFAULT_HTTP2_MAX_STREAMS_PER_CONNECTION`], the kube-apiserver's own limit. Raise it to
    /// match a server started with a higher `--http2-max-streams-per-connection`, to use fewer
    /// connections; set above the server's limit, requests past it wait for a free stream.
    #[must_use]
    pub fn http2_max_streams_per_connection(mut self, max: usize) -> Self {
        self.http2_max_streams = max.max(1);
        self
    }

    /// Sets when requests are retried.
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Limits requests to `qps` per second with bursts of `burst` (client-go's default is 5/10).
    #[must_use]
    pub fn rate_limit(mut self, qps: f64, burst: u32) -> Self {
        self.rate_limit = Some((qps, burst));
        self
    }

    /// Sets the `User-Agent`.
    #[must_use]
    pub fn user_agent(mut self, user_agent: &str) -> Self {
        self.user_agent = user_agent.to_string();
        self
    }

    /// Builds the client. Needs a tokio runtime only when requests are sent.
    ///
    /// Does not run an exec plugin: its credential, token or client certificate, is fetched
    /// before the first request and again whenever it expires. When the plugin hands out a new
    /// client certificate, new connections present it and pooled connections made with the old
    /// one are no longer used (requests already running on them, e.g. watches, go on until they
    /// end). A client certificate in [`Config::identity`] takes precedence over the plugin's.
    pub fn build(self) -> Result<Client, Error> {
        let config = self.config;
        // An exec plugin may hand out the client certificate, and replace it when it expires.
        let rotating = match (&config.identity, &config.auth) {
            (None, Auth::Exec(_)) => Some(Arc::new(RotatingClientCert::new())),
            _ => None,
        };
        let tls = match (&config.identity, &rotating) {
            (Some(id), _) => tls::client_config(
                &config.root_certs,
                config.accept_invalid_certs,
                Some(id.clone().into_parts()),
            )?,
            (None, Some(cert)) => tls::client_config_with_cert_resolver(
                &config.root_certs,
                config.accept_invalid_certs,
                cert.clone(),
            )?,
            (None, None) => tls::client_config(&config.root_certs, config.accept_invalid_certs, None)?,
        };
        let proxy = ProxyConnector::new(config.proxy_url.as_ref(), config.connect_timeout)
            .map_err(SettingError::Proxy)?;
        let server_name = match &config.tls_server_name {
            Some(name) => Some(
                rustls::pki_types::ServerName::try_from(name.clone())
                    .map_err(|source| TlsError::ServerName { name: name.clone(), source })?,
            ),
            None => None,
        };
        let https = HttpsConnector::new(proxy, tls, server_name, config.tls_handshake_timeout);
        let mut hyper = HyperClient::builder(TokioExecutor::new());
        hyper.pool_idle_timeout(self.pool_idle_timeout).timer(hyper_util::rt::TokioTimer::new());
        if let Some((interval, timeout)) = self.keepalive {
            hyper
                .http2_keep_alive_interval(Some(interval))
                .http2_keep_alive_timeout(timeout)
                .http2_keep_alive_while_idle(true);
        }
        // Upgrades (exec, attach, port-forward) need HTTP/1.1: their own connections, which
        // are never pooled (an upgraded connection belongs to its session).
        let mut upgrade_hyper = HyperClient::builder(TokioExecutor::new());
        upgrade_hyper.pool_max_idle_per_host(0).timer(hyper_util::rt::TokioTimer::new());
        let upgrade_pool = Pool::upgrades(upgrade_hyper, https.http1_only(), rotating.as_ref());
        let pool = Pool::new(hyper, https, rotating.as_ref(), self.http2_max_streams);

        let transport = tower::service_fn(move |req: Request<Bytes>| pool.request(req.map(Full::new)));
        let decompress = tower_http::decompression::DecompressionLayer::new()
            .gzip(!config.disable_compression)
            .no_deflate()
            .no_br()
            .no_zstd();

        let mut fixed = HeaderMap::new();
        fixed.insert(USER_AGENT, HeaderValue::try_from(&self.user_agent).map_err(SettingError::UserAgent)?);
        fixed.extend(headers::impersonation_headers(&config.impersonation)?);

        let auth = match rotating {
            Some(cert) => AuthLayer::new(config.auth.clone()).with_client_cert(cert),
            None => AuthLayer::new(config.auth.clone()),
        };
        let upgrade_transport = tower::service_fn(move |req: Request<Bytes>| {
            let fut = upgrade_pool.request(req.map(Full::new));
            async move { Ok::<_, BoxError>(fut.await?.map(|b| b.map_err(BoxError::from).boxed_unsync())) }
        });
        let upgrade: HttpService = BoxCloneSyncService::new(
            ServiceBuilder::new()
                .layer(HeadersLayer::new(fixed.clone()))
                .layer(auth.clone())
                .service(upgrade_transport),
        );
        let core = ServiceBuilder::new()
            .layer(HeadersLayer::new(fixed))
            .layer(auth)
            .option_layer(config.read_timeout.map(tower::timeout::TimeoutLayer::new))
            .map_response(|resp: Response<_>| {
                resp.map(|b: Decompressed| b.map_err(BoxError::from).boxed_unsync())
            })
            .layer(decompress)
            .layer(ProgressLayer::new(ProgressTimeouts {
                body: config.progress_timeout,
                watch: config.watch_progress_timeout,
            }))
            .service(transport);
        let service: HttpService = match self.rate_limit {
            Some((qps, burst)) => BoxCloneSyncService::new(
                ServiceBuilder::new()
                    .layer(RetryLayer::new(self.retry))
                    .layer(RateLimitLayer::new(RateLimiter::new(qps, burst)))
                    .service(core),
            ),
            None => BoxCloneSyncService::new(
                ServiceBuilder::new().layer(RetryLayer::new(self.retry)).service(core),
            ),
        };
        Ok(Client::new(service, &config.cluster_url, &config.default_namespace)?
            .with_upgrade_service(upgrade)
            .with_protobuf(config.protobuf))
    }
}

type Decompressed =
    tower_http::decompression::DecompressionBody<ProgressBody<Counted<hyper::body::Incoming>>>;

impl TryFrom<Config> for Client {
    type Error = Error;

    /// A client with the default transport options (see [`ClientBuilder`]).
    fn try_from(config: Config) -> Result<Self, Error> {
        ClientBuilder::new(config).build()
    }
}
