//! API discovery: which groups, versions and resources a server serves, with each resource's
//! kind, plural, scope, verbs, short names, categories and subresources.
//!
//! [`Discovery::run`] asks the server once for everything. It uses *aggregated discovery*
//! (`apidiscovery.k8s.io/v2`, two requests: `/api` and `/apis`) and falls back to *legacy
//! discovery* (`/api`, `/apis`, then one request per group version) when the server does not
//! serve it. [`DiscoveryBuilder`] forces either mode and can limit discovery to some groups.
//!
//! The result, [`Discovery`], answers the questions a dynamic client has: what is the plural and
//! scope of a [`GroupVersionKind`](kube_core::GroupVersionKind)
//! ([`resolve_gvk`](Discovery::resolve_gvk)), what does a `kubectl`-style name such as `deploy`,
//! `Deployment` or `deployments.apps` mean ([`find`](Discovery::find)), and which resources are
//! served at all ([`preferred_resources`](Discovery::preferred_resources)).
//!
//! [`CachedDiscovery`] keeps one result for a while, shared between tasks, and looks again when a
//! lookup misses, so that a CustomResourceDefinition installed after the first discovery is found.
//! The [`oneshot`] functions ask about a single group or group version, which is cheaper when only
//! one type is needed.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use kube_client::{Client, discovery::{Discovery, verbs}};
//! use kube_core::GroupVersionKind;
//!
//! let client = Client::try_default().await?;
//! let discovery = Discovery::run(&client).await?;
//! let gvk = GroupVersionKind::gvk("apps", "v1", "Deployment");
//! if let Some((resource, caps)) = discovery.resolve_gvk(&gvk) {
//!     assert_eq!(resource.plural, "deployments");
//!     assert!(caps.namespaced() && caps.supports(verbs::WATCH));
//!     assert!(caps.subresource("scale").is_some());
//! }
//! let (pods, _) = discovery.find("po").ok_or("pods are not served")?;
//! assert_eq!(pods.kind, "Pod");
//! # Ok(()) }
//! ```

mod aggregated;
mod builder;
mod cache;
mod legacy;
mod model;
pub mod oneshot;
#[cfg(test)]
mod testing;

use std::sync::Arc;

use bytes::Bytes;
use kube_core::GroupVersion;
use serde::{Deserialize, Deserializer, de::DeserializeOwned};

pub use builder::{DiscoveryBuilder, DiscoveryMode};
pub use cache::{CachedDiscovery, DEFAULT_MAX_AGE, DEFAULT_MIN_REFRESH_INTERVAL};
pub use model::{
    ApiCapabilities, ApiGroup, ApiGroupVersion, Discovery, FailedGroupVersion, Freshness, Subresource, verbs,
};
pub use oneshot::{pinned_group_version, pinned_kind, pinned_resource};

use crate::Client;

/// The `Accept` header that asks for aggregated discovery (v2, then v2beta1) and accepts the
/// legacy documents from servers that do not serve it.
pub const AGGREGATED_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,\
     application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

/// The `Accept` header of legacy discovery requests.
pub const LEGACY_ACCEPT: &str = "application/json";

/// What can go wrong while discovering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A discovery request failed: the transport broke, or the server answered with an error.
    #[error("discovery request to {path} failed: {source}")]
    Request {
        /// The path that was requested.
        path: String,
        /// The client's error; [`crate::Error::status`] has the server's `Status`, if any.
        #[source]
        source: Box<crate::Error>,
    },

    /// A discovery document could not be parsed.
    #[error("failed to parse the discovery document from {path}: {source}")]
    Parse {
        /// The path that was requested.
        path: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },

    /// The server answered with a document of another kind than discovery expects there.
    #[error("unexpected discovery document from {path}: kind {found:?}, expected {expected}")]
    UnexpectedKind {
        /// The path that was requested.
        path: String,
        /// The `kind` of the document (empty when it had none).
        found: String,
        /// The kinds that were expected.
        expected: &'static str,
    },

    /// [`DiscoveryMode::Aggregated`] was asked for, but the server answered with a legacy document.
    #[error("the server does not serve aggregated discovery at {path}: it answered with kind {found:?}")]
    AggregatedUnsupported {
        /// The path that was requested.
        path: String,
        /// The `kind` of the document the server sent instead.
        found: String,
    },

    /// A group or group version name cannot be part of a URL path.
    #[error(
        "invalid group version {group_version:?}: names must be non-empty and contain no '/', '?' or '#'"
    )]
    InvalidGroupVersion {
        /// The group version, as given.
        group_version: String,
    },

    /// The server does not serve this group (it answered 404).
    #[error("group {group:?} is not served by the server")]
    GroupNotFound {
        /// The group.
        group: String,
    },

    /// The server does not serve this group version (it answered 404).
    #[error("group version {group_version} is not served by the server")]
    GroupVersionNotFound {
        /// The group version.
        group_version: GroupVersion,
    },

    /// The group version is served, but has no resource of this kind.
    #[error("kind {kind:?} is not served in group version {group_version}")]
    KindNotFound {
        /// The group version that was searched.
        group_version: GroupVersion,
        /// The kind.
        kind: String,
    },

    /// The group version is served, but has no resource with this plural name.
    #[error("resource {resource:?} is not served in group version {group_version}")]
    ResourceNotFound {
        /// The group version that was searched.
        group_version: GroupVersion,
        /// The resource's plural name.
        resource: String,
    },

    /// Aggregated discovery marked the group version `Stale`: the server could not refresh it
    /// (its aggregated API server is unreachable), so its resources may be missing or out of date.
    #[error("discovery of group version {group_version} is stale: the server could not refresh it")]
    Stale {
        /// The group version.
        group_version: GroupVersion,
    },

    /// The request could not be built; nothing was sent.
    #[error("failed to build the discovery request for {path}: {source}")]
    BuildRequest {
        /// The path of the request.
        path: String,
        /// The cause.
        #[source]
        source: http::Error,
    },
}

