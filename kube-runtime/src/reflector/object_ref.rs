//! `ObjectRef`: the key of an object in a store (namespace and name).

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube_core::Resource;

/// Names an object within one resource type: its namespace (none for cluster-scoped objects)
/// and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// The namespace, for namespaced objects.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ObjectRef {
    /// A reference to `name` in `namespace`.
    pub fn new(name: &str) -> Self {
        Self { namespace: None, name: name.to_string() }
    }

    /// Sets the namespace.
    #[must_use]
    pub fn within(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_string());
        self
    }

    /// The reference of an object.
    pub fn from_obj<K: Resource>(obj: &K) -> Self {
        let meta = obj.meta();
        Self { namespace: meta.namespace.clone(), name: meta.name.clone().unwrap_or_default() }
    }

    /// The reference of the owner an [`OwnerReference`] names. Owners live in their dependent's
    /// namespace (or are cluster-scoped), so pass the dependent's namespace for a namespaced
    /// owner and `None` for a cluster-scoped one.
    pub fn from_owner_ref(owner: &OwnerReference, namespace: Option<&str>) -> Self {
        Self { namespace: namespace.map(str::to_string), name: owner.name.clone() }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_reference_names_its_owner_in_the_dependents_namespace() {
        let owner = OwnerReference {
            api_version: "example.com/v1".into(),
            kind: "Widget".into(),
            name: "w1".into(),
            uid: "u1".into(),
            controller: Some(true),
            block_owner_deletion: None,
        };
        assert_eq!(ObjectRef::from_owner_ref(&owner, Some("ns")), ObjectRef::new("w1").within("ns"));
        assert_eq!(ObjectRef::from_owner_ref(&owner, None).to_string(), "w1");
    }
}
