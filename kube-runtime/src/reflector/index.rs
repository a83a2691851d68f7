//! Indexes of a store: a function maps each object to keys, and lookups by key return the
//! objects without scanning the store.

use std::{collections::HashMap, sync::Arc};

use ahash::{AHashMap, AHashSet};
use kube_core::{Resource, ResourceExt};

use super::ObjectRef;

/// Computes the index keys of an object.
pub type IndexFn<K> = Arc<dyn Fn(&K) -> Vec<String> + Send + Sync>;

/// The name of the built-in index by namespace.
pub const BY_NAMESPACE: &str = "namespace";
/// The name of the built-in index by label: keys are `key=value` for every label.
pub const BY_LABEL: &str = "label";

/// The keys of the namespace index.
pub fn namespace_keys<K: Resource>(obj: &K) -> Vec<String> {
    obj.meta().namespace.iter().cloned().collect()
}

/// The keys of the label index.
pub fn label_keys<K: Resource>(obj: &K) -> Vec<String> {
    obj.labels().iter().map(|(k, v)| format!("{k}={v}")).collect()
}

pub(crate) struct Index<K> {
    func: IndexFn<K>,
    entries: AHashMap<String, AHashSet<ObjectRef>>,
}

impl<K> Index<K> {
    pub(crate) fn new(func: IndexFn<K>) -> Self {
        Self { func, entries: AHashMap::new() }
    }

    pub(crate) fn keys_of(&self, obj: &K) -> Vec<String> {
        (self.func)(obj)
    }

    pub(crate) fn insert(&mut self, key_ref: &ObjectRef, obj: &K) {
        for key in self.keys_of(obj) {
            self.entries.entry(key).or_default().insert(key_ref.clone());
        }
    }

    pub(crate) fn remove(&mut self, key_ref: &ObjectRef, obj: &K) {
        for key in self.keys_of(obj) {
            if let Some(set) = self.entries.get_mut(&key) {
                set.remove(key_ref);
                if set.is_empty() {
                    self.entries.remove(&key);
                }
            }
        }
    }

    pub(crate) fn rebuild<'a>(&mut self, objects: impl Iterator<Item = (&'a ObjectRef, &'a Arc<K>)>)
    where
        K: 'a,
    {
        self.entries.clear();
        for (r, o) in objects {
            self.insert(r, o);
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&AHashSet<ObjectRef>> {
        self.entries.get(key)
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.keys()
    }
}

pub(crate) type Indexes<K> = HashMap<String, Index<K>>;
