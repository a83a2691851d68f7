//! The kubeconfig file format (`apiVersion: v1`, `kind: Config`), read from YAML or JSON.
//!
//! Every struct keeps the fields it does not know in `other`, and writes them back when
//! serialized, so a kubeconfig can be read, edited and written without losing anything.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

use super::error::{EntryKind, Error, ParseError, Result};
use super::secret::{REDACTED, Redacted, redact_opt};
use super::text::text;

/// The deepest nesting of YAML or JSON a kubeconfig may have.
///
/// kubectl (go-yaml) stops at 10,000 levels. Unknown fields are kept as [`serde_json::Value`]s,
/// whose `Clone`, `Debug`, serialization and drop recurse once per level on the caller's stack:
/// on a 2 MiB thread stack (tokio's and the test harness's default) a debug build overflows near
/// 1,000 levels (`Debug` and YAML output first). 500 levels, eight times the YAML parser's default
/// of 64 and far beyond any real kubeconfig, keeps every use of a parsed kubeconfig safe.
pub const MAX_NESTING_DEPTH: usize = 500;

/// The stack of the thread a kubeconfig is parsed on: the YAML deserializer needs several KiB
/// per level in debug builds (more than 2 MiB for 256 levels), so parsing runs on its own thread
/// with room for [`MAX_NESTING_DEPTH`] levels and a wide margin. Only the pages a parse touches
/// are used.
const PARSE_STACK_SIZE: usize = 64 * 1024 * 1024;

/// Unknown fields, kept as JSON values.
pub type OtherFields = BTreeMap<String, serde_json::Value>;

/// Treats an explicit `null` like an absent field.
fn null_as_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A whole kubeconfig document: clusters, users, contexts and the current context.
///
/// ```
/// use kube_client::config::Kubeconfig;
///
/// let kc = Kubeconfig::from_yaml(
///     r#"
/// apiVersion: v1
/// kind: Config
/// clusters:
/// - name: prod
///   cluster:
///     server: https://prod.example.com:6443
/// users:
/// - name: alice
///   user:
///     token: s3cr3t
/// contexts:
/// - name: prod
///   context: {cluster: prod, user: alice, namespace: apps}
/// current-context: prod
/// "#,
/// )?;
/// assert_eq!(kc.current_context.as_deref(), Some("prod"));
/// assert_eq!(kc.clusters[0].cluster.server.as_deref(), Some("https://prod.example.com:6443"));
/// assert!(!format!("{kc:?}").contains("s3cr3t"));
/// # Ok::<(), kube_client::config::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Kubeconfig {
    /// `v1`.
    #[serde(
        rename = "apiVersion",
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub api_version: Option<String>,
    /// `Config`.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The named clusters.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<NamedCluster>,
    /// The named users (`AuthInfo`s), under the key `users`.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<NamedAuthInfo>,
    /// The named contexts.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub contexts: Vec<NamedContext>,
    /// The context used when none is given.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    /// kubectl preferences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferences: Option<Preferences>,
    /// Named extensions.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<NamedExtension>,
    /// Fields this library does not know, written back as they were.
    #[serde(flatten)]
    pub other: OtherFields,
    /// The files this kubeconfig was loaded from, first (highest precedence) first.
    /// Not part of the file format; used in error messages.
    #[serde(skip)]
    pub source_files: Vec<PathBuf>,
}

/// kubectl's `preferences`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Preferences {
    /// Whether kubectl colors its output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colors: Option<bool>,
    /// Named extensions.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<NamedExtension>,
    /// Unknown fields.
    #[serde(flatten)]
    pub other: OtherFields,
}

/// A named extension: arbitrary data stored by tools.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedExtension {
    /// The extension's name.
    #[serde(deserialize_with = "text")]
    pub name: String,
    /// The extension's data.
    #[serde(default)]
    pub extension: serde_json::Value,
    /// Unknown fields.
    #[serde(flatten)]
    pub other: OtherFields,
}

/// A cluster with its name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedCluster {
    /// The name contexts refer to.
    #[serde(deserialize_with = "text")]
    pub name: String,
    /// The cluster.
    #[serde(default, deserialize_with = "null_as_default")]
    pub cluster: Cluster,
    /// Unknown fields.
    #[serde(flatten)]
    pub other: OtherFields,
    /// The file this entry was loaded from (not part of the file format).
    #[serde(skip)]
    pub source_file: Option<PathBuf>,
}

