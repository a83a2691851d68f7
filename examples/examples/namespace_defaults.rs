//! A complete controller in about 30 lines: every Namespace gets a `defaults` ConfigMap that it
//! owns, recreated if someone deletes it and garbage-collected with the Namespace.
//!
//! Run it against any cluster (`just cluster` starts a local one and prints its kubeconfig):
//! `cargo run -p examples --example namespace_defaults`. It prints one line per reconcile, e.g.
//! `reconciled Namespace default`; `kubectl delete cm defaults` brings one more.
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::runtime::controller::{Action, Controller, signal};
use kube::runtime::watcher::Config;
use kube::{Api, Client, Resource, ResourceExt, api::Patch, api::PatchParams};
use serde_json::json;

async fn reconcile(ns: Arc<Namespace>, client: Arc<Client>) -> Result<Action, kube::Error> {
    let owner = ns.controller_owner_ref(&());
    let cm = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "defaults", "ownerReferences": owner.into_iter().collect::<Vec<_>>()},
        "data": {"team": ns.labels().get("team").cloned().unwrap_or_else(|| "none".into())},
    });
    let cms: Api<ConfigMap> = Api::namespaced((*client).clone(), &ns.name_any());
    cms.patch("defaults", &PatchParams::apply("namespace-defaults").force(), &Patch::Apply(cm)).await?;
    Ok(Action::await_change())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let client = Client::try_default().await?;
    let defaults = Config::default().fields("metadata.name=defaults");
    Controller::new(Api::<Namespace>::all(client.clone()), Config::default())
        .owns(Api::<ConfigMap>::all(client.clone()), defaults)
        .shutdown_on(signal())
        .run(reconcile, |_, _, _| Action::requeue(std::time::Duration::from_secs(10)), Arc::new(client))
        .for_each(|outcome| async move {
            match outcome {
                Ok((object, _)) => println!("reconciled Namespace {}", object.name),
                Err(e) => eprintln!("reconcile failed: {e}"),
            }
        })
        .await;
    Ok(())
}
