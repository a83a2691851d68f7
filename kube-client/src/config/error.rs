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
    /// A YAML document's value does not fit the kubeconfig's fields, such as a list where a
    /// string belongs (the decoder's message is kept only when it names a field, not a value).
    #[error("{problem} at {path}")]
    YamlValue {
        /// `invalid value`, or a field missing or given twice (``missing field `name` ``).
        problem: String,
        /// Where in the document, such as `users[0].user.exec.interactiveMode`.
        path: String,
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

/// Everything that can go wrong while loading kubeconfig files, resolving a [`Config`](super::Config)
/// or reading in-cluster service account files. Failures to obtain credentials (token files, exec
/// plugins, OIDC) are [`auth::Error`](crate::auth::Error)s.
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

    /// The service account token could not be read when loading the in-cluster configuration.
    #[error("{0}")]
    ServiceAccountToken(#[source] Box<crate::auth::Error>),

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
