//! The custom resource types the tests install: one that uses every schema feature
//! ([`Widget`]), a cluster-scoped one ([`Gadget`]) and a kind with two versions ([`v1::Gizmo`],
//! [`v2::Gizmo`]).

use std::collections::BTreeMap;

use k8s_openapi::{
    api::core::v1::PodTemplateSpec,
    apimachinery::pkg::{api::resource::Quantity, apis::meta::v1::Time, util::intstr::IntOrString},
};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A widget: nested structs, enums, options, lists, maps, free-form JSON, native types,
/// flattening, defaults, renames, a pod template and CEL rules.
// clippy takes two printer columns of the same type for a duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "derive.kube.test", version = "v1", kind = "Widget", namespaced)]
#[kube(status = "WidgetStatus", shortname = "wdg", category = "kubetest")]
#[kube(printcolumn(name = "Size", type = "integer", json_path = ".spec.size", description = "the size"))]
#[kube(printcolumn(name = "Color", type = "string", json_path = ".spec.color"))]
#[kube(printcolumn(name = "Ready", type = "integer", json_path = ".status.replicas", priority = 1))]
#[kube(scale(
    spec_replicas_path = ".spec.replicas",
    status_replicas_path = ".status.replicas",
    label_selector_path = ".status.selector"
))]
#[kube(selectable = ".spec.color")]
#[kube(validation(
    rule = "self.size <= self.maxSize",
    message = "size must not exceed maxSize",
    reason = "FieldValueInvalid"
))]
#[kube(label = "app.kubernetes.io/part-of=kube-derive-tests", annotation = "example.com/owner=derive")]
#[kube(derive = "PartialEq")]
#[serde(rename_all = "camelCase")]
pub struct WidgetSpec {
    /// How big.
    pub size: i32,
    /// The largest size allowed.
    pub max_size: i32,
    /// Copies (the scale subresource's replicas).
    #[serde(default = "default_replicas")]
    #[x_kube(validation(
        rule = "self >= 0",
        message_expression = "self == -1 ? 'replicas is minus one' : 'replicas is negative'"
    ))]
    pub replicas: i32,
    /// The color; blue unless said otherwise.
    #[serde(default)]
    pub color: Color,
    /// A nested struct.
    pub nested: Nested,
    /// An optional string.
    pub maybe: Option<String>,
    /// A list.
    #[serde(default)]
    pub tags: Vec<String>,
    /// A map.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Anything.
    #[serde(default)]
    pub free_form: serde_json::Value,
    /// A quantity.
    pub memory: Quantity,
    /// An int or a string.
    pub port: IntOrString,
    /// A timestamp.
    pub not_before: Option<Time>,
    /// An externally tagged enum with data.
    pub source: Source,
    /// An internally tagged enum.
    pub action: Action,
    /// Flattened fields.
    #[serde(flatten)]
    pub extra: Extra,
    /// A renamed field.
    #[serde(rename = "displayName")]
    pub title: String,
    /// Names, none empty.
    #[serde(default)]
    #[x_kube(validation(rule = "self.all(x, x.size() > 0)", message = "names must not be empty"))]
    #[x_kube(list_type = "set")]
    #[schemars(length(max = 8), inner(length(max = 20)))]
    pub names: Vec<String>,
    /// Items keyed by name.
    #[serde(default)]
    #[x_kube(list_type = "map", list_map_keys = ["name"])]
    pub items: Vec<Item>,
    /// Limits replaced as a whole.
    #[serde(default)]
    #[x_kube(map_type = "atomic")]
    pub limits: BTreeMap<String, i32>,
    /// A pod template.
    pub template: Option<PodTemplateSpec>,
}

fn default_replicas() -> i32 {
    1
}

/// A unit enum.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    /// The default.
    #[default]
    Blue,
    /// Another.
    Red,
}

/// A nested struct.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct Nested {
    /// A nested field.
    pub depth: u32,
    /// Deeper.
    pub inner: Option<Box<Leaf>>,
}

/// A leaf.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct Leaf {
    /// A flag.
    pub flag: bool,
}

/// Externally tagged, with data.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    /// From a URL.
    Http {
        /// The URL.
        url: String,
    },
    /// From git.
    Git {
        /// The repository.
        repo: String,
        /// The revision.
        revision: Option<String>,
    },
}

/// Internally tagged.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(tag = "type")]
pub enum Action {
    /// Wait.
    Wait {
        /// Seconds.
        seconds: u32,
    },
    /// Stop.
    Stop,
}

/// Flattened into the spec.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct Extra {
    /// A flattened field.
    pub owner: String,
}

/// A map-list item.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct Item {
    /// The key.
    pub name: String,
    /// The value.
    pub value: i32,
}

/// The widget's status.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
pub struct WidgetStatus {
    /// Replicas that are ready.
    pub replicas: i32,
    /// The label selector, as a string.
    pub selector: Option<String>,
}

/// A cluster-scoped kind without status.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "derive.kube.test",
    version = "v1",
    kind = "Gadget",
    plural = "gadgetries",
    singular = "gadgetry"
)]
#[kube(crates(kube_core = "kube::core", k8s_openapi = "k8s_openapi", serde = "serde"))]
pub struct GadgetSpec {
    /// A value.
    pub value: String,
    /// A whole Kubernetes object, validated by the server as one.
    #[serde(default)]
    #[x_kube(embedded_resource)]
    pub object: Option<serde_json::Value>,
}

/// Version v1 of `Gizmo`: deprecated, served, not stored.
pub mod v1 {
    use super::*;

    /// The old spec.
    #[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
    #[kube(group = "derive.kube.test", version = "v1", kind = "Gizmo", namespaced, shortname = "gz")]
    #[kube(storage = false, deprecated = "derive.kube.test/v1 Gizmo is deprecated; use v2")]
    pub struct GizmoSpec {
        /// The size.
        pub size: i32,
    }
}

/// Version v2 of `Gizmo`: the storage version.
pub mod v2 {
    use super::*;

    /// The new spec.
    #[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
    #[kube(group = "derive.kube.test", version = "v2", kind = "Gizmo", namespaced, shortname = "gz")]
    pub struct GizmoSpec {
        /// The size.
        pub size: i32,
        /// New in v2.
        pub label: Option<String>,
    }
}

/// A kind without schema: the server keeps whatever it is given.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(group = "derive.kube.test", version = "v1", kind = "Loose", namespaced, schema = "disabled")]
pub struct LooseSpec {
    /// Anything.
    #[serde(flatten)]
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// A kind whose schema is written by hand, as a `JsonSchema` impl of the root type.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(group = "derive.kube.test", version = "v1", kind = "Handmade", namespaced, schema = "manual")]
pub struct HandmadeSpec {
    /// A count.
    pub count: i64,
}

impl JsonSchema for Handmade {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Handmade".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {"count": {"type": "integer", "minimum": 0, "maximum": 9}},
                    "required": ["count"],
                },
            },
        })
    }
}
