//! Container logs through the real apiserver from the fake kubelet, whose containers' logs are
//! the real output of their main processes: follow, tail, since, timestamps, previous, and
//! the same text as kubectl's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{admin_client, env, namespace};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube_client::{Api, api::LogParams, core::params::AttachParams};
use kube_test::FakeContainer;
use tokio::io::AsyncWriteExt;

/// A Pod whose main process prints `ready`, then `got <line>` for each line attached to its
/// stdin.
fn echo_pod(prefix: &str) -> (String, Api<Pod>) {
    let ns = namespace(prefix);
    let main =
        FakeContainer::new("main", &["sh", "-c", r#"echo ready; while read l; do echo "got $l"; done"#])
            .stdin(true);
    env().kubelet().unwrap().run_pod(env(), &ns, "echo", &[main]).unwrap();
    (ns.clone(), Api::namespaced(admin_client(), &ns))
}

/// Writes `lines` to the main process's stdin through attach.
async fn feed(pods: &Api<Pod>, lines: &[&str]) {
    let ap = AttachParams { stdin: true, stdout: false, stderr: false, ..AttachParams::default() };
    let mut proc = pods.attach("echo", &ap).await.unwrap();
    let mut stdin = proc.take_stdin().unwrap();
    for line in lines {
        stdin.write_all(format!("{line}\n").as_bytes()).await.unwrap();
    }
    drop(stdin);
    tokio::time::timeout(Duration::from_secs(20), proc.wait()).await.unwrap().unwrap();
}

/// Polls the whole log until it has `n` lines.
async fn log_with_lines(pods: &Api<Pod>, lp: &LogParams, n: usize) -> String {
    for _ in 0..100 {
        let log = pods.logs("echo", lp).await.unwrap();
        if log.lines().count() >= n {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the log never reached {n} lines");
}

type Lines = futures::stream::BoxStream<'static, Result<String, kube_client::Error>>;

/// The next line of a followed log.
async fn next(lines: &mut Lines) -> String {
    tokio::time::timeout(Duration::from_secs(20), lines.try_next()).await.unwrap().unwrap().unwrap()
}

#[tokio::test]
async fn follow_streams_new_output_as_it_is_written() {
    let (_ns, pods) = echo_pod("logs-follow");
    let lp = LogParams { follow: true, ..LogParams::default() };
    let mut lines = pods.log_stream("echo", &lp).await.unwrap().boxed();
    assert_eq!(next(&mut lines).await, "ready");
    feed(&pods, &["one"]).await;
    assert_eq!(next(&mut lines).await, "got one");
    feed(&pods, &["two", "three"]).await;
    assert_eq!(next(&mut lines).await, "got two");
    assert_eq!(next(&mut lines).await, "got three");
}

#[tokio::test]
async fn tail_timestamps_and_kubectl_agree() {
    let (ns, pods) = echo_pod("logs-tail");
    feed(&pods, &["a", "b", "c", "d"]).await;
    let all = log_with_lines(&pods, &LogParams::default(), 5).await;
    assert_eq!(all, "ready\ngot a\ngot b\ngot c\ngot d\n");
    assert_eq!(env().kubectl(["logs", "-n", &ns, "echo"]).unwrap(), all);

    let tail = pods.logs("echo", &LogParams { tail_lines: Some(2), ..LogParams::default() }).await.unwrap();
    assert_eq!(tail, "got c\ngot d\n");
    assert_eq!(env().kubectl(["logs", "-n", &ns, "echo", "--tail=2"]).unwrap(), tail);

    let stamped = pods.logs("echo", &LogParams { timestamps: true, ..LogParams::default() }).await.unwrap();
    let texts: Vec<&str> = stamped
        .lines()
        .map(|line| {
            let (stamp, text) = line.split_once(' ').unwrap();
            stamp.parse::<jiff::Timestamp>().unwrap_or_else(|e| panic!("{stamp:?} is not a timestamp: {e}"));
            text
        })
        .collect();
    assert_eq!(texts, ["ready", "got a", "got b", "got c", "got d"]);

    let limited =
        pods.logs("echo", &LogParams { limit_bytes: Some(8), ..LogParams::default() }).await.unwrap();
    assert_eq!(limited, "ready\ngo");
}

#[tokio::test]
async fn since_keeps_only_recent_lines() {
    let (_ns, pods) = echo_pod("logs-since");
    feed(&pods, &["old"]).await;
    log_with_lines(&pods, &LogParams::default(), 2).await;
    // sinceTime has a resolution of seconds: leave a clear gap.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let cut = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + 1).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    feed(&pods, &["new"]).await;
    log_with_lines(&pods, &LogParams::default(), 3).await;

    let since = LogParams { since_time: Some(cut.to_string()), ..LogParams::default() };
    assert_eq!(pods.logs("echo", &since).await.unwrap(), "got new\n");
    // The last two seconds hold only the new line (generous: it was written just now).
    let recent = LogParams { since_seconds: Some(2), ..LogParams::default() };
    assert_eq!(pods.logs("echo", &recent).await.unwrap(), "got new\n");
}

#[tokio::test]
async fn previous_shows_the_run_before_a_restart() {
    let (ns, pods) = echo_pod("logs-previous");
    feed(&pods, &["first run"]).await;
    log_with_lines(&pods, &LogParams::default(), 2).await;

    let err = pods.logs("echo", &LogParams { previous: true, ..LogParams::default() }).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.code), Some(400), "{err}");

    env().kubelet().unwrap().restart_container(&ns, "echo", "main").unwrap();
    let current = log_with_lines(&pods, &LogParams::default(), 1).await;
    assert_eq!(current, "ready\n");
    let previous = pods.logs("echo", &LogParams { previous: true, ..LogParams::default() }).await.unwrap();
    assert_eq!(previous, "ready\ngot first run\n");
    assert_eq!(env().kubectl(["logs", "-n", &ns, "echo", "--previous"]).unwrap(), previous);
}

#[tokio::test]
async fn follow_of_a_finished_container_ends_with_its_output() {
    let ns = namespace("logs-done");
    let main = FakeContainer::new("main", &["sh", "-c", "for i in 1 2 3; do echo n$i; done"]);
    env().kubelet().unwrap().run_pod(env(), &ns, "done", &[main]).unwrap();
    let pods: Api<Pod> = Api::namespaced(admin_client(), &ns);
    let lp = LogParams { follow: true, ..LogParams::default() };
    let lines = pods.log_stream("done", &lp).await.unwrap();
    let all: Vec<String> =
        tokio::time::timeout(Duration::from_secs(20), lines.try_collect()).await.unwrap().unwrap();
    assert_eq!(all, ["n1", "n2", "n3"]);
}
