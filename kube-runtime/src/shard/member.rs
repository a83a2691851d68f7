//! A replica's membership in a shard group: its own Lease, held like a leader's, and the live
//! members as the group's Leases show them.

use std::{
    collections::BTreeMap,
    future::Future,
    pin::pin,
    sync::{Arc, Mutex, PoisonError, RwLock},
};

use k8s_openapi::api::coordination::v1::Lease;
use kube_client::{
    Api, Client,
    api::{ListParams, Patch, PatchParams},
};
use kube_core::selector::ShardField;
use tokio::{sync::watch, time::Instant};

use super::{
    Assignment, Config, Error, GROUP_LABEL, NoObserveShard, ObserveShard, Ring,
    claims::Claims,
    slots::{CLAIMS_ANNOTATION, Slots},
};
use crate::{
    leader::{LeaderElector, record::Observed},
    watcher,
};

/// One replica of a sharded controller: its membership and what it knows of the group.
///
/// Cheap to clone; every clone is the same member. Run [`Shard::run`] for as long as the replica
/// works (and after its controller has stopped: releasing the Lease while reconciles still run
/// would let another replica start on their objects).
#[derive(Clone)]
pub struct Shard {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    leases: Api<Lease>,
    alive: watch::Receiver<bool>,
    ring: watch::Sender<Ring>,
    elector: Mutex<Option<LeaderElector>>,
    observer: RwLock<Arc<dyn ObserveShard>>,
    claims: Arc<Claims>,
}

/// The live members as one read of the group's Leases shows them, with the slots each claims.
type Members = BTreeMap<String, Slots>;

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("group", &self.inner.config.group)
            .field("identity", &self.inner.config.identity)
            .finish_non_exhaustive()
    }
}

impl Shard {
    /// A member of `config.group`, whose Leases live in the namespace of `leases`.
    pub fn new(leases: Api<Lease>, config: Config) -> Result<Self, Error> {
        config.validate()?;
        let elector = LeaderElector::new(leases.clone(), config.election(&config.member_lease()))
            .map_err(|source| Error::Lease { group: config.group.clone(), source })?;
        let alive = elector.leadership().receiver();
        let (ring, _) = watch::channel(Ring::default());
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                leases,
                alive,
                ring,
                elector: Mutex::new(Some(elector)),
                observer: RwLock::new(Arc::new(NoObserveShard)),
                claims: Claims::new(),
            }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// This replica's identity.
    pub fn identity(&self) -> &str {
        &self.inner.config.identity
    }

    /// `true` while this replica holds its membership Lease: only then may it reconcile.
    pub fn alive(&self) -> watch::Receiver<bool> {
        self.inner.alive.clone()
    }

    /// The live members, as last listed (updated every retry period while [`run`](Self::run) runs).
    pub fn ring(&self) -> watch::Receiver<Ring> {
        self.inner.ring.subscribe()
    }

    /// `config` narrowed to the objects assigned to this replica (adds
    /// `shard.kube.rs/<group>=<identity>` to its label selector): the watch of a sharded
    /// controller, so that each replica caches only its share.
    pub fn watcher_config(&self, mut config: watcher::Config) -> watcher::Config {
        let mine = format!("{}={}", self.inner.config.owner_label(), self.inner.config.identity);
        config.selectors.labels = Some(match config.selectors.labels.take() {
            Some(s) if !s.is_empty() => format!("{s},{mine}"),
            _ => mine,
        });
        config
    }

    /// Sends what the assigner and the drains of this member do to `observer` (metrics).
    pub fn observe(&self, observer: Arc<dyn ObserveShard>) {
        *self.inner.observer.write().unwrap_or_else(PoisonError::into_inner) = observer;
    }

