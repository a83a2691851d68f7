//! `ApiResource`: the run-time type information of a resource, for types not known at compile time.

use serde::{Deserialize, Serialize};

use crate::{GroupVersionKind, Resource, Scope};

/// Everything needed to address a resource whose type is only known at run time: its
/// group/version/kind, plural name and scope. Discovery produces these; they can also be written
/// by hand or taken from a static type.
///
/// ```
/// use k8s_openapi::api::apps::v1::Deployment;
/// use kube_core::{ApiResource, GroupVersionKind, Scope};
/// let ar = ApiResource::erase::<Deployment>(&());
/// assert_eq!(ar.plural, "deployments");
/// let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
/// let widget = ApiResource::from_gvk_with_plural(&gvk, "widgets", Scope::Namespaced);
/// assert_eq!(widget.api_version, "example.com/v1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiResource {
    /// The API group, empty for the core group.
    pub group: String,
    /// The API version.
    pub version: String,
    /// `group/version`, or `version` for the core group.
    pub api_version: String,
    /// The kind.
    pub kind: String,
    /// The plural name used in URLs.
    pub plural: String,
    /// Namespaced or cluster-scoped.
    pub scope: Scope,
}

impl ApiResource {
    /// The type information of a static (or dynamic) resource type.
    pub fn erase<K: Resource>(dt: &K::DynamicType) -> Self {
        Self {
            group: K::group(dt).into_owned(),
            version: K::version(dt).into_owned(),
            api_version: K::api_version(dt).into_owned(),
            kind: K::kind(dt).into_owned(),
            plural: K::plural(dt).into_owned(),
            scope: K::scope(dt),
        }
    }

    /// Type information from a group/version/kind and the plural name and scope that discovery
    /// reported for it.
    pub fn from_gvk_with_plural(gvk: &GroupVersionKind, plural: &str, scope: Scope) -> Self {
        Self {
            group: gvk.group.clone(),
            version: gvk.version.clone(),
            api_version: gvk.api_version(),
            kind: gvk.kind.clone(),
            plural: plural.to_string(),
            scope,
        }
    }

    /// The group/version/kind of this resource.
    pub fn gvk(&self) -> GroupVersionKind {
        GroupVersionKind::gvk(&self.group, &self.version, &self.kind)
    }
}

/// Implements [`Resource`] for a type whose type information is an [`ApiResource`] and whose
/// metadata is its `metadata` field.
macro_rules! impl_dynamic_resource {
    ($ty:ty $(, $param:ident)*) => {
        impl<$($param),*> $crate::Resource for $ty {
            type DynamicType = $crate::ApiResource;
            type Scope = $crate::DynamicResourceScope;

            fn kind(dt: &$crate::ApiResource) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(&dt.kind)
            }
            fn group(dt: &$crate::ApiResource) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(&dt.group)
            }
            fn version(dt: &$crate::ApiResource) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(&dt.version)
            }
            fn api_version(dt: &$crate::ApiResource) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(&dt.api_version)
            }
            fn plural(dt: &$crate::ApiResource) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(&dt.plural)
            }
            fn scope(dt: &$crate::ApiResource) -> $crate::Scope {
                dt.scope
            }
            fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &mut self.metadata
            }
        }
    };
}
pub(crate) use impl_dynamic_resource;
