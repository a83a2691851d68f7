//! The cache: a [`Store`] to read (shared `Arc` snapshots, lookups, indexes, readiness) and the
//! one [`Writer`] that applies watcher events to it.
//!
//! By default objects are kept compact, as the JSON they serialize to, and decoded when read: a
//! cached Pod takes about a fifth of the memory of the decoded struct, which matters because a
//! cache is usually most of a controller's memory. [`StoreBuilder::decoded`] keeps decoded
//! objects instead, for programs that read the whole store very often.

use std::sync::Arc;

use ahash::AHashMap;
use kube_core::Resource;
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::watch;

use super::{
    ObjectRef,
    cache::{Entry, Inner, Shared, Stored},
    changes::{Change, Subscribers},
    index::{BY_LABEL, BY_NAMESPACE, IndexFn, Indexes, label_keys, namespace_keys},
    subscribe::{KeySubscription, Subscription},
};
use crate::watcher::Event;

/// A transform applied to every object before it is stored.
pub type Transform<K> = Arc<dyn Fn(K) -> K + Send + Sync>;

/// The store was dropped before it became ready: its writer is gone.
#[derive(Debug, thiserror::Error)]
#[error("the store's writer was dropped before the store became ready")]
pub struct WriterDropped;

/// A lookup named an index the store was not built with (see [`StoreBuilder::index`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the store has no index named {0:?}")]
pub struct UnknownIndex(pub String);

/// A read handle on the cache; cheap to clone, every clone sees the same data.
pub struct Store<K> {
    shared: Arc<Shared<K>>,
    subscribers: Arc<Subscribers<K>>,
    ready: watch::Receiver<bool>,
}

impl<K> Clone for Store<K> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone(), subscribers: self.subscribers.clone(), ready: self.ready.clone() }
    }
}

impl<K> std::fmt::Debug for Store<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("len", &self.shared.read().objects.len()).finish()
    }
}

/// What a cached object type needs.
pub trait Cacheable: Resource + Clone + Serialize + DeserializeOwned + Send + Sync + 'static {}
impl<K: Resource + Clone + Serialize + DeserializeOwned + Send + Sync + 'static> Cacheable for K {}

impl<K: Cacheable> Store<K> {
    /// The object at `key`, if stored.
    pub fn get(&self, key: &ObjectRef) -> Option<Arc<K>> {
        self.shared.value(key).and_then(|v| v.decode())
    }

    /// Every stored object.
    pub fn state(&self) -> Vec<Arc<K>> {
        let values: Vec<Stored<K>> = self.shared.read().objects.values().map(|e| e.value.clone()).collect();
        values.iter().filter_map(Stored::decode).collect()
    }

    /// The keys of every stored object (cheap: nothing is decoded).
    pub fn keys(&self) -> Vec<ObjectRef> {
        self.shared.read().objects.keys().cloned().collect()
    }

    /// How many objects are stored.
    pub fn len(&self) -> usize {
        self.shared.read().objects.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the first full listing has been stored.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Waits until the first full listing has been stored.
    ///
    /// Cancel-safe. Fails only when the writer is dropped before that.
    pub async fn wait_until_ready(&self) -> Result<(), WriterDropped> {
        let mut ready = self.ready.clone();
        ready.wait_for(|r| *r).await.map(|_| ()).map_err(|_| WriterDropped)
    }

    /// The objects whose index `index` has `key`, without scanning the store.
    ///
    /// An index name the store was not built with is an error rather than an empty answer: a
    /// misspelt name would otherwise look like "no objects" and go unnoticed.
    pub fn by_index(&self, index: &str, key: &str) -> Result<Vec<Arc<K>>, UnknownIndex> {
        let values: Vec<Stored<K>> = {
            let inner = self.shared.read();
            let refs = inner.indexes.get(index, key).ok_or_else(|| UnknownIndex(index.to_string()))?;
            refs.iter().filter_map(|r| inner.objects.get(r).map(|e| e.value.clone())).collect()
        };
        Ok(values.iter().filter_map(Stored::decode).collect())
    }

    /// The keys an index currently has.
    pub fn index_keys(&self, index: &str) -> Result<Vec<String>, UnknownIndex> {
        self.shared.read().indexes.keys(index).ok_or_else(|| UnknownIndex(index.to_string()))
    }

    /// A built-in index lookup (those always exist).
    fn by_builtin(&self, index: &str, key: &str) -> Vec<Arc<K>> {
        self.by_index(index, key).unwrap_or_default()
    }

    /// The objects in `namespace` (the built-in namespace index).
    pub fn by_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        self.by_builtin(BY_NAMESPACE, namespace)
    }

