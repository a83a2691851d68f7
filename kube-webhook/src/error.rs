//! The errors of setting up and running a webhook server.

use std::{net::SocketAddr, path::PathBuf};

/// What can go wrong starting a webhook server or loading its certificates.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address could not be bound.
    #[error("failed to bind the webhook server to {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The listening socket failed.
    #[error("webhook server socket error: {0}")]
    Accept(#[source] std::io::Error),
    /// A certificate, key or CA file could not be read.
    #[error("failed to read the webhook {what} {path}: {source}")]
    Read {
        /// `certificate`, `key` or `client CA`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A certificate, key or CA file is not valid PEM, or holds nothing usable.
    #[error("invalid webhook {what} {path}: {reason}")]
    Pem {
        /// `certificate`, `key` or `client CA`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// rustls rejected the configuration (a key that does not match the certificate, a CA it
    /// cannot use).
    #[error("invalid webhook tls configuration ({context}): {source}")]
    Tls {
        /// What was being set up.
        context: String,
        /// The cause.
        #[source]
        source: rustls::Error,
    },
    /// The client CA could not be turned into a verifier.
    #[error("invalid webhook client CA {path}: {source}")]
    ClientCa {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rustls::server::VerifierBuilderError,
    },
}
