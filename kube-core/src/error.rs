//! The error of building a request: invalid parameters, bad names, bodies that do not serialize.

/// Why a request could not be built. Nothing was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A parameter, or a combination of parameters, the API server would reject.
    #[error("invalid {param}: {reason}")]
    InvalidParams {
        /// The parameter concerned, such as `resourceVersionMatch`.
        param: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An object name (or subresource name) that cannot be used in a URL path.
    #[error("invalid {what} {name:?}: {reason}")]
    InvalidName {
        /// `name` or `subresource`.
        what: &'static str,
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A label or field selector that does not parse.
    #[error("invalid {which} selector: {source}")]
    Selector {
        /// `label` or `field`.
        which: &'static str,
        /// The parse error.
        #[source]
        source: crate::selector::ParseError,
    },
    /// A request body that could not be serialized to JSON.
    #[error("failed to serialize the request body: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The `http` crate rejected the request (for example a header value).
    #[error("failed to build the http request: {0}")]
    Http(#[source] http::Error),
}

pub(crate) fn invalid(param: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidParams { param, reason: reason.into() }
}
