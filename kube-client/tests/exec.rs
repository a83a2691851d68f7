//! exec and attach through the real apiserver to the fake kubelet (upstream's streaming server
//! code), cross-checked with the real kubectl against the same pod.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{admin_client, env, namespace};
use k8s_openapi::api::core::v1::Pod;
use kube_client::{
    Api,
    api::remote::{Error, TerminalSize},
    core::params::AttachParams,
};
use kube_test::FakeContainer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A namespace with a running Pod `pod` whose container `main` sleeps, and an `Api<Pod>` there.
fn pod_api(prefix: &str) -> (String, Api<Pod>) {
    let ns = namespace(prefix);
    let kubelet = env().kubelet().unwrap();
    kubelet.run_pod(env(), &ns, "pod", &[FakeContainer::new("main", &["sleep", "3600"])]).unwrap();
    (ns.clone(), Api::namespaced(admin_client(), &ns))
}

#[tokio::test]
async fn exec_collects_stdout_and_the_exit_code_like_kubectl() {
    let (ns, pods) = pod_api("exec-echo");
    let out = pods.exec_output("pod", ["echo", "hello"], None).await.unwrap();
    assert_eq!(out.stdout, b"hello\n");
    assert!(out.stderr.is_empty());
    assert!(out.status.success());
    assert_eq!(out.status.code(), 0);

    let kubectl = env().kubectl(["exec", "-n", &ns, "pod", "--", "echo", "hello"]).unwrap();
    assert_eq!(kubectl.as_bytes(), out.stdout.as_slice());

    // A longer output, the same through both clients.
    let script = "for i in $(seq 1 2000); do echo line $i; done";
    let ours = pods.exec_output("pod", ["sh", "-c", script], Some("main")).await.unwrap();
    let theirs = env().kubectl(["exec", "-n", &ns, "pod", "-c", "main", "--", "sh", "-c", script]).unwrap();
    assert_eq!(String::from_utf8(ours.stdout).unwrap(), theirs);
}

#[tokio::test]
async fn stderr_is_separate_and_a_non_zero_exit_is_its_code() {
    let (_ns, pods) = pod_api("exec-stderr");
    let out = pods.exec_output("pod", ["sh", "-c", "echo out; echo err >&2; exit 3"], None).await.unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert!(!out.status.success());
    assert_eq!(out.status.code(), 3);
    assert_eq!(out.status.status().reason, "NonZeroExitCode");
}

