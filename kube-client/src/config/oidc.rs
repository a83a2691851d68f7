//! [`OidcAuth`]: the kubeconfig's `oidc` auth provider. The `id-token` is the bearer token; when
//! it expires it is renewed with the `refresh-token` at the issuer's token endpoint.
//!
//! How it behaves:
//!
//! - Expiry is read from the `exp` claim of the id-token (a JWT whose signature is not checked
//!   here: the API server checks it). A token counts as expired [`DEFAULT_EXPIRY_SKEW`] early.
//! - A missing or undecodable id-token is refreshed at once when there is a refresh-token, and
//!   used as it is otherwise (the API server decides).
//! - Refreshing reads `token_endpoint` from `{idp-issuer-url}/.well-known/openid-configuration`
//!   (once; cached), then POSTs `grant_type=refresh_token&refresh_token=...` to it with the
//!   client credentials in HTTP basic authentication (`client_secret_basic`, RFC 6749 §2.3.1;
//!   a client without a `client-secret` sends `client_id` in the form instead). The answer's
//!   `id_token` replaces the id-token and its `refresh_token`, when present, the refresh-token.
//!   `extra-scopes` are not sent: a refresh keeps the scopes of the original grant.
//! - The issuer is reached over HTTPS only, trusting `idp-certificate-authority(-data)` when set,
//!   else the system's roots, through the proxy the environment names (`HTTPS_PROXY`, ...).
//! - Concurrent callers share one refresh.
//! - Refreshed tokens are kept in memory only: the kubeconfig file is not rewritten. Read them
//!   with [`OidcAuth::id_token`] and [`OidcAuth::refresh_token`] to persist them yourself.
//!
//! Tokens and the client secret never appear in logs, `Debug` output or error messages.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

use super::error::{Error, PemError, Result};
use super::exec_cache::DEFAULT_EXPIRY_SKEW;
use super::secret::{SecretString, redact_opt};
use super::tls::parse_certificates;

/// How long one request to the issuer (discovery or token endpoint) may take, connecting included.
pub const OIDC_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The path of the discovery document under the issuer URL.
const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// The largest response body read from the issuer.
const MAX_RESPONSE_BODY: usize = 1024 * 1024;
/// At most this many characters of the issuer's `error_description` go into an error message.
const MAX_DESCRIPTION: usize = 512;

/// Settings of the `oidc` auth provider as read from the kubeconfig. Secrets are redacted in
/// `Debug` output.
///
/// The `id_token` and `refresh_token` here are the initial ones; [`OidcAuth`] keeps the current
/// ones.
#[derive(Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct OidcConfig {
    /// `idp-issuer-url`.
    pub issuer_url: Option<String>,
    /// `client-id`.
    pub client_id: Option<String>,
    /// `client-secret`.
    pub client_secret: Option<SecretString>,
    /// `id-token`: the bearer token.
    pub id_token: Option<SecretString>,
    /// `refresh-token`.
    pub refresh_token: Option<SecretString>,
    /// The issuer's CA from `idp-certificate-authority-data` (base64) or the
    /// `idp-certificate-authority` file.
    pub issuer_ca: Option<Vec<u8>>,
    /// `extra-scopes`, split on commas.
    pub extra_scopes: Vec<String>,
}

impl fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &redact_opt(&self.client_secret))
            .field("id_token", &redact_opt(&self.id_token))
            .field("refresh_token", &redact_opt(&self.refresh_token))
            .field("issuer_ca", &self.issuer_ca.as_ref().map(Vec::len))
            .field("extra_scopes", &self.extra_scopes)
            .finish()
    }
}

