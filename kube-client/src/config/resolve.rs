//! Turning a [`Kubeconfig`] into a [`Config`]: choosing the context, cluster and user, decoding
//! `*-data` fields, reading referenced files and parsing certificates.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Config;
use super::Impersonation;
use super::error::{EntryKind, Error, FieldRef, Result};
use super::field_data::data_or_file;
use super::identity::Identity;
use super::kubeconfig::{AuthInfo, AuthProviderConfig, Cluster, Kubeconfig, NamedAuthInfo, NamedCluster};
use super::pem::{certificates_from_pem, private_key_from_pem};
use super::secret::{SecretString, redact_url};
use crate::auth::{Auth, EXEC_CLUSTER_EXTENSION, ExecAuth, ExecClusterInfo, OidcAuth, OidcConfig, TokenFile};

/// Overrides for picking the context, cluster and user (kubectl's `--context`, `--cluster`,
/// `--user`). Empty means "from the kubeconfig".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KubeConfigOptions {
    /// The context to use instead of `current-context`.
    pub context: Option<String>,
    /// The cluster to use instead of the context's.
    pub cluster: Option<String>,
    /// The user to use instead of the context's.
    pub user: Option<String>,
}

/// Where [`Config::from_custom_kubeconfig`] gets its kubeconfig: one file, or one already loaded.
#[derive(Clone, Debug)]
pub enum KubeconfigSource {
    /// A kubeconfig file, which must exist.
    Path(PathBuf),
    /// A kubeconfig in memory.
    Kubeconfig(Box<Kubeconfig>),
}

impl From<PathBuf> for KubeconfigSource {
    fn from(path: PathBuf) -> Self {
        KubeconfigSource::Path(path)
    }
}

impl From<&Path> for KubeconfigSource {
    fn from(path: &Path) -> Self {
        KubeconfigSource::Path(path.to_owned())
    }
}

impl From<&str> for KubeconfigSource {
    fn from(path: &str) -> Self {
        KubeconfigSource::Path(path.into())
    }
}

