//! Running a server under a small `sh` supervisor that dies with the test process.
//!
//! A `static` environment is never dropped and a test process can be killed with SIGKILL, so
//! stopping servers from `Drop` alone would leave orphans. Each server is therefore started by
//! `sh` (the [`SUPERVISOR`] script), which starts the real binary in the background and then
//! blocks reading its own stdin: a pipe whose write end only this process holds (Rust creates
//! pipes close-on-exec, so other children do not inherit it). When the test process exits or
//! dies, the pipe reaches EOF and the supervisor sends SIGTERM to the server, SIGKILL after a
//! grace period, and optionally removes a directory. When the server exits on its own the
//! supervisor exits too. Dropping a [`Supervised`] closes the pipe the same way and waits.
//!
//! The supervisor runs in its own process group so that a Ctrl-C in a terminal reaches only the
//! test process, which then dies and lets the supervisors clean up in order.

use std::{
    ffi::OsString,
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Read, Seek, SeekFrom},
    os::unix::process::{CommandExt, ExitStatusExt},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use crate::{Error, Result};

/// The supervisor, run as `sh -c SUPERVISOR sh LOG CLEANUP GRACE_TICKS AFTER PROGRAM ARGS...`.
///
/// It prints the server's pid on its stdout, then redirects its own output to the log. A tick
/// is 0.1 s. `CLEANUP` is a directory to remove after the server is gone, or empty. `AFTER` is
/// a file of pids (one a line, or empty) to wait for, up to 15 s, before stopping the server.
pub(crate) const SUPERVISOR: &str = r#"
log=$1 cleanup=$2 grace=$3 after=$4
shift 4
exec 3<&0 </dev/null
"$@" >>"$log" 2>&1 3<&- &
child=$!
echo "$child"
exec >>"$log" 2>&1
(
  while read -r _ <&3; do :; done
  trap '' TERM
  if [ -n "$after" ] && [ -r "$after" ]; then
    while read -r p; do
      i=0
      while [ -n "$p" ] && kill -0 "$p" 2>/dev/null && [ "$i" -lt 150 ]; do
        i=$((i + 1))
        sleep 0.1
      done
    done < "$after"
  fi
  kill -TERM "$child" 2>/dev/null
  i=0
  while kill -0 "$child" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -eq "$grace" ]; then kill -KILL "$child" 2>/dev/null; fi
    if [ "$i" -gt $((grace + 100)) ]; then break; fi
    sleep 0.1
  done
  if [ -n "$cleanup" ]; then rm -rf -- "$cleanup" 2>/dev/null || rm -rf -- "$cleanup"; fi
) &
watcher=$!
exec 3<&-
wait "$child"
status=$?
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
exit "$status"
"#;

/// What to run under supervision.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// Name for messages, e.g. "etcd".
    pub(crate) name: &'static str,
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<OsString>,
    /// Where the server's stdout and stderr go (appended).
    pub(crate) log: PathBuf,
    /// A directory for the supervisor to remove after the server is gone, if the test process
    /// dies first.
    pub(crate) cleanup: Option<PathBuf>,
    /// Time between SIGTERM and SIGKILL.
    pub(crate) grace: Duration,
    /// A file listing pids that must be gone before the supervisor stops this server when the
    /// test process dies (etcd waits for the apiserver, which hangs on shutdown without etcd).
    pub(crate) stop_after: Option<PathBuf>,
}

/// A running server and its supervisor.
#[derive(Debug)]
pub(crate) struct Supervised {
    spec: Spec,
    supervisor: Child,
    /// The write end of the supervisor's stdin; closing it stops the server.
    lifeline: Option<ChildStdin>,
    pid: u32,
    exited: Option<ExitStatus>,
}