/// Why an OIDC id-token could not be had. Carried by [`Error::Oidc`], which names the issuer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// A refresh is needed but `idp-issuer-url` is not set.
    #[error("idp-issuer-url is not set")]
    MissingIssuerUrl,
    /// A refresh is needed but `client-id` is not set.
    #[error("client-id is not set")]
    MissingClientId,
    /// The id-token has expired and cannot be renewed.
    #[error("the id-token has expired and there is no refresh-token to renew it")]
    Expired,
    /// Neither an id-token nor a refresh-token is configured.
    #[error("there is no id-token and no refresh-token to get one")]
    NoToken,
    /// The issuer URL or the token endpoint is not a usable HTTPS URL.
    #[error("invalid {what} {url:?}: {reason}")]
    InvalidUrl {
        /// `idp-issuer-url` or `token_endpoint`.
        what: &'static str,
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// `idp-certificate-authority(-data)` does not hold a certificate.
    #[error("invalid idp-certificate-authority: {0}")]
    IssuerCa(#[source] PemError),
    /// TLS to the issuer could not be set up.
    #[error("failed to set up tls for the issuer: {0}")]
    Tls(String),
    /// The issuer could not be reached or the connection broke.
    #[error("request to {url} failed: {reason}")]
    Request {
        /// The URL requested.
        url: String,
        /// The cause, with its chain of causes.
        reason: String,
    },
    /// The issuer did not answer in time.
    #[error("request to {url} timed out after {}s", timeout.as_secs())]
    Timeout {
        /// The URL requested.
        url: String,
        /// The time allowed.
        timeout: Duration,
    },
    /// The issuer answered with an error status; OAuth errors carry `error` and
    /// `error_description`.
    #[error("{url} answered {status}{}", oauth_suffix(error.as_deref(), description.as_deref()))]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: StatusCode,
        /// The OAuth `error` code, e.g. `invalid_grant`.
        error: Option<String>,
        /// The OAuth `error_description`.
        description: Option<String>,
    },
    /// The answer is not the expected JSON.
    #[error("failed to decode the response of {url}: {source}")]
    Decode {
        /// The URL requested.
        url: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The discovery document names no token endpoint.
    #[error("the discovery document {url} has no token_endpoint")]
    NoTokenEndpoint {
        /// The discovery document's URL.
        url: String,
    },
    /// The token endpoint answered without an `id_token`.
    #[error("the response of the token endpoint {url} has no id_token")]
    NoIdToken {
        /// The token endpoint.
        url: String,
    },
}

fn oauth_suffix(error: Option<&str>, description: Option<&str>) -> String {
    match (error, description) {
        (Some(e), Some(d)) => format!(": {e}: {d}"),
        (Some(s), None) | (None, Some(s)) => format!(": {s}"),
        (None, None) => String::new(),
    }
}

/// The current tokens.
#[derive(Clone)]
struct Tokens {
    id_token: Option<SecretString>,
    refresh_token: Option<SecretString>,
    /// Set by [`OidcAuth::invalidate`]: refresh even if `exp` says the token is valid.
    stale: bool,
    /// The issuer handed out this id-token: use it even if its expiry cannot be read.
    from_issuer: bool,
}

/// What to do with the current tokens.
enum Decision {
    Use(SecretString),
    Refresh,
    Fail(OidcError),
}

type IssuerClient =
    HyperClient<hyper_rustls::HttpsConnector<crate::client::connector::ProxyConnector>, Full<Bytes>>;

/// State only a refresh touches, behind an async lock so concurrent callers share one refresh.
#[derive(Default)]
struct RefreshState {
    client: Option<IssuerClient>,
    token_endpoint: Option<String>,
}

/// The `oidc` auth provider: hands out a valid id-token, refreshing it at the issuer as needed.
///
/// Cloning an [`Auth::Oidc`](super::Auth::Oidc) shares one `OidcAuth`. `Debug` shows no secret.
///
/// ```
/// use kube_client::config::{OidcAuth, OidcConfig};
///
/// let mut config = OidcConfig::default();
/// config.id_token = Some("opaque-token".into());
/// let oidc = OidcAuth::new(config);
/// // no refresh-token: an id-token whose expiry cannot be read is used as it is
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// assert_eq!(oidc.token().await?.expose(), "opaque-token");
/// # Ok::<(), kube_client::config::Error>(()) }).unwrap();
/// ```
pub struct OidcAuth {
    config: OidcConfig,
    skew: Duration,
    timeout: Duration,
    tokens: Mutex<Tokens>,
    refresh: tokio::sync::Mutex<RefreshState>,
}

impl OidcAuth {
    /// The provider for `config`, starting from its id-token and refresh-token.
    pub fn new(config: OidcConfig) -> Self {
        let tokens = Tokens {
            id_token: config.id_token.clone().filter(|t| !t.is_empty()),
            refresh_token: config.refresh_token.clone().filter(|t| !t.is_empty()),
            stale: false,
            from_issuer: false,
        };
        OidcAuth {
            config,
            skew: DEFAULT_EXPIRY_SKEW,
            timeout: OIDC_REQUEST_TIMEOUT,
            tokens: Mutex::new(tokens),
            refresh: tokio::sync::Mutex::new(RefreshState::default()),
        }
    }

    /// Treats id-tokens as expired this long before their `exp` instead of
    /// [`DEFAULT_EXPIRY_SKEW`].
    #[must_use]
    pub fn with_expiry_skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// Allows each request to the issuer this long instead of [`OIDC_REQUEST_TIMEOUT`].
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The settings read from the kubeconfig (with the initial tokens).
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// The current id-token, as it is: neither checked nor refreshed.
    pub fn id_token(&self) -> Option<SecretString> {
        self.lock_tokens().id_token.clone()
    }

    /// The current refresh-token (the issuer may have replaced the configured one).
    pub fn refresh_token(&self) -> Option<SecretString> {
        self.lock_tokens().refresh_token.clone()
    }

    /// Whether there is a refresh-token to renew the id-token with.
    pub fn can_refresh(&self) -> bool {
        self.lock_tokens().refresh_token.is_some()
    }

    /// Marks the current id-token as rejected, so the next [`OidcAuth::token`] refreshes it
    /// (when there is a refresh-token).
    pub fn invalidate(&self) {
        self.lock_tokens().stale = true;
    }

    /// A valid id-token: the current one, or a new one from the issuer when it has expired.
    pub async fn token(&self) -> Result<SecretString> {
        self.token_at(SystemTime::now()).await
    }

    /// [`OidcAuth::token`] with an explicit clock (for deciding expiry only).
    pub async fn token_at(&self, now: SystemTime) -> Result<SecretString> {
        match self.decide(now) {
            Decision::Use(token) => return Ok(token),
            Decision::Fail(e) => return Err(self.error(e)),
            Decision::Refresh => {}
        }
        let mut state = self.refresh.lock().await;
        // Another caller may have refreshed while this one waited for the lock.
        match self.decide(now) {
            Decision::Use(token) => Ok(token),
            Decision::Fail(e) => Err(self.error(e)),
            Decision::Refresh => self.refresh_locked(&mut state).await,
        }
    }

    /// A new id-token after the API server rejected `rejected` (a 401).
    ///
    /// Refreshes unless another caller already replaced `rejected`; then gives the current
    /// token, so many requests rejected at once cause one refresh.
    pub async fn refresh_rejected(&self, rejected: &SecretString) -> Result<SecretString> {
        let mut state = self.refresh.lock().await;
        if let Some(current) = self.lock_tokens().id_token.clone().filter(|t| t != rejected) {
            return Ok(current);
        }
        self.refresh_locked(&mut state).await
    }

    fn lock_tokens(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn decide(&self, now: SystemTime) -> Decision {
        let tokens = self.lock_tokens();
        let can_refresh = tokens.refresh_token.is_some();
        let Some(id_token) = &tokens.id_token else {
            return if can_refresh { Decision::Refresh } else { Decision::Fail(OidcError::NoToken) };
        };
        if tokens.stale {
            // nothing better to offer without a refresh-token
            return if can_refresh { Decision::Refresh } else { Decision::Use(id_token.clone()) };
        }
        match jwt_expiry(id_token.expose()) {
            Some(exp) if exp.checked_sub(self.skew).is_some_and(|limit| now < limit) => {
                Decision::Use(id_token.clone())
            }
            Some(_) if can_refresh => Decision::Refresh,
            Some(_) => Decision::Fail(OidcError::Expired),
            None if can_refresh && !tokens.from_issuer => Decision::Refresh,
            None => Decision::Use(id_token.clone()),
        }
    }

    fn issuer_name(&self) -> String {
        self.config.issuer_url.clone().unwrap_or_else(|| "(none)".to_owned())
    }

    fn error(&self, source: OidcError) -> Error {
        Error::Oidc { issuer: self.issuer_name(), source: Box::new(source) }
    }

    /// Refreshes; the caller holds the refresh lock (`state`).
    async fn refresh_locked(&self, state: &mut RefreshState) -> Result<SecretString> {
        let result = self.try_refresh(state).await;
        if result.is_err() {
            // The issuer may have moved its endpoint; look it up again next time.
            state.token_endpoint = None;
        }
        result.map_err(|e| self.error(e))
    }

    async fn try_refresh(&self, state: &mut RefreshState) -> Result<SecretString, OidcError> {
        let issuer =
            self.config.issuer_url.as_deref().filter(|u| !u.is_empty()).ok_or(OidcError::MissingIssuerUrl)?;
        let client_id =
            self.config.client_id.as_deref().filter(|c| !c.is_empty()).ok_or(OidcError::MissingClientId)?;
        let refresh_token = self.lock_tokens().refresh_token.clone().ok_or(OidcError::Expired)?;
        let issuer = https_url("idp-issuer-url", issuer)?;

        let client = match &state.client {
            Some(client) => client.clone(),
            None => {
                let client = issuer_client(self.config.issuer_ca.as_deref(), self.timeout)?;
                state.client = Some(client.clone());
                client
            }
        };
        let endpoint = match &state.token_endpoint {
            Some(endpoint) => endpoint.clone(),
            None => {
                let endpoint = self.discover(&client, &issuer).await?;
                state.token_endpoint = Some(endpoint.clone());
                endpoint
            }
        };

        tracing::debug!(issuer = %issuer, "refreshing the oidc id-token");
        let answer = self.request_token(&client, &endpoint, client_id, &refresh_token).await?;
        let id_token = answer
            .id_token
            .filter(|t| !t.is_empty())
            .map(SecretString::from)
            .ok_or_else(|| OidcError::NoIdToken { url: endpoint.clone() })?;
        let expiry_known = jwt_expiry(id_token.expose()).is_some();
        if !expiry_known {
            tracing::debug!(issuer = %issuer, "the refreshed id-token has no readable exp; using it until rejected");
        }
        let mut tokens = self.lock_tokens();
        tokens.id_token = Some(id_token.clone());
        if let Some(new_refresh) = answer.refresh_token.filter(|t| !t.is_empty()) {
            tokens.refresh_token = Some(SecretString::from(new_refresh));
        }
        tokens.stale = false;
        tokens.from_issuer = true;
        tracing::debug!(issuer = %issuer, "refreshed the oidc id-token");
        Ok(id_token)
    }

    /// Reads `token_endpoint` from the issuer's discovery document.
    async fn discover(&self, client: &IssuerClient, issuer: &str) -> Result<String, OidcError> {
        #[derive(Deserialize)]
        struct Discovery {
            token_endpoint: Option<String>,
        }
        let url = format!("{}{DISCOVERY_PATH}", issuer.trim_end_matches('/'));
        let req = Request::builder()
            .method(Method::GET)
            .uri(&url)
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|e| OidcError::InvalidUrl {
                what: "idp-issuer-url",
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let (status, body) = self.send(client, req, &url).await?;
        if !status.is_success() {
            return Err(status_error(&url, status, &body));
        }
        let doc: Discovery =
            serde_json::from_slice(&body).map_err(|source| OidcError::Decode { url: url.clone(), source })?;
        let endpoint =
            doc.token_endpoint.filter(|e| !e.is_empty()).ok_or(OidcError::NoTokenEndpoint { url })?;
        https_url("token_endpoint", &endpoint)
    }

    /// POSTs the refresh grant to the token endpoint.
    async fn request_token(
        &self,
        client: &IssuerClient,
        endpoint: &str,
        client_id: &str,
        refresh_token: &SecretString,
    ) -> Result<TokenAnswer, OidcError> {
        let secret = self.config.client_secret.as_ref().filter(|s| !s.is_empty());
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", refresh_token.expose());
            if secret.is_none() {
                // a public client identifies itself in the form
                form.append_pair("client_id", client_id);
            }
            form.finish()
        };
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(endpoint)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(secret) = secret {
            // RFC 6749 §2.3.1: both parts form-encoded, then joined and base64-encoded.
            let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let raw = format!("{}:{}", encode(client_id), encode(secret.expose()));
            let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw));
            let mut value = http::HeaderValue::try_from(basic).map_err(|e| OidcError::Request {
                url: endpoint.to_owned(),
                reason: format!("the client credentials do not fit in a header: {e}"),
            })?;
            value.set_sensitive(true);
            req = req.header(header::AUTHORIZATION, value);
        }
        let req = req.body(Full::new(Bytes::from(body))).map_err(|e| OidcError::InvalidUrl {
            what: "token_endpoint",
            url: endpoint.to_owned(),
            reason: e.to_string(),
        })?;
        let (status, body) = self.send(client, req, endpoint).await?;
        if !status.is_success() {
            return Err(status_error(endpoint, status, &body));
        }
        serde_json::from_slice(&body).map_err(|source| OidcError::Decode { url: endpoint.to_owned(), source })
    }

    async fn send(
        &self,
        client: &IssuerClient,
        req: Request<Full<Bytes>>,
        url: &str,
    ) -> Result<(StatusCode, Bytes), OidcError> {
        let exchange = async {
            let resp = client
                .request(req)
                .await
                .map_err(|e| OidcError::Request { url: url.to_owned(), reason: error_chain(&e) })?;
            let status = resp.status();
            let body = Limited::new(resp.into_body(), MAX_RESPONSE_BODY)
                .collect()
                .await
                .map_err(|e| OidcError::Request { url: url.to_owned(), reason: error_chain(&*e) })?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| OidcError::Timeout { url: url.to_owned(), timeout: self.timeout })?
    }
}