    pub(crate) fn observer(&self) -> Arc<dyn ObserveShard> {
        self.inner.observer.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub(crate) fn client(&self) -> Client {
        self.inner.leases.client().clone()
    }

    pub(crate) fn leases(&self) -> Api<Lease> {
        self.inner.leases.clone()
    }

    pub(crate) fn claims(&self) -> &Arc<Claims> {
        &self.inner.claims
    }

    /// The slots this member reconciles under [`Assignment::Server`] (none with labels), as
    /// they change.
    pub fn slots(&self) -> watch::Receiver<Slots> {
        self.inner.claims.subscribe()
    }

    /// Whether the apiserver serves shard selectors (feature gate `ShardedListAndWatch`), as
    /// [`Assignment::Server`] needs: a list of the group's Leases with a selector is answered
    /// with the `shardInfo` such a server adds. An apiserver without it ignores the selector.
    pub async fn server_side_supported(&self) -> Result<bool, kube_client::Error> {
        let Some(selector) = Slots(u64::MAX).selector(ShardField::Uid) else { return Ok(false) };
        let lp = ListParams::default().limit(1).shard(&selector);
        let request = self.inner.leases.request_builder().list(&lp)?;
        let list: serde_json::Value = self.inner.leases.client().request(request).await?;
        Ok(list.pointer("/metadata/shardInfo").is_some_and(|i| !i.is_null()))
    }

    /// Holds this replica's Lease and lists the group's members until `shutdown` completes, then
    /// releases the Lease so the others take its objects at once. Only one call per member does
    /// anything; later ones return at once.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let Some(elector) = self.inner.elector.lock().ok().and_then(|mut e| e.take()) else {
            return Ok(());
        };
        let mut shutdown = pin!(shutdown);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let election = elector.run(async {
            let _ = stopped.await;
        });
        let mut election = pin!(election);
        let members = self.watch_members();
        let mut members = pin!(members);
        let result = tokio::select! {
            () = &mut shutdown => {
                let _ = stop.send(());
                election.await
            }
            r = &mut election => r,
            never = &mut members => match never {},
        };
        result.map_err(|source| Error::Lease { group: self.inner.config.group.clone(), source })
    }

    /// Lists the group's Leases every retry period and publishes the members whose Lease is held
    /// and has changed within its duration, on this process's clock; with
    /// [`Assignment::Server`], then claims and gives up slots.
    async fn watch_members(&self) -> std::convert::Infallible {
        let config = &self.inner.config;
        let mut observed: BTreeMap<String, Observed> = BTreeMap::new();
        loop {
            if let Some(members) = self.survey(&mut observed).await {
                let ring = Ring::new(members.keys().cloned());
                self.inner.ring.send_if_modified(|r| {
                    let changed = *r != ring;
                    if changed {
                        tracing::info!(group = %config.group, members = ?ring.members().collect::<Vec<_>>(), "shard members changed");
                        *r = ring.clone();
                    }
                    changed
                });
                if let Assignment::Server(_) = config.assignment {
                    self.claim(&ring, &members, &mut observed).await;
                }
            }
            tokio::time::sleep(config.retry_period).await;
        }
    }

    /// One read of the group's Leases: the live members and their claims (`None` when the read
    /// failed).
    async fn survey(&self, observed: &mut BTreeMap<String, Observed>) -> Option<Members> {
        let config = &self.inner.config;
        let lp = ListParams::default().labels(&format!("{GROUP_LABEL}={}", config.group));
        let list = match self.inner.leases.list(&lp).await {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!(group = %config.group, error = %e, "failed to list the shard group's leases");
                return None;
            }
        };
        let now = Instant::now();
        let prefix = format!("{}-member-", config.group);
        let mut seen = BTreeMap::new();
        let mut live = Members::new();
        for lease in list.items {
            let Some(name) = lease.metadata.name.clone() else { continue };
            if !name.starts_with(&prefix) {
                continue;
            }
            let claims = lease.metadata.annotations.as_ref().and_then(|a| a.get(CLAIMS_ANNOTATION));
            let claims = match claims {
                None => Slots::NONE,
                Some(value) => Slots::from_annotation(value).unwrap_or_else(|| {
                    // Only this library writes it; anything else blocks every slot rather than
                    // risk two members in one.
                    tracing::warn!(group = %config.group, lease = %name, %value, "unreadable slot claims: counted as every slot");
                    Slots(u64::MAX)
                }),
            };
            let spec = lease.spec.unwrap_or_default();
            let o = Observed::update(observed.remove(&name), &spec, now);
            if o.held_by_other("", config.lease_duration, now).is_some() {
                if let Some(holder) = &o.spec.holder_identity {
                    live.insert(holder.clone(), claims);
                }
            }
            seen.insert(name, o);
        }
        *observed = seen;
        Some(live)
    }

    /// One round of server-side assignment. The slots the ring gives this member and nobody
    /// else claims are claimed in its Lease; a claimed slot becomes active (reconciled) only when
    /// a read made after the claim was written shows no other live member claiming it, so two
    /// members never reconcile one slot: of two claims, the later one's read sees the earlier.
    /// Slots the ring gives elsewhere stop being active at once and are given up once none of
    /// their reconciles runs.
    async fn claim(&self, ring: &Ring, members: &Members, observed: &mut BTreeMap<String, Observed>) {
        let me = self.identity();
        let claims = &self.inner.claims;
        let others = |m: &Members| {
            m.iter().filter(|(id, _)| id.as_str() != me).fold(Slots::NONE, |acc, (_, s)| acc.union(*s))
        };
        let alive = *self.inner.alive.borrow();
        let wanted = if alive { Slots::owned_by(ring, me) } else { Slots::NONE };
        let free = wanted.difference(others(members));
        let release = claims.narrow(free);
        let held = claims.held();
        let next = held.difference(release).union(free);
        if next != held {
            if !self.publish(next).await {
                return;
            }
            let group = &self.inner.config.group;
            let drained = claims.set_held(next);
            if !release.is_empty() {
                tracing::info!(%group, slots = ?release, "gave up shard slots");
            }
            let observer = self.observer();
            for took in drained {
                observer.slot_moved(group, "give_up", Some(took));
            }
        }
        let pending = next.intersection(free).difference(claims.active());
        if pending.is_empty() || !alive {
            return;
        }
        let Some(after) = self.survey(observed).await else { return };
        let take = pending.difference(others(&after));
        if !take.is_empty() {
            tracing::info!(group = %self.inner.config.group, slots = ?take, "took over shard slots");
            claims.activate(take);
            let observer = self.observer();
            for _ in take.iter() {
                observer.slot_moved(&self.inner.config.group, "take_over", None);
            }
        }
    }

    /// Writes this member's claims into its Lease.
    async fn publish(&self, slots: Slots) -> bool {
        let name = self.inner.config.member_lease();
        let patch = serde_json::json!({ "metadata": { "annotations": { CLAIMS_ANNOTATION: slots.to_annotation() } } });
        match self.inner.leases.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(group = %self.inner.config.group, lease = %name, error = %e, "failed to write the shard slot claims");
                false
            }
        }
    }
}
