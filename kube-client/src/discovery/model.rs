//! The result of discovery: groups, their versions and resources, and the lookups on them.

use std::{collections::HashSet, sync::Arc};

use kube_core::{ApiResource, GroupVersion, GroupVersionKind, GroupVersionResource, Scope};

/// The verbs a resource can support, as discovery names them.
pub mod verbs {
    /// Read one object.
    pub const GET: &str = "get";
    /// List objects.
    pub const LIST: &str = "list";
    /// Watch objects.
    pub const WATCH: &str = "watch";
    /// Create an object.
    pub const CREATE: &str = "create";
    /// Replace an object.
    pub const UPDATE: &str = "update";
    /// Patch an object.
    pub const PATCH: &str = "patch";
    /// Delete one object.
    pub const DELETE: &str = "delete";
    /// Delete a collection of objects.
    pub const DELETE_COLLECTION: &str = "deletecollection";
}

/// What a resource supports, beyond what is needed to address it (that is its [`ApiResource`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCapabilities {
    /// Namespaced or cluster-scoped.
    pub scope: Scope,
    /// The singular name, such as `deployment` (the lower-case kind when the server gave none).
    pub singular: String,
    /// The verbs the resource supports, such as `get`, `list` and `watch` (see [`verbs`]).
    pub verbs: Vec<String>,
    /// Short names, such as `deploy`.
    pub short_names: Vec<String>,
    /// Categories, such as `all`.
    pub categories: Vec<String>,
    /// Subresources, such as `status` and `scale`.
    pub subresources: Vec<Subresource>,
}

impl ApiCapabilities {
    /// Whether objects of this resource live in a namespace.
    pub fn namespaced(&self) -> bool {
        self.scope == Scope::Namespaced
    }

    /// Whether the resource supports a verb, such as [`verbs::WATCH`].
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// The subresource with this name, such as `status` or `scale`.
    pub fn subresource(&self, name: &str) -> Option<&Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }
}

/// A subresource, such as `pods/status` or `deployments/scale`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subresource {
    /// The name, such as `status`.
    pub name: String,
    /// The verbs it supports.
    pub verbs: Vec<String>,
    /// The kind it answers with, such as `autoscaling/v1, Kind=Scale` for `scale`, when known.
    pub kind: Option<GroupVersionKind>,
    /// The kinds it accepts in request bodies (aggregated discovery only; often empty).
    pub accepted_types: Vec<GroupVersionKind>,
}

impl Subresource {
    /// Whether the subresource supports a verb.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }
}

/// Whether the server's information on a group version is up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Freshness {
    /// Up to date.
    #[default]
    Current,
    /// The server could not refresh it (an aggregated API server is unreachable): its resources
    /// are the last ones known and may be missing or out of date.
    Stale,
}

/// One version of a group and the resources it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiGroupVersion {
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) freshness: Freshness,
    pub(crate) resources: Vec<(ApiResource, ApiCapabilities)>,
}

impl ApiGroupVersion {
    /// The group, empty for the core group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The version, such as `v1`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The group and version.
    pub fn group_version(&self) -> GroupVersion {
        GroupVersion::gv(&self.group, &self.version)
    }

    /// Whether the server's information is up to date (always [`Freshness::Current`] in legacy
    /// discovery).
    pub fn freshness(&self) -> Freshness {
        self.freshness
    }

    /// The resources, in the server's order, without subresources (those are in
    /// [`ApiCapabilities::subresources`]).
    pub fn resources(&self) -> &[(ApiResource, ApiCapabilities)] {
        &self.resources
    }

    /// The resource of this kind (exact, case-sensitive).
    pub fn resource_by_kind(&self, kind: &str) -> Option<&(ApiResource, ApiCapabilities)> {
        self.resources.iter().find(|(r, _)| r.kind == kind)
    }

    /// The resource with this plural name (exact).
    pub fn resource_by_plural(&self, plural: &str) -> Option<&(ApiResource, ApiCapabilities)> {
        self.resources.iter().find(|(r, _)| r.plural == plural)
    }
}

/// An API group (the core group has the empty name) and the versions discovered of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiGroup {
    pub(crate) name: String,
    pub(crate) preferred: Option<String>,
    pub(crate) versions: Vec<ApiGroupVersion>,
}

impl ApiGroup {
    /// The group's name, empty for the core group.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is the core group (`/api`, apiVersion `v1`).
    pub fn is_core(&self) -> bool {
        self.name.is_empty()
    }

    /// The versions in the server's order of preference. A version whose resources could not be
    /// fetched (see [`Discovery::failures`]) is missing.
    pub fn versions(&self) -> impl Iterator<Item = &ApiGroupVersion> {
        self.versions.iter()
    }

    /// The version with this name.
    pub fn version(&self, version: &str) -> Option<&ApiGroupVersion> {
        self.versions.iter().find(|v| v.version == version)
    }

