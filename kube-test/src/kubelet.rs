//! A fake kubelet behind the apiserver, so that exec, attach, port-forward and logs work.
//!
//! `fake-kubelet` (built by `tools/controlplane/build.sh` next to kube-apiserver) serves the
//! kubelet's streaming endpoints with upstream's server code (`k8s.io/cri-streaming`) for
//! "containers" that are local processes. [`TestEnv::kubelet`] starts it and registers a Node
//! for it; [`FakeKubelet::run_pod`] creates a Pod bound to that Node, starts its containers'
//! main processes and marks it Running. The apiserver then proxies `pods/exec`, `pods/attach`,
//! `pods/portforward` and `pods/log` to it as it would to a real kubelet.
//!
//! What the "containers" are:
//! - exec runs the command as a local process in a per-container directory (tty sessions get
//!   a pseudo-terminal and follow resizes);
//! - attach connects to the container's main process (its `command`), whose output is also
//!   the container's log (with timestamps, tail, since, follow, and `previous` after
//!   [`FakeKubelet::restart_container`]);
//! - port-forward to pod port `P` connects to `127.0.0.1:P`; [`FakeKubelet::echo_port`] is a
//!   TCP echo server.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use rustls::ClientConfig;
use serde_json::json;

use crate::{
    Error, Result, TestEnv,
    apiserver::shorten,
    http::{self, Request},
    supervise::{Spec, Supervised},
    wait::{self, Probe},
};

/// The name of the Node that [`TestEnv::kubelet`] registers.
pub const FAKE_NODE_NAME: &str = "kube-test-node";
/// How long the fake kubelet may take to start serving.
const KUBELET_STARTUP: Duration = Duration::from_secs(20);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One container of a Pod made by [`FakeKubelet::run_pod`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeContainer {
    /// The container's name.
    pub name: String,
    /// Its main process: what attach connects to and what its log shows, e.g.
    /// `["sh", "-c", "echo started; exec cat"]`.
    pub command: Vec<String>,
    /// Whether the main process gets a stdin (`spec.containers[].stdin`) that attach can write.
    pub stdin: bool,
    /// Whether the main process runs on a terminal (`spec.containers[].tty`).
    pub tty: bool,
}

impl FakeContainer {
    /// A container running `command` without stdin or terminal.
    pub fn new(name: impl Into<String>, command: &[&str]) -> Self {
        FakeContainer {
            name: name.into(),
            command: command.iter().map(|s| (*s).to_owned()).collect(),
            stdin: false,
            tty: false,
        }
    }

    /// Gives the main process a stdin.
    pub fn stdin(mut self, stdin: bool) -> Self {
        self.stdin = stdin;
        self
    }

    /// Runs the main process on a terminal.
    pub fn tty(mut self, tty: bool) -> Self {
        self.tty = tty;
        self
    }
}

/// The fake kubelet of a [`TestEnv`]; see [`TestEnv::kubelet`].
pub struct FakeKubelet {
    server: Mutex<Supervised>,
    port: u16,
    echo_port: u16,
    tls: Arc<ClientConfig>,
}

impl std::fmt::Debug for FakeKubelet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeKubelet").field("port", &self.port).field("echo_port", &self.echo_port).finish()
    }
}

