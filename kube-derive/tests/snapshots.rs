//! The generated CRDs of a few specs, as YAML, compared with the reviewed copies under
//! `tests/snapshots/`. After an intended change, regenerate them with `UPDATE_SNAPSHOTS=1` and
//! review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::types::{Gadget, Widget, v1, v2};
use kube::{CustomResourceExt, core::crd::merge_crds};

fn check(name: &str, crd: &kube::core::crd::apiextensions::CustomResourceDefinition) {
    let mut crd = serde_json::to_value(crd).unwrap();
    // The pod template is k8s-openapi's schema (thousands of lines): only its top is kept.
    for version in crd["spec"]["versions"].as_array_mut().unwrap() {
        let spec = &mut version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
        if let Some(template) = spec.get_mut("template").and_then(|t| t.as_object_mut()) {
            let fields: Vec<String> =
                template.get("properties").and_then(|p| p.as_object()).unwrap().keys().cloned().collect();
            template
                .insert("properties".into(), serde_json::json!(format!("<elided: {}>", fields.join(", "))));
        }
    }
    let yaml = serde_saphyr::to_string(&crd).unwrap();
    let path = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("tests/snapshots")
        .join(format!("{name}.yaml"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &yaml).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_SNAPSHOTS=1 to create it)", path.display()));
    assert!(
        yaml == expected,
        "the CRD of {name} differs from {}; run with UPDATE_SNAPSHOTS=1 and review the diff\n{yaml}",
        path.display()
    );
}

#[test]
fn widget_crd_matches_its_snapshot() {
    check("widget", &Widget::crd().unwrap());
}

#[test]
fn gadget_crd_matches_its_snapshot() {
    check("gadget", &Gadget::crd().unwrap());
}

#[test]
fn merged_gizmo_crd_matches_its_snapshot() {
    check("gizmo", &merge_crds(vec![v1::Gizmo::crd().unwrap(), v2::Gizmo::crd().unwrap()]).unwrap());
}
