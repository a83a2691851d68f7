//! Ten derived custom resource kinds, for the compile-time comparison.
#![allow(missing_docs)]
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "bench.example.com", version = "v1", kind = "Alpha", namespaced)]
#[kube(status = "AlphaStatus", shortname = "alp", category = "bench")]
#[kube(printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".spec.replicas"}"#)]
#[serde(rename_all = "camelCase")]
pub struct AlphaSpec {
    /// Desired replicas.
    pub replicas: i32,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    pub mode: Option<Mode>,
    pub ports: Vec<Port>,
}
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub struct AlphaStatus { pub ready: i32, pub message: Option<String> }

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "bench.example.com", version = "v1", kind = "Bravo", namespaced)]
#[kube(status = "BravoStatus", shortname = "bra", category = "bench")]
#[kube(printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".spec.replicas"}"#)]
#[serde(rename_all = "camelCase")]
pub struct BravoSpec {
    /// Desired replicas.
    pub replicas: i32,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    pub mode: Option<Mode>,
    pub ports: Vec<Port>,
}
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub struct BravoStatus { pub ready: i32, pub message: Option<String> }

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "bench.example.com", version = "v1", kind = "Charlie", namespaced)]
#[kube(status = "CharlieStatus", shortname = "cha", category = "bench")]
#[kube(printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".spec.replicas"}"#)]
#[serde(rename_all = "camelCase")]
pub struct CharlieSpec {
    /// Desired replicas.
    pub replicas: i32,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    pub mode: Option<Mode>,
    pub ports: Vec<Port>,
}
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub struct CharlieStatus { pub ready: i32, pub message: Option<String> }

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "bench.example.com", version = "v1", kind = "Delta", namespaced)]
#[kube(status = "DeltaStatus", shortname = "del", category = "bench")]
#[kube(printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".spec.replicas"}"#)]
#[serde(rename_all = "camelCase")]
pub struct DeltaSpec {
    /// Desired replicas.
    pub replicas: i32,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    pub mode: Option<Mode>,
    pub ports: Vec<Port>,
}
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub struct DeltaStatus { pub ready: i32, pub message: Option<String> }

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "bench.example.com", version = "v1", kind = "Echo", namespaced)]
#[kube(status = "EchoStatus", shortname = "ech", category = "bench")]
#[kube(printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".spec.replicas"}"#)]
#[serde(rename_all = "camelCase")]
pub struct EchoSpec {
    /// Desired replicas.
    pub replicas: i32,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    pub mode: Option<Mode>,
    pub ports: Vec<Port>,
}
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub struct EchoStatus { pub ready: i32, pub message: Option<String> }

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "bench.example.com", version = "v1", kind = "Foxtrot", namespaced)]
#[kube(status = "FoxtrotStatus", shortname = "fox", category = "bench")]
#[kube(printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".spec.replicas"}"#)]
#[serde(rename_all = "camelCase")]
pub struct FoxtrotSpec {
    /// Desired replicas.
    pub replicas: i32,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    pub mode: Option<Mode>,
    pub ports: Vec<Port>,
}
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub struct FoxtrotStatus { pub ready: i32, pub message: Option<String> }

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "bench.example.com", version = "v1", kind = "Golf", namespaced)]
#[kube(status = "GolfStatus", shortname = "gol", category = "bench")]
#[kube(printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".spec.replicas"}"#)]
#[serde(rename_all = "camelCase")]
pub struct GolfSpec {
    /// Desired replicas.
    pub replicas: i32,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    pub mode: Option<Mode>,
    pub ports: Vec<Port>,
}
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub struct GolfStatus { pub ready: i32, pub message: Option<String> }

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "bench.example.com", version = "v1", kind = "Hotel", namespaced)]
#[kube(status = "HotelStatus", shortname = "hot", category = "bench")]
#[kube(printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".spec.replicas"}"#)]
#[serde(rename_all = "camelCase")]
pub struct HotelSpec {
    /// Desired replicas.
    pub replicas: i32,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    pub mode: Option<Mode>,
    pub ports: Vec<Port>,
}
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub struct HotelStatus { pub ready: i32, pub message: Option<String> }

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "bench.example.com", version = "v1", kind = "India", namespaced)]
#[kube(status = "IndiaStatus", shortname = "ind", category = "bench")]
#[kube(printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".spec.replicas"}"#)]
#[serde(rename_all = "camelCase")]
pub struct IndiaSpec {
    /// Desired replicas.
    pub replicas: i32,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    pub mode: Option<Mode>,
    pub ports: Vec<Port>,
}
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub struct IndiaStatus { pub ready: i32, pub message: Option<String> }

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "bench.example.com", version = "v1", kind = "Juliet", namespaced)]
#[kube(status = "JulietStatus", shortname = "jul", category = "bench")]
#[kube(printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".spec.replicas"}"#)]
#[serde(rename_all = "camelCase")]
pub struct JulietSpec {
    /// Desired replicas.
    pub replicas: i32,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    pub mode: Option<Mode>,
    pub ports: Vec<Port>,
}
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub struct JulietStatus { pub ready: i32, pub message: Option<String> }

#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub enum Mode { Fast, Slow }
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub struct Port { pub name: String, pub port: u16 }

/// The CRDs, so that nothing is optimized away.
pub fn crds() -> Vec<String> {
    vec![serde_json::to_string(&crd::<Alpha>()).unwrap_or_default(), serde_json::to_string(&crd::<Bravo>()).unwrap_or_default(), serde_json::to_string(&crd::<Charlie>()).unwrap_or_default(), serde_json::to_string(&crd::<Delta>()).unwrap_or_default(), serde_json::to_string(&crd::<Echo>()).unwrap_or_default(), serde_json::to_string(&crd::<Foxtrot>()).unwrap_or_default(), serde_json::to_string(&crd::<Golf>()).unwrap_or_default(), serde_json::to_string(&crd::<Hotel>()).unwrap_or_default(), serde_json::to_string(&crd::<India>()).unwrap_or_default(), serde_json::to_string(&crd::<Juliet>()).unwrap_or_default()]
}
fn crd<K: kube::CustomResourceExt>() -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    K::crd()
}
