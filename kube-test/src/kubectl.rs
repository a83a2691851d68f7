//! Running kubectl against a [`TestEnv`], as an independent client for tests.

use std::{
    ffi::OsStr,
    io::Write,
    process::{Command, Stdio},
};

use crate::{Error, Kubeconfig, Result, TestEnv};

impl TestEnv {
    /// Runs kubectl as the admin and returns its stdout; a non-zero exit becomes
    /// [`Error::Kubectl`] with kubectl's stderr.
    ///
    /// ```no_run
    /// let env = kube_test::TestEnv::shared()?;
    /// let ns = env.kubectl(["get", "namespace", "default", "-o", "name"])?;
    /// assert_eq!(ns.trim(), "namespace/default");
    /// # Ok::<(), kube_test::Error>(())
    /// ```
    pub fn kubectl<I, S>(&self, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_kubectl(self.kubeconfig(), args, None)
    }

    /// Runs kubectl with another kubeconfig, e.g. a [`User`](crate::User)'s.
    pub fn kubectl_as<I, S>(&self, kubeconfig: impl AsRef<Kubeconfig>, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_kubectl(kubeconfig.as_ref(), args, None)
    }

    /// Runs kubectl as the admin with `stdin` as its standard input, e.g. for
    /// `kubectl apply -f -`.
    ///
    /// ```no_run
    /// let env = kube_test::TestEnv::shared()?;
    /// let ns = env.create_unique_namespace("apply")?;
    /// let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  k: v\n";
    /// env.kubectl_with_stdin(["apply", "-n", &ns, "-f", "-"], manifest)?;
    /// # Ok::<(), kube_test::Error>(())
    /// ```
    pub fn kubectl_with_stdin<I, S>(&self, args: I, stdin: &str) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_kubectl(self.kubeconfig(), args, Some(stdin))
    }

    fn run_kubectl<I, S>(&self, kubeconfig: &Kubeconfig, args: I, stdin: Option<&str>) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let kubectl = self.binaries.kubectl()?;
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_os_string()).collect();
        let shown = args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ");
        let mut command = Command::new(kubectl);
        command
            .arg("--kubeconfig")
            .arg(kubeconfig.path())
            .arg("--cache-dir")
            .arg(self.root.join("kubectl-cache"))
            .args(&args)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        tracing::debug!(args = %shown, kubeconfig = %kubeconfig.path().display(), "running kubectl");
        let spawn_err =
            |source| Error::Spawn { name: "kubectl".into(), program: kubectl.to_path_buf(), source };
        let mut child = command.spawn().map_err(spawn_err)?;
        let writer = match (stdin, child.stdin.take()) {
            (Some(text), Some(mut pipe)) => {
                let text = text.to_owned();
                Some(std::thread::spawn(move || pipe.write_all(text.as_bytes())))
            }
            _ => None,
        };
        let output = child.wait_with_output().map_err(spawn_err)?;
        if let Some(writer) = writer {
            // A write error only matters if kubectl also failed, which is reported below.
            let _ = writer.join();
        }
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(Error::Kubectl {
                args: shown,
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }
}
