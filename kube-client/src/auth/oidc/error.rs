//! Why an OIDC id-token could not be had: [`OidcError`].

use std::time::Duration;

use http::StatusCode;

use crate::config::PemError;

/// Why an OIDC id-token could not be had. Carried by
/// [`auth::Error::Oidc`](crate::auth::Error::Oidc), which names the issuer.
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
    Tls(#[source] crate::error::TlsError),
    /// The connection to the issuer cannot go through the proxy the environment names.
    #[error("{0}")]
    Proxy(#[source] crate::client::ProxyError),
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
