#!/usr/bin/env python3
"""Writes the two crates of the derive compile-time comparison: 10 custom resource kinds each,
one with this workspace's derive (ours/), one with kube-rs 5's (kube-rs/). Same specs, same
attributes where both have them."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India", "Juliet"]

def source(printcolumn):
    out = ["//! Ten derived custom resource kinds, for the compile-time comparison.", "#![allow(missing_docs)]",
           "use kube::CustomResource;", "use schemars::JsonSchema;", "use serde::{Deserialize, Serialize};", "use std::collections::BTreeMap;", ""]
    for k in KINDS:
        out += [
            "#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]",
            f'#[kube(group = "bench.example.com", version = "v1", kind = "{k}", namespaced)]',
            f'#[kube(status = "{k}Status", shortname = "{k.lower()[:3]}", category = "bench")]',
            printcolumn,
            '#[serde(rename_all = "camelCase")]',
            f"pub struct {k}Spec {{",
            "    /// Desired replicas.",
            "    pub replicas: i32,",
            "    pub image: String,",
            "    pub labels: BTreeMap<String, String>,",
            "    pub mode: Option<Mode>,",
            "    pub ports: Vec<Port>,",
            "}",
            "#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]",
            f"pub struct {k}Status {{ pub ready: i32, pub message: Option<String> }}",
            "",
        ]
    out += [
        "#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]",
        "pub enum Mode { Fast, Slow }",
        "#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]",
        "pub struct Port { pub name: String, pub port: u16 }",
        "",
        "/// The CRDs, so that nothing is optimized away.",
        "pub fn crds() -> Vec<String> {",
        "    vec![" + ", ".join(f"serde_json::to_string(&crd::<{k}>()).unwrap_or_default()" for k in KINDS) + "]",
        "}",
    ]
    return "\n".join(out) + "\n"

OURS_TOML = """[package]
name = "derive-compile-ours"
version = "0.0.0"
edition = "2024"
publish = false

# Outside the project's workspace: built only by bench.sh.
[workspace]

[dependencies]
kube = { path = "../../../kube", default-features = false, features = ["derive"] }
k8s-openapi = { version = "0.29", default-features = false, features = ["latest"] }
schemars = "1"
serde = { version = "1", features = ["derive"] }
serde_json = "1"
"""

KUBERS_TOML = """[package]
name = "derive-compile-kube-rs"
version = "0.0.0"
edition = "2024"
publish = false

# Outside the project's workspace: built only by bench.sh.
[workspace]

[dependencies]
kube = { version = "5", default-features = false, features = ["derive"] }
k8s-openapi = { version = "0.29", default-features = false, features = ["latest"] }
schemars = "1"
serde = { version = "1", features = ["derive"] }
serde_json = "1"
"""

ours = source('#[kube(printcolumn(name = "Replicas", type = "integer", json_path = ".spec.replicas"))]') + \
    "fn crd<K: kube::CustomResourceExt>() -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {\n    K::crd().unwrap_or_default()\n}\n"
kubers = source('#[kube(printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".spec.replicas"}"#)]') + \
    "fn crd<K: kube::CustomResourceExt>() -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {\n    K::crd()\n}\n"
for name, toml, src in [("ours", OURS_TOML, ours), ("kube-rs", KUBERS_TOML, kubers)]:
    os.makedirs(os.path.join(HERE, name, "src"), exist_ok=True)
    open(os.path.join(HERE, name, "Cargo.toml"), "w").write(toml)
    open(os.path.join(HERE, name, "src", "lib.rs"), "w").write(src)
