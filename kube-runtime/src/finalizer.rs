//! Finalizers: run a cleanup before an object goes away.
//!
//! [`finalizer`] wraps a reconcile: it adds the finalizer before the first apply, runs the
//! cleanup once the object is being deleted, and then removes the finalizer so the API server
//! can delete it. Both patches are JSON patches with a `test` of the finalizer list, so a
//! concurrent writer of the list is never clobbered: the patch fails (the error names the
//! object and step), the reconcile is retried, and the next attempt sees the new list. Other
//! fields (labels, spec) are not touched at all.
//!
//! ```no_run
//! use std::sync::Arc;
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use kube_client::Api;
//! use kube_runtime::{controller::Action, finalizer::{self, finalizer}};
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("oops")]
//! struct Oops;
//!
//! async fn reconcile(obj: Arc<ConfigMap>, api: Arc<Api<ConfigMap>>) -> Result<Action, finalizer::Error<Oops>> {
//!     finalizer(&api, "example.com/cleanup", obj, |event| async move {
//!         match event {
//!             finalizer::Event::Apply(_cm) => Ok(Action::await_change()),
//!             finalizer::Event::Cleanup(_cm) => Ok(Action::await_change()), // release what it holds
//!         }
//!     })
//!     .await
//! }
//! ```

use std::{future::Future, sync::Arc};

use kube_client::{
    Api,
    api::{Patch, PatchParams},
};
use kube_core::Resource;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::json;

use crate::{controller::Action, reflector::ObjectRef};

/// What the wrapped reconcile is asked to do.
#[derive(Debug, Clone)]
pub enum Event<K> {
    /// The object exists and carries the finalizer: bring the world in line with it.
    Apply(Arc<K>),
    /// The object is being deleted: release what it holds. The finalizer is removed once this
    /// succeeds.
    Cleanup(Arc<K>),
}

/// What went wrong, and at which step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error<E: std::error::Error + 'static> {
    /// The apply reconcile failed.
    #[error("apply reconcile of {object} failed: {source}")]
    ApplyFailed {
        /// The object.
        object: ObjectRef,
        /// The reconcile's error.
        #[source]
        source: E,
    },
    /// The cleanup reconcile failed; the finalizer stays.
    #[error("cleanup of {object} failed: {source}")]
    CleanupFailed {
        /// The object.
        object: ObjectRef,
        /// The cleanup's error.
        #[source]
        source: E,
    },
    /// Adding the finalizer failed (a concurrent change of the list fails the patch's test:
    /// the retry sees the new list).
    #[error("adding finalizer {finalizer} to {object} failed: {source}")]
    AddFinalizer {
        /// The object.
        object: ObjectRef,
        /// The finalizer.
        finalizer: String,
        /// The API error.
        #[source]
        source: kube_client::Error,
    },
    /// Removing the finalizer failed.
    #[error("removing finalizer {finalizer} from {object} failed: {source}")]
    RemoveFinalizer {
        /// The object.
        object: ObjectRef,
        /// The finalizer.
        finalizer: String,
        /// The API error.
        #[source]
        source: kube_client::Error,
    },
    /// The object has no name, so it cannot be patched.
    #[error("the object has no name")]
    UnnamedObject,
}

/// Runs `reconcile` for `obj` under the finalizer `name`; see the [module docs](self).
///
/// - not being deleted, finalizer missing: adds it and returns `await_change` (the patch
///   triggers the next reconcile, which applies);
/// - not being deleted, finalizer present: `reconcile(Event::Apply)`;
/// - being deleted, finalizer present: `reconcile(Event::Cleanup)`, then removes the finalizer;
/// - being deleted, finalizer gone: nothing (`await_change`).
pub async fn finalizer<K, E, F, Fut>(
    api: &Api<K>,
    name: &str,
    obj: Arc<K>,
    reconcile: F,
) -> Result<Action, Error<E>>
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug + Send + Sync + 'static,
    E: std::error::Error + 'static,
    F: FnOnce(Event<K>) -> Fut,
    Fut: Future<Output = Result<Action, E>>,
{
    let meta = obj.meta();
    let object_name = meta.name.clone().ok_or(Error::UnnamedObject)?;
    let object = ObjectRef::from_obj(obj.as_ref());
    let finalizers = meta.finalizers.clone().unwrap_or_default();
    let position = finalizers.iter().position(|f| f == name);
    let pp = PatchParams::default();
    match (meta.deletion_timestamp.is_some(), position) {
        (false, Some(_)) => {
            reconcile(Event::Apply(obj)).await.map_err(|source| Error::ApplyFailed { object, source })
        }
        (false, None) => {
            let patch = match meta.finalizers {
                // No list yet: test that there still is none.
                None => json!([
                    {"op": "test", "path": "/metadata/finalizers", "value": null},
                    {"op": "add", "path": "/metadata/finalizers", "value": [name]},
                ]),
                Some(_) => json!([
                    {"op": "test", "path": "/metadata/finalizers", "value": finalizers},
                    {"op": "add", "path": "/metadata/finalizers/-", "value": name},
                ]),
            };
            api.patch(&object_name, &pp, &Patch::Json(patch)).await.map_err(|source| {
                Error::AddFinalizer { object: object.clone(), finalizer: name.to_string(), source }
            })?;
            tracing::debug!(%object, finalizer = name, "added finalizer");
            Ok(Action::await_change())
        }
        (true, Some(index)) => {
            let action = reconcile(Event::Cleanup(obj))
                .await
                .map_err(|source| Error::CleanupFailed { object: object.clone(), source })?;
            let path = format!("/metadata/finalizers/{index}");
            let patch = json!([
                {"op": "test", "path": path, "value": name},
                {"op": "remove", "path": path},
            ]);
            api.patch(&object_name, &pp, &Patch::Json(patch)).await.map_err(|source| {
                Error::RemoveFinalizer { object: object.clone(), finalizer: name.to_string(), source }
            })?;
            tracing::debug!(%object, finalizer = name, "cleaned up and removed finalizer");
            Ok(action)
        }
        (true, None) => Ok(Action::await_change()),
    }
}
