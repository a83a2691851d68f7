//! The cache state the store, its writer and its subscriptions share: the objects (compact or
//! decoded) and their index keys.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use ahash::AHashMap;
use kube_client::client::decode::DecodeOptions;
use serde::de::DeserializeOwned;

use super::{ObjectRef, index::Indexes};

/// How an object is kept; cheap to clone (an `Arc` either way), so readers copy it out of the
/// lock and decode outside it.
pub(crate) enum Stored<K> {
    Decoded(Arc<K>),
    Compact(Arc<[u8]>),
}

impl<K> Clone for Stored<K> {
    fn clone(&self) -> Self {
        match self {
            Self::Decoded(o) => Self::Decoded(o.clone()),
            Self::Compact(b) => Self::Compact(b.clone()),
        }
    }
}

impl<K: DeserializeOwned> Stored<K> {
    /// The object, decoded if kept compact.
    pub(crate) fn decode(&self) -> Option<Arc<K>> {
        match self {
            Self::Decoded(o) => Some(o.clone()),
            Self::Compact(bytes) => decode(bytes),
        }
    }
}

/// One cached object: its value, resourceVersion and index keys (kept so that updates and
/// deletes never need to decode the old value).
pub(crate) struct Entry<K> {
    pub(crate) value: Stored<K>,
    pub(crate) resource_version: Option<Box<str>>,
    pub(crate) keys: Box<[Vec<String>]>,
}

/// Decodes a compact object with the client's one decoder (the bytes were written by this
/// store, so this fails only if the type's serde round trip is broken).
fn decode<K: DeserializeOwned>(bytes: &[u8]) -> Option<Arc<K>> {
    match kube_client::client::decode::decode(bytes, "(reflector store)", DecodeOptions::default()) {
        Ok(o) => Some(Arc::new(o)),
        Err(e) => {
            tracing::error!(error = %e, "a cached object does not decode");
            None
        }
    }
}

/// The objects and their indexes, behind the store's lock.
pub(crate) struct Inner<K> {
    pub(crate) objects: AHashMap<ObjectRef, Entry<K>>,
    pub(crate) indexes: Indexes<K>,
}

/// The objects one store's handles share, behind a lock.
pub(crate) struct Shared<K> {
    state: RwLock<Inner<K>>,
}

impl<K> Shared<K> {
    pub(crate) fn new(indexes: Indexes<K>) -> Self {
        Self { state: RwLock::new(Inner { objects: AHashMap::new(), indexes }) }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Inner<K>> {
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Inner<K>> {
        self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A copy of the stored value at `key`, taken under the lock, to decode outside it.
    pub(crate) fn value(&self, key: &ObjectRef) -> Option<Stored<K>> {
        self.read().objects.get(key).map(|e| e.value.clone())
    }
}
