//! The controller: reconciles each object of a primary resource when it or a related object
//! changes, through a [work queue](crate::scheduler) with per-key backoff and priorities.
//!
//! ```no_run
//! use std::{sync::Arc, time::Duration};
//! use futures::StreamExt;
//! use k8s_openapi::api::{apps::v1::Deployment, core::v1::ConfigMap};
//! use kube_client::{Api, Client};
//! use kube_runtime::{controller::{Action, Controller}, watcher};
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("reconcile failed")]
//! struct Failed;
//!
//! async fn reconcile(obj: Arc<Deployment>, ctx: Arc<Client>) -> Result<Action, Failed> {
//!     // Bring the world in line with `obj`: create or update what it owns.
//!     Ok(Action::requeue(Duration::from_secs(300)))
//! }
//!
//! fn error_policy(_obj: Arc<Deployment>, _e: &Failed, _ctx: Arc<Client>) -> Action {
//!     Action::await_change() // retried after the queue's backoff anyway
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::try_default().await?;
//! let deployments: Api<Deployment> = Api::all(client.clone());
//! let configmaps: Api<ConfigMap> = Api::all(client.clone());
//! Controller::new(deployments, watcher::Config::default())
//!     .owns(configmaps, watcher::Config::default())
//!     .shutdown_on(kube_runtime::controller::signal())
//!     .run(reconcile, error_policy, Arc::new(client))
//!     .for_each(|outcome| async move {
//!         match outcome {
//!             Ok((obj, action)) => tracing::info!(%obj, ?action, "reconciled"),
//!             Err(e) => tracing::warn!(error = %e, "reconcile failed"),
//!         }
//!     })
//!     .await;
//! # Ok(()) }
//! ```
//!
//! Reconciles run concurrently on the task that polls the run stream (up to the concurrency
//! limit); each runs in a `reconcile` tracing span with the object (`object`) and why it runs
//! (`reason`: which input changed which object, a requeue, or a retry).

mod action;
mod error;
mod input;
mod observe;
mod reason;
mod run;
mod shutdown;

use std::{fmt::Debug, future::Future, sync::Arc, time::Duration};

use futures::{
    FutureExt, Stream, StreamExt,
    future::{BoxFuture, Either},
    stream::BoxStream,
};
use kube_client::Api;
use kube_core::Resource;
use tokio::sync::watch;

pub use action::Action;
pub use error::Error;
pub use input::Input;
use input::{Parts, Trigger};
pub use observe::{NoObserve, Observe, Priority, ReconcileResult};
pub use reason::Reason;
pub use run::Outcome;
use run::{Readiness, Run};
pub use shutdown::signal;

use crate::{
    reflector::{Cacheable, ObjectRef, Store},
    scheduler::{self, DefaultRateLimit, RateLimit, Scheduler},
    shard::{
        Shard,
        gate::{Begin, Gate},
    },
    watcher,
};

/// How long a controller waits for its stores to sync by default (controller-runtime's
/// `CacheSyncTimeout`).
pub const DEFAULT_READINESS_TIMEOUT: Duration = Duration::from_secs(120);
/// How long running reconciles may take to finish after a shutdown signal, by default.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// A controller for the primary resource `K`; see the [module docs](self).
///
/// Build it, add relations ([`owns`](Self::owns), [`watches`](Self::watches),
/// [`reconcile_on`](Self::reconcile_on)) and settings, then [`run`](Self::run) it.
pub struct Controller<K: Cacheable> {
    store: Store<K>,
    dyntype: K::DynamicType,
    inputs: Vec<Parts>,
    external: Vec<BoxStream<'static, Trigger>>,
    config: scheduler::Config,
    rate_limit: Box<dyn RateLimit>,
    readiness_timeout: Duration,
    reconcile_timeout: Option<Duration>,
    gate: Option<watch::Receiver<bool>>,
    shutdown: Option<BoxFuture<'static, ()>>,
    grace: Duration,
    observe: Arc<dyn Observe>,
    shard: Option<Gate>,
}

impl<K: Cacheable> Debug for Controller<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inputs: Vec<&str> = self.inputs.iter().map(|p| &*p.name).collect();
        f.debug_struct("Controller").field("inputs", &inputs).field("config", &self.config).finish()
    }
}