    /// The objects labelled `key=value` (the built-in label index).
    pub fn by_label(&self, key: &str, value: &str) -> Vec<Arc<K>> {
        self.by_builtin(BY_LABEL, &format!("{key}={value}"))
    }

    /// Every object that matches `selector` (using the label index for its first equality term).
    pub fn by_selector(&self, selector: &kube_core::selector::LabelSelector) -> Vec<Arc<K>> {
        let empty = Default::default();
        let matches = |o: &Arc<K>| selector.matches(o.meta().labels.as_ref().unwrap_or(&empty));
        let first_eq = selector.iter().find_map(|r| match r.operator() {
            kube_core::selector::Operator::Equal(v) => Some(format!("{}={v}", r.key())),
            _ => None,
        });
        match first_eq {
            Some(key) => self.by_builtin(BY_LABEL, &key).into_iter().filter(matches).collect(),
            None => self.state().into_iter().filter(matches).collect(),
        }
    }

    /// Subscribes to changes. The subscription first yields every stored object, then each
    /// change; changes to one object that the subscriber has not consumed yet are merged, so a
    /// slow subscriber never holds up others nor loses the latest state.
    pub fn subscribe(&self) -> Subscription<K> {
        Subscription::new(self.add_subscriber(), self.shared.clone())
    }

    /// Subscribes to the keys of changed objects, for work queues: nothing is decoded. The
    /// subscription first yields every stored key (marked `resync`), then each change, merged
    /// per key like [`Store::subscribe`]; changes from a relist that replaced the store are
    /// marked `resync` too, so a queue can serve live changes first.
    pub fn subscribe_keys(&self) -> KeySubscription<K> {
        KeySubscription::new(self.add_subscriber())
    }

    fn add_subscriber(&self) -> Arc<super::changes::Slot<K>> {
        // Under the read lock, so that no change falls between the snapshot and the registration.
        let inner = self.shared.read();
        let current: Vec<ObjectRef> = inner.objects.keys().cloned().collect();
        let slot = self.subscribers.add(current);
        drop(inner);
        slot
    }
}

/// Builds a store: compact, with the namespace and label indexes.
///
/// To keep `managedFields` out of the cache, cut them where they are cheapest to drop: while
/// decoding, with [`watcher::Config::drop_managed_fields`](crate::watcher::Config::drop_managed_fields).
pub struct StoreBuilder<K> {
    transform: Option<Transform<K>>,
    indexes: Vec<(String, IndexFn<K>)>,
    compact: bool,
}

impl<K: Cacheable> Default for StoreBuilder<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Cacheable> StoreBuilder<K> {
    /// The default: compact objects, namespace and label indexes, no transform.
    pub fn new() -> Self {
        let by_ns: IndexFn<K> = Arc::new(namespace_keys::<K>);
        let by_label: IndexFn<K> = Arc::new(label_keys::<K>);
        Self {
            transform: None,
            indexes: vec![(BY_NAMESPACE.to_string(), by_ns), (BY_LABEL.to_string(), by_label)],
            compact: true,
        }
    }

    /// Keeps decoded objects: reads are free, memory is about five times higher.
    #[must_use]
    pub fn decoded(mut self) -> Self {
        self.compact = false;
        self
    }

    /// Transforms every object before it is stored: drop what the controller never reads to
    /// save memory.
    #[must_use]
    pub fn transform(mut self, f: impl Fn(K) -> K + Send + Sync + 'static) -> Self {
        self.transform = Some(Arc::new(f));
        self
    }

