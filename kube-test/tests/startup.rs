//! Start-up of a fresh environment: what it exposes, and how long it takes (printed, not
//! asserted).

use std::time::Instant;

use kube_test::{Error, TestEnv};

#[test]
fn fresh_environment_exposes_its_endpoints_and_credentials() -> Result<(), Error> {
    let started = Instant::now();
    let env = TestEnv::start()?;
    println!(
        "kube-test start-up: {:.2}s until ready ({:.2}s including the builder)",
        env.startup_duration().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );

    assert_eq!(env.server_url(), format!("https://127.0.0.1:{}", env.apiserver_port()));
    assert!(env.etcd_url().ends_with(&env.etcd_port().to_string()));
    assert!(env.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(env.admin_cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(env.admin_key_pem().contains("PRIVATE KEY"));
    assert!(env.dir().is_dir());
    assert!(env.apiserver_pid().is_some() && env.etcd_pid().is_some());

    let kc = env.kubeconfig();
    assert!(kc.path().starts_with(env.dir()));
    let on_disk = std::fs::read_to_string(kc.path()).map_err(|e| Error::Io {
        action: "read",
        path: kc.path().into(),
        source: e,
    })?;
    assert_eq!(on_disk, kc.yaml());
    let value = kc.value();
    assert_eq!(value["current-context"], kc.context());
    assert_eq!(value["clusters"][0]["cluster"]["server"], env.server_url().as_str());
    for field in ["client-certificate-data", "client-key-data"] {
        assert!(value["users"][0]["user"][field].is_string(), "missing {field}");
    }

    // kubectl understands both renderings.
    let who = env.kubectl(["auth", "whoami", "-o", "json"])?;
    assert!(who.contains("kube-test-admin") && who.contains("system:masters"), "{who}");
    let json_path = env.dir().join("admin.json.kubeconfig");
    std::fs::write(&json_path, kc.json()).map_err(|e| Error::Io {
        action: "write",
        path: json_path.clone(),
        source: e,
    })?;
    let ns =
        env.kubectl(["--kubeconfig", &json_path.to_string_lossy(), "get", "ns", "default", "-o", "name"])?;
    assert_eq!(ns.trim(), "namespace/default");

    let dir = env.dir().to_path_buf();
    let pids = [env.apiserver_pid(), env.etcd_pid()];
    drop(env);
    assert!(!dir.exists(), "temporary directory left behind: {}", dir.display());
    for pid in pids.into_iter().flatten() {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid),
            "process {pid} still running"
        );
    }
    Ok(())
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')))
        .unwrap_or(true)
}

#[test]
fn apiserver_exiting_early_reports_its_log() -> Result<(), Error> {
    let err = TestEnv::builder().apiserver_arg("--no-such-flag=1").start().err();
    let msg = err.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(matches!(err, Some(Error::ExitedEarly { .. })), "{msg}");
    assert!(msg.starts_with("kube-apiserver exited unexpectedly (exit code 1)"), "{msg}");
    assert!(msg.contains("unknown flag: --no-such-flag"), "{msg}");
    Ok(())
}

#[test]
fn failed_start_keeps_the_logs_only_when_asked() -> Result<(), Error> {
    let err = TestEnv::builder().keep_dir(false).apiserver_arg("--no-such-flag=1").start().err();
    let msg = err.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(msg.contains("removed with its temporary directory"), "{msg}");
    assert!(msg.contains("unknown flag: --no-such-flag"), "{msg}");

    let err = TestEnv::builder().keep_dir(true).apiserver_arg("--no-such-flag=1").start().err();
    let Some(Error::ExitedEarly { log, .. }) = &err else {
        return Err(Error::ApiserverState("expected the apiserver to exit early"));
    };
    let kept = log.exists();
    let dir = log.parent().map(std::path::Path::to_path_buf);
    if let Some(dir) = &dir {
        std::fs::remove_dir_all(dir).map_err(|e| Error::Io {
            action: "remove",
            path: dir.clone(),
            source: e,
        })?;
    }
    assert!(kept, "log of a failed start with keep_dir(true) was removed: {}", log.display());
    Ok(())
}