fn kind_of<C: Resource>(dyntype: &C::DynamicType) -> String {
    C::kind(dyntype).into_owned()
}

impl<K> Controller<K>
where
    K: Cacheable,
    K::DynamicType: Default,
{
    /// A controller for `api`'s objects, watched with `config` into a store of its own.
    pub fn new(api: Api<K>, config: watcher::Config) -> Self
    where
        K: Debug,
    {
        Self::from_input(Input::watch(api, config))
    }

    /// A controller over a store someone else fills (so that several controllers share one
    /// watch and one cache): run its reflector yourself.
    pub fn for_store(store: Store<K>) -> Self {
        Self::from_input(Input::shared(store))
    }

    /// A controller over a store and the event stream (a reflector) that fills it; the
    /// controller drives the stream.
    pub fn for_stream(
        store: Store<K>,
        events: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    ) -> Self {
        Self::from_input(Input::stream(store, events))
    }

    /// A controller over any [`Input`] (e.g. one with a predicate).
    pub fn from_input(input: Input<K>) -> Self {
        let dyntype = K::DynamicType::default();
        let store = input.store.clone();
        let primary = input.into_parts(format!("primary {}", kind_of::<K>(&dyntype)), None);
        Self {
            store,
            dyntype,
            inputs: vec![primary],
            external: Vec::new(),
            config: scheduler::Config::default(),
            rate_limit: Box::new(DefaultRateLimit::default()),
            readiness_timeout: DEFAULT_READINESS_TIMEOUT,
            reconcile_timeout: None,
            gate: None,
            shutdown: None,
            grace: DEFAULT_SHUTDOWN_GRACE,
            observe: Arc::new(NoObserve),
            shard: None,
        }
    }
}

impl<K: Cacheable> Controller<K> {
    /// The primary's store (to share, or to read in reconciles).
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// Reconciles the owner of `C` objects when they change or are deleted: the primary named
    /// by an object's *controller* owner reference of `K`'s kind and apiVersion (whose uid
    /// matches, when the owner is in the store). When an object changes owner, both the old and
    /// the new owner are reconciled.
    #[must_use]
    pub fn owns<C: Cacheable + Debug>(self, api: Api<C>, config: watcher::Config) -> Self
    where
        C::DynamicType: Default,
    {
        self.owns_input(Input::watch(api, config))
    }

    /// [`owns`](Self::owns) from any input (a shared store, a predicate).
    #[must_use]
    pub fn owns_input<C: Cacheable>(mut self, input: Input<C>) -> Self
    where
        C::DynamicType: Default,
    {
        let mapper = input::owner_mapper::<K, C>(self.store.clone(), &self.dyntype);
        let name = format!("owned {}", kind_of::<C>(&C::DynamicType::default()));
        self.inputs.push(input.into_parts(name, Some(mapper)));
        self
    }

    /// Reconciles the primaries `mapper` names for each changed `W` object (e.g. every primary
    /// that references a changed ConfigMap). When the mapping of an object changes, the
    /// primaries it mapped to before are reconciled too; a deleted object triggers the
    /// primaries it last mapped to.
    #[must_use]
    pub fn watches<W: Cacheable + Debug>(
        self,
        api: Api<W>,
        config: watcher::Config,
        mapper: impl Fn(&W) -> Vec<ObjectRef> + Send + Sync + 'static,
    ) -> Self
    where
        W::DynamicType: Default,
    {
        self.watches_input(Input::watch(api, config), mapper)
    }

    /// [`watches`](Self::watches) from any input (a shared store, a predicate).
    #[must_use]
    pub fn watches_input<W: Cacheable>(
        mut self,
        input: Input<W>,
        mapper: impl Fn(&W) -> Vec<ObjectRef> + Send + Sync + 'static,
    ) -> Self
    where
        W::DynamicType: Default,
    {
        let name = format!("watched {}", kind_of::<W>(&W::DynamicType::default()));
        self.inputs.push(input.into_parts(name, Some(Arc::new(mapper))));
        self
    }

