//! A replica's membership in a shard group: its own Lease, held like a leader's, and the live
//! members as the group's Leases show them.

use std::{
    collections::{BTreeMap, BTreeSet},
    future::Future,
    pin::pin,
    sync::{Arc, Mutex, PoisonError, RwLock},
};

use k8s_openapi::api::coordination::v1::Lease;
use kube_client::{Api, Client, api::ListParams};
use tokio::{sync::watch, time::Instant};

use super::{Config, Error, GROUP_LABEL, NoObserveShard, ObserveShard, Ring};
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
}

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
    /// and has changed within its duration, on this process's clock.
    async fn watch_members(&self) -> std::convert::Infallible {
        let config = &self.inner.config;
        let lp = ListParams::default().labels(&format!("{GROUP_LABEL}={}", config.group));
        let mut observed: BTreeMap<String, Observed> = BTreeMap::new();
        loop {
            match self.inner.leases.list(&lp).await {
                Ok(list) => {
                    let now = Instant::now();
                    let mut seen = BTreeMap::new();
                    let mut live = BTreeSet::new();
                    for lease in list.items {
                        let Some(name) = lease.metadata.name.clone() else { continue };
                        // The assigner elections share the group label but are not members.
                        if !name.starts_with(&format!("{}-member-", config.group)) {
                            continue;
                        }
                        let spec = lease.spec.unwrap_or_default();
                        let o = Observed::update(observed.remove(&name), &spec, now);
                        // Judged as any other candidate would: held by someone, not expired.
                        if o.held_by_other("", config.lease_duration, now).is_some() {
                            if let Some(holder) = &o.spec.holder_identity {
                                live.insert(holder.clone());
                            }
                        }
                        seen.insert(name, o);
                    }
                    observed = seen;
                    let ring = Ring::new(live);
                    self.inner.ring.send_if_modified(|r| {
                        let changed = *r != ring;
                        if changed {
                            tracing::info!(group = %config.group, members = ?ring.members().collect::<Vec<_>>(), "shard members changed");
                            *r = ring;
                        }
                        changed
                    });
                }
                Err(e) => {
                    tracing::warn!(group = %config.group, error = %e, "failed to list the shard group's leases")
                }
            }
            tokio::time::sleep(config.retry_period).await;
        }
    }
}
