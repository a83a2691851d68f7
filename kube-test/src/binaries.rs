//! Finding the kube-apiserver, etcd and kubectl binaries, in the same places as envtest.

use std::{
    env,
    ffi::OsString,
    path::{Path, PathBuf},
};

use crate::{Error, Result};

/// The Kubernetes version that `just control-plane` builds into the project cache.
pub const CONTROL_PLANE_VERSION: &str = "v1.37.2";

/// File name of the API server binary.
pub const KUBE_APISERVER: &str = "kube-apiserver";
/// File name of the etcd binary.
pub const ETCD: &str = "etcd";
/// File name of the kubectl binary.
pub const KUBECTL: &str = "kubectl";
/// File name of the tests' fake kubelet (built by `tools/controlplane/build.sh`).
pub const FAKE_KUBELET: &str = "fake-kubelet";

/// Where the control-plane binaries are.
///
/// kube-apiserver and etcd are required to start a [`TestEnv`](crate::TestEnv); kubectl is only
/// needed by the `kubectl*` helpers.
///
/// ```no_run
/// let bins = kube_test::Binaries::find()?;
/// println!("apiserver at {}", bins.kube_apiserver.display());
/// # Ok::<(), kube_test::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    /// Path of `kube-apiserver`.
    pub kube_apiserver: PathBuf,
    /// Path of `etcd`.
    pub etcd: PathBuf,
    /// Path of `kubectl`, if one was found.
    pub kubectl: Option<PathBuf>,
    /// Path of `fake-kubelet`, if one was found (only [`TestEnv::kubelet`](crate::TestEnv::kubelet) needs it).
    pub fake_kubelet: Option<PathBuf>,
}

impl Binaries {
    /// Finds the binaries with [`find_binary`]; kubectl and fake-kubelet may be missing, unless
    /// `TEST_ASSET_KUBECTL` or `TEST_ASSET_FAKE_KUBELET` names a file that is not there.
    pub fn find() -> Result<Self> {
        let optional = |name| match find_binary(name) {
            Ok(path) => Ok(Some(path)),
            // A set but wrong TEST_ASSET_KUBECTL is a mistake worth reporting at once.
            Err(e @ Error::InvalidBinaryPath { .. }) => Err(e),
            Err(_) => Ok(None),
        };
        Ok(Binaries {
            kube_apiserver: find_binary(KUBE_APISERVER)?,
            etcd: find_binary(ETCD)?,
            kubectl: optional(KUBECTL)?,
            fake_kubelet: optional(FAKE_KUBELET)?,
        })
    }

    /// Uses the binaries in one directory (kubectl and fake-kubelet only if they are there).
    ///
    /// ```no_run
    /// let bins = kube_test::Binaries::in_dir("/opt/k8s/bin")?;
    /// # Ok::<(), kube_test::Error>(())
    /// ```
    pub fn in_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let pick = |name: &'static str| {
            let path = dir.join(name);
            if is_executable(&path) {
                Ok(path)
            } else {
                Err(Error::BinaryNotFound { name, tried: vec![path] })
            }
        };
        Ok(Binaries {
            kube_apiserver: pick(KUBE_APISERVER)?,
            etcd: pick(ETCD)?,
            kubectl: pick(KUBECTL).ok(),
            fake_kubelet: pick(FAKE_KUBELET).ok(),
        })
    }

    /// The kubectl path, or the error that lists where it was looked for.
    pub fn kubectl(&self) -> Result<&Path> {
        self.kubectl.as_deref().ok_or_else(|| Error::BinaryNotFound {
            name: KUBECTL,
            tried: candidates(KUBECTL, &Lookup::from_env()),
        })
    }

    /// The fake kubelet's path, or the error that lists where it was looked for.
    pub fn fake_kubelet(&self) -> Result<&Path> {
        self.fake_kubelet.as_deref().ok_or_else(|| Error::BinaryNotFound {
            name: FAKE_KUBELET,
            tried: candidates(FAKE_KUBELET, &Lookup::from_env()),
        })
    }
}

