//! Decoding hand-built messages into k8s-openapi and kube-core types.

use k8s_openapi::{
    ByteString,
    api::{
        apps::v1::Deployment,
        core::v1::{ConfigMap, Pod, Secret},
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};

use super::{
    envelope::tests::{bytes_field as b, envelope, varint_field as v},
    *,
};
use crate::{Status, WatchEvent};

/// `ObjectMeta{name, namespace, generateName: "", creationTimestamp, labels, finalizers split
/// around an unknown field, managedFields}`.
fn meta(name: &str) -> Vec<u8> {
    let time = [v(1, 1_700_000_000), v(2, 5)].concat();
    let label = [b(1, b"app"), b(2, b"web")].concat();
    let managed = [b(1, b"kubectl"), b(2, b"Update")].concat();
    [
        b(1, name.as_bytes()),
        b(2, b""),
        b(3, b"prod"),
        b(8, &time),
        b(11, &label),
        b(14, b"a"),
        v(99, 7),
        b(17, &managed),
        b(14, b"b"),
    ]
    .concat()
}

#[test]
fn a_configmap_decodes_as_json_gives_it() {
    let data = [b(1, b"k"), b(2, b"v")].concat();
    let bin = [b(1, b"blob"), b(2, &[0, 1, 2])].concat();
    let raw = [b(1, &meta("settings")), b(2, &data), b(3, &bin), v(4, 1)].concat();
    let cm: ConfigMap = from_envelope(&envelope("v1", "ConfigMap", &raw), Options::default()).unwrap();
    let want: ConfigMap = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {
            "name": "settings", "namespace": "prod", "creationTimestamp": "2023-11-14T22:13:20Z",
            "labels": {"app": "web"}, "finalizers": ["a", "b"],
            "managedFields": [{"manager": "kubectl", "operation": "Update"}]
        },
        "data": {"k": "v"}, "binaryData": {"blob": "AAEC"}, "immutable": true
    }))
    .unwrap();
    assert_eq!(cm, want);
    assert_eq!(cm.metadata.generate_name, None, "an empty omitempty string is absent, as in JSON");
    assert_eq!(cm.binary_data.unwrap()["blob"], ByteString(vec![0, 1, 2]));
}

#[test]
fn managed_fields_are_dropped_when_asked() {
    let raw = b(1, &meta("a"));
    let body = envelope("v1", "Secret", &raw);
    let kept: Secret = from_envelope(&body, Options::default()).unwrap();
    assert_eq!(kept.metadata.managed_fields.map(|m| m.len()), Some(1));
    let cut: Secret = from_envelope(&body, Options::default().drop_managed_fields()).unwrap();
    assert_eq!(cut.metadata.managed_fields, None);
    assert_eq!(cut.metadata.finalizers, Some(vec!["a".into(), "b".into()]));
}

#[test]
fn pointer_zeros_are_kept_and_nested_messages_decode() {
    // DeploymentSpec{replicas: 0 (a pointer: kept), minReadySeconds: 0 (omitempty: absent),
    // template{spec{containers[{name, ports[{containerPort}], resources{limits{cpu: 100m}}}],
    // volumes[{name, configMap{name}}] (an inline VolumeSource)}}, strategy{rollingUpdate{maxSurge: "25%"}}}
    let port = v(3, 8080);
    let cpu = [b(1, b"cpu"), b(2, &b(1, b"100m"))].concat();
    let container = [b(1, b"app"), b(6, &port), b(8, &b(1, &cpu))].concat();
    let volume_source = b(19, &b(1, &b(1, b"cfg")));
    let volume = [b(1, b"cfg"), b(2, &volume_source)].concat();
    let pod_spec = [b(1, &volume), b(2, &container)].concat();
    let template = [b(1, &b(1, b"t")), b(2, &pod_spec)].concat();
    let surge = [v(1, 1), b(3, b"25%")].concat();
    let strategy = [b(1, b"RollingUpdate"), b(2, &b(2, &surge))].concat();
    let spec = [v(1, 0), b(2, &[]), b(3, &template), b(4, &strategy), v(5, 0)].concat();
    let raw = [b(1, &b(1, b"web")), b(2, &spec)].concat();
    let d: Deployment = from_envelope(&envelope("apps/v1", "Deployment", &raw), Options::default()).unwrap();
    let want: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 0,
            "selector": {},
            "template": {"metadata": {"name": "t"}, "spec": {
                "volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}],
                "containers": [{"name": "app", "ports": [{"containerPort": 8080}], "resources": {"limits": {"cpu": "100m"}}}]
            }},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}}
        }
    }))
    .unwrap();
    assert_eq!(d.spec.replicas, Some(0));
    assert_eq!(d.spec.min_ready_seconds, None);
    assert_eq!(d, want);
}

