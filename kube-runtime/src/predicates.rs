//! Predicates: skip reconciles for changes that do not matter (a status update, a new
//! resourceVersion with the same spec, ...).
//!
//! A [`Predicate`] fingerprints what it looks at; a change passes when that fingerprint differs
//! from the last one seen for the object. Objects seen for the first time and deletions always
//! pass. Combine with [`Predicate::and`] (both parts changed) and [`Predicate::or`] (either).
//!
//! ```
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use kube_runtime::predicates;
//!
//! // Spec changes (the generation) or label changes.
//! let p = predicates::generation::<ConfigMap>().or(predicates::labels());
//! ```

use std::{
    collections::hash_map::DefaultHasher,
    hash::{Hash, Hasher},
    sync::Arc,
};

use ahash::AHashMap;
use kube_core::Resource;

use crate::reflector::ObjectRef;

type Fingerprint<K> = Arc<dyn Fn(&K) -> Option<u64> + Send + Sync>;

enum Node<K> {
    Leaf(Fingerprint<K>),
    And(Box<Node<K>>, Box<Node<K>>),
    Or(Box<Node<K>>, Box<Node<K>>),
}

impl<K> Clone for Node<K> {
    fn clone(&self) -> Self {
        match self {
            Self::Leaf(f) => Self::Leaf(f.clone()),
            Self::And(a, b) => Self::And(a.clone(), b.clone()),
            Self::Or(a, b) => Self::Or(a.clone(), b.clone()),
        }
    }
}

impl<K> Node<K> {
    fn fingerprints(&self, obj: &K, out: &mut Vec<Option<u64>>) {
        match self {
            Self::Leaf(f) => out.push(f(obj)),
            Self::And(a, b) | Self::Or(a, b) => {
                a.fingerprints(obj, out);
                b.fingerprints(obj, out);
            }
        }
    }

    /// Whether the change from `old` to `new` (fingerprints in leaf order) passes; advances
    /// `at` past this node's leaves.
    fn changed(&self, old: &[Option<u64>], new: &[Option<u64>], at: &mut usize) -> bool {
        match self {
            Self::Leaf(_) => {
                let i = *at;
                *at += 1;
                old.get(i) != new.get(i)
            }
            Self::And(a, b) => {
                let x = a.changed(old, new, at);
                let y = b.changed(old, new, at);
                x && y
            }
            Self::Or(a, b) => {
                let x = a.changed(old, new, at);
                let y = b.changed(old, new, at);
                x || y
            }
        }
    }
}

/// Decides whether a change of an object is worth a reconcile; see the [module docs](self).
pub struct Predicate<K> {
    node: Node<K>,
}

impl<K> Clone for Predicate<K> {
    fn clone(&self) -> Self {
        Self { node: self.node.clone() }
    }
}

impl<K> std::fmt::Debug for Predicate<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Predicate")
    }
}

impl<K> Predicate<K> {
    /// A predicate on a fingerprint of the object: a change passes when it differs.
    pub fn from_fn(f: impl Fn(&K) -> Option<u64> + Send + Sync + 'static) -> Self {
        Self { node: Node::Leaf(Arc::new(f)) }
    }

    /// Passes when both `self` and `other` pass.
    #[must_use]
    pub fn and(self, other: Predicate<K>) -> Self {
        Self { node: Node::And(Box::new(self.node), Box::new(other.node)) }
    }

    /// Passes when `self` or `other` passes.
    #[must_use]
    pub fn or(self, other: Predicate<K>) -> Self {
        Self { node: Node::Or(Box::new(self.node), Box::new(other.node)) }
    }

    fn fingerprints(&self, obj: &K) -> Vec<Option<u64>> {
        let mut out = Vec::new();
        self.node.fingerprints(obj, &mut out);
        out
    }
}

/// A predicate with the fingerprints it last saw per object: what a controller input keeps.
pub struct Filter<K> {
    predicate: Predicate<K>,
    seen: AHashMap<ObjectRef, Vec<Option<u64>>>,
}