impl Supervised {
    /// Starts `spec.program` under the supervisor and returns once its pid is known.
    pub(crate) fn spawn(spec: Spec) -> Result<Self> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .map_err(|e| Error::io("open the log file", &spec.log, e))?;
        let stderr = log.try_clone().map_err(|e| Error::io("open the log file", &spec.log, e))?;
        let ticks = (spec.grace.as_millis() / 100).max(1).to_string();
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(SUPERVISOR)
            .arg("sh")
            .arg(&spec.log)
            .arg(spec.cleanup.as_deref().unwrap_or(Path::new("")))
            .arg(ticks)
            .arg(spec.stop_after.as_deref().unwrap_or(Path::new("")))
            .arg(&spec.program)
            .args(&spec.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .process_group(0);
        let spawn_err =
            |source| Error::Spawn { name: spec.name.to_owned(), program: spec.program.clone(), source };
        let mut supervisor = command.spawn().map_err(spawn_err)?;
        let lifeline = supervisor.stdin.take();
        let mut line = String::new();
        if let Some(stdout) = supervisor.stdout.take() {
            BufReader::new(stdout).read_line(&mut line).map_err(spawn_err)?;
        }
        let mut this = Supervised { spec, supervisor, lifeline, pid: 0, exited: None };
        match line.trim().parse::<u32>() {
            Ok(pid) => this.pid = pid,
            Err(_) => {
                drop(this.lifeline.take());
                let status = this.wait_supervisor(Duration::from_secs(2));
                return Err(this.exited_error(status));
            }
        }
        drop(log);
        tracing::debug!(
            server = this.spec.name,
            pid = this.pid,
            supervisor = this.supervisor.id(),
            "started"
        );
        Ok(this)
    }

    /// The pid of the server itself (not of its supervisor).
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// The pid of the `sh` supervisor.
    pub(crate) fn supervisor_pid(&self) -> u32 {
        self.supervisor.id()
    }

    /// The server's log file.
    #[cfg(test)]
    pub(crate) fn log(&self) -> &Path {
        &self.spec.log
    }

    /// Returns an error with the log tail if the server has exited.
    pub(crate) fn check_running(&mut self) -> Result<()> {
        if self.exited.is_none() {
            if let Ok(Some(status)) = self.supervisor.try_wait() {
                self.exited = Some(status);
            }
        }
        match self.exited {
            Some(status) => Err(self.exited_error(Some(status))),
            None => Ok(()),
        }
    }

    fn exited_error(&self, status: Option<ExitStatus>) -> Error {
        Error::ExitedEarly {
            name: self.spec.name.to_owned(),
            status: status.map_or_else(|| "unknown status".to_owned(), describe),
            log: self.spec.log.clone(),
            tail: log_tail(&self.spec.log, 30),
        }
    }

    /// Adds the tail of the server's log to a timeout error.
    pub(crate) fn explain(&self, error: Error) -> Error {
        match error {
            Error::Timeout { what, waited, detail } => Error::Timeout {
                what,
                waited,
                detail: format!(
                    "{detail}; last lines of {}:\n{}",
                    self.spec.log.display(),
                    log_tail(&self.spec.log, 30)
                ),
            },
            other => other,
        }
    }

    /// Stops the server: SIGTERM, SIGKILL after the grace period, and waits for it.
    pub(crate) fn stop(&mut self) -> Option<ExitStatus> {
        if self.exited.is_some() {
            return self.exited;
        }
        drop(self.lifeline.take());
        let started = Instant::now();
        let status = self.wait_supervisor(self.spec.grace + Duration::from_secs(5));
        if status.is_none() {
            tracing::warn!(
                server = self.spec.name,
                pid = self.pid,
                "supervisor did not stop the server in time; killing its process group"
            );
            // The supervisor leads its own process group (`process_group(0)`), which holds the
            // server and the watcher subshell too.
            kill_group(self.supervisor.id());
            let _ = self.supervisor.kill();
            let _ = self.supervisor.wait();
        }
        tracing::debug!(server = self.spec.name, pid = self.pid, elapsed = ?started.elapsed(), "stopped");
        self.exited = status;
        status
    }