    /// The name of the version the server prefers, as it said.
    pub fn preferred_version_name(&self) -> Option<&str> {
        self.preferred.as_deref()
    }

    /// The version the server prefers; if it was not discovered, the most preferred one that was.
    pub fn preferred_version(&self) -> Option<&ApiGroupVersion> {
        self.preferred.as_deref().and_then(|p| self.version(p)).or_else(|| self.versions.first())
    }

    /// The versions with the preferred one first, then the others in the server's order.
    pub fn versions_by_preference(&self) -> impl Iterator<Item = &ApiGroupVersion> {
        let preferred = self.preferred_version();
        preferred
            .into_iter()
            .chain(self.versions.iter().filter(move |v| !preferred.is_some_and(|p| std::ptr::eq(p, *v))))
    }

    /// Each resource of the group once: from the preferred version when it is served there,
    /// otherwise from the most preferred version that serves it (as `kubectl api-resources`).
    pub fn recommended_resources(&self) -> impl Iterator<Item = (&ApiResource, &ApiCapabilities)> {
        let mut seen = HashSet::new();
        self.versions_by_preference()
            .flat_map(|v| v.resources.iter())
            .filter(move |(r, _)| seen.insert(r.plural.as_str()))
            .map(|(r, c)| (r, c))
    }

    /// The resource of this kind in the preferred version that serves it.
    pub fn recommended_kind(&self, kind: &str) -> Option<(ApiResource, ApiCapabilities)> {
        self.versions_by_preference().find_map(|v| v.resource_by_kind(kind)).cloned()
    }
}

/// A group version whose resources could not be fetched (legacy discovery) or are stale
/// (aggregated discovery): the rest of the discovery is still usable.
#[derive(Debug, Clone)]
pub struct FailedGroupVersion {
    /// The group version.
    pub group_version: GroupVersion,
    /// Why it failed.
    pub error: Arc<super::Error>,
}

/// Everything a server serves: groups, versions, resources and their capabilities.
///
/// Made by [`Discovery::run`] or a [`DiscoveryBuilder`](super::DiscoveryBuilder); kept fresh by a
/// [`CachedDiscovery`](super::CachedDiscovery).
///
/// ```no_run
/// # async fn run(client: kube_client::Client) -> Result<(), kube_client::discovery::Error> {
/// use kube_client::discovery::Discovery;
///
/// let discovery = Discovery::run(&client).await?;
/// for (resource, caps) in discovery.preferred_resources() {
///     let scope = if caps.namespaced() { "namespaced" } else { "cluster" };
///     println!("{} {} {scope} {}", resource.plural, resource.api_version, caps.verbs.join(","));
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub(crate) groups: Vec<ApiGroup>,
    pub(crate) aggregated: bool,
    pub(crate) failures: Vec<FailedGroupVersion>,
}

impl Discovery {
    /// The groups, the core group first, then in the server's order.
    pub fn groups(&self) -> impl Iterator<Item = &ApiGroup> {
        self.groups.iter()
    }

    /// The group with this name (empty for the core group).
    pub fn group(&self, name: &str) -> Option<&ApiGroup> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// Whether the server serves this group.
    pub fn has_group(&self, name: &str) -> bool {
        self.group(name).is_some()
    }

    /// Whether every document came from aggregated discovery (`apidiscovery.k8s.io`).
    pub fn is_aggregated(&self) -> bool {
        self.aggregated
    }

    /// The group versions whose resources could not be fetched in legacy discovery, and those
    /// aggregated discovery marked [`Freshness::Stale`] (their resources are still listed, but
    /// may be missing or out of date).
    pub fn failures(&self) -> &[FailedGroupVersion] {
        &self.failures
    }

    /// Every resource of every version of every group (subresources are in the capabilities).
    pub fn resources(&self) -> impl Iterator<Item = (&ApiResource, &ApiCapabilities)> {
        self.groups
            .iter()
            .flat_map(|g| g.versions.iter())
            .flat_map(|v| v.resources.iter())
            .map(|(r, c)| (r, c))
    }

    /// Each resource once, from its group's preferred version where it is served there: the
    /// resources `kubectl api-resources` lists.
    pub fn preferred_resources(&self) -> impl Iterator<Item = (&ApiResource, &ApiCapabilities)> {
        self.groups.iter().flat_map(ApiGroup::recommended_resources)
    }

    /// The resource of a group/version/kind (exact, case-sensitive), with its plural and scope.
    pub fn resolve_gvk(&self, gvk: &GroupVersionKind) -> Option<(ApiResource, ApiCapabilities)> {
        self.group(&gvk.group)?.version(&gvk.version)?.resource_by_kind(&gvk.kind).cloned()
    }

