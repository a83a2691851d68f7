//! Watchers and reflectors against a real kube-apiserver: the store must equal a fresh LIST after
//! heavy churn, after an apiserver restart, and after a compaction forces a relist.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{client_of, shared};
use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube_client::{
    Api,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
};
use kube_core::ResourceExt;
use kube_runtime::{
    reflector::{self, Changed, Store},
    watcher::{self, Backoff, Event},
};
use kube_test::TestEnv;
use serde_json::json;
use tokio::sync::mpsc;

fn configmap(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"app": "reflector-test"}}, "data": {"v": value}}),
    )
    .unwrap()
}

/// Runs a reflector in the background; its errors go to the returned channel.
fn run_reflector(
    api: Api<ConfigMap>,
    config: watcher::Config,
) -> (Store<ConfigMap>, mpsc::UnboundedReceiver<watcher::Error>) {
    let (store, writer) = reflector::store();
    let (tx, rx) = mpsc::unbounded_channel();
    let stream = reflector::reflector(writer, watcher::watcher(api, config));
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            if let Err(e) = item {
                let _ = tx.send(e);
            }
        }
    });
    (store, rx)
}

/// name -> (resourceVersion, data) of every object.
fn snapshot<'a>(
    objects: impl Iterator<Item = &'a ConfigMap>,
) -> BTreeMap<String, (String, BTreeMap<String, String>)> {
    objects
        .map(|c| {
            (c.name_any(), (c.resource_version().unwrap_or_default(), c.data.clone().unwrap_or_default()))
        })
        .collect()
}

async fn listed(api: &Api<ConfigMap>) -> BTreeMap<String, (String, BTreeMap<String, String>)> {
    let list = api.list(&ListParams::default().labels("app=reflector-test")).await.unwrap();
    snapshot(list.items.iter())
}

fn stored(store: &Store<ConfigMap>) -> BTreeMap<String, (String, BTreeMap<String, String>)> {
    let state = store.state();
    snapshot(state.iter().map(Arc::as_ref))
}

