//! The client's error: API failures carry the server's `Status`; transport, TLS, authentication
//! and decoding failures are separate variants that keep their cause.

use kube_core::Status;

/// A boxed error from a lower layer.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong between building a request and decoding its response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API server answered with a failure `Status` (404, 409, 410, 403, 401, 422, ...).
    #[error("api error: {0}")]
    Api(Box<Status>),

    /// The request could not be built (invalid parameters or names); nothing was sent.
    #[error("failed to build the request: {0}")]
    BuildRequest(#[from] kube_core::Error),

    /// The connection failed or broke (refused, reset, closed early, a proxy failure).
    #[error("transport error talking to {uri}: {source}")]
    Transport {
        /// The request's URI path, without the query.
        uri: String,
        /// The cause.
        #[source]
        source: BoxError,
    },

    /// The request did not get a response within the configured timeout.
    #[error("request to {uri} timed out")]
    Timeout {
        /// The request's URI path, without the query.
        uri: String,
    },

    /// A setting cannot be used (a cluster URL without a host, a bad proxy URL, a header value
    /// that is not valid in HTTP).
    #[error("invalid client configuration: {0}")]
    InvalidConfig(#[from] SettingError),

    /// TLS could not be set up (bad certificate, key or CA).
    #[error("tls error: {0}")]
    Tls(#[from] TlsError),

    /// Credentials could not be obtained or refreshed (exec plugin, token file, OIDC).
    #[error("authentication error: {0}")]
    Auth(#[from] crate::auth::Error),

    /// The configuration could not be loaded or is incomplete.
    #[error("configuration error: {0}")]
    Config(#[from] crate::config::Error),

    /// The blocking task that loads the configuration (see
    /// [`Client::try_default`](crate::Client::try_default)) panicked or was cancelled.
    #[error("the configuration task failed: {0}")]
    ConfigTask(#[source] tokio::task::JoinError),

    /// The response body was not what was expected.
    #[error("failed to decode the response from {uri}: {source}")]
    Decode {
        /// The request's URI path, without the query.
        uri: String,
        /// The cause.
        #[source]
        source: BoxError,
    },

    /// An exec, attach or port-forward session failed.
    #[error(transparent)]
    Remote(Box<crate::api::remote::Error>),

    /// A single line of a watch or line stream exceeded the limit.
    #[error("a line of the response from {uri} is longer than {limit} bytes")]
    LineTooLong {
        /// The request's URI path.
        uri: String,
        /// The limit in bytes.
        limit: usize,
    },
}

/// A client setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingError {
    /// The cluster URL has no scheme or no host.
    #[error("cluster url {url} needs a scheme and a host")]
    ClusterUrl {
        /// The URL.
        url: String,
    },

    /// The proxy URL cannot be used.
    #[error("{0}")]
    Proxy(#[source] crate::client::ProxyError),

    /// The `User-Agent` is not a valid header value.
    #[error("invalid user agent: {0}")]
    UserAgent(#[source] http::header::InvalidHeaderValue),

    /// An impersonated user, uid, group or extra value is not a valid header value.
    #[error("invalid impersonation value {value:?}: {source}")]
    ImpersonationValue {
        /// The value.
        value: String,
        /// Why it is not a valid header value.
        #[source]
        source: http::header::InvalidHeaderValue,
    },

    /// An impersonation extra key does not make a valid header name.
    #[error("invalid impersonation extra key {key:?}: {source}")]
    ImpersonationExtraKey {
        /// The key.
        key: String,
        /// Why it does not make a valid header name.
        #[source]
        source: http::header::InvalidHeaderName,
    },
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The client certificate or key is not usable (or they do not match).
    #[error("invalid client certificate or key: {0}")]
    ClientCertificate(#[source] rustls::Error),

    /// The crypto provider supports none of the TLS versions asked for.
    #[error("failed to select tls versions: {0}")]
    ProtocolVersions(#[source] rustls::Error),

    /// A certificate authority cannot be used as a trust anchor.
    #[error("invalid certificate authority (certificate {number}): {source}")]
    CertificateAuthority {
        /// Which certificate of the bundle, counting from 1.
        number: usize,
        /// What rustls found wrong.
        #[source]
        source: rustls::Error,
    },

    /// The `tls-server-name` is not a DNS name or an IP address.
    #[error("invalid tls-server-name {name:?}: {source}")]
    ServerName {
        /// The name.
        name: String,
        /// Why it is not a server name.
        #[source]
        source: rustls::pki_types::InvalidDnsNameError,
    },
}

impl Error {
    /// The API `Status`, when the server answered with one.
    pub fn status(&self) -> Option<&Status> {
        match self {
            Self::Api(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the server answered 404 Not Found.
    pub fn is_not_found(&self) -> bool {
        self.status().is_some_and(Status::is_not_found)
    }

    /// Whether the server answered 409 (already exists or conflict).
    pub fn is_conflict(&self) -> bool {
        self.status().is_some_and(|s| s.is_conflict() || s.is_already_exists())
    }

    /// Whether the server answered 410 Gone / Expired.
    pub fn is_gone(&self) -> bool {
        self.status().is_some_and(Status::is_gone)
    }
}

/// The path of a URI without its query, for error messages (queries may be long).
pub(crate) fn uri_path(uri: &http::Uri) -> String {
    uri.path().to_string()
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;
    use crate::{Client, Config, client::ClientBuilder};

    #[test]
    fn setting_and_tls_failures_keep_their_cause() {
        let err = Client::new(
            crate::client::HttpService::new(tower::service_fn(|_| async {
                Err::<http::Response<crate::client::Body>, BoxError>("unused".into())
            })),
            &"/no-host".parse().unwrap(),
            "default",
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig(SettingError::ClusterUrl { .. })), "{err:?}");
        assert_eq!(
            err.to_string(),
            "invalid client configuration: cluster url /no-host needs a scheme and a host"
        );

        let mut config = Config::new("https://127.0.0.1:6443".parse().unwrap());
        config.tls_server_name = Some("not a name!".into());
        let err = ClientBuilder::new(config.clone()).build().unwrap_err();
        assert!(
            matches!(&err, Error::Tls(TlsError::ServerName { name, .. }) if name == "not a name!"),
            "{err:?}"
        );
        let cause = err.source().and_then(|tls| tls.source()).unwrap();
        assert!(cause.is::<rustls::pki_types::InvalidDnsNameError>(), "{cause:?}");

        config.tls_server_name = None;
        config.impersonation.groups = vec!["bad\nvalue".into()];
        let err = ClientBuilder::new(config).build().unwrap_err();
        let Error::InvalidConfig(SettingError::ImpersonationValue { value, source }) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(value, "bad\nvalue");
        assert_eq!(source.to_string(), "failed to parse header value");
    }
}
