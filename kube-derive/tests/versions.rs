//! A kind with two versions merged into one CRD: both are served, objects written through one
//! are read through the other, and the deprecated one answers with its warning.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    process::Command,
    sync::{Arc, Mutex},
};

use common::{
    client, env, install, namespace,
    types::{v1, v2},
};
use kube::{Api, CustomResourceExt, api::PostParams, core::crd::merge_crds};

/// Collects what the client logs.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn both_versions_are_served_and_the_deprecated_one_warns() {
    let crd = merge_crds(vec![v1::Gizmo::crd().unwrap(), v2::Gizmo::crd().unwrap()]).unwrap();
    let installed = install(&crd);
    assert_eq!(installed["status"]["storedVersions"], serde_json::json!(["v2"]));
    let ns = namespace("derive-versions");

    let new: Api<v2::Gizmo> = Api::namespaced(client(), &ns);
    let old: Api<v1::Gizmo> = Api::namespaced(client(), &ns);
    new.create(
        &PostParams::default(),
        &v2::Gizmo::new("a", v2::GizmoSpec { size: 1, label: Some("l".into()) }),
    )
    .await
    .unwrap();
    old.create(&PostParams::default(), &v1::Gizmo::new("b", v1::GizmoSpec { size: 2 })).await.unwrap();
    assert_eq!(old.get("a").await.unwrap().spec, v1::GizmoSpec { size: 1 });
    assert_eq!(new.get("b").await.unwrap().spec, v2::GizmoSpec { size: 2, label: None });
    assert_eq!(new.get("a").await.unwrap().spec.label.as_deref(), Some("l"));

    // The client logs the `Warning` header of the deprecated version, and only of that one.
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    {
        let _guard = tracing_subscriber::util::SubscriberInitExt::set_default(subscriber);
        new.get("a").await.unwrap();
        assert!(!String::from_utf8_lossy(&logs.0.lock().unwrap()).contains("deprecated"));
        old.get("a").await.unwrap();
    }
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(logged.contains("the API server sent a warning"), "{logged}");
    assert!(logged.contains("warning=derive.kube.test/v1 Gizmo is deprecated; use v2"), "{logged}");

    // The apiserver sends the deprecation warning as a `Warning` header; kubectl prints it.
    let kubectl = env().binaries().kubectl().unwrap().to_path_buf();
    let run = |resource: &str| {
        let out = Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(env().kubeconfig().path())
            .args(["get", resource, "-n", &ns, "-o", "name"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let warned = run("gizmos.v1.derive.kube.test");
    assert!(warned.contains("derive.kube.test/v1 Gizmo is deprecated; use v2"), "stderr: {warned}");
    let quiet = run("gizmos.v2.derive.kube.test");
    assert!(!quiet.contains("deprecated"), "stderr: {quiet}");
}
