//! Protobuf against a real kube-apiserver: the same objects read through JSON and protobuf are
//! equal (gets, lists, metadata-only lists), a protobuf watch gives the same events as a JSON
//! watch, errors arrive as `Status`, and custom resources fall back to JSON.

#![cfg(feature = "protobuf")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    fmt::Debug,
    sync::{Arc, Mutex},
    time::Duration,
};

use common::{admin_client, env, namespace};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::{
    api::{
        apps::v1::Deployment,
        coordination::v1::Lease,
        core::v1::{ConfigMap, Event, Node, Pod, Secret, Service},
        events::v1::Event as EventsV1,
    },
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube_client::{
    Api, Client,
    api::{ListParams, PostParams, WatchParams},
    client::Body,
};
use kube_core::{ApiResource, DynamicObject, GroupVersionKind, Resource, ResourceExt, Scope, WatchEvent};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::json;

/// The Content-Type of every response a client received.
type Seen = Arc<Mutex<Vec<String>>>;

/// An admin client asking for protobuf (or not), recording the responses' content types.
fn client(protobuf: bool) -> (Client, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let layer = tower::util::MapResponseLayer::new(move |resp: http::Response<Body>| {
        let ct = resp.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        record.lock().unwrap().push(ct.unwrap_or_default().to_string());
        resp
    });
    (admin_client().with_protobuf(protobuf).with_layer(&layer), seen)
}

fn take(seen: &Seen) -> Vec<String> {
    std::mem::take(&mut *seen.lock().unwrap())
}

fn all_protobuf(seen: &Seen) -> bool {
    let seen = take(seen);
    !seen.is_empty() && seen.iter().all(|t| t.starts_with("application/vnd.kubernetes.protobuf"))
}

fn all_json(seen: &Seen) -> bool {
    let seen = take(seen);
    !seen.is_empty() && seen.iter().all(|t| t.starts_with("application/json"))
}

fn object<K: DeserializeOwned>(value: serde_json::Value) -> K {
    serde_json::from_value(value).unwrap()
}

/// Creates `obj`, then reads it (get and list) through JSON and protobuf and checks both give
/// the same objects, and that protobuf was what the server answered.
async fn same_through_both<K>(namespace: Option<&str>, obj: K)
where
    K: Resource<DynamicType = ()> + Clone + Debug + PartialEq + DeserializeOwned + Serialize + Send + 'static,
{
    let (json_client, json_seen) = client(false);
    let (proto_client, proto_seen) = client(true);
    let api = |c: Client| match namespace {
        Some(ns) => Api::<K>::scoped(c, Some(ns), &()),
        None => Api::<K>::all(c),
    };
    let (json, proto) = (api(json_client), api(proto_client));
    let name = json.create(&PostParams::default(), &obj).await.unwrap().name_any();
    take(&json_seen);
    let kind = K::kind(&());

    let by_json = json.get(&name).await.unwrap();
    let by_proto = proto.get(&name).await.unwrap();
    assert_eq!(by_proto, by_json, "{kind} {name} through protobuf");
    assert!(all_protobuf(&proto_seen), "{kind}: the server answered protobuf");
    assert!(all_json(&json_seen));

    let lp = ListParams::default().fields(&format!("metadata.name={name}"));
    let list_json = json.list(&lp).await.unwrap();
    let list_proto = proto.list(&lp).await.unwrap();
    assert_eq!(list_proto.items, list_json.items, "{kind} list through protobuf");
    assert_eq!(list_proto.items.len(), 1);
    assert!(!list_proto.metadata.resource_version.unwrap_or_default().is_empty());
    let streamed: Vec<K> = proto.list_all(&lp).try_collect().await.unwrap();
    assert_eq!(streamed, list_json.items, "{kind} list stream through protobuf");

    let meta_json = json.list_metadata(&lp).await.unwrap();
    let meta_proto = proto.list_metadata(&lp).await.unwrap();
    assert_eq!(meta_proto.items, meta_json.items, "{kind} metadata list through protobuf");
    assert_eq!(meta_proto.items[0].metadata, by_json.meta().clone());
    assert_eq!(proto.get_metadata(&name).await.unwrap().metadata, by_json.meta().clone());
    assert!(all_protobuf(&proto_seen), "{kind}: metadata came as protobuf");
}

#[tokio::test]
async fn built_in_objects_are_the_same_through_json_and_protobuf() {
    let ns = namespace("pb-objects");
    let n = Some(ns.as_str());
    same_through_both::<ConfigMap>(n, object(json!({
        "metadata": {"name": "cm", "labels": {"app": "pb"}, "annotations": {"a": ""}, "finalizers": ["x.io/y"]},
        "data": {"k": "v", "empty": ""}, "binaryData": {"b": "AAEC/w=="}, "immutable": false
    })))
    .await;
    same_through_both::<Secret>(
        n,
        object(json!({
            "metadata": {"name": "s"}, "type": "Opaque", "data": {"password": "aHVudGVyMg==", "zero": ""}
        })),
    )
    .await;
    same_through_both::<Service>(
        n,
        object(json!({
            "metadata": {"name": "svc"},
            "spec": {"selector": {"app": "pb"}, "ports": [
                {"name": "http", "port": 80, "targetPort": 8080},
                {"name": "admin", "port": 81, "targetPort": "admin", "protocol": "UDP"}
            ]}
        })),
    )
    .await;
    let pod_spec = json!({
        "containers": [{
            "name": "app", "image": "busybox", "command": ["sh", "-c", "sleep 1"],
            "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "ports": [{"containerPort": 8080, "name": "http"}],
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "0.1"}},
            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 5},
            "volumeMounts": [{"name": "cfg", "mountPath": "/cfg", "readOnly": true}]
        }],
        "volumes": [{"name": "cfg", "configMap": {"name": "cm", "defaultMode": 420}}, {"name": "tmp", "emptyDir": {}}],
        "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}],
        "nodeSelector": {"disk": "ssd"}
    });
    same_through_both::<Pod>(n, object(json!({"metadata": {"name": "pod"}, "spec": pod_spec.clone()}))).await;
    same_through_both::<Deployment>(
        n,
        object(json!({
            "metadata": {"name": "deploy"},
            "spec": {
                "replicas": 0, "selector": {"matchLabels": {"app": "pb"}},
                "strategy": {"rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 0}},
                "template": {"metadata": {"labels": {"app": "pb"}}, "spec": pod_spec}
            }
        })),
    )
    .await;
    same_through_both::<Lease>(n, object(json!({
        "metadata": {"name": "lease"},
        "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15,
                 "acquireTime": "2026-01-02T03:04:05.123456Z", "renewTime": "2026-01-02T03:04:06.000001Z", "leaseTransitions": 0}
    })))
    .await;
    same_through_both::<Event>(
        n,
        object(json!({
            "metadata": {"name": "ev"},
            "involvedObject": {"kind": "Pod", "name": "pod", "namespace": ns},
            "reason": "Tested", "message": "through protobuf", "type": "Normal", "count": 2,
            "firstTimestamp": "2026-01-02T03:04:05Z", "lastTimestamp": "2026-01-02T03:04:07Z",
            "source": {"component": "pb-test"}
        })),
    )
    .await;
    same_through_both::<EventsV1>(n, object(json!({
        "metadata": {"name": "ev2"},
        "eventTime": "2026-01-02T03:04:05.678901Z", "reportingController": "x.io/pb", "reportingInstance": "i",
        "action": "Test", "reason": "Tested", "type": "Normal", "regarding": {"kind": "Pod", "name": "pod", "namespace": ns}
    })))
    .await;
    let node = format!("{ns}-node");
    same_through_both::<Node>(
        None,
        object(json!({
            "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node}},
            "spec": {"taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}], "podCIDR": "10.0.0.0/24"}
        })),
    )
    .await;
    Api::<Node>::all(admin_client()).delete(&node, &Default::default()).await.unwrap();
}