    /// The resource of a group/version and plural name.
    pub fn resolve_gvr(&self, gvr: &GroupVersionResource) -> Option<(ApiResource, ApiCapabilities)> {
        self.group(&gvr.group)?.version(&gvr.version)?.resource_by_plural(&gvr.resource).cloned()
    }

    /// A resource by the name a person would give `kubectl`, case-insensitively: a short name
    /// (`deploy`), a plural (`deployments`), a singular (`deployment`) or a kind (`Deployment`),
    /// optionally qualified by a group (`deployments.apps`) or a version and group
    /// (`deployments.v1.apps`).
    ///
    /// Like kubectl (client-go 1.27 and later), exact plural and singular names are tried
    /// first, so a short name never shadows another resource's name; then short names, then
    /// kinds. Within each, the core group comes first, then the groups in the server's order, each at
    /// its preferred version first.
    pub fn find(&self, name: &str) -> Option<(ApiResource, ApiCapabilities)> {
        let name = name.trim().to_ascii_lowercase();
        let Some((resource, qualifier)) = name.split_once('.') else {
            return self.find_in(&name, |_| true, None);
        };
        if resource.is_empty() {
            return None;
        }
        if let Some(found) = self.find_in(resource, |g| g == qualifier, None) {
            return Some(found);
        }
        let (version, group) = qualifier.split_once('.')?;
        self.find_in(resource, |g| g == group, Some(version))
    }

