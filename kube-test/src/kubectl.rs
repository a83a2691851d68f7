//! Running kubectl against a [`TestEnv`], as an independent client for tests.

use std::{
    ffi::{OsStr, OsString},
    io::{Read, Write},
    process::{Command, Stdio},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crate::{Error, Kubeconfig, Result, TestEnv};

/// The `--request-timeout` given to kubectl unless the arguments set one or watch.
pub const KUBECTL_REQUEST_TIMEOUT: &str = "30s";
/// How long one kubectl run may take before it is killed.
pub const KUBECTL_DEADLINE: Duration = Duration::from_secs(120);

/// Whether `--request-timeout` is to be added to `args`: not when they set it themselves, and
/// not for commands that keep a request open (a request timeout would cut them off).
fn needs_request_timeout(args: &[OsString]) -> bool {
    let options = args.iter().map(|a| a.to_string_lossy()).take_while(|a| a != "--");
    let mut words = Vec::new();
    for a in options {
        if a == "--request-timeout" || a.starts_with("--request-timeout=") {
            return false;
        }
        if matches!(a.as_ref(), "-w" | "--watch" | "--watch-only" | "-f=true" | "--follow" | "--follow=true")
            || a.starts_with("--watch=")
            || a.starts_with("--watch-only=")
        {
            return false;
        }
        if !a.starts_with('-') {
            words.push(a);
        }
    }
    // The command is the first word that is not a flag's value; any matching word is taken as
    // the command, since erring on that side only leaves out the default.
    let streaming = ["wait", "logs", "exec", "attach", "port-forward", "proxy", "cp", "debug", "run"];
    !words.iter().any(|w| streaming.contains(&w.as_ref()))
}

/// Reads a pipe to the end on a thread, so that a full pipe cannot block the child.
fn drain(pipe: Option<impl Read + Send + 'static>) -> Option<JoinHandle<Vec<u8>>> {
    pipe.map(|mut p| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            // What was read before an error is still worth returning.
            let _ = p.read_to_end(&mut buf);
            buf
        })
    })
}

fn collect(reader: Option<JoinHandle<Vec<u8>>>) -> String {
    let bytes = reader.and_then(|r| r.join().ok()).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What a successful kubectl printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubectlOutput {
    /// Its standard output.
    pub stdout: String,
    /// Its standard error (warnings).
    pub stderr: String,
}

impl TestEnv {
    /// Runs kubectl as the admin and returns its stdout; a non-zero exit becomes
    /// [`Error::Kubectl`] with kubectl's stderr.
    ///
    /// `--request-timeout=30s` ([`KUBECTL_REQUEST_TIMEOUT`]) is added unless the arguments set
    /// `--request-timeout` or run a command that keeps a request open (`wait`, `logs`, `exec`,
    /// `--watch`, ...). A kubectl that runs longer than [`KUBECTL_DEADLINE`] is killed and
    /// reported as [`Error::Timeout`].
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
        self.run_kubectl(self.kubeconfig(), args, None).map(|out| out.stdout)
    }

    /// Runs kubectl as the admin, with `stdin` if given, and returns both its stdout and its
    /// stderr (where kubectl prints the API server's warnings as `Warning: ...`).
    ///
    /// ```no_run
    /// let env = kube_test::TestEnv::shared()?;
    /// let out = env.kubectl_output(["get", "namespace", "default"], None)?;
    /// assert!(out.stderr.is_empty());
    /// # Ok::<(), kube_test::Error>(())
    /// ```
    pub fn kubectl_output<I, S>(&self, args: I, stdin: Option<&str>) -> Result<KubectlOutput>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_kubectl(self.kubeconfig(), args, stdin)
    }

    /// Runs kubectl with another kubeconfig, e.g. a [`User`](crate::User)'s.
    pub fn kubectl_as<I, S>(&self, kubeconfig: impl AsRef<Kubeconfig>, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_kubectl(kubeconfig.as_ref(), args, None).map(|out| out.stdout)
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
        self.run_kubectl(self.kubeconfig(), args, Some(stdin)).map(|out| out.stdout)
    }

    fn run_kubectl<I, S>(
        &self,
        kubeconfig: &Kubeconfig,
        args: I,
        stdin: Option<&str>,
    ) -> Result<KubectlOutput>
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
            .arg(self.root.join("kubectl-cache"));
        if needs_request_timeout(&args) {
            command.arg(format!("--request-timeout={KUBECTL_REQUEST_TIMEOUT}"));
        }
        command
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
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let started = Instant::now();
        let status = loop {
            match child.try_wait().map_err(spawn_err)? {
                Some(status) => break status,
                None if started.elapsed() < KUBECTL_DEADLINE => std::thread::sleep(Duration::from_millis(10)),
                None => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let stderr = collect(stderr);
                    return Err(Error::Timeout {
                        what: format!("`kubectl {shown}` to finish (it was killed)"),
                        waited: started.elapsed(),
                        detail: if stderr.trim().is_empty() {
                            String::new()
                        } else {
                            format!("stderr: {}", stderr.trim())
                        },
                    });
                }
            }
        };
        if let Some(writer) = writer {
            // A write error only matters if kubectl also failed, which is reported below.
            let _ = writer.join();
        }
        let (stdout, stderr) = (collect(stdout), collect(stderr));
        if status.success() {
            Ok(KubectlOutput { stdout, stderr })
        } else {
            Err(Error::Kubectl { args: shown, status: status.to_string(), stderr: stderr.trim().to_owned() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn request_timeout_is_added_unless_set_or_streaming() {
        assert!(needs_request_timeout(&args(&["get", "pods", "-n", "x"])));
        assert!(needs_request_timeout(&args(&["apply", "-f", "-"])));
        assert!(!needs_request_timeout(&args(&["get", "pods", "--request-timeout=5s"])));
        assert!(!needs_request_timeout(&args(&["--request-timeout", "0", "get", "pods"])));
        assert!(!needs_request_timeout(&args(&["get", "pods", "-w"])));
        assert!(!needs_request_timeout(&args(&["wait", "--for=condition=Ready", "pod/x"])));
        assert!(!needs_request_timeout(&args(&["-n", "x", "logs", "p"])));
        // Arguments after `--` belong to another program.
        assert!(needs_request_timeout(&args(&["get", "pods", "--", "--request-timeout=1s"])));
    }
}