impl FakeKubelet {
    /// Starts the binary and registers its Node.
    pub(crate) fn start(env: &TestEnv) -> Result<Self> {
        let binary = env.binaries.fake_kubelet()?.to_path_buf();
        let dir = env.root.join("kubelet");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create the directory", &dir, e))?;
        let serving = env.pki.serving_ca.issue_server("fake-kubelet", &["127.0.0.1", "localhost"])?;
        let cert = dir.join("kubelet.crt");
        let key = dir.join("kubelet.key");
        std::fs::write(&cert, &serving.cert_pem)
            .map_err(|e| Error::io("write the kubelet certificate", &cert, e))?;
        crate::kubeconfig::write_private(&key, &serving.key_pem)?;
        let [port, echo_port] = crate::env::free_ports::<2>()?;
        let args = vec![
            format!("--listen=127.0.0.1:{port}").into(),
            format!("--echo-port={echo_port}").into(),
            path_flag("--tls-cert-file", &cert),
            path_flag("--tls-private-key-file", &key),
            path_flag("--dir", &dir),
        ];
        let mut server = Supervised::spawn(Spec {
            name: "fake-kubelet",
            program: binary,
            args,
            log: env.root.join("fake-kubelet.log"),
            cleanup: None,
            grace: Duration::from_secs(2),
            stop_after: None,
        })?;
        let tls = env.admin_tls.clone();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        wait::until("the fake kubelet to serve /healthz", KUBELET_STARTUP, Duration::from_millis(50), || {
            server.check_running()?;
            Ok(match http::https(addr, &tls, Request::get("/healthz"), Duration::from_secs(2)) {
                Ok(resp) if resp.status == 200 => Probe::Ready(()),
                Ok(resp) => Probe::NotYet(format!("HTTP {}", resp.status)),
                Err(e) => Probe::NotYet(e.to_string()),
            })
        })
        .map_err(|e| server.explain(e))?;
        let kubelet = FakeKubelet { server: Mutex::new(server), port, echo_port, tls };
        kubelet.register_node(env)?;
        tracing::info!(port, echo_port, node = FAKE_NODE_NAME, "fake kubelet is ready");
        Ok(kubelet)
    }

    fn register_node(&self, env: &TestEnv) -> Result<()> {
        let node = json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": { "name": FAKE_NODE_NAME, "labels": { "kubernetes.io/hostname": FAKE_NODE_NAME } },
            "status": {
                "addresses": [{ "type": "InternalIP", "address": "127.0.0.1" }],
                "daemonEndpoints": { "kubeletEndpoint": { "Port": self.port } },
                "conditions": [{
                    "type": "Ready", "status": "True", "reason": "KubeletReady",
                    "message": "kube-test's fake kubelet is ready",
                }],
            },
        });
        api(env, "POST", "/api/v1/nodes", &node, &[201])?;
        // Create keeps a Node's status, but an older Node of the same name would win: update it.
        let path = format!("/api/v1/nodes/{FAKE_NODE_NAME}/status");
        let patch = json!({ "status": node["status"] });
        api_patch(env, &path, &patch)?;
        Ok(())
    }

    /// The name of its Node.
    pub fn node_name(&self) -> &str {
        FAKE_NODE_NAME
    }

    /// Its HTTPS port on 127.0.0.1 (the Node's `daemonEndpoints.kubeletEndpoint.Port`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of its TCP echo server on 127.0.0.1: port-forward to this pod port echoes.
    pub fn echo_port(&self) -> u16 {
        self.echo_port
    }

    /// The fake kubelet's process id.
    pub fn pid(&self) -> u32 {
        crate::env::lock(&self.server).pid()
    }

    /// Creates a Pod in `namespace` bound to this kubelet's Node, starts the main process of
    /// each container and sets the Pod's status to Running with every container ready.
    ///
    /// ```no_run
    /// use kube_test::{FakeContainer, TestEnv};
    ///
    /// let env = TestEnv::shared()?;
    /// let ns = env.create_unique_namespace("exec")?;
    /// env.kubelet()?.run_pod(&env, &ns, "shell", &[FakeContainer::new("main", &["sleep", "3600"])])?;
    /// let out = env.kubectl(["exec", "-n", &ns, "shell", "--", "echo", "hello"])?;
    /// assert_eq!(out, "hello\n");
    /// # Ok::<(), kube_test::Error>(())
    /// ```
    pub fn run_pod(
        &self,
        env: &TestEnv,
        namespace: &str,
        name: &str,
        containers: &[FakeContainer],
    ) -> Result<()> {
        let specs: Vec<_> = containers
            .iter()
            .map(|c| {
                json!({
                    "name": c.name, "image": "kube-test/fake", "command": c.command,
                    "stdin": c.stdin, "tty": c.tty,
                })
            })
            .collect();
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": { "name": name, "namespace": namespace },
            "spec": { "nodeName": FAKE_NODE_NAME, "containers": specs },
        });
        api(env, "POST", &format!("/api/v1/namespaces/{namespace}/pods"), &pod, &[201])?;
        for c in containers {
            let body = json!({
                "namespace": namespace, "pod": name, "container": c.name,
                "command": c.command, "stdin": c.stdin, "tty": c.tty,
            });
            self.control("POST", "/fake/containers", &body.to_string())?;
        }
        let now = rfc3339_now();
        let statuses: Vec<_> = containers
            .iter()
            .map(|c| {
                json!({
                    "name": c.name, "image": "kube-test/fake", "imageID": "", "ready": true,
                    "restartCount": 0, "started": true,
                    "state": { "running": { "startedAt": now } },
                })
            })
            .collect();
        let status = json!({
            "status": {
                "phase": "Running",
                "hostIP": "127.0.0.1",
                "podIP": "127.0.0.1",
                "startTime": now,
                "conditions": [{ "type": "Ready", "status": "True" }],
                "containerStatuses": statuses,
            }
        });
        api_patch(env, &format!("/api/v1/namespaces/{namespace}/pods/{name}/status"), &status)
    }

    /// Stops a container's main process and starts it again; the old run's output becomes the
    /// `previous` log.
    pub fn restart_container(&self, namespace: &str, pod: &str, container: &str) -> Result<()> {
        self.control("POST", &format!("/fake/restart/{namespace}/{pod}/{container}"), "")
    }

    fn control(&self, method: &str, path: &str, body: &str) -> Result<()> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let req = Request::with_body(method, path, "application/json", body.as_bytes());
        let resp = http::https(addr, &self.tls, req, REQUEST_TIMEOUT)?;
        if !resp.is_success() {
            return Err(Error::UnexpectedStatus {
                method: method.into(),
                path: format!("fake kubelet {path}"),
                status: resp.status,
                body: shorten(&resp.body, 2000),
            });
        }
        Ok(())
    }
}

