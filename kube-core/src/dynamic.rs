//! `DynamicObject`: an object of any type, with its body kept as JSON.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use crate::{ApiResource, TypeMeta};

/// A JSON body that could not be read as the requested type.
#[derive(Debug, thiserror::Error)]
#[error("failed to convert {kind} object {name:?} to the requested type: {source}")]
pub struct ParseDynamicObjectError {
    kind: String,
    name: String,
    #[source]
    source: serde_json::Error,
}

/// An object of any resource type: type meta and metadata parsed, everything else kept as JSON.
///
/// ```
/// use kube_core::DynamicObject;
/// let o: DynamicObject = serde_json::from_value(serde_json::json!({
///     "apiVersion": "v1", "kind": "ConfigMap",
///     "metadata": {"name": "c", "namespace": "n"}, "data": {"k": "v"}
/// })).unwrap();
/// assert_eq!(o.data["data"]["k"], "v");
/// let cm: k8s_openapi::api::core::v1::ConfigMap = o.try_parse().unwrap();
/// assert_eq!(cm.data.unwrap()["k"], "v");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DynamicObject {
    /// `apiVersion` and `kind`, when present.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub types: Option<TypeMeta>,
    /// The metadata.
    pub metadata: ObjectMeta,
    /// Every other top-level field (`spec`, `status`, `data`, ...).
    #[serde(flatten)]
    pub data: serde_json::Value,
}

impl DynamicObject {
    /// A new object with the given name, typed by `ar`, with no other fields.
    pub fn new(name: &str, ar: &ApiResource) -> Self {
        Self {
            types: Some(TypeMeta { api_version: ar.api_version.clone(), kind: ar.kind.clone() }),
            metadata: ObjectMeta { name: Some(name.to_string()), ..Default::default() },
            data: serde_json::Value::Object(Default::default()),
        }
    }

    /// Sets the namespace.
    #[must_use]
    pub fn within(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.to_string());
        self
    }

    /// Sets the other fields (must be a JSON object to serialize as one).
    #[must_use]
    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }

    /// Converts to a typed object.
    pub fn try_parse<K: serde::de::DeserializeOwned>(self) -> Result<K, ParseDynamicObjectError> {
        let kind = self.types.as_ref().map(|t| t.kind.clone()).unwrap_or_default();
        let name = self.metadata.name.clone().unwrap_or_default();
        serde_json::to_value(self)
            .and_then(serde_json::from_value)
            .map_err(|source| ParseDynamicObjectError { kind, name, source })
    }
}

crate::api_resource::impl_dynamic_resource!(DynamicObject);
