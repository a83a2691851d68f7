//! Starting etcd for one environment and talking to its JSON gRPC gateway.

use std::{
    ffi::OsString,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{
    Error, Result,
    http::{self, Request},
    supervise::{Spec, Supervised},
    wait::{self, Probe},
};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How to run etcd.
#[derive(Debug, Clone)]
pub(crate) struct EtcdConfig {
    /// The member name, unique per environment, so that [`verify_identity`] can tell this etcd
    /// from another one that took its port.
    pub(crate) name: String,
    pub(crate) binary: PathBuf,
    pub(crate) data_dir: PathBuf,
    pub(crate) client_port: u16,
    pub(crate) peer_port: u16,
    pub(crate) log: PathBuf,
    /// Removed by the supervisor if the test process dies.
    pub(crate) cleanup: Option<PathBuf>,
    /// Pids to wait for before stopping etcd when the test process dies.
    pub(crate) stop_after: PathBuf,
    pub(crate) extra_args: Vec<OsString>,
}

impl EtcdConfig {
    pub(crate) fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// The command-line flags.
    pub(crate) fn args(&self) -> Vec<OsString> {
        let client = self.client_url();
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let mut args: Vec<OsString> = vec![
            format!("--name={}", self.name).into(),
            flag("--data-dir", self.data_dir.as_os_str()),
            format!("--listen-client-urls={client}").into(),
            format!("--advertise-client-urls={client}").into(),
            format!("--listen-peer-urls={peer}").into(),
            format!("--initial-advertise-peer-urls={peer}").into(),
            format!("--initial-cluster={}={peer}", self.name).into(),
            format!("--initial-cluster-token={}", self.name).into(),
            "--initial-cluster-state=new".into(),
            "--unsafe-no-fsync=true".into(),
            "--enable-grpc-gateway=true".into(),
            "--log-outputs=stderr".into(),
            "--log-level=warn".into(),
        ];
        args.extend(self.extra_args.iter().cloned());
        args
    }

    /// Starts etcd under a supervisor.
    pub(crate) fn spawn(&self) -> Result<Supervised> {
        Supervised::spawn(Spec {
            name: "etcd",
            program: self.binary.clone(),
            args: self.args(),
            log: self.log.clone(),
            cleanup: self.cleanup.clone(),
            grace: Duration::from_secs(5),
            stop_after: Some(self.stop_after.clone()),
        })
    }
}

fn flag(name: &str, value: &std::ffi::OsStr) -> OsString {
    let mut out = OsString::from(name);
    out.push("=");
    out.push(value);
    out
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Waits until etcd answers `/health` with `"health":"true"`.
pub(crate) fn wait_healthy(server: &mut Supervised, port: u16, timeout: Duration) -> Result<()> {
    let result = wait::until("etcd to become healthy", timeout, Duration::from_millis(50), || {
        server.check_running()?;
        Ok(match http::http(addr(port), Request::get("/health"), Duration::from_secs(2)) {
            Ok(resp) if resp.status == 200 && resp.body.contains(r#""health":"true""#) => Probe::Ready(()),
            Ok(resp) => Probe::NotYet(format!("HTTP {}: {}", resp.status, resp.body)),
            Err(e) => Probe::NotYet(error_chain(&e)),
        })
    });
    result.map_err(|e| server.explain(e))
}

/// Checks that the etcd answering on `port` is the one named `name`, not another environment's
/// etcd that took the port first (the client port is plain HTTP without authentication).
///
/// A different etcd is reported as [`Error::PortConflict`], so that start-up is retried.
pub(crate) fn verify_identity(port: u16, name: &str) -> Result<()> {
    let answer = post(port, "/v3/cluster/member/list", &serde_json::json!({}))?;
    let members = answer["members"].as_array().cloned().unwrap_or_default();
    if members.iter().any(|m| m["name"] == name) {
        return Ok(());
    }
    let found: Vec<&str> = members.iter().filter_map(|m| m["name"].as_str()).collect();
    Err(Error::PortConflict {
        name: "etcd".into(),
        port,
        detail: format!("the etcd answering there has the members {found:?}, not `{name}`"),
    })
}

/// POSTs JSON to etcd's gateway and returns the parsed answer.
fn post(port: u16, path: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
    let body = body.to_string();
    let resp = http::http(
        addr(port),
        Request::with_body("POST", path, "application/json", body.as_bytes()),
        REQUEST_TIMEOUT,
    )?;
    if resp.status != 200 {
        return Err(Error::UnexpectedStatus {
            method: "POST".into(),
            path: path.into(),
            status: resp.status,
            body: resp.body,
        });
    }
    resp.json()
}

/// The current revision of the etcd key space.
pub(crate) fn current_revision(port: u16) -> Result<i64> {
    // Any key will do: every response header carries the store's revision.
    let answer = post(port, "/v3/kv/range", &serde_json::json!({ "key": "AA==" }))?;
    let revision = &answer["header"]["revision"];
    revision.as_str().and_then(|s| s.parse::<i64>().ok()).or_else(|| revision.as_i64()).ok_or_else(|| {
        Error::UnexpectedStatus {
            method: "POST".into(),
            path: "/v3/kv/range".into(),
            status: 200,
            body: format!("no header.revision in {answer}"),
        }
    })
}

/// Compacts etcd's history up to its current revision (physically) and returns that revision.
pub(crate) fn compact(port: u16) -> Result<i64> {
    let revision = current_revision(port)?;
    post(
        port,
        "/v3/kv/compaction",
        &serde_json::json!({ "revision": revision.to_string(), "physical": true }),
    )?;
    tracing::debug!(revision, "compacted etcd");
    Ok(revision)
}

/// An error and its sources, on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The data directory inside an environment's directory.
pub(crate) fn data_dir(root: &Path) -> PathBuf {
    root.join("etcd-data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_listen_on_loopback_without_fsync() {
        let config = EtcdConfig {
            name: "kube-test-abc".into(),
            binary: "etcd".into(),
            data_dir: "/tmp/x/etcd-data".into(),
            client_port: 2379,
            peer_port: 2380,
            log: "/tmp/x/etcd.log".into(),
            cleanup: None,
            stop_after: "/tmp/x/pids".into(),
            extra_args: vec!["--extra".into()],
        };
        let args: Vec<String> = config.args().into_iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert!(args.contains(&"--listen-client-urls=http://127.0.0.1:2379".to_owned()));
        assert!(args.contains(&"--name=kube-test-abc".to_owned()));
        assert!(args.contains(&"--initial-cluster=kube-test-abc=http://127.0.0.1:2380".to_owned()));
        assert!(args.contains(&"--initial-cluster-token=kube-test-abc".to_owned()));
        assert!(args.contains(&"--data-dir=/tmp/x/etcd-data".to_owned()));
        assert!(args.contains(&"--unsafe-no-fsync=true".to_owned()));
        assert_eq!(args.last().map(String::as_str), Some("--extra"));
    }
}
