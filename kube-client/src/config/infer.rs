//! [`Config::infer`]: `$KUBECONFIG`, else `~/.kube/config`, else the in-cluster service account.

use std::ffi::OsString;
use std::path::Path;

use super::Config;
use super::error::{Error, InferAttempt, Result};
use super::incluster::{self, SERVICE_ACCOUNT_DIR};
use super::kubeconfig::Kubeconfig;
use super::loader::{KUBECONFIG_ENV, default_path_with, kubeconfig_paths};
use super::resolve::KubeConfigOptions;

impl Config {
    /// Finds a configuration the way kubectl and in-cluster clients do, trying in order:
    ///
    /// 1. the files listed in `$KUBECONFIG`, if it is set (then `~/.kube/config` is not read);
    /// 2. otherwise `~/.kube/config`;
    /// 3. the in-cluster service account.
    ///
    /// Like kubectl, the in-cluster configuration is only tried when there is no kubeconfig:
    /// no file found, or only empty ones. A kubeconfig that exists but does not load or resolve
    /// (malformed, bad context, unreadable certificate) is an error. When no source works,
    /// [`Error::Infer`] lists each source and why it failed. Blocking (reads files).
    pub fn infer() -> Result<Config> {
        infer_with(&|name| std::env::var_os(name), Path::new(SERVICE_ACCOUNT_DIR))
    }
}

pub(crate) fn infer_with(
    env: &dyn Fn(&str) -> Option<OsString>,
    service_account_dir: &Path,
) -> Result<Config> {
    let mut attempts = Vec::new();
    let options = KubeConfigOptions::default();

    let from_env = env(KUBECONFIG_ENV).filter(|v| !kubeconfig_paths(v).is_empty());
    let (source, loaded) = match &from_env {
        Some(value) => (
            format!("${KUBECONFIG_ENV} ({})", value.to_string_lossy()),
            Kubeconfig::read_paths(&kubeconfig_paths(value))
                .and_then(|kc| if kc.source_files.is_empty() { Err(no_files()) } else { Ok(kc) }),
        ),
        None => match default_path_with(env) {
            Some(path) => (path.display().to_string(), Kubeconfig::read_from(&path)),
            None => ("~/.kube/config".to_owned(), Err(no_home())),
        },
    };
    match loaded {
        Ok(kc) if is_empty(&kc) => {
            tracing::debug!(%source, "the kubeconfig is empty");
            attempts.push(InferAttempt { source, error: empty(&kc) });
        }
        Ok(kc) => return Config::from_kubeconfig(&kc, &options),
        Err(error @ Error::ReadKubeconfig { .. }) if is_not_found(&error) => {
            tracing::debug!(%source, %error, "no kubeconfig");
            attempts.push(InferAttempt { source, error });
        }
        Err(error) => return Err(error),
    }

    let env_str = |name: &str| env(name).and_then(|v| v.into_string().ok());
    match incluster::load(service_account_dir, &env_str) {
        Ok(config) => {
            if !attempts.is_empty() {
                tracing::debug!("using the in-cluster configuration");
            }
            Ok(config)
        }
        Err(error) => {
            attempts.push(InferAttempt { source: "in-cluster service account".to_owned(), error });
            Err(Error::Infer(attempts))
        }
    }
}