    fn find_in(
        &self,
        name: &str,
        group_matches: impl Fn(&str) -> bool,
        version: Option<&str>,
    ) -> Option<(ApiResource, ApiCapabilities)> {
        let candidates = || {
            self.groups
                .iter()
                .filter(|g| group_matches(&g.name))
                .flat_map(ApiGroup::versions_by_preference)
                .filter(|v| version.is_none_or(|want| v.version == want))
                .flat_map(|v| v.resources.iter())
        };
        let short = |(_, c): &&(ApiResource, ApiCapabilities)| {
            c.short_names.iter().any(|s| s.eq_ignore_ascii_case(name))
        };
        let plural = |(r, c): &&(ApiResource, ApiCapabilities)| {
            r.plural.eq_ignore_ascii_case(name) || c.singular.eq_ignore_ascii_case(name)
        };
        let kind = |(r, _): &&(ApiResource, ApiCapabilities)| r.kind.eq_ignore_ascii_case(name);
        candidates()
            .find(plural)
            .or_else(|| candidates().find(short))
            .or_else(|| candidates().find(kind))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::{aggregated, testing};

    fn discovery() -> Discovery {
        let docs = testing::fixture(testing::AGGREGATED);
        let mut groups = Vec::new();
        for path in ["/api", "/apis"] {
            let bytes = serde_json::to_vec(&docs[path]).unwrap();
            groups.extend(aggregated::parse_groups(&bytes, path).unwrap());
        }
        Discovery { groups, aggregated: true, failures: Vec::new() }
    }

    fn found(d: &Discovery, name: &str) -> Option<(String, String, String)> {
        d.find(name).map(|(r, _)| (r.group, r.version, r.plural))
    }

    #[test]
    fn find_like_kubectl() {
        let d = discovery();
        let deployments = Some(("apps".to_string(), "v1".to_string(), "deployments".to_string()));
        for name in
            ["deploy", "Deployment", "deployment", "DEPLOYMENTS", "deployments.apps", "deployment.v1.apps"]
        {
            assert_eq!(found(&d, name), deployments, "{name}");
        }
        assert_eq!(found(&d, "po").map(|f| f.2), Some("pods".into()));
        assert_eq!(found(&d, "Pod").map(|f| f.0), Some(String::new()));
        let hpa = found(&d, "hpa").unwrap();
        assert_eq!((hpa.0.as_str(), hpa.1.as_str()), ("autoscaling", "v2"), "the preferred version wins");
        let hpa_v1 = found(&d, "horizontalpodautoscalers.v1.autoscaling").unwrap();
        assert_eq!(hpa_v1.1, "v1");
        assert_eq!(found(&d, "gz").map(|f| f.1), Some("v1".into()));
        assert_eq!(found(&d, "gizmos.disco.kube-test.example.com").map(|f| f.1), Some("v1".into()));
        assert_eq!(
            found(&d, "gizmo.v1beta1.disco.kube-test.example.com").map(|f| f.1),
            Some("v1beta1".into())
        );
        for name in ["", ".apps", "nothing", "deployments.batch", "pods.v1", "pods/status", "status"] {
            assert_eq!(found(&d, name), None, "{name}");
        }
    }

    #[test]
    fn exact_names_win_over_short_names() {
        let mut d = discovery();
        let resource = ApiResource {
            group: "example.com".into(),
            version: "v1".into(),
            api_version: "example.com/v1".into(),
            kind: "PodMonitor".into(),
            plural: "podmonitors".into(),
            scope: Scope::Namespaced,
        };
        let caps = ApiCapabilities {
            scope: Scope::Namespaced,
            singular: "podmonitor".into(),
            verbs: vec![verbs::GET.into()],
            short_names: vec!["pods".into(), "deployment".into(), "pm".into()],
            categories: Vec::new(),
            subresources: Vec::new(),
        };
        // Before the core group, so that only the order of the checks can make pods win.
        d.groups.insert(
            0,
            ApiGroup {
                name: "example.com".into(),
                preferred: Some("v1".into()),
                versions: vec![ApiGroupVersion {
                    group: "example.com".into(),
                    version: "v1".into(),
                    freshness: Freshness::Current,
                    resources: vec![(resource, caps)],
                }],
            },
        );
        assert_eq!(found(&d, "pods").map(|f| (f.0, f.2)), Some((String::new(), "pods".into())));
        assert_eq!(found(&d, "deployment").map(|f| (f.0, f.2)), Some(("apps".into(), "deployments".into())));
        assert_eq!(found(&d, "pm").map(|f| f.2), Some("podmonitors".into()));
        assert_eq!(found(&d, "PodMonitor").map(|f| f.2), Some("podmonitors".into()));
    }

    #[test]
    fn resolve_by_gvk_and_gvr() {
        let d = discovery();
        let (ar, caps) = d.resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment")).unwrap();
        assert_eq!((ar.plural.as_str(), ar.api_version.as_str()), ("deployments", "apps/v1"));
        assert!(caps.namespaced() && caps.supports(verbs::WATCH) && !caps.supports("proxy"));
        let scale = caps.subresource("scale").unwrap();
        assert_eq!(scale.kind, Some(GroupVersionKind::gvk("autoscaling", "v1", "Scale")));
        assert!(scale.supports(verbs::PATCH));
        assert!(
            d.resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "deployment")).is_none(),
            "kinds are exact"
        );
        assert!(d.resolve_gvk(&GroupVersionKind::gvk("apps", "v2", "Deployment")).is_none());
        let gizmo = GroupVersionKind::gvk("disco.kube-test.example.com", "v1beta1", "Gizmo");
        assert_eq!(d.resolve_gvk(&gizmo).unwrap().1.scope, Scope::Cluster);
        let (ns, caps) = d.resolve_gvr(&GroupVersionResource::gvr("", "v1", "namespaces")).unwrap();
        assert_eq!((ns.kind.as_str(), caps.scope), ("Namespace", Scope::Cluster));
        assert!(d.resolve_gvr(&GroupVersionResource::gvr("", "v1", "Namespace")).is_none());
    }

    #[test]
    fn preferred_resources_list_each_resource_once() {
        let d = discovery();
        let preferred: Vec<String> =
            d.preferred_resources().map(|(r, _)| format!("{}.{}/{}", r.plural, r.group, r.version)).collect();
        assert_eq!(preferred.iter().filter(|p| p.starts_with("horizontalpodautoscalers.")).count(), 1);
        assert!(preferred.contains(&"horizontalpodautoscalers.autoscaling/v2".to_string()));
        assert!(preferred.contains(&"gizmos.disco.kube-test.example.com/v1".to_string()));
        assert!(preferred.contains(&"pods./v1".to_string()));
        assert!(d.resources().count() > preferred.len(), "other versions are in resources()");
        let autoscaling = d.group("autoscaling").unwrap();
        assert_eq!(autoscaling.preferred_version().map(ApiGroupVersion::version), Some("v2"));
        let order: Vec<&str> = autoscaling.versions_by_preference().map(ApiGroupVersion::version).collect();
        assert_eq!(order, ["v2", "v1"]);
        assert_eq!(
            autoscaling.recommended_kind("HorizontalPodAutoscaler").map(|(r, _)| r.version),
            Some("v2".to_string())
        );
    }

    #[test]
    fn preferred_version_falls_back_to_the_first_discovered() {
        let version = |v: &str| ApiGroupVersion {
            group: "g".into(),
            version: v.into(),
            freshness: Freshness::Current,
            resources: Vec::new(),
        };
        let mut group = ApiGroup {
            name: "g".into(),
            preferred: Some("v2".into()),
            versions: vec![version("v1"), version("v2")],
        };
        let order: Vec<&str> = group.versions_by_preference().map(ApiGroupVersion::version).collect();
        assert_eq!(order, ["v2", "v1"]);
        group.preferred = Some("v3".into());
        assert_eq!(group.preferred_version().map(ApiGroupVersion::version), Some("v1"));
        assert_eq!(group.preferred_version_name(), Some("v3"));
        let order: Vec<&str> = group.versions_by_preference().map(ApiGroupVersion::version).collect();
        assert_eq!(order, ["v1", "v2"]);
    }
}