/// Waits until the store equals a fresh LIST, object for object.
async fn assert_converges(store: &Store<ConfigMap>, api: &Api<ConfigMap>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let want = listed(api).await;
        let got = stored(store);
        if got == want {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
            let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
            panic!(
                "store differs from LIST: {} vs {} objects, missing {missing:?}, extra {extra:?}",
                got.len(),
                want.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create_many(api: &Api<ConfigMap>, names: impl Iterator<Item = String>) {
    for name in names {
        api.create(&PostParams::default(), &configmap(&name, "0")).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_equals_list_after_500_changes() {
    let env = shared();
    let ns = env.create_unique_namespace("churn").unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client_of(env), &ns);
    create_many(&api, (0..50).map(|i| format!("cm-{i}"))).await;

    let (store, _errors) = run_reflector(
        api.clone(),
        watcher::Config::default().labels("app=reflector-test").drop_managed_fields(),
    );
    store.wait_until_ready().await.unwrap();
    assert_eq!(store.len(), 50);

    // 500 changes, deterministic but mixed: creates, updates and deletes.
    let mut alive: Vec<String> = (0..50).map(|i| format!("cm-{i}")).collect();
    let mut next = 50;
    for step in 0..500usize {
        match step % 5 {
            0 | 1 => {
                let name = format!("cm-{next}");
                next += 1;
                api.create(&PostParams::default(), &configmap(&name, "0")).await.unwrap();
                alive.push(name);
            }
            2 | 3 => {
                let name = &alive[(step * 7) % alive.len()];
                let patch = Patch::Merge(json!({"data": {"v": step.to_string()}}));
                api.patch(name, &PatchParams::default(), &patch).await.unwrap();
            }
            _ => {
                let name = alive.remove((step * 13) % alive.len());
                api.delete(&name, &DeleteParams::default()).await.unwrap();
            }
        }
    }
    assert_converges(&store, &api).await;
    assert_eq!(store.len(), alive.len());

    // Indexes follow the changes too.
    let by_ns = store.by_namespace(&ns);
    assert_eq!(by_ns.len(), alive.len());
    assert_eq!(store.by_label("app", "reflector-test").len(), alive.len());
    assert!(
        store.get(&reflector::ObjectRef::new("cm-0").within(&ns)).is_some()
            == alive.contains(&"cm-0".to_string())
    );
    // managedFields were cut while decoding, in lists and watch events alike.
    assert!(store.state().iter().all(|c| c.metadata.managed_fields.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_and_paged_lists_give_the_same_store() {
    let env = shared();
    let ns = env.create_unique_namespace("initial").unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client_of(env), &ns);
    create_many(&api, (0..25).map(|i| format!("cm-{i}"))).await;

    let base = watcher::Config::default().labels("app=reflector-test");
    let (streamed, _e1) = run_reflector(api.clone(), base.clone().streaming_lists());
    let (paged, _e2) = run_reflector(api.clone(), base.list_watch().page_size(4));
    streamed.wait_until_ready().await.unwrap();
    paged.wait_until_ready().await.unwrap();
    assert_eq!(stored(&streamed), stored(&paged));
    assert_eq!(stored(&streamed), listed(&api).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_subscriber_gets_the_full_state_then_changes() {
    let env = shared();
    let ns = env.create_unique_namespace("subscribe").unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client_of(env), &ns);
    create_many(&api, (0..10).map(|i| format!("cm-{i}"))).await;
    let (store, _errors) =
        run_reflector(api.clone(), watcher::Config::default().labels("app=reflector-test"));
    store.wait_until_ready().await.unwrap();

    let early = store.subscribe();
    let mut late = store.subscribe();
    let mut first: Vec<String> = Vec::new();
    for _ in 0..10 {
        match tokio::time::timeout(Duration::from_secs(5), late.next()).await.unwrap().unwrap() {
            Changed::Applied(o) => first.push(o.name_any()),
            Changed::Deleted(o) => panic!("unexpected delete of {}", o.name_any()),
        }
    }
    first.sort();
    let mut want: Vec<String> = (0..10).map(|i| format!("cm-{i}")).collect();
    want.sort();
    assert_eq!(first, want, "a late subscriber first receives the current state");

    api.delete("cm-3", &DeleteParams::default()).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), late.next()).await.unwrap().unwrap() {
            Changed::Deleted(o) => {
                assert_eq!(o.name_any(), "cm-3");
                break;
            }
            Changed::Applied(_) => continue,
        }
    }
    // The early subscriber was never polled: it did not hold anyone up, and it still sees the
    // current state of every object (merged per object), including the deletion.
    let early: Vec<Changed<ConfigMap>> = early.take(10).collect().await;
    let deleted: Vec<_> =
        early.iter().filter(|c| matches!(c, Changed::Deleted(_))).map(|c| c.object().name_any()).collect();
    assert_eq!(deleted, ["cm-3"]);
}

/// Drives `stream` until `pred` holds for an item, for at most `secs` seconds.
async fn until<S: Stream + Unpin>(stream: &mut S, secs: u64, mut pred: impl FnMut(&S::Item) -> bool) {
    tokio::time::timeout(Duration::from_secs(secs), async {
        while let Some(item) = stream.next().await {
            if pred(&item) {
                return;
            }
        }
        panic!("stream ended");
    })
    .await
    .expect("timed out waiting on the watcher");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_after_an_apiserver_restart() {
    let env = TestEnv::start().unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client_of(&env), "default");
    create_many(&api, (0..10).map(|i| format!("cm-{i}"))).await;
    let config = watcher::Config::default().labels("app=reflector-test");
    let (store, mut errors) = run_reflector(api.clone(), config);
    store.wait_until_ready().await.unwrap();

    env.restart_apiserver().unwrap();
    // The watcher noticed, and recovers by itself: changes after the restart arrive.
    tokio::time::timeout(Duration::from_secs(20), errors.recv()).await.unwrap().unwrap();
    api.delete("cm-0", &DeleteParams::default()).await.unwrap();
    create_many(&api, (10..15).map(|i| format!("cm-{i}"))).await;
    assert_converges(&store, &api).await;
    assert_eq!(store.len(), 14);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relists_after_compaction_while_the_watch_is_down() {
    let env = TestEnv::start().unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client_of(&env), "default");
    create_many(&api, (0..10).map(|i| format!("cm-{i}"))).await;

    let (store, writer) = reflector::store();
    let config = watcher::Config::default()
        .labels("app=reflector-test")
        .backoff(Backoff { jitter: 0.0, ..Backoff::default() });
    let mut stream = Box::pin(reflector::reflector(writer, watcher::watcher(api.clone(), config)));
    until(&mut stream, 20, |e| matches!(e, Ok(Event::InitDone))).await;
    assert_eq!(store.len(), 10);

    // Take the watch down, and keep the watcher from reconnecting by not polling it.
    env.stop_apiserver().unwrap();
    until(&mut stream, 20, Result::is_err).await;

    // Meanwhile: changes, a compaction, and a fresh apiserver whose cache starts after them.
    env.start_apiserver().unwrap();
    let other: Api<ConfigMap> = Api::namespaced(client_of(&env), "default");
    for i in 0..5 {
        other.delete(&format!("cm-{i}"), &DeleteParams::default()).await.unwrap();
    }
    create_many(&other, (20..23).map(|i| format!("cm-{i}"))).await;
    other
        .patch("cm-9", &PatchParams::default(), &Patch::Merge(json!({"data": {"v": "changed"}})))
        .await
        .unwrap();
    env.compact_etcd().unwrap();
    env.restart_apiserver().unwrap();

    // The watcher resumes from its old version, gets 410, relists, and the store is right:
    // the objects deleted while it was away are gone.
    let mut saw_gone = false;
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(item) = stream.next().await {
            match item {
                Err(watcher::Error::Gone(status)) => {
                    assert_eq!(status.code, 410);
                    saw_gone = true;
                }
                Ok(Event::InitDone) if saw_gone => break,
                _ => {}
            }
        }
    })
    .await
    .expect("the watcher relists after 410");
    assert!(saw_gone);
    let api: Api<ConfigMap> = Api::namespaced(client_of(&env), "default");
    assert_eq!(stored(&store), listed(&api).await);
    assert_eq!(store.len(), 8);
    assert_eq!(
        store.get(&reflector::ObjectRef::new("cm-9").within("default")).unwrap().data.as_ref().unwrap()["v"],
        "changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_one_object_and_metadata_only() {
    let env = shared();
    let ns = env.create_unique_namespace("single").unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client_of(env), &ns);
    let mut one = Box::pin(watcher::watch_object(api.clone(), "target"));
    assert!(
        tokio::time::timeout(Duration::from_secs(10), one.next()).await.unwrap().unwrap().unwrap().is_none()
    );
    create_many(&api, ["other".to_string(), "target".to_string()].into_iter()).await;
    let seen = tokio::time::timeout(Duration::from_secs(10), one.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(seen.unwrap().name_any(), "target");

    let mut meta = Box::pin(watcher::metadata_watcher(api.clone(), watcher::Config::default()));
    let mut names = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), meta.next()).await.unwrap().unwrap().unwrap() {
            Event::InitApply(m) => {
                assert_eq!(m.types.as_ref().unwrap().kind, "PartialObjectMetadata");
                names.push(m.name_any());
            }
            Event::InitDone => break,
            _ => {}
        }
    }
    names.sort();
    assert_eq!(names, ["other", "target"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_reflectors_follow_changes_as_json_ones_do() {
    let env = shared();
    let ns = env.create_unique_namespace("protobuf").unwrap();
    // JSON for the reference the protobuf reflectors are held to
    let api: Api<ConfigMap> = Api::namespaced(client_of(env), &ns).with_protobuf(false);
    create_many(&api, (0..20).map(|i| format!("cm-{i}"))).await;

    let proto = api.clone().with_protobuf(true);
    let base = watcher::Config::default().labels("app=reflector-test");
    let (streamed, _e1) = run_reflector(proto.clone(), base.clone().streaming_lists());
    let (paged, _e2) =
        run_reflector(proto.clone(), base.clone().list_watch().page_size(7).drop_managed_fields());
    streamed.wait_until_ready().await.unwrap();
    paged.wait_until_ready().await.unwrap();
    assert_eq!(stored(&streamed), listed(&api).await);
    assert_eq!(stored(&paged), listed(&api).await);

    // Changes arrive through protobuf watches.
    for i in 0..10 {
        let patch = Patch::Merge(json!({"data": {"v": format!("p{i}")}}));
        api.patch(&format!("cm-{i}"), &PatchParams::default(), &patch).await.unwrap();
    }
    api.delete("cm-19", &DeleteParams::default()).await.unwrap();
    create_many(&api, std::iter::once("cm-new".to_string())).await;
    assert_converges(&streamed, &api).await;
    assert_converges(&paged, &api).await;
    assert!(paged.state().iter().all(|c| c.metadata.managed_fields.is_none()));
    let full = streamed.get(&reflector::ObjectRef::new("cm-3").within(&ns)).unwrap();
    assert_eq!(*full, api.get("cm-3").await.unwrap(), "whole objects, managedFields included");

    // A metadata-only watcher over protobuf sees the same objects.
    let mut metas = std::pin::pin!(watcher::metadata_watcher(proto, base));
    let mut names = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(30), metas.next()).await.unwrap().unwrap().unwrap() {
            Event::InitApply(m) => names.push(m.name_any()),
            Event::InitDone => break,
            _ => {}
        }
    }
    names.sort();
    assert_eq!(names, listed(&api).await.into_keys().collect::<Vec<_>>());
}
