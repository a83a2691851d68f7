//! Single lookups that ask the server about one group or group version only: cheaper than a
//! whole [`Discovery`](super::Discovery) when a program needs one type once.
//!
//! They read legacy documents (`/api/v1`, `/apis/{group}/{version}`, `/apis/{group}`), which
//! every server serves.
//!
//! ```no_run
//! # async fn run(client: kube_client::Client) -> Result<(), kube_client::discovery::Error> {
//! use kube_client::discovery::oneshot;
//! use kube_core::GroupVersionKind;
//!
//! let gvk = GroupVersionKind::gvk("batch", "v1", "CronJob");
//! let (resource, caps) = oneshot::pinned_kind(&client, &gvk).await?;
//! assert_eq!(resource.plural, "cronjobs");
//! assert!(caps.namespaced());
//! # Ok(()) }
//! ```

use kube_core::{ApiResource, GroupVersion, GroupVersionKind, GroupVersionResource};

use super::{
    Error, LEGACY_ACCEPT, get, legacy,
    model::{ApiCapabilities, ApiGroup, ApiGroupVersion},
};
use crate::Client;

/// The resources of one group version (one request).
///
/// Fails with [`Error::GroupVersionNotFound`] when the server does not serve it.
pub async fn pinned_group_version(client: &Client, gv: &GroupVersion) -> Result<ApiGroupVersion, Error> {
    legacy::fetch_group_version(client, gv).await
}

/// The resource of a group/version/kind, from that group version's resource list only (one
/// request).
///
/// Fails with [`Error::GroupVersionNotFound`] or [`Error::KindNotFound`] when it is not served
/// ([`Error::is_not_found`] tells these apart from failures of discovery itself).
pub async fn pinned_kind(
    client: &Client,
    gvk: &GroupVersionKind,
) -> Result<(ApiResource, ApiCapabilities), Error> {
    let gv = gvk.group_version();
    let version = pinned_group_version(client, &gv).await?;
    version
        .resource_by_kind(&gvk.kind)
        .cloned()
        .ok_or_else(|| Error::KindNotFound { group_version: gv, kind: gvk.kind.clone() })
}

/// The resource of a group/version and plural name, from that group version's resource list
/// only (one request).
///
/// Fails with [`Error::GroupVersionNotFound`] or [`Error::ResourceNotFound`] when it is not served.
pub async fn pinned_resource(
    client: &Client,
    gvr: &GroupVersionResource,
) -> Result<(ApiResource, ApiCapabilities), Error> {
    let gv = gvr.group_version();
    let version = pinned_group_version(client, &gv).await?;
    version
        .resource_by_plural(&gvr.resource)
        .cloned()
        .ok_or_else(|| Error::ResourceNotFound { group_version: gv, resource: gvr.resource.clone() })
}

/// One group with all its versions: `/api` or `/apis/{group}`, then one request per version.
///
/// Fails with [`Error::GroupNotFound`] when the server does not serve it; a version that cannot
/// be read fails the whole call.
///
/// ```no_run
/// # async fn run(client: kube_client::Client) -> Result<(), kube_client::discovery::Error> {
/// let autoscaling = kube_client::discovery::oneshot::group(&client, "autoscaling").await?;
/// let preferred = autoscaling.preferred_version().map(|v| v.version().to_string());
/// println!("autoscaling prefers {preferred:?}");
/// # Ok(()) }
/// ```
pub async fn group(client: &Client, name: &str) -> Result<ApiGroup, Error> {
    let index = if name.is_empty() {
        legacy::parse_core(&get(client, "/api", LEGACY_ACCEPT).await?, "/api")?
    } else {
        if name.contains(['/', '?', '#']) || name.chars().any(char::is_whitespace) {
            return Err(Error::InvalidGroupVersion { group_version: name.to_string() });
        }
        let path = format!("/apis/{name}");
        let bytes = get(client, &path, LEGACY_ACCEPT).await.map_err(|e| match e {
            Error::Request { source, .. } if source.is_not_found() => {
                Error::GroupNotFound { group: name.to_string() }
            }
            e => e,
        })?;
        legacy::parse_group(&bytes, &path)?
    };
    let gvs = index.versions.iter().map(|v| GroupVersion::gv(&index.name, v)).collect();
    let versions = legacy::fetch_all(client, gvs)
        .await
        .into_iter()
        .map(|(_, result)| result)
        .collect::<Result<_, _>>()?;
    Ok(ApiGroup { name: index.name, preferred: index.preferred, versions })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::testing::FakeServer;

    #[tokio::test]
    async fn pinned_lookups_ask_one_group_version() {
        let server = FakeServer::new(true);
        let client = server.client();
        let (deploy, caps) =
            pinned_kind(&client, &GroupVersionKind::gvk("apps", "v1", "Deployment")).await.unwrap();
        assert_eq!(deploy.plural, "deployments");
        assert!(caps.subresource("scale").is_some());
        let (pods, _) = pinned_resource(&client, &GroupVersionResource::gvr("", "v1", "pods")).await.unwrap();
        assert_eq!(pods.kind, "Pod");
        let requests = server.take_requests();
        assert_eq!(
            requests.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
            ["/apis/apps/v1", "/api/v1"]
        );
        assert!(requests.iter().all(|(_, accept)| accept == LEGACY_ACCEPT));
    }

    #[tokio::test]
    async fn pinned_misses_are_typed() {
        let client = FakeServer::new(false).client();
        let err = pinned_kind(&client, &GroupVersionKind::gvk("apps", "v1", "Widget")).await.unwrap_err();
        assert_eq!(err.to_string(), "kind \"Widget\" is not served in group version apps/v1");
        let err = pinned_kind(&client, &GroupVersionKind::gvk("apps", "v9", "Deployment")).await.unwrap_err();
        assert_eq!(err.to_string(), "group version apps/v9 is not served by the server");
        assert!(err.is_not_found());
        let err = pinned_resource(&client, &GroupVersionResource::gvr("", "v1", "Pod")).await.unwrap_err();
        assert!(matches!(err, Error::ResourceNotFound { .. }), "{err}");
        let err = pinned_kind(&client, &GroupVersionKind::gvk("a/b", "v1", "X")).await.unwrap_err();
        assert!(matches!(err, Error::InvalidGroupVersion { .. }), "{err}");
    }

    #[tokio::test]
    async fn one_group() {
        let server = FakeServer::new(false);
        server.legacy.lock().unwrap().insert(
            "/apis/autoscaling".into(),
            serde_json::json!({
                "kind": "APIGroup", "apiVersion": "v1", "name": "autoscaling",
                "versions": [{"groupVersion": "autoscaling/v2", "version": "v2"}, {"groupVersion": "autoscaling/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "autoscaling/v2", "version": "v2"}
            }),
        );
        let client = server.client();
        let autoscaling = group(&client, "autoscaling").await.unwrap();
        assert_eq!(autoscaling.versions().count(), 2);
        assert_eq!(autoscaling.preferred_version().map(ApiGroupVersion::version), Some("v2"));
        let core = group(&client, "").await.unwrap();
        assert!(core.version("v1").is_some_and(|v| v.resource_by_plural("pods").is_some()));
        let err = group(&client, "batch").await.unwrap_err();
        assert_eq!(err.to_string(), "group \"batch\" is not served by the server");
    }
}
