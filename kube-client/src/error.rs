//! The client's error: API failures carry the server's `Status`; transport, TLS, authentication
//! and decoding failures are separate variants that keep their cause.

use kube_core::Status;

/// A boxed error from a lower layer.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong between building a request and decoding its response.
#[derive(Debug, thiserror::Error)]
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
    InvalidConfig(String),

    /// TLS could not be set up (bad certificate, key or CA).
    #[error("tls error: {0}")]
    Tls(String),

    /// Credentials could not be obtained or refreshed (exec plugin, token file, OIDC).
    #[error("authentication error: {0}")]
    Auth(#[source] BoxError),

    /// The configuration could not be loaded or is incomplete.
    #[error("configuration error: {0}")]
    Config(#[from] crate::config::Error),

    /// The response body was not what was expected.
    #[error("failed to decode the response from {uri}: {source}")]
    Decode {
        /// The request's URI path, without the query.
        uri: String,
        /// The cause.
        #[source]
        source: BoxError,
    },

    /// A single line of a watch or line stream exceeded the limit.
    #[error("a line of the response from {uri} is longer than {limit} bytes")]
    LineTooLong {
        /// The request's URI path.
        uri: String,
        /// The limit in bytes.
        limit: usize,
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
