//! Follows a Pod's log as `kubectl logs -f` does: lines are printed as the container writes them,
//! until the container stops or Ctrl-C.
//!
//! ```sh
//! KUBECONFIG=... cargo run -p examples --example log_follower -- POD [CONTAINER]
//! ```
//!
//! Needs a node that runs the Pod (the local control plane has no kubelet, so there this example
//! only builds). Expected output: the container's log lines, prefixed by the time each arrived.

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::{Api, Client, core::params::LogParams};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let pod = args.next().ok_or_else(|| anyhow::anyhow!("usage: log_follower POD [CONTAINER]"))?;
    let container = args.next();
    let client = Client::try_default().await?;
    let pods: Api<Pod> = Api::default_namespaced(client);
    let params = LogParams { follow: true, tail_lines: Some(10), container, ..LogParams::default() };
    let mut lines = pods.log_stream(&pod, &params).await?.boxed();
    while let Some(line) = lines.next().await {
        let now = jiff::Timestamp::now();
        println!("{now} {}", line?);
    }
    Ok(())
}
