//! The `Resource` trait: what the API needs to know about a type (group, version, kind, plural,
//! scope) to build its URLs, for native types, custom resources and runtime-typed objects alike.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

pub use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope, ResourceScope, SubResourceScope};

/// Whether a resource lives in a namespace or at cluster level, known at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Scope {
    /// Objects live in a namespace (Pods, ConfigMaps, ...).
    Namespaced,
    /// Objects live at cluster level (Nodes, Namespaces, CRDs, ...).
    Cluster,
}

/// The scope of a resource type whose scope is not fixed at compile time.
///
/// Used by [`DynamicObject`](crate::DynamicObject) and [`Object`](crate::Object): their scope comes
/// from the [`ApiResource`](crate::ApiResource) they are used with.
pub struct DynamicResourceScope {}
impl ResourceScope for DynamicResourceScope {}

/// Maps a compile-time scope marker to a [`Scope`], where it is known.
pub trait StaticScope {
    /// The scope; `None` for [`DynamicResourceScope`].
    const SCOPE: Option<Scope>;
}
impl StaticScope for NamespaceResourceScope {
    const SCOPE: Option<Scope> = Some(Scope::Namespaced);
}
impl StaticScope for ClusterResourceScope {
    const SCOPE: Option<Scope> = Some(Scope::Cluster);
}
impl StaticScope for SubResourceScope {
    const SCOPE: Option<Scope> = None;
}
impl StaticScope for DynamicResourceScope {
    const SCOPE: Option<Scope> = None;
}

/// A Kubernetes resource type: everything needed to address it on the API.
///
/// Type information comes from `DynamicType`: `()` for types known at compile time (every
/// `k8s-openapi` type implements this trait through its own traits, and `#[derive(CustomResource)]`
/// types too), or an [`ApiResource`](crate::ApiResource) for types known only at run time.
///
/// ```
/// use k8s_openapi::api::apps::v1::Deployment;
/// use kube_core::{Resource, Scope};
/// assert_eq!(Deployment::kind(&()), "Deployment");
/// assert_eq!(Deployment::api_version(&()), "apps/v1");
/// assert_eq!(Deployment::plural(&()), "deployments");
/// assert_eq!(Deployment::scope(&()), Scope::Namespaced);
/// assert_eq!(Deployment::url_path(&(), Some("ns")), "/apis/apps/v1/namespaces/ns/deployments");
/// ```
pub trait Resource {
    /// Run-time type information: `()` when everything is static.
    type DynamicType: Send + Sync + Clone + 'static;
    /// The compile-time scope marker ([`NamespaceResourceScope`], [`ClusterResourceScope`] or
    /// [`DynamicResourceScope`]).
    type Scope;

    /// The kind, such as `Pod`.
    fn kind(dt: &Self::DynamicType) -> Cow<'_, str>;
    /// The API group, empty for the core group.
    fn group(dt: &Self::DynamicType) -> Cow<'_, str>;
    /// The API version, such as `v1`.
    fn version(dt: &Self::DynamicType) -> Cow<'_, str>;
    /// The plural name used in URLs, such as `pods`.
    fn plural(dt: &Self::DynamicType) -> Cow<'_, str>;
    /// Whether objects live in namespaces.
    fn scope(dt: &Self::DynamicType) -> Scope;

    /// The `apiVersion`: `version` for the core group, `group/version` otherwise.
    fn api_version(dt: &Self::DynamicType) -> Cow<'_, str> {
        let group = Self::group(dt);
        if group.is_empty() {
            return Self::version(dt);
        }
        Cow::Owned(format!("{group}/{}", Self::version(dt)))
    }

    /// The collection URL: `/api/v1[/namespaces/{ns}]/{plural}` for the core group,
    /// `/apis/{group}/{version}[/namespaces/{ns}]/{plural}` otherwise. The namespace is left out
    /// for cluster-scoped resources and when `None` (all namespaces).
    fn url_path(dt: &Self::DynamicType, namespace: Option<&str>) -> String {
        let group = Self::group(dt);
        let prefix = if group.is_empty() { "api".to_string() } else { format!("apis/{group}") };
        let ns = match (Self::scope(dt), namespace) {
            (Scope::Namespaced, Some(ns)) => format!("namespaces/{ns}/"),
            _ => String::new(),
        };
        format!("/{prefix}/{}/{ns}{}", Self::version(dt), Self::plural(dt))
    }

    /// An owner reference to this object, for the `metadata.ownerReferences` of an object it
    /// owns; `None` until the object has a name and a uid (that is, until the server stored it).
    ///
    /// ```
    /// use k8s_openapi::api::core::v1::ConfigMap;
    /// use kube_core::{ObjectMeta, Resource};
    /// let mut owner = ConfigMap::default();
    /// assert!(owner.owner_ref(&()).is_none());
    /// owner.metadata = ObjectMeta { name: Some("a".into()), uid: Some("1234".into()), ..Default::default() };
    /// let r = owner.controller_owner_ref(&()).unwrap();
    /// assert_eq!((r.kind.as_str(), r.name.as_str(), r.controller), ("ConfigMap", "a", Some(true)));
    /// ```
    fn owner_ref(&self, dt: &Self::DynamicType) -> Option<OwnerReference> {
        let meta = self.meta();
        Some(OwnerReference {
            api_version: Self::api_version(dt).into_owned(),
            kind: Self::kind(dt).into_owned(),
            name: meta.name.clone()?,
            uid: meta.uid.clone()?,
            controller: None,
            block_owner_deletion: None,
        })
    }

    /// Like [`owner_ref`](Self::owner_ref), marked as the controller (the one owner a
    /// controller's `owns` relation follows) and blocking the owner's foreground deletion until
    /// the owned object is gone.
    fn controller_owner_ref(&self, dt: &Self::DynamicType) -> Option<OwnerReference> {
        Some(OwnerReference {
            controller: Some(true),
            block_owner_deletion: Some(true),
            ..self.owner_ref(dt)?
        })
    }

    /// The object's metadata.
    fn meta(&self) -> &ObjectMeta;
    /// The object's metadata, mutably.
    fn meta_mut(&mut self) -> &mut ObjectMeta;
}