/// Where a cluster is and how to trust it. `Debug` output hides proxy credentials.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Cluster {
    /// The API server's URL, e.g. `https://10.0.0.1:6443`.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Path to a PEM file of CA certificates.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<PathBuf>,
    /// Base64 of PEM CA certificates; takes precedence over `certificate-authority`.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub certificate_authority_data: Option<String>,
    /// Skip verification of the server's certificate.
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure_skip_tls_verify: bool,
    /// The name to verify the server certificate against, instead of the host of `server`.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
    /// Proxy URL (`http`, `https` or `socks5`).
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
    /// Do not ask the server for compressed responses.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disable_compression: bool,
    /// Named extensions, e.g. `client.authentication.k8s.io/exec` for exec plugins.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<NamedExtension>,
    /// Unknown fields.
    #[serde(flatten)]
    pub other: OtherFields,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.server)
            .field("certificate_authority", &self.certificate_authority)
            .field("certificate_authority_data", &self.certificate_authority_data.as_ref().map(|d| d.len()))
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("tls_server_name", &self.tls_server_name)
            .field("proxy_url", &super::secret::RedactedUrl(self.proxy_url.as_deref()))
            .field("disable_compression", &self.disable_compression)
            .field("extensions", &self.extensions)
            .field("other", &self.other)
            .finish()
    }
}

/// A context (cluster + user + namespace) with its name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedContext {
    /// The context's name.
    #[serde(deserialize_with = "text")]
    pub name: String,
    /// The context.
    #[serde(default, deserialize_with = "null_as_default")]
    pub context: Context,
    /// Unknown fields.
    #[serde(flatten)]
    pub other: OtherFields,
    /// The file this entry was loaded from (not part of the file format).
    #[serde(skip)]
    pub source_file: Option<PathBuf>,
}

/// Which cluster and user to use, and the default namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// The name of a cluster.
    #[serde(default, deserialize_with = "text")]
    pub cluster: String,
    /// The name of a user (`AuthInfo`); empty for none.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// The default namespace.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Named extensions.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<NamedExtension>,
    /// Unknown fields.
    #[serde(flatten)]
    pub other: OtherFields,
}

/// A user (`AuthInfo`) with its name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedAuthInfo {
    /// The name contexts refer to.
    #[serde(deserialize_with = "text")]
    pub name: String,
    /// The credentials.
    #[serde(default, deserialize_with = "null_as_default")]
    pub user: AuthInfo,
    /// Unknown fields.
    #[serde(flatten)]
    pub other: OtherFields,
    /// The file this entry was loaded from (not part of the file format).
    #[serde(skip)]
    pub source_file: Option<PathBuf>,
}

/// Who the client is: certificates, tokens, basic auth, exec plugins, auth providers, impersonation.
///
/// Its `Debug` output shows which secrets are set, never their values.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AuthInfo {
    /// Path to a PEM client certificate (chain).
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<PathBuf>,
    /// Base64 of a PEM client certificate (chain); takes precedence over `client-certificate`.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub client_certificate_data: Option<String>,
    /// Path to a PEM private key.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub client_key: Option<PathBuf>,
    /// Base64 of a PEM private key; takes precedence over `client-key`. Secret.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub client_key_data: Option<String>,
    /// A bearer token. Secret.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Path to a file holding a bearer token, re-read when it changes.
    #[serde(
        rename = "tokenFile",
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub token_file: Option<PathBuf>,
    /// The user to impersonate.
    #[serde(rename = "as", default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub impersonate: Option<String>,
    /// The UID to impersonate.
    #[serde(rename = "as-uid", default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub impersonate_uid: Option<String>,
    /// The groups to impersonate.
    #[serde(rename = "as-groups", default, deserialize_with = "text", skip_serializing_if = "Vec::is_empty")]
    pub impersonate_groups: Vec<String>,
    /// Extra fields of the impersonated user.
    #[serde(
        rename = "as-user-extra",
        default,
        deserialize_with = "text",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub impersonate_user_extra: BTreeMap<String, Vec<String>>,
    /// Basic auth user name.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Basic auth password. Secret.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// An auth provider such as `oidc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_provider: Option<AuthProviderConfig>,
    /// An exec credential plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecConfig>,
    /// Named extensions.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<NamedExtension>,
    /// Unknown fields (their values are not shown by `Debug`).
    #[serde(flatten)]
    pub other: OtherFields,
}

