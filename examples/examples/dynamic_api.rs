//! The dynamic API: discover what the cluster serves, then list any resource by name, as
//! `kubectl get <name>` does, without compile-time types.
//!
//! Usage: `cargo run -p examples --example dynamic_api -- deployments` (default: `configmaps`).

use kube::{Api, Client, ResourceExt, api::ListParams, core::DynamicObject, discovery::Discovery};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let what = std::env::args().nth(1).unwrap_or_else(|| "configmaps".into());
    let client = Client::try_default().await?;
    let discovery = Discovery::run(&client).await?;
    let Some((ar, caps)) = discovery.find(&what) else {
        anyhow::bail!("the cluster serves no resource called {what:?}");
    };
    println!(
        "{what} is {} in {}/{} ({} scoped)",
        ar.kind,
        ar.group,
        ar.version,
        if caps.namespaced() { "namespace" } else { "cluster" }
    );
    let api: Api<DynamicObject> = Api::all_with(client, &ar);
    for obj in api.list(&ListParams::default().limit(20)).await? {
        println!("  {}/{}", obj.namespace().unwrap_or_default(), obj.name_any());
    }
    Ok(())
}