impl fmt::Debug for OidcAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tokens = self.lock_tokens();
        f.debug_struct("OidcAuth")
            .field("config", &self.config)
            .field("id_token", &redact_opt(&tokens.id_token))
            .field("refresh_token", &redact_opt(&tokens.refresh_token))
            .field("skew", &self.skew)
            .finish_non_exhaustive()
    }
}

/// The successful answer of the token endpoint. No `Debug`: it holds tokens.
#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    refresh_token: Option<String>,
}

/// The OAuth error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
}

fn status_error(url: &str, status: StatusCode, body: &[u8]) -> OidcError {
    let (error, description) = match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) => (e.error, e.error_description.map(|d| d.chars().take(MAX_DESCRIPTION).collect())),
        Err(_) => (None, None),
    };
    OidcError::Status { url: url.to_owned(), status, error, description }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        cur = s.source();
    }
    out
}

/// Checks that `url` is an absolute `https://` URL.
fn https_url(what: &'static str, url: &str) -> Result<String, OidcError> {
    let invalid = |reason: String| OidcError::InvalidUrl { what, url: url.to_owned(), reason };
    let uri = url.parse::<http::Uri>().map_err(|e| invalid(e.to_string()))?;
    if uri.authority().is_none() {
        return Err(invalid("not an absolute URL".into()));
    }
    if uri.scheme_str() != Some("https") {
        return Err(invalid("only https is allowed".into()));
    }
    Ok(url.to_owned())
}