    fn wait_supervisor(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            match self.supervisor.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => return None,
            }
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends SIGKILL to the process group `pgid` without libc: with `kill` from the file system
/// if there is one, else with the shell's builtin.
fn kill_group(pgid: u32) {
    let target = format!("-{pgid}");
    let mut command = match ["/bin/kill", "/usr/bin/kill"].into_iter().find(|p| Path::new(p).is_file()) {
        Some(kill) => {
            let mut c = Command::new(kill);
            c.args(["-KILL", "--", &target]);
            c
        }
        None => {
            let mut c = Command::new("/bin/sh");
            c.args(["-c", r#"kill -KILL -- "$1""#, "sh", &target]);
            c
        }
    };
    let result = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !matches!(&result, Ok(status) if status.success()) {
        tracing::warn!(pgid, ?result, "failed to kill the supervisor's process group");
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

/// The last `lines` lines of a log file (reads at most the last 64 KiB).
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    let read = || -> std::io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    match read() {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(could not read the log: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                // The state follows the command name in parentheses.
                s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')).unwrap_or(false)
            })
            .unwrap_or(false)
    }

    /// Waits until the server has written `word` to its log.
    fn wait_for_log(server: &Supervised, word: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !log_tail(server.log(), 5).contains(word) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn spec(dir: &Path, script: &str, cleanup: Option<PathBuf>) -> Spec {
        Spec {
            name: "test-server",
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            log: dir.join("server.log"),
            cleanup,
            grace: Duration::from_millis(500),
            stop_after: None,
        }
    }

    #[test]
    fn stop_terminates_the_server_and_removes_cleanup_dir() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("create", "tmp", e))?;
        let doomed = dir.path().join("doomed");
        std::fs::create_dir(&doomed).map_err(|e| Error::io("create", &doomed, e))?;
        let mut server = Supervised::spawn(spec(dir.path(), "echo up; exec sleep 60", Some(doomed.clone())))?;
        let pid = server.pid();
        wait_for_log(&server, "up");
        assert!(alive(pid));
        server.check_running()?;
        assert!(server.stop().is_some());
        assert!(!alive(pid), "server {pid} still alive");
        assert!(!doomed.exists(), "cleanup dir not removed");
        assert!(log_tail(server.log(), 5).contains("up"));
        Ok(())
    }

    #[test]
    fn term_ignoring_server_gets_killed_after_grace() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("create", "tmp", e))?;
        let mut server = Supervised::spawn(spec(
            dir.path(),
            "trap '' TERM; echo ready; while :; do sleep 0.05; done",
            None,
        ))?;
        let pid = server.pid();
        wait_for_log(&server, "ready");
        let started = Instant::now();
        server.stop();
        assert!(!alive(pid));
        assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
        Ok(())
    }

    #[test]
    fn kill_group_kills_server_and_watcher() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("create", "tmp", e))?;
        let mut server = Supervised::spawn(spec(dir.path(), "echo up; exec sleep 60", None))?;
        let pid = server.pid();
        let supervisor = server.supervisor_pid();
        wait_for_log(&server, "up");
        kill_group(supervisor);
        let _ = server.supervisor.wait();
        // The watcher subshell is the only other process of the group; it is gone when no
        // process of the group is left.
        let deadline = Instant::now() + Duration::from_secs(5);
        while group_members(supervisor) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(pid), "server {pid} still alive");
        assert_eq!(group_members(supervisor), 0, "process group {supervisor} not empty");
        server.exited = Some(ExitStatus::from_raw(0));
        Ok(())
    }

    /// Live processes in process group `pgid`, from /proc.
    fn group_members(pgid: u32) -> usize {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return 0;
        };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().is_some_and(|s| {
                    // Fields after the command: state, ppid, pgrp.
                    let rest: Vec<&str> =
                        s.rsplit_once(") ").map(|(_, r)| r.split(' ').collect()).unwrap_or_default();
                    rest.first().is_some_and(|st| *st != "Z")
                        && rest.get(2) == Some(&pgid.to_string().as_str())
                })
            })
            .count()
    }

    #[test]
    fn server_exit_is_reported_with_log_tail() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("create", "tmp", e))?;
        let mut server = Supervised::spawn(spec(dir.path(), "echo boom >&2; exit 3", None))?;
        let deadline = Instant::now() + Duration::from_secs(5);
        let err = loop {
            match server.check_running() {
                Err(e) => break e,
                Ok(()) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                Ok(()) => return Err(Error::ApiserverState("test timed out")),
            }
        };
        let msg = err.to_string();
        assert!(msg.contains("exit code 3"), "{msg}");
        assert!(msg.contains("boom"), "{msg}");
        Ok(())
    }
}
