//! The errors a controller's run stream yields next to its successful outcomes.

use std::time::Duration;

use crate::{reflector::ObjectRef, watcher};

/// What went wrong in a controller. Only [`Error::NotReady`] ends the run stream; the others
/// are reported for one key or one input and the controller carries on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error<E: std::error::Error + 'static> {
    /// The reconcile of `object` returned an error; it is retried after backoff.
    #[error("reconcile of {object} failed: {source}")]
    Reconcile {
        /// The object.
        object: ObjectRef,
        /// The reconcile's error.
        #[source]
        source: E,
    },
    /// The reconcile of `object` panicked; it is retried after backoff.
    #[error("reconcile of {object} panicked: {message}")]
    Panicked {
        /// The object.
        object: ObjectRef,
        /// The panic's message, when it was a string.
        message: String,
    },
    /// The reconcile of `object` ran past the reconcile timeout and was cancelled; it is
    /// retried after backoff.
    #[error("reconcile of {object} timed out after {after:?}")]
    TimedOut {
        /// The object.
        object: ObjectRef,
        /// The timeout.
        after: Duration,
    },
    /// A watch of an input failed; its watcher retries by itself.
    #[error("an input's watch failed (it is retried): {0}")]
    Watch(#[source] Box<watcher::Error>),
    /// Some stores were still not synced after the readiness timeout: the controller never
    /// started reconciling, and its run stream ends.
    #[error("stores not synced after {timeout:?}: {}", waiting.join(", "))]
    NotReady {
        /// The readiness timeout.
        timeout: Duration,
        /// The inputs whose stores were not ready.
        waiting: Vec<String>,
    },
}

impl<E: std::error::Error + 'static> Error<E> {
    /// The object the error is about, for per-object errors.
    pub fn object(&self) -> Option<&ObjectRef> {
        match self {
            Self::Reconcile { object, .. }
            | Self::Panicked { object, .. }
            | Self::TimedOut { object, .. } => Some(object),
            Self::Watch(_) | Self::NotReady { .. } => None,
        }
    }
}
