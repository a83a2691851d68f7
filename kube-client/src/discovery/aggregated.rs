//! Aggregated discovery (`apidiscovery.k8s.io/v2` and `v2beta1`): the whole of `/api` or `/apis`
//! in one `APIGroupDiscoveryList` document.

use kube_core::{ApiResource, GroupVersion, GroupVersionKind, Scope};
use serde::Deserialize;

use super::{
    Error,
    model::{ApiCapabilities, ApiGroup, ApiGroupVersion, Freshness, Subresource},
    nullable, parse,
};

/// The kind of an aggregated discovery document.
pub(super) const KIND: &str = "APIGroupDiscoveryList";

#[derive(Deserialize)]
struct GroupDiscoveryList {
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    items: Vec<GroupDiscovery>,
}

#[derive(Deserialize)]
struct GroupDiscovery {
    #[serde(default, deserialize_with = "nullable")]
    metadata: Metadata,
    #[serde(default, deserialize_with = "nullable")]
    versions: Vec<VersionDiscovery>,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
}

#[derive(Deserialize)]
struct VersionDiscovery {
    #[serde(default, deserialize_with = "nullable")]
    version: String,
    #[serde(default, deserialize_with = "nullable")]
    resources: Vec<ResourceDiscovery>,
    #[serde(default, deserialize_with = "nullable")]
    freshness: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceDiscovery {
    #[serde(default, deserialize_with = "nullable")]
    resource: String,
    #[serde(default)]
    response_kind: Option<Gvk>,
    #[serde(default, deserialize_with = "nullable")]
    scope: String,
    #[serde(default, deserialize_with = "nullable")]
    singular_resource: String,
    #[serde(default, deserialize_with = "nullable")]
    verbs: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    short_names: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    categories: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    subresources: Vec<SubresourceDiscovery>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubresourceDiscovery {
    #[serde(default, deserialize_with = "nullable")]
    subresource: String,
    #[serde(default)]
    response_kind: Option<Gvk>,
    #[serde(default, deserialize_with = "nullable")]
    accepted_types: Vec<Gvk>,
    #[serde(default, deserialize_with = "nullable")]
    verbs: Vec<String>,
}

#[derive(Deserialize)]
struct Gvk {
    #[serde(default, deserialize_with = "nullable")]
    group: String,
    #[serde(default, deserialize_with = "nullable")]
    version: String,
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
}

impl Gvk {
    /// The kind this names, where an empty version means "the containing group version".
    fn resolve(&self, gv: &GroupVersion) -> Option<GroupVersionKind> {
        match (self.kind.as_str(), self.version.as_str()) {
            ("", _) => None,
            (kind, "") => Some(gv.clone().with_kind(kind)),
            (kind, version) => Some(GroupVersionKind::gvk(&self.group, version, kind)),
        }
    }
}

/// The groups of an `APIGroupDiscoveryList` from `path` (`/api` or `/apis`). The core group has
/// no name in `/api`.
pub(super) fn parse_groups(bytes: &[u8], path: &str) -> Result<Vec<ApiGroup>, Error> {
    let list: GroupDiscoveryList = parse(bytes, path)?;
    if list.kind != KIND {
        return Err(Error::UnexpectedKind { path: path.to_string(), found: list.kind, expected: KIND });
    }
    Ok(list.items.into_iter().map(group).collect())
}

fn group(g: GroupDiscovery) -> ApiGroup {
    let name = g.metadata.name;
    // The versions are listed in order of preference; stale ones go after the current ones, so
    // that a current version is preferred.
    let (mut versions, stale): (Vec<_>, Vec<_>) = g
        .versions
        .into_iter()
        .filter(|v| !v.version.is_empty())
        .map(|v| version(&name, v))
        .partition(|v| v.freshness == Freshness::Current);
    versions.extend(stale);
    let preferred = versions.first().map(|v| v.version.clone());
    ApiGroup { name, preferred, versions }
}

fn version(group: &str, v: VersionDiscovery) -> ApiGroupVersion {
    let gv = GroupVersion::gv(group, &v.version);
    let freshness = if v.freshness == "Stale" { Freshness::Stale } else { Freshness::Current };
    let resources = v.resources.into_iter().filter_map(|r| resource(&gv, r)).collect();
    ApiGroupVersion { group: gv.group, version: gv.version, freshness, resources }
}

fn resource(gv: &GroupVersion, r: ResourceDiscovery) -> Option<(ApiResource, ApiCapabilities)> {
    let Some(kind) = r.response_kind.as_ref().and_then(|k| k.resolve(gv)) else {
        tracing::debug!(group_version = %gv, resource = %r.resource, "skipping a resource without a kind");
        return None;
    };
    let scope = match r.scope.as_str() {
        "Namespaced" => Scope::Namespaced,
        "Cluster" => Scope::Cluster,
        other => {
            tracing::debug!(group_version = %gv, resource = %r.resource, scope = other, "skipping a resource of unknown scope");
            return None;
        }
    };
    if r.resource.is_empty() || r.resource.contains('/') {
        return None;
    }
    let resource = ApiResource::from_gvk_with_plural(&gv.clone().with_kind(&kind.kind), &r.resource, scope);
    let subresources = r
        .subresources
        .into_iter()
        .filter(|s| !s.subresource.is_empty())
        .map(|s| Subresource {
            kind: s.response_kind.as_ref().and_then(|k| k.resolve(gv)),
            accepted_types: s.accepted_types.iter().filter_map(|k| k.resolve(gv)).collect(),
            name: s.subresource,
            verbs: s.verbs,
        })
        .collect();
    let singular =
        if r.singular_resource.is_empty() { kind.kind.to_ascii_lowercase() } else { r.singular_resource };
    let caps = ApiCapabilities {
        scope,
        singular,
        verbs: r.verbs,
        short_names: r.short_names,
        categories: r.categories,
        subresources,
    };
    Some((resource, caps))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::{testing, verbs};

    fn fixture_groups(path: &str) -> Vec<ApiGroup> {
        let docs = testing::fixture(testing::AGGREGATED);
        parse_groups(&serde_json::to_vec(&docs[path]).unwrap(), path).unwrap()
    }

    /// The fixture was captured from kube-apiserver v1.37.2 with a CRD installed
    /// (`curl -H 'Accept: <AGGREGATED_ACCEPT>' $SERVER/api` and `/apis`), then trimmed to a few
    /// resources of the core, apps, autoscaling and `disco.kube-test.example.com` groups.
    #[test]
    fn parses_the_core_group() {
        let groups = fixture_groups("/api");
        assert_eq!(groups.len(), 1);
        let core = &groups[0];
        assert!(core.is_core());
        assert_eq!(core.preferred_version_name(), Some("v1"));
        let v1 = core.version("v1").unwrap();
        assert_eq!(v1.freshness(), Freshness::Current);
        let (pods, caps) = v1.resource_by_plural("pods").unwrap();
        assert_eq!(*pods, ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&()));
        assert_eq!(caps.singular, "pod");
        assert_eq!(caps.short_names, ["po"]);
        assert_eq!(caps.categories, ["all"]);
        assert!(caps.supports(verbs::LIST) && caps.supports(verbs::WATCH) && caps.namespaced());
        let eviction = caps.subresource("eviction").unwrap();
        assert_eq!(eviction.kind, Some(GroupVersionKind::gvk("policy", "v1", "Eviction")));
        assert_eq!(caps.subresource("status").unwrap().kind, Some(GroupVersionKind::gvk("", "v1", "Pod")));
        assert!(caps.subresource("log").is_some_and(|s| s.verbs == ["get"]));
        let (_, ns) = v1.resource_by_kind("Namespace").unwrap();
        assert_eq!(ns.scope, Scope::Cluster);
        assert!(ns.subresource("finalize").is_some());
        let (_, binding) = v1.resource_by_plural("bindings").unwrap();
        assert_eq!(binding.verbs, ["create"]);
    }

    #[test]
    fn parses_groups_with_several_versions_and_a_crd() {
        let groups = fixture_groups("/apis");
        let names: Vec<&str> = groups.iter().map(ApiGroup::name).collect();
        assert_eq!(names, ["apps", "autoscaling", "disco.kube-test.example.com"]);
        let apps = &groups[0];
        let (deploy, caps) = apps.version("v1").unwrap().resource_by_kind("Deployment").unwrap();
        assert_eq!(*deploy, ApiResource::erase::<k8s_openapi::api::apps::v1::Deployment>(&()));
        assert_eq!(caps.short_names, ["deploy"]);
        assert_eq!(
            caps.subresource("scale").and_then(|s| s.kind.clone()),
            Some(GroupVersionKind::gvk("autoscaling", "v1", "Scale"))
        );
        let disco = &groups[2];
        assert_eq!(disco.preferred_version_name(), Some("v1"));
        let versions: Vec<&str> = disco.versions().map(ApiGroupVersion::version).collect();
        assert_eq!(versions, ["v1", "v1beta1"]);
        let (gizmo, caps) = disco.version("v1").unwrap().resource_by_plural("gizmos").unwrap();
        assert_eq!(
            (gizmo.kind.as_str(), gizmo.api_version.as_str()),
            ("Gizmo", "disco.kube-test.example.com/v1")
        );
        assert_eq!(caps.scope, Scope::Cluster);
        assert_eq!(caps.categories, ["all", "disco"]);
        let subs: Vec<&str> = caps.subresources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(subs, ["status", "scale"]);
        let (_, beta) = disco.version("v1beta1").unwrap().resource_by_plural("gizmos").unwrap();
        assert!(beta.subresources.is_empty());
    }

    #[test]
    fn nulls_stale_versions_and_odd_resources() {
        let doc = serde_json::json!({
            "kind": KIND,
            "apiVersion": "apidiscovery.k8s.io/v2",
            "items": [{
                "metadata": {"name": "metrics.example.com"},
                "versions": [{
                    "version": "v1beta1",
                    "freshness": "Stale",
                    "resources": [
                        {"resource": "nodes", "responseKind": {"group": "", "version": "", "kind": "NodeMetrics"},
                         "scope": "Cluster", "verbs": null, "shortNames": null, "subresources": null},
                        {"resource": "nokind", "responseKind": null, "scope": "Cluster", "verbs": ["get"]},
                        {"resource": "oddscope", "responseKind": {"kind": "Odd"}, "scope": "Galaxy"}
                    ]
                }, {"version": "v1alpha1", "resources": null}, {"version": "", "resources": null}]
            }]
        });
        let groups = parse_groups(doc.to_string().as_bytes(), "/apis").unwrap();
        // the stale preferred version gives way to a current one
        assert_eq!(groups[0].preferred_version_name(), Some("v1alpha1"));
        let order: Vec<&str> = groups[0].versions().map(ApiGroupVersion::version).collect();
        assert_eq!(order, ["v1alpha1", "v1beta1"]);
        let v = groups[0].version("v1beta1").unwrap();
        assert_eq!(v.freshness(), Freshness::Stale);
        assert_eq!(v.resources().len(), 1);
        let (nodes, caps) = &v.resources()[0];
        assert_eq!(nodes.api_version, "metrics.example.com/v1beta1");
        assert_eq!(caps.singular, "nodemetrics");
        assert!(caps.verbs.is_empty() && caps.subresources.is_empty());
        assert!(groups[0].version("v1alpha1").unwrap().resources().is_empty());
    }

    #[test]
    fn other_documents_are_errors() {
        let err = parse_groups(br#"{"kind":"APIGroupList","groups":[]}"#, "/apis").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected discovery document from /apis: kind \"APIGroupList\", expected APIGroupDiscoveryList"
        );
        let err = parse_groups(br#"{"kind":"APIGroupDiscoveryList","items":{}}"#, "/api").unwrap_err();
        assert!(matches!(err, Error::Parse { ref path, .. } if path == "/api"), "{err}");
    }
}
