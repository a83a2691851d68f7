//! The request builder: a resource's collection URL plus a verb and its parameters make an
//! `http::Request<Vec<u8>>`, validated before anything is sent.

use http::{Method, header};
use serde::Serialize;

use crate::{
    error::Error,
    metadata::{ACCEPT_METADATA, ACCEPT_METADATA_LIST},
    params::{
        AttachParams, DeleteParams, GetParams, ListParams, LogParams, Patch, PatchParams, PostParams, Query,
        WatchParams,
    },
};

const JSON: &str = "application/json";

/// Builds the requests of every verb for one resource collection.
///
/// ```
/// use k8s_openapi::api::core::v1::Pod;
/// use kube_core::{Resource, params::ListParams, request::Request};
/// let req = Request::new(Pod::url_path(&(), Some("default")));
/// let list = req.list(&ListParams::default().limit(2)).unwrap();
/// assert_eq!(list.method(), "GET");
/// assert_eq!(list.uri(), "/api/v1/namespaces/default/pods?limit=2");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    url_path: String,
}

impl Request {
    /// A builder for the collection at `url_path` (see [`Resource::url_path`](crate::Resource::url_path)).
    pub fn new(url_path: impl Into<String>) -> Self {
        Self { url_path: url_path.into() }
    }

    /// The collection URL path.
    pub fn url_path(&self) -> &str {
        &self.url_path
    }

    fn object_path(&self, name: &str, subresource: Option<&str>) -> Result<String, Error> {
        check_segment("name", name)?;
        let mut path = format!("{}/{name}", self.url_path);
        if let Some(sub) = subresource {
            check_segment("subresource", sub)?;
            path.push('/');
            path.push_str(sub);
        }
        Ok(path)
    }

    /// `GET` the collection.
    pub fn list(&self, lp: &ListParams) -> Result<http::Request<Vec<u8>>, Error> {
        lp.validate()?;
        let mut q = Query::new();
        lp.append_query(&mut q);
        build(Method::GET, q.finish(&self.url_path), JSON, None)
    }

    /// `GET` the collection as a watch from `resource_version` (empty: start at the newest data,
    /// or, with `send_initial_events`, with the current state).
    pub fn watch(&self, wp: &WatchParams, resource_version: &str) -> Result<http::Request<Vec<u8>>, Error> {
        wp.validate()?;
        let mut q = Query::new();
        wp.append_query(&mut q, resource_version);
        build(Method::GET, q.finish(&self.url_path), JSON, None)
    }

    /// `GET` one object.
    pub fn get(&self, name: &str, gp: &GetParams) -> Result<http::Request<Vec<u8>>, Error> {
        let mut q = Query::new();
        gp.append_query(&mut q);
        build(Method::GET, q.finish(&self.object_path(name, None)?), JSON, None)
    }

    /// `POST` a new object to the collection.
    pub fn create(&self, pp: &PostParams, body: Vec<u8>) -> Result<http::Request<Vec<u8>>, Error> {
        pp.validate()?;
        let mut q = Query::new();
        pp.append_query(&mut q);
        build(Method::POST, q.finish(&self.url_path), JSON, Some((JSON, body)))
    }

    /// `PUT` a whole object (a replace; its resourceVersion guards against lost updates).
    pub fn replace(
        &self,
        name: &str,
        pp: &PostParams,
        body: Vec<u8>,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        self.replace_subresource_inner(name, None, pp, body)
    }

    /// `PATCH` one object.
    pub fn patch<P: Serialize>(
        &self,
        name: &str,
        pp: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        self.patch_inner(name, None, pp, patch)
    }

    /// `DELETE` one object.
    pub fn delete(&self, name: &str, dp: &DeleteParams) -> Result<http::Request<Vec<u8>>, Error> {
        let path = self.object_path(name, None)?;
        let mut q = Query::new();
        if dp.dry_run {
            q.pair("dryRun", "All");
        }
        build(Method::DELETE, q.finish(&path), JSON, Some((JSON, dp.body()?)))
    }

    /// `DELETE` every object of the collection that `lp`'s selectors match.
    pub fn delete_collection(
        &self,
        dp: &DeleteParams,
        lp: &ListParams,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        lp.validate()?;
        let mut q = Query::new();
        lp.append_query(&mut q);
        if dp.dry_run {
            q.pair("dryRun", "All");
        }
        build(Method::DELETE, q.finish(&self.url_path), JSON, Some((JSON, dp.body()?)))
    }

    /// `GET` one object's metadata only (`PartialObjectMetadata`).
    pub fn get_metadata(&self, name: &str, gp: &GetParams) -> Result<http::Request<Vec<u8>>, Error> {
        with_accept(self.get(name, gp)?, ACCEPT_METADATA)
    }

    /// `GET` the collection's metadata only (`PartialObjectMetadataList`).
    pub fn list_metadata(&self, lp: &ListParams) -> Result<http::Request<Vec<u8>>, Error> {
        with_accept(self.list(lp)?, ACCEPT_METADATA_LIST)
    }

    /// Watch the collection's metadata only (events carry `PartialObjectMetadata`).
    pub fn watch_metadata(
        &self,
        wp: &WatchParams,
        resource_version: &str,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        with_accept(self.watch(wp, resource_version)?, ACCEPT_METADATA)
    }

    /// `PATCH` one object and get its metadata only back.
    pub fn patch_metadata<P: Serialize>(
        &self,
        name: &str,
        pp: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        with_accept(self.patch(name, pp, patch)?, ACCEPT_METADATA)
    }

    /// `GET` a subresource, such as `status` or `scale`.
    pub fn get_subresource(
        &self,
        subresource: &str,
        name: &str,
        gp: &GetParams,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        let mut q = Query::new();
        gp.append_query(&mut q);
        build(Method::GET, q.finish(&self.object_path(name, Some(subresource))?), JSON, None)
    }

