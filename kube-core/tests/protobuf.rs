//! The fixtures encoded by the Go API machinery (`tools/protogen -fixtures`) in protobuf and in
//! JSON decode to the same objects.

#![cfg(feature = "protobuf")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Debug;

use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Pod},
};
use kube_core::{
    DynamicObject, ObjectList, PartialObjectMetadata, Status,
    protobuf::{self, List, Options},
};
use serde::de::DeserializeOwned;

fn fixture(name: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = format!("{}/tests/fixtures/", std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let pb = std::fs::read(format!("{dir}{name}.pb")).unwrap();
    let json = std::fs::read(format!("{dir}{name}.pb.json")).unwrap();
    (pb, json)
}

fn same<T: DeserializeOwned + PartialEq + Debug>(name: &str) -> T {
    let (pb, json) = fixture(name);
    let from_json: T = serde_json::from_slice(&json).unwrap();
    let from_pb: T = protobuf::from_envelope(&pb, Options::default()).unwrap();
    assert_eq!(from_pb, from_json, "{name}");
    from_pb
}

#[test]
fn objects_decode_as_their_json_does() {
    let pod: Pod = same("pod");
    assert!(pod.metadata.managed_fields.is_some());
    let pod: Pod = same("pod-realistic");
    assert_eq!(pod.status.and_then(|s| s.conditions).map(|c| c.len()), Some(5));
    same::<ConfigMap>("configmap");
    same::<Deployment>("deployment");
    same::<Deployment>("deployment-with-status");
    same::<ObjectList<ConfigMap>>("configmap-list-page");
    same::<PartialObjectMetadata<Pod>>("metadata");
    same::<ObjectList<PartialObjectMetadata<Pod>>>("metadata-list");
    // Dynamic objects keep every field, as JSON values.
    same::<DynamicObject>("pod");
    same::<serde_json::Value>("deployment-with-status");
}

#[test]
fn statuses_decode_as_their_json_does() {
    for name in [
        "status-already-exists",
        "status-conflict",
        "status-forbidden",
        "status-gone-list",
        "status-invalid",
        "status-not-found",
        "status-unauthorized",
        "delete-configmap-response",
    ] {
        let status: Status = same(name);
        assert!(status.code >= 400 || status.status == "Success", "{name}: {status:?}");
    }
}

#[test]
fn lists_decode_item_by_item_and_without_managed_fields() {
    let (pb, json) = fixture("configmap-list-page");
    let want: ObjectList<ConfigMap> = serde_json::from_slice(&json).unwrap();
    let list = List::parse(&pb).unwrap();
    assert_eq!(list.type_meta(), ("v1", "ConfigMapList"));
    let items: Vec<ConfigMap> = list.items(Options::default()).collect::<Result<_, _>>().unwrap();
    assert_eq!(items, want.items);
    assert_eq!(list.metadata::<kube_core::ListMeta>(Options::default()).unwrap(), want.metadata);
    let cut: Vec<ConfigMap> =
        list.items(Options::default().drop_managed_fields()).collect::<Result<_, _>>().unwrap();
    assert!(cut.iter().all(|c| c.metadata.managed_fields.is_none()));
    let (pb, _) = fixture("pod");
    let pod: Pod = protobuf::from_envelope(&pb, Options::default().drop_managed_fields()).unwrap();
    assert!(pod.metadata.managed_fields.is_none() && pod.spec.is_some());
}

#[test]
fn every_cut_of_a_fixture_is_an_error_not_a_panic() {
    let (pb, _) = fixture("deployment-with-status");
    for len in 0..pb.len() {
        let _ = protobuf::from_envelope::<Deployment>(&pb[..len], Options::default());
    }
}
