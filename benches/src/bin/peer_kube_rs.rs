//! kube-rs 5's side of `just bench-peers`: the scenarios of `peer_ours`, each written as kube-rs's
//! docs advise (a reflector strips managedFields with `modify`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::{collections::HashMap, time::Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube_benches::peer;
use kube_rs::{
    Api, Client, ResourceExt,
    api::{ListParams, WatchEvent, WatchParams},
    runtime::{WatchStreamExt, reflector, watcher},
};

const USAGE: &str = "usage: peer_kube_rs list|list-meta|informer|watch|watches|controller";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scenario = std::env::args().nth(1).context(USAGE)?;
    let client = Client::try_default().await.context("a client from $KUBECONFIG")?;
    let pods: Api<Pod> = Api::all(client.clone());
    match scenario.as_str() {
        "list" => println!("items={}", pods.list(&ListParams::default()).await?.items.len()),
        "list-meta" => println!("items={}", pods.list_metadata(&ListParams::default()).await?.items.len()),
        "informer" => informer(pods).await?,
        "watch" => watch(&pods).await?,
        "watches" => watches(client).await?,
        "controller" => controller(client).await?,
        other => bail!("unknown scenario `{other}`\n{USAGE}"),
    }
    Ok(())
}

async fn informer(pods: Api<Pod>) -> anyhow::Result<()> {
    let start = Instant::now();
    let want = peer::updates();
    let (store, writer) = reflector::store();
    let stream = watcher(pods, watcher::Config::default()).modify(|pod| pod.managed_fields_mut().clear());
    let mut stream = Box::pin(reflector::reflector(writer, stream));
    let mut synced = false;
    let mut absorb_start = None;
    let mut updates = 0;
    while let Some(event) = stream.next().await {
        match event? {
            watcher::Event::InitDone if !synced => {
                synced = true;
                println!(
                    "items={} sync_ms={} synced_rss_kb={}",
                    store.state().len(),
                    start.elapsed().as_millis(),
                    peer::rss_kb()
                );
                println!("synced");
            }
            watcher::Event::Apply(_) if synced => {
                updates += 1;
                let first = *absorb_start.get_or_insert_with(Instant::now);
                if updates == want {
                    println!("absorb_ms={} steady_rss_kb={}", first.elapsed().as_millis(), peer::rss_kb());
                    return Ok(());
                }
            }
            _ => {}
        }
    }
    bail!("the watcher ended after {updates} updates")
}

async fn watch(pods: &Api<Pod>) -> anyhow::Result<()> {
    let want = peer::pods();
    let mut events = Box::pin(pods.watch(&WatchParams::default(), "0").await?);
    let mut store = HashMap::with_capacity(want);
    let mut first = None;
    while let Some(event) = events.next().await {
        let mut pod = match event? {
            WatchEvent::Added(pod) | WatchEvent::Modified(pod) => pod,
            WatchEvent::Bookmark(_) => continue,
            WatchEvent::Deleted(_) => bail!("unexpected DELETED event"),
            WatchEvent::Error(e) => bail!("watch error: {e:?}"),
        };
        first.get_or_insert_with(Instant::now);
        pod.managed_fields_mut().clear();
        store.insert(format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any()), pod);
        if store.len() == want {
            break;
        }
    }
    let secs = first.context("no event")?.elapsed().as_secs_f64();
    println!("items={} events_per_s={:.0}", store.len(), store.len() as f64 / secs);
    Ok(())
}

async fn watches(client: Client) -> anyhow::Result<()> {
    let n = peer::watches();
    let mut held = Vec::with_capacity(n);
    for i in 0..n {
        let api: Api<Pod> = Api::namespaced(client.clone(), &peer::watch_namespace(i));
        held.push(Box::pin(api.watch(&WatchParams::default(), "0").await?));
    }
    println!("items={n} pid={}", std::process::id());
    println!("ready");
    tokio::time::sleep(peer::hold()).await;
    drop(held);
    Ok(())
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

/// A controller as kube-rs's docs show it (`Controller::new` on the namespace's ConfigMaps, a
/// reconcile reading the object it is given), recording each stamp's trigger-to-reconcile time.
async fn controller(client: Client) -> anyhow::Result<()> {
    use std::sync::{Arc, Mutex};

    use k8s_openapi::api::core::v1::ConfigMap;
    use kube_rs::runtime::controller::{Action, Controller};

    let api: Api<ConfigMap> = Api::namespaced(client, &peer::ctl_namespace());
    let record = Arc::new(Mutex::new(peer::CtlRecord::default()));
    let done = Arc::new(tokio::sync::Notify::new());
    let ctx = Arc::new((record.clone(), done.clone()));
    let run = Controller::new(api, watcher::Config::default())
        .run(
            |cm: Arc<ConfigMap>, ctx: Arc<(Arc<Mutex<peer::CtlRecord>>, Arc<tokio::sync::Notify>)>| async move {
                let stamp = cm.annotations().get(peer::STAMP).map(String::as_str);
                if ctx.0.lock().unwrap().reconciled(&cm.name_any(), stamp) {
                    ctx.1.notify_one();
                }
                Ok::<_, Never>(Action::await_change())
            },
            |_, _, _| Action::await_change(),
            ctx,
        )
        .for_each(|_| async {});
    tokio::select! {
        () = run => {}
        () = done.notified() => {}
        () = tokio::time::sleep(std::time::Duration::from_secs(120)) => {}
    }
    record.lock().unwrap().report();
    Ok(())
}
