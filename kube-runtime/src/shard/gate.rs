//! Whether a reconcile may start on a shard member, by assignment mode: with labels, the
//! object's owner label and the drain handshake ([`Drain`]); server-side, the member's active
//! slots ([`Claims`]).

use std::sync::Arc;

use futures::{FutureExt, future::BoxFuture};
use kube_core::{Resource, selector::ShardField};
use tokio::sync::watch;

use super::{
    Assignment, Shard,
    claims::{Claims, SlotGuard},
    drain::{Drain, KeyGuard, KeyStart},
    slots::Slots,
};
use crate::reflector::{Cacheable, ObjectRef, Store};

/// The reconcile gate of one sharded controller.
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    alive: watch::Receiver<bool>,
    mode: Mode,
}

#[derive(Debug, Clone)]
enum Mode {
    /// Label assignment: objects labelled for this replica, let go on request.
    Labels(Arc<Drain>),
    /// Server-side assignment: objects whose `field` hashes into an active slot.
    Slots { claims: Arc<Claims>, field: ShardField },
}

/// Whether a reconcile may run, as [`Gate::begin`] decides.
#[derive(Debug)]
pub(crate) enum Begin {
    /// Run it; the guard marks it running until dropped.
    Run(RunGuard),
    /// Not ours (any more): skip it.
    Skip,
    /// Let go a moment ago and back without a drain request: try again shortly.
    Later,
}

/// Marks one reconcile as running, until dropped: its key under label assignment, its slot
/// server-side.
#[derive(Debug)]
pub(crate) enum RunGuard {
    /// Under label assignment.
    Key(#[allow(dead_code, reason = "held for its Drop")] KeyGuard),
    /// Under server-side assignment.
    Slot(#[allow(dead_code, reason = "held for its Drop")] SlotGuard),
}

impl Gate {
    /// The gate for `shard`'s assignment mode.
    pub(crate) fn new(shard: &Shard) -> Self {
        let mode = match shard.config().assignment {
            Assignment::Labels => Mode::Labels(Drain::new(shard)),
            Assignment::Server(field) => Mode::Slots { claims: shard.claims().clone(), field },
        };
        Self { alive: shard.alive(), mode }
    }

    /// This replica's membership: reconciles run only while it holds, and stop when it is lost.
    pub(crate) fn alive(&self) -> watch::Receiver<bool> {
        self.alive.clone()
    }

    /// Called as a reconcile of `obj` (whose key is `key`) starts.
    pub(crate) fn begin<K: Resource>(&self, key: &ObjectRef, obj: &K) -> Begin {
        match &self.mode {
            Mode::Labels(drain) => match drain.begin(key, obj) {
                KeyStart::Run(guard) => Begin::Run(RunGuard::Key(guard)),
                KeyStart::NotOurs => Begin::Skip,
                KeyStart::JustLetGo => Begin::Later,
            },
            Mode::Slots { claims, field } => {
                let meta = obj.meta();
                let value = match field {
                    ShardField::Uid => meta.uid.as_deref(),
                    ShardField::Namespace => Some(meta.namespace.as_deref().unwrap_or_default()),
                };
                match value.and_then(|v| claims.begin(Slots::slot_of(v))) {
                    Some(guard) => Begin::Run(RunGuard::Slot(guard)),
                    None => Begin::Skip,
                }
            }
        }
    }

    /// The work the gate does beside the run loop over `store`: the drain loop under label
    /// assignment; none server-side, where the member's claim loop gives slots up.
    pub(crate) fn background<K: Cacheable>(
        &self,
        store: Store<K>,
        dyntype: K::DynamicType,
    ) -> Option<BoxFuture<'static, ()>> {
        match &self.mode {
            Mode::Labels(drain) => Some(drain.clone().run(store, dyntype).boxed()),
            Mode::Slots { .. } => None,
        }
    }
}
