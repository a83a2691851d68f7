//! The assigner: one replica of the group, elected, labels each object with the member that owns
//! it, and moves objects with a drain handshake when the members change.

use std::{collections::BTreeSet, fmt::Debug, future::Future, pin::pin};

use futures::{StreamExt, stream};
use kube_client::Api;
use kube_core::{
    ObjectMeta, PartialObjectMetadata, Resource,
    params::{Patch, PatchParams},
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{Config, Error, Ring, Shard};
use crate::{
    leader::LeaderElector,
    reflector::{self, ObjectRef, Store},
    watcher,
};

/// How many label patches the assigner has in flight at once.
const PATCH_CONCURRENCY: usize = 16;

/// Assigns the objects of `api` to the group's members; run one in every replica (one per kind:
/// the primary resource and, to shard their cache too, the kinds it owns). The replicas elect one
/// assigner per kind on a Lease (`<group>-assigner-<kind>`); the others stand by.
///
/// For each object it computes the owner among the live members by [rendezvous hashing](Ring)
/// of its [key](super::Key), then:
/// - unassigned, or assigned to a member that is gone: labels it `shard.kube.rs/<group>=<owner>`;
/// - assigned to another live member: labels it `drain.shard.kube.rs/<group>=<owner>` and waits.
///   The current owner's controller lets it go once no reconcile of it runs, by removing both
///   labels; then the object is unassigned and goes to its new owner. Objects of kinds that are
///   only cached (owned kinds) are not reconciled by anyone and move at once.
///
/// Every write carries the resourceVersion it was decided on, so a decision made on a stale view
/// fails and is made again.
pub struct Assigner<K: Resource> {
    api: Api<K>,
    shard: Shard,
    drains: bool,
}

impl<K> Debug for Assigner<K>
where
    K: Resource,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assigner").field("shard", &self.shard).field("drains", &self.drains).finish()
    }
}

/// What the assigner writes for one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Set the owner (and drop any drain request).
    Assign(String),
    /// Ask the current owner to let go.
    Drain(String),
    /// The move was called off: drop the drain request.
    KeepOwner,
}

impl Step {
    /// The step's name in metrics.
    fn name(&self, had_owner: bool) -> &'static str {
        match self {
            Step::Assign(_) if had_owner => "take_over",
            Step::Assign(_) => "assign",
            Step::Drain(_) => "drain",
            Step::KeepOwner => "keep",
        }
    }
}

/// The step for an object with `labels`, whose owner by hash is `wanted` among the live `ring`.
pub(crate) fn decide(config: &Config, meta: &ObjectMeta, ring: &Ring, drains: bool) -> Option<Step> {
    let wanted = ring.owner(&config.key.of(meta)?)?;
    let labels = meta.labels.as_ref();
    let current = labels.and_then(|l| l.get(&config.owner_label())).filter(|c| !c.is_empty());
    let draining = labels.and_then(|l| l.get(&config.drain_label()));
    match current {
        None => Some(Step::Assign(wanted.to_string())),
        Some(c) if !ring.contains(c) => Some(Step::Assign(wanted.to_string())),
        Some(c) if c == wanted => draining.map(|_| Step::KeepOwner),
        Some(_) if !drains => Some(Step::Assign(wanted.to_string())),
        Some(_) => match draining {
            Some(d) if d == wanted => None,
            _ => Some(Step::Drain(wanted.to_string())),
        },
    }
}

impl<K> Assigner<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Clone,
{
    /// An assigner of `api`'s objects to `shard`'s group, with the drain handshake (for the
    /// primary resource of a sharded controller).
    pub fn new(api: Api<K>, shard: &Shard) -> Self {
        Self { api, shard: shard.clone(), drains: true }
    }

    /// An assigner for a kind that sharded controllers only cache (e.g. what they own): its
    /// objects move without a handshake.
    pub fn cached(api: Api<K>, shard: &Shard) -> Self {
        Self { api, shard: shard.clone(), drains: false }
    }

