//! The main demo: starts a real control plane (etcd + kube-apiserver), then shows the client and
//! the runtime at work on it: typed CRUD, server-side apply, a typed 403, discovery, and a
//! reflector whose cache follows every change.
//!
//! Run it with `just demo` (it builds the control plane once).

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    client::config::{KubeConfigOptions, KubeconfigSource},
    discovery::Discovery,
    runtime::{reflector, watcher},
};
use serde_json::json;

fn client_for(kubeconfig: &std::path::Path) -> anyhow::Result<Client> {
    let source = KubeconfigSource::Path(kubeconfig.to_path_buf());
    let config = kube::Config::from_custom_kubeconfig(source, &KubeConfigOptions::default())?;
    Ok(Client::try_from(config)?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .init();

    println!("starting a local control plane (etcd + kube-apiserver)...");
    let env = tokio::task::spawn_blocking(kube_test::TestEnv::start).await??;
    println!("  ready in {:.1?} at {}", env.startup_duration(), env.server_url());
    println!("  kubeconfig: {}", env.admin().kubeconfig().path().display());

    let client = client_for(env.admin().kubeconfig().path())?;
    let ns = "demo";
    env.create_namespace(ns)?;

    // A reflector keeps a cache of every ConfigMap in the namespace, with indexes.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let (store, writer) = reflector::store();
    let events = reflector::reflector(writer, watcher::watcher(cms.clone(), watcher::Config::default()));
    let mut changes = store.subscribe();
    tokio::spawn(events.for_each(|_| async {}));
    store.wait_until_ready().await?;
    println!("\nreflector ready: {} ConfigMaps cached", store.len());
    tokio::spawn(async move {
        while let Some(change) = changes.next().await {
            let (what, obj) = match &change {
                reflector::Changed::Applied(o) => ("applied", o),
                reflector::Changed::Deleted(o) => ("deleted", o),
            };
            println!("  [subscriber] {what} {}", obj.name_any());
        }
    });

    println!("\ntyped CRUD on ConfigMaps:");
    for (name, tier) in [("web", "frontend"), ("api", "backend"), ("db", "backend")] {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"tier": tier}},
            "data": {"replicas": "1"}
        }))?;
        cms.create(&PostParams::default(), &cm).await?;
        println!("  created {name}");
    }
    let patch = Patch::Apply(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "web"}, "data": {"replicas": "3"}
    }));
    let web = cms.patch("web", &PatchParams::apply("demo").force(), &patch).await?;
    println!("  server-side applied web: replicas={}", web.data.unwrap_or_default()["replicas"]);
    cms.delete("db", &DeleteParams::default()).await?;
    println!("  deleted db");

    let err = cms
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "web"}}))?)
        .await;
    if let Err(e) = err {
        println!("  creating web again: {e}");
    }

    // A user without rights gets a typed 403.
    let nobody = env.add_user_with_cert("nobody", &[] as &[&str])?;
    let theirs: Api<ConfigMap> = Api::namespaced(client_for(nobody.kubeconfig().path())?, ns);
    if let Err(e) = theirs.list(&ListParams::default()).await {
        let forbidden = e.status().is_some_and(|s| s.is_forbidden());
        println!("  as \"nobody\": forbidden={forbidden}: {e}");
    }

    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut cached: Vec<String> = store.state().iter().map(|c| c.name_any()).collect();
    cached.sort();
    println!("\nreflector cache now: {cached:?}");
    let backend: Vec<String> = store.by_label("tier", "backend").iter().map(|c| c.name_any()).collect();
    println!("  index lookup tier=backend: {backend:?}");

    let discovery = Discovery::run(&client).await?;
    println!(
        "\ndiscovery: {} groups, {} resources (aggregated: {})",
        discovery.groups().count(),
        discovery.preferred_resources().count(),
        discovery.is_aggregated()
    );
    if let Some((ar, caps)) = discovery.find("deploy") {
        println!(
            "  \"deploy\" is {} {}/{} (namespaced: {}, verbs: {})",
            ar.kind,
            ar.group,
            ar.version,
            caps.namespaced(),
            caps.verbs.join(",")
        );
    }

    println!("\ndone; stopping the control plane");
    drop(env);
    Ok(())
}