/// Finds one control-plane binary by file name (`kube-apiserver`, `etcd`, `kubectl` or
/// `fake-kubelet`).
///
/// The places, in order (the first executable file wins):
/// 1. `$TEST_ASSET_KUBE_APISERVER`, `$TEST_ASSET_ETCD`, `$TEST_ASSET_KUBECTL`,
///    `$TEST_ASSET_FAKE_KUBELET` (the full path);
/// 2. `$KUBEBUILDER_ASSETS/<name>`;
/// 3. the project cache `${XDG_CACHE_HOME:-$HOME/.cache}/kube-dev/control-plane/<version>/<name>`,
///    first [`CONTROL_PLANE_VERSION`], then every other version directory there, newest first;
/// 4. `/usr/local/kubebuilder/bin/<name>`.
///
/// An explicitly set `TEST_ASSET_<NAME>` (or `KUBEBUILDER_ASSETS`, except for kubectl) that
/// does not lead to an executable file is [`Error::InvalidBinaryPath`] rather than skipped.
///
/// When none is found, the error lists every path tried and says that `just control-plane`
/// builds the binaries.
///
/// ```no_run
/// let etcd = kube_test::find_binary("etcd")?;
/// # Ok::<(), kube_test::Error>(())
/// ```
pub fn find_binary(name: &'static str) -> Result<PathBuf> {
    find_in(name, &Lookup::from_env())
}

fn find_in(name: &'static str, lookup: &Lookup) -> Result<PathBuf> {
    check_explicit(name, lookup)?;
    let tried = candidates(name, lookup);
    match tried.iter().find(|p| is_executable(p)) {
        Some(found) => {
            tracing::debug!(binary = name, path = %found.display(), "found control-plane binary");
            Ok(found.clone())
        }
        None => Err(Error::BinaryNotFound { name, tried }),
    }
}

/// The environment that the lookup depends on, separated out so it can be tested.
#[derive(Debug, Default)]
struct Lookup {
    asset_var: Vec<(String, OsString)>,
    kubebuilder_assets: Option<OsString>,
    cache_home: Option<PathBuf>,
}

impl Lookup {
    fn from_env() -> Self {
        let asset_var = [KUBE_APISERVER, ETCD, KUBECTL, FAKE_KUBELET]
            .iter()
            .filter_map(|name| {
                let var = asset_var_name(name);
                env::var_os(&var).map(|v| (var, v))
            })
            .collect();
        let cache_home =
            env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()).map(PathBuf::from).or_else(|| {
                env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache"))
            });
        Lookup {
            asset_var,
            kubebuilder_assets: env::var_os("KUBEBUILDER_ASSETS").filter(|v| !v.is_empty()),
            cache_home,
        }
    }
}

/// An explicitly set `TEST_ASSET_<NAME>`, or `KUBEBUILDER_ASSETS` for kube-apiserver and etcd,
/// must lead to an executable file: falling through to other places would hide the mistake.
/// kubectl may be missing from `KUBEBUILDER_ASSETS`, as older asset bundles lack it; so may
/// fake-kubelet, which only this project builds.
fn check_explicit(name: &str, lookup: &Lookup) -> Result<()> {
    let var = asset_var_name(name);
    let mut explicit = Vec::new();
    if let Some((_, value)) = lookup.asset_var.iter().find(|(k, _)| *k == var) {
        if !value.is_empty() {
            explicit.push((var, PathBuf::from(value)));
        }
    }
    if let Some(dir) = &lookup.kubebuilder_assets {
        if name != KUBECTL && name != FAKE_KUBELET {
            explicit.push(("KUBEBUILDER_ASSETS".to_owned(), Path::new(dir).join(name)));
        }
    }
    for (var, path) in explicit {
        let reason = match std::fs::metadata(&path) {
            Err(_) => "does not exist",
            Ok(m) if !m.is_file() => "is not a file",
            Ok(_) if !is_executable(&path) => "is not executable",
            Ok(_) => continue,
        };
        return Err(Error::InvalidBinaryPath { var, path, reason });
    }
    Ok(())
}

fn asset_var_name(name: &str) -> String {
    format!("TEST_ASSET_{}", name.to_uppercase().replace('-', "_"))
}

