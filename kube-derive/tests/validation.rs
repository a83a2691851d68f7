//! The apiserver enforces the generated schema: type and enum violations and broken CEL rules
//! (struct- and field-level) are rejected with the server's message in the error, and defaults
//! from `#[serde(default)]` are applied by the server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{client, install_kind, namespace, types::Widget};
use kube::{
    Api, CustomResourceExt,
    api::PostParams,
    core::{DynamicObject, Resource},
};
use serde_json::{Value, json};

/// A minimal valid widget as JSON: only required fields.
fn minimal(name: &str) -> Value {
    json!({
        "apiVersion": Widget::api_version(&()),
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {
            "size": 1, "maxSize": 2, "nested": {"depth": 0}, "memory": "1", "port": 80,
            "source": {"http": {"url": "u"}}, "action": {"type": "Stop"}, "owner": "o",
            "displayName": "d",
        },
    })
}

async fn create(api: &Api<DynamicObject>, value: Value) -> Result<DynamicObject, kube::Error> {
    api.create(&PostParams::default(), &serde_json::from_value(value).unwrap()).await
}

fn message(result: Result<DynamicObject, kube::Error>) -> String {
    let err = result.expect_err("the server accepted an invalid object");
    let status = err.status().unwrap_or_else(|| panic!("not an API error: {err}"));
    assert_eq!(status.code, 422, "{status:?}");
    status.message.clone()
}

fn api(ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client(), ns, &Widget::api_resource())
}

#[tokio::test]
async fn the_server_applies_defaults() {
    install_kind::<Widget>();
    let ns = namespace("derive-defaults");
    let created = create(&api(&ns), minimal("defaults")).await.unwrap();
    assert_eq!(created.data["spec"]["replicas"], 1);
    assert_eq!(created.data["spec"]["color"], "blue");
    // And the typed view reads it.
    let typed: Api<Widget> = Api::namespaced(client(), &ns);
    assert_eq!(typed.get("defaults").await.unwrap().spec.replicas, 1);
}

#[tokio::test]
async fn schema_violations_are_rejected_with_the_servers_message() {
    install_kind::<Widget>();
    let ns = namespace("derive-schema");
    let api = api(&ns);

    let mut wrong_type = minimal("wrong-type");
    wrong_type["spec"]["size"] = json!("big");
    let msg = message(create(&api, wrong_type).await);
    assert!(msg.contains("spec.size") && msg.contains("must be of type integer"), "{msg}");

    let mut wrong_enum = minimal("wrong-enum");
    wrong_enum["spec"]["color"] = json!("purple");
    let msg = message(create(&api, wrong_enum).await);
    assert!(msg.contains("spec.color") && msg.contains("Unsupported value: \"purple\""), "{msg}");

    let mut missing = minimal("missing");
    missing["spec"].as_object_mut().unwrap().remove("maxSize");
    let msg = message(create(&api, missing).await);
    assert!(msg.contains("spec.maxSize") && msg.contains("Required value"), "{msg}");

    let mut two_variants = minimal("two-variants");
    two_variants["spec"]["source"] = json!({"http": {"url": "u"}, "git": {"repo": "r"}});
    let msg = message(create(&api, two_variants).await);
    assert!(msg.contains("spec.source"), "{msg}");

    let mut unknown_tag = minimal("unknown-tag");
    unknown_tag["spec"]["action"] = json!({"type": "Jump"});
    let msg = message(create(&api, unknown_tag).await);
    assert!(msg.contains("spec.action.type") && msg.contains("Unsupported value"), "{msg}");
}

#[tokio::test]
async fn cel_rules_are_enforced_with_their_messages() {
    install_kind::<Widget>();
    let ns = namespace("derive-cel");
    let api = api(&ns);

    let mut too_big = minimal("too-big");
    too_big["spec"]["size"] = json!(3);
    let msg = message(create(&api, too_big).await);
    assert!(msg.contains("size must not exceed maxSize"), "{msg}");

    let mut negative = minimal("negative");
    negative["spec"]["replicas"] = json!(-1);
    let msg = message(create(&api, negative).await);
    assert!(msg.contains("replicas is minus one"), "messageExpression not evaluated: {msg}");

    let mut empty_name = minimal("empty-name");
    empty_name["spec"]["names"] = json!(["ok", ""]);
    let msg = message(create(&api, empty_name).await);
    assert!(msg.contains("spec.names") && msg.contains("names must not be empty"), "{msg}");

    let mut duplicate = minimal("duplicate");
    duplicate["spec"]["names"] = json!(["a", "a"]);
    let msg = message(create(&api, duplicate).await);
    assert!(msg.contains("Duplicate value"), "list_type = set not enforced: {msg}");
}