fn widgets() -> ApiResource {
    env().install_crd(include_str!("fixtures/widget-crd.yaml")).unwrap();
    let gvk = GroupVersionKind::gvk("api.kube-test.example.com", "v1", "Widget");
    ApiResource::from_gvk_with_plural(&gvk, "widgets", Scope::Namespaced)
}

#[tokio::test]
async fn custom_resources_fall_back_to_json_but_their_metadata_comes_as_protobuf() {
    let ar = widgets();
    let ns = namespace("pb-crd");
    let (json_client, _) = client(false);
    let (proto_client, seen) = client(true);
    let json: Api<DynamicObject> = Api::namespaced_with(json_client, &ns, &ar);
    let proto: Api<DynamicObject> = Api::namespaced_with(proto_client, &ns, &ar);
    let w = DynamicObject::new("w", &ar).data(json!({"spec": {"size": "big", "replicas": 2}}));
    json.create(&PostParams::default(), &w).await.unwrap();

    take(&seen);
    let got = proto.get("w").await.unwrap();
    assert_eq!(got.data["spec"]["size"], "big");
    assert_eq!(proto.list(&ListParams::default()).await.unwrap().items.len(), 1);
    assert!(all_json(&seen), "no protobuf was asked for a custom resource");

    let meta_json = json.list_metadata(&ListParams::default()).await.unwrap();
    let meta_proto = proto.list_metadata(&ListParams::default()).await.unwrap();
    assert_eq!(meta_proto.items, meta_json.items);
    assert_eq!(meta_proto.items[0].metadata, got.metadata);
    assert!(all_protobuf(&seen), "metadata-only lists are protobuf for every type");

    // The CRD itself is a built-in type (recursive JSONSchemaProps, raw JSON defaults).
    let crds: Api<CustomResourceDefinition> = Api::all(admin_client());
    let crd_json = crds.get("widgets.api.kube-test.example.com").await.unwrap();
    let crd_proto = Api::<CustomResourceDefinition>::all(client(true).0)
        .get("widgets.api.kube-test.example.com")
        .await
        .unwrap();
    assert_eq!(crd_proto, crd_json);
}

