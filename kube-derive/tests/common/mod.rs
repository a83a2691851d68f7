//! Shared by the integration tests: the custom resource types under test, the shared control
//! plane, an admin client and CRD installation.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod types;

use k8s_openapi::apimachinery::pkg::{
    api::resource::Quantity, apis::meta::v1::Time, util::intstr::IntOrString,
};
use kube::{
    Client, CustomResourceExt, ResourceExt,
    client::config::{KubeConfigOptions, KubeconfigSource},
};
use kube_test::TestEnv;
use serde_json::json;
use types::{Action, Color, Extra, Item, Leaf, Nested, Source, Widget, WidgetSpec};

/// The control plane shared by every test of this binary.
pub fn env() -> &'static TestEnv {
    TestEnv::shared().expect("start the test control plane (run `just control-plane` first)")
}

/// An admin client of the shared control plane.
pub fn client() -> Client {
    let path = env().admin().kubeconfig().path().to_path_buf();
    let config =
        kube::Config::from_custom_kubeconfig(KubeconfigSource::Path(path), &KubeConfigOptions::default())
            .unwrap();
    Client::try_from(config).unwrap()
}

/// A new namespace for one test.
pub fn namespace(prefix: &str) -> String {
    env().create_unique_namespace(prefix).unwrap()
}

/// Installs a CRD (waiting until it is Established and served) and returns it as the server has
/// it.
pub fn install(crd: &kube::core::crd::apiextensions::CustomResourceDefinition) -> serde_json::Value {
    let name = crd.metadata.name.clone().unwrap();
    env().install_crd(&serde_json::to_string(crd).unwrap()).unwrap();
    let resp =
        env().raw_get(&format!("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")).unwrap();
    resp.json().unwrap()
}

/// Installs the CRD of `K`.
pub fn install_kind<K: CustomResourceExt>() -> serde_json::Value {
    install(&K::crd().unwrap())
}

/// A widget with every field set.
pub fn full_widget(name: &str) -> Widget {
    let mut w = Widget::new(
        name,
        WidgetSpec {
            size: 3,
            max_size: 5,
            replicas: 2,
            color: Color::Red,
            nested: Nested { depth: 2, inner: Some(Box::new(Leaf { flag: true })) },
            maybe: Some("here".into()),
            tags: vec!["a".into(), "b".into()],
            settings: [("k".to_string(), "v".to_string())].into(),
            free_form: json!({"any": ["thing", 1, {"deep": null}]}),
            memory: Quantity("1Gi".into()),
            port: IntOrString::String("http".into()),
            not_before: Some(Time("2026-01-02T03:04:05Z".parse().unwrap())),
            source: Source::Git { repo: "https://example.com/r.git".into(), revision: Some("main".into()) },
            action: Action::Wait { seconds: 10 },
            extra: Extra { owner: "team-a".into() },
            title: "A widget".into(),
            names: vec!["x".into(), "y".into()],
            items: vec![Item { name: "one".into(), value: 1 }],
            limits: [("cpu".to_string(), 2)].into(),
            template: Some(
                serde_json::from_value(json!({
                    "metadata": {"labels": {"app": "w"}},
                    "spec": {"containers": [{"name": "c", "image": "busybox",
                        "resources": {"limits": {"memory": "64Mi"}},
                        "ports": [{"containerPort": 80}]}]}
                }))
                .unwrap(),
            ),
        },
    );
    w.labels_mut().insert("test".into(), "established".into());
    w
}