/// Every path to try for `name`, in order.
fn candidates(name: &str, lookup: &Lookup) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let var = asset_var_name(name);
    if let Some((_, value)) = lookup.asset_var.iter().find(|(k, _)| *k == var) {
        if !value.is_empty() {
            out.push(PathBuf::from(value));
        }
    }
    if let Some(dir) = &lookup.kubebuilder_assets {
        out.push(Path::new(dir).join(name));
    }
    if let Some(cache) = &lookup.cache_home {
        let base = cache.join("kube-dev").join("control-plane");
        out.push(base.join(CONTROL_PLANE_VERSION).join(name));
        for version in other_versions(&base) {
            out.push(base.join(version).join(name));
        }
    }
    out.push(Path::new("/usr/local/kubebuilder/bin").join(name));
    out
}

/// Version directories under `base` other than [`CONTROL_PLANE_VERSION`], newest first.
fn other_versions(base: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut versions: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|v| v != CONTROL_PLANE_VERSION)
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(version_key(v)));
    versions
}

/// Sort key for `v1.2.3`-like names: the numbers in order, then the name itself.
fn version_key(v: &str) -> (Vec<u64>, String) {
    let nums =
        v.trim_start_matches('v').split(['.', '-', '+']).map_while(|part| part.parse::<u64>().ok()).collect();
    (nums, v.to_owned())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_follow_envtest_order() {
        let lookup = Lookup {
            asset_var: vec![("TEST_ASSET_KUBE_APISERVER".into(), "/x/apiserver".into())],
            kubebuilder_assets: Some("/assets".into()),
            cache_home: Some("/nonexistent-cache".into()),
        };
        let got = candidates(KUBE_APISERVER, &lookup);
        let want: Vec<PathBuf> = vec![
            "/x/apiserver".into(),
            "/assets/kube-apiserver".into(),
            format!("/nonexistent-cache/kube-dev/control-plane/{CONTROL_PLANE_VERSION}/kube-apiserver")
                .into(),
            "/usr/local/kubebuilder/bin/kube-apiserver".into(),
        ];
        assert_eq!(got, want);
        // The asset variable of another binary is not used.
        assert_eq!(candidates(ETCD, &lookup)[0], PathBuf::from("/assets/etcd"));
    }

    #[test]
    fn explicit_bad_paths_are_errors() -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let plain = dir.path().join("etcd");
        std::fs::write(&plain, "")?;
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644))?;
        let missing = dir.path().join("missing");

        let lookup = Lookup {
            asset_var: vec![("TEST_ASSET_ETCD".into(), missing.clone().into())],
            ..Lookup::default()
        };
        let msg = find_in(ETCD, &lookup).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(msg, format!("TEST_ASSET_ETCD points at `{}`, which does not exist", missing.display()));

        let lookup =
            Lookup { asset_var: vec![("TEST_ASSET_ETCD".into(), plain.clone().into())], ..Lookup::default() };
        let msg = find_in(ETCD, &lookup).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("is not executable"), "{msg}");

        let lookup = Lookup { kubebuilder_assets: Some(dir.path().into()), ..Lookup::default() };
        let err = find_in(KUBE_APISERVER, &lookup).err();
        assert!(
            matches!(&err, Some(Error::InvalidBinaryPath { var, reason: "does not exist", .. }) if var == "KUBEBUILDER_ASSETS"),
            "{err:?}"
        );
        let err = find_in(ETCD, &lookup).err();
        assert!(
            matches!(&err, Some(Error::InvalidBinaryPath { reason: "is not executable", .. })),
            "{err:?}"
        );
        // kubectl may be missing from the assets and is looked for elsewhere.
        let err = find_in(KUBECTL, &lookup).err();
        assert!(matches!(&err, None | Some(Error::BinaryNotFound { .. })), "{err:?}");
        Ok(())
    }

    #[test]
    fn other_versions_are_newest_first() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        for v in ["v1.9.0", "v1.30.1", "v1.30.10", CONTROL_PLANE_VERSION] {
            std::fs::create_dir(dir.path().join(v))?;
        }
        assert_eq!(other_versions(dir.path()), vec!["v1.30.10", "v1.30.1", "v1.9.0"]);
        Ok(())
    }

    #[test]
    fn missing_binary_error_lists_all_paths() {
        let lookup = Lookup::default();
        let tried = candidates("no-such-binary", &lookup);
        assert_eq!(tried, vec![PathBuf::from("/usr/local/kubebuilder/bin/no-such-binary")]);
    }

    #[test]
    fn in_dir_requires_apiserver_and_etcd() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let err = Binaries::in_dir(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("kube-apiserver"), "{err}");
        Ok(())
    }
}
