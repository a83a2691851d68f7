//! Leader election on a `coordination.k8s.io/v1` Lease, with client-go's semantics, so that of
//! several replicas of a controller exactly one acts at a time.
//!
//! - A candidate takes the lease when it is free, or when its record has not changed for the
//!   lease duration **as observed on the local clock**: the record's timestamps are written for
//!   humans and never compared with local time, so clock skew between nodes cannot cause two
//!   leaders.
//! - The leader renews every retry period and steps down (publishes `false`) once no renewal has
//!   succeeded within the renew deadline, counted from the start of the last successful request.
//!   Because the lease duration exceeds the renew deadline, a leader cut off from the API stops
//!   before anyone else may take over.
//! - `leaseTransitions` is incremented on every change of holder; writes are compare-and-swap on
//!   the resourceVersion, and conflicts (409) only mean another candidate wrote first.
//! - On graceful shutdown the leader releases the lease (empty holder, one-second duration): the
//!   next candidate takes over at its next try instead of after the lease duration.
//!
//! Defaults are controller-runtime's (15 s / 10 s / 2 s) and validated as client-go does:
//! lease duration > renew deadline > 1.2 × retry period.
//!
//! ```no_run
//! # async fn run(client: kube_client::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use futures::StreamExt;
//! use k8s_openapi::api::coordination::v1::Lease;
//! use kube_client::Api;
//! use kube_runtime::leader::{Config, LeaderElector};
//!
//! let elector = LeaderElector::new(Api::<Lease>::namespaced(client, "operators"), Config::new("my-operator"))?;
//! let leadership = elector.leadership();
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let election = tokio::spawn(elector.run(async { let _ = stopped.await; }));
//! let mut changes = Box::pin(leadership.changes());
//! while let Some(leading) = changes.next().await {
//!     println!("leading: {leading}");
//! #   break;
//! }
//! let _ = stop.send(());
//! election.await??;
//! # Ok(()) }
//! ```
//!
//! # High availability versus scale-out
//!
//! Leader election buys **availability**, not throughput: run two or three replicas, all of them
//! watching and caching (their stores stay warm while they follow, so a new leader reconciles at
//! once instead of listing everything first), and only the leader reconciles - pass
//! [`Leadership::receiver`] to the Controller's gate, or wrap the work in [`Leadership::lead`].
//! Handover takes at most the lease duration plus one retry period after a crash, and about one
//! request after a graceful shutdown. The leader still does all the work and holds all objects in
//! memory; a shared cache (one reflector store feeding several controllers in one process) saves
//! memory and API load within a replica, but does not spread work across replicas.
//!
//! When one leader is no longer enough (too many objects for one process's memory, or reconcile
//! work that one process cannot keep up with), **shard**: split the objects between replicas
//! (a Lease per shard, objects assigned by a label or a hash of their uid, each replica watching
//! only its shard with a selector) so that each replica caches and reconciles a part. Sharding
//! and leader election compose: each shard can itself have a leader and standbys.

mod config;
mod elector;
mod leadership;
pub(crate) mod record;

pub use config::{Config, Error, default_identity};
pub use elector::LeaderElector;
pub use leadership::Leadership;
