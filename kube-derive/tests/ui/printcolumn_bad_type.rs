use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "example.com", version = "v1", kind = "Widget")]
#[kube(printcolumn(name = "Size", type = "int", json_path = ".spec.size"))]
pub struct WidgetSpec {
    size: i32,
}

fn main() {}