/// The current time in RFC 3339 (seconds), as the API's timestamps.
fn rfc3339_now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn path_flag(name: &str, path: &std::path::Path) -> std::ffi::OsString {
    let mut out = std::ffi::OsString::from(name);
    out.push("=");
    out.push(path.as_os_str());
    out
}

fn api(env: &TestEnv, method: &str, path: &str, body: &serde_json::Value, ok: &[u16]) -> Result<()> {
    let body = body.to_string();
    let resp =
        env.raw_request(env.admin(), Request::with_body(method, path, "application/json", body.as_bytes()))?;
    // A Node left by an earlier start of the same environment is fine.
    if ok.contains(&resp.status) || (resp.status == 409 && path == "/api/v1/nodes") {
        return Ok(());
    }
    Err(Error::UnexpectedStatus {
        method: method.into(),
        path: path.into(),
        status: resp.status,
        body: shorten(&resp.body, 2000),
    })
}

fn api_patch(env: &TestEnv, path: &str, body: &serde_json::Value) -> Result<()> {
    let body = body.to_string();
    let resp = env.raw_request(
        env.admin(),
        Request::with_body("PATCH", path, "application/merge-patch+json", body.as_bytes()),
    )?;
    if resp.status == 200 {
        return Ok(());
    }
    Err(Error::UnexpectedStatus {
        method: "PATCH".into(),
        path: path.into(),
        status: resp.status,
        body: shorten(&resp.body, 2000),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_whole_seconds_in_utc() {
        let now = rfc3339_now();
        assert_eq!(now.len(), "2026-12-01T00:00:00Z".len(), "{now}");
        let parsed: jiff::Timestamp = now.parse().unwrap();
        assert!((jiff::Timestamp::now() - parsed).get_seconds().abs() < 60, "{now}");
    }
}
