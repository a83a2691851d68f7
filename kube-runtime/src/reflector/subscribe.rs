//! Subscriptions to a store's changes: each subscriber has its own queue of changed keys,
//! merged per object, so a slow subscriber neither loses the latest state nor slows the others.

use std::{
    collections::VecDeque,
    pin::Pin,
    sync::{Arc, Mutex, Weak},
    task::{Context, Poll},
};

use ahash::AHashMap;
use futures::Stream;
use tokio::sync::Notify;

use super::{ObjectRef, store::Shared};

/// What happened to an object, as a subscriber sees it.
///
/// Changes a subscriber has not consumed yet are merged per object: it always gets the latest
/// state, but a deletion followed by a re-creation under the same name arrives as one `Applied`
/// (compare uids if that matters).
#[derive(Debug, Clone)]
pub enum Changed<K> {
    /// The object exists in this (current) state.
    Applied(Arc<K>),
    /// The object was deleted; this was its last state.
    Deleted(Arc<K>),
}

impl<K> Changed<K> {
    /// The object.
    pub fn object(&self) -> &Arc<K> {
        match self {
            Self::Applied(o) | Self::Deleted(o) => o,
        }
    }
}

#[derive(Debug)]
pub(crate) enum Change<K> {
    Applied,
    Deleted(Arc<K>),
}

struct Queue<K> {
    order: VecDeque<ObjectRef>,
    pending: AHashMap<ObjectRef, Change<K>>,
    closed: bool,
}

struct Slot<K> {
    queue: Mutex<Queue<K>>,
    notify: Notify,
}

impl<K> Slot<K> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue<K>> {
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The subscribers of one store.
pub(crate) struct Subscribers<K> {
    slots: Mutex<Vec<Weak<Slot<K>>>>,
    /// Set when the writer is gone: later subscriptions start closed.
    closed: std::sync::atomic::AtomicBool,
}

impl<K> Default for Subscribers<K> {
    fn default() -> Self {
        Self { slots: Mutex::new(Vec::new()), closed: std::sync::atomic::AtomicBool::new(false) }
    }
}

impl<K> Subscribers<K> {
    fn slots(&self) -> std::sync::MutexGuard<'_, Vec<Weak<Slot<K>>>> {
        self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn add(&self, shared: Arc<Shared<K>>, current: Vec<ObjectRef>) -> Subscription<K> {
        let pending = current.iter().map(|k| (k.clone(), Change::Applied)).collect();
        let mut slots = self.slots();
        let closed = self.closed.load(std::sync::atomic::Ordering::SeqCst);
        let slot = Arc::new(Slot {
            queue: Mutex::new(Queue { order: current.into(), pending, closed }),
            notify: Notify::new(),
        });
        slots.push(Arc::downgrade(&slot));
        drop(slots);
        Subscription { slot, shared, waiting: None }
    }

    pub(crate) fn notify(&self, key: ObjectRef, change: Change<K>)
    where
        K: Clone,
    {
        let mut slots = self.slots();
        slots.retain(|w| w.strong_count() > 0);
        for slot in slots.iter().filter_map(Weak::upgrade) {
            let mut q = slot.lock();
            let change = match &change {
                Change::Applied => Change::Applied,
                Change::Deleted(o) => Change::Deleted(o.clone()),
            };
            if q.pending.insert(key.clone(), change).is_none() {
                q.order.push_back(key.clone());
            }
            drop(q);
            slot.notify.notify_one();
        }
    }

    /// Whether anyone subscribed (and is still there).
    pub(crate) fn any(&self) -> bool {
        self.slots().iter().any(|w| w.strong_count() > 0)
    }

    pub(crate) fn close(&self) {
        let slots = self.slots();
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        for slot in slots.iter().filter_map(Weak::upgrade) {
            slot.lock().closed = true;
            slot.notify.notify_one();
        }
    }
}

/// A stream of [`Changed`] objects of a store: first its whole state, then every change.
/// It ends when the store's writer is dropped.
pub struct Subscription<K> {
    slot: Arc<Slot<K>>,
    shared: Arc<Shared<K>>,
    waiting: Option<Pin<Box<dyn std::future::Future<Output = ()> + Send>>>,
}

impl<K: serde::de::DeserializeOwned + Send + Sync + 'static> Subscription<K> {
    fn try_next(&self) -> Option<Option<Changed<K>>> {
        loop {
            let (key, change) = {
                let mut q = self.slot.lock();
                let Some(key) = q.order.pop_front() else {
                    return if q.closed { Some(None) } else { None };
                };
                let Some(change) = q.pending.remove(&key) else { continue };
                (key, change)
            };
            // Decoding happens outside the queue's lock, so the writer never waits on it.
            match change {
                Change::Deleted(obj) => return Some(Some(Changed::Deleted(obj))),
                Change::Applied => {
                    // The current state; if it is gone a Deleted change is already queued.
                    let current = self.shared.read().objects.get(&key).map(|e| e.clone_value());
                    if let Some(obj) = current.and_then(super::store::Entry::decode_value) {
                        return Some(Some(Changed::Applied(obj)));
                    }
                }
            }
        }
    }
}

impl<K: serde::de::DeserializeOwned + Send + Sync + 'static> Stream for Subscription<K> {
    type Item = Changed<K>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Changed<K>>> {
        loop {
            if let Some(next) = self.try_next() {
                self.waiting = None;
                return Poll::Ready(next);
            }
            if self.waiting.is_none() {
                let slot = self.slot.clone();
                self.waiting = Some(Box::pin(async move { slot.notify.notified().await }));
            }
            let Some(waiting) = self.waiting.as_mut() else { return Poll::Pending };
            match waiting.as_mut().poll(cx) {
                Poll::Ready(()) => self.waiting = None,
                Poll::Pending => {
                    // A change may have arrived between the check and the registration.
                    if let Some(next) = self.try_next() {
                        self.waiting = None;
                        return Poll::Ready(next);
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}
