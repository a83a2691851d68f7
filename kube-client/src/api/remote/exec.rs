//! `Api<Pod>::exec` and `Api<Pod>::attach`.

use k8s_openapi::api::core::v1::Pod;
use kube_core::params::AttachParams;

use super::{
    AttachedProcess, Output,
    error::{Error, Target},
    websocket::{self, STREAM_PROTOCOLS, UPGRADE_TIMEOUT},
};
use crate::Api;

impl Api<Pod> {
    fn target(&self, action: &'static str, name: &str, container: Option<&str>) -> Target {
        Target {
            action,
            namespace: self.namespace.clone().unwrap_or_default(),
            pod: name.to_owned(),
            container: container.map(str::to_owned),
            ports: Vec::new(),
        }
    }

    /// Runs `command` in a container of Pod `name`, like `kubectl exec`.
    ///
    /// The streams that `ap` opens are on the returned handle; a TTY (`ap.tty`, which needs
    /// `stderr` off) gets a [`TerminalSizeSender`](super::TerminalSizeSender).
    ///
    /// ```no_run
    /// # async fn run(client: kube_client::Client) -> Result<(), kube_client::api::remote::Error> {
    /// use k8s_openapi::api::core::v1::Pod;
    /// use kube_client::{Api, core::params::AttachParams};
    ///
    /// let pods: Api<Pod> = Api::namespaced(client, "default");
    /// let out = pods.exec("web", ["sh", "-c", "echo hi; exit 3"], &AttachParams::default()).await?.output().await?;
    /// assert_eq!(out.stdout, b"hi\n");
    /// assert_eq!(out.status.code(), 3);
    /// # Ok(()) }
    /// ```
    pub async fn exec<I, S>(
        &self,
        name: &str,
        command: I,
        ap: &AttachParams,
    ) -> Result<AttachedProcess, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let target = self.target("exec", name, ap.container.as_deref());
        let req = self
            .request
            .exec(name, command, ap)
            .map_err(|e| Error::Request { target: Box::new(target.clone()), source: e.into() })?;
        let (ws, protocol) =
            websocket::connect(&self.client, req, STREAM_PROTOCOLS, &target, UPGRADE_TIMEOUT).await?;
        Ok(AttachedProcess::start(ws, protocol, target, ap))
    }

    /// Runs a short command and collects its output and exit status (stdin closed).
    pub async fn exec_output<I, S>(
        &self,
        name: &str,
        command: I,
        container: Option<&str>,
    ) -> Result<Output, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let ap = AttachParams { container: container.map(str::to_owned), ..AttachParams::default() };
        self.exec(name, command, &ap).await?.output().await
    }

    /// Attaches to the main process of a container of Pod `name`, like `kubectl attach`:
    /// its output from now on, and its stdin when the container has `stdin: true`.
    pub async fn attach(&self, name: &str, ap: &AttachParams) -> Result<AttachedProcess, Error> {
        let target = self.target("attach", name, ap.container.as_deref());
        let req = self
            .request
            .attach(name, ap)
            .map_err(|e| Error::Request { target: Box::new(target.clone()), source: e.into() })?;
        let (ws, protocol) =
            websocket::connect(&self.client, req, STREAM_PROTOCOLS, &target, UPGRADE_TIMEOUT).await?;
        Ok(AttachedProcess::start(ws, protocol, target, ap))
    }
}
