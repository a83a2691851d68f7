//! The error type of the authentication module: why credentials could not be had.

use std::io;
use std::path::PathBuf;

use crate::config::PemError;

fn hint_suffix(hint: &Option<String>) -> String {
    match hint {
        Some(hint) if !hint.trim().is_empty() => format!("\n{}", hint.trim()),
        _ => String::new(),
    }
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() { String::new() } else { format!(": {stderr}") }
}

/// Everything that can go wrong while obtaining credentials: reading token files, running exec
/// plugins, refreshing OIDC id-tokens, and handing them to requests.
///
/// Messages name the file, command or issuer involved; secrets never appear in them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A bearer token file could not be read.
    #[error("failed to read token file {}: {source}", path.display())]
    ReadTokenFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },

    /// A bearer token file is empty.
    #[error("token file {} is empty", path.display())]
    EmptyTokenFile {
        /// The file.
        path: PathBuf,
    },

    /// A credential cannot be put into an `Authorization` header.
    #[error("credential contains characters not allowed in an HTTP header: {0}")]
    InvalidHeaderValue(#[source] http::header::InvalidHeaderValue),

    /// The exec plugin's command does not exist.
    #[error("exec plugin command {command:?} not found: {source}{}", hint_suffix(install_hint))]
    ExecNotFound {
        /// The command.
        command: String,
        /// The `installHint` of the exec configuration.
        install_hint: Option<String>,
        /// The I/O error.
        #[source]
        source: io::Error,
    },

    /// The exec plugin could not be started.
    #[error("failed to run exec plugin {command:?}: {source}")]
    ExecSpawn {
        /// The command.
        command: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },

    /// The exec plugin exited unsuccessfully.
    #[error("exec plugin {command:?} {status}{}{}", stderr_suffix(stderr), hint_suffix(install_hint))]
    ExecFailed {
        /// The command.
        command: String,
        /// `exited with code 1` or `was terminated by a signal`.
        status: String,
        /// The plugin's standard error, trimmed and bounded in length.
        stderr: String,
        /// The `installHint` of the exec configuration.
        install_hint: Option<String>,
    },

    /// The exec plugin printed something that is not an `ExecCredential`.
    #[error("failed to decode the output of exec plugin {command:?}: {source}")]
    ExecDecode {
        /// The command.
        command: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },

    /// The exec plugin answered with another `apiVersion` than the one configured.
    #[error("exec plugin {command:?} returned apiVersion {got:?}, expected {expected:?}")]
    ExecApiVersion {
        /// The command.
        command: String,
        /// The configured apiVersion.
        expected: String,
        /// The apiVersion in the plugin's output.
        got: String,
    },

    /// The exec configuration cannot be run.
    #[error("invalid exec configuration for command {command:?}: {reason}")]
    ExecConfig {
        /// The command.
        command: String,
        /// What is wrong.
        reason: String,
    },

    /// The `ExecCredential` returned by the plugin is unusable.
    #[error("invalid credential from exec plugin {command:?}: {reason}")]
    ExecCredential {
        /// The command.
        command: String,
        /// What is wrong.
        reason: String,
    },

    /// The client certificate or key returned by the exec plugin is not valid PEM.
    #[error("failed to parse {what} from exec plugin {command:?}: {source}")]
    ExecPem {
        /// The command.
        command: String,
        /// `clientCertificateData` or `clientKeyData`.
        what: &'static str,
        /// What is wrong with the PEM.
        #[source]
        source: PemError,
    },

    /// No usable OIDC id-token: it expired without a refresh-token, or refreshing it failed.
    #[error("failed to get an oidc id-token from issuer {issuer:?}: {source}")]
    Oidc {
        /// The `idp-issuer-url`, or `(none)`.
        issuer: String,
        /// What went wrong.
        #[source]
        source: Box<super::oidc::OidcError>,
    },

    /// A blocking credential task (reading a token file, running an exec plugin) panicked or
    /// was cancelled.
    #[error("credential task failed: {0}")]
    CredentialTask(#[source] tokio::task::JoinError),
}

/// The result type of the authentication module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_failed_message_has_code_stderr_and_hint() {
        let e = Error::ExecFailed {
            command: "plugin".into(),
            status: "exited with code 3".into(),
            stderr: "boom".into(),
            install_hint: Some("install it".into()),
        };
        assert_eq!(e.to_string(), "exec plugin \"plugin\" exited with code 3: boom\ninstall it");
    }

    #[test]
    fn error_is_small() {
        // clippy's result_large_err threshold is 128 bytes
        assert!(std::mem::size_of::<Error>() <= 104, "{}", std::mem::size_of::<Error>());
    }
}
