//! The error of exec, attach and port-forward sessions: which pod, container and stage failed.

use std::time::Duration;

use kube_core::Status;

use crate::error::BoxError;

/// What a session was for: the action, the Pod and the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `exec`, `attach` or `port-forward`.
    pub action: &'static str,
    /// The Pod's namespace (empty for an `Api` over all namespaces).
    pub namespace: String,
    /// The Pod's name.
    pub pod: String,
    /// The container, when one was named.
    pub container: Option<String>,
    /// The Pod ports, for port-forward.
    pub ports: Vec<u16>,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ", self.action)?;
        if !self.ports.is_empty() {
            let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
            write!(f, "of port {} ", ports.join(","))?;
        }
        if let Some(c) = &self.container {
            write!(f, "in container {c} ")?;
        }
        if self.namespace.is_empty() {
            write!(f, "of pod {}", self.pod)
        } else {
            write!(f, "of pod {}/{}", self.namespace, self.pod)
        }
    }
}

/// Why an exec, attach or port-forward session failed, with the [`Target`] and the stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be built or sent (invalid parameters, transport, authentication).
    #[error("{target}: the upgrade request failed: {source}")]
    Request {
        /// What the session was for.
        target: Box<Target>,
        /// The cause.
        #[source]
        source: crate::Error,
    },

    /// The server answered with an error instead of upgrading: the Pod or container does not
    /// exist, the Pod has no node, access is forbidden, the node cannot be reached...
    #[error("{target}: the api server refused the upgrade: {} ({})", status.message, status.code)]
    Refused {
        /// What the session was for.
        target: Box<Target>,
        /// The server's `Status`.
        status: Box<Status>,
    },

    /// The upgrade did not complete within its timeout.
    #[error("{target}: the upgrade did not complete within {timeout:?}")]
    UpgradeTimeout {
        /// What the session was for.
        target: Box<Target>,
        /// The timeout that passed.
        timeout: Duration,
    },

    /// The server switched protocols but not to a WebSocket with a subprotocol spoken here.
    #[error("{target}: protocol mismatch: {detail}")]
    Protocol {
        /// What the session was for.
        target: Box<Target>,
        /// What was wrong.
        detail: String,
    },

    /// The remote side reported a failure other than a non-zero exit (the command could not be
    /// started, the container is not running...).
    #[error("{target}: the remote side failed: {}", status.message)]
    Remote {
        /// What the session was for.
        target: Box<Target>,
        /// The `Status` from the error channel.
        status: Box<Status>,
    },

    /// A forwarded port could not be reached in the Pod.
    #[error("{target}: port {port}: {message}")]
    PortForward {
        /// What the session was for.
        target: Box<Target>,
        /// The Pod port.
        port: u16,
        /// The message from the remote side.
        message: String,
    },

    /// The WebSocket broke, or closed before the session's outcome was known.
    #[error("{target}: the connection was lost: {source}")]
    ConnectionLost {
        /// What the session was for.
        target: Box<Target>,
        /// The cause.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// What the session was for.
    pub fn target(&self) -> &Target {
        match self {
            Error::Request { target, .. }
            | Error::Refused { target, .. }
            | Error::UpgradeTimeout { target, .. }
            | Error::Protocol { target, .. }
            | Error::Remote { target, .. }
            | Error::PortForward { target, .. }
            | Error::ConnectionLost { target, .. } => target,
        }
    }

    /// The server's `Status`, when the failure came with one.
    pub fn status(&self) -> Option<&Status> {
        match self {
            Error::Refused { status, .. } | Error::Remote { status, .. } => Some(status),
            Error::Request { source: crate::Error::Api(status), .. } => Some(status),
            _ => None,
        }
    }
}

impl From<Error> for crate::Error {
    fn from(e: Error) -> Self {
        crate::Error::Remote(Box::new(e))
    }
}
