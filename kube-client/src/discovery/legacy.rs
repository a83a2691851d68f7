//! Legacy discovery: `/api` (`APIVersions`) and `/apis` (`APIGroupList`) name the group
//! versions, and each group version's `APIResourceList` names its resources, with subresources
//! as separate `parent/sub` entries.

use futures::{StreamExt, stream};
use kube_core::{ApiResource, GroupVersion, GroupVersionKind, Scope};
use serde::Deserialize;

use super::{
    Error, LEGACY_ACCEPT, failure, get, group_version_path,
    model::{ApiCapabilities, ApiGroup, ApiGroupVersion, FailedGroupVersion, Freshness, Subresource},
    nullable, parse,
};
use crate::Client;

/// The kind of `/api`.
pub(super) const API_VERSIONS: &str = "APIVersions";
/// The kind of `/apis`.
pub(super) const API_GROUP_LIST: &str = "APIGroupList";
/// The kind of `/apis/{group}`.
const API_GROUP: &str = "APIGroup";
/// The kind of a group version's resource list.
const API_RESOURCE_LIST: &str = "APIResourceList";

/// How many group versions are fetched at once.
const CONCURRENCY: usize = 8;

/// A group and its versions, before their resources are fetched.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct GroupIndex {
    pub(super) name: String,
    pub(super) versions: Vec<String>,
    pub(super) preferred: Option<String>,
}

#[derive(Deserialize)]
struct ApiVersions {
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    versions: Vec<String>,
}

