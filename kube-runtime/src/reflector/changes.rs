//! The fan-out of a store's changes: each subscriber has its own queue of changed keys, merged
//! per object, so a slow subscriber neither loses the latest state nor slows the others.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError, Weak,
        atomic::{AtomicBool, Ordering},
    },
};

use ahash::AHashMap;
use tokio::sync::Notify;

use super::{ObjectRef, cache::Stored};

/// What happened to a key, as queued for a subscriber.
pub(crate) enum Change<K> {
    /// The key has a (new) state; subscribers read it from the store when they take the change.
    Applied,
    /// The key was deleted; this was its last state (decoded only by subscribers that want it).
    Deleted(Stored<K>),
}

impl<K> Clone for Change<K> {
    fn clone(&self) -> Self {
        match self {
            Self::Applied => Self::Applied,
            Self::Deleted(v) => Self::Deleted(v.clone()),
        }
    }
}

/// A queued change and whether it came only from a resync (the subscription's initial state or
/// a relist): a live change merged onto a resync change makes the merged change live.
pub(crate) struct Pending<K> {
    pub(crate) change: Change<K>,
    pub(crate) resync: bool,
}

pub(crate) struct Queue<K> {
    order: VecDeque<ObjectRef>,
    pending: AHashMap<ObjectRef, Pending<K>>,
    closed: bool,
}

impl<K> Queue<K> {
    /// The oldest queued key and its merged change; `Err(closed)` when there is none.
    pub(crate) fn pop(&mut self) -> Result<(ObjectRef, Pending<K>), bool> {
        while let Some(key) = self.order.pop_front() {
            if let Some(p) = self.pending.remove(&key) {
                return Ok((key, p));
            }
        }
        Err(self.closed)
    }

    fn push(&mut self, key: &ObjectRef, change: Change<K>, resync: bool) {
        match self.pending.get_mut(key) {
            Some(p) => {
                p.change = change;
                p.resync &= resync;
            }
            None => {
                self.pending.insert(key.clone(), Pending { change, resync });
                self.order.push_back(key.clone());
            }
        }
    }
}

/// One subscriber's queue and its wake-up.
pub(crate) struct Slot<K> {
    queue: Mutex<Queue<K>>,
    pub(crate) notify: Notify,
}

impl<K> Slot<K> {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Queue<K>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The subscribers of one store.
pub(crate) struct Subscribers<K> {
    slots: Mutex<Vec<Weak<Slot<K>>>>,
    /// Set when the writer is gone: later subscriptions start closed.
    closed: AtomicBool,
}

impl<K> Default for Subscribers<K> {
    fn default() -> Self {
        Self { slots: Mutex::new(Vec::new()), closed: AtomicBool::new(false) }
    }
}

impl<K> Subscribers<K> {
    fn slots(&self) -> MutexGuard<'_, Vec<Weak<Slot<K>>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new subscriber whose queue starts with `current` (resync changes).
    pub(crate) fn add(&self, current: Vec<ObjectRef>) -> Arc<Slot<K>> {
        let pending =
            current.iter().map(|k| (k.clone(), Pending { change: Change::Applied, resync: true })).collect();
        let mut slots = self.slots();
        let closed = self.closed.load(Ordering::SeqCst);
        let slot = Arc::new(Slot {
            queue: Mutex::new(Queue { order: current.into(), pending, closed }),
            notify: Notify::new(),
        });
        slots.push(Arc::downgrade(&slot));
        slot
    }

    /// Queues `change` of `key` for every subscriber.
    pub(crate) fn notify(&self, key: &ObjectRef, change: Change<K>, resync: bool) {
        let mut slots = self.slots();
        slots.retain(|w| w.strong_count() > 0);
        for slot in slots.iter().filter_map(Weak::upgrade) {
            slot.lock().push(key, change.clone(), resync);
            slot.notify.notify_one();
        }
    }

    /// Whether anyone subscribed (and is still there).
    pub(crate) fn any(&self) -> bool {
        self.slots().iter().any(|w| w.strong_count() > 0)
    }

    /// Ends every subscription once its queue is drained.
    pub(crate) fn close(&self) {
        let slots = self.slots();
        self.closed.store(true, Ordering::SeqCst);
        for slot in slots.iter().filter_map(Weak::upgrade) {
            slot.lock().closed = true;
            slot.notify.notify_one();
        }
    }
}
