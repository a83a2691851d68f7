//! Runs a command in a Pod like `kubectl exec`, streams stdin through it, and forwards a Pod
//! port like `kubectl port-forward`, all over WebSocket through the API server.
//!
//! ```sh
//! # Against a cluster: the command's output, then its exit code.
//! KUBECONFIG=... cargo run -p examples --example exec -- POD -- sh -c 'echo hi; exit 3'
//! # Forward local port 8080 to the Pod's port 80 until Ctrl-C.
//! KUBECONFIG=... cargo run -p examples --example exec -- POD --forward 8080:80
//! # Self-contained: a local control plane with kube-test's fake kubelet.
//! KUBEBUILDER_ASSETS=$(tools/controlplane/build.sh) cargo run -p examples --example exec -- --demo
//! ```
//!
//! Expected output of `--demo`:
//!
//! ```text
//! exec `echo hello from the pod`: stdout "hello from the pod\n", exit code 0
//! exec `sh -c 'echo oops >&2; exit 3'`: stderr "oops\n", exit code 3
//! stdin through `wc -c`: 1000000 bytes counted
//! port-forward 127.0.0.1:PORT -> pod port PORT: 5 bytes echoed
//! ```

use std::net::SocketAddr;

use k8s_openapi::api::core::v1::Pod;
use kube::{Api, Client, core::params::AttachParams};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--demo") => demo().await,
        Some(pod) if args.get(1).map(String::as_str) == Some("--forward") => {
            let spec = args.get(2).ok_or_else(|| anyhow::anyhow!("--forward LOCAL:REMOTE"))?;
            let (local, remote) =
                spec.split_once(':').ok_or_else(|| anyhow::anyhow!("--forward LOCAL:REMOTE"))?;
            let pods: Api<Pod> = Api::default_namespaced(Client::try_default().await?);
            forward(&pods, pod, local.parse()?, remote.parse()?).await
        }
        Some(pod) if args.get(1).map(String::as_str) == Some("--") && args.len() > 2 => {
            let pods: Api<Pod> = Api::default_namespaced(Client::try_default().await?);
            let out = pods.exec_output(pod, &args[2..], None).await?;
            use std::io::Write as _;
            std::io::stdout().write_all(&out.stdout)?;
            std::io::stderr().write_all(&out.stderr)?;
            println!("exit code {}", out.status.code());
            Ok(())
        }
        _ => anyhow::bail!("usage: exec POD -- COMMAND... | exec POD --forward LOCAL:REMOTE | exec --demo"),
    }
}

/// Forwards every connection to `local` until Ctrl-C, printing the failed ones.
async fn forward(pods: &Api<Pod>, pod: &str, local: u16, remote: u16) -> anyhow::Result<()> {
    let mut listener =
        pods.portforward_listen(pod, SocketAddr::from(([127, 0, 0, 1], local)), remote).await?;
    println!("Forwarding from {} -> {remote}", listener.local_addr());
    loop {
        tokio::select! {
            Some(err) = listener.next_error() => eprintln!("{err}"),
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// Starts a control plane with the fake kubelet and shows exec, stdin and port-forward.
async fn demo() -> anyhow::Result<()> {
    let env = tokio::task::spawn_blocking(kube_test::TestEnv::start).await??;
    let env = std::sync::Arc::new(env);
    let ns = env.create_unique_namespace("exec-demo")?;
    let setup = env.clone();
    let ns2 = ns.clone();
    let echo_port = tokio::task::spawn_blocking(move || -> anyhow::Result<u16> {
        let kubelet = setup.kubelet()?;
        let main = kube_test::FakeContainer::new("main", &["sleep", "3600"]);
        kubelet.run_pod(&setup, &ns2, "demo", &[main])?;
        Ok(kubelet.echo_port())
    })
    .await??;
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::KubeconfigSource::Path(env.kubeconfig().path().to_path_buf()),
        &kube::config::KubeConfigOptions::default(),
    )?;
    let pods: Api<Pod> = Api::namespaced(Client::try_from(config)?, &ns);

    let out = pods.exec_output("demo", ["echo", "hello from the pod"], None).await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("exec `echo hello from the pod`: stdout {stdout:?}, exit code {}", out.status.code());

    let out = pods.exec_output("demo", ["sh", "-c", "echo oops >&2; exit 3"], None).await?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("exec `sh -c 'echo oops >&2; exit 3'`: stderr {stderr:?}, exit code {}", out.status.code());

    // stdin, closed after the data so that `wc` sees the end of its input.
    let ap = AttachParams { stdin: true, stderr: false, ..AttachParams::default() };
    let mut wc = pods.exec("demo", ["wc", "-c"], &ap).await?;
    let mut stdin = wc.take_stdin().ok_or_else(|| anyhow::anyhow!("no stdin"))?;
    stdin.write_all(&vec![b'x'; 1_000_000]).await?;
    stdin.shutdown().await?;
    let out = wc.output().await?;
    println!("stdin through `wc -c`: {} bytes counted", String::from_utf8_lossy(&out.stdout).trim());

    // Port-forward through a local listener, as `kubectl port-forward` does.
    let listener = pods.portforward_listen("demo", SocketAddr::from(([127, 0, 0, 1], 0)), echo_port).await?;
    let mut conn = tokio::net::TcpStream::connect(listener.local_addr()).await?;
    conn.write_all(b"hello").await?;
    let mut back = [0u8; 5];
    conn.read_exact(&mut back).await?;
    println!(
        "port-forward {} -> pod port {echo_port}: {} bytes echoed",
        listener.local_addr(),
        if &back == b"hello" { back.len() } else { 0 }
    );
    Ok(())
}