#[derive(Deserialize)]
struct ApiGroupList {
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    groups: Vec<WireGroup>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireGroup {
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    versions: Vec<WireGroupVersion>,
    #[serde(default)]
    preferred_version: Option<WireGroupVersion>,
}

#[derive(Deserialize)]
struct WireGroupVersion {
    #[serde(default, deserialize_with = "nullable")]
    version: String,
}

#[derive(Deserialize)]
struct ApiResourceList {
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    resources: Vec<WireResource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireResource {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    singular_name: String,
    #[serde(default)]
    namespaced: bool,
    #[serde(default, deserialize_with = "nullable")]
    group: String,
    #[serde(default, deserialize_with = "nullable")]
    version: String,
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    verbs: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    short_names: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    categories: Vec<String>,
}

fn expect_kind(found: String, expected: &'static str, path: &str) -> Result<(), Error> {
    // Some servers leave the kind out; only a different kind is an error.
    if found.is_empty() || found == expected {
        Ok(())
    } else {
        Err(Error::UnexpectedKind { path: path.to_string(), found, expected })
    }
}

/// The core group from `/api` (`APIVersions`): its versions, the first preferred.
pub(super) fn parse_core(bytes: &[u8], path: &str) -> Result<GroupIndex, Error> {
    let doc: ApiVersions = parse(bytes, path)?;
    expect_kind(doc.kind, API_VERSIONS, path)?;
    let versions: Vec<String> = doc.versions.into_iter().filter(|v| !v.is_empty()).collect();
    Ok(GroupIndex { name: String::new(), preferred: versions.first().cloned(), versions })
}

/// The groups from `/apis` (`APIGroupList`).
pub(super) fn parse_group_list(bytes: &[u8], path: &str) -> Result<Vec<GroupIndex>, Error> {
    let doc: ApiGroupList = parse(bytes, path)?;
    expect_kind(doc.kind, API_GROUP_LIST, path)?;
    Ok(doc.groups.into_iter().filter(|g| !g.name.is_empty()).map(group_index).collect())
}

/// One group from `/apis/{group}` (`APIGroup`).
pub(super) fn parse_group(bytes: &[u8], path: &str) -> Result<GroupIndex, Error> {
    let mut doc: WireGroup = parse(bytes, path)?;
    expect_kind(std::mem::take(&mut doc.kind), API_GROUP, path)?;
    Ok(group_index(doc))
}

fn group_index(g: WireGroup) -> GroupIndex {
    let versions: Vec<String> = g.versions.into_iter().map(|v| v.version).filter(|v| !v.is_empty()).collect();
    let preferred = g
        .preferred_version
        .map(|p| p.version)
        .filter(|v| !v.is_empty())
        .or_else(|| versions.first().cloned());
    GroupIndex { name: g.name, versions, preferred }
}

/// The resources of one group version from its `APIResourceList`; `parent/sub` entries become
/// subresources of `parent`.
pub(super) fn parse_resource_list(
    bytes: &[u8],
    path: &str,
    gv: &GroupVersion,
) -> Result<ApiGroupVersion, Error> {
    let doc: ApiResourceList = parse(bytes, path)?;
    expect_kind(doc.kind, API_RESOURCE_LIST, path)?;
    let (subs, tops): (Vec<_>, Vec<_>) = doc.resources.into_iter().partition(|r| r.name.contains('/'));
    let mut resources: Vec<(ApiResource, ApiCapabilities)> = tops
        .into_iter()
        .filter(|r| !r.name.is_empty() && !r.kind.is_empty())
        .map(|r| resource(gv, r))
        .collect();
    for sub in subs {
        let Some((parent, name)) = sub.name.split_once('/') else { continue };
        let Some((_, caps)) = resources.iter_mut().find(|(r, _)| r.plural == parent) else {
            tracing::debug!(group_version = %gv, subresource = %sub.name, "skipping a subresource without its resource");
            continue;
        };
        let kind = match (sub.kind.as_str(), sub.version.as_str()) {
            ("", _) => None,
            (kind, "") => Some(gv.clone().with_kind(kind)),
            (kind, version) => Some(GroupVersionKind::gvk(&sub.group, version, kind)),
        };
        caps.subresources.push(Subresource {
            name: name.to_string(),
            verbs: sub.verbs,
            kind,
            accepted_types: Vec::new(),
        });
    }
    Ok(ApiGroupVersion {
        group: gv.group.clone(),
        version: gv.version.clone(),
        freshness: Freshness::Current,
        resources,
    })
}

fn resource(gv: &GroupVersion, r: WireResource) -> (ApiResource, ApiCapabilities) {
    let scope = if r.namespaced { Scope::Namespaced } else { Scope::Cluster };
    let resource = ApiResource::from_gvk_with_plural(&gv.clone().with_kind(&r.kind), &r.name, scope);
    let singular = if r.singular_name.is_empty() { r.kind.to_ascii_lowercase() } else { r.singular_name };
    let caps = ApiCapabilities {
        scope,
        singular,
        verbs: r.verbs,
        short_names: r.short_names,
        categories: r.categories,
        subresources: Vec::new(),
    };
    (resource, caps)
}

/// Fetches and parses one group version's resource list; a 404 is
/// [`Error::GroupVersionNotFound`].
pub(super) async fn fetch_group_version(
    client: &Client,
    gv: &GroupVersion,
) -> Result<ApiGroupVersion, Error> {
    let path = group_version_path(gv)?;
    let bytes = get(client, &path, LEGACY_ACCEPT).await.map_err(|e| match e {
        Error::Request { source, .. } if source.is_not_found() => {
            Error::GroupVersionNotFound { group_version: gv.clone() }
        }
        e => e,
    })?;
    parse_resource_list(&bytes, &path, gv)
}

/// Fetches the resource lists of `gvs`, a few at a time, in order.
pub(super) async fn fetch_all(
    client: &Client,
    gvs: Vec<GroupVersion>,
) -> Vec<(GroupVersion, Result<ApiGroupVersion, Error>)> {
    stream::iter(gvs)
        .map(|gv| async move {
            let result = fetch_group_version(client, &gv).await;
            (gv, result)
        })
        .buffered(CONCURRENCY)
        .collect()
        .await
}

/// Fetches the resources of every version of `groups`. A group version that fails is left out
/// of its group and reported.
pub(super) async fn fetch_groups(
    client: &Client,
    groups: Vec<GroupIndex>,
) -> (Vec<ApiGroup>, Vec<FailedGroupVersion>) {
    let gvs = groups.iter().flat_map(|g| g.versions.iter().map(|v| GroupVersion::gv(&g.name, v))).collect();
    let mut results = fetch_all(client, gvs).await.into_iter();
    let mut failures = Vec::new();
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        let mut versions = Vec::with_capacity(g.versions.len());
        for (gv, result) in results.by_ref().take(g.versions.len()) {
            match result {
                Ok(v) => versions.push(v),
                Err(e) => {
                    tracing::warn!(group_version = %gv, error = %e, "discovery of a group version failed");
                    failures.push(failure(gv, e));
                }
            }
        }
        out.push(ApiGroup { name: g.name, preferred: g.preferred, versions });
    }
    (out, failures)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::discovery::{aggregated, testing};

