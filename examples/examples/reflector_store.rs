//! A reflector: a cached, indexed store of ConfigMaps that follows every change, and a
//! subscriber that prints each change.
//!
//! Runs against the cluster of `$KUBECONFIG` / `~/.kube/config`; stop it with Ctrl-C.

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{
    Api, Client, ResourceExt,
    runtime::{reflector, watcher},
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let client = Client::try_default().await?;
    let api: Api<ConfigMap> = Api::all(client);
    let (store, writer) = reflector::store();
    let config = watcher::Config::default().drop_managed_fields();
    let reflector = reflector::reflector(writer, watcher::watcher(api, config));
    tokio::spawn(reflector.for_each(|event| async move {
        if let Err(e) = event {
            eprintln!("watch error (the watcher retries by itself): {e}");
        }
    }));

    store.wait_until_ready().await?;
    println!("{} ConfigMaps cached", store.len());
    for ns in store.index_keys(reflector::BY_NAMESPACE)? {
        println!("  {ns}: {}", store.by_namespace(&ns).len());
    }

    let mut changes = store.subscribe();
    while let Some(change) = changes.next().await {
        match change {
            reflector::Changed::Applied(cm) => {
                println!("applied {}/{}", cm.namespace().unwrap_or_default(), cm.name_any())
            }
            reflector::Changed::Deleted(cm) => {
                println!("deleted {}/{}", cm.namespace().unwrap_or_default(), cm.name_any())
            }
        }
    }
    Ok(())
}