#[tokio::test]
async fn stdin_round_trips_through_cat_and_ends_on_half_close() {
    let (_ns, pods) = pod_api("exec-stdin");
    let ap = AttachParams { stdin: true, stderr: false, ..AttachParams::default() };
    let mut proc = pods.exec("pod", ["cat"], &ap).await.unwrap();
    assert_eq!(proc.protocol(), "v5.channel.k8s.io");
    let mut stdin = proc.take_stdin().unwrap();
    let mut stdout = proc.take_stdout().unwrap();
    let payload: Vec<u8> = (0..5 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let expected = payload.clone();
    let writer = tokio::spawn(async move {
        stdin.write_all(&payload).await.unwrap();
        // Half-close: cat sees EOF and exits, which ends the session.
        stdin.shutdown().await.unwrap();
    });
    let mut echoed = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stdout.read_to_end(&mut echoed)).await.unwrap().unwrap();
    writer.await.unwrap();
    assert_eq!(echoed.len(), expected.len());
    assert!(echoed == expected, "the echoed bytes differ");
    let status = tokio::time::timeout(Duration::from_secs(10), proc.wait()).await.unwrap().unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn unknown_pods_and_containers_are_refused_with_the_servers_status() {
    let (ns, pods) = pod_api("exec-missing");
    let err = pods.exec_output("nope", ["true"], None).await.unwrap_err();
    let Error::Refused { status, target } = &err else { panic!("expected a refusal, got {err:?}") };
    assert_eq!(status.code, 404);
    assert_eq!(status.reason, "NotFound");
    assert_eq!(target.pod, "nope");
    assert!(
        err.to_string().starts_with(&format!("exec of pod {ns}/nope: the api server refused the upgrade")),
        "{err}"
    );

    let err = pods.exec_output("pod", ["true"], Some("sidecar")).await.unwrap_err();
    let status = err.status().unwrap();
    assert_eq!(status.code, 400);
    assert!(status.message.contains("container sidecar is not valid for pod pod"), "{}", status.message);
    assert!(err.to_string().contains("in container sidecar"), "{err}");
}

#[tokio::test]
async fn a_command_that_cannot_start_is_a_remote_error() {
    let (_ns, pods) = pod_api("exec-notfound");
    let err = pods.exec_output("pod", ["no-such-command-here"], None).await.unwrap_err();
    let Error::Remote { status, .. } = &err else { panic!("expected a remote error, got {err:?}") };
    assert!(status.message.contains("no-such-command-here"), "{}", status.message);
}

/// Reads `stdout` into `seen` until it contains `want`.
async fn read_until(stdout: &mut (impl tokio::io::AsyncRead + Unpin), seen: &mut String, want: &str) {
    let mut buf = [0u8; 1024];
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while !seen.contains(want) {
            let n = stdout.read(&mut buf).await.unwrap();
            assert!(n > 0, "stdout ended before {want:?}; got {seen:?}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
    .await;
    assert!(found.is_ok(), "no {want:?} in {seen:?}");
}

#[tokio::test]
async fn tty_sessions_follow_resizes() {
    let (_ns, pods) = pod_api("exec-tty");
    let ap = AttachParams { stdin: true, tty: true, stderr: false, ..AttachParams::default() };
    let mut proc = pods.exec("pod", ["sh", "-c", "stty size; read line; stty size"], &ap).await.unwrap();
    let size = proc.terminal_size().unwrap();
    size.send(TerminalSize { width: 100, height: 30 }).await.unwrap();
    let mut stdin = proc.take_stdin().unwrap();
    let mut stdout = proc.take_stdout().unwrap();
    let mut seen = String::new();
    read_until(&mut stdout, &mut seen, "30 100").await;
    size.send(TerminalSize { width: 120, height: 40 }).await.unwrap();
    // Give the resize a moment to reach the terminal before the second `stty size`.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stdin.write_all(b"go\n").await.unwrap();
    read_until(&mut stdout, &mut seen, "40 120").await;
    let status = tokio::time::timeout(Duration::from_secs(10), proc.wait()).await.unwrap().unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn attach_talks_to_the_containers_main_process() {
    let ns = namespace("attach");
    let kubelet = env().kubelet().unwrap();
    let main = FakeContainer::new("main", &["cat"]).stdin(true);
    kubelet.run_pod(env(), &ns, "cat", &[main]).unwrap();
    let pods: Api<Pod> = Api::namespaced(admin_client(), &ns);

    let ap = AttachParams { stdin: true, stderr: false, ..AttachParams::default() };
    let mut proc = pods.attach("cat", &ap).await.unwrap();
    let mut stdin = proc.take_stdin().unwrap();
    let mut stdout = proc.take_stdout().unwrap();
    stdin.write_all(b"hello attach\n").await.unwrap();
    let mut buf = vec![0u8; 13];
    tokio::time::timeout(Duration::from_secs(20), stdout.read_exact(&mut buf)).await.unwrap().unwrap();
    assert_eq!(buf, b"hello attach\n");
    // Closing stdin ends this attach session; the container goes on running.
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(20), proc.wait()).await.unwrap().unwrap();
    assert!(status.success());

    // What the main process printed is its log.
    let logs = env().kubectl(["logs", "-n", &ns, "cat"]).unwrap();
    assert_eq!(logs, "hello attach\n");
}

/// A control plane whose apiserver does not translate WebSocket exec and attach into SPDY for
/// the kubelet (`TranslateStreamCloseWebsocketRequests` off, as before Kubernetes 1.30): it
/// proxies the upgrade as it is to the kubelet, whose streaming server (upstream's) speaks
/// `v4.channel.k8s.io` and older only.
async fn untranslated() -> &'static kube_test::TestEnv {
    let gates = "TranslateStreamCloseWebsocketRequests=false";
    tokio::task::spawn_blocking(|| kube_test::TestEnv::shared_with_feature_gates(gates))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_server_without_v5_gets_v4_with_output_stdin_and_exit_codes() {
    let env = untranslated().await;
    let ns = env.create_unique_namespace("exec-v4").unwrap();
    let kubelet = env.kubelet().unwrap();
    kubelet.run_pod(env, &ns, "pod", &[FakeContainer::new("main", &["sleep", "3600"])]).unwrap();
    let pods: Api<Pod> = Api::namespaced(common::admin_client_of(env), &ns);

    let out = pods.exec_output("pod", ["sh", "-c", "echo out; echo err >&2; exit 3"], None).await.unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.status.code(), 3, "the exit code comes in v4's error channel too");
    assert_eq!(out.status.status().reason, "NonZeroExitCode");

    // stdin reaches the process; v4 cannot half-close it, so the command reads one line.
    let ap = AttachParams { stdin: true, stderr: false, ..AttachParams::default() };
    let mut proc = pods.exec("pod", ["sh", "-c", "read line; echo got $line"], &ap).await.unwrap();
    assert_eq!(proc.protocol(), "v4.channel.k8s.io");
    let mut stdin = proc.take_stdin().unwrap();
    let mut stdout = proc.take_stdout().unwrap();
    stdin.write_all(b"through v4\n").await.unwrap();
    let mut echoed = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stdout.read_to_end(&mut echoed)).await.unwrap().unwrap();
    assert_eq!(echoed, b"got through v4\n");
    let status = tokio::time::timeout(Duration::from_secs(10), proc.wait()).await.unwrap().unwrap();
    assert!(status.success());

    // kubectl against the same pod, the same output.
    let kubectl = env.kubectl(["exec", "-n", &ns, "pod", "--", "echo", "hello"]).unwrap();
    assert_eq!(pods.exec_output("pod", ["echo", "hello"], None).await.unwrap().stdout, kubectl.as_bytes());
}

#[tokio::test]
async fn exec_goes_through_a_connect_proxy_on_its_own_tunnel() {
    let (ns, _) = pod_api("exec-proxy");
    let (proxy, tunnels) = common::start_connect_proxy().await;
    let mut config = common::config_from(env().admin().kubeconfig().path());
    config.proxy_url = Some(proxy.parse().unwrap());
    let pods: Api<Pod> = Api::namespaced(kube_client::Client::try_from(config).unwrap(), &ns);
    let out = pods.exec_output("pod", ["echo", "proxied"], None).await.unwrap();
    assert_eq!(out.stdout, b"proxied\n");
    assert!(out.status.success());
    assert_eq!(tunnels.load(std::sync::atomic::Ordering::SeqCst), 1, "the upgrade's HTTP/1.1 connection");
}
