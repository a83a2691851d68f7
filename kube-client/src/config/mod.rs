//! Where the cluster is and who the client is: kubeconfig files, in-cluster service accounts.
//!
//! - [`Kubeconfig`] is the file format; [`Kubeconfig::read`], [`Kubeconfig::read_paths`] and
//!   [`Kubeconfig::merge`] load and merge files as kubectl does.
//! - [`Config`] is the resolved configuration the transport uses: the server URL, TLS settings,
//!   client [`Identity`], request credentials ([`Auth`]), impersonation and timeouts. Build it with
//!   [`Config::infer`], [`Config::from_kubeconfig`], [`Config::from_custom_kubeconfig`],
//!   [`Config::incluster`] or [`Config::new`].
//! - The credentials themselves (token files, exec plugins, OIDC) live in [`crate::auth`].
//!
//! Secrets (tokens, passwords, keys) never appear in `Debug` output or error messages.

mod error;
mod field_data;
mod identity;
mod impersonation;
mod incluster;
mod infer;
mod kubeconfig;
mod loader;
mod pem;
mod resolve;
mod secret;
mod text;
mod yaml;

use std::time::Duration;

use rustls_pki_types::CertificateDer;

use crate::auth::Auth;

pub use error::{EntryKind, Error, FieldRef, InferAttempt, ParseError, PemError, Result};
pub use identity::Identity;
pub use impersonation::Impersonation;
pub use incluster::{SERVICE_ACCOUNT_DIR, SERVICE_HOST_ENV, SERVICE_PORT_ENV};
pub use kubeconfig::{
    AuthInfo, AuthProviderConfig, Cluster, Context, ExecConfig, ExecEnvVar, ExecInteractiveMode, Kubeconfig,
    MAX_NESTING_DEPTH, NamedAuthInfo, NamedCluster, NamedContext, NamedExtension, OtherFields, Preferences,
};
pub use loader::{KUBECONFIG_ENV, default_kubeconfig_path, kubeconfig_paths};
#[cfg(test)]
pub(crate) use pem::tests as pem_test;
pub use pem::{certificates_from_pem, private_key_from_pem};
pub use resolve::{KubeConfigOptions, KubeconfigSource};
pub(crate) use secret::{RedactedUrl, redact_opt};
pub use secret::{SecretString, redact_url};

/// The namespace used when the context (or the service account) names none.
pub const DEFAULT_NAMESPACE: &str = "default";
/// The default [`Config::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default [`Config::read_timeout`]; longer than the API server's default watch timeout.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(295);
/// The default [`Config::tls_handshake_timeout`], client-go's `TLSHandshakeTimeout`.
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The default [`Config::progress_timeout`].
pub const DEFAULT_PROGRESS_TIMEOUT: Duration = Duration::from_secs(60);
/// The default [`Config::watch_progress_timeout`]: two bookmark intervals of the API server's
/// watch cache (one minute each).
pub const DEFAULT_WATCH_PROGRESS_TIMEOUT: Duration = Duration::from_secs(120);