impl From<Kubeconfig> for KubeconfigSource {
    fn from(kubeconfig: Kubeconfig) -> Self {
        KubeconfigSource::Kubeconfig(Box::new(kubeconfig))
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

impl Config {
    /// Resolves the context chosen by `options` (or `current-context`) of a kubeconfig.
    ///
    /// Decodes the `*-data` fields, reads the files that fields name (CA, client certificate and
    /// key; token files are read on use), and parses the certificates, so every problem shows
    /// here with the file, entry and field named.
    ///
    /// Where kubectl refuses a kubeconfig, so does this:
    /// - `as-uid`, `as-groups` or `as-user-extra` without `as`;
    /// - `insecure-skip-tls-verify` together with a CA (`certificate-authority[-data]`);
    /// - a `*-data` field together with its file field (CA, client certificate, client key);
    /// - a token (or token file) together with a username/password; an exec plugin together with
    ///   an auth provider.
    ///
    /// Other combinations of credentials kubectl accepts (an exec plugin or auth provider with
    /// a token) are accepted with a warning; the first of exec, auth provider, token, basic is used.
    ///
    /// **Plain `http://` servers get no credentials**, as with kubectl (it merges a user's
    /// credentials only into TLS configurations): for an `http://` cluster the token, token
    /// file, basic auth, exec plugin, auth provider and client certificate are dropped here,
    /// with a warning; impersonation is kept, as kubectl keeps it. This happens at resolution
    /// only: a [`Config`] built by hand is used as it is.
    ///
    /// ```
    /// use kube_client::{auth::Auth, config::{Config, KubeConfigOptions, Kubeconfig}};
    ///
    /// let kc = Kubeconfig::from_yaml(
    ///     "clusters: [{name: c, cluster: {server: 'https://k8s.example.com'}}]\n\
    ///      users: [{name: u, user: {token: abc}}]\n\
    ///      contexts: [{name: x, context: {cluster: c, user: u, namespace: apps}}]\n\
    ///      current-context: x\n",
    /// )?;
    /// let config = Config::from_kubeconfig(&kc, &KubeConfigOptions::default())?;
    /// assert_eq!(config.cluster_url, "https://k8s.example.com/");
    /// assert_eq!(config.default_namespace, "apps");
    /// assert!(matches!(config.auth, Auth::Token(_)));
    ///
    /// let missing = KubeConfigOptions { context: Some("nope".into()), ..Default::default() };
    /// assert!(Config::from_kubeconfig(&kc, &missing).is_err());
    /// # Ok::<(), kube_client::config::Error>(())
    /// ```
    pub fn from_kubeconfig(kubeconfig: &Kubeconfig, options: &KubeConfigOptions) -> Result<Config> {
        let origin = kubeconfig.origin();
        let context_name =
            non_empty(options.context.as_deref()).or(non_empty(kubeconfig.current_context.as_deref()));
        let context =
            match context_name {
                Some(name) => Some(kubeconfig.context(name).ok_or_else(|| Error::ContextNotFound {
                    name: name.to_owned(),
                    origin: origin.clone(),
                })?),
                // a cluster given explicitly does not need a context
                None if non_empty(options.cluster.as_deref()).is_some() => None,
                None => return Err(Error::NoCurrentContext { origin }),
            };
        let selected_by = |from_options: bool| match (from_options, context) {
            (false, Some(c)) => format!("context {:?}", c.name),
            _ => "options".to_owned(),
        };

        let cluster_from_options = non_empty(options.cluster.as_deref());
        let cluster_name = cluster_from_options.or(context.map(|c| c.context.cluster.as_str())).unwrap_or("");
        let cluster = kubeconfig.cluster(cluster_name).ok_or_else(|| Error::ClusterNotFound {
            name: cluster_name.to_owned(),
            selected_by: selected_by(cluster_from_options.is_some()),
            origin: origin.clone(),
        })?;

        let user_from_options = non_empty(options.user.as_deref());
        let user_name = user_from_options.or(context.and_then(|c| non_empty(Some(&c.context.user))));
        let user = match user_name {
            Some(name) => Some(kubeconfig.user(name).ok_or_else(|| Error::UserNotFound {
                name: name.to_owned(),
                selected_by: selected_by(user_from_options.is_some()),
                origin: origin.clone(),
            })?),
            None => None,
        };

        let (mut config, ca_bytes) = cluster_config(cluster)?;
        if let Some(ns) = context.and_then(|c| non_empty(c.context.namespace.as_deref())) {
            config.default_namespace = ns.to_owned();
        }
        if let Some(user) = user {
            let exec_cluster = exec_cluster_info(&cluster.cluster, &config, ca_bytes);
            apply_user(&mut config, user, exec_cluster)?;
        }
        Ok(config)
    }

    /// Loads a kubeconfig file (which must exist) or takes a loaded one, then resolves it as
    /// [`Config::from_kubeconfig`] does.
    pub fn from_custom_kubeconfig(
        source: impl Into<KubeconfigSource>,
        options: &KubeConfigOptions,
    ) -> Result<Config> {
        match source.into() {
            KubeconfigSource::Path(path) => Config::from_kubeconfig(&Kubeconfig::read_from(path)?, options),
            KubeconfigSource::Kubeconfig(kc) => Config::from_kubeconfig(&kc, options),
        }
    }
}

/// The cluster part of a config, and the raw CA bytes (for exec plugins).
fn cluster_config(named: &NamedCluster) -> Result<(Config, Option<Vec<u8>>)> {
    let field = |f| FieldRef::new(EntryKind::Cluster, &named.name, f, named.source_file.as_ref());
    let cluster = &named.cluster;
    let server = non_empty(cluster.server.as_deref()).ok_or_else(|| Error::MissingField(field("server")))?;
    let cluster_url = parse_url(server, || field("server"))?;
    let mut config = Config::new(cluster_url);

    let ca_data = non_empty(cluster.certificate_authority_data.as_deref().map(str::trim));
    let ca_file = cluster.certificate_authority.as_ref().filter(|p| !p.as_os_str().is_empty());
    if ca_data.is_some() && ca_file.is_some() {
        return Err(both_set(field("certificate-authority-data"), "certificate-authority"));
    }
    if cluster.insecure_skip_tls_verify && (ca_data.is_some() || ca_file.is_some()) {
        return Err(Error::InvalidField {
            field: field("insecure-skip-tls-verify"),
            reason: "specifying a root certificates file with the insecure flag is not allowed \
                     (kubectl refuses it too): remove the certificate authority or the flag"
                .to_owned(),
        });
    }
    let ca = data_or_file(
        cluster.certificate_authority_data.as_deref(),
        || field("certificate-authority-data"),
        cluster.certificate_authority.as_deref(),
        || field("certificate-authority"),
    )?;
    let ca_bytes = match ca {
        Some((bytes, from)) => {
            config.root_certs =
                certificates_from_pem(&bytes).map_err(|source| Error::Pem { field: from, source })?;
            Some(bytes)
        }
        None => None,
    };
    config.accept_invalid_certs = cluster.insecure_skip_tls_verify;
    config.tls_server_name = non_empty(cluster.tls_server_name.as_deref()).map(str::to_owned);
    config.proxy_url = match non_empty(cluster.proxy_url.as_deref()) {
        Some(proxy) => Some(parse_url(proxy, || field("proxy-url"))?),
        None => None,
    };
    config.disable_compression = cluster.disable_compression;
    Ok((config, ca_bytes))
}

/// The error for a `*-data` field set together with its file field, which kubectl refuses.
fn both_set(data_field: Box<FieldRef>, file_field: &str) -> Error {
    Error::InvalidField {
        field: data_field,
        reason: format!("{file_field} is set too; set only one (kubectl refuses both)"),
    }
}

fn parse_url(url: &str, field: impl Fn() -> Box<FieldRef>) -> Result<http::Uri> {
    let uri = url.parse::<http::Uri>().map_err(|source| Error::InvalidUri { field: field(), source })?;
    if uri.scheme().is_none() || uri.authority().is_none() {
        return Err(Error::InvalidField {
            field: field(),
            reason: format!("{:?} is not an absolute URL (scheme://host[:port])", redact_url(url)),
        });
    }
    Ok(uri)
}

fn exec_cluster_info(cluster: &Cluster, config: &Config, ca: Option<Vec<u8>>) -> ExecClusterInfo {
    let mut info = ExecClusterInfo::new(cluster.server.clone().unwrap_or_default());
    info.tls_server_name = config.tls_server_name.clone();
    info.insecure_skip_tls_verify = config.accept_invalid_certs;
    info.certificate_authority_data = ca;
    info.proxy_url = cluster.proxy_url.clone().filter(|p| !p.is_empty());
    info.disable_compression = cluster.disable_compression;
    info.config =
        cluster.extensions.iter().find(|e| e.name == EXEC_CLUSTER_EXTENSION).map(|e| e.extension.clone());
    info
}

fn apply_user(config: &mut Config, named: &NamedAuthInfo, exec_cluster: ExecClusterInfo) -> Result<()> {
    let field = |f| FieldRef::new(EntryKind::User, &named.name, f, named.source_file.as_ref());
    let user = &named.user;

    let set = |data: Option<&str>, file: Option<&PathBuf>| {
        non_empty(data.map(str::trim)).is_some() && file.is_some_and(|p| !p.as_os_str().is_empty())
    };
    if set(user.client_certificate_data.as_deref(), user.client_certificate.as_ref()) {
        return Err(both_set(field("client-certificate-data"), "client-certificate"));
    }
    if set(user.client_key_data.as_deref(), user.client_key.as_ref()) {
        return Err(both_set(field("client-key-data"), "client-key"));
    }
    let impersonation = Impersonation {
        user: non_empty(user.impersonate.as_deref()).map(str::to_owned),
        uid: non_empty(user.impersonate_uid.as_deref()).map(str::to_owned),
        groups: user.impersonate_groups.clone(),
        extra: user.impersonate_user_extra.clone(),
    };
    if impersonation.user.is_none()
        && (impersonation.uid.is_some()
            || !impersonation.groups.is_empty()
            || !impersonation.extra.is_empty())
    {
        return Err(Error::InvalidField {
            field: field("as"),
            reason: "requesting uid, groups or user-extra without impersonating a user: \
                     set as (the user to impersonate) too"
                .to_owned(),
        });
    }
    config.impersonation = impersonation;

    let cert = data_or_file(
        user.client_certificate_data.as_deref(),
        || field("client-certificate-data"),
        user.client_certificate.as_deref(),
        || field("client-certificate"),
    )?;
    let key = data_or_file(
        user.client_key_data.as_deref(),
        || field("client-key-data"),
        user.client_key.as_deref(),
        || field("client-key"),
    )?;
    config.identity = match (cert, key) {
        (Some((cert, cert_field)), Some((key, key_field))) => {
            let chain =
                certificates_from_pem(&cert).map_err(|source| Error::Pem { field: cert_field, source })?;
            let key = private_key_from_pem(&key).map_err(|source| Error::Pem { field: key_field, source })?;
            Some(Identity::new(chain, key))
        }
        (None, None) => None,
        (Some(_), None) => return Err(Error::MissingField(field("client-key-data (or client-key)"))),
        (None, Some(_)) => {
            return Err(Error::MissingField(field("client-certificate-data (or client-certificate)")));
        }
    };

    config.auth = auth(user, &field, exec_cluster)?;
    if config.cluster_url.scheme() == Some(&http::uri::Scheme::HTTP)
        && (!matches!(config.auth, Auth::None) || config.identity.is_some())
    {
        tracing::warn!(
            "{} are not sent: the server {} is plain http://, and credentials go only over TLS (as with kubectl)",
            field("credentials"),
            config.cluster_url
        );
        config.auth = Auth::None;
        config.identity = None;
    }
    Ok(())
}

/// Picks the request credentials: exec plugin, then auth provider, then token file / token,
/// then basic auth. Combinations kubectl refuses are errors; others give a warning.
fn auth(
    user: &AuthInfo,
    field: &dyn Fn(&'static str) -> Box<FieldRef>,
    exec_cluster: ExecClusterInfo,
) -> Result<Auth> {
    let token = non_empty(user.token.as_deref());
    let token_file = user.token_file.as_ref().filter(|p| !p.as_os_str().is_empty());
    let username = non_empty(user.username.as_deref());
    if (token.is_some() || token_file.is_some()) && username.is_some() {
        return Err(Error::InvalidField {
            field: field("token"),
            reason: "username/password or bearer token may be set, but not both (kubectl refuses both)"
                .to_owned(),
        });
    }
    if user.exec.is_some() && user.auth_provider.is_some() {
        return Err(Error::InvalidField {
            field: field("exec"),
            reason: "an auth-provider cannot be combined with an exec plugin (kubectl refuses both)"
                .to_owned(),
        });
    }
    let kinds = [user.exec.is_some(), user.auth_provider.is_some(), token.is_some() || token_file.is_some()]
        .into_iter()
        .filter(|set| *set)
        .count();
    if kinds > 1 {
        tracing::warn!(
            "{} sets more than one authentication method; using the first of exec, auth-provider, token, basic",
            field("credentials")
        );
    }

    if let Some(exec) = &user.exec {
        if exec.command.is_empty() {
            return Err(Error::MissingField(field("exec.command")));
        }
        let cluster = exec.provide_cluster_info.then_some(exec_cluster);
        return Ok(Auth::Exec(Arc::new(ExecAuth::new(exec.clone(), cluster))));
    }
    if let Some(provider) = &user.auth_provider {
        return auth_provider(provider, field).map(|oidc| Auth::Oidc(Arc::new(OidcAuth::new(oidc))));
    }
    match (token, token_file) {
        (token, Some(path)) => {
            let file = match token {
                Some(token) => TokenFile::with_fallback(path, SecretString::new(token)),
                None => TokenFile::new(path),
            };
            return Ok(Auth::TokenFile(Arc::new(file)));
        }
        (Some(token), None) => return Ok(Auth::Token(SecretString::new(token))),
        (None, None) => {}
    }
    if let Some(username) = username {
        let password = user.password.clone().unwrap_or_default();
        return Ok(Auth::Basic { username: username.to_owned(), password: SecretString::new(password) });
    }
    Ok(Auth::None)
}

fn auth_provider(
    provider: &AuthProviderConfig,
    field: &dyn Fn(&'static str) -> Box<FieldRef>,
) -> Result<OidcConfig> {
    if provider.name != "oidc" {
        let hint = match provider.name.as_str() {
            "gcp" => " (use the gke-gcloud-auth-plugin exec plugin instead)",
            "azure" => " (use the kubelogin exec plugin instead)",
            _ => "",
        };
        return Err(Error::InvalidField {
            field: field("auth-provider"),
            reason: format!("auth provider {:?} is not supported{hint}", provider.name),
        });
    }
    let get = |key: &str| non_empty(provider.config.get(key).map(String::as_str)).map(str::to_owned);
    let issuer_ca = data_or_file(
        get("idp-certificate-authority-data").as_deref(),
        || field("auth-provider.config.idp-certificate-authority-data"),
        get("idp-certificate-authority").as_deref().map(Path::new),
        || field("auth-provider.config.idp-certificate-authority"),
    )?
    .map(|(bytes, _)| bytes);
    Ok(OidcConfig {
        issuer_url: get("idp-issuer-url"),
        client_id: get("client-id"),
        client_secret: get("client-secret").map(SecretString::from),
        id_token: get("id-token").map(SecretString::from),
        refresh_token: get("refresh-token").map(SecretString::from),
        issuer_ca,
        extra_scopes: get("extra-scopes")
            .map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::pem::tests::{BAD_PEM, TEST_CERT, TEST_KEY};
    use super::*;
    use base64::Engine as _;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn kubeconfig(users: &str) -> Kubeconfig {
        let yaml = format!(
            "current-context: main\n\
             clusters:\n\
             - name: c\n  cluster:\n    server: https://k8s.example.com:6443\n\
             \x20   certificate-authority-data: {ca}\n    tls-server-name: kubernetes\n\
             \x20   proxy-url: http://proxy:3128\n    disable-compression: true\n\
             \x20   extensions: [{{name: client.authentication.k8s.io/exec, extension: {{audience: a}}}}]\n\
             - name: insecure\n  cluster: {{server: 'http://localhost:8080', insecure-skip-tls-verify: true}}\n\
             - name: noserver\n  cluster: {{}}\n\
             contexts:\n\
             - name: main\n  context: {{cluster: c, user: u, namespace: apps}}\n\
             - name: nouser\n  context: {{cluster: insecure}}\n\
             - name: badcluster\n  context: {{cluster: missing, user: u}}\n\
             - name: baduser\n  context: {{cluster: c, user: missing}}\n\
             users:\n{users}",
            ca = b64(TEST_CERT)
        );
        let mut kc = Kubeconfig::from_yaml(&yaml).unwrap();
        let file = PathBuf::from("/home/me/.kube/config");
        kc.source_files = vec![file.clone()];
        kc.users.iter_mut().for_each(|u| u.source_file = Some(file.clone()));
        kc.clusters.iter_mut().for_each(|u| u.source_file = Some(file.clone()));
        kc
    }

    fn resolve(kc: &Kubeconfig) -> Result<Config> {
        Config::from_kubeconfig(kc, &KubeConfigOptions::default())
    }

    #[test]
    fn resolves_cluster_user_and_namespace() {
        let kc = kubeconfig(&format!(
            "- name: u\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n\
             \x20   token: tok\n    as: jane\n    as-uid: '42'\n    as-groups: [g1, g2]\n\
             \x20   as-user-extra: {{scopes: [a, b]}}\n",
            b64(TEST_CERT),
            b64(TEST_KEY)
        ));
        let config = resolve(&kc).unwrap();
        assert_eq!(config.cluster_url, "https://k8s.example.com:6443/");
        assert_eq!(config.default_namespace, "apps");
        assert_eq!(config.root_certs.len(), 1);
        assert!(!config.accept_invalid_certs);
        assert_eq!(config.tls_server_name.as_deref(), Some("kubernetes"));
        assert_eq!(config.proxy_url.as_ref().unwrap(), "http://proxy:3128/");
        assert!(config.disable_compression);
        assert_eq!(config.identity.as_ref().unwrap().cert_chain().len(), 1);
        assert_eq!(config.auth.authorization().unwrap().unwrap(), "Bearer tok");
        assert_eq!(config.impersonation.user.as_deref(), Some("jane"));
        assert_eq!(config.impersonation.uid.as_deref(), Some("42"));
        assert_eq!(config.impersonation.groups, ["g1", "g2"]);
        assert_eq!(config.impersonation.extra["scopes"], ["a", "b"]);
        let debug = format!("{config:?}");
        assert!(!debug.contains("tok\""), "{debug}");
    }

    #[test]
    fn options_override_context_cluster_and_user() {
        let kc =
            kubeconfig("- name: u\n  user: {token: t}\n- name: v\n  user: {username: bob, password: pw}\n");
        let opts = KubeConfigOptions { context: Some("nouser".into()), ..Default::default() };
        let config = Config::from_kubeconfig(&kc, &opts).unwrap();
        assert_eq!(config.cluster_url, "http://localhost:8080/");
        assert!(config.accept_invalid_certs);
        assert_eq!(config.default_namespace, "default");
        assert!(matches!(config.auth, Auth::None));

        let opts =
            KubeConfigOptions { cluster: Some("insecure".into()), user: Some("v".into()), context: None };
        let config = Config::from_kubeconfig(&kc, &opts).unwrap();
        assert_eq!(config.cluster_url, "http://localhost:8080/");
        assert_eq!(config.default_namespace, "apps");
        // plain http: no credentials
        assert!(matches!(config.auth, Auth::None));
        let opts = KubeConfigOptions { user: Some("v".into()), ..Default::default() };
        let config = Config::from_kubeconfig(&kc, &opts).unwrap();
        assert!(matches!(&config.auth, Auth::Basic { username, .. } if username == "bob"));

        // no current-context, but a cluster given: works without a context
        let mut no_current = kc.clone();
        no_current.current_context = None;
        let opts = KubeConfigOptions { cluster: Some("c".into()), ..Default::default() };
        let config = Config::from_kubeconfig(&no_current, &opts).unwrap();
        assert!(matches!(config.auth, Auth::None));
        let err = resolve(&no_current).unwrap_err();
        assert!(matches!(err, Error::NoCurrentContext { .. }), "{err}");
    }

    #[test]
    fn unknown_names_are_errors() {
        let kc = kubeconfig("- name: u\n  user: {}\n");
        let opts = |c: &str| KubeConfigOptions { context: Some(c.into()), ..Default::default() };
        let err = Config::from_kubeconfig(&kc, &opts("nope")).unwrap_err();
        assert_eq!(err.to_string(), "context \"nope\" not found in /home/me/.kube/config");
        let err = Config::from_kubeconfig(&kc, &opts("badcluster")).unwrap_err();
        assert!(
            err.to_string().starts_with("cluster \"missing\" (selected by context \"badcluster\")"),
            "{err}"
        );
        let err = Config::from_kubeconfig(&kc, &opts("baduser")).unwrap_err();
        assert!(matches!(err, Error::UserNotFound { .. }), "{err}");
        let err = Config::from_kubeconfig(
            &kc,
            &KubeConfigOptions { cluster: Some("noserver".into()), ..opts("main") },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "missing server of cluster \"noserver\" in /home/me/.kube/config");
    }

    #[test]
    fn bad_data_errors_name_user_and_field() {
        let kc = kubeconfig(
            "- name: u\n  user: {client-certificate-data: '!!notbase64', client-key-data: eA==}\n",
        );
        let err = resolve(&kc).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "failed to decode client-certificate-data of user \"u\" in /home/me/.kube/config: invalid base64"
            ),
            "{err}"
        );

        let kc = kubeconfig(&format!(
            "- name: u\n  user: {{client-certificate-data: {}, client-key-data: {}}}\n",
            b64(BAD_PEM),
            b64(TEST_KEY)
        ));
        let err = resolve(&kc).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "failed to parse client-certificate-data of user \"u\" in /home/me/.kube/config"
            ),
            "{err}"
        );
        let kc = kubeconfig(&format!(
            "- name: u\n  user: {{client-certificate-data: {}, client-key-data: {}}}\n",
            b64(TEST_CERT),
            b64("secret-but-not-a-key")
        ));
        let err = resolve(&kc).unwrap_err();
        assert!(err.to_string().contains("client-key-data of user \"u\""), "{err}");
        assert!(!err.to_string().contains("secret-but-not-a-key"), "{err}");

        let kc = kubeconfig(&format!("- name: u\n  user: {{client-certificate-data: {}}}\n", b64(TEST_CERT)));
        assert!(matches!(resolve(&kc), Err(Error::MissingField(_))));

        let mut kc = kubeconfig("- name: u\n  user: {}\n");
        kc.clusters[0].cluster.certificate_authority_data = Some(b64(BAD_PEM));
        let err = resolve(&kc).unwrap_err();
        assert!(err.to_string().contains("certificate-authority-data of cluster \"c\""), "{err}");
        kc.clusters[0].cluster.server = Some("not a url".into());
        assert!(resolve(&kc).unwrap_err().to_string().starts_with("invalid server of cluster \"c\""));
        kc.clusters[0].cluster.server = Some("/relative".into());
        assert!(resolve(&kc).unwrap_err().to_string().contains("not an absolute URL"));
        kc.clusters[0].cluster.server = Some("https://c".into());
        kc.clusters[0].cluster.certificate_authority_data = None;
        kc.clusters[0].cluster.proxy_url = Some("user:supersecret@proxy:3128".into());
        let msg = resolve(&kc).unwrap_err().to_string();
        assert!(msg.starts_with("invalid proxy-url of cluster \"c\""), "{msg}");
        assert!(!msg.contains("supersecret"), "{msg}");
    }

    #[test]
    fn files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.crt"), TEST_CERT).unwrap();
        std::fs::write(dir.path().join("client.crt"), TEST_CERT).unwrap();
        std::fs::write(dir.path().join("client.key"), TEST_KEY).unwrap();
        std::fs::write(dir.path().join("token"), "file-token\n").unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "current-context: x\n\
             clusters: [{name: c, cluster: {server: 'https://c', certificate-authority: ca.crt}}]\n\
             contexts: [{name: x, context: {cluster: c, user: u}}]\n\
             users: [{name: u, user: {client-certificate: client.crt, client-key: client.key, \
             tokenFile: token, token: inline}}]\n",
        )
        .unwrap();
        let config = Config::from_custom_kubeconfig(path.as_path(), &KubeConfigOptions::default()).unwrap();
        assert_eq!(config.root_certs.len(), 1);
        assert!(config.identity.is_some());
        assert_eq!(config.auth.authorization().unwrap().unwrap(), "Bearer file-token");

        // a missing file is an error naming field and file
        let mut kc = Kubeconfig::read_from(&path).unwrap();
        kc.users[0].user.client_key = Some(dir.path().join("missing.key"));
        kc.users[0].user.client_key_data = None;
        let err = Config::from_kubeconfig(&kc, &Default::default()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("failed to read client-key of user \"u\" in {}", path.display())),
            "{msg}"
        );
        assert!(msg.contains("missing.key"), "{msg}");

