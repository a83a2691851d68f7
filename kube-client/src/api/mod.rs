//! `Api<K>`: one typed handle for every resource, native, custom or dynamic, in a namespace or
//! across all of them, with every verb and the common subresources.

mod core_verbs;
mod metadata;
pub mod remote;
mod subresource;

use std::fmt::Debug;

use kube_core::{
    ClusterResourceScope, DynamicResourceScope, NamespaceResourceScope, Resource, request::Request,
};

/// What `delete` returns: the object while finalizers hold it (`Left`) or the final `Status`.
pub use either::Either;
pub use kube_core::{
    ObjectList, WatchEvent,
    params::{
        DeleteParams, GetParams, ListParams, LogParams, Patch, PatchParams, PostParams, ValidationDirective,
        VersionMatch, WatchParams,
    },
};
pub use subresource::EvictParams;

use crate::Client;

/// A handle to one resource type, in one namespace or in all of them.
///
/// The scope is checked at compile time for types whose scope is static: `namespaced` exists only
/// for namespaced types, `all` for any. Dynamic types ([`DynamicObject`](kube_core::DynamicObject),
/// [`Object`](kube_core::Object)) take their scope from their [`ApiResource`](kube_core::ApiResource).
///
/// ```no_run
/// # async fn run(client: kube_client::Client) -> Result<(), kube_client::Error> {
/// use k8s_openapi::api::core::v1::ConfigMap;
/// use kube_client::api::{Api, ListParams};
/// let cms: Api<ConfigMap> = Api::namespaced(client, "prod");
/// for cm in cms.list(&ListParams::default().labels("app=web")).await? {
///     println!("{:?}", cm.metadata.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Api<K: Resource> {
    request: Request,
    client: Client,
    namespace: Option<String>,
    dyntype: K::DynamicType,
    /// Overrides the client's protobuf setting for this handle.
    protobuf: Option<bool>,
}

impl<K: Resource> Debug for Api<K>
where
    K::DynamicType: Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("url_path", &self.request.url_path())
            .field("namespace", &self.namespace)
            .field("dyntype", &self.dyntype)
            .finish()
    }
}

impl<K: Resource> Api<K>
where
    K::DynamicType: Default,
{
    /// Every object of the type: cluster-scoped objects, or namespaced objects across all
    /// namespaces (read-only verbs mostly make sense there).
    pub fn all(client: Client) -> Self {
        Self::all_with(client, &K::DynamicType::default())
    }
}

impl<K: Resource<Scope = NamespaceResourceScope>> Api<K>
where
    K::DynamicType: Default,
{
    /// Objects in `namespace`.
    pub fn namespaced(client: Client, namespace: &str) -> Self {
        let dyntype = K::DynamicType::default();
        Self::make(client, Some(namespace), dyntype)
    }

    /// Objects in the client's default namespace (the kubeconfig context's, or `default`).
    pub fn default_namespaced(client: Client) -> Self {
        let ns = client.default_namespace().to_string();
        Self::namespaced(client, &ns)
    }
}

impl<K: Resource<Scope = ClusterResourceScope>> Api<K>
where
    K::DynamicType: Default,
{
    /// Objects of a cluster-scoped type (the same as [`Api::all`], named for clarity).
    pub fn cluster(client: Client) -> Self {
        Self::all(client)
    }
}

impl<K: Resource<Scope = DynamicResourceScope>> Api<K> {
    /// Objects of a dynamic type in `namespace`. For a cluster-scoped type the namespace is
    /// ignored, as the API server has no namespaced URL for it.
    pub fn namespaced_with(client: Client, namespace: &str, dyntype: &K::DynamicType) -> Self
    where
        K::DynamicType: Clone,
    {
        Self::make(client, Some(namespace), dyntype.clone())
    }

    /// Objects of a dynamic type in the client's default namespace.
    pub fn default_namespaced_with(client: Client, dyntype: &K::DynamicType) -> Self
    where
        K::DynamicType: Clone,
    {
        let ns = client.default_namespace().to_string();
        Self::namespaced_with(client, &ns, dyntype)
    }
}

