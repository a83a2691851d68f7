//! Sharding: a controller's objects split between replicas, each watching, caching and
//! reconciling only its share, on Kubernetes' own primitives (Leases and labels).
//!
//! - **Membership.** Each replica holds its own Lease (`<group>-member-<identity>`, labelled
//!   `shard.kube.rs/group=<group>`), renewed like a leader's. A replica whose Lease has not changed
//!   for the lease duration, on the observer's clock, has left; one that cannot renew stops
//!   reconciling (and cancels running reconciles) at its renew deadline, before anyone may take
//!   its objects.
//! - **Assignment.** An elected [`Assigner`] per kind labels each object
//!   `shard.kube.rs/<group>=<member>`, the member chosen by [rendezvous hashing](Ring) of the
//!   object's [key](Key) (owned objects follow their controller owner), so that adding or removing
//!   one of N members moves about 1/N of the objects.
//! - **Moves.** An object whose wanted owner changes while its owner lives is labelled
//!   `drain.shard.kube.rs/<group>`; the owner stops starting reconciles of it, waits for the
//!   running one, and removes both labels; only then is it labelled for the new owner. An owner
//!   that has left loses its objects at once. Every label write is conditional on the
//!   resourceVersion it was decided on. So **an object is never reconciled by two replicas at
//!   once**, and after a crash every object has a live owner again within about the lease
//!   duration plus one retry period.
//! - **Watching a share.** Each replica's controller watches with a label selector for its own
//!   identity ([`Shard::watcher`], [`Shard::watcher_config`]): its stores hold its share only.
//!
//! **Server-side assignment** ([`Assignment::Server`], [`Config::server_side`]) lets the
//! apiserver split the watches instead (`shardSelector`, Kubernetes 1.36+ behind the feature
//! gate `ShardedListAndWatch`; [`Shard::server_side_supported`] tells): the hash space of the
//! objects' uids (or namespaces) is cut into 64 [`Slots`], each given to a member by rendezvous
//! hashing. A member claims its slots in an annotation of its own Lease, and reconciles a slot
//! only once a read made after its claim shows no other live member claiming it (of two
//! claims, the later one's read sees the earlier); a slot it no longer owns stops being
//! reconciled at once and is given up once none of its reconciles runs. [`Shard::watcher`]
//! restarts its watch with a selector on the active slots whenever they change. No object is
//! written and no assigner runs; owned objects do not follow their owner.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use k8s_openapi::api::{coordination::v1::Lease, core::v1::ConfigMap};
//! # use kube_client::{Api, Client};
//! # use kube_runtime::{controller::{Action, Controller}, shard::{self, Assigner, Shard}, watcher};
//! # async fn reconcile(_: Arc<ConfigMap>, _: Arc<()>) -> Result<Action, std::io::Error> { Ok(Action::await_change()) }
//! # fn error_policy(_: Arc<ConfigMap>, _: &std::io::Error, _: Arc<()>) -> Action { Action::await_change() }
//! # async fn run(client: Client) -> Result<(), Box<dyn std::error::Error>> {
//! use futures::StreamExt;
//!
//! let shard = Shard::new(Api::<Lease>::namespaced(client.clone(), "operators"), shard::Config::new("cm-controller"))?;
//! let objects: Api<ConfigMap> = Api::all(client.clone());
//! let (stop, stopped) = tokio::sync::watch::channel(false);
//! let until_stopped = move || { let mut s = stopped.clone(); async move { let _ = s.wait_for(|s| *s).await; } };
//! // Every replica runs its membership and stands for the assigner election.
//! let membership = tokio::spawn(shard.clone().run(until_stopped()));
//! let assigner = tokio::spawn(Assigner::new(objects.clone(), &shard).run(until_stopped()));
//! Controller::new(objects, shard.watcher_config(watcher::Config::default()))
//!     .shard(&shard)
//!     .shutdown_on(kube_runtime::controller::signal())
//!     .run(reconcile, error_policy, Arc::new(()))
//!     .for_each(|_| async {})
//!     .await;
//! // The controller has stopped: now give the membership up, so the others take over at once.
//! let _ = stop.send(true);
//! membership.await??;
//! assigner.await??;
//! # Ok(()) }
//! ```

mod assigner;
mod claims;
mod config;
mod drain;
mod follow;
pub(crate) mod gate;
mod member;
mod observe;
mod ring;
mod slots;

pub use assigner::Assigner;
pub use config::{Assignment, Config, Error, GROUP_LABEL, Key};
pub use member::Shard;
pub use observe::{NoObserveShard, ObserveShard};
pub use ring::Ring;
pub use slots::{CLAIMS_ANNOTATION, SLOTS, Slots};