impl<K> std::fmt::Debug for Filter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter").field("objects", &self.seen.len()).finish()
    }
}

impl<K> Filter<K> {
    /// A filter that has seen nothing yet.
    pub fn new(predicate: Predicate<K>) -> Self {
        Self { predicate, seen: AHashMap::new() }
    }

    /// Whether the current state `obj` of `key` passes, remembering it.
    pub fn passes(&mut self, key: &ObjectRef, obj: &K) -> bool {
        let new = self.predicate.fingerprints(obj);
        match self.seen.get_mut(key) {
            None => {
                self.seen.insert(key.clone(), new);
                true
            }
            Some(old) => {
                let changed = self.predicate.node.changed(old, &new, &mut 0);
                *old = new;
                changed
            }
        }
    }

    /// `key` was deleted: it passes, and is forgotten.
    pub fn deleted(&mut self, key: &ObjectRef) -> bool {
        self.seen.remove(key);
        true
    }
}

fn hash_of(value: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// `metadata.generation` changed: the spec changed (for resources with a status subresource,
/// status updates do not pass). Objects without a generation always pass.
pub fn generation<K: Resource>() -> Predicate<K> {
    Predicate::from_fn(|o: &K| match o.meta().generation {
        Some(g) => Some(g as u64),
        // No generation: fingerprint the resourceVersion so every change passes.
        None => o.meta().resource_version.as_ref().map(hash_of),
    })
}

/// The labels changed.
pub fn labels<K: Resource>() -> Predicate<K> {
    Predicate::from_fn(|o: &K| Some(hash_of(&o.meta().labels)))
}

/// The annotations changed.
pub fn annotations<K: Resource>() -> Predicate<K> {
    Predicate::from_fn(|o: &K| Some(hash_of(&o.meta().annotations)))
}

/// The resourceVersion changed: anything changed (drops relist repeats of unchanged objects).
pub fn resource_version<K: Resource>() -> Predicate<K> {
    Predicate::from_fn(|o: &K| o.meta().resource_version.as_ref().map(hash_of))
}

/// The finalizers changed.
pub fn finalizers<K: Resource>() -> Predicate<K> {
    Predicate::from_fn(|o: &K| Some(hash_of(&o.meta().finalizers)))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;

    fn cm(generation: i64, label: &str, annotation: &str) -> ConfigMap {
        serde_json::from_value(serde_json::json!({"metadata": {
            "name": "a", "generation": generation, "labels": {"l": label}, "annotations": {"a": annotation},
        }}))
        .unwrap_or_default()
    }

    fn run(p: Predicate<ConfigMap>, states: &[ConfigMap]) -> Vec<bool> {
        let mut f = Filter::new(p);
        let key = ObjectRef::new("a");
        states.iter().map(|s| f.passes(&key, s)).collect()
    }

    #[test]
    fn leaves_pass_on_their_own_field_only() {
        let states = [cm(1, "x", "x"), cm(1, "x", "x"), cm(2, "x", "x"), cm(2, "y", "x"), cm(2, "y", "y")];
        assert_eq!(run(generation(), &states), [true, false, true, false, false]);
        assert_eq!(run(labels(), &states), [true, false, false, true, false]);
        assert_eq!(run(annotations(), &states), [true, false, false, false, true]);
    }

    #[test]
    fn and_needs_both_or_needs_either() {
        let states = [cm(1, "x", "x"), cm(2, "x", "x"), cm(3, "y", "x"), cm(3, "z", "x")];
        assert_eq!(run(generation().and(labels()), &states), [true, false, true, false]);
        assert_eq!(run(generation().or(labels()), &states), [true, true, true, true]);
        assert_eq!(run(generation().or(annotations()), &states), [true, true, true, false]);
    }

    #[test]
    fn a_deleted_object_passes_and_starts_over() {
        let mut f = Filter::new(generation());
        let key = ObjectRef::new("a");
        assert!(f.passes(&key, &cm(1, "x", "x")));
        assert!(f.deleted(&key));
        assert!(f.passes(&key, &cm(1, "x", "x")), "a re-created object is new");
    }
}
