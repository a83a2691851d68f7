//! The replica's side of a move under label assignment: reconciles run only for objects this
//! replica owns and is not asked to let go, and an object asked for is let go (its labels
//! removed) once none of its reconciles runs.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use futures::StreamExt;
use kube_client::Api;
use kube_core::{
    Resource,
    params::{Patch, PatchParams},
};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Config, Shard};
use crate::reflector::{Cacheable, ObjectRef, Store};

/// How often keys whose reconcile still runs are looked at again.
const RECHECK: Duration = Duration::from_millis(100);

/// Per-key state shared by the reconcile wrapper and the drain loop of one controller.
#[derive(Debug)]
pub(crate) struct Drain {
    shard: Shard,
    config: Config,
    client: kube_client::Client,
    keys: Mutex<HashMap<ObjectRef, KeyState>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyState {
    /// This many reconciles of the key run.
    Running(u32),
    /// Let go: no reconcile may start until the object comes back without a drain request.
    Released,
}

/// What one look at a key found.
enum Settled {
    /// Look again shortly (a reconcile runs, or the write failed).
    Again,
    /// Let go of it just now.
    LetGo,
    /// Nothing (more) to do.
    Nothing,
}

/// Whether a reconcile of a key may start, as [`Drain::begin`] decides.
#[derive(Debug)]
pub(crate) enum KeyStart {
    /// Run it; the guard marks it running until dropped.
    Run(KeyGuard),
    /// Not owned here, or asked to be let go.
    NotOurs,
    /// Let go a moment ago and back without a drain request.
    JustLetGo,
}

/// Marks one reconcile of a key as running under label assignment.
#[derive(Debug)]
pub(crate) struct KeyGuard {
    drain: Arc<Drain>,
    key: ObjectRef,
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        let mut keys = self.drain.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(KeyState::Running(n)) = keys.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                keys.remove(&self.key);
            }
        }
    }
}

impl Drain {
    pub(crate) fn new(shard: &Shard) -> Arc<Self> {
        Arc::new(Self {
            shard: shard.clone(),
            config: shard.config().clone(),
            client: shard.client(),
            keys: Mutex::new(HashMap::new()),
        })
    }

    fn owned_here(&self, obj: &impl Resource) -> bool {
        let labels = obj.meta().labels.as_ref();
        let owner = labels.and_then(|l| l.get(&self.config.owner_label()));
        owner.map(String::as_str) == Some(self.config.identity.as_str())
            && !labels.is_some_and(|l| l.contains_key(&self.config.drain_label()))
    }

    /// Called as a reconcile of `obj` starts (under the same lock as the drain decision, so a
    /// reconcile never starts on an object already let go).
    pub(crate) fn begin<K: Resource>(self: &Arc<Self>, key: &ObjectRef, obj: &K) -> KeyStart {
        if !self.owned_here(obj) {
            return KeyStart::NotOurs;
        }
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        match keys.get_mut(key) {
            Some(KeyState::Released) => return KeyStart::JustLetGo,
            Some(KeyState::Running(n)) => *n += 1,
            None => {
                keys.insert(key.clone(), KeyState::Running(1));
            }
        }
        KeyStart::Run(KeyGuard { drain: self.clone(), key: key.clone() })
    }

    /// Lets go of each object of `store` that carries a drain request, once none of its reconciles
    /// runs: removes the owner and drain labels, on the resourceVersion that asked for it.
    pub(crate) async fn run<K: Cacheable>(self: Arc<Self>, store: Store<K>, dyntype: K::DynamicType) {
        let mut changes = store.subscribe_keys();
        let mut pending: BTreeSet<ObjectRef> = BTreeSet::new();
        // When each pending drain request was first seen.
        let mut asked: HashMap<ObjectRef, Instant> = HashMap::new();
        loop {
            tokio::select! {
                c = changes.next() => match c {
                    Some(c) => { pending.insert(c.key); }
                    None => return,
                },
                () = tokio::time::sleep(RECHECK), if !pending.is_empty() => {}
            }
            let keys = std::mem::take(&mut pending);
            for key in keys {
                match self.settle(&store, &key, &dyntype).await {
                    Settled::Again => {
                        asked.entry(key.clone()).or_insert_with(Instant::now);
                        pending.insert(key);
                    }
                    Settled::LetGo => {
                        let took = asked.remove(&key).map_or(Duration::ZERO, |at| at.elapsed());
                        self.shard.observer().let_go(&self.config.group, took);
                    }
                    Settled::Nothing => {
                        asked.remove(&key);
                    }
                }
            }
        }
    }

    /// One look at `key`.
    async fn settle<K: Cacheable>(
        &self,
        store: &Store<K>,
        key: &ObjectRef,
        dyntype: &K::DynamicType,
    ) -> Settled {
        let drain_label = self.config.drain_label();
        let obj = store.get(key);
        let asked = obj
            .as_ref()
            .is_some_and(|o| o.meta().labels.as_ref().is_some_and(|l| l.contains_key(&drain_label)));
        {
            let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            match (keys.get(key).copied(), asked) {
                (Some(KeyState::Running(_)), true) => return Settled::Again,
                (Some(KeyState::Running(_)), false) => return Settled::Nothing,
                // Gone from the store, or back without a request: a new assignment.
                (Some(KeyState::Released), false) => {
                    keys.remove(key);
                    return Settled::Nothing;
                }
                (_, true) => {
                    keys.insert(key.clone(), KeyState::Released);
                }
                (None, false) => return Settled::Nothing,
            }
        }
        let Some(obj) = obj else { return Settled::Nothing };
        let rv = obj.meta().resource_version.clone();
        let patch = json!({ "metadata": { "resourceVersion": rv, "labels": {
            self.config.owner_label(): Value::Null, drain_label: Value::Null } } });
        let api = Api::<K>::scoped(self.client.clone(), key.namespace.as_deref(), dyntype);
        match api.patch_metadata(&key.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => {
                tracing::info!(group = %self.config.group, object = %key, "let go of the object for its new owner");
                Settled::LetGo
            }
            Err(e) if e.is_not_found() => Settled::Nothing,
            // A newer version is coming to the store; it is looked at again then.
            Err(e) if e.is_conflict() => Settled::Nothing,
            Err(e) => {
                tracing::warn!(group = %self.config.group, object = %key, error = %e, "failed to let go of the object");
                Settled::Again
            }
        }
    }
}
