//! `Reason`: why a reconcile happened, carried from the trigger to the reconcile's span.

use std::{fmt, sync::Arc};

use crate::reflector::ObjectRef;

/// Why a key was queued: shown in each reconcile's tracing span (`reason`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// An object of an input changed (or was deleted): the primary itself, or an owned or
    /// watched object mapped to this key.
    Changed {
        /// Which input: `primary Widget`, `owned ConfigMap`, `watched Secret`.
        input: Arc<str>,
        /// The object that changed.
        object: ObjectRef,
        /// Whether it was deleted.
        deleted: bool,
        /// Whether the change came from a (re)list rather than a live watch event.
        resync: bool,
    },
    /// A [`reconcile_on`](super::Controller::reconcile_on) stream asked for it.
    External,
    /// The last reconcile asked for a requeue.
    Requeue,
    /// The last reconcile failed; this is a retry after backoff.
    Retry {
        /// Failures in a row so far.
        failures: u32,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Changed { input, object, deleted, resync } => {
                let what = if *deleted { "deleted" } else { "changed" };
                let how = if *resync { " (resync)" } else { "" };
                write!(f, "{input} {object} {what}{how}")
            }
            Self::External => f.write_str("external trigger"),
            Self::Requeue => f.write_str("requeue requested"),
            Self::Retry { failures } => write!(f, "retry after {failures} failure(s)"),
        }
    }
}
