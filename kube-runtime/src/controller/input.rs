//! Inputs of a controller: a store of some type (with, optionally, the event stream that fills
//! it) and how its changes map to keys of the primary resource.

use std::{fmt::Debug, sync::Arc};

use ahash::{AHashMap, AHashSet};
use futures::{
    FutureExt, Stream, StreamExt,
    future::BoxFuture,
    stream::{self, BoxStream},
};
use kube_client::Api;
use kube_core::Resource;

use super::{Priority, Reason};
use crate::{
    predicates::{Filter, Predicate},
    reflector::{self, Cacheable, KeyChange, ObjectRef, Store},
    watcher::{self, Event},
};

/// One store a controller reads, as an input: its own watch (driven by the controller), a
/// store someone else fills, or a store and the event stream that fills it (driven by the
/// controller). Optionally filtered by a [`Predicate`].
///
/// ```no_run
/// # fn f(client: kube_client::Client) {
/// use k8s_openapi::api::core::v1::ConfigMap;
/// use kube_client::Api;
/// use kube_runtime::{controller::Input, predicates, watcher};
///
/// let input = Input::watch(Api::<ConfigMap>::all(client), watcher::Config::default())
///     .predicate(predicates::resource_version());
/// # }
/// ```
pub struct Input<C: Cacheable> {
    pub(crate) store: Store<C>,
    pub(crate) events: Option<BoxStream<'static, Result<Event<C>, watcher::Error>>>,
    pub(crate) predicate: Option<Predicate<C>>,
}

impl<C: Cacheable> Input<C> {
    /// Watches `api` into a store of its own; the controller drives the watch.
    pub fn watch(api: Api<C>, config: watcher::Config) -> Self
    where
        C: Debug,
    {
        let (store, writer) = reflector::store();
        let events = reflector::reflector(writer, watcher::watcher(api, config)).boxed();
        Self { store, events: Some(events), predicate: None }
    }

    /// A store filled by someone else (a reflector they run, shared with other controllers).
    pub fn shared(store: Store<C>) -> Self {
        Self { store, events: None, predicate: None }
    }

    /// A store and the event stream that fills it (a [`reflector`](reflector::reflector)); the
    /// controller drives `events`, reporting its errors.
    pub fn stream(
        store: Store<C>,
        events: impl Stream<Item = Result<Event<C>, watcher::Error>> + Send + 'static,
    ) -> Self {
        Self { store, events: Some(events.boxed()), predicate: None }
    }

    /// Only changes that pass `predicate` trigger reconciles (deletions always do).
    #[must_use]
    pub fn predicate(mut self, predicate: Predicate<C>) -> Self {
        self.predicate = Some(predicate);
        self
    }

    /// The input's store.
    pub fn store(&self) -> &Store<C> {
        &self.store
    }
}

/// A queued change, as the run loop gets it from an input.
pub(crate) struct Trigger {
    pub(crate) key: ObjectRef,
    pub(crate) priority: Priority,
    pub(crate) reason: Reason,
}

/// Maps an object of an input to primary keys.
pub(crate) type Mapper<C> = Arc<dyn Fn(&C) -> Vec<ObjectRef> + Send + Sync>;

/// What the run loop needs of one input, independent of its type.
pub(crate) struct Parts {
    pub(crate) name: Arc<str>,
    pub(crate) triggers: BoxStream<'static, Trigger>,
    pub(crate) events: Option<BoxStream<'static, Result<(), Box<watcher::Error>>>>,
    pub(crate) ready: BoxFuture<'static, ()>,
    pub(crate) is_ready: Box<dyn Fn() -> bool + Send>,
}

fn changed(input: &Arc<str>, change: &KeyChange, deleted: bool) -> Reason {
    Reason::Changed { input: input.clone(), object: change.key.clone(), deleted, resync: change.resync }
}

fn priority(change: &KeyChange) -> Priority {
    if change.resync { Priority::Resync } else { Priority::Live }
}

