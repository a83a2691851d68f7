//! Assembling the client: TLS, connector, connection pool and the tower stack, from a [`Config`].

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, header::USER_AGENT};
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client as HyperClient, rt::TokioExecutor};
use tower::{ServiceBuilder, util::BoxCloneSyncService};

use super::{
    Client, HttpService,
    auth::AuthLayer,
    connector::ProxyConnector,
    headers::{self, HeadersLayer},
    rate_limit::{RateLimitLayer, RateLimiter},
    retry::{RetryLayer, RetryPolicy},
    tls,
};
use crate::{Config, Error, config::Auth, error::BoxError};

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
        }
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
    pub fn build(self) -> Result<Client, Error> {
        let config = self.config;
        let identity = match (&config.identity, &config.auth) {
            (Some(id), _) => Some(id.clone().into_parts()),
            // An exec plugin may hand out the client certificate.
            (None, Auth::Exec(exec)) => exec.credential()?.identity.map(|id| id.into_parts()),
            _ => None,
        };
        let tls = tls::client_config(&config.root_certs, config.accept_invalid_certs, identity)?;
        let proxy = ProxyConnector::new(config.proxy_url.as_ref(), config.connect_timeout)
            .map_err(|e| Error::Tls(e.to_string()))?;
        let https = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http();
        let https = match &config.tls_server_name {
            Some(name) => {
                let name = rustls::pki_types::ServerName::try_from(name.clone())
                    .map_err(|e| Error::Tls(format!("invalid tls-server-name {name:?}: {e}")))?;
                https.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name))
            }
            None => https,
        };
        let https = https.enable_all_versions().wrap_connector(proxy);
        let hyper = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .http2_keep_alive_interval(Some(Duration::from_secs(30)))
            .http2_keep_alive_while_idle(true)
            .timer(hyper_util::rt::TokioTimer::new())
            .build::<_, Full<Bytes>>(https);

        let transport = tower::service_fn(move |req: Request<Bytes>| {
            let fut = hyper.request(req.map(Full::new));
            async move {
                let resp = fut.await.map_err(BoxError::from)?;
                Ok::<_, BoxError>(resp)
            }
        });
        let decompress = tower_http::decompression::DecompressionLayer::new()
            .gzip(!config.disable_compression)
            .no_deflate()
            .no_br()
            .no_zstd();

        let mut fixed = HeaderMap::new();
        fixed.insert(
            USER_AGENT,
            HeaderValue::try_from(&self.user_agent)
                .map_err(|e| Error::Tls(format!("invalid user agent: {e}")))?,
        );
        fixed.extend(headers::impersonation_headers(&config.impersonation)?);

        let core = ServiceBuilder::new()
            .layer(HeadersLayer::new(fixed))
            .layer(AuthLayer::new(config.auth.clone()))
            .option_layer(config.read_timeout.map(tower::timeout::TimeoutLayer::new))
            .map_response(|resp: Response<_>| {
                resp.map(|b: Decompressed| b.map_err(BoxError::from).boxed_unsync())
            })
            .layer(decompress)
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
        Client::new(service, &config.cluster_url, &config.default_namespace)
    }
}

type Decompressed = tower_http::decompression::DecompressionBody<hyper::body::Incoming>;

impl TryFrom<Config> for Client {
    type Error = Error;

    /// A client with the default transport options (see [`ClientBuilder`]).
    fn try_from(config: Config) -> Result<Self, Error> {
        ClientBuilder::new(config).build()
    }
}
