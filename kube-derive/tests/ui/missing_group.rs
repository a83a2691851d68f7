use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(version = "v1", kind = "Widget", namespaced)]
pub struct WidgetSpec {
    size: i32,
}

fn main() {}
