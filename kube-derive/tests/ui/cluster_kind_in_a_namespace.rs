use kube::{Api, Client, CustomResource};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "example.com", version = "v1", kind = "Gadget")]
pub struct GadgetSpec {
    size: i32,
}

fn gadgets(client: Client) -> Api<Gadget> {
    Api::namespaced(client, "default")
}

fn main() {}
