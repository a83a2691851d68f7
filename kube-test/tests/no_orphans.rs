//! No orphaned servers: when a test process is killed with SIGKILL (so nothing is dropped and
//! the shared environment is a `static` anyway), etcd and kube-apiserver stop and the temporary
//! directory is removed by their supervisors.
//!
//! The test runs this same test binary again as a helper process (selected with an environment
//! variable) that starts the shared environment, prints its pids and waits to be killed.

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use kube_test::{Error, TestEnv};

const HELPER_VAR: &str = "KUBE_TEST_ORPHAN_HELPER";
const MARKER: &str = "KUBE_TEST_PIDS";

/// Only does something inside the helper process.
#[test]
fn helper_starts_shared_env_and_waits_to_be_killed() -> Result<(), Error> {
    if std::env::var_os(HELPER_VAR).is_none() {
        return Ok(());
    }
    let env = TestEnv::shared()?;
    let pids: Vec<String> = [env.etcd_pid(), env.apiserver_pid()]
        .into_iter()
        .flatten()
        .chain(env.supervisor_pids())
        .map(|p| p.to_string())
        .collect();
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{MARKER} {} {}", env.dir().display(), pids.join(" "));
    let _ = out.flush();
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Whether a process is running (a zombie waiting to be reaped counts as gone).
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.to_path_buf();
    move |source| Error::Io { action, path, source }
}

#[test]
fn servers_stop_when_the_test_process_is_killed() -> Result<(), Error> {
    if std::env::var_os(HELPER_VAR).is_some() {
        return Ok(());
    }
    let exe = std::env::current_exe().map_err(io_err("find", Path::new("the test binary")))?;
    let mut helper = Command::new(&exe)
        .args([
            "helper_starts_shared_env_and_waits_to_be_killed",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_VAR, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(io_err("run", &exe))?;

    // Read the helper's report on a thread so a hung helper fails the test instead of hanging it.
    let stdout = helper.stdout.take();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if let Some(stdout) = stdout {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // libtest prints the test's name on the same line first.
                if let Some(at) = line.find(MARKER) {
                    let _ = tx.send(line[at..].to_owned());
                    break;
                }
            }
        }
    });
    let report = rx.recv_timeout(Duration::from_secs(90));
    helper.kill().map_err(io_err("kill", &exe))?; // SIGKILL: no destructor runs
    let _ = helper.wait();
    let report = report.map_err(|_| Error::Timeout {
        what: "the helper process to report its pids".into(),
        waited: Duration::from_secs(90),
        detail: String::new(),
    })?;

    let mut fields = report.split_whitespace().skip(1);
    let dir = PathBuf::from(fields.next().unwrap_or_default());
    let pids: Vec<&str> = fields.collect();
    assert_eq!(pids.len(), 4, "etcd, apiserver and two supervisors expected: {report}");
    println!("helper killed; waiting for {pids:?} and {} to go", dir.display());

    let started = Instant::now();
    let deadline = started + Duration::from_secs(20);
    loop {
        let alive: Vec<&&str> = pids.iter().filter(|p| running(p)).collect();
        if alive.is_empty() && !dir.exists() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after {:?}: still running {alive:?}, directory exists: {}",
            started.elapsed(),
            dir.exists()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("servers gone and directory removed {:.2}s after SIGKILL", started.elapsed().as_secs_f64());
    Ok(())
}
