//! The controller: reconciles each object of a primary resource when it or a related object
//! changes, through a work queue with per-key backoff and priorities.

mod action;
mod observe;

pub use action::Action;
pub use observe::{NoObserve, Observe, Priority, ReconcileResult};
