//! `Observe`: the one observation point of a controller and its work queue, for metrics.

use std::time::Duration;

use crate::reflector::ObjectRef;

/// How a reconcile ended, as a metrics label (controller-runtime's `result` label values where
/// they exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReconcileResult {
    /// The reconcile returned `Ok` with [`Action::await_change`](super::Action::await_change).
    Success,
    /// The reconcile returned `Ok` with [`Action::requeue`](super::Action::requeue).
    Requeue,
    /// The reconcile returned an error.
    Error,
    /// The reconcile panicked (reported as an error for its key).
    Panic,
    /// The reconcile ran past the controller's reconcile timeout.
    Timeout,
}

impl ReconcileResult {
    /// The label value: `success`, `requeue_after`, `error`, `panic` or `timeout`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Requeue => "requeue_after",
            Self::Error => "error",
            Self::Panic => "panic",
            Self::Timeout => "timeout",
        }
    }

    /// Whether this counts as a failure (error, panic or timeout).
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Error | Self::Panic | Self::Timeout)
    }
}

/// The priority a key was queued with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// A fresh change, a requeue, a retry or an external trigger: served first.
    Live,
    /// A change seen while a store was (re)syncing its list: served after due live keys (one in
    /// every [`LIVE_BURST`](crate::scheduler::LIVE_BURST) + 1 pops while both are due).
    Resync,
}

/// Receives what a controller does, for metrics. Every method has an empty default body, so an
/// implementation picks what it needs. Methods are called from the controller's run loop: keep
/// them cheap and never block.
///
/// Install one with [`Controller::observe`](super::Controller::observe).
///
/// ```
/// use std::{sync::atomic::{AtomicUsize, Ordering}, time::Duration};
/// use kube_runtime::controller::{Observe, ReconcileResult};
/// use kube_runtime::reflector::ObjectRef;
///
/// #[derive(Default)]
/// struct CountErrors(AtomicUsize);
///
/// impl Observe for CountErrors {
///     fn reconcile_finished(&self, _key: &ObjectRef, result: ReconcileResult, _took: Duration) {
///         if result.is_failure() {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// ```
pub trait Observe: Send + Sync + 'static {
    /// `key` entered the queue (or was merged into its waiting entry) with `priority`.
    fn queued(&self, key: &ObjectRef, priority: Priority) {
        let _ = (key, priority);
    }
    /// `key` left the queue to be reconciled, `waited` after it became due.
    fn dequeued(&self, key: &ObjectRef, waited: Duration) {
        let _ = (key, waited);
    }
    /// A reconcile of `key` started.
    fn reconcile_started(&self, key: &ObjectRef) {
        let _ = key;
    }
    /// A reconcile of `key` ended with `result` after `took`.
    fn reconcile_finished(&self, key: &ObjectRef, result: ReconcileResult, took: Duration) {
        let _ = (key, result, took);
    }
    /// `key` was queued again after a failure (with backoff).
    fn retried(&self, key: &ObjectRef) {
        let _ = key;
    }
    /// How many keys wait in the queue (running ones excluded).
    fn depth(&self, depth: usize) {
        let _ = depth;
    }
    /// How many reconciles are running.
    fn active_workers(&self, active: usize) {
        let _ = active;
    }
}

/// An observer that ignores everything (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserve;

impl Observe for NoObserve {}