/// A resolved client configuration: everything the HTTP transport needs to reach the cluster
/// and authenticate.
///
/// `Debug` output shows no secrets.
///
/// ```
/// use kube_client::{auth::Auth, config::{Config, SecretString}};
///
/// let mut config = Config::new("https://127.0.0.1:6443".parse().unwrap());
/// assert_eq!(config.default_namespace, "default");
/// config.auth = Auth::Token(SecretString::new("abc"));
/// assert!(!format!("{config:?}").contains("abc"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// The API server's URL; may have a path prefix (e.g. behind a proxying gateway).
    pub cluster_url: http::Uri,
    /// The namespace of the context, or `default`.
    pub default_namespace: String,
    /// CA certificates to trust for the server (DER). Empty: none configured (use the
    /// platform's or built-in roots).
    pub root_certs: Vec<CertificateDer<'static>>,
    /// Skip verification of the server's certificate (`insecure-skip-tls-verify`).
    pub accept_invalid_certs: bool,
    /// The name to verify the server's certificate against (and send as SNI) instead of the
    /// host of [`Config::cluster_url`].
    pub tls_server_name: Option<String>,
    /// The proxy to connect through.
    pub proxy_url: Option<http::Uri>,
    /// Do not ask for compressed responses.
    pub disable_compression: bool,
    /// The client certificate and key for mutual TLS. An exec plugin may give another one:
    /// see [`ExecAuth::credential`](crate::auth::ExecAuth::credential).
    pub identity: Option<Identity>,
    /// The credentials for each request.
    pub auth: Auth,
    /// Whom to impersonate.
    pub impersonation: Impersonation,
    /// Timeout for establishing a TCP connection (to the server or the proxy, and through the
    /// proxy); `None` for none.
    pub connect_timeout: Option<Duration>,
    /// Timeout for the TLS handshake once connected (client-go's `TLSHandshakeTimeout`, 10 s by
    /// default); `None` for none.
    pub tls_handshake_timeout: Option<Duration>,
    /// Timeout for the response (its status and headers) to arrive; `None` for none. Bodies are
    /// not bounded by it, so watches and log streams run as long as the server keeps them open.
    pub read_timeout: Option<Duration>,
    /// How long a response body may deliver nothing before it fails with a timeout (60 s by
    /// default); `None` for none. Watches and followed logs have their own rules: see
    /// [`client::progress`](crate::client::progress).
    pub progress_timeout: Option<Duration>,
    /// The progress timeout of watches that ask for bookmarks (120 s by default: the API server
    /// sends them a bookmark about every minute), and the margin after `timeoutSeconds` for
    /// watches that do not; `None` for none.
    pub watch_progress_timeout: Option<Duration>,
    /// Ask for protobuf on reads of built-in types (see
    /// [`Client::with_protobuf`](crate::Client::with_protobuf)); on by default with the `protobuf`
    /// feature ([`PROTOBUF_BY_DEFAULT`](crate::client::PROTOBUF_BY_DEFAULT)). Needs the
    /// `protobuf` feature (a default one); without it reads stay JSON.
    pub protobuf: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proxy = self.proxy_url.as_ref().map(ToString::to_string);
        f.debug_struct("Config")
            .field("cluster_url", &self.cluster_url)
            .field("default_namespace", &self.default_namespace)
            .field("root_certs", &self.root_certs.len())
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .field("tls_server_name", &self.tls_server_name)
            .field("proxy_url", &RedactedUrl(proxy.as_deref()))
            .field("disable_compression", &self.disable_compression)
            .field("identity", &self.identity)
            .field("auth", &self.auth)
            .field("impersonation", &self.impersonation)
            .field("connect_timeout", &self.connect_timeout)
            .field("tls_handshake_timeout", &self.tls_handshake_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("progress_timeout", &self.progress_timeout)
            .field("watch_progress_timeout", &self.watch_progress_timeout)
            .field("protobuf", &self.protobuf)
            .finish()
    }
}

impl Config {
    /// A configuration for `cluster_url` with no TLS settings, no credentials, the `default`
    /// namespace and the default timeouts.
    pub fn new(cluster_url: http::Uri) -> Config {
        Config {
            cluster_url,
            default_namespace: DEFAULT_NAMESPACE.to_owned(),
            root_certs: Vec::new(),
            accept_invalid_certs: false,
            tls_server_name: None,
            proxy_url: None,
            disable_compression: false,
            identity: None,
            auth: Auth::None,
            impersonation: Impersonation::default(),
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            tls_handshake_timeout: Some(DEFAULT_TLS_HANDSHAKE_TIMEOUT),
            read_timeout: Some(DEFAULT_READ_TIMEOUT),
            progress_timeout: Some(DEFAULT_PROGRESS_TIMEOUT),
            watch_progress_timeout: Some(DEFAULT_WATCH_PROGRESS_TIMEOUT),
            protobuf: crate::client::PROTOBUF_BY_DEFAULT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_has_defaults() {
        let config = Config::new("https://k8s:6443".parse().unwrap());
        assert_eq!(config.default_namespace, "default");
        assert!(config.root_certs.is_empty() && config.identity.is_none());
        assert!(matches!(config.auth, Auth::None));
        assert!(config.impersonation.is_empty());
        assert_eq!(config.connect_timeout, Some(DEFAULT_CONNECT_TIMEOUT));
        assert_eq!(config.read_timeout, Some(DEFAULT_READ_TIMEOUT));
        assert_eq!(config.tls_handshake_timeout, Some(Duration::from_secs(10)));
        assert_eq!(config.progress_timeout, Some(Duration::from_secs(60)));
        assert_eq!(config.watch_progress_timeout, Some(Duration::from_secs(120)));
    }

    #[test]
    fn config_is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        fn check_clone<T: Clone>() {}
        check::<Config>();
        check_clone::<Config>();
        check::<Error>();
    }
}
