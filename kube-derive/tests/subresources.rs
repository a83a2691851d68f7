//! The status and scale subresources of a derived kind (`kubectl scale` included), its printer
//! columns, short names, categories and selectable fields, through kubectl and the client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    client, env, full_widget, install_kind, namespace,
    types::{Color, Widget, WidgetStatus},
};
use kube::{
    Api,
    api::{ListParams, Patch, PatchParams, PostParams},
};
use serde_json::json;

#[tokio::test]
async fn status_and_scale_subresources_work() {
    install_kind::<Widget>();
    let ns = namespace("derive-subresources");
    let widgets: Api<Widget> = Api::namespaced(client(), &ns);
    let mut sent = full_widget("scaled");
    sent.status = Some(WidgetStatus { replicas: 9, selector: None });
    let created = widgets.create(&PostParams::default(), &sent).await.unwrap();
    assert!(created.status.is_none(), "status is a subresource: create ignores it");

    let status = json!({"status": {"replicas": 2, "selector": "app=w"}});
    let patched =
        widgets.patch_status("scaled", &PatchParams::default(), &Patch::Merge(status)).await.unwrap();
    assert_eq!(patched.status, Some(WidgetStatus { replicas: 2, selector: Some("app=w".into()) }));

    env().kubectl(["scale", "-n", &ns, "widget/scaled", "--replicas=4"]).unwrap();
    assert_eq!(widgets.get("scaled").await.unwrap().spec.replicas, 4);
    let scale = widgets.get_scale("scaled").await.unwrap();
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(4));
    let scale_status = scale.status.unwrap();
    assert_eq!(scale_status.replicas, 2);
    assert_eq!(scale_status.selector.as_deref(), Some("app=w"));
}

#[tokio::test]
async fn kubectl_shows_columns_and_accepts_short_names_and_categories() {
    install_kind::<Widget>();
    let ns = namespace("derive-kubectl");
    let widgets: Api<Widget> = Api::namespaced(client(), &ns);
    widgets.create(&PostParams::default(), &full_widget("shown")).await.unwrap();

    let table = env().kubectl(["get", "widgets", "-n", &ns]).unwrap();
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "SIZE", "COLOR"], "{table}");
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(&row[..3], ["shown", "3", "red"], "{table}");

    let wide = env().kubectl(["get", "widgets", "-n", &ns, "-o", "wide"]).unwrap();
    assert!(wide.lines().next().unwrap().contains("READY"), "priority 1 column only in wide: {wide}");

    for name in ["wdg", "kubetest", "widget.derive.kube.test"] {
        let out = env().kubectl(["get", name, "-n", &ns, "-o", "name"]).unwrap();
        assert_eq!(out.trim(), "widget.derive.kube.test/shown", "kubectl get {name}");
    }
}

#[tokio::test]
async fn selectable_fields_filter_lists() {
    install_kind::<Widget>();
    let ns = namespace("derive-selectable");
    let widgets: Api<Widget> = Api::namespaced(client(), &ns);
    let red = full_widget("red");
    let mut blue = full_widget("blue");
    blue.spec.color = Color::Blue;
    widgets.create(&PostParams::default(), &red).await.unwrap();
    widgets.create(&PostParams::default(), &blue).await.unwrap();
    let listed = widgets.list(&ListParams::default().fields("spec.color=blue")).await.unwrap();
    let names: Vec<_> = listed.items.iter().map(|w| w.metadata.name.clone().unwrap()).collect();
    assert_eq!(names, ["blue"]);
}
