//! Typed `Api<Pod>`: create, get, list with a label selector, patch (server-side apply), and delete.
//!
//! Runs against the cluster of `$KUBECONFIG` / `~/.kube/config` (start one with `just cluster` and
//! export the KUBECONFIG it prints).

use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
};
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let client = Client::try_default().await?;
    let pods: Api<Pod> = Api::default_namespaced(client);

    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "example-pod", "labels": {"app": "example"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    }))?;
    match pods.create(&PostParams::default(), &pod).await {
        Ok(p) => println!("created {}", p.name_any()),
        Err(e) if e.is_conflict() => println!("example-pod already exists"),
        Err(e) => return Err(e.into()),
    }

    let fetched = pods.get("example-pod").await?;
    println!("uid {:?}, phase {:?}", fetched.uid(), fetched.status.and_then(|s| s.phase));

    for p in pods.list(&ListParams::default().labels("app=example")).await? {
        println!("listed {}", p.name_any());
    }

    let patch = Patch::Apply(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "example-pod", "labels": {"team": "docs"}}
    }));
    let patched = pods.patch("example-pod", &PatchParams::apply("pod-api-example"), &patch).await?;
    println!("labels now {:?}", patched.labels());

    pods.delete("example-pod", &DeleteParams::default().grace_period(0)).await?;
    println!("deleted example-pod");
    Ok(())
}