    /// Reconciles every key `triggers` yields (live priority), e.g. from a timer or another
    /// system's events.
    #[must_use]
    pub fn reconcile_on(mut self, triggers: impl Stream<Item = ObjectRef> + Send + 'static) -> Self {
        let triggers =
            triggers.map(|key| Trigger { key, priority: Priority::Live, reason: Reason::External });
        self.external.push(triggers.boxed());
        self
    }

    /// At most `n` reconciles at once (0: unbounded); default
    /// [`DEFAULT_CONCURRENCY`](scheduler::DEFAULT_CONCURRENCY).
    #[must_use]
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = n;
        self
    }

    /// Holds change triggers for `window`, merging the changes within it into one reconcile.
    #[must_use]
    pub fn debounce(mut self, window: Duration) -> Self {
        self.config.debounce = window;
        self
    }

    /// Replaces the retry policy (default [`DefaultRateLimit`]).
    #[must_use]
    pub fn rate_limit(mut self, policy: impl RateLimit) -> Self {
        self.rate_limit = Box::new(policy);
        self
    }

    /// How long to wait for every store to sync before giving up with [`Error::NotReady`];
    /// default [`DEFAULT_READINESS_TIMEOUT`].
    #[must_use]
    pub fn readiness_timeout(mut self, timeout: Duration) -> Self {
        self.readiness_timeout = timeout;
        self
    }

    /// Cancels a reconcile that runs longer than `timeout` (an error for its key, with backoff).
    #[must_use]
    pub fn reconcile_timeout(mut self, timeout: Duration) -> Self {
        self.reconcile_timeout = Some(timeout);
        self
    }

    /// Reconciles only while `gate` holds `true` (e.g. while this replica leads); stores stay
    /// synced and triggers queue up meanwhile. Running reconciles are not cancelled when it
    /// turns `false`. If the sender goes away, its last value stays.
    #[must_use]
    pub fn gate(mut self, gate: watch::Receiver<bool>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Runs as one replica of a sharded controller (see [`shard`](crate::shard)): reconciles only
    /// the objects assigned to this replica and only while it holds its membership, lets an object
    /// go to its new owner once none of its reconciles runs, and cancels running reconciles (to be
    /// retried) when the membership is lost. Watch the primary, and the kinds it owns, with
    /// [`Shard::watcher`] (or, with label assignment, [`Shard::watcher_config`]) so that the
    /// caches hold this replica's share only. Replaces any [`gate`](Self::gate).
    #[must_use]
    pub fn shard(mut self, shard: &Shard) -> Self {
        let gate = Gate::new(shard);
        self.gate = Some(gate.alive());
        self.shard = Some(gate);
        self
    }

    /// Sends everything the controller does to `observer` (metrics).
    #[must_use]
    pub fn observe(mut self, observer: Arc<dyn Observe>) -> Self {
        self.observe = observer;
        self
    }

    /// Shuts down when `signal` completes: no new reconcile starts, running ones get the grace
    /// period to finish (see [`shutdown_grace`](Self::shutdown_grace)), then the run stream
    /// ends. Use [`signal()`] for SIGTERM and Ctrl-C.
    #[must_use]
    pub fn shutdown_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown = Some(signal.boxed());
        self
    }

    /// How long running reconciles may take after the shutdown signal before they are
    /// cancelled; default [`DEFAULT_SHUTDOWN_GRACE`].
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Runs the controller: once every store is synced, reconciles each key as it is
    /// triggered, and yields each outcome (the key and [`Action`], or an [`Error`]).
    ///
    /// `reconcile` gets the latest object from the store as it starts (a key whose object is
    /// gone is skipped). After an error, `error_policy` may ask for a later retry with
    /// [`Action::requeue`]; the retry is never sooner than the queue's backoff.
    pub fn run<Ctx, E, R, F, P>(
        self,
        reconcile: R,
        error_policy: P,
        context: Arc<Ctx>,
    ) -> impl Stream<Item = Outcome<E>> + Send + 'static
    where
        Ctx: Send + Sync + 'static,
        E: std::error::Error + Send + 'static,
        R: FnMut(Arc<K>, Arc<Ctx>) -> F + Send + 'static,
        F: Future<Output = Result<Action, E>> + Send + 'static,
        P: FnMut(Arc<K>, &E, Arc<Ctx>) -> Action + Send + 'static,
    {
        let mut triggers = futures::stream::SelectAll::new();
        let mut events = futures::stream::SelectAll::new();
        let mut waits = Vec::new();
        let mut checks = Vec::new();
        for part in self.inputs {
            triggers.push(part.triggers);
            if let Some(e) = part.events {
                events.push(e);
            }
            waits.push(part.ready);
            checks.push((part.name, part.is_ready));
        }
        for t in self.external {
            triggers.push(t);
        }
        let readiness = Readiness {
            wait: futures::future::join_all(waits).map(|_| ()).boxed(),
            pending: Box::new(move || {
                checks.iter().filter(|(_, ready)| !ready()).map(|(name, _)| name.to_string()).collect()
            }),
            timeout: self.readiness_timeout,
            deadline: None,
        };
        let drainer =
            self.shard.as_ref().and_then(|g| g.background(self.store.clone(), self.dyntype.clone()));
        let reconcile = sharded(self.shard, reconcile);
        let run = Run {
            store: self.store,
            scheduler: Scheduler::with_rate_limit_boxed(self.config, self.rate_limit),
            triggers,
            events,
            readiness: Some(readiness),
            gate: self.gate,
            gate_closed: false,
            shutdown: self.shutdown,
            grace: self.grace,
            reconcile_timeout: self.reconcile_timeout,
            observe: self.observe,
            reconcile,
            error_policy,
            context,
            running: futures::stream::FuturesUnordered::new(),
            stopping: None,
            ended: false,
        };
        futures::stream::unfold((run, drainer), |(mut run, mut drainer)| async move {
            let outcome = {
                let mut next = std::pin::pin!(run.next());
                loop {
                    // The drain loop is driven with the run loop; it ends with the store's writer.
                    match drainer.as_mut() {
                        None => break next.await,
                        Some(d) => match futures::future::select(next.as_mut(), d.as_mut()).await {
                            Either::Left((outcome, _)) => break outcome,
                            Either::Right(((), _)) => drainer = None,
                        },
                    }
                }
            }?;
            Some((outcome, (run, drainer)))
        })
    }
}

