//! The error type of the configuration module and the [`FieldRef`] that names where a problem is.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Which kind of kubeconfig entry a [`FieldRef`] points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// An entry of `clusters`.
    Cluster,
    /// An entry of `users`.
    User,
    /// An entry of `contexts`.
    Context,
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryKind::Cluster => "cluster",
            EntryKind::User => "user",
            EntryKind::Context => "context",
        })
    }
}

/// Names one field of one named kubeconfig entry, and the file that entry came from.
///
/// Displays as `client-key-data of user "admin" in /home/me/.kube/config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRef {
    /// Whether the field belongs to a cluster, user or context.
    pub kind: EntryKind,
    /// The name of the entry.
    pub name: String,
    /// The field's key as spelled in the kubeconfig file.
    pub field: &'static str,
    /// The file the entry was loaded from, if it came from a file.
    pub file: Option<PathBuf>,
}

impl FieldRef {
    pub(crate) fn new(kind: EntryKind, name: &str, field: &'static str, file: Option<&PathBuf>) -> Box<Self> {
        Box::new(FieldRef { kind, name: name.to_owned(), field, file: file.cloned() })
    }
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} {:?}", self.field, self.kind, self.name)?;
        if let Some(file) = &self.file {
            write!(f, " in {}", file.display())?;
        }
        Ok(())
    }
}

