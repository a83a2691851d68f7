//! Serde round trips of objects, lists, watch events and `Status` on JSON captured from a real
//! kube-apiserver (see `fixtures/`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use k8s_openapi::api::{
    apps::v1::{Deployment, DeploymentSpec, DeploymentStatus},
    core::v1::{ConfigMap, Pod},
};
use kube_core::{DynamicObject, Object, ObjectList, PartialObjectMetadata, ResourceExt, Status, WatchEvent};
use serde_json::Value;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", std::env::var("CARGO_MANIFEST_DIR").unwrap());
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn value(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

/// Decoding then encoding gives back the same JSON document.
fn round_trips<T: serde::de::DeserializeOwned + serde::Serialize>(name: &str) -> T {
    let parsed: T = serde_json::from_str(&fixture(name)).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), value(name), "{name}");
    parsed
}

#[test]
fn generic_object_with_spec_and_status() {
    let d: Object<DeploymentSpec, DeploymentStatus> = round_trips("deployment-with-status.json");
    assert_eq!(d.spec.replicas, Some(2));
    let status = d.status.as_ref().unwrap();
    assert_eq!(status.ready_replicas, Some(1));
    assert_eq!(d.types.as_ref().unwrap().kind, "Deployment");
    assert_eq!(d.name_any(), "web");

    // A status that is absent stays absent.
    let mut v = value("deployment-with-status.json");
    v.as_object_mut().unwrap().remove("status");
    let d: Object<DeploymentSpec, DeploymentStatus> = serde_json::from_value(v.clone()).unwrap();
    assert!(d.status.is_none());
    assert_eq!(serde_json::to_value(&d).unwrap(), v);
}

#[test]
fn native_and_dynamic_objects() {
    let pod: Pod = serde_json::from_str(&fixture("pod.json")).unwrap();
    assert_eq!(pod.spec.as_ref().unwrap().containers.len(), 2);
    let d: DynamicObject = round_trips("pod.json");
    assert_eq!(d.types.as_ref().unwrap().api_version, "v1");
    assert_eq!(d.data["spec"]["containers"][1]["name"], "sidecar");
    let back: Pod = d.try_parse().unwrap();
    assert_eq!(back, pod);
    let _: Deployment = round_trips("deployment.json");
    let cm: ConfigMap = round_trips("configmap.json");
    assert_eq!(cm.labels()["app"], "web");
}

#[test]
fn dynamic_object_that_does_not_fit_the_type_is_an_error() {
    let d: DynamicObject = serde_json::from_str(&fixture("configmap.json")).unwrap();
    let err = d.try_parse::<Object<DeploymentSpec, ()>>().unwrap_err();
    assert!(err.to_string().contains("ConfigMap object \"settings\""), "{err}");
}

#[test]
fn lists_keep_their_paging_metadata() {
    // List items carry no apiVersion/kind on the wire; dynamic objects keep that exactly.
    let dynamic: ObjectList<DynamicObject> = round_trips("configmap-list-page.json");
    assert!(dynamic.items.iter().all(|o| o.types.is_none()));
    let list: ObjectList<ConfigMap> = serde_json::from_str(&fixture("configmap-list-page.json")).unwrap();
    assert_eq!(list.items.len(), 2);
    assert!(list.continue_token().is_some());
    assert_eq!(list.metadata.remaining_item_count, Some(2));
    assert_eq!(list.resource_version(), Some("216"));
    assert_eq!(list.types.as_ref().unwrap().kind, "ConfigMapList");
    let names: Vec<_> = list.iter().map(|c| c.name_any()).collect();
    assert_eq!(names, ["c1", "c2"]);

    let empty: ObjectList<ConfigMap> = serde_json::from_str(
        r#"{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":null}"#,
    )
    .unwrap();
    assert!(empty.items.is_empty());
    assert_eq!(empty.continue_token(), None);
}