#[test]
fn watch_frames_carry_their_object_in_an_embedded_envelope() {
    let pod = envelope("v1", "Pod", &b(1, &meta("p")));
    let event = [b(1, b"ADDED"), b(2, &b(1, &pod))].concat();
    match watch_event::<WatchEvent<Pod>>(&event, Options::default()).unwrap() {
        WatchEvent::Added(p) => assert_eq!(p.metadata.name.as_deref(), Some("p")),
        other => panic!("expected ADDED, got {other:?}"),
    }
    let bookmark_meta =
        [b(6, b"42"), b(12, &[b(1, b"k8s.io/initial-events-end"), b(2, b"true")].concat())].concat();
    let bookmark = envelope("v1", "Pod", &b(1, &bookmark_meta));
    let event = [b(1, b"BOOKMARK"), b(2, &b(1, &bookmark))].concat();
    match watch_event::<WatchEvent<Pod>>(&event, Options::default()).unwrap() {
        WatchEvent::Bookmark(bm) => {
            assert_eq!(bm.metadata.resource_version, "42");
            assert!(bm.is_initial_events_end());
            assert_eq!(bm.types.kind, "Pod");
        }
        other => panic!("expected BOOKMARK, got {other:?}"),
    }
    let status = [b(2, b"Failure"), b(3, b"too old resource version"), b(4, b"Expired"), v(6, 410)].concat();
    let status = envelope("v1", "Status", &[b(1, &[]), status].concat());
    let event = [b(1, b"ERROR"), b(2, &b(1, &status))].concat();
    match watch_event::<WatchEvent<Pod>>(&event, Options::default()).unwrap() {
        WatchEvent::Error(s) => assert!(s.is_gone(), "{s:?}"),
        other => panic!("expected ERROR, got {other:?}"),
    }
}

#[test]
fn a_status_body_decodes() {
    let raw = [b(2, b"Failure"), b(3, b"pods \"x\" not found"), b(4, b"NotFound"), v(6, 404)].concat();
    let status: Status = from_envelope(&envelope("v1", "Status", &raw), Options::default()).unwrap();
    assert!(status.is_not_found());
    assert_eq!(status.message, "pods \"x\" not found");
}

#[test]
fn lists_give_metadata_and_items_one_by_one() {
    let list_meta = [b(2, b"99"), b(3, b"next")].concat();
    let raw = [b(1, &list_meta), b(2, &b(1, &meta("a"))), b(2, &b(1, &meta("b")))].concat();
    let body = envelope("meta.k8s.io/v1", "PartialObjectMetadataList", &raw);
    let list = List::parse(&body).unwrap();
    let lm: k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta =
        list.metadata(Options::default()).unwrap();
    assert_eq!((lm.resource_version.as_deref(), lm.continue_.as_deref()), (Some("99"), Some("next")));
    let items: Vec<crate::PartialObjectMetadata<Pod>> =
        list.items(Options::default()).collect::<Result<_, _>>().unwrap();
    assert_eq!(items.iter().map(|i| i.metadata.name.as_deref().unwrap()).collect::<Vec<_>>(), ["a", "b"]);
    assert!(matches!(List::parse(&envelope("v1", "Pod", &[])), Err(Error::NotAList(_))));
}

#[test]
fn raw_extensions_hold_json() {
    // ControllerRevision{data: RawExtension{raw: JSON}}
    let raw = [b(1, &b(1, b"rev")), b(2, &b(1, br#"{"spec":{"x":1}}"#)), v(3, 2)].concat();
    let rev: k8s_openapi::api::apps::v1::ControllerRevision =
        from_envelope(&envelope("apps/v1", "ControllerRevision", &raw), Options::default()).unwrap();
    assert_eq!(rev.data.0, serde_json::json!({"spec": {"x": 1}}));
    assert_eq!(rev.revision, Some(2));
}

#[test]
fn wrong_types_and_kinds_are_clear_errors() {
    let e = from_envelope::<ConfigMap>(&envelope("clux.dev/v1", "Foo", &[]), Options::default()).unwrap_err();
    assert!(e.to_string().contains("clux.dev/v1") && e.to_string().contains("Foo"), "{e}");
    // metadata as a varint
    let e =
        from_envelope::<ConfigMap>(&envelope("v1", "ConfigMap", &v(1, 3)), Options::default()).unwrap_err();
    assert!(matches!(e, Error::FieldType { field: "metadata", wire: "varint" }), "{e}");
    // an object of another type than asked for
    let e = from_envelope::<ObjectMeta>(&envelope("v1", "Pod", &b(2, &[])), Options::default());
    assert!(e.is_ok(), "unknown fields (here `spec`) are skipped by the target");
    let mut cut = envelope("v1", "ConfigMap", &b(1, &meta("a")));
    let n = cut.len();
    cut.truncate(n - 3);
    assert!(from_envelope::<ConfigMap>(&cut, Options::default()).is_err());
}

#[test]
fn arbitrary_bytes_never_panic() {
    let seeds = [
        envelope("v1", "ConfigMap", &b(1, &meta("a"))),
        envelope("apps/v1", "Deployment", &[b(1, &meta("d")), b(2, &v(1, 3))].concat()),
        [b(1, b"ADDED"), b(2, &b(1, &envelope("v1", "Pod", &b(1, &meta("p")))))].concat(),
    ];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for seed in &seeds {
        for _ in 0..2000 {
            let mut input = seed.clone();
            for _ in 0..(rand() % 4 + 1) {
                let i = (rand() as usize) % input.len();
                input[i] = rand() as u8;
            }
            input.truncate(input.len() - (rand() as usize % 3).min(input.len()));
            let _ = from_envelope::<ConfigMap>(&input, Options::default());
            let _ = from_envelope::<serde_json::Value>(&input, Options::default());
            let _ = watch_event::<WatchEvent<Pod>>(&input, Options::default());
            if let Ok(list) = List::parse(&input) {
                let _ = list.items::<Pod>(Options::default()).count();
            }
        }
    }
}