fn is_not_found(error: &Error) -> bool {
    matches!(error, Error::ReadKubeconfig { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

/// Whether a kubeconfig holds nothing to connect with (as client-go's empty config: no
/// clusters, users or contexts, and no current context).
fn is_empty(kc: &Kubeconfig) -> bool {
    kc.clusters.is_empty()
        && kc.users.is_empty()
        && kc.contexts.is_empty()
        && kc.current_context.as_deref().is_none_or(str::is_empty)
}

fn empty(kc: &Kubeconfig) -> Error {
    Error::ReadKubeconfig {
        path: match kc.source_files.as_slice() {
            [one] => one.clone(),
            _ => KUBECONFIG_ENV.into(),
        },
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "the kubeconfig is empty"),
    }
}

fn no_files() -> Error {
    Error::ReadKubeconfig {
        path: KUBECONFIG_ENV.into(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "none of the listed files exists"),
    }
}

fn no_home() -> Error {
    Error::ReadKubeconfig {
        path: "~/.kube/config".into(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "$HOME is not set"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::pem::tests::TEST_CERT;
    use super::*;
    use std::collections::HashMap;

    const KUBECONFIG: &str = "current-context: x\n\
        clusters: [{name: c, cluster: {server: 'https://from-file:6443'}}]\n\
        contexts: [{name: x, context: {cluster: c, namespace: file-ns}}]\n";

    fn env_of(vars: Vec<(&'static str, OsString)>) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<&str, OsString> = vars.into_iter().collect();
        move |name| map.get(name).cloned()
    }

    fn service_account(dir: &Path) {
        std::fs::write(dir.join("token"), "t").unwrap();
        std::fs::write(dir.join("ca.crt"), TEST_CERT).unwrap();
        std::fs::write(dir.join("namespace"), "pod-ns").unwrap();
    }

    #[test]
    fn kubeconfig_env_first() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kc");
        std::fs::write(&file, KUBECONFIG).unwrap();
        let env =
            env_of(vec![("KUBECONFIG", file.clone().into_os_string()), ("HOME", "/nonexistent".into())]);
        let config = infer_with(&env, dir.path()).unwrap();
        assert_eq!(config.default_namespace, "file-ns");
    }

    #[test]
    fn home_kubeconfig_when_env_is_unset() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".kube")).unwrap();
        std::fs::write(dir.path().join(".kube/config"), KUBECONFIG).unwrap();
        let env = env_of(vec![("HOME", dir.path().into())]);
        assert_eq!(infer_with(&env, dir.path()).unwrap().cluster_url, "https://from-file:6443/");
    }

    #[test]
    fn falls_back_to_in_cluster() {
        let dir = tempfile::tempdir().unwrap();
        service_account(dir.path());
        let env = env_of(vec![
            ("HOME", dir.path().into()),
            ("KUBERNETES_SERVICE_HOST", "10.0.0.1".into()),
            ("KUBERNETES_SERVICE_PORT", "443".into()),
        ]);
        let config = infer_with(&env, dir.path()).unwrap();
        assert_eq!(config.default_namespace, "pod-ns");
        assert_eq!(config.cluster_url, "https://10.0.0.1:443/");
    }

    #[test]
    fn error_lists_every_source() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let env = env_of(vec![("KUBECONFIG", missing.clone().into_os_string())]);
        let err = infer_with(&env, dir.path()).unwrap_err();
        let Error::Infer(attempts) = &err else { panic!("{err:?}") };
        assert_eq!(attempts.len(), 2);
        let msg = err.to_string();
        assert!(msg.contains(&format!("$KUBECONFIG ({})", missing.display())), "{msg}");
        assert!(msg.contains("none of the listed files exists"), "{msg}");
        assert!(msg.contains("in-cluster service account: not running in a cluster"), "{msg}");

        // an empty kubeconfig counts as none
        std::fs::create_dir_all(dir.path().join(".kube")).unwrap();
        std::fs::write(dir.path().join(".kube/config"), "# nothing\n").unwrap();
        let env = env_of(vec![("HOME", dir.path().into())]);
        let msg = infer_with(&env, dir.path()).unwrap_err().to_string();
        assert!(msg.contains("the kubeconfig is empty"), "{msg}");
        assert!(msg.contains("not running in a cluster"), "{msg}");

        let msg = infer_with(&env_of(vec![]), dir.path()).unwrap_err().to_string();
        assert!(msg.contains("$HOME is not set"), "{msg}");
    }

    #[test]
    fn a_broken_kubeconfig_is_an_error_even_in_a_cluster() {
        let dir = tempfile::tempdir().unwrap();
        service_account(dir.path());
        std::fs::create_dir_all(dir.path().join(".kube")).unwrap();
        let in_cluster = |kubeconfig: Option<OsString>| {
            let mut vars = vec![
                ("HOME", dir.path().into()),
                ("KUBERNETES_SERVICE_HOST", "10.0.0.1".into()),
                ("KUBERNETES_SERVICE_PORT", "443".into()),
            ];
            vars.extend(kubeconfig.map(|k| ("KUBECONFIG", k)));
            env_of(vars)
        };
        let config_file = dir.path().join(".kube/config");
        for (text, expected) in [
            ("current-context: nope\n", "context \"nope\" not found"),
            ("clusters: [\n", "failed to parse kubeconfig"),
            (
                "current-context: x\n\
                 clusters: [{name: c, cluster: {server: 'https://c', certificate-authority: missing.crt}}]\n\
                 contexts: [{name: x, context: {cluster: c}}]\n",
                "missing.crt",
            ),
        ] {
            std::fs::write(&config_file, text).unwrap();
            let err = infer_with(&in_cluster(None), dir.path()).unwrap_err();
            assert!(!matches!(err, Error::Infer(_)), "{err:?}");
            assert!(err.to_string().contains(expected), "{err}");
            let err =
                infer_with(&in_cluster(Some(config_file.clone().into_os_string())), dir.path()).unwrap_err();
            assert!(err.to_string().contains(expected), "{err}");
        }

        // no kubeconfig, or an empty one: in-cluster
        std::fs::write(&config_file, "").unwrap();
        assert_eq!(infer_with(&in_cluster(None), dir.path()).unwrap().default_namespace, "pod-ns");
        let missing = dir.path().join("missing").into_os_string();
        assert_eq!(infer_with(&in_cluster(Some(missing)), dir.path()).unwrap().default_namespace, "pod-ns");
    }
}