#[test]
fn partial_object_metadata() {
    let m: PartialObjectMetadata<ConfigMap> = round_trips("metadata.json");
    assert_eq!(m.types.as_ref().unwrap().kind, "PartialObjectMetadata");
    assert_eq!(m.name_any(), "settings");
    let list: ObjectList<PartialObjectMetadata<ConfigMap>> = round_trips("metadata-list.json");
    assert_eq!(list.types.as_ref().unwrap().kind, "PartialObjectMetadataList");
    assert_eq!(list.items.len(), 4);
}

#[test]
fn watch_events_of_a_streaming_list() {
    let text = fixture("watch-streaming-list.jsonl");
    let events: Vec<WatchEvent<ConfigMap>> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let types: Vec<_> = events.iter().map(WatchEvent::type_name).collect();
    assert_eq!(types, ["ADDED", "BOOKMARK", "MODIFIED", "ADDED", "DELETED", "BOOKMARK", "BOOKMARK"]);
    match &events[1] {
        WatchEvent::Bookmark(b) => {
            assert!(b.is_initial_events_end());
            assert_eq!(b.metadata.resource_version, "218");
        }
        e => panic!("expected a bookmark, got {e:?}"),
    }
    match &events[5] {
        WatchEvent::Bookmark(b) => assert!(!b.is_initial_events_end()),
        e => panic!("expected a bookmark, got {e:?}"),
    }
    match &events[2] {
        WatchEvent::Modified(cm) => assert_eq!(cm.data.as_ref().unwrap()["mode"], "slow"),
        e => panic!("expected MODIFIED, got {e:?}"),
    }
    for (line, event) in text.lines().zip(&events) {
        let original: Value = serde_json::from_str(line).unwrap();
        assert_eq!(serde_json::to_value(event).unwrap(), original);
    }
    // Every event type also decodes into dynamic objects.
    for line in text.lines() {
        let _: WatchEvent<DynamicObject> = serde_json::from_str(line).unwrap();
    }
}

#[test]
fn watch_error_event_carries_the_status() {
    let line = fixture("watch-error-gone.jsonl");
    match serde_json::from_str::<WatchEvent<ConfigMap>>(line.trim()).unwrap() {
        WatchEvent::Error(s) => {
            assert!(s.is_gone());
            assert_eq!(s.code, 410);
            assert_eq!(s.reason, "Expired");
            assert!(s.message.starts_with("too old resource version"));
        }
        e => panic!("expected ERROR, got {e:?}"),
    }
}

#[test]
fn status_errors_from_the_server() {
    type Check = fn(&Status) -> bool;
    let cases: [(&str, u16, Check); 8] = [
        ("status-not-found.json", 404, Status::is_not_found),
        ("status-already-exists.json", 409, Status::is_already_exists),
        ("status-conflict.json", 409, Status::is_conflict),
        ("status-invalid.json", 422, Status::is_invalid),
        ("status-forbidden.json", 403, Status::is_forbidden),
        ("status-unauthorized.json", 401, Status::is_unauthorized),
        ("status-gone-list.json", 410, Status::is_gone),
        ("delete-configmap-response.json", 0, Status::is_success),
    ];
    let predicates: [Check; 8] = [
        Status::is_not_found,
        Status::is_already_exists,
        Status::is_conflict,
        Status::is_invalid,
        Status::is_forbidden,
        Status::is_unauthorized,
        Status::is_gone,
        Status::is_too_many_requests,
    ];
    for (i, (name, code, is)) in cases.into_iter().enumerate() {
        let s: Status = serde_json::from_str(&fixture(name)).unwrap();
        assert_eq!(s.code, code, "{name}");
        assert!(is(&s), "{name}");
        // The helpers tell the reasons apart: only the matching one is true.
        for (j, other) in predicates.iter().enumerate() {
            if j != i && i < 7 {
                assert!(!other(&s), "{name} also matched predicate {j}");
            }
        }
    }
    let invalid: Status = serde_json::from_str(&fixture("status-invalid.json")).unwrap();
    let causes = &invalid.details.as_ref().unwrap().causes;
    assert_eq!(causes[0].field, "metadata.name");
    assert_eq!(causes[0].reason, "FieldValueInvalid");
    assert!(invalid.to_string().contains("Invalid (422)"));
}