#[tokio::test]
async fn errors_arrive_as_status_through_protobuf() {
    let ns = namespace("pb-errors");
    let (c, _) = client(true);
    let cms: Api<ConfigMap> = Api::namespaced(c, &ns);
    let err = cms.get("missing").await.unwrap_err();
    let status = err.status().unwrap_or_else(|| panic!("expected a Status, got {err}"));
    assert!(status.is_not_found(), "{status:?}");
    assert!(status.message.contains("missing"), "{status:?}");
}

/// The first `n` object events of a watch as (type, resourceVersion, name, data `k`).
async fn events<S>(stream: S, n: usize) -> Vec<(&'static str, String, String, Option<String>)>
where
    S: futures::Stream<Item = Result<WatchEvent<ConfigMap>, kube_client::Error>>,
{
    let collected = stream
        .map(|e| e.unwrap())
        .filter_map(|e| async move {
            let t = e.type_name();
            match e {
                WatchEvent::Added(c) | WatchEvent::Modified(c) | WatchEvent::Deleted(c) => Some((t, c)),
                _ => None,
            }
        })
        .take(n)
        .collect::<Vec<_>>();
    let got = tokio::time::timeout(Duration::from_secs(60), collected).await.expect("the events arrive");
    got.into_iter()
        .map(|(t, c)| {
            let k = c.data.as_ref().and_then(|d| d.get("k").cloned());
            (t, c.resource_version().unwrap_or_default(), c.name_any(), k)
        })
        .collect()
}

#[tokio::test]
async fn a_protobuf_watch_gives_the_same_events_as_a_json_watch() {
    let ns = namespace("pb-watch");
    let (json_client, _) = client(false);
    let (proto_client, seen) = client(true);
    let json: Api<ConfigMap> = Api::namespaced(json_client, &ns);
    let proto: Api<ConfigMap> = Api::namespaced(proto_client, &ns);
    let rv = json.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let wp = WatchParams::default().timeout(60);
    let json_events = json.watch(&wp, &rv).await.unwrap().boxed();
    let proto_events = proto.watch(&wp, &rv).await.unwrap().boxed();
    let meta_events = proto.watch_metadata(&wp, &rv).await.unwrap().boxed();
    assert!(all_protobuf(&seen), "the watches are protobuf");

    let cm: ConfigMap = object(json!({"metadata": {"name": "w"}, "data": {"k": "1"}}));
    json.create(&PostParams::default(), &cm).await.unwrap();
    let mut changed = json.get("w").await.unwrap();
    changed.data.as_mut().unwrap().insert("k".into(), "2".into());
    json.replace("w", &PostParams::default(), &changed).await.unwrap();
    json.delete("w", &Default::default()).await.unwrap();

    let want = events(json_events, 3).await;
    let summary: Vec<_> = want.iter().map(|e| (e.0, e.3.as_deref())).collect();
    assert_eq!(summary, [("ADDED", Some("1")), ("MODIFIED", Some("2")), ("DELETED", Some("2"))]);
    assert_eq!(events(proto_events, 3).await, want);
    let metas: Vec<_> =
        tokio::time::timeout(Duration::from_secs(60), meta_events.take(3).try_collect::<Vec<_>>())
            .await
            .expect("the metadata events arrive")
            .unwrap();
    let types: Vec<_> = metas.iter().map(WatchEvent::type_name).collect();
    assert_eq!(types, ["ADDED", "MODIFIED", "DELETED"]);
}
