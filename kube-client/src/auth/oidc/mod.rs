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

mod error;
mod issuer;
mod jwt;
#[cfg(test)]
pub(crate) mod test_issuer;
mod tokens;

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

pub use error::OidcError;
use issuer::{Issuer, https_url};
use jwt::jwt_expiry;
use tokens::{Decision, Tokens};

use super::error::{Error, Result};
use super::exec_cache::DEFAULT_EXPIRY_SKEW;
use crate::config::{SecretString, redact_opt};

/// How long one request to the issuer (discovery or token endpoint) may take, connecting included.
pub const OIDC_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

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

/// State only a refresh touches, behind an async lock so concurrent callers share one refresh.
#[derive(Default)]
struct RefreshState {
    issuer: Option<Issuer>,
    token_endpoint: Option<String>,
}

/// The `oidc` auth provider: hands out a valid id-token, refreshing it at the issuer as needed.
///
/// Cloning an [`Auth::Oidc`](super::Auth::Oidc) shares one `OidcAuth`. `Debug` shows no secret.
///
/// ```
/// use kube_client::auth::{OidcAuth, OidcConfig};
///
/// let mut config = OidcConfig::default();
/// config.id_token = Some("opaque-token".into());
/// let oidc = OidcAuth::new(config);
/// // no refresh-token: an id-token whose expiry cannot be read is used as it is
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// assert_eq!(oidc.token().await?.expose(), "opaque-token");
/// # Ok::<(), kube_client::auth::Error>(()) }).unwrap();
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
        let tokens = Tokens::new(&config);
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
        self.lock_tokens().decide(now, self.skew)
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

        let client = match &state.issuer {
            Some(client) => client.clone(),
            None => {
                let client = Issuer::new(self.config.issuer_ca.as_deref(), self.timeout)?;
                state.issuer = Some(client.clone());
                client
            }
        };
        let endpoint = match &state.token_endpoint {
            Some(endpoint) => endpoint.clone(),
            None => {
                let endpoint = client.token_endpoint(&issuer).await?;
                state.token_endpoint = Some(endpoint.clone());
                endpoint
            }
        };

        tracing::debug!(issuer = %issuer, "refreshing the oidc id-token");
        let secret = self.config.client_secret.as_ref().filter(|s| !s.is_empty());
        let answer = client.refresh(&endpoint, client_id, secret, &refresh_token).await?;
        let id_token = answer
            .id_token
            .filter(|t| !t.is_empty())
            .map(SecretString::from)
            .ok_or_else(|| OidcError::NoIdToken { url: endpoint.clone() })?;
        if jwt_expiry(id_token.expose()).is_none() {
            tracing::debug!(issuer = %issuer, "the refreshed id-token has no readable exp; using it until rejected");
        }
        let new_refresh = answer.refresh_token.filter(|t| !t.is_empty()).map(SecretString::from);
        self.lock_tokens().refreshed(id_token.clone(), new_refresh);
        tracing::debug!(issuer = %issuer, "refreshed the oidc id-token");
        Ok(id_token)
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

#[cfg(test)]
mod tests {
    use super::test_issuer::{TestIssuer, expired_jwt, fresh_jwt, jwt, rotating_handler, unix_now};
    use super::*;
    use base64::Engine as _;
    use std::sync::Arc;
    use std::time::UNIX_EPOCH;

    fn subject(token: &SecretString) -> String {
        let payload = token.expose().split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap(),
        )
        .unwrap();
        claims["sub"].as_str().unwrap().to_owned()
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
