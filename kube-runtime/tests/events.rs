//! The event recorder against a real kube-apiserver, checked with kubectl: fields as written,
//! a hot loop folded into one series, long notes cut, refusals and a full queue counted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube_client::{Api, api::PostParams};
use kube_runtime::events::{
    Event, NOTE_LIMIT, Recorder, RecorderConfig, Reporter, TRUNCATED_MARKER, reference,
};
use serde_json::{Value, json};

use common::{client_of, kubectl, shared};

async fn configmap(api: &Api<ConfigMap>, name: &str) -> ConfigMap {
    let cm = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    api.create(&PostParams::default(), &cm).await.unwrap()
}

/// The events.k8s.io/v1 Events of `ns`, read with kubectl.
async fn events(ns: &str) -> Vec<Value> {
    let out =
        kubectl(shared(), ["get", "events.events.k8s.io", "-n", ns, "-o", "json"].map(String::from).to_vec())
            .await;
    let list: Value = serde_json::from_str(&out).unwrap();
    list["items"].as_array().unwrap().clone()
}

fn with_reason<'a>(events: &'a [Value], reason: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["reason"] == reason).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_appear_with_their_fields_and_repeats_become_one_series() {
    let env = shared();
    let ns = env.create_unique_namespace("events").unwrap();
    let client = client_of(env);
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let cm = configmap(&api, "subject").await;
    let other = configmap(&api, "other").await;
    let recorder = Recorder::new(client, Reporter::new("example.com/ops-test").instance("replica-1"));
    let regarding = reference(&cm, &());

    recorder.publish(Event::normal("Synced", "Reconcile").note("all good"), &regarding);
    recorder.publish(
        Event::warning("Conflict", "Adopt").note("owned by another").related(reference(&other, &())),
        &regarding,
    );
    for i in 0..20 {
        recorder.publish(Event::normal("Looping", "Reconcile").note(format!("try {i}")), &regarding);
    }
    recorder.publish(Event::warning("TooLong", "Reconcile").note("x".repeat(5000)), &regarding);
    recorder.flush().await;
    assert_eq!(recorder.dropped(), 0);

    let all = events(&ns).await;
    let synced = with_reason(&all, "Synced");
    assert_eq!(synced.len(), 1, "{all:?}");
    let e = synced[0];
    assert_eq!(
        (e["type"].as_str(), e["action"].as_str(), e["note"].as_str()),
        (Some("Normal"), Some("Reconcile"), Some("all good"))
    );
    assert_eq!(e["reportingController"], "example.com/ops-test");
    assert_eq!(e["reportingInstance"], "replica-1");
    assert_eq!(e["regarding"]["kind"], "ConfigMap");
    assert_eq!(e["regarding"]["name"], "subject");
    assert_eq!(e["regarding"]["uid"].as_str(), cm.metadata.uid.as_deref());
    assert!(e["eventTime"].is_string());
    assert!(e.get("series").is_none(), "a single occurrence has no series");

    let conflict = with_reason(&all, "Conflict");
    assert_eq!(conflict.len(), 1);
    assert_eq!(conflict[0]["type"], "Warning");
    assert_eq!(conflict[0]["related"]["name"], "other");

    // 20 occurrences with different notes: one Event, its series counting all of them.
    let looping = with_reason(&all, "Looping");
    assert!(!looping.is_empty() && looping.len() < 20, "{} Events for 20 repeats", looping.len());
    assert_eq!(looping.len(), 1);
    let series = &looping[0]["series"];
    assert!(series["count"].as_i64().unwrap() >= 2, "{series}");
    assert_eq!(series["count"], 20, "the flush wrote the count kept in memory");
    assert!(series["lastObservedTime"].is_string());
    assert_eq!(looping[0]["note"], "try 0", "the first occurrence's note is kept");

    let long = with_reason(&all, "TooLong");
    assert_eq!(long.len(), 1);
    let note = long[0]["note"].as_str().unwrap();
    assert!(note.len() <= NOTE_LIMIT && note.ends_with(TRUNCATED_MARKER), "{} bytes", note.len());
    assert!(note.starts_with("xxxx"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_events_and_a_full_queue_are_dropped_and_counted() {
    let env = shared();
    let ns = env.create_unique_namespace("events-drop").unwrap();
    let client = client_of(env);
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let cm = configmap(&api, "subject").await;
    let regarding = reference(&cm, &());

    // The API requires a reason: a 422 is not retried, the event is dropped and counted.
    let recorder = Recorder::new(client.clone(), Reporter::new("example.com/ops-test"));
    recorder.publish(Event::normal("", "Reconcile"), &regarding);
    recorder.publish(Event::normal("Fine", "Reconcile"), &regarding);
    tokio::time::timeout(Duration::from_secs(30), recorder.flush())
        .await
        .expect("a refusal is not retried for long");
    assert_eq!(recorder.dropped(), 1);
    assert_eq!(with_reason(&events(&ns).await, "Fine").len(), 1);

    // A queue of 2 and 200 distinct events published at once: publish returns at once, the
    // overflow is dropped and counted, what was queued is written.
    let small = RecorderConfig { queue: 2, ..RecorderConfig::default() };
    let recorder = Recorder::with_config(client, Reporter::new("example.com/ops-test"), small);
    for i in 0..200 {
        recorder.publish(Event::normal(&format!("Burst{i}"), "Reconcile"), &regarding);
    }
    recorder.flush().await;
    let dropped = recorder.dropped();
    let written =
        events(&ns).await.iter().filter(|e| e["reason"].as_str().unwrap_or("").starts_with("Burst")).count();
    assert!(dropped > 0, "nothing dropped");
    assert_eq!(written as u64 + dropped, 200, "every occurrence is either written or counted as dropped");
}
