//! A conversion webhook serving a two-version CRD through the real API server: objects written
//! in v1 read back in v2 and the other way round, and a failed conversion reported with its
//! reason.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Served, kubectl, shared, test_namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube_core::conversion::Converter;
use kube_webhook::config;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// v1: the size as a string ("3").
#[derive(Serialize, Deserialize)]
struct WidgetV1 {
    metadata: ObjectMeta,
    spec: SpecV1,
}
#[derive(Serialize, Deserialize)]
struct SpecV1 {
    size: String,
}

/// v2: the size as a number of replicas.
#[derive(Serialize, Deserialize)]
struct WidgetV2 {
    metadata: ObjectMeta,
    spec: SpecV2,
}
#[derive(Serialize, Deserialize)]
struct SpecV2 {
    replicas: i64,
}

/// The hub every version converts through.
struct Widget {
    metadata: ObjectMeta,
    replicas: i64,
}

impl TryFrom<WidgetV1> for Widget {
    type Error = String;
    fn try_from(v: WidgetV1) -> Result<Self, String> {
        let replicas =
            v.spec.size.parse().map_err(|_| format!("spec.size {:?} is not a number", v.spec.size))?;
        Ok(Widget { metadata: v.metadata, replicas })
    }
}
impl From<Widget> for WidgetV1 {
    fn from(w: Widget) -> Self {
        WidgetV1 { metadata: w.metadata, spec: SpecV1 { size: w.replicas.to_string() } }
    }
}
impl From<WidgetV2> for Widget {
    fn from(v: WidgetV2) -> Self {
        Widget { metadata: v.metadata, replicas: v.spec.replicas }
    }
}
impl From<Widget> for WidgetV2 {
    fn from(w: Widget) -> Self {
        WidgetV2 { metadata: w.metadata, spec: SpecV2 { replicas: w.replicas } }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_versions_read_and_written_through_the_api_server() {
    let env = shared();
    let (ns, _) = test_namespace(env, "conversion").await;
    let group = format!("{ns}.kube-webhook.test");
    let (v1, v2) = (format!("{group}/v1"), format!("{group}/v2"));
    let converter = Converter::<Widget>::new().version::<WidgetV1>(&v1).version::<WidgetV2>(&v2);
    let served = Served::start(|s| s.route("/convert", converter)).await;

    let schema = |spec: serde_json::Value| json!({"openAPIV3Schema": {"type": "object", "properties": {"spec": spec}}});
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("widgets.{group}")},
        "spec": {
            "group": group, "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "versions": [
                {"name": "v1", "served": true, "storage": true,
                 "schema": schema(json!({"type": "object", "properties": {"size": {"type": "string"}}}))},
                {"name": "v2", "served": true, "storage": false,
                 "schema": schema(json!({"type": "object", "properties": {"replicas": {"type": "integer"}}}))},
            ],
            "conversion": config::crd_conversion(&served.endpoint().at("/convert")),
        }
    });
    let manifest = crd.to_string();
    tokio::task::spawn_blocking(move || env.install_crd(&manifest).unwrap()).await.unwrap();

    // Written in v1 (the storage version), read in v2.
    let a = json!({"apiVersion": v1, "kind": "Widget", "metadata": {"name": "a", "namespace": ns}, "spec": {"size": "3"}});
    kubectl(env, &["apply", "-f", "-"], Some(&a.to_string())).await.unwrap();
    let path = |version: &str, name: &str| format!("/apis/{group}/{version}/namespaces/{ns}/widgets/{name}");
    let read = env.raw_get(&path("v2", "a")).unwrap();
    assert_eq!(read.status, 200, "{}", read.body);
    let read = read.json().unwrap();
    assert_eq!(read["apiVersion"], v2.as_str());
    assert_eq!(read["spec"], json!({"replicas": 3}));
    assert_eq!(read["metadata"]["name"], "a");

    // Written in v2 (converted to v1 for storage), read in v1, and in v2 by kubectl.
    let b = json!({"apiVersion": v2, "kind": "Widget", "metadata": {"name": "b", "namespace": ns}, "spec": {"replicas": 5}});
    kubectl(env, &["apply", "-f", "-"], Some(&b.to_string())).await.unwrap();
    let read = env.raw_get(&path("v1", "b")).unwrap().json().unwrap();
    assert_eq!((read["apiVersion"].clone(), read["spec"].clone()), (json!(v1), json!({"size": "5"})));
    let out = kubectl(
        env,
        &["get", &format!("widgets.v2.{group}"), "b", "-n", &ns, "-o", "jsonpath={.spec.replicas}"],
        None,
    )
    .await
    .unwrap();
    assert_eq!(out.stdout, "5");

    // A v1 object with no v2 form: reading it in v2 fails with the converter's reason.
    let c = json!({"apiVersion": v1, "kind": "Widget", "metadata": {"name": "c", "namespace": ns}, "spec": {"size": "many"}});
    kubectl(env, &["apply", "-f", "-"], Some(&c.to_string())).await.unwrap();
    let read = env.raw_get(&path("v2", "c")).unwrap();
    assert!(!read.is_success());
    assert!(read.body.contains(r#"spec.size \"many\" is not a number"#), "{}", read.body);

    let metrics = served.metrics_text();
    assert!(
        metrics.contains(r#"controller_runtime_webhook_requests_total{code="200",webhook="/convert"}"#),
        "{metrics}"
    );
    kubectl(env, &["delete", "crd", &format!("widgets.{group}"), "--wait=false"], None).await.unwrap();
}
