//! Our side of `just bench-peers`: one scenario per process, chosen by the first argument, against
//! the cluster of `$KUBECONFIG`. Prints `key=value` lines for the runner (`bench_peers`), which
//! measures the process from outside. The scenarios are those of `peer_kube_rs` and
//! `tools/peer-client-go`, each written as our docs advise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::{collections::HashMap, time::Instant};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube_benches::peer;
use kube_client::{
    Api, Client,
    client::decode::DecodeOptions,
    core::{
        WatchEvent,
        params::{ListParams, WatchParams},
    },
};
use kube_runtime::{reflector, watcher};

const USAGE: &str =
    "usage: peer_ours list|list-stream|list-nomf|list-meta|informer|watch|watch-nomf|watches|controller
  a `-proto` suffix reads protobuf (`Client::with_protobuf`), e.g. `list-stream-proto`";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arg = std::env::args().nth(1).context(USAGE)?;
    let (scenario, protobuf) = match arg.strip_suffix("-proto") {
        Some(s) => (s.to_owned(), true),
        None => (arg, false),
    };
    let client = Client::try_default().await.context("a client from $KUBECONFIG")?.with_protobuf(protobuf);
    let pods: Api<Pod> = Api::all(client.clone());
    match scenario.as_str() {
        // The whole list decoded at once, as the peers do.
        "list" => println!("items={}", pods.list(&ListParams::default()).await?.items.len()),
        // The list decoded object by object as it arrives, every object kept.
        "list-stream" => {
            let all: Vec<Pod> = pods.list_all(&ListParams::default()).try_collect().await?;
            println!("items={}", all.len());
        }
        // The same with managedFields cut out of the bytes before decoding.
        "list-nomf" => {
            let options = DecodeOptions::default().drop_managed_fields();
            let all: Vec<Pod> = pods.list_all_with(&ListParams::default(), options).try_collect().await?;
            println!("items={}", all.len());
        }
        "list-meta" => println!("items={}", pods.list_metadata(&ListParams::default()).await?.items.len()),
        "informer" => informer(pods).await?,
        "watch" => watch(&client, &pods, DecodeOptions::default()).await?,
        "watch-nomf" => watch(&client, &pods, DecodeOptions::default().drop_managed_fields()).await?,
        "watches" => watches(client).await?,
        "controller" => controller(client).await?,
        other => bail!("unknown scenario `{other}`\n{USAGE}"),
    }
    Ok(())
}

/// A reflector as our docs advise (managedFields cut before decoding, compact store): syncs, then
/// absorbs `BENCH_UPDATES` changes.
async fn informer(pods: Api<Pod>) -> anyhow::Result<()> {
    let start = Instant::now();
    let want = peer::updates();
    let (store, writer) = reflector::store();
    let config = watcher::Config::default().drop_managed_fields();
    let mut stream = Box::pin(reflector::reflector(writer, watcher::watcher(pods, config)));
    let mut synced = false;
    let mut absorb_start = None;
    let mut updates = 0;
    while let Some(event) = stream.next().await {
        match event? {
            watcher::Event::InitDone if !synced => {
                synced = true;
                println!(
                    "items={} sync_ms={} synced_rss_kb={}",
                    store.len(),
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

/// The ADDED events of a watch from resourceVersion 0 (the current state, from the API server's
/// cache) into a map; reports the rate.
async fn watch(client: &Client, pods: &Api<Pod>, options: DecodeOptions) -> anyhow::Result<()> {
    let want = peer::pods();
    let request = pods.negotiate(pods.request_builder().watch(&WatchParams::default(), "0")?);
    let mut events = Box::pin(client.request_events::<Pod>(request, options).await?);
    let mut store = HashMap::with_capacity(want);
    let mut first = None;
    while let Some(event) = events.next().await {
        let mut pod = match event? {
            WatchEvent::Added(pod) | WatchEvent::Modified(pod) => pod,
            WatchEvent::Bookmark(_) => continue,
            other => bail!("unexpected watch event {}", other.type_name()),
        };
        first.get_or_insert_with(Instant::now);
        pod.metadata.managed_fields = None;
        let key = format!(
            "{}/{}",
            pod.metadata.namespace.as_deref().unwrap_or(""),
            pod.metadata.name.as_deref().unwrap_or("")
        );
        store.insert(key, pod);
        if store.len() == want {
            break;
        }
    }
    let secs = first.context("no event")?.elapsed().as_secs_f64();
    println!("items={} events_per_s={:.0}", store.len(), store.len() as f64 / secs);
    Ok(())
}

/// `BENCH_WATCHES` Pod watches on one client, one per namespace; held for `BENCH_HOLD_MS`.
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

/// A controller as our docs advise (`Controller::new` with managedFields cut before decoding),
/// recording each stamp's trigger-to-reconcile time.
async fn controller(client: Client) -> anyhow::Result<()> {
    use std::sync::{Arc, Mutex};

    use k8s_openapi::api::core::v1::ConfigMap;
    use kube_core::ResourceExt;
    use kube_runtime::controller::{Action, Controller};

    let api: Api<ConfigMap> = Api::namespaced(client, &peer::ctl_namespace());
    let record = Arc::new(Mutex::new(peer::CtlRecord::default()));
    let done = Arc::new(tokio::sync::Notify::new());
    let ctx = Arc::new((record.clone(), done.clone()));
    let run = Controller::new(api, watcher::Config::default().drop_managed_fields())
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