impl<C: Cacheable> Input<C> {
    /// The input as parts: `mapper` of `None` means the input is the primary (keys map to
    /// themselves and nothing is decoded unless a predicate needs it).
    pub(crate) fn into_parts(self, name: String, mapper: Option<Mapper<C>>) -> Parts {
        let name: Arc<str> = name.into();
        let Input { store, events, predicate } = self;
        let mut filter = predicate.map(Filter::new);
        let reader = store.clone();
        let input = name.clone();
        // Per changed object, the keys it mapped to last: both old and new keys are triggered
        // when the mapping changes, and a deletion triggers the last keys.
        let mut last: AHashMap<ObjectRef, Vec<ObjectRef>> = AHashMap::new();
        let triggers = store
            .subscribe_keys()
            .map(move |change| {
                let deleted = change.deleted;
                let obj = if !deleted && (mapper.is_some() || filter.is_some()) {
                    match reader.get(&change.key) {
                        Some(o) => Some(o),
                        // Gone meanwhile: its deletion is queued behind this change.
                        None => return Vec::new(),
                    }
                } else {
                    None
                };
                if let Some(f) = filter.as_mut() {
                    let passes = match &obj {
                        Some(o) => f.passes(&change.key, o),
                        None => f.deleted(&change.key),
                    };
                    if !passes {
                        return Vec::new();
                    }
                }
                let keys = match (&mapper, &obj) {
                    (None, _) => vec![change.key.clone()],
                    (Some(map), Some(o)) => {
                        let new = map(o);
                        let old = last.insert(change.key.clone(), new.clone()).unwrap_or_default();
                        union(old, new)
                    }
                    (Some(_), None) => last.remove(&change.key).unwrap_or_default(),
                };
                let reason = changed(&input, &change, deleted);
                let priority = priority(&change);
                keys.into_iter().map(|key| Trigger { key, priority, reason: reason.clone() }).collect()
            })
            .flat_map(stream::iter)
            .boxed();
        let events = events.map(|s| s.map(|e| e.map(|_| ()).map_err(Box::new)).boxed());
        let waiting = store.clone();
        let ready = async move {
            if waiting.wait_until_ready().await.is_err() {
                // The writer is gone before the store was ready: it never will be.
                futures::future::pending::<()>().await;
            }
        }
        .boxed();
        let is_ready = Box::new(move || store.is_ready());
        Parts { name, triggers, events, ready, is_ready }
    }
}

fn union(mut a: Vec<ObjectRef>, b: Vec<ObjectRef>) -> Vec<ObjectRef> {
    let seen: AHashSet<ObjectRef> = a.iter().cloned().collect();
    a.extend(b.into_iter().filter(|k| !seen.contains(k)));
    a
}

/// The mapper of an owned type: the owner named by the object's *controller* owner reference,
/// when it points at the primary's kind and apiVersion (and, when the primary is in the store,
/// at its uid).
pub(crate) fn owner_mapper<K: Cacheable, C: Resource>(
    primary: Store<K>,
    dyntype: &K::DynamicType,
) -> Mapper<C> {
    let kind = K::kind(dyntype).into_owned();
    let api_version = K::api_version(dyntype).into_owned();
    let namespaced = matches!(K::scope(dyntype), kube_core::resource::Scope::Namespaced);
    Arc::new(move |child: &C| {
        let ns = if namespaced { child.meta().namespace.as_deref() } else { None };
        let owners = child.meta().owner_references.iter().flatten();
        owners
            .filter(|o| o.controller == Some(true) && o.kind == kind && o.api_version == api_version)
            .map(|o| (ObjectRef::from_owner_ref(o, ns), o.uid.as_str()))
            .filter(|(key, uid)| primary.get(key).is_none_or(|p| p.meta().uid.as_deref() == Some(uid)))
            .map(|(key, _)| key)
            .collect()
    })
}