    /// Adds an index named `name`.
    #[must_use]
    pub fn index(mut self, name: &str, f: impl Fn(&K) -> Vec<String> + Send + Sync + 'static) -> Self {
        self.indexes.push((name.to_string(), Arc::new(f)));
        self
    }

    /// The store and its writer.
    pub fn build(self) -> (Store<K>, Writer<K>) {
        let shared = Arc::new(Shared::new(Indexes::new(self.indexes)));
        let subscribers = Arc::new(Subscribers::default());
        let (ready_tx, ready) = watch::channel(false);
        let store = Store { shared: shared.clone(), subscribers: subscribers.clone(), ready };
        (
            store,
            Writer {
                shared,
                subscribers,
                ready: ready_tx,
                buffer: None,
                transform: self.transform,
                compact: self.compact,
            },
        )
    }
}

/// A store with the defaults of [`StoreBuilder::new`].
pub fn store<K: Cacheable>() -> (Store<K>, Writer<K>) {
    StoreBuilder::new().build()
}

impl<K> Drop for Writer<K> {
    fn drop(&mut self) {
        self.subscribers.close();
    }
}

/// Applies watcher events to its store. There is one writer per store.
pub struct Writer<K> {
    shared: Arc<Shared<K>>,
    subscribers: Arc<Subscribers<K>>,
    ready: watch::Sender<bool>,
    /// The objects of a relist in progress, swapped in whole when it completes.
    buffer: Option<AHashMap<ObjectRef, Entry<K>>>,
    transform: Option<Transform<K>>,
    compact: bool,
}

impl<K: Cacheable> Writer<K> {
    /// Runs the transform; the reflector does this before passing events on, so consumers and
    /// the store see the same (lighter) objects.
    pub fn transform(&self, obj: K) -> K {
        match &self.transform {
            Some(t) => t(obj),
            None => obj,
        }
    }

    fn entry(&self, obj: &K, keys: Box<[Vec<String>]>) -> Entry<K> {
        let resource_version = obj.meta().resource_version.as_deref().map(Box::from);
        let value = if self.compact {
            match serde_json::to_vec(obj) {
                Ok(bytes) => Stored::Compact(Arc::from(bytes)),
                Err(_) => Stored::Decoded(Arc::new(obj.clone())),
            }
        } else {
            Stored::Decoded(Arc::new(obj.clone()))
        };
        Entry { value, resource_version, keys }
    }

    /// Applies one event whose object already went through [`Writer::transform`].
    pub fn apply(&mut self, event: &Event<K>) {
        match event {
            Event::Init => self.buffer = Some(AHashMap::new()),
            Event::InitApply(obj) => {
                let keys = self.shared.read().indexes.keys_of(obj);
                let entry = self.entry(obj, keys);
                self.buffer.get_or_insert_with(AHashMap::new).insert(ObjectRef::from_obj(obj), entry);
            }
            Event::InitDelete(obj) => {
                if let Some(buffer) = self.buffer.as_mut() {
                    buffer.remove(&ObjectRef::from_obj(obj));
                }
            }
            Event::InitDone => {
                let fresh = self.buffer.take().unwrap_or_default();
                self.replace_all(fresh);
                self.ready.send_replace(true);
            }
            Event::Apply(obj) => {
                let key = ObjectRef::from_obj(obj);
                let keys = self.shared.read().indexes.keys_of(obj);
                let entry = self.entry(obj, keys);
                let mut inner = self.shared.write();
                if let Some(old) = inner.objects.remove(&key) {
                    inner.indexes.remove(&key, &old.keys);
                }
                inner.indexes.insert(&key, &entry.keys);
                inner.objects.insert(key.clone(), entry);
                drop(inner);
                self.subscribers.notify(&key, Change::Applied, false);
            }
            Event::Delete(obj) => {
                let key = ObjectRef::from_obj(obj);
                let mut inner = self.shared.write();
                if let Some(old) = inner.objects.remove(&key) {
                    inner.indexes.remove(&key, &old.keys);
                }
                drop(inner);
                if self.subscribers.any() {
                    let last = Stored::Decoded(Arc::new(obj.clone()));
                    self.subscribers.notify(&key, Change::Deleted(last), false);
                }
            }
        }
    }