    /// `POST` to a subresource, such as `eviction` or `token`.
    pub fn create_subresource(
        &self,
        subresource: &str,
        name: &str,
        pp: &PostParams,
        body: Vec<u8>,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        pp.validate()?;
        let mut q = Query::new();
        pp.append_query(&mut q);
        build(Method::POST, q.finish(&self.object_path(name, Some(subresource))?), JSON, Some((JSON, body)))
    }

    /// `PATCH` a subresource, such as `status` or `scale`.
    pub fn patch_subresource<P: Serialize>(
        &self,
        subresource: &str,
        name: &str,
        pp: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        self.patch_inner(name, Some(subresource), pp, patch)
    }

    /// `PUT` a subresource, such as `status` or `scale`.
    pub fn replace_subresource(
        &self,
        subresource: &str,
        name: &str,
        pp: &PostParams,
        body: Vec<u8>,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        self.replace_subresource_inner(name, Some(subresource), pp, body)
    }

    /// `GET` a container's log (a Pod's `log` subresource); plain text, streamed when following.
    pub fn logs(&self, name: &str, lp: &LogParams) -> Result<http::Request<Vec<u8>>, Error> {
        lp.validate()?;
        let mut q = Query::new();
        lp.append_query(&mut q);
        build(Method::GET, q.finish(&self.object_path(name, Some("log"))?), "*/*", None)
    }

    /// `POST` an `Eviction` for a Pod (its `eviction` subresource).
    pub fn evict(
        &self,
        name: &str,
        pp: &PostParams,
        eviction: Vec<u8>,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        self.create_subresource("eviction", name, pp, eviction)
    }

    /// `GET` that upgrades to a streaming connection running `command` in a Pod's container
    /// (`exec` subresource; needs a WebSocket or SPDY upgrade by the client).
    pub fn exec<I, S>(
        &self,
        name: &str,
        command: I,
        ap: &AttachParams,
    ) -> Result<http::Request<Vec<u8>>, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ap.validate()?;
        let mut q = Query::new();
        ap.append_query(&mut q);
        let mut any = false;
        for arg in command {
            q.pair("command", arg.as_ref());
            any = true;
        }
        if !any {
            return Err(crate::error::invalid("command", "exec needs a command"));
        }
        build(Method::GET, q.finish(&self.object_path(name, Some("exec"))?), "*/*", None)
    }

    /// `GET` that upgrades to a streaming connection attached to a Pod's running container.
    pub fn attach(&self, name: &str, ap: &AttachParams) -> Result<http::Request<Vec<u8>>, Error> {
        ap.validate()?;
        let mut q = Query::new();
        ap.append_query(&mut q);
        build(Method::GET, q.finish(&self.object_path(name, Some("attach"))?), "*/*", None)
    }

    /// `GET` that upgrades to a streaming connection forwarding `ports` of a Pod.
    pub fn portforward(&self, name: &str, ports: &[u16]) -> Result<http::Request<Vec<u8>>, Error> {
        if ports.is_empty() {
            return Err(crate::error::invalid("ports", "port-forward needs at least one port"));
        }
        if ports.contains(&0) {
            return Err(crate::error::invalid("ports", "port 0 cannot be forwarded"));
        }
        let mut q = Query::new();
        let list = ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        q.pair("ports", &list);
        build(Method::GET, q.finish(&self.object_path(name, Some("portforward"))?), "*/*", None)
    }

    fn replace_subresource_inner(
        &self,
        name: &str,
        subresource: Option<&str>,
        pp: &PostParams,
        body: Vec<u8>,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        pp.validate()?;
        let mut q = Query::new();
        pp.append_query(&mut q);
        build(Method::PUT, q.finish(&self.object_path(name, subresource)?), JSON, Some((JSON, body)))
    }

    fn patch_inner<P: Serialize>(
        &self,
        name: &str,
        subresource: Option<&str>,
        pp: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        pp.validate(patch)?;
        let mut q = Query::new();
        pp.append_query(&mut q);
        let body = patch.serialize_body()?;
        build(
            Method::PATCH,
            q.finish(&self.object_path(name, subresource)?),
            JSON,
            Some((patch.content_type(), body)),
        )
    }
}

/// Names become one URL path segment: they must be non-empty and contain no `/`, `?`, `#` or `%`,
/// and not be `.` or `..` (the API server rejects such names in any case).
fn check_segment(what: &'static str, name: &str) -> Result<(), Error> {
    let reason = if name.is_empty() {
        "must not be empty"
    } else if name == "." || name == ".." {
        "must not be \".\" or \"..\""
    } else if name.contains(['/', '?', '#', '%']) {
        "must not contain '/', '?', '#' or '%'"
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        "must not contain whitespace or control characters"
    } else {
        return Ok(());
    };
    Err(Error::InvalidName { what, name: name.to_string(), reason })
}

fn build(
    method: Method,
    uri: String,
    accept: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Result<http::Request<Vec<u8>>, Error> {
    let mut builder = http::Request::builder().method(method).uri(uri).header(header::ACCEPT, accept);
    let body = match body {
        Some((content_type, body)) => {
            builder = builder.header(header::CONTENT_TYPE, content_type);
            body
        }
        None => Vec::new(),
    };
    builder.body(body).map_err(Error::Http)
}

fn with_accept(
    mut req: http::Request<Vec<u8>>,
    accept: &'static str,
) -> Result<http::Request<Vec<u8>>, Error> {
    req.headers_mut().insert(header::ACCEPT, header::HeaderValue::from_static(accept));
    Ok(req)
}
