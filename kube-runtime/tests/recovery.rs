//! How fast a watcher recovers when a real kube-apiserver goes away for a while and comes back:
//! while the server refuses connections the watcher probes it cheaply every second, so it is
//! back within seconds of the server's return, not after a backoff grown to its 30 s cap.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::client_of;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube_client::{Api, api::PostParams};
use kube_runtime::watcher::{self, Event};
use kube_test::TestEnv;
use tokio::sync::mpsc;

fn configmap(name: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({"metadata": {"name": name, "labels": {"app": "recovery"}}}))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_is_back_within_seconds_of_the_apiservers_return_after_a_long_outage() {
    let env = TestEnv::start().unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client_of(&env), "default");
    let config = watcher::Config::default().labels("app=recovery");
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut stream = watcher::watcher(api.clone(), config).boxed();
    tokio::spawn(async move {
        while let Some(event) = stream.next().await {
            if tx.send(event).is_err() {
                break;
            }
        }
    });
    loop {
        match tokio::time::timeout(Duration::from_secs(30), events.recv()).await.unwrap().unwrap() {
            Ok(Event::InitDone) => break,
            Ok(_) => {}
            Err(e) => panic!("before the outage: {e}"),
        }
    }

    // A 25 s outage: long enough for an exponential backoff to reach 12.8-25.6 s per attempt.
    env.stop_apiserver().unwrap();
    let outage = Instant::now();
    let mut errors = 0;
    while outage.elapsed() < Duration::from_secs(25) {
        if let Ok(Some(Err(_))) = tokio::time::timeout(Duration::from_secs(1), events.recv()).await {
            errors += 1;
        }
    }
    // Each attempt is the client's own few quick connection retries, then a 1-2 s probe delay.
    assert!(errors >= 3, "the watcher kept trying while the server was away ({errors} errors)");
    env.start_apiserver().unwrap();
    let back = Instant::now();

    // A change right after the return reaches the watcher within a few seconds.
    api.create(&PostParams::default(), &configmap("after-the-outage")).await.unwrap();
    let seen = loop {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv()).await;
        match event.expect("the watcher recovered within 30 s").unwrap() {
            Ok(Event::Apply(cm) | Event::InitApply(cm))
                if cm.metadata.name.as_deref() == Some("after-the-outage") =>
            {
                break back.elapsed();
            }
            _ => {}
        }
    };
    eprintln!("the watcher saw a change {seen:?} after the apiserver was back (after a 25 s outage)");
    assert!(seen < Duration::from_secs(6), "recovered after {seen:?}");
}
