//! Kubernetes API shapes without IO: resources and their type information, generic objects,
//! lists, watch events, the API `Status` error, query parameters, selectors, protobuf decoding, a request builder
//! that turns a resource plus a verb into an [`http::Request`], and the admission and conversion
//! reviews webhooks answer.
//!
//! Nothing in this crate performs IO or needs an async runtime: everything it builds can be checked
//! with plain tests, and a client only has to send what it produced.
//!
//! ```
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use kube_core::{Resource, params::{Patch, PatchParams}, request::Request};
//! let req = Request::new(ConfigMap::url_path(&(), Some("prod")));
//! let patch = Patch::Apply(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}}));
//! let http_req = req.patch("settings", &PatchParams::apply("my-tool"), &patch).unwrap();
//! assert_eq!(http_req.uri(), "/api/v1/namespaces/prod/configmaps/settings?fieldManager=my-tool");
//! assert_eq!(http_req.headers()["content-type"], "application/apply-patch+yaml");
//! ```

pub mod admission;
pub mod api_resource;
pub mod conversion;
pub mod crd;
pub mod dynamic;
pub mod error;
pub mod gvk;
pub mod json_patch;
pub mod metadata;
pub mod object;
pub mod params;
#[cfg(feature = "protobuf")]
pub mod protobuf;
pub mod request;
pub mod resource;
#[cfg(feature = "schema")]
pub mod schema;
pub mod selector;
pub mod status;
pub mod trim;
pub mod watch;

pub use api_resource::ApiResource;
pub use crd::{CustomResourceExt, HasSpec, HasStatus};
pub use dynamic::{DynamicObject, ParseDynamicObjectError};
pub use error::Error;
pub use gvk::{GroupVersion, GroupVersionKind, GroupVersionResource, ParseGroupVersionError};
pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ListMeta, ObjectMeta};
pub use metadata::PartialObjectMetadata;
pub use object::{Object, ObjectList, TypeMeta};
pub use resource::{
    ClusterResourceScope, DynamicResourceScope, NamespaceResourceScope, Resource, ResourceExt, Scope,
};
pub use status::{Status, StatusCause, StatusDetails};
pub use watch::{Bookmark, BookmarkMeta, WatchEvent};

/// Paths `#[derive(CustomResource)]` expands to, so users need no direct dependency on them.
#[doc(hidden)]
pub mod __private {
    pub use k8s_openapi;
    pub use serde;
}
