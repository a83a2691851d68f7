//! The fake kubelet behind the apiserver: kubectl exec, logs and port-forward reach its
//! "containers"; and the control plane reports its real version.

use kube_test::{CONTROL_PLANE_VERSION, Error, FakeContainer, TestEnv};

#[test]
fn kubectl_exec_and_logs_reach_the_fake_kubelet() -> Result<(), Error> {
    let env = TestEnv::shared()?;
    let ns = env.create_unique_namespace("kubelet")?;
    let kubelet = env.kubelet()?;
    let main = FakeContainer::new("main", &["sh", "-c", "echo started; echo oops >&2; exec sleep 3600"]);
    kubelet.run_pod(env, &ns, "pod", &[main])?;

    let out = env.kubectl(["exec", "-n", &ns, "pod", "--", "echo", "hello"])?;
    assert_eq!(out, "hello\n");
    let err = env.kubectl(["exec", "-n", &ns, "pod", "--", "sh", "-c", "exit 3"]).unwrap_err();
    assert!(err.to_string().contains("exit code 3"), "{err}");

    // The log is the main process's real output; wait for it to have been written.
    let mut logs = String::new();
    for _ in 0..50 {
        logs = env.kubectl(["logs", "-n", &ns, "pod"])?;
        if logs.lines().count() == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut lines: Vec<_> = logs.lines().collect();
    lines.sort();
    assert_eq!(lines, ["oops", "started"]);
    Ok(())
}

#[test]
fn control_plane_reports_its_release_version() -> Result<(), Error> {
    let env = TestEnv::shared()?;
    let version = env.raw_get("/version")?.json()?;
    assert_eq!(version["gitVersion"], CONTROL_PLANE_VERSION);
    assert_eq!(version["major"], "1");
    assert_eq!(version["minor"], "37");
    let client = env.kubectl(["version", "--client", "-o", "json"])?;
    let client: serde_json::Value = serde_json::from_str(&client)
        .map_err(|source| Error::Json { what: "kubectl version".into(), source })?;
    assert_eq!(client["clientVersion"]["gitVersion"], CONTROL_PLANE_VERSION);
    Ok(())
}
