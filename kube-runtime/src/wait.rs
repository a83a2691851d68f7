//! Waiting for an object to reach a condition: [`await_condition`], with a timeout in
//! [`await_condition_within`], and common [`conditions`].
//!
//! ```no_run
//! # async fn f(client: kube_client::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use k8s_openapi::api::core::v1::Pod;
//! use kube_client::Api;
//! use kube_runtime::wait::{await_condition_within, conditions};
//!
//! let pods: Api<Pod> = Api::namespaced(client, "default");
//! await_condition_within(Duration::from_secs(60), pods, "web-0", conditions::is_pod_running()).await?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use futures::StreamExt;
use kube_client::Api;
use kube_core::Resource;
use serde::{Serialize, de::DeserializeOwned};

use crate::watcher;

/// A condition on an object (`None` when it does not exist).
pub trait Condition<K>: Send {
    /// Whether `obj` meets the condition.
    fn matches(&self, obj: Option<&K>) -> bool;
}

impl<K, F: Fn(Option<&K>) -> bool + Send> Condition<K> for F {
    fn matches(&self, obj: Option<&K>) -> bool {
        self(obj)
    }
}

/// Why waiting ended without the condition.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The watch of the object ended (it does not end by itself: only a configuration error
    /// ends it).
    #[error("the watch of {name} ended before the condition was met")]
    WatchEnded {
        /// The object's name.
        name: String,
    },
    /// The watch's configuration is invalid (e.g. a bad name).
    #[error("cannot watch {name}: {source}")]
    Watch {
        /// The object's name.
        name: String,
        /// The watcher's error.
        #[source]
        source: Box<watcher::Error>,
    },
    /// The timeout passed.
    #[error("{name} did not meet the condition within {timeout:?}")]
    TimedOut {
        /// The object's name.
        name: String,
        /// The timeout.
        timeout: Duration,
    },
}

/// Waits until the object `name` meets `condition`; returns its state then (`None` if it
/// does not exist). Watch errors are retried by the watcher; only an invalid configuration
/// ends the wait early.
pub async fn await_condition<K>(
    api: Api<K>,
    name: &str,
    condition: impl Condition<K>,
) -> Result<Option<K>, Error>
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug + Send + Sync + 'static,
{
    let mut states = std::pin::pin!(watcher::watch_object(api, name));
    while let Some(state) = states.next().await {
        match state {
            Ok(obj) if condition.matches(obj.as_ref()) => return Ok(obj),
            Ok(_) => {}
            Err(source @ watcher::Error::InvalidConfig(_)) => {
                return Err(Error::Watch { name: name.to_string(), source: Box::new(source) });
            }
            Err(e) => tracing::debug!(error = %e, object = name, "watch error while waiting; retrying"),
        }
    }
    Err(Error::WatchEnded { name: name.to_string() })
}

/// [`await_condition`], giving up after `timeout`.
pub async fn await_condition_within<K>(
    timeout: Duration,
    api: Api<K>,
    name: &str,
    condition: impl Condition<K>,
) -> Result<Option<K>, Error>
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug + Send + Sync + 'static,
{
    tokio::time::timeout(timeout, await_condition(api, name, condition))
        .await
        .unwrap_or_else(|_| Err(Error::TimedOut { name: name.to_string(), timeout }))
}

/// Common conditions.
pub mod conditions {
    use k8s_openapi::{
        api::{batch::v1::Job, core::v1::Pod},
        apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    };
    use kube_core::Resource;
    use serde::Serialize;

    use super::Condition;

    /// The object with `uid` is gone (absent, or replaced by one with another uid).
    pub fn is_deleted<K: Resource>(uid: &str) -> impl Condition<K> + use<K> {
        let uid = uid.to_string();
        move |obj: Option<&K>| obj.is_none_or(|o| o.meta().uid.as_deref() != Some(uid.as_str()))
    }

    /// The CRD is `Established`.
    pub fn is_crd_established() -> impl Condition<CustomResourceDefinition> {
        |obj: Option<&CustomResourceDefinition>| {
            let conditions = obj.and_then(|o| o.status.as_ref()).and_then(|s| s.conditions.as_ref());
            conditions.is_some_and(|cs| cs.iter().any(|c| c.type_ == "Established" && c.status == "True"))
        }
    }

    /// The Pod's phase is `Running`.
    pub fn is_pod_running() -> impl Condition<Pod> {
        |obj: Option<&Pod>| {
            obj.and_then(|p| p.status.as_ref()).and_then(|s| s.phase.as_deref()) == Some("Running")
        }
    }

    /// The Job has the condition `Complete=True`.
    pub fn is_job_completed() -> impl Condition<Job> {
        |obj: Option<&Job>| {
            let conditions = obj.and_then(|j| j.status.as_ref()).and_then(|s| s.conditions.as_ref());
            conditions.is_some_and(|cs| cs.iter().any(|c| c.type_ == "Complete" && c.status == "True"))
        }
    }

    /// The object's `status.conditions` has `type_` with status `True` (any type with the
    /// usual conditions list, custom resources included).
    pub fn has_condition<K: Serialize>(type_: &str) -> impl Condition<K> + use<K> {
        let type_ = type_.to_string();
        move |obj: Option<&K>| {
            let Some(value) = obj.and_then(|o| serde_json::to_value(o).ok()) else { return false };
            let conditions = value.pointer("/status/conditions").and_then(|c| c.as_array());
            conditions.is_some_and(|cs| {
                cs.iter().any(|c| {
                    c.get("type").and_then(|t| t.as_str()) == Some(type_.as_str())
                        && c.get("status").and_then(|s| s.as_str()) == Some("True")
                })
            })
        }
    }

    /// Both conditions hold.
    pub fn and<K>(a: impl Condition<K>, b: impl Condition<K>) -> impl Condition<K> {
        move |obj: Option<&K>| a.matches(obj) && b.matches(obj)
    }

    #[cfg(test)]
    mod tests {
        use k8s_openapi::api::core::v1::ConfigMap;

        use super::*;

        #[test]
        fn conditions_read_the_states_they_name() {
            let pod: Pod = serde_json::from_value(serde_json::json!({"status": {"phase": "Running"}}))
                .unwrap_or_default();
            assert!(is_pod_running().matches(Some(&pod)));
            assert!(!is_pod_running().matches(None));
            let job: Job = serde_json::from_value(serde_json::json!({"status": {"conditions": [
                {"type": "Complete", "status": "True"}]}}))
            .unwrap_or_default();
            assert!(is_job_completed().matches(Some(&job)));
            assert!(has_condition::<Job>("Complete").matches(Some(&job)));
            assert!(!has_condition::<Job>("Failed").matches(Some(&job)));
            let mut cm = ConfigMap::default();
            cm.metadata.uid = Some("u1".into());
            assert!(!is_deleted::<ConfigMap>("u1").matches(Some(&cm)));
            assert!(is_deleted::<ConfigMap>("u0").matches(Some(&cm)), "replaced by another object");
            assert!(is_deleted::<ConfigMap>("u1").matches(None));
            assert!(and(is_pod_running(), |_: Option<&Pod>| true).matches(Some(&pod)));
        }
    }
}