impl fmt::Debug for AuthInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthInfo")
            .field("client_certificate", &self.client_certificate)
            .field("client_certificate_data", &self.client_certificate_data)
            .field("client_key", &self.client_key)
            .field("client_key_data", &redact_opt(&self.client_key_data))
            .field("token", &redact_opt(&self.token))
            .field("token_file", &self.token_file)
            .field("impersonate", &self.impersonate)
            .field("impersonate_uid", &self.impersonate_uid)
            .field("impersonate_groups", &self.impersonate_groups)
            .field("impersonate_user_extra", &self.impersonate_user_extra)
            .field("username", &self.username)
            .field("password", &redact_opt(&self.password))
            .field("auth_provider", &self.auth_provider)
            .field("exec", &self.exec)
            .field("extensions", &self.extensions.iter().map(|e| &e.name).collect::<Vec<_>>())
            .field("other", &self.other.keys().map(|k| (k, Redacted)).collect::<BTreeMap<_, _>>())
            .finish()
    }
}

/// An auth provider (`auth-provider: {name: oidc, config: {...}}`).
///
/// `Debug` shows the values of `idp-issuer-url`, `client-id`, `extra-scopes` and
/// `idp-certificate-authority` only; every other value (tokens, secrets) is redacted.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthProviderConfig {
    /// The provider's name, e.g. `oidc`.
    #[serde(deserialize_with = "text")]
    pub name: String,
    /// The provider's settings (for `oidc`: `idp-issuer-url`, `client-id`, `client-secret`,
    /// `id-token`, `refresh-token`, `idp-certificate-authority(-data)`, `extra-scopes`).
    #[serde(default, deserialize_with = "text", skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub other: OtherFields,
}

const NON_SECRET_PROVIDER_KEYS: &[&str] =
    &["idp-issuer-url", "client-id", "extra-scopes", "idp-certificate-authority"];

impl fmt::Debug for AuthProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config: BTreeMap<&str, &str> = self
            .config
            .iter()
            .map(|(k, v)| {
                let shown =
                    if NON_SECRET_PROVIDER_KEYS.contains(&k.as_str()) { v.as_str() } else { REDACTED };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("AuthProviderConfig")
            .field("name", &self.name)
            .field("config", &config)
            .field("other", &self.other.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// An exec credential plugin (`users[].user.exec`).
///
/// `Debug` shows the command, the number of arguments and the names of the environment
/// variables, never argument or variable values (they may hold secrets, such as
/// `--oidc-client-secret=...`).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecConfig {
    /// `client.authentication.k8s.io/v1` or `client.authentication.k8s.io/v1beta1`.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// The program to run; looked up in `$PATH` unless it contains a path separator.
    #[serde(default, deserialize_with = "text")]
    pub command: String,
    /// Arguments.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment variables added to the current environment.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<ExecEnvVar>,
    /// Pass the cluster's details to the plugin in `KUBERNETES_EXEC_INFO`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub provide_cluster_info: bool,
    /// Whether the plugin may use standard input; `IfAvailable` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive_mode: Option<ExecInteractiveMode>,
    /// Shown to the user when the command is missing or fails.
    #[serde(default, deserialize_with = "text", skip_serializing_if = "Option::is_none")]
    pub install_hint: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub other: OtherFields,
}

impl fmt::Debug for ExecConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecConfig")
            .field("api_version", &self.api_version)
            .field("command", &self.command)
            .field("args", &format_args!("<{} redacted>", self.args.len()))
            .field("env", &self.env.iter().map(|e| &e.name).collect::<Vec<_>>())
            .field("provide_cluster_info", &self.provide_cluster_info)
            .field("interactive_mode", &self.interactive_mode)
            .field("install_hint", &self.install_hint)
            .field("other", &self.other.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// One environment variable for an exec plugin. Its value is redacted in `Debug` output.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecEnvVar {
    /// The variable's name.
    #[serde(deserialize_with = "text")]
    pub name: String,
    /// The variable's value.
    #[serde(default, deserialize_with = "text")]
    pub value: String,
}

impl fmt::Debug for ExecEnvVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecEnvVar").field("name", &self.name).field("value", &Redacted).finish()
    }
}

/// Whether an exec plugin may read standard input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecInteractiveMode {
    /// Never give the plugin standard input.
    Never,
    /// Give the plugin standard input when it is a terminal.
    #[default]
    IfAvailable,
    /// The plugin needs a terminal on standard input; fail without one.
    Always,
}

