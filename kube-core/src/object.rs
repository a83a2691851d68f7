//! Generic objects and lists: `Object<Spec, Status>` (any object with spec and optional status),
//! `ObjectList<T>`, and the `TypeMeta` every object carries.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ListMeta, ObjectMeta};
use serde::{Deserialize, Serialize};

use crate::{ApiResource, Resource};

/// The `apiVersion` and `kind` of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeMeta {
    /// `group/version`, or `version` for the core group.
    pub api_version: String,
    /// The kind.
    pub kind: String,
}

impl TypeMeta {
    /// The type meta of a resource type.
    pub fn resource<K: Resource>(dt: &K::DynamicType) -> Self {
        Self { api_version: K::api_version(dt).into_owned(), kind: K::kind(dt).into_owned() }
    }
}

/// Any object shaped like most of the API: type meta, metadata, a spec and a status that may be
/// absent. Use it for resources you have spec/status types for but no full type, with an
/// [`ApiResource`] as its type information.
///
/// ```
/// use kube_core::Object;
/// #[derive(serde::Deserialize, serde::Serialize, Clone, Debug)]
/// struct Spec { replicas: i32 }
/// let o: Object<Spec, ()> = serde_json::from_value(serde_json::json!({
///     "apiVersion": "example.com/v1", "kind": "Widget",
///     "metadata": {"name": "w"}, "spec": {"replicas": 2}
/// })).unwrap();
/// assert_eq!(o.spec.replicas, 2);
/// assert!(o.status.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Object<Spec, Status> {
    /// `apiVersion` and `kind`; absent on some watch and list items.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub types: Option<TypeMeta>,
    /// The metadata.
    pub metadata: ObjectMeta,
    /// The desired state.
    pub spec: Spec,
    /// The observed state, absent until something writes it.
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

impl<Spec, Status> Object<Spec, Status> {
    /// A new object with the given name and spec, typed by `ar`.
    pub fn new(name: &str, ar: &ApiResource, spec: Spec) -> Self {
        Self {
            types: Some(TypeMeta { api_version: ar.api_version.clone(), kind: ar.kind.clone() }),
            metadata: ObjectMeta { name: Some(name.to_string()), ..Default::default() },
            spec,
            status: None,
        }
    }

    /// Sets the namespace.
    #[must_use]
    pub fn within(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.to_string());
        self
    }
}

crate::api_resource::impl_dynamic_resource!(Object<Spec, Status>, Spec, Status);

/// A list of objects as the API returns it: list metadata (resourceVersion, continue token,
/// remaining item count) and the items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectList<T> {
    /// `apiVersion` and `kind` of the list, such as `v1` / `PodList`.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub types: Option<TypeMeta>,
    /// The list's metadata.
    #[serde(default)]
    pub metadata: ListMeta,
    /// The objects; `null` on the wire reads as empty.
    #[serde(
        default = "Vec::new",
        deserialize_with = "null_as_empty",
        bound(deserialize = "T: Deserialize<'de>", serialize = "T: Serialize")
    )]
    pub items: Vec<T>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

impl<T> ObjectList<T> {
    /// The continue token for the next page, when there is one.
    pub fn continue_token(&self) -> Option<&str> {
        self.metadata.continue_.as_deref().filter(|t| !t.is_empty())
    }

    /// The resourceVersion the list was read at.
    pub fn resource_version(&self) -> Option<&str> {
        self.metadata.resource_version.as_deref().filter(|v| !v.is_empty())
    }

    /// An iterator over the items.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }
}

impl<T> IntoIterator for ObjectList<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a ObjectList<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}
