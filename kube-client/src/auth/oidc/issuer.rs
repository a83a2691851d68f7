//! The OIDC issuer seen over HTTPS: its discovery document and the refresh grant at its token
//! endpoint. The connection is made with the client's own TLS configuration and connector.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

use super::OidcError;
use crate::client::{connector::ProxyConnector, tls};
use crate::config::{SecretString, certificates_from_pem};

/// The path of the discovery document under the issuer URL.
pub(super) const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// The largest response body read from the issuer.
const MAX_RESPONSE_BODY: usize = 1024 * 1024;
/// At most this many characters of the issuer's `error_description` go into an error message.
const MAX_DESCRIPTION: usize = 512;

type HttpClient = HyperClient<hyper_rustls::HttpsConnector<ProxyConnector>, Full<Bytes>>;

/// An HTTPS client for one issuer: HTTP/1.1, trusting the issuer's CA when given (else the
/// system's roots), through the proxy the environment names, each exchange bounded in time.
#[derive(Clone)]
pub(super) struct Issuer {
    client: HttpClient,
    timeout: Duration,
}

/// The successful answer of the token endpoint. No `Debug`: it holds tokens.
#[derive(Deserialize)]
pub(super) struct TokenAnswer {
    pub(super) id_token: Option<String>,
    pub(super) refresh_token: Option<String>,
}

/// The OAuth error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
}

impl Issuer {
    /// A client trusting `ca` (PEM) when given; each request may take `timeout`.
    pub(super) fn new(ca: Option<&[u8]>, timeout: Duration) -> Result<Self, OidcError> {
        let roots = match ca {
            Some(pem) => certificates_from_pem(pem).map_err(OidcError::IssuerCa)?,
            None => Vec::new(),
        };
        let tls = tls::client_config(&roots, false, None).map_err(OidcError::Tls)?;
        let proxy = ProxyConnector::new(None, Some(timeout)).map_err(OidcError::Proxy)?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .wrap_connector(proxy);
        Ok(Issuer { client: HyperClient::builder(TokioExecutor::new()).build(https), timeout })
    }

    /// Reads `token_endpoint` from the discovery document of the issuer at `issuer`.
    pub(super) async fn token_endpoint(&self, issuer: &str) -> Result<String, OidcError> {
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
        let (status, body) = self.send(req, &url).await?;
        if !status.is_success() {
            return Err(status_error(&url, status, &body));
        }
        let doc: Discovery =
            serde_json::from_slice(&body).map_err(|source| OidcError::Decode { url: url.clone(), source })?;
        let endpoint =
            doc.token_endpoint.filter(|e| !e.is_empty()).ok_or(OidcError::NoTokenEndpoint { url })?;
        https_url("token_endpoint", &endpoint)
    }

    /// POSTs the refresh grant to the token endpoint: the client credentials in HTTP basic
    /// authentication, or `client_id` in the form for a client without a secret.
    pub(super) async fn refresh(
        &self,
        endpoint: &str,
        client_id: &str,
        client_secret: Option<&SecretString>,
        refresh_token: &SecretString,
    ) -> Result<TokenAnswer, OidcError> {
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", refresh_token.expose());
            if client_secret.is_none() {
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
        if let Some(secret) = client_secret {
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
        let (status, body) = self.send(req, endpoint).await?;
        if !status.is_success() {
            return Err(status_error(endpoint, status, &body));
        }
        serde_json::from_slice(&body).map_err(|source| OidcError::Decode { url: endpoint.to_owned(), source })
    }

    async fn send(&self, req: Request<Full<Bytes>>, url: &str) -> Result<(StatusCode, Bytes), OidcError> {
        let exchange = async {
            let resp = self
                .client
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
pub(super) fn https_url(what: &'static str, url: &str) -> Result<String, OidcError> {
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