/// A JSON parse error without serde_json's message, which may quote values (secrets): only
/// the kind of error and where it is.
fn json_error(e: &serde_json::Error) -> ParseError {
    let category = match e.classify() {
        serde_json::error::Category::Io => "i/o error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected value",
        serde_json::error::Category::Eof => "unexpected end of input",
    };
    ParseError::JsonAt { category, line: e.line(), column: e.column() }
}

/// Whether JSON text nests arrays and objects deeper than `limit` (strings skipped).
fn json_depth_exceeds(text: &str, limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn looks_like_json(text: &str) -> bool {
    text.trim_start_matches('\u{feff}').trim_start().starts_with('{')
}

impl Kubeconfig {
    /// Parses a kubeconfig from YAML text (JSON, starting with `{`, is accepted too).
    ///
    /// An empty document gives an empty kubeconfig, as kubectl does.
    pub fn from_yaml(text: &str) -> Result<Self> {
        Self::parse(text, "<string>")
    }

    /// Parses a kubeconfig from JSON text.
    pub fn from_json(text: &str) -> Result<Self> {
        let text = text.trim_start_matches('\u{feff}');
        if !looks_like_json(text) {
            // not an object: let the JSON parser say where it goes wrong
            return serde_json::from_str(text).map_err(|e| Error::ParseKubeconfig {
                origin: "<string>".into(),
                source: Box::new(json_error(&e)),
            });
        }
        Self::parse(text, "<string>")
    }

    /// Parses YAML or JSON; `origin` names the source in errors.
    ///
    /// Nesting is allowed up to [`MAX_NESTING_DEPTH`] levels (see there why not kubectl's 10,000); alias
    /// expansion, node counts and input size stay bounded by the YAML parser's budget. A file
    /// that names a cluster, user or context twice is refused, as kubectl does.
    pub(crate) fn parse(text: &str, origin: &str) -> Result<Self> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Deeply nested documents recurse deeply in the deserializer: parse on a thread whose
        // stack is sized for the deepest document allowed, whatever the caller's stack is.
        let kc = std::thread::scope(|scope| {
            let parsing = std::thread::Builder::new()
                .name("kubeconfig-parse".into())
                .stack_size(PARSE_STACK_SIZE)
                .spawn_scoped(scope, || Self::parse_on_this_thread(text, origin))
                .map_err(|source| Error::ParseThread { origin: origin.to_owned(), source })?;
            parsing.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })?;
        kc.check_unique_names(origin)?;
        Ok(kc)
    }

    fn parse_on_this_thread(text: &str, origin: &str) -> Result<Self> {
        let wrap = |source| Error::ParseKubeconfig { origin: origin.to_owned(), source: Box::new(source) };
        if looks_like_json(text) {
            if json_depth_exceeds(text, MAX_NESTING_DEPTH) {
                return Err(wrap(ParseError::TooDeep { limit: MAX_NESTING_DEPTH }));
            }
            return Self::from_json_text(text).map_err(|e| wrap(json_error(&e)));
        }
        let json = super::yaml::to_json(text, MAX_NESTING_DEPTH).map_err(wrap)?;
        if json == "null" {
            // empty, or only comments
            return Ok(Self::default());
        }
        Self::from_json_text(&json).map_err(|e| wrap(super::yaml::value_error(&json, &e)))
    }

    /// Decodes JSON text whose nesting was checked (or bounded by the YAML parser).
    fn from_json_text(text: &str) -> std::result::Result<Self, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        de.disable_recursion_limit();
        let kc = Kubeconfig::deserialize(&mut de)?;
        de.end()?;
        Ok(kc)
    }

    /// Refuses a document naming a cluster, user or context twice (kubectl refuses such a file:
    /// which entry is meant is ambiguous).
    fn check_unique_names(&self, origin: &str) -> Result<()> {
        fn first_duplicate<'a>(names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
            let mut seen = std::collections::HashSet::new();
            names.into_iter().find(|n| !seen.insert(*n))
        }
        let duplicate = [
            (EntryKind::Cluster, first_duplicate(self.clusters.iter().map(|c| c.name.as_str()))),
            (EntryKind::User, first_duplicate(self.users.iter().map(|u| u.name.as_str()))),
            (EntryKind::Context, first_duplicate(self.contexts.iter().map(|c| c.name.as_str()))),
        ]
        .into_iter()
        .find_map(|(kind, name)| name.map(|n| (kind, n)));
        match duplicate {
            Some((kind, name)) => {
                Err(Error::DuplicateName { origin: origin.to_owned(), kind, name: name.to_owned() })
            }
            None => Ok(()),
        }
    }

    /// Serializes to YAML, unknown fields included.
    pub fn to_yaml(&self) -> Result<String> {
        serde_saphyr::to_string(self)
            .map_err(|e| Error::SerializeKubeconfig(Box::new(ParseError::YamlSerialize(e))))
    }

    /// Serializes to pretty JSON, unknown fields included.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| Error::SerializeKubeconfig(Box::new(ParseError::Json(e))))
    }

    /// The context with this name.
    pub fn context(&self, name: &str) -> Option<&NamedContext> {
        self.contexts.iter().find(|c| c.name == name)
    }

    /// The cluster with this name.
    pub fn cluster(&self, name: &str) -> Option<&NamedCluster> {
        self.clusters.iter().find(|c| c.name == name)
    }

    /// The user with this name.
    pub fn user(&self, name: &str) -> Option<&NamedAuthInfo> {
        self.users.iter().find(|u| u.name == name)
    }

    /// `/a/config, /b/config` or `kubeconfig` for a kubeconfig not read from files; for errors.
    pub(crate) fn origin(&self) -> String {
        if self.source_files.is_empty() {
            "kubeconfig".to_owned()
        } else {
            self.source_files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const REALISTIC: &str = r#"
apiVersion: v1
kind: Config
current-context: admin@prod
preferences:
  colors: true
  future-pref: 7
clusters:
- name: prod
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: Zm9v
    tls-server-name: kubernetes
    proxy-url: http://proxy:3128
    disable-compression: true
    extensions:
    - name: client.authentication.k8s.io/exec
      extension:
        audience: prod
    some-future-field: {nested: [1, 2, "x"]}
- name: dev
  cluster:
    server: https://dev:6443
    insecure-skip-tls-verify: true
    certificate-authority: ca.crt
users:
- name: admin
  user:
    client-certificate-data: Y2VydA==
    client-key-data: c3VwZXJzZWNyZXRrZXk=
    as: jane
    as-uid: "1234"
    as-groups: [devs, ops]
    as-user-extra:
      scopes: [view]
    vendor-field: vendor-secret-value
- name: tok
  user:
    token: supersecrettoken
    tokenFile: /var/token
- name: basic
  user:
    username: bob
    password: supersecretpassword
- name: oidc
  user:
    auth-provider:
      name: oidc
      config:
        idp-issuer-url: https://issuer
        client-id: kube
        client-secret: supersecretclient
        id-token: supersecretid
        refresh-token: supersecretrefresh
- name: plugin
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: aws
      args: [eks, get-token]
      env:
      - name: AWS_PROFILE
        value: supersecretenv
      provideClusterInfo: true
      interactiveMode: Never
      installHint: install the aws cli
contexts:
- name: admin@prod
  context:
    cluster: prod
    user: admin
    namespace: kube-system
    extensions:
    - name: ext
      extension: "x"
- name: dev
  context:
    cluster: dev
    user: tok
  unknown-context-field: 1
extensions:
- name: top
  extension: {a: b}
x-tool-setting: hello
"#;

    #[test]
    fn parses_realistic_kubeconfig() {
        let kc = Kubeconfig::from_yaml(REALISTIC).unwrap();
        assert_eq!(kc.api_version.as_deref(), Some("v1"));
        assert_eq!(kc.kind.as_deref(), Some("Config"));
        assert_eq!(kc.current_context.as_deref(), Some("admin@prod"));
        assert_eq!(kc.preferences.as_ref().unwrap().colors, Some(true));

        let prod = &kc.cluster("prod").unwrap().cluster;
        assert_eq!(prod.server.as_deref(), Some("https://10.0.0.1:6443"));
        assert_eq!(prod.certificate_authority_data.as_deref(), Some("Zm9v"));
        assert_eq!(prod.tls_server_name.as_deref(), Some("kubernetes"));
        assert_eq!(prod.proxy_url.as_deref(), Some("http://proxy:3128"));
        assert!(prod.disable_compression);
        assert_eq!(prod.extensions[0].name, "client.authentication.k8s.io/exec");
        assert_eq!(prod.extensions[0].extension["audience"], "prod");
        assert!(prod.other.contains_key("some-future-field"));
        let dev = &kc.cluster("dev").unwrap().cluster;
        assert!(dev.insecure_skip_tls_verify);
        assert_eq!(dev.certificate_authority.as_deref(), Some(std::path::Path::new("ca.crt")));

        let admin = &kc.user("admin").unwrap().user;
        assert_eq!(admin.impersonate.as_deref(), Some("jane"));
        assert_eq!(admin.impersonate_uid.as_deref(), Some("1234"));
        assert_eq!(admin.impersonate_groups, vec!["devs", "ops"]);
        assert_eq!(admin.impersonate_user_extra["scopes"], vec!["view"]);
        let tok = &kc.user("tok").unwrap().user;
        assert_eq!(tok.token.as_deref(), Some("supersecrettoken"));
        assert_eq!(tok.token_file.as_deref(), Some(std::path::Path::new("/var/token")));
        let oidc = kc.user("oidc").unwrap().user.auth_provider.as_ref().unwrap();
        assert_eq!(oidc.name, "oidc");
        assert_eq!(oidc.config["client-id"], "kube");
        let exec = kc.user("plugin").unwrap().user.exec.as_ref().unwrap();
        assert_eq!(exec.api_version.as_deref(), Some("client.authentication.k8s.io/v1"));
        assert_eq!(exec.command, "aws");
        assert_eq!(exec.args, vec!["eks", "get-token"]);
        assert_eq!(exec.env[0].name, "AWS_PROFILE");
        assert!(exec.provide_cluster_info);
        assert_eq!(exec.interactive_mode, Some(ExecInteractiveMode::Never));
        assert_eq!(exec.install_hint.as_deref(), Some("install the aws cli"));

        let ctx = &kc.context("admin@prod").unwrap().context;
        assert_eq!((ctx.cluster.as_str(), ctx.user.as_str()), ("prod", "admin"));
        assert_eq!(ctx.namespace.as_deref(), Some("kube-system"));
        assert!(kc.context("dev").unwrap().other.contains_key("unknown-context-field"));
        assert_eq!(kc.other["x-tool-setting"], "hello");
    }

    #[test]
    fn unknown_fields_round_trip_through_yaml_and_json() {
        let kc = Kubeconfig::from_yaml(REALISTIC).unwrap();
        let yaml = kc.to_yaml().unwrap();
        assert!(yaml.contains("some-future-field"), "{yaml}");
        assert!(yaml.contains("vendor-field"), "{yaml}");
        assert!(yaml.contains("x-tool-setting"), "{yaml}");
        assert!(yaml.contains("future-pref"), "{yaml}");
        assert_eq!(Kubeconfig::from_yaml(&yaml).unwrap(), kc);

        let json = kc.to_json().unwrap();
        assert_eq!(Kubeconfig::from_json(&json).unwrap(), kc);
        // from_yaml recognises JSON too
        assert_eq!(Kubeconfig::from_yaml(&json).unwrap(), kc);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["clusters"][0]["cluster"]["some-future-field"]["nested"][2], "x");
        assert_eq!(value["users"][4]["user"]["exec"]["interactiveMode"], "Never");
    }

    #[test]
    fn empty_and_null_sections_are_accepted() {
        assert_eq!(Kubeconfig::from_yaml("").unwrap(), Kubeconfig::default());
        assert_eq!(Kubeconfig::from_yaml("# only a comment\n").unwrap(), Kubeconfig::default());
        let kc = Kubeconfig::from_yaml(
            "clusters: null\nusers:\ncontexts: []\nextensions: ~\n\
             preferences: {}\n",
        )
        .unwrap();
        assert!(kc.clusters.is_empty() && kc.users.is_empty() && kc.contexts.is_empty());
        let kc = Kubeconfig::from_yaml(
            "users:\n- name: u\n  user:\n    exec:\n      command: x\n      args: null\n",
        )
        .unwrap();
        assert!(kc.users[0].user.exec.as_ref().unwrap().args.is_empty());
    }

    #[test]
    fn numbers_and_booleans_where_text_belongs_are_read_as_text_as_kubectl_does() {
        let kc = Kubeconfig::from_yaml(
            "contexts:\n- name: 123\n  context: {cluster: 7, user: u, namespace: 2024, x: 1}\n\
             users:\n- name: u\n  user:\n    exec: {command: plugin, args: [--port, 8080, true]}\n\
             current-context: 123\n",
        )
        .unwrap();
        let ctx = kc.context("123").unwrap();
        assert_eq!((ctx.context.cluster.as_str(), ctx.context.namespace.as_deref()), ("7", Some("2024")));
        // unknown fields keep their type
        assert_eq!(ctx.context.other["x"], serde_json::json!(1));
        assert_eq!(kc.users[0].user.exec.as_ref().unwrap().args, ["--port", "8080", "true"]);
        assert_eq!(kc.current_context.as_deref(), Some("123"));
    }

    #[test]
    fn a_yaml_value_that_does_not_fit_names_where_it_is_without_quoting_it() {
        for (yaml, path) in [
            ("users:\n- name: a\n  user:\n    token: [supersecret]\n", "users[0].user.token"),
            (
                "users:\n- name: a\n  user:\n    exec: {command: x, interactiveMode: supersecret}\n",
                "users[0].user.exec.interactiveMode",
            ),
            (
                "clusters:\n- name: a\n  cluster: {insecure-skip-tls-verify: supersecret}\n",
                "clusters[0].cluster.insecure-skip-tls-verify",
            ),
        ] {
            let err = Kubeconfig::from_yaml(yaml).unwrap_err();
            let msg = err.to_string();
            assert!(msg.ends_with(&format!("invalid value at {path}")), "{msg}");
            assert!(!msg.contains("supersecret"), "{msg}");
        }
        let err =
            Kubeconfig::from_yaml("clusters:\n- name: a\n- cluster: {server: https://b}\n").unwrap_err();
        assert!(err.to_string().ends_with("missing field `name` at clusters[1]"), "{err}");
    }

    #[test]
    fn malformed_yaml_is_an_error_that_does_not_quote_the_file() {
        let err = Kubeconfig::from_yaml("users:\n- name: a\n  user:\n    token: supersecret\n   bad: [\n")
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("failed to parse kubeconfig <string>:"), "{msg}");
        assert!(!msg.contains("supersecret"), "{msg}");
        assert!(
            matches!(&err, Error::ParseKubeconfig { source, .. } if matches!(**source, ParseError::Yaml(_)))
        );

        let err = Kubeconfig::from_yaml("{\"clusters\": [}").unwrap_err();
        assert!(
            matches!(&err, Error::ParseKubeconfig { source, .. } if matches!(**source, ParseError::JsonAt { line: 1, .. }))
        );
        for json in [
            "{\"users\": [{\"name\": \"a\", \"user\": {\"token\": [\"supersecret\"]}}]}",
            "{\"users\": [{\"name\": \"a\", \"user\": {\"exec\": {\"interactiveMode\": \"supersecret\"}}}]}",
        ] {
            for err in [Kubeconfig::from_yaml(json).unwrap_err(), Kubeconfig::from_json(json).unwrap_err()] {
                let msg = err.to_string();
                assert!(!msg.contains("supersecret"), "{msg}");
                assert!(msg.contains("at line 1, column"), "{msg}");
            }
        }
        let err = Kubeconfig::from_yaml(
            "users:\n- name: a\n  user:\n    exec:\n      interactiveMode: Sometimes\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("failed to parse kubeconfig"), "{err}");
    }

    /// A kubeconfig whose cluster has an unknown field nested `depth` levels deep, in block or
    /// flow style.
    fn nested(depth: usize, flow: bool) -> String {
        let mut yaml = String::from("clusters:\n- name: c\n  cluster:\n    server: https://c\n    x:");
        if flow {
            yaml.push(' ');
            yaml.push_str(&"[".repeat(depth));
            yaml.push_str(&"]".repeat(depth));
        } else {
            for level in 0..depth {
                yaml.push_str(&format!("\n{}k:", "  ".repeat(level + 3)));
            }
            yaml.push_str(" 1");
        }
        yaml.push('\n');
        yaml
    }

    #[test]
    fn deep_nesting_is_accepted_up_to_the_limit_and_the_result_is_usable() {
        for flow in [false, true] {
            let kc = Kubeconfig::from_yaml(&nested(MAX_NESTING_DEPTH - 10, flow)).unwrap();
            assert_eq!(kc.clusters[0].name, "c");
            // everything a caller does with it works on a small (2 MiB) stack
            std::thread::Builder::new()
                .stack_size(2 * 1024 * 1024)
                .spawn(move || {
                    let copy = kc.clone();
                    assert!(!format!("{copy:?}").is_empty());
                    let yaml = copy.to_yaml().unwrap();
                    assert_eq!(Kubeconfig::from_json(&copy.to_json().unwrap()).unwrap(), kc);
                    assert_eq!(Kubeconfig::from_yaml(&yaml).unwrap(), kc);
                })
                .unwrap()
                .join()
                .unwrap();
            let err = Kubeconfig::from_yaml(&nested(MAX_NESTING_DEPTH + 1, flow)).unwrap_err();
            assert!(matches!(err, Error::ParseKubeconfig { .. }), "{err}");
        }
        let deep_json = |depth: usize| {
            format!(
                r#"{{"clusters": [{{"name": "c", "cluster": {{"server": "https://c", "x": {}{}}}}}]}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        for parse in [Kubeconfig::from_yaml, Kubeconfig::from_json] {
            assert_eq!(parse(&deep_json(MAX_NESTING_DEPTH - 10)).unwrap().clusters[0].name, "c");
            let err = parse(&deep_json(MAX_NESTING_DEPTH)).unwrap_err();
            assert!(
                matches!(&err, Error::ParseKubeconfig { source, .. } if matches!(**source, ParseError::TooDeep { .. })),
                "{err}"
            );
        }
        // brackets inside strings do not count
        let json = format!(r#"{{"clusters": [{{"name": "{}", "cluster": {{}}}}]}}"#, "[".repeat(20_000));
        assert_eq!(Kubeconfig::from_json(&json).unwrap().clusters[0].name.len(), 20_000);
    }

    #[test]
    fn alias_bombs_and_huge_documents_stay_bounded() {
        // a billion laughs: 10 levels of 10 aliases each
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            bomb.push_str(&format!("a{i}: &a{i} [{}]\n", [prev.as_str(); 10].join(", ")));
        }
        bomb.push_str("clusters: [{name: c, cluster: {server: https://c, x: *a9}}]\n");
        let start = std::time::Instant::now();
        assert!(Kubeconfig::from_yaml(&bomb).is_err());
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "{:?}", start.elapsed());

        let huge = format!("clusters: [{{name: c, cluster: {{x: [{}]}}}}]\n", "1,".repeat(1_000_000));
        assert!(Kubeconfig::from_yaml(&huge).is_err());
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let kc = Kubeconfig::from_yaml("\u{feff}current-context: x\n").unwrap();
        assert_eq!(kc.current_context.as_deref(), Some("x"));
        let kc = Kubeconfig::from_json("\u{feff}{\"current-context\": \"x\"}").unwrap();
        assert_eq!(kc.current_context.as_deref(), Some("x"));
    }

    #[test]
    fn duplicate_names_in_one_document_are_refused() {
        for (yaml, kind, name) in [
            (
                "clusters: [{name: a, cluster: {}}, {name: b}, {name: a, cluster: {server: https://x}}]",
                "cluster",
                "a",
            ),
            ("users: [{name: u, user: {token: supersecret}}, {name: u}]", "user", "u"),
            ("contexts: [{name: x, context: {cluster: a}}, {name: x}]", "context", "x"),
        ] {
            let err = Kubeconfig::from_yaml(yaml).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("failed to load kubeconfig <string>: {kind} name {name:?} is defined more than once")
            );
            assert!(!err.to_string().contains("supersecret"));
        }
        let err = Kubeconfig::from_json(r#"{"users": [{"name": "u"}, {"name": "u"}]}"#).unwrap_err();
        assert!(matches!(err, Error::DuplicateName { kind: EntryKind::User, .. }), "{err}");
        // the same name in different sections is fine
        assert!(
            Kubeconfig::from_yaml("clusters: [{name: a}]\nusers: [{name: a}]\ncontexts: [{name: a}]").is_ok()
        );
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let kc = Kubeconfig::from_yaml(REALISTIC).unwrap();
        let debug = format!("{kc:?}");
        for secret in [
            "c3VwZXJzZWNyZXRrZXk=",
            "supersecrettoken",
            "supersecretpassword",
            "supersecretclient",
            "supersecretid",
            "supersecretrefresh",
            "supersecretenv",
            "vendor-secret-value",
        ] {
            assert!(!debug.contains(secret), "{secret} leaked in {debug}");
        }
        assert!(debug.contains("<redacted>"));
        // non-secret values are still there
        assert!(debug.contains("https://issuer"));
        assert!(debug.contains("AWS_PROFILE"));
        assert!(debug.contains("vendor-field"));

        let exec: ExecConfig = serde_json::from_value(serde_json::json!({
            "command": "kubectl",
            "args": ["oidc-login", "get-token", "--oidc-client-secret=supersecretarg"],
            "env": [{"name": "CLIENT_SECRET", "value": "supersecretenv"}],
            "installHint": "install kubelogin",
        }))
        .unwrap();
        let debug = format!("{exec:?}");
        assert!(!debug.contains("supersecret") && !debug.contains("oidc-login"), "{debug}");
        for shown in ["\"kubectl\"", "<3 redacted>", "CLIENT_SECRET", "install kubelogin"] {
            assert!(debug.contains(shown), "{shown} missing in {debug}");
        }
    }
}
