//! The one error type of this crate.

use std::{io, path::PathBuf, sync::Arc, time::Duration};

/// Everything that can go wrong while starting, using or stopping a [`TestEnv`](crate::TestEnv).
///
/// Messages are lower-case and name what was being done; the underlying cause is kept as the
/// error's [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A control-plane binary was not found in any of the searched places.
    #[error(
        "control-plane binary `{name}` not found; tried {}; run `just control-plane` to build kube-apiserver, etcd and kubectl, or point TEST_ASSET_{} or KUBEBUILDER_ASSETS at them",
        display_paths(tried),
        name.to_uppercase().replace('-', "_")
    )]
    BinaryNotFound {
        /// The binary's file name, e.g. `kube-apiserver`.
        name: &'static str,
        /// Every path that was looked at, in order.
        tried: Vec<PathBuf>,
    },

    /// An explicitly configured binary (`TEST_ASSET_*` or `KUBEBUILDER_ASSETS`) is not usable.
    #[error("{var} points at `{}`, which {reason}", path.display())]
    InvalidBinaryPath {
        /// The environment variable, e.g. `TEST_ASSET_ETCD`.
        var: String,
        /// The path it leads to.
        path: PathBuf,
        /// What is wrong with it, e.g. "does not exist".
        reason: &'static str,
    },

    /// A file-system operation failed.
    #[error("failed to {action} `{}`", path.display())]
    Io {
        /// What was being done, e.g. "write the token file".
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// No free loopback port could be reserved.
    #[error("failed to reserve a free port on 127.0.0.1")]
    FreePort(#[source] io::Error),

    /// Generating a key or certificate failed.
    #[error("failed to generate {what}")]
    Certificate {
        /// Which key or certificate.
        what: String,
        /// The underlying error.
        #[source]
        source: rcgen::Error,
    },

    /// Setting up TLS for the built-in HTTPS client failed.
    #[error("failed to set up TLS for {context}")]
    Tls {
        /// What the TLS configuration was for.
        context: String,
        /// The underlying error.
        #[source]
        source: rustls::Error,
    },

    /// Parsing a PEM certificate or key failed.
    #[error("failed to parse the PEM {what}")]
    Pem {
        /// What was being parsed.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: rustls_pki_types::pem::Error,
    },

    /// A process could not be started.
    #[error("failed to spawn {name} (`{}`)", program.display())]
    Spawn {
        /// Which server or tool, e.g. "etcd".
        name: String,
        /// The program that was run.
        program: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A server process exited while it was expected to run.
    #[error("{name} exited unexpectedly ({status}); last lines of {}:\n{tail}", describe_log(log))]
    ExitedEarly {
        /// Which server, e.g. "kube-apiserver".
        name: String,
        /// How it exited.
        status: String,
        /// Its log file.
        log: PathBuf,
        /// The last lines of its log file.
        tail: String,
    },

    /// A port reserved for a server was taken by another process before the server bound it.
    #[error("{name} could not use port {port} on 127.0.0.1, which another process took: {detail}")]
    PortConflict {
        /// Which server, e.g. "etcd".
        name: String,
        /// The port.
        port: u16,
        /// What was observed, possibly with the tail of the server's log.
        detail: String,
    },

    /// Something did not happen within its time limit.
    #[error("timed out after {waited:?} waiting for {what}{}", if detail.is_empty() { String::new() } else { format!("; {detail}") })]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long was waited.
        waited: Duration,
        /// The last observed state, or the tail of a log.
        detail: String,
    },

    /// An HTTP(S) request could not be carried out.
    #[error("{method} {url} failed")]
    Request {
        /// The HTTP method.
        method: String,
        /// The full URL.
        url: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A response had a status code that was not expected.
    #[error("{method} {path} returned HTTP {status}: {body}")]
    UnexpectedStatus {
        /// The HTTP method.
        method: String,
        /// The request path.
        path: String,
        /// The HTTP status code.
        status: u16,
        /// The response body (possibly shortened).
        body: String,
    },

    /// A response or document was not the JSON that was expected.
    #[error("invalid JSON in {what}")]
    Json {
        /// What was being parsed.
        what: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },

    /// A manifest could not be parsed as YAML or JSON.
    #[error("failed to parse the manifest as YAML or JSON")]
    ManifestSyntax(#[source] Box<serde_saphyr::Error>),

    /// A manifest parsed but does not describe what was expected.
    #[error("invalid manifest: {0}")]
    InvalidManifest(String),

    /// Running kubectl failed or it exited with an error.
    #[error("`kubectl {args}` failed ({status}): {stderr}")]
    Kubectl {
        /// The arguments (after `--kubeconfig`), joined by spaces.
        args: String,
        /// How kubectl exited.
        status: String,
        /// What kubectl wrote to stderr.
        stderr: String,
    },

    /// An invalid name or group was given for a user or namespace.
    #[error("invalid {what} `{value}`: {reason}")]
    InvalidName {
        /// What kind of name, e.g. "user name".
        what: &'static str,
        /// The rejected value.
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// The apiserver was asked to start while running, or a request needs it running.
    #[error("the kube-apiserver is {0}")]
    ApiserverState(&'static str),

    /// The environment shared by the tests of this process failed to start.
    #[error("the shared test environment failed to start")]
    Shared(#[source] Arc<Error>),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn display_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "nothing".to_owned();
    }
    paths.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(", ")
}

/// A log path for a message, noting when it no longer exists (its temporary directory was
/// removed after a failed start).
pub(crate) fn describe_log(log: &std::path::Path) -> String {
    if log.exists() {
        log.display().to_string()
    } else {
        format!(
            "{} (removed with its temporary directory; set {}=1 to keep it)",
            log.display(),
            crate::env::KEEP_DIR_VAR
        )
    }
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io { action, path: path.into(), source }
    }

    pub(crate) fn cert(what: impl Into<String>, source: rcgen::Error) -> Self {
        Error::Certificate { what: what.into(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_not_found_lists_paths_and_build_hint() {
        let err = Error::BinaryNotFound {
            name: "kube-apiserver",
            tried: vec![PathBuf::from("/a/kube-apiserver"), PathBuf::from("/b/kube-apiserver")],
        };
        let msg = err.to_string();
        assert!(msg.contains("`/a/kube-apiserver`, `/b/kube-apiserver`"), "{msg}");
        assert!(msg.contains("just control-plane"), "{msg}");
        assert!(msg.contains("TEST_ASSET_KUBE_APISERVER"), "{msg}");
    }

    #[test]
    fn timeout_message_includes_detail_only_when_present() {
        let err = Error::Timeout { what: "x".into(), waited: Duration::from_secs(1), detail: String::new() };
        assert_eq!(err.to_string(), "timed out after 1s waiting for x");
    }
}
