//! Starting kube-apiserver against the environment's etcd and waiting until it serves.

use std::{
    ffi::OsString,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use rustls::ClientConfig;

use crate::{
    Result,
    etcd::error_chain,
    http::{self, Request},
    supervise::{Spec, Supervised},
    wait::{self, Probe},
};

/// The issuer of service-account tokens.
pub(crate) const SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// Files the apiserver reads, all inside the environment's directory.
#[derive(Debug, Clone)]
pub(crate) struct ApiserverFiles {
    pub(crate) cert_dir: PathBuf,
    pub(crate) tls_cert: PathBuf,
    pub(crate) tls_key: PathBuf,
    pub(crate) client_ca: PathBuf,
    pub(crate) service_account_key: PathBuf,
    pub(crate) service_account_pub: PathBuf,
    pub(crate) token_file: PathBuf,
}

/// How to run the apiserver.
#[derive(Debug, Clone)]
pub(crate) struct ApiserverConfig {
    pub(crate) binary: PathBuf,
    pub(crate) port: u16,
    pub(crate) etcd_url: String,
    pub(crate) files: ApiserverFiles,
    pub(crate) log: PathBuf,
    pub(crate) watch_cache: bool,
    /// `--flag=value` arguments; a flag given here replaces the default of the same name.
    pub(crate) extra_args: Vec<OsString>,
}

impl ApiserverConfig {
    /// The command-line flags.
    pub(crate) fn args(&self) -> Vec<OsString> {
        let f = &self.files;
        let defaults: Vec<OsString> = vec![
            // Without it the apiserver picks the default route's address and fails on hosts
            // that have none.
            "--advertise-address=127.0.0.1".into(),
            "--bind-address=127.0.0.1".into(),
            // The endpoint reconciler refuses loopback advertise addresses, and nothing here
            // needs the endpoints of the `kubernetes` service.
            "--endpoint-reconciler-type=none".into(),
            format!("--secure-port={}", self.port).into(),
            format!("--etcd-servers={}", self.etcd_url).into(),
            path_flag("--cert-dir", &f.cert_dir),
            path_flag("--tls-cert-file", &f.tls_cert),
            path_flag("--tls-private-key-file", &f.tls_key),
            path_flag("--client-ca-file", &f.client_ca),
            path_flag("--service-account-key-file", &f.service_account_pub),
            path_flag("--service-account-signing-key-file", &f.service_account_key),
            format!("--service-account-issuer={SERVICE_ACCOUNT_ISSUER}").into(),
            path_flag("--token-auth-file", &f.token_file),
            "--authorization-mode=RBAC".into(),
            "--service-cluster-ip-range=10.0.0.0/24".into(),
            "--allow-privileged=true".into(),
            // There is no controller-manager to create default service accounts.
            "--disable-admission-plugins=ServiceAccount".into(),
            format!("--watch-cache={}", self.watch_cache).into(),
        ];
        merge_flags(defaults, &self.extra_args)
    }

    /// Starts the apiserver under a supervisor.
    pub(crate) fn spawn(&self) -> Result<Supervised> {
        Supervised::spawn(Spec {
            name: "kube-apiserver",
            program: self.binary.clone(),
            args: self.args(),
            log: self.log.clone(),
            cleanup: None,
            grace: Duration::from_secs(5),
            stop_after: None,
        })
    }
}

fn path_flag(name: &str, path: &Path) -> OsString {
    let mut out = OsString::from(name);
    out.push("=");
    out.push(path.as_os_str());
    out
}

/// The `--name` part of a `--name=value` argument.
fn flag_name(arg: &std::ffi::OsStr) -> Option<String> {
    let text = arg.to_str()?;
    let name = text.split_once('=').map_or(text, |(n, _)| n);
    name.starts_with("--").then(|| name.to_owned())
}

/// Defaults followed by extras, without the defaults that an extra overrides.
pub(crate) fn merge_flags(defaults: Vec<OsString>, extra: &[OsString]) -> Vec<OsString> {
    let overridden: Vec<String> = extra.iter().filter_map(|a| flag_name(a)).collect();
    defaults
        .into_iter()
        .filter(|d| flag_name(d).is_none_or(|n| !overridden.contains(&n)))
        .chain(extra.iter().cloned())
        .collect()
}

/// Waits until `/readyz` answers 200 and the `default` namespace exists.
pub(crate) fn wait_ready(
    server: &mut Supervised,
    port: u16,
    tls: &Arc<ClientConfig>,
    timeout: Duration,
) -> Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = std::time::Instant::now();
    for (what, path) in [
        ("kube-apiserver /readyz to return 200", "/readyz"),
        ("the default namespace to exist", "/api/v1/namespaces/default"),
    ] {
        let left = timeout.saturating_sub(started.elapsed());
        let result = wait::until(what, left, Duration::from_millis(100), || {
            server.check_running()?;
            Ok(match http::https(addr, tls, Request::get(path), Duration::from_secs(5)) {
                Ok(resp) if resp.status == 200 => Probe::Ready(()),
                Ok(resp) => Probe::NotYet(format!("HTTP {}: {}", resp.status, shorten(&resp.body, 2000))),
                Err(e) => Probe::NotYet(error_chain(&e)),
            })
        });
        result.map_err(|e| server.explain(e))?;
        tracing::debug!(path, elapsed = ?started.elapsed(), "kube-apiserver check passed");
    }
    Ok(())
}

/// At most `max` bytes of `text` (on a character boundary), marked when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: Vec<OsString>) -> Vec<String> {
        args.into_iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn extra_flags_replace_defaults_of_the_same_name() {
        let merged = merge_flags(
            vec!["--a=1".into(), "--b=2".into(), "positional".into()],
            &["--b=3".into(), "--c".into()],
        );
        assert_eq!(strings(merged), vec!["--a=1", "positional", "--b=3", "--c"]);
    }

    #[test]
    fn args_have_the_required_flags() {
        let files = ApiserverFiles {
            cert_dir: "/d/certs".into(),
            tls_cert: "/d/tls.crt".into(),
            tls_key: "/d/tls.key".into(),
            client_ca: "/d/client-ca.crt".into(),
            service_account_key: "/d/sa.key".into(),
            service_account_pub: "/d/sa.pub".into(),
            token_file: "/d/tokens.csv".into(),
        };
        let config = ApiserverConfig {
            binary: "kube-apiserver".into(),
            port: 6443,
            etcd_url: "http://127.0.0.1:2379".into(),
            files,
            log: "/d/apiserver.log".into(),
            watch_cache: false,
            extra_args: vec!["--v=2".into()],
        };
        let args = strings(config.args());
        for want in [
            "--advertise-address=127.0.0.1",
            "--secure-port=6443",
            "--etcd-servers=http://127.0.0.1:2379",
            "--token-auth-file=/d/tokens.csv",
            "--watch-cache=false",
            "--v=2",
        ] {
            assert!(args.iter().any(|a| a == want), "missing {want} in {args:?}");
        }
    }

    #[test]
    fn shorten_respects_char_boundaries() {
        assert_eq!(shorten("héllo", 2), "h…");
        assert_eq!(shorten("abc", 5), "abc");
    }
}