impl Error {
    /// Whether the error says that a group, group version, kind or resource is not served
    /// (rather than that discovery itself failed).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::GroupNotFound { .. }
                | Self::GroupVersionNotFound { .. }
                | Self::KindNotFound { .. }
                | Self::ResourceNotFound { .. }
        )
    }

    /// The client's error, when a request failed.
    pub fn client_error(&self) -> Option<&crate::Error> {
        match self {
            Self::Request { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A GET of a discovery document, returning its body.
async fn get(client: &Client, path: &str, accept: &str) -> Result<Bytes, Error> {
    let req = http::Request::get(path)
        .header(http::header::ACCEPT, accept)
        .body(Vec::new())
        .map_err(|source| Error::BuildRequest { path: path.to_string(), source })?;
    client
        .request_bytes(req)
        .await
        .map_err(|source| Error::Request { path: path.to_string(), source: Box::new(source) })
}

/// Parses a discovery document.
fn parse<T: DeserializeOwned>(bytes: &[u8], path: &str) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|source| Error::Parse { path: path.to_string(), source })
}

/// The `kind` of a JSON document (empty when it has none), to tell the formats apart.
fn kind_of(bytes: &[u8], path: &str) -> Result<String, Error> {
    #[derive(Deserialize)]
    struct Kind {
        #[serde(default, deserialize_with = "nullable")]
        kind: String,
    }
    parse::<Kind>(bytes, path).map(|k| k.kind)
}

/// Deserializes `null` as the default value: Go serializes empty slices as `null`.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// The path of a group version's resource list: `/api/v1` for the core group,
/// `/apis/{group}/{version}` otherwise.
fn group_version_path(gv: &GroupVersion) -> Result<String, Error> {
    let bad = |s: &str| s.contains(['/', '?', '#']) || s.chars().any(char::is_whitespace);
    if gv.version.is_empty() || bad(&gv.version) || bad(&gv.group) {
        return Err(Error::InvalidGroupVersion { group_version: gv.to_string() });
    }
    Ok(if gv.group.is_empty() {
        format!("/api/{}", gv.version)
    } else {
        format!("/apis/{}/{}", gv.group, gv.version)
    })
}

/// A failure that is kept in a [`Discovery`] rather than failing the whole run.
fn failure(group_version: GroupVersion, error: Error) -> FailedGroupVersion {
    FailedGroupVersion { group_version, error: Arc::new(error) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_accept_header() {
        let expected = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;\
                        g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(AGGREGATED_ACCEPT, expected);
        assert!(!AGGREGATED_ACCEPT.contains(' '));
    }

    #[test]
    fn group_version_paths() {
        assert_eq!(group_version_path(&GroupVersion::gv("", "v1")).unwrap(), "/api/v1");
        assert_eq!(group_version_path(&GroupVersion::gv("apps", "v1")).unwrap(), "/apis/apps/v1");
        for (g, v) in [("apps", ""), ("a/b", "v1"), ("apps", "v1?x"), ("apps", "v 1")] {
            let err = group_version_path(&GroupVersion::gv(g, v)).unwrap_err();
            assert!(matches!(err, Error::InvalidGroupVersion { .. }), "{g}/{v}: {err}");
        }
    }

    #[test]
    fn kinds_and_nulls() {
        assert_eq!(kind_of(br#"{"kind":"APIVersions"}"#, "/api").unwrap(), "APIVersions");
        assert_eq!(kind_of(br#"{"kind":null}"#, "/api").unwrap(), "");
        assert_eq!(kind_of(b"{}", "/api").unwrap(), "");
        let err = kind_of(b"<html>", "/apis").unwrap_err();
        assert!(err.to_string().starts_with("failed to parse the discovery document from /apis"), "{err}");
    }

    #[test]
    fn not_found_errors() {
        let gv = GroupVersion::gv("apps", "v9");
        assert!(Error::GroupVersionNotFound { group_version: gv.clone() }.is_not_found());
        let kind = Error::KindNotFound { group_version: gv, kind: "Widget".into() };
        assert_eq!(kind.to_string(), "kind \"Widget\" is not served in group version apps/v9");
        assert!(kind.is_not_found());
        assert!(!Error::InvalidGroupVersion { group_version: "x".into() }.is_not_found());
    }
}
