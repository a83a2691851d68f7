//! Every generated CRD is accepted by a real kube-apiserver: Established, without a
//! NonStructuralSchema condition, and instances of every schema feature round-trip unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    client, full_widget, install, install_kind, namespace,
    types::{Action, Gadget, GadgetSpec, Handmade, HandmadeSpec, Loose, LooseSpec, Source, Widget, v1, v2},
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{Api, CustomResourceExt, ResourceExt, api::PostParams, core::crd::merge_crds};
use serde_json::{Value, json};

fn assert_established(crd: &Value) {
    let conditions = crd["status"]["conditions"].as_array().unwrap();
    let established = conditions.iter().any(|c| c["type"] == "Established" && c["status"] == "True");
    assert!(established, "not established: {conditions:?}");
    let non_structural = conditions.iter().find(|c| c["type"] == "NonStructuralSchema");
    assert!(non_structural.is_none(), "non-structural: {non_structural:?}");
}

#[tokio::test]
async fn generated_crds_are_established_and_structural() {
    assert_established(&install_kind::<Widget>());
    assert_established(&install_kind::<Gadget>());
    let gizmo = merge_crds(vec![v1::Gizmo::crd().unwrap(), v2::Gizmo::crd().unwrap()]).unwrap();
    assert_established(&install(&gizmo));
    assert_established(&install_kind::<Loose>());
    assert_established(&install_kind::<Handmade>());
}

#[tokio::test]
async fn disabled_and_manual_schemas_are_used() {
    install_kind::<Loose>();
    install_kind::<Handmade>();
    let ns = namespace("derive-schema-modes");
    let loose: Api<Loose> = Api::namespaced(client(), &ns);
    let fields = [("anything".to_string(), json!({"goes": [1, "two"]}))].into();
    let created = loose.create(&PostParams::default(), &Loose::new("l", LooseSpec { fields })).await.unwrap();
    assert_eq!(created.spec.fields["anything"], json!({"goes": [1, "two"]}));

    let handmade: Api<Handmade> = Api::namespaced(client(), &ns);
    handmade.create(&PostParams::default(), &Handmade::new("ok", HandmadeSpec { count: 9 })).await.unwrap();
    let err = handmade
        .create(&PostParams::default(), &Handmade::new("bad", HandmadeSpec { count: 10 }))
        .await
        .unwrap_err();
    let message = &err.status().unwrap().message;
    assert!(message.contains("spec.count") && message.contains("less than or equal to 9"), "{message}");
}

#[tokio::test]
async fn instances_round_trip_unchanged() {
    install_kind::<Widget>();
    let ns = namespace("derive-roundtrip");
    let widgets: Api<Widget> = Api::namespaced(client(), &ns);
    let sent = full_widget("full");
    let created = widgets.create(&PostParams::default(), &sent).await.unwrap();
    assert_eq!(created.spec, sent.spec, "the server pruned or changed a field");
    let read = widgets.get("full").await.unwrap();
    assert_eq!(read.spec, sent.spec);
    assert_eq!(read.labels()["test"], "established");
    assert!(read.status.is_none());

    // Other enum shapes and an integer port.
    let mut other = full_widget("other");
    other.spec.source = Source::Http { url: "https://example.com".into() };
    other.spec.action = Action::Stop;
    other.spec.port = IntOrString::Int(8080);
    other.spec.nested.inner = None;
    other.spec.template = None;
    let created = widgets.create(&PostParams::default(), &other).await.unwrap();
    assert_eq!(created.spec, other.spec);
}

#[tokio::test]
async fn cluster_scoped_kinds_use_cluster_urls() {
    install_kind::<Gadget>();
    let gadgets: Api<Gadget> = Api::all(client());
    let name = format!("g-{}", std::process::id());
    let object =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": "v"}});
    let spec = GadgetSpec { value: "v".into(), object: Some(object) };
    let created = gadgets.create(&PostParams::default(), &Gadget::new(&name, spec.clone())).await.unwrap();
    assert_eq!(created.namespace(), None);
    assert_eq!(gadgets.get(&name).await.unwrap().spec, spec);

    // An embedded object without a kind is rejected.
    let bad = GadgetSpec { value: "v".into(), object: Some(json!({"apiVersion": "v1", "metadata": {}})) };
    let err =
        gadgets.create(&PostParams::default(), &Gadget::new(&format!("{name}-bad"), bad)).await.unwrap_err();
    let message = &err.status().unwrap().message;
    assert!(message.contains("spec.object.kind") && message.contains("Required value"), "{message}");
    assert_eq!(Gadget::crd_name(), "gadgetries.derive.kube.test");
}
