//! Indexes of a store: a function maps each object to keys, and lookups by key return the
//! objects without scanning the store.

use std::sync::Arc;

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

/// The indexes of one store: their functions and, per index, key -> objects.
pub(crate) struct Indexes<K> {
    names: Vec<String>,
    funcs: Vec<IndexFn<K>>,
    maps: Vec<AHashMap<String, AHashSet<ObjectRef>>>,
}

impl<K> Indexes<K> {
    pub(crate) fn new(defs: Vec<(String, IndexFn<K>)>) -> Self {
        let maps = defs.iter().map(|_| AHashMap::new()).collect();
        let (names, funcs) = defs.into_iter().unzip();
        Self { names, funcs, maps }
    }

    /// The keys of `obj` in every index, in index order.
    pub(crate) fn keys_of(&self, obj: &K) -> Box<[Vec<String>]> {
        self.funcs.iter().map(|f| f(obj)).collect()
    }

    pub(crate) fn insert(&mut self, key_ref: &ObjectRef, keys: &[Vec<String>]) {
        for (map, keys) in self.maps.iter_mut().zip(keys) {
            for key in keys {
                map.entry(key.clone()).or_default().insert(key_ref.clone());
            }
        }
    }

    pub(crate) fn remove(&mut self, key_ref: &ObjectRef, keys: &[Vec<String>]) {
        for (map, keys) in self.maps.iter_mut().zip(keys) {
            for key in keys {
                if let Some(set) = map.get_mut(key) {
                    set.remove(key_ref);
                    if set.is_empty() {
                        map.remove(key);
                    }
                }
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.maps.iter_mut().for_each(|m| m.clear());
    }

    fn position(&self, index: &str) -> Option<usize> {
        self.names.iter().position(|n| n == index)
    }

    /// The objects under `key` in index `index` (empty when none); `None` when there is no
    /// such index.
    pub(crate) fn get(&self, index: &str, key: &str) -> Option<&AHashSet<ObjectRef>> {
        static EMPTY: std::sync::OnceLock<AHashSet<ObjectRef>> = std::sync::OnceLock::new();
        let map = self.maps.get(self.position(index)?)?;
        Some(map.get(key).unwrap_or_else(|| EMPTY.get_or_init(AHashSet::default)))
    }

    /// Every key of index `index` (with an object); `None` when there is no such index.
    pub(crate) fn keys(&self, index: &str) -> Option<Vec<String>> {
        Some(self.maps.get(self.position(index)?)?.keys().cloned().collect())
    }
}
