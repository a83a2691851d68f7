//! Subscriptions to a store's changes, as streams: [`Subscription`] yields the changed objects,
//! [`KeySubscription`] only their keys (nothing is decoded), for work queues.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use futures::Stream;
use serde::de::DeserializeOwned;

use super::{
    ObjectRef,
    cache::Shared,
    changes::{Change, Slot},
};

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

/// A change of one key, without its object: what a work queue needs.
///
/// Changes are merged per key exactly like [`Changed`]s: `deleted` tells the latest one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyChange {
    /// The key of the object.
    pub key: ObjectRef,
    /// Whether the object is gone (its latest change was a deletion).
    pub deleted: bool,
    /// Whether the change comes only from a resync: the subscription's initial state or a
    /// relist that replaced the store. A live change merged onto a resync change makes it live.
    pub resync: bool,
}

/// Waits on one subscriber slot; shared by both kinds of subscription.
struct Waiter<K> {
    slot: Arc<Slot<K>>,
    waiting: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl<K: Send + Sync + 'static> Waiter<K> {
    /// Polls `take` (`Some(item)`, `Some(None)` at the end, `None` when nothing is queued) until
    /// it has something, registering for a wake-up in between.
    fn poll_with<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut take: impl FnMut(&Slot<K>) -> Option<Option<T>>,
    ) -> Poll<Option<T>> {
        loop {
            if let Some(next) = take(&self.slot) {
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
                    if let Some(next) = take(&self.slot) {
                        self.waiting = None;
                        return Poll::Ready(next);
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

/// A stream of [`Changed`] objects of a store: first its whole state, then every change.
/// It ends when the store's writer is dropped.
pub struct Subscription<K> {
    waiter: Waiter<K>,
    shared: Arc<Shared<K>>,
}

impl<K> Subscription<K> {
    pub(crate) fn new(slot: Arc<Slot<K>>, shared: Arc<Shared<K>>) -> Self {
        Self { waiter: Waiter { slot, waiting: None }, shared }
    }
}

fn take_changed<K: DeserializeOwned>(slot: &Slot<K>, shared: &Shared<K>) -> Option<Option<Changed<K>>> {
    loop {
        let (key, pending) = match slot.lock().pop() {
            Ok(next) => next,
            Err(closed) => return closed.then_some(None),
        };
        // Decoding happens outside the queue's lock, so the writer never waits on it.
        match pending.change {
            Change::Deleted(last) => {
                if let Some(obj) = last.decode() {
                    return Some(Some(Changed::Deleted(obj)));
                }
            }
            Change::Applied => {
                // The current state; if it is gone a Deleted change is already queued.
                if let Some(obj) = shared.value(&key).and_then(|v| v.decode()) {
                    return Some(Some(Changed::Applied(obj)));
                }
            }
        }
    }
}

impl<K: DeserializeOwned + Send + Sync + 'static> Stream for Subscription<K> {
    type Item = Changed<K>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Changed<K>>> {
        let this = self.get_mut();
        let shared = &this.shared;
        this.waiter.poll_with(cx, |slot| take_changed(slot, shared))
    }
}

/// A stream of [`KeyChange`]s of a store: first a resync change for every stored key, then each
/// change. Nothing is decoded. It ends when the store's writer is dropped.
pub struct KeySubscription<K> {
    waiter: Waiter<K>,
}

impl<K> KeySubscription<K> {
    pub(crate) fn new(slot: Arc<Slot<K>>) -> Self {
        Self { waiter: Waiter { slot, waiting: None } }
    }
}

impl<K: Send + Sync + 'static> Stream for KeySubscription<K> {
    type Item = KeyChange;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<KeyChange>> {
        self.get_mut().waiter.poll_with(cx, |slot| match slot.lock().pop() {
            Ok((key, p)) => Some(Some(KeyChange {
                key,
                deleted: matches!(p.change, Change::Deleted(_)),
                resync: p.resync,
            })),
            Err(closed) => closed.then_some(None),
        })
    }
}
