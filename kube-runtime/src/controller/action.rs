//! `Action`: what a reconcile asks the controller to do next with its object.

use std::time::Duration;

/// What should happen to an object after a reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Action {
    requeue_after: Option<Duration>,
}

impl Action {
    /// Reconcile the object again after `after`, even if nothing changes (a change sooner
    /// triggers it sooner).
    pub fn requeue(after: Duration) -> Self {
        Self { requeue_after: Some(after) }
    }

    /// Reconcile the object again only when it (or a related object) changes.
    pub fn await_change() -> Self {
        Self { requeue_after: None }
    }

    /// The requeue delay, if any.
    pub fn requeue_after(&self) -> Option<Duration> {
        self.requeue_after
    }
}