impl<K: Resource> Api<K> {
    /// Every object of the type, with run-time type information.
    pub fn all_with(client: Client, dyntype: &K::DynamicType) -> Self
    where
        K::DynamicType: Clone,
    {
        Self::make(client, None, dyntype.clone())
    }

    /// Objects in `namespace`, or every object when it is `None`, for code generic over the
    /// scope (a cluster-scoped type ignores the namespace): e.g. to act on an object known by its
    /// namespace and name.
    pub fn scoped(client: Client, namespace: Option<&str>, dyntype: &K::DynamicType) -> Self {
        Self::make(client, namespace, dyntype.clone())
    }

    fn make(client: Client, namespace: Option<&str>, dyntype: K::DynamicType) -> Self {
        let namespace = match K::scope(&dyntype) {
            kube_core::Scope::Namespaced => namespace.map(str::to_string),
            kube_core::Scope::Cluster => None,
        };
        let request = Request::new(K::url_path(&dyntype, namespace.as_deref()));
        Self { request, client, namespace, dyntype, protobuf: None }
    }

    /// Asks for protobuf on this handle's reads (`true`) or for JSON (`false`), whatever the
    /// client's setting ([`Client::with_protobuf`]). Protobuf is asked for only where the API
    /// server has it: built-in types, and metadata-only reads of any type.
    ///
    /// ```no_run
    /// # fn run(client: kube_client::Client) {
    /// use k8s_openapi::api::core::v1::Pod;
    /// let pods = kube_client::Api::<Pod>::all(client).with_protobuf(true);
    /// # }
    /// ```
    #[must_use]
    pub fn with_protobuf(mut self, protobuf: bool) -> Self {
        self.protobuf = Some(protobuf);
        self
    }

    /// Gives a read request built from [`Api::request_builder`] the Accept header this handle
    /// negotiates: protobuf (then JSON) when protobuf is on and the server has it for this
    /// type, or for metadata-only reads; unchanged otherwise (writes, JSON settings, custom
    /// resources, other Accept headers).
    ///
    /// Without the `protobuf` feature, every request is returned unchanged (JSON).
    #[cfg(not(feature = "protobuf"))]
    pub fn negotiate(&self, req: http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
        req
    }

    /// Gives a read request built from [`Api::request_builder`] the Accept header this handle
    /// negotiates: protobuf (then JSON) when protobuf is on and the server has it for this
    /// type, or for metadata-only reads; unchanged otherwise (writes, JSON settings, custom
    /// resources, other Accept headers).
    #[cfg(feature = "protobuf")]
    pub fn negotiate(&self, mut req: http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
        use kube_core::{metadata, protobuf};
        if !self.protobuf.unwrap_or(self.client.protobuf()) || req.method() != http::Method::GET {
            return req;
        }
        let accept = req.headers().get(http::header::ACCEPT).and_then(|v| v.to_str().ok());
        let proto = match accept {
            Some("application/json") | None => {
                let dt = &self.dyntype;
                if !protobuf::is_builtin(&K::api_version(dt), &K::kind(dt)) {
                    return req;
                }
                protobuf::ACCEPT
            }
            Some(a) if a == metadata::ACCEPT_METADATA => protobuf::ACCEPT_METADATA,
            Some(a) if a == metadata::ACCEPT_METADATA_LIST => protobuf::ACCEPT_METADATA_LIST,
            Some(_) => return req,
        };
        req.headers_mut().insert(http::header::ACCEPT, http::HeaderValue::from_static(proto));
        req
    }

    /// The client this handle uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The namespace, when the handle is for one.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The collection's URL path.
    pub fn resource_url(&self) -> &str {
        self.request.url_path()
    }

    /// The run-time type information.
    pub fn dyntype(&self) -> &K::DynamicType {
        &self.dyntype
    }

    /// The request builder of this collection, for calls this type has no method for.
    pub fn request_builder(&self) -> &Request {
        &self.request
    }
}