/// How long a reconcile of an object let go a moment ago waits before it is tried again.
const RELEASED_RETRY: Duration = Duration::from_millis(200);

/// A reconcile's future: the user's own, or the shard member's wrapper.
type Sharded<F, E> = Either<F, BoxFuture<'static, Result<Action, E>>>;

/// `reconcile` as a shard member runs it: only for objects it owns, and cancelled (to be retried)
/// when the membership is lost.
fn sharded<K, Ctx, E, R, F>(
    gate: Option<Gate>,
    mut reconcile: R,
) -> impl FnMut(Arc<K>, Arc<Ctx>) -> Sharded<F, E> + Send + 'static
where
    K: Cacheable,
    Ctx: Send + Sync + 'static,
    E: Send + 'static,
    R: FnMut(Arc<K>, Arc<Ctx>) -> F + Send + 'static,
    F: Future<Output = Result<Action, E>> + Send + 'static,
{
    move |obj, ctx| {
        let Some(gate) = &gate else { return Either::Left(reconcile(obj, ctx)) };
        let key = ObjectRef::from_obj(&*obj);
        match gate.begin(&key, &*obj) {
            Begin::Skip => Either::Right(async { Ok(Action::await_change()) }.boxed()),
            Begin::Later => Either::Right(async { Ok(Action::requeue(RELEASED_RETRY)) }.boxed()),
            Begin::Run(guard) => {
                let fut = reconcile(obj, ctx);
                let mut alive = gate.alive();
                Either::Right(
                    async move {
                        let _running = guard;
                        tokio::select! {
                            biased;
                            r = fut => r,
                            _ = alive.wait_for(|a| !*a) => {
                                tracing::warn!(object = %key, "reconcile cancelled: this replica lost its shard membership");
                                Ok(Action::requeue(RELEASED_RETRY))
                            }
                        }
                    }
                    .boxed(),
                )
            }
        }
    }
}
