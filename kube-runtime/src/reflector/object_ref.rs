//! `ObjectRef`: the key of an object in a store (namespace and name).

use std::fmt;

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
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}