impl<K> Resource for K
where
    K: k8s_openapi::Metadata<Ty = ObjectMeta>,
    K::Scope: StaticScope,
{
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(K::KIND)
    }
    fn group(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(K::GROUP)
    }
    fn version(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(K::VERSION)
    }
    fn plural(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(K::URL_PATH_SEGMENT)
    }
    fn api_version(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(K::API_VERSION)
    }
    fn scope(_: &()) -> Scope {
        <K::Scope as StaticScope>::SCOPE.unwrap_or(Scope::Namespaced)
    }
    fn meta(&self) -> &ObjectMeta {
        self.metadata()
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        self.metadata_mut()
    }
}

/// Convenience accessors for any [`Resource`].
pub trait ResourceExt: Resource {
    /// The name, or an empty string when the object has none yet (e.g. it uses `generateName`).
    fn name_any(&self) -> String {
        self.meta().name.clone().or_else(|| self.meta().generate_name.clone()).unwrap_or_default()
    }
    /// The namespace, if any.
    fn namespace(&self) -> Option<String> {
        self.meta().namespace.clone()
    }
    /// The resourceVersion, if any.
    fn resource_version(&self) -> Option<String> {
        self.meta().resource_version.clone()
    }
    /// The uid, if any.
    fn uid(&self) -> Option<String> {
        self.meta().uid.clone()
    }
    /// The labels; empty when there are none.
    fn labels(&self) -> &std::collections::BTreeMap<String, String> {
        self.meta().labels.as_ref().unwrap_or(&EMPTY_MAP)
    }
    /// The annotations; empty when there are none.
    fn annotations(&self) -> &std::collections::BTreeMap<String, String> {
        self.meta().annotations.as_ref().unwrap_or(&EMPTY_MAP)
    }
    /// The labels, mutably (created when absent).
    fn labels_mut(&mut self) -> &mut std::collections::BTreeMap<String, String> {
        self.meta_mut().labels.get_or_insert_with(Default::default)
    }
    /// The annotations, mutably (created when absent).
    fn annotations_mut(&mut self) -> &mut std::collections::BTreeMap<String, String> {
        self.meta_mut().annotations.get_or_insert_with(Default::default)
    }
    /// The finalizers; empty when there are none.
    fn finalizers(&self) -> &[String] {
        self.meta().finalizers.as_deref().unwrap_or_default()
    }
}

static EMPTY_MAP: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();

impl<K: Resource> ResourceExt for K {}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::{
        core::v1::{ConfigMap, Namespace, Pod},
        rbac::v1::ClusterRole,
    };

    use super::*;

    #[test]
    fn native_types_have_static_type_information() {
        assert_eq!(Pod::url_path(&(), Some("default")), "/api/v1/namespaces/default/pods");
        assert_eq!(Pod::url_path(&(), None), "/api/v1/pods");
        assert_eq!(Namespace::url_path(&(), Some("ignored")), "/api/v1/namespaces");
        assert_eq!(Namespace::scope(&()), Scope::Cluster);
        assert_eq!(ClusterRole::url_path(&(), None), "/apis/rbac.authorization.k8s.io/v1/clusterroles");
        assert_eq!(ClusterRole::api_version(&()), "rbac.authorization.k8s.io/v1");
        assert_eq!(ConfigMap::kind(&()), "ConfigMap");
    }

    #[test]
    fn resource_ext_reads_metadata() {
        let mut cm = ConfigMap::default();
        assert_eq!(cm.name_any(), "");
        assert!(cm.labels().is_empty());
        cm.meta_mut().generate_name = Some("gen-".into());
        assert_eq!(cm.name_any(), "gen-");
        cm.labels_mut().insert("a".into(), "b".into());
        assert_eq!(cm.labels().get("a").map(String::as_str), Some("b"));
    }
}