        let err = Config::from_custom_kubeconfig(dir.path().join("nope"), &Default::default()).unwrap_err();
        assert!(matches!(err, Error::ReadKubeconfig { .. }), "{err}");
    }

    #[test]
    fn combinations_kubectl_refuses_are_errors_naming_entry_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.crt");
        std::fs::write(&file, TEST_CERT).unwrap();
        let (cert, key, file) = (b64(TEST_CERT), b64(TEST_KEY), file.display().to_string());
        let cluster = |extra: &str| {
            let mut kc = kubeconfig("- name: u\n  user: {}\n");
            let c: Cluster = serde_saphyr::from_str(&format!("{{server: 'https://c', {extra}}}")).unwrap();
            kc.clusters[0].cluster = c;
            resolve(&kc).unwrap_err().to_string()
        };
        let user = |fields: &str| {
            resolve(&kubeconfig(&format!("- name: u\n  user: {{{fields}}}\n"))).unwrap_err().to_string()
        };
        let at = "of cluster \"c\" in /home/me/.kube/config";
        let cases = [
            (
                cluster(&format!("insecure-skip-tls-verify: true, certificate-authority-data: {cert}")),
                format!("invalid insecure-skip-tls-verify {at}: specifying a root certificates file with the insecure flag is not allowed"),
            ),
            (
                cluster(&format!("insecure-skip-tls-verify: true, certificate-authority: {file}")),
                format!("invalid insecure-skip-tls-verify {at}: specifying a root certificates file"),
            ),
            (
                cluster(&format!("certificate-authority-data: {cert}, certificate-authority: {file}")),
                format!("invalid certificate-authority-data {at}: certificate-authority is set too; set only one"),
            ),
            (
                user(&format!("client-certificate-data: {cert}, client-certificate: {file}, client-key-data: {key}")),
                "invalid client-certificate-data of user \"u\" in /home/me/.kube/config: client-certificate is set too".into(),
            ),
            (
                user(&format!("client-certificate-data: {cert}, client-key: {file}, client-key-data: {key}")),
                "invalid client-key-data of user \"u\" in /home/me/.kube/config: client-key is set too".into(),
            ),
            (
                user("token: supersecret, username: bob, password: pw"),
                "invalid token of user \"u\" in /home/me/.kube/config: username/password or bearer token may be set, but not both".into(),
            ),
            (user(&format!("tokenFile: {file}, username: bob")), "username/password or bearer token may be set, but not both".into()),
            (
                user("exec: {command: plugin}, auth-provider: {name: oidc}"),
                "invalid exec of user \"u\" in /home/me/.kube/config: an auth-provider cannot be combined with an exec plugin".into(),
            ),
        ];
        for (err, expected) in cases {
            assert!(err.contains(&expected), "{err}\nexpected: {expected}");
            assert!(!err.contains("supersecret"), "{err}");
        }
        // kubectl accepts these; so does this library (with a warning): exec first, then token
        let kc = kubeconfig("- name: u\n  user: {token: t, exec: {command: plugin}}\n");
        assert!(matches!(resolve(&kc).unwrap().auth, Auth::Exec(_)));
        let kc = kubeconfig("- name: u\n  user: {token: t, tokenFile: /nonexistent}\n");
        assert!(matches!(resolve(&kc).unwrap().auth, Auth::TokenFile(_)));
        // an insecure cluster without a CA is fine
        let kc = kubeconfig("- name: u\n  user: {}\n");
        let opts = KubeConfigOptions { cluster: Some("insecure".into()), ..Default::default() };
        assert!(Config::from_kubeconfig(&kc, &opts).unwrap().accept_invalid_certs);
    }

    #[test]
    fn impersonating_groups_uid_or_extra_without_a_user_is_refused() {
        for fields in
            ["as-groups: [g]", "as-uid: '1'", "as-user-extra: {scopes: [a]}", "as: '', as-groups: [g]"]
        {
            let kc = kubeconfig(&format!("- name: u\n  user: {{token: t, {fields}}}\n"));
            let err = resolve(&kc).unwrap_err().to_string();
            assert!(
                err.starts_with(
                    "invalid as of user \"u\" in /home/me/.kube/config: requesting uid, groups or user-extra without impersonating a user"
                ),
                "{fields}: {err}"
            );
        }
        let kc = kubeconfig("- name: u\n  user: {as: jane, as-groups: [g]}\n");
        let config = resolve(&kc).unwrap();
        assert_eq!(
            (config.impersonation.user.as_deref(), config.impersonation.groups.len()),
            (Some("jane"), 1)
        );
    }

    #[test]
    fn plain_http_servers_get_no_credentials_but_impersonation() {
        let users = format!(
            "- name: tok\n  user: {{token: t, as: jane, as-groups: [g]}}\n\
             - name: basic\n  user: {{username: bob, password: pw}}\n\
             - name: file\n  user: {{tokenFile: /var/token}}\n\
             - name: exec\n  user: {{exec: {{command: plugin}}}}\n\
             - name: oidc\n  user: {{auth-provider: {{name: oidc, config: {{id-token: x}}}}}}\n\
             - name: cert\n  user: {{client-certificate-data: {}, client-key-data: {}}}\n",
            b64(TEST_CERT),
            b64(TEST_KEY)
        );
        let kc = kubeconfig(&users);
        for name in ["tok", "basic", "file", "exec", "oidc", "cert"] {
            let opts = |cluster: &str| KubeConfigOptions {
                context: Some("main".into()),
                cluster: Some(cluster.into()),
                user: Some(name.into()),
            };
            let config = Config::from_kubeconfig(&kc, &opts("insecure")).unwrap();
            assert!(matches!(config.auth, Auth::None), "{name}: {:?}", config.auth);
            assert!(config.identity.is_none(), "{name}");
            if name == "tok" {
                assert_eq!(config.impersonation.user.as_deref(), Some("jane"));
                assert_eq!(config.impersonation.groups, ["g"]);
            }
            // the same user over https keeps its credentials
            let config = Config::from_kubeconfig(&kc, &opts("c")).unwrap();
            assert!(!matches!(config.auth, Auth::None) || config.identity.is_some(), "{name}");
        }
    }

    #[test]
    fn certificates_that_are_neither_pem_nor_der_fail_naming_entry_and_field() {
        // starts like DER (a SEQUENCE) but is no certificate
        let not_der = [0x30u8, 0x03, 0x02, 0x01, 0x01];
        let encoded = base64::engine::general_purpose::STANDARD.encode(not_der);
        let mut kc = kubeconfig("- name: u\n  user: {}\n");
        kc.clusters[0].cluster.certificate_authority_data = Some(encoded.clone());
        let err = resolve(&kc).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "failed to parse certificate-authority-data of cluster \"c\" in /home/me/.kube/config: invalid certificate"
            ),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.der");
        std::fs::write(&path, not_der).unwrap();
        kc.clusters[0].cluster.certificate_authority_data = None;
        kc.clusters[0].cluster.certificate_authority = Some(path);
        let err = resolve(&kc).unwrap_err().to_string();
        assert!(err.starts_with("failed to parse certificate-authority of cluster \"c\""), "{err}");

        let kc = kubeconfig(&format!(
            "- name: u\n  user: {{client-certificate-data: {encoded}, client-key-data: {}}}\n",
            b64(TEST_KEY)
        ));
        let err = resolve(&kc).unwrap_err().to_string();
        assert!(err.starts_with("failed to parse client-certificate-data of user \"u\""), "{err}");
        let bad_key = b64("-----BEGIN PRIVATE KEY-----\naGVsbG8=\n-----END PRIVATE KEY-----\n");
        let kc = kubeconfig(&format!(
            "- name: u\n  user: {{client-certificate-data: {}, client-key-data: {bad_key}}}\n",
            b64(TEST_CERT)
        ));
        let err = resolve(&kc).unwrap_err().to_string();
        assert!(err.starts_with("failed to parse client-key-data of user \"u\""), "{err}");
    }

    #[test]
    fn auth_providers() {
        let kc = kubeconfig(
            "- name: u\n  user:\n    auth-provider:\n      name: oidc\n      config:\n\
             \x20       idp-issuer-url: https://issuer\n        client-id: kube\n        id-token: idt\n\
             \x20       refresh-token: rt\n        extra-scopes: 'groups, email'\n",
        );
        let config = resolve(&kc).unwrap();
        let Auth::Oidc(oidc) = &config.auth else { panic!("{:?}", config.auth) };
        assert_eq!(oidc.config().issuer_url.as_deref(), Some("https://issuer"));
        assert_eq!(oidc.refresh_token().unwrap().expose(), "rt");
        assert_eq!(oidc.config().extra_scopes, ["groups", "email"]);
        assert_eq!(config.auth.authorization().unwrap().unwrap(), "Bearer idt");

        let kc = kubeconfig("- name: u\n  user: {auth-provider: {name: gcp}}\n");
        let err = resolve(&kc).unwrap_err();
        assert!(err.to_string().contains("auth provider \"gcp\" is not supported"), "{err}");
    }

    #[test]
    fn exec_gets_cluster_info() {
        let kc = kubeconfig(
            "- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n\
             \x20     command: plugin\n      provideClusterInfo: true\n",
        );
        let config = resolve(&kc).unwrap();
        let Auth::Exec(exec) = &config.auth else { panic!("{:?}", config.auth) };
        let info = exec.cluster().unwrap();
        assert_eq!(info.server, "https://k8s.example.com:6443");
        assert_eq!(info.certificate_authority_data.as_deref(), Some(TEST_CERT.as_bytes()));
        assert_eq!(info.tls_server_name.as_deref(), Some("kubernetes"));
        assert_eq!(info.proxy_url.as_deref(), Some("http://proxy:3128"));
        assert_eq!(info.config.as_ref().unwrap()["audience"], "a");

        let kc = kubeconfig("- name: u\n  user: {exec: {apiVersion: x, command: plugin}}\n");
        let Auth::Exec(exec) = resolve(&kc).unwrap().auth else { panic!() };
        assert!(exec.cluster().is_none());
        let kc = kubeconfig("- name: u\n  user: {exec: {apiVersion: x}}\n");
        assert!(resolve(&kc).unwrap_err().to_string().starts_with("missing exec.command of user \"u\""));
    }
}