    fn doc(path: &str) -> Vec<u8> {
        serde_json::to_vec(&testing::fixture(testing::LEGACY)[path]).unwrap()
    }

    /// The fixture holds the legacy documents captured from the same server as the aggregated
    /// one (`curl $SERVER/api`, `/apis`, `/api/v1`, `/apis/{group}/{version}`), trimmed to the
    /// same resources.
    #[test]
    fn parses_the_index_documents() {
        let core = parse_core(&doc("/api"), "/api").unwrap();
        assert_eq!(
            core,
            GroupIndex { name: String::new(), versions: vec!["v1".into()], preferred: Some("v1".into()) }
        );
        let groups = parse_group_list(&doc("/apis"), "/apis").unwrap();
        let autoscaling = groups.iter().find(|g| g.name == "autoscaling").unwrap();
        assert_eq!(autoscaling.versions, ["v2", "v1"]);
        assert_eq!(autoscaling.preferred.as_deref(), Some("v2"));
        let err = parse_group_list(&doc("/api"), "/apis").unwrap_err();
        assert!(matches!(err, Error::UnexpectedKind { found, .. } if found == "APIVersions"));
        let one = parse_group(
            br#"{"kind":"APIGroup","name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}]}"#,
            "/apis/apps",
        )
        .unwrap();
        assert_eq!(one.preferred.as_deref(), Some("v1"));
    }

    #[test]
    fn subresources_join_their_resource() {
        let gv = GroupVersion::gv("apps", "v1");
        let v = parse_resource_list(&doc("/apis/apps/v1"), "/apis/apps/v1", &gv).unwrap();
        let plurals: Vec<&str> = v.resources().iter().map(|(r, _)| r.plural.as_str()).collect();
        assert_eq!(plurals, ["deployments", "statefulsets"]);
        let (_, caps) = v.resource_by_kind("Deployment").unwrap();
        let scale = caps.subresource("scale").unwrap();
        assert_eq!(scale.kind, Some(GroupVersionKind::gvk("autoscaling", "v1", "Scale")));
        assert_eq!(
            caps.subresource("status").unwrap().kind,
            Some(GroupVersionKind::gvk("apps", "v1", "Deployment"))
        );
        let orphan = br#"{"kind":"APIResourceList","resources":[{"name":"ghosts/status","kind":"Ghost","verbs":null}]}"#;
        assert!(parse_resource_list(orphan, "/apis/x/v1", &gv).unwrap().resources().is_empty());
    }

    /// Legacy and aggregated discovery of the same server describe the same resources (aggregated
    /// discovery also has the accepted types of subresources, which legacy discovery lacks).
    #[test]
    fn legacy_matches_aggregated() {
        let legacy_docs = testing::fixture(testing::LEGACY);
        let mut legacy = BTreeSet::new();
        for (path, _) in legacy_docs.iter().filter(|(p, _)| p.matches('/').count() >= 2) {
            let gv: GroupVersion =
                path.trim_start_matches("/apis/").trim_start_matches("/api/").parse().unwrap();
            let v = parse_resource_list(&doc(path), path, &gv).unwrap();
            legacy.extend(v.resources().iter().map(describe));
        }
        let aggregated_docs = testing::fixture(testing::AGGREGATED);
        let mut from_aggregated = BTreeSet::new();
        for path in ["/api", "/apis"] {
            let groups =
                aggregated::parse_groups(&serde_json::to_vec(&aggregated_docs[path]).unwrap(), path).unwrap();
            for v in groups.iter().flat_map(ApiGroup::versions) {
                from_aggregated.extend(v.resources().iter().map(describe));
            }
        }
        assert!(legacy.len() >= 10, "{legacy:?}");
        assert_eq!(legacy, from_aggregated);
    }

    fn describe((r, c): &(ApiResource, ApiCapabilities)) -> String {
        let mut c = c.clone();
        c.verbs.sort();
        c.subresources.sort_by(|a, b| a.name.cmp(&b.name));
        for s in &mut c.subresources {
            s.accepted_types.clear();
        }
        format!("{r:?} {c:?}")
    }
}