    /// Takes part in the assigner election until `shutdown` completes; while elected, assigns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let config = self.shard.config().clone();
        let kind = K::kind(&K::DynamicType::default()).into_owned();
        let elector = LeaderElector::new(self.shard.leases(), config.election(&config.assigner_lease(&kind)))
            .map_err(|source| Error::Lease { group: config.group.clone(), source })?;
        let leadership = elector.leadership();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let election = tokio::spawn(elector.run(async {
            let _ = stopped.await;
        }));
        let work = async {
            // Started again each time this replica is elected; ends only if the elector stops.
            while !leadership.is_stopped() {
                leadership.lead(self.assign_while_elected()).await;
            }
        };
        let mut shutdown = pin!(shutdown);
        tokio::select! {
            () = &mut shutdown => {}
            () = work => {}
        }
        let _ = stop.send(());
        match election.await {
            Ok(r) => r.map_err(|source| Error::Lease { group: config.group.clone(), source }),
            Err(_) => Ok(()),
        }
    }

    /// Watches the objects' metadata and the members, and writes what [`decide`] says.
    async fn assign_while_elected(&self) {
        let config = self.shard.config();
        tracing::info!(group = %config.group, kind = %K::kind(&K::DynamicType::default()), "elected assigner");
        let (store, writer) = reflector::store::<PartialObjectMetadata<K>>();
        let mut events = reflector::reflector(
            writer,
            watcher::metadata_watcher(
                self.api.clone(),
                watcher::Config { drop_managed_fields: true, ..watcher::Config::default() },
            ),
        )
        .boxed();
        let mut changes = store.subscribe_keys();
        let mut ring = self.shard.ring();
        let mut pending: BTreeSet<ObjectRef> = BTreeSet::new();
        let mut retry = tokio::time::interval(config.retry_period);
        loop {
            tokio::select! {
                e = events.next() => match e {
                    Some(Err(e)) => tracing::warn!(group = %config.group, error = %e, "assigner watch failed; retrying"),
                    Some(Ok(_)) => {}
                    None => return,
                },
                Some(c) = changes.next() => { pending.insert(c.key); }
                Ok(()) = ring.changed() => pending.extend(store.keys()),
                _ = retry.tick() => {}
            }
            // Decide only on a complete view, with whatever else arrived meanwhile.
            while let Some(Some(c)) = futures::FutureExt::now_or_never(changes.next()) {
                pending.insert(c.key);
            }
            if !store.is_ready() || pending.is_empty() {
                continue;
            }
            let members = ring.borrow_and_update().clone();
            let keys = std::mem::take(&mut pending);
            let failed: Vec<ObjectRef> = stream::iter(keys)
                .map(|key| self.apply(&store, &members, key))
                .buffer_unordered(PATCH_CONCURRENCY)
                .filter_map(|r| async move { r })
                .collect()
                .await;
            pending.extend(failed);
        }
    }

    /// Writes the step for `key`; returns the key when it must be tried again.
    async fn apply(
        &self,
        store: &Store<PartialObjectMetadata<K>>,
        ring: &Ring,
        key: ObjectRef,
    ) -> Option<ObjectRef> {
        let config = self.shard.config();
        let obj = store.get(&key)?;
        let step = decide(config, &obj.metadata, ring, self.drains)?;
        let rv = obj.metadata.resource_version.clone();
        let had_owner = obj.metadata.labels.as_ref().is_some_and(|l| l.contains_key(&config.owner_label()));
        let labels = match &step {
            Step::Assign(owner) => json!({ config.owner_label(): owner, config.drain_label(): Value::Null }),
            Step::Drain(next) => json!({ config.drain_label(): next }),
            Step::KeepOwner => json!({ config.drain_label(): Value::Null }),
        };
        let patch = json!({ "metadata": { "resourceVersion": rv, "labels": labels } });
        let api = Api::<K>::scoped(self.api.client().clone(), key.namespace.as_deref(), self.api.dyntype());
        match api.patch_metadata(&key.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => {
                tracing::debug!(group = %config.group, object = %key, ?step, "assigned");
                let kind = K::kind(self.api.dyntype());
                self.shard.observer().assigned(&config.group, &kind, step.name(had_owner));
                None
            }
            Err(e) if e.is_not_found() => None,
            // A newer version is on its way to the store, which decides again.
            Err(e) if e.is_conflict() => None,
            Err(e) => {
                tracing::warn!(group = %config.group, object = %key, error = %e, "failed to label the object");
                Some(key)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn meta(name: &str, labels: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some("ns".into()),
            labels: Some(
                labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
            ),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn objects_are_assigned_moved_with_a_drain_and_taken_from_the_dead() {
        let c = Config::new("g");
        let (owner, drain) = (c.owner_label(), c.drain_label());
        let ring = Ring::new(["a", "b"]);
        let wanted = ring.owner("ns/x").unwrap().to_string();
        let other = if wanted == "a" { "b" } else { "a" };

        assert_eq!(decide(&c, &meta("x", &[]), &ring, true), Some(Step::Assign(wanted.clone())));
        assert_eq!(decide(&c, &meta("x", &[(&owner, &wanted)]), &ring, true), None);
        // A live owner that is no longer wanted is asked to let go, once.
        assert_eq!(
            decide(&c, &meta("x", &[(&owner, other)]), &ring, true),
            Some(Step::Drain(wanted.clone()))
        );
        assert_eq!(decide(&c, &meta("x", &[(&owner, other), (&drain, &wanted)]), &ring, true), None);
        // Without the handshake (cached kinds), it moves at once.
        assert_eq!(
            decide(&c, &meta("x", &[(&owner, other)]), &ring, false),
            Some(Step::Assign(wanted.clone()))
        );
        // An owner that is gone loses it at once, drain or not.
        assert_eq!(
            decide(&c, &meta("x", &[(&owner, "dead"), (&drain, other)]), &ring, true),
            Some(Step::Assign(wanted.clone()))
        );
        // Back at its wanted owner mid-drain: the drain is called off.
        assert_eq!(
            decide(&c, &meta("x", &[(&owner, &wanted), (&drain, other)]), &ring, true),
            Some(Step::KeepOwner)
        );
        // No member: nothing to do.
        assert_eq!(decide(&c, &meta("x", &[]), &Ring::default(), true), None);
    }
}
