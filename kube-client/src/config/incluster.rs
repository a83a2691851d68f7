//! In-cluster configuration: the API server from `KUBERNETES_SERVICE_HOST`/`_PORT` and the
//! pod's service account (token, CA, namespace).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{Error, Result};
use super::pem::certificates_from_pem;
use super::{Config, DEFAULT_NAMESPACE};
use crate::auth::{Auth, TokenFile};

/// Where Kubernetes mounts the service account's files in a pod.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The environment variable with the API server's host.
pub const SERVICE_HOST_ENV: &str = "KUBERNETES_SERVICE_HOST";
/// The environment variable with the API server's port.
pub const SERVICE_PORT_ENV: &str = "KUBERNETES_SERVICE_PORT";

/// The API server URL from the service host and port; IPv6 hosts get brackets.
fn server_url(host: &str, port: &str) -> Result<http::Uri> {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidInCluster(format!("{SERVICE_PORT_ENV} {port:?} is not a port number")));
    }
    let host =
        if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_owned() };
    let url = format!("https://{host}:{port}");
    url.parse::<http::Uri>()
        .map_err(|e| Error::InvalidInCluster(format!("{SERVICE_HOST_ENV} {host:?} does not form a URL: {e}")))
}

/// Builds the in-cluster configuration from a service account directory and an environment.
pub(crate) fn load(dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
    let get = |name: &'static str| env(name).filter(|v| !v.is_empty()).ok_or(Error::NotInCluster(name));
    let host = get(SERVICE_HOST_ENV)?;
    let port = get(SERVICE_PORT_ENV)?;
    let cluster_url = server_url(host.trim(), port.trim())?;

    let file = |name: &str| -> PathBuf { dir.join(name) };
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| Error::ReadServiceAccount { path: path.to_owned(), source })
    };

    let token_path = file("token");
    let tokens = TokenFile::new(&token_path);
    // fail now rather than on the first request when there is no token
    tokens.token().map_err(|e| Error::ServiceAccountToken(Box::new(e)))?;

    let ca_path = file("ca.crt");
    let root_certs = certificates_from_pem(&read(&ca_path)?)
        .map_err(|source| Error::ServiceAccountCa { path: ca_path.clone(), source })?;

    let ns_path = file("namespace");
    let namespace = match std::fs::read_to_string(&ns_path) {
        Ok(ns) if !ns.trim().is_empty() => ns.trim().to_owned(),
        Ok(_) => DEFAULT_NAMESPACE.to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => DEFAULT_NAMESPACE.to_owned(),
        Err(source) => return Err(Error::ReadServiceAccount { path: ns_path, source }),
    };

    let mut config = Config::new(cluster_url);
    config.default_namespace = namespace;
    config.root_certs = root_certs;
    config.auth = Auth::TokenFile(Arc::new(tokens));
    Ok(config)
}

impl Config {
    /// The configuration of a process running in a pod: the API server from
    /// `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`, and from
    /// `/var/run/secrets/kubernetes.io/serviceaccount/` the CA (`ca.crt`), the default namespace
    /// (`namespace`) and the bearer token (`token`, re-read when it is rotated).
    pub fn incluster() -> Result<Config> {
        load(Path::new(SERVICE_ACCOUNT_DIR), &|name| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::super::pem::tests::{BAD_PEM, TEST_CERT};
    use super::*;

    fn env<'a>(host: &'a str, port: &'a str) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| match name {
            SERVICE_HOST_ENV => Some(host.to_owned()),
            SERVICE_PORT_ENV => Some(port.to_owned()),
            _ => None,
        }
    }

    fn service_account(token: &str, namespace: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), token).unwrap();
        std::fs::write(dir.path().join("ca.crt"), TEST_CERT).unwrap();
        if let Some(ns) = namespace {
            std::fs::write(dir.path().join("namespace"), ns).unwrap();
        }
        dir
    }

    #[test]
    fn loads_from_a_service_account_directory() {
        let dir = service_account("sa-token\n", Some("apps\n"));
        let config = load(dir.path(), &env("10.96.0.1", "443")).unwrap();
        assert_eq!(config.cluster_url, "https://10.96.0.1:443/");
        assert_eq!(config.default_namespace, "apps");
        assert_eq!(config.root_certs.len(), 1);
        let Auth::TokenFile(tokens) = &config.auth else {
            panic!("expected a token file: {:?}", config.auth)
        };
        assert_eq!(tokens.path(), dir.path().join("token"));
        assert_eq!(config.auth.authorization().unwrap().unwrap(), "Bearer sa-token");
        assert!(!format!("{config:?}").contains("sa-token"));
    }

    #[test]
    fn ipv6_hosts_get_brackets() {
        let dir = service_account("t", None);
        let config = load(dir.path(), &env("fd00:10:96::1", "6443")).unwrap();
        assert_eq!(config.cluster_url.host(), Some("[fd00:10:96::1]"));
        assert_eq!(config.cluster_url.port_u16(), Some(6443));
        assert_eq!(config.default_namespace, "default");
        let config = load(dir.path(), &env("[::1]", "443")).unwrap();
        assert_eq!(config.cluster_url.to_string(), "https://[::1]:443/");
    }

    #[test]
    fn errors() {
        let dir = service_account("t", None);
        let err = load(dir.path(), &|_| None).unwrap_err();
        assert!(matches!(err, Error::NotInCluster(SERVICE_HOST_ENV)), "{err}");
        let err = load(dir.path(), &env("10.0.0.1", "")).unwrap_err();
        assert!(matches!(err, Error::NotInCluster(SERVICE_PORT_ENV)), "{err}");
        let err = load(dir.path(), &env("10.0.0.1", "https")).unwrap_err();
        assert!(matches!(err, Error::InvalidInCluster(_)), "{err}");
        let err = load(dir.path(), &env("bad host", "443")).unwrap_err();
        assert!(matches!(err, Error::InvalidInCluster(_)), "{err}");

        std::fs::write(dir.path().join("ca.crt"), BAD_PEM).unwrap();
        let err = load(dir.path(), &env("10.0.0.1", "443")).unwrap_err();
        assert!(err.to_string().contains("ca.crt"), "{err}");
        std::fs::remove_file(dir.path().join("ca.crt")).unwrap();
        let err = load(dir.path(), &env("10.0.0.1", "443")).unwrap_err();
        assert!(matches!(err, Error::ReadServiceAccount { .. }), "{err}");

        std::fs::remove_file(dir.path().join("token")).unwrap();
        let err = load(dir.path(), &env("10.0.0.1", "443")).unwrap_err();
        assert!(err.to_string().contains("token"), "{err}");
    }
}