/// Why a document could not be parsed as a kubeconfig.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The YAML parser rejected the document.
    #[error(transparent)]
    Yaml(#[from] serde_saphyr::Error),
    /// The YAML serializer failed.
    #[error(transparent)]
    YamlSerialize(#[from] serde_saphyr::SerializeError),
    /// The JSON serializer failed.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The JSON parser rejected the document (its message is not kept: it may quote values).
    #[error("invalid JSON ({category}) at line {line}, column {column}")]
    JsonAt {
        /// The kind of error, such as `syntax error`.
        category: &'static str,
        /// The line (1-based).
        line: usize,
        /// The column (1-based).
        column: usize,
    },
    /// The document nests deeper than the limit.
    #[error("nested deeper than {limit} levels")]
    TooDeep {
        /// The deepest nesting allowed.
        limit: usize,
    },
}

/// Why bytes could not be read as PEM certificates or a PEM private key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PemError {
    /// The PEM framing or its base64 body is malformed.
    #[error("invalid PEM: {0}")]
    Pem(#[source] rustls_pki_types::pem::Error),
    /// The data holds no `CERTIFICATE` section (and is not a DER certificate).
    #[error("no certificate found")]
    NoCertificates,
    /// The data holds no private key section.
    #[error("no private key found")]
    NoPrivateKey,
    /// A certificate or key is not valid DER (in PEM, or as raw bytes).
    #[error("invalid {what}: {reason}")]
    InvalidDer {
        /// `certificate` or `private key`.
        what: &'static str,
        /// What the parser found wrong.
        reason: String,
    },
}

/// One configuration source that [`Config::infer`](super::Config::infer) tried, and why it failed.
#[derive(Debug)]
pub struct InferAttempt {
    /// Describes the source, e.g. `$KUBECONFIG (/a:/b)` or `in-cluster service account`.
    pub source: String,
    /// Why the source could not be used.
    pub error: Error,
}

fn format_attempts(attempts: &[InferAttempt]) -> String {
    let mut out = String::from("failed to infer a kubernetes configuration");
    for attempt in attempts {
        out.push_str(&format!("; {}: {}", attempt.source, attempt.error));
    }
    out
}

fn hint_suffix(hint: &Option<String>) -> String {
    match hint {
        Some(hint) if !hint.trim().is_empty() => format!("\n{}", hint.trim()),
        _ => String::new(),
    }
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() { String::new() } else { format!(": {stderr}") }
}

/// Everything that can go wrong while loading kubeconfig files, resolving a [`Config`](super::Config),
/// reading in-cluster service account files, reading token files or running exec plugins.
///
/// Messages name the file, the entry and the field involved; secrets never appear in them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A kubeconfig file could not be read.
    #[error("failed to read kubeconfig {}: {source}", path.display())]
    ReadKubeconfig {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },

    /// A kubeconfig document is not valid YAML/JSON or does not have the kubeconfig shape.
    #[error("failed to parse kubeconfig {origin}: {source}")]
    ParseKubeconfig {
        /// The file, or `<string>` when parsed from memory.
        origin: String,
        /// The parser's error.
        #[source]
        source: Box<ParseError>,
    },

    /// The thread a kubeconfig is parsed on could not be started.
    #[error("failed to parse kubeconfig {origin}: cannot start the parser thread: {source}")]
    ParseThread {
        /// The file, or `<string>` when parsed from memory.
        origin: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },

    /// One kubeconfig document names two clusters, users or contexts the same (kubectl refuses
    /// such a file too).
    #[error("failed to load kubeconfig {origin}: {kind} name {name:?} is defined more than once")]
    DuplicateName {
        /// The file, or `<string>` when parsed from memory.
        origin: String,
        /// Clusters, users or contexts.
        kind: EntryKind,
        /// The name defined twice.
        name: String,
    },

    /// A kubeconfig could not be serialized.
    #[error("failed to serialize kubeconfig: {0}")]
    SerializeKubeconfig(#[source] Box<ParseError>),

    /// No context was asked for and the kubeconfig has no `current-context`.
    #[error("no context selected: current-context is not set in {origin} and no context was given")]
    NoCurrentContext {
        /// The kubeconfig's files.
        origin: String,
    },

    /// The requested context does not exist.
    #[error("context {name:?} not found in {origin}")]
    ContextNotFound {
        /// The context's name.
        name: String,
        /// The kubeconfig's files.
        origin: String,
    },

    /// The cluster named by the context (or the options) does not exist.
    #[error("cluster {name:?} (selected by {selected_by}) not found in {origin}")]
    ClusterNotFound {
        /// The cluster's name.
        name: String,
        /// `context "x"` or `options`.
        selected_by: String,
        /// The kubeconfig's files.
        origin: String,
    },

    /// The user named by the context (or the options) does not exist.
    #[error("user {name:?} (selected by {selected_by}) not found in {origin}")]
    UserNotFound {
        /// The user's name.
        name: String,
        /// `context "x"` or `options`.
        selected_by: String,
        /// The kubeconfig's files.
        origin: String,
    },

    /// A required field is missing or empty.
    #[error("missing {0}")]
    MissingField(Box<FieldRef>),

    /// A file named by a kubeconfig field could not be read.
    #[error("failed to read {field} ({}): {source}", path.display())]
    ReadField {
        /// The field naming the file.
        field: Box<FieldRef>,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },

    /// A `*-data` field is not valid base64.
    #[error("failed to decode {field}: invalid base64: {source}")]
    Base64 {
        /// The field.
        field: Box<FieldRef>,
        /// The decoder's error.
        #[source]
        source: base64::DecodeError,
    },

    /// A certificate or key (from a `*-data` field or a file) is not valid PEM.
    #[error("failed to parse {field}: {source}")]
    Pem {
        /// The field.
        field: Box<FieldRef>,
        /// What is wrong with the PEM.
        #[source]
        source: PemError,
    },

    /// A URL field does not parse.
    #[error("invalid {field}: {source}")]
    InvalidUri {
        /// The field.
        field: Box<FieldRef>,
        /// The parser's error.
        #[source]
        source: http::uri::InvalidUri,
    },

    /// A field holds a value this library cannot use.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field.
        field: Box<FieldRef>,
        /// What is wrong.
        reason: String,
    },

    /// The process does not run in a Kubernetes pod (an environment variable is not set).
    #[error("not running in a cluster: environment variable {0} is not set")]
    NotInCluster(&'static str),

    /// The in-cluster environment variables do not form a valid URL.
    #[error("invalid in-cluster environment: {0}")]
    InvalidInCluster(String),

    /// A service account file could not be read.
    #[error("failed to read service account file {}: {source}", path.display())]
    ReadServiceAccount {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },

    /// The service account's `ca.crt` is not valid PEM.
    #[error("failed to parse service account CA {}: {source}", path.display())]
    ServiceAccountCa {
        /// The file.
        path: PathBuf,
        /// What is wrong with the PEM.
        #[source]
        source: PemError,
    },

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

    /// Neither `$KUBECONFIG`, `~/.kube/config` nor the in-cluster environment gave a configuration.
    #[error("{}", format_attempts(.0))]
    Infer(Vec<InferAttempt>),
}

/// The result type of the configuration module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_ref_display_names_field_entry_and_file() {
        let f = FieldRef::new(
            EntryKind::User,
            "admin",
            "client-key-data",
            Some(&PathBuf::from("/home/me/.kube/config")),
        );
        assert_eq!(f.to_string(), "client-key-data of user \"admin\" in /home/me/.kube/config");
        let f = FieldRef::new(EntryKind::Cluster, "c", "server", None);
        assert_eq!(f.to_string(), "server of cluster \"c\"");
    }

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

    #[test]
    fn infer_lists_every_attempt() {
        let e = Error::Infer(vec![
            InferAttempt { source: "a".into(), error: Error::NotInCluster("X") },
            InferAttempt { source: "b".into(), error: Error::InvalidInCluster("y".into()) },
        ]);
        let msg = e.to_string();
        assert!(msg.contains("a: not running in a cluster"), "{msg}");
        assert!(msg.contains("b: invalid in-cluster environment: y"), "{msg}");
    }
}