    /// Replaces the whole state after a (re)list: objects that disappeared while the watch was
    /// down are removed, and subscribers hear of every change.
    fn replace_all(&mut self, fresh: AHashMap<ObjectRef, Entry<K>>) {
        let mut inner = self.shared.write();
        let old = std::mem::replace(&mut inner.objects, fresh);
        let Inner { objects, indexes } = &mut *inner;
        indexes.clear();
        for (key, entry) in objects.iter() {
            indexes.insert(key, &entry.keys);
        }
        if !self.subscribers.any() {
            return;
        }
        let mut changes = Vec::new();
        for (key, entry) in objects.iter() {
            if old.get(key).is_none_or(|o| o.resource_version != entry.resource_version) {
                changes.push((key.clone(), Change::Applied));
            }
        }
        for (key, entry) in old {
            if !objects.contains_key(&key) {
                changes.push((key, Change::Deleted(entry.value)));
            }
        }
        drop(inner);
        for (key, change) in changes {
            self.subscribers.notify(&key, change, true);
        }
    }

    /// A read handle on this writer's store.
    pub fn as_reader(&self) -> Store<K> {
        Store {
            shared: self.shared.clone(),
            subscribers: self.subscribers.clone(),
            ready: self.ready.subscribe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::{StreamExt, executor::block_on};
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube_core::ResourceExt;

    use super::*;
    use crate::reflector::Changed;

    fn cm(name: &str, rv: u32, team: &str) -> ConfigMap {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": rv.to_string(), "labels": {"team": team},
                         "managedFields": [{"manager": "m"}]},
            "data": {"rv": rv.to_string()}
        }))
        .unwrap()
    }

    fn apply(w: &mut Writer<ConfigMap>, ev: Event<ConfigMap>) {
        let ev = ev.map(|o| w.transform(o));
        w.apply(&ev);
    }

    fn names(mut objs: Vec<Arc<ConfigMap>>) -> Vec<String> {
        objs.sort_by_key(|o| o.name_any());
        objs.iter().map(|o| o.name_any()).collect()
    }

    fn relist(w: &mut Writer<ConfigMap>, objs: Vec<ConfigMap>) {
        apply(w, Event::Init);
        for o in objs {
            apply(w, Event::InitApply(o));
        }
        apply(w, Event::InitDone);
    }

    #[test]
    fn a_relist_replaces_the_whole_state_atomically() {
        for builder in [StoreBuilder::new(), StoreBuilder::new().decoded()] {
            let (store, mut w) = builder.build();
            assert!(!store.is_ready());
            relist(&mut w, vec![cm("a", 1, "red"), cm("b", 2, "red")]);
            assert!(store.is_ready());
            apply(&mut w, Event::Init);
            apply(&mut w, Event::InitApply(cm("b", 3, "blue")));
            // Until the relist is done, readers see the old state.
            assert_eq!(names(store.state()), ["a", "b"]);
            apply(&mut w, Event::InitApply(cm("c", 4, "blue")));
            apply(&mut w, Event::InitDone);
            assert_eq!(names(store.state()), ["b", "c"], "a disappeared while the watch was down");
            assert_eq!(names(store.by_label("team", "blue")), ["b", "c"]);
            assert!(store.by_label("team", "red").is_empty());
            let b = store.get(&ObjectRef::new("b").within("ns")).unwrap();
            assert_eq!(b.data.as_ref().unwrap()["rv"], "3");
            assert!(
                b.metadata.managed_fields.is_some(),
                "the store keeps what it was given: cutting is the decoder's job"
            );
        }
    }

    #[test]
    fn indexes_follow_updates_and_deletes() {
        let (store, mut w) = StoreBuilder::new()
            .index("rv-parity", |o: &ConfigMap| {
                let rv: u32 = o.resource_version().and_then(|v| v.parse().ok()).unwrap_or(0);
                vec![if rv % 2 == 0 { "even" } else { "odd" }.to_string()]
            })
            .build();
        relist(&mut w, vec![cm("a", 1, "red")]);
        apply(&mut w, Event::Apply(cm("b", 2, "red")));
        assert_eq!(names(store.by_index("rv-parity", "odd").unwrap()), ["a"]);
        assert_eq!(names(store.by_index("rv-parity", "even").unwrap()), ["b"]);
        apply(&mut w, Event::Apply(cm("a", 3, "blue")));
        assert_eq!(names(store.by_label("team", "red")), ["b"]);
        assert_eq!(names(store.by_label("team", "blue")), ["a"]);
        apply(&mut w, Event::Delete(cm("b", 4, "red")));
        assert!(store.by_label("team", "red").is_empty());
        assert!(store.by_index("rv-parity", "even").unwrap().is_empty());
        assert_eq!(store.index_keys(BY_LABEL).unwrap(), ["team=blue"]);
        assert_eq!(store.by_index("rv-parrity", "odd").unwrap_err(), UnknownIndex("rv-parrity".into()));
        assert!(store.index_keys("nope").is_err());
        assert_eq!(names(store.by_namespace("ns")), ["a"]);
        let sel: kube_core::selector::LabelSelector = "team in (blue,green)".parse().unwrap();
        assert_eq!(names(store.by_selector(&sel)), ["a"]);
    }

    #[test]
    fn subscribers_get_the_state_then_merged_changes() {
        let (store, mut w) = store::<ConfigMap>();
        relist(&mut w, vec![cm("a", 1, "red"), cm("b", 2, "red")]);
        let mut sub = store.subscribe();
        // Three changes to "a" before the subscriber reads: it sees the last state once.
        apply(&mut w, Event::Apply(cm("a", 3, "red")));
        apply(&mut w, Event::Apply(cm("a", 4, "red")));
        apply(&mut w, Event::Apply(cm("c", 5, "red")));
        apply(&mut w, Event::Delete(cm("b", 6, "red")));
        drop(w);
        let seen: Vec<String> = block_on(async {
            let mut out = Vec::new();
            while let Some(change) = sub.next().await {
                out.push(match change {
                    Changed::Applied(o) => {
                        format!("applied {} {}", o.name_any(), o.resource_version().unwrap())
                    }
                    Changed::Deleted(o) => format!("deleted {}", o.name_any()),
                });
            }
            out
        });
        // The initial state comes in no particular order; each object once, at its latest.
        let mut seen = seen;
        seen.sort();
        assert_eq!(seen, ["applied a 4", "applied c 5", "deleted b"]);
    }

    fn drain_keys(sub: &mut KeySubscription<ConfigMap>) -> Vec<(String, bool, bool)> {
        let mut out: Vec<_> = block_on(async {
            let mut out = Vec::new();
            while let Some(c) = sub.next().await {
                out.push((c.key.name, c.deleted, c.resync));
            }
            out
        });
        out.sort();
        out
    }

    #[test]
    fn key_subscribers_tell_resync_changes_from_live_ones() {
        let (store, mut w) = store::<ConfigMap>();
        relist(&mut w, vec![cm("a", 1, "red"), cm("b", 2, "red"), cm("c", 3, "red")]);
        let mut sub = store.subscribe_keys();
        // "a": initial state, then a live change: live wins. "b": initial state only.
        apply(&mut w, Event::Apply(cm("a", 4, "red")));
        apply(&mut w, Event::Apply(cm("e", 5, "red")));
        // Subscribed after the live changes: all it knows of them is its initial state.
        let mut late = store.subscribe_keys();
        // A relist: "a" and "c" unchanged (no change), "b" changed, "d" new, "e" gone.
        relist(&mut w, vec![cm("a", 4, "red"), cm("b", 6, "red"), cm("c", 3, "red"), cm("d", 7, "red")]);
        drop(w);
        assert_eq!(
            drain_keys(&mut sub),
            [
                ("a".into(), false, false),
                ("b".into(), false, true),
                ("c".into(), false, true),
                ("d".into(), false, true),
                ("e".into(), true, false),
            ]
        );
        assert_eq!(
            drain_keys(&mut late),
            [
                ("a".into(), false, true),
                ("b".into(), false, true),
                ("c".into(), false, true),
                ("d".into(), false, true),
                ("e".into(), true, true),
            ]
        );
    }
}