/// The HTTPS client for the issuer: HTTP/1.1 over rustls (ring), trusting `ca` when given,
/// else the system's roots.
fn issuer_client(ca: Option<&[u8]>, timeout: Duration) -> Result<IssuerClient, OidcError> {
    let roots = match ca {
        Some(pem) => parse_certificates(pem).map_err(OidcError::IssuerCa)?,
        None => Vec::new(),
    };
    let roots = crate::client::tls::root_store(&roots).map_err(|e| OidcError::Tls(e.to_string()))?;
    let tls = rustls::ClientConfig::builder_with_provider(crate::client::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| OidcError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let proxy = crate::client::connector::ProxyConnector::new(None, Some(timeout))
        .map_err(|e| OidcError::Tls(e.to_string()))?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .wrap_connector(proxy);
    Ok(HyperClient::builder(TokioExecutor::new()).build(https))
}

/// The `exp` claim of a JWT, read without checking its signature; `None` when the token is not
/// a JWT or has no numeric `exp`.
fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    let exp = claims.get("exp")?.as_f64()?;
    if !exp.is_finite() || exp < 0.0 {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(exp).ok()?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::Arc;

    /// A JWT (unsigned: the signature part is junk) with the given `exp`.
    pub(crate) fn jwt(exp: Option<u64>, subject: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let claims = match exp {
            Some(exp) => serde_json::json!({"sub": subject, "exp": exp}),
            None => serde_json::json!({"sub": subject}),
        };
        format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(&claims.to_string()))
    }

    fn unix_now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    /// A JWT valid for an hour.
    pub(crate) fn fresh_jwt(subject: &str) -> String {
        jwt(Some(unix_now() + 3600), subject)
    }

    /// A JWT that expired a minute ago.
    pub(crate) fn expired_jwt(subject: &str) -> String {
        jwt(Some(unix_now() - 60), subject)
    }

    /// One request the test issuer's token endpoint got.
    #[derive(Clone, Debug)]
    pub(crate) struct TokenRequest {
        pub(crate) authorization: Option<String>,
        pub(crate) content_type: Option<String>,
        pub(crate) form: Vec<(String, String)>,
    }

    impl TokenRequest {
        pub(crate) fn get(&self, key: &str) -> Option<&str> {
            self.form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
        }
    }

    type Handler = dyn Fn(&TokenRequest) -> (u16, String) + Send + Sync;

    #[derive(Default)]
    struct Seen {
        discovery: usize,
        token: Vec<TokenRequest>,
    }

    /// A small OIDC issuer on 127.0.0.1 over HTTPS (its own CA), serving the discovery
    /// document and a token endpoint answered by a handler. One thread per connection.
    pub(crate) struct TestIssuer {
        pub(crate) url: String,
        pub(crate) ca_pem: String,
        seen: Arc<Mutex<Seen>>,
    }

    impl TestIssuer {
        pub(crate) fn start(
            handler: impl Fn(&TokenRequest) -> (u16, String) + Send + Sync + 'static,
        ) -> Self {
            use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
            let ca_key = KeyPair::generate().unwrap();
            let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
            ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let ca_cert = ca_params.self_signed(&ca_key).unwrap();
            let issuer = Issuer::new(ca_params, ca_key);
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
                .unwrap()
                .signed_by(&key, &issuer)
                .unwrap();
            let server = rustls::ServerConfig::builder_with_provider(crate::client::tls::provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(
                    vec![cert.der().clone()],
                    rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
                )
                .unwrap();
            let server = Arc::new(server);

            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("https://{}", listener.local_addr().unwrap());
            let seen = Arc::new(Mutex::new(Seen::default()));
            let handler: Arc<Handler> = Arc::new(handler);
            let (thread_url, thread_seen) = (url.clone(), seen.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { return };
                    let (server, url, seen, handler) =
                        (server.clone(), thread_url.clone(), thread_seen.clone(), handler.clone());
                    std::thread::spawn(move || {
                        let conn = rustls::ServerConnection::new(server).unwrap();
                        let mut tls = rustls::StreamOwned::new(conn, stream);
                        // a client that gives up mid-handshake is not a test failure
                        let _ = serve_one(&mut tls, &url, &seen, &*handler);
                    });
                }
            });
            TestIssuer { url, ca_pem: ca_cert.pem(), seen }
        }

        pub(crate) fn token_requests(&self) -> Vec<TokenRequest> {
            self.seen.lock().unwrap().token.clone()
        }

        pub(crate) fn discovery_requests(&self) -> usize {
            self.seen.lock().unwrap().discovery
        }

        /// Settings for a client `kube` with secret `s3cret` of this issuer.
        pub(crate) fn config(&self, id_token: Option<&str>, refresh_token: Option<&str>) -> OidcConfig {
            OidcConfig {
                issuer_url: Some(self.url.clone()),
                client_id: Some("kube".into()),
                client_secret: Some("s3cret".into()),
                id_token: id_token.map(SecretString::from),
                refresh_token: refresh_token.map(SecretString::from),
                issuer_ca: Some(self.ca_pem.clone().into_bytes()),
                extra_scopes: vec!["groups".into()],
            }
        }
    }

    fn serve_one(
        tls: &mut rustls::StreamOwned<rustls::ServerConnection, std::net::TcpStream>,
        url: &str,
        seen: &Mutex<Seen>,
        handler: &Handler,
    ) -> std::io::Result<()> {
        let mut reader = BufReader::new(&mut *tls);
        let mut request_line = String::new();
        reader.read_line(&mut request_line)?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let length = header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0usize);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;

        let path = request_line.split_whitespace().nth(1).unwrap_or("");
        let (status, answer) = if request_line.starts_with("GET ") && path == DISCOVERY_PATH {
            seen.lock().unwrap().discovery += 1;
            (200, serde_json::json!({"issuer": url, "token_endpoint": format!("{url}/token")}).to_string())
        } else if request_line.starts_with("POST ") && path == "/token" {
            let request = TokenRequest {
                authorization: header("authorization"),
                content_type: header("content-type"),
                form: form_urlencoded::parse(&body).into_owned().collect(),
            };
            seen.lock().unwrap().token.push(request.clone());
            handler(&request)
        } else {
            (404, "{}".to_owned())
        };
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            answer.len()
        );
        tls.write_all(head.as_bytes())?;
        tls.write_all(answer.as_bytes())?;
        tls.conn.send_close_notify();
        tls.flush()
    }

    /// A handler that answers with a fresh id-token `id-<n>` and refresh-token `rt-<n>`.
    pub(crate) fn rotating_handler() -> impl Fn(&TokenRequest) -> (u16, String) + Send + Sync + 'static {
        let count = std::sync::atomic::AtomicUsize::new(0);
        move |_req| {
            let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 2;
            let body = serde_json::json!({
                "access_token": "unused",
                "token_type": "Bearer",
                "id_token": fresh_jwt(&format!("id-{n}")),
                "refresh_token": format!("rt-{n}"),
            });
            (200, body.to_string())
        }
    }

    fn subject(token: &SecretString) -> String {
        let payload = token.expose().split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap(),
        )
        .unwrap();
        claims["sub"].as_str().unwrap().to_owned()
    }

    #[test]
    fn jwt_expiry_is_read_from_the_payload() {
        assert_eq!(
            jwt_expiry(&jwt(Some(2_000_000_000), "a")),
            Some(UNIX_EPOCH + Duration::from_secs(2_000_000_000))
        );
        assert_eq!(jwt_expiry(&jwt(Some(1), "a")), Some(UNIX_EPOCH + Duration::from_secs(1)));
        // padded base64 and fractional exp are tolerated
        let padded =
            format!("e30.{}.x", base64::engine::general_purpose::URL_SAFE.encode(r#"{"exp": 1700000000.5}"#));
        assert_eq!(jwt_expiry(&padded), Some(UNIX_EPOCH + Duration::from_secs_f64(1_700_000_000.5)));
        for garbage in [
            "opaque",
            "a.b",
            "a.b.c.d",
            "e30.!!!.x",
            "e30.bm90IGpzb24.x", // "not json"
            &jwt(None, "no-exp"),
            &format!(
                "e30.{}.x",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"exp":"soon"}"#)
            ),
            &format!("e30.{}.x", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"exp":-5}"#)),
        ] {
            assert_eq!(jwt_expiry(garbage), None, "{garbage}");
        }
    }

    fn config(id_token: Option<&str>, refresh_token: Option<&str>) -> OidcConfig {
        OidcConfig {
            id_token: id_token.map(SecretString::from),
            refresh_token: refresh_token.map(SecretString::from),
            ..OidcConfig::default()
        }
    }

    #[tokio::test]
    async fn valid_expired_and_garbage_tokens_without_refresh() {
        // valid: used without asking anyone (no issuer is configured)
        let valid = fresh_jwt("valid");
        let oidc = OidcAuth::new(config(Some(&valid), None));
        assert_eq!(oidc.token().await.unwrap().expose(), valid);

        // within the skew of its expiry: expired
        let soon = jwt(Some(unix_now() + 5), "soon");
        let err = OidcAuth::new(config(Some(&soon), None)).token().await.unwrap_err();
        assert!(
            matches!(&err, Error::Oidc { source, .. } if matches!(**source, OidcError::Expired)),
            "{err}"
        );
        let no_skew = OidcAuth::new(config(Some(&soon), None)).with_expiry_skew(Duration::ZERO);
        assert_eq!(no_skew.token().await.unwrap().expose(), soon);

        // expired, no refresh-token
        let err = OidcAuth::new(config(Some(&expired_jwt("old")), None)).token().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to get an oidc id-token from issuer \"(none)\": the id-token has expired and there is no \
             refresh-token to renew it"
        );
        // explicit clock
        let at = OidcAuth::new(config(Some(&jwt(Some(1000), "x")), None));
        assert!(at.token_at(UNIX_EPOCH + Duration::from_secs(900)).await.is_ok());
        assert!(at.token_at(UNIX_EPOCH + Duration::from_secs(995)).await.is_err());

        // undecodable, no refresh-token: used as it is
        let opaque = OidcAuth::new(config(Some("opaque"), None));
        assert_eq!(opaque.token().await.unwrap().expose(), "opaque");
        opaque.invalidate();
        assert_eq!(opaque.token().await.unwrap().expose(), "opaque");

        // nothing at all
        let err = OidcAuth::new(config(None, None)).token().await.unwrap_err();
        assert!(err.to_string().contains("no id-token and no refresh-token"), "{err}");
        // empty strings count as absent
        assert!(!OidcAuth::new(config(Some(""), Some(""))).can_refresh());
    }

    #[tokio::test]
    async fn a_refresh_needs_issuer_and_client_id() {
        let oidc = OidcAuth::new(config(Some(&expired_jwt("old")), Some("rt")));
        let err = oidc.token().await.unwrap_err();
        assert!(err.to_string().ends_with("idp-issuer-url is not set"), "{err}");

        let mut cfg = config(None, Some("rt"));
        cfg.issuer_url = Some("http://issuer.example".into());
        cfg.client_id = Some("kube".into());
        let err = OidcAuth::new(cfg.clone()).token().await.unwrap_err();
        assert!(
            err.to_string().contains("invalid idp-issuer-url \"http://issuer.example\": only https"),
            "{err}"
        );
        cfg.client_id = None;
        let err = OidcAuth::new(cfg).token().await.unwrap_err();
        assert!(err.to_string().ends_with("client-id is not set"), "{err}");
    }

    #[tokio::test]
    async fn expired_id_token_is_refreshed_before_use() {
        let issuer = TestIssuer::start(rotating_handler());
        let old = expired_jwt("id-1");
        let oidc = OidcAuth::new(issuer.config(Some(&old), Some("rt-1")));

        let token = oidc.token().await.unwrap();
        assert_eq!(subject(&token), "id-2");
        assert_eq!(oidc.id_token().unwrap(), token);
        assert_eq!(
            oidc.refresh_token().unwrap().expose(),
            "rt-2",
            "the new refresh-token replaces the old one"
        );

        let requests = issuer.token_requests();
        assert_eq!(requests.len(), 1);
        let req = &requests[0];
        assert_eq!(req.get("grant_type"), Some("refresh_token"));
        assert_eq!(req.get("refresh_token"), Some("rt-1"));
        assert_eq!(req.get("client_id"), None, "the client authenticates with basic auth");
        assert_eq!(req.get("scope"), None);
        let basic = base64::engine::general_purpose::STANDARD.encode("kube:s3cret");
        assert_eq!(req.authorization.as_deref(), Some(format!("Basic {basic}").as_str()));
        assert_eq!(req.content_type.as_deref(), Some("application/x-www-form-urlencoded"));

        // valid now: no more requests
        assert_eq!(oidc.token().await.unwrap(), token);
        assert_eq!(issuer.token_requests().len(), 1);
        assert_eq!(issuer.discovery_requests(), 1);

        // invalidated: refreshed with the new refresh-token; discovery is cached
        oidc.invalidate();
        assert_eq!(subject(&oidc.token().await.unwrap()), "id-3");
        assert_eq!(issuer.token_requests()[1].get("refresh_token"), Some("rt-2"));
        assert_eq!(oidc.refresh_token().unwrap().expose(), "rt-3");
        assert_eq!(issuer.discovery_requests(), 1);
    }

    #[tokio::test]
    async fn missing_or_undecodable_id_token_with_refresh_token_refreshes_now() {
        let issuer = TestIssuer::start(rotating_handler());
        let oidc = OidcAuth::new(issuer.config(None, Some("rt-1")));
        assert_eq!(subject(&oidc.token().await.unwrap()), "id-2");
        let oidc = OidcAuth::new(issuer.config(Some("opaque"), Some("rt-1")));
        assert_eq!(subject(&oidc.token().await.unwrap()), "id-3");
        assert_eq!(issuer.token_requests().len(), 2);
    }

    #[tokio::test]
    async fn opaque_refreshed_token_and_kept_refresh_token() {
        // the issuer gives an id-token without exp and no new refresh-token
        let issuer = TestIssuer::start(|_| (200, r#"{"id_token": "opaque-new"}"#.to_owned()));
        let oidc = OidcAuth::new(issuer.config(Some(&expired_jwt("old")), Some("rt-1")));
        assert_eq!(oidc.token().await.unwrap().expose(), "opaque-new");
        // used until rejected, not refreshed on every call
        assert_eq!(oidc.token().await.unwrap().expose(), "opaque-new");
        assert_eq!(issuer.token_requests().len(), 1);
        assert_eq!(oidc.refresh_token().unwrap().expose(), "rt-1", "kept when the issuer sends none");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_callers_share_one_refresh() {
        let handler = rotating_handler();
        let issuer = TestIssuer::start(move |req| {
            std::thread::sleep(Duration::from_millis(300));
            handler(req)
        });
        let oidc = Arc::new(OidcAuth::new(issuer.config(Some(&expired_jwt("id-1")), Some("rt-1"))));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let oidc = oidc.clone();
                tokio::spawn(async move { oidc.token().await.unwrap() })
            })
            .collect();
        for task in tasks {
            assert_eq!(subject(&task.await.unwrap()), "id-2");
        }
        assert_eq!(issuer.token_requests().len(), 1);
        assert_eq!(issuer.discovery_requests(), 1);
    }

    #[tokio::test]
    async fn refresh_after_rejection_happens_once() {
        let issuer = TestIssuer::start(rotating_handler());
        let first = fresh_jwt("id-1");
        let oidc = OidcAuth::new(issuer.config(Some(&first), Some("rt-1")));
        let rejected = oidc.token().await.unwrap();
        assert_eq!(issuer.token_requests().len(), 0);
        let new = oidc.refresh_rejected(&rejected).await.unwrap();
        assert_eq!(subject(&new), "id-2");
        // a second request rejected with the old token gets the new one without a refresh
        assert_eq!(oidc.refresh_rejected(&rejected).await.unwrap(), new);
        assert_eq!(issuer.token_requests().len(), 1);
    }

    #[tokio::test]
    async fn failing_token_endpoint_is_a_clear_error() {
        let issuer = TestIssuer::start(|_| {
            (400, r#"{"error": "invalid_grant", "error_description": "refresh token revoked"}"#.to_owned())
        });
        let oidc = OidcAuth::new(issuer.config(Some(&expired_jwt("old")), Some("rt-secret-1")));
        let err = oidc.token().await.unwrap_err();
        let msg = err.to_string();
        assert_eq!(
            msg,
            format!(
                "failed to get an oidc id-token from issuer {:?}: {}/token answered 400 Bad Request: \
                 invalid_grant: refresh token revoked",
                issuer.url, issuer.url
            )
        );
        for secret in ["rt-secret-1", "s3cret"] {
            assert!(
                !msg.contains(secret) && !format!("{err:?}").contains(secret),
                "{secret} leaked: {err:?}"
            );
        }
        let Error::Oidc { source, .. } = &err else { panic!("{err:?}") };
        assert!(
            matches!(&**source, OidcError::Status { error: Some(e), .. } if e == "invalid_grant"),
            "{source:?}"
        );
        // the token is unchanged, and the next call tries again (rediscovering the endpoint)
        assert!(oidc.token().await.is_err());
        assert_eq!(issuer.token_requests().len(), 2);
        assert_eq!(issuer.discovery_requests(), 2);
        assert_eq!(oidc.refresh_token().unwrap().expose(), "rt-secret-1");
    }

    #[tokio::test]
    async fn answer_without_id_token_is_an_error() {
        let issuer =
            TestIssuer::start(|_| (200, r#"{"access_token": "a", "refresh_token": "r"}"#.to_owned()));
        let oidc = OidcAuth::new(issuer.config(None, Some("rt-1")));
        let err = oidc.token().await.unwrap_err();
        assert!(
            err.to_string().ends_with(&format!(
                "the response of the token endpoint {}/token has no id_token",
                issuer.url
            )),
            "{err}"
        );
        assert_eq!(oidc.refresh_token().unwrap().expose(), "rt-1", "nothing is replaced on failure");

        let issuer = TestIssuer::start(|_| (200, "not json".to_owned()));
        let err = OidcAuth::new(issuer.config(None, Some("rt-1"))).token().await.unwrap_err();
        assert!(err.to_string().contains("failed to decode the response of"), "{err}");
    }

    #[tokio::test]
    async fn public_client_sends_client_id_in_the_form() {
        let issuer = TestIssuer::start(rotating_handler());
        let mut cfg = issuer.config(None, Some("rt-1"));
        cfg.client_secret = None;
        OidcAuth::new(cfg).token().await.unwrap();
        let req = &issuer.token_requests()[0];
        assert_eq!(req.get("client_id"), Some("kube"));
        assert_eq!(req.authorization, None);
    }

    #[tokio::test]
    async fn unreachable_or_untrusted_issuer() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("https://127.0.0.1:{port}");
        let mut cfg = config(None, Some("rt-1"));
        cfg.issuer_url = Some(url.clone());
        cfg.client_id = Some("kube".into());
        let err = OidcAuth::new(cfg).with_request_timeout(Duration::from_secs(5)).token().await.unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!(
                "failed to get an oidc id-token from issuer {url:?}: request to {url}/.well-known/openid-configuration failed"
            )),
            "{msg}"
        );

        // the issuer's CA is not given: the system roots do not trust it
        let issuer = TestIssuer::start(rotating_handler());
        let mut cfg = issuer.config(None, Some("rt-1"));
        cfg.issuer_ca = None;
        let err = OidcAuth::new(cfg).token().await.unwrap_err();
        assert!(err.to_string().to_lowercase().contains("certificate"), "{err}");
        // a CA that is not a certificate
        let mut cfg = issuer.config(None, Some("rt-1"));
        cfg.issuer_ca = Some(b"junk".to_vec());
        let err = OidcAuth::new(cfg).token().await.unwrap_err();
        assert!(err.to_string().contains("invalid idp-certificate-authority"), "{err}");
        assert!(issuer.token_requests().is_empty());
    }

    #[test]
    fn debug_shows_no_secret() {
        let oidc = OidcAuth::new(OidcConfig {
            issuer_url: Some("https://issuer".into()),
            client_id: Some("kube".into()),
            client_secret: Some("client-secret".into()),
            id_token: Some("id-secret".into()),
            refresh_token: Some("refresh-secret".into()),
            ..OidcConfig::default()
        });
        let debug = format!("{oidc:?}");
        for secret in ["client-secret", "id-secret", "refresh-secret"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains("https://issuer") && debug.contains("kube"), "{debug}");
    }
}
