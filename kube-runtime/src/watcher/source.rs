//! Where a watcher gets its lists and watches: whole objects or metadata only.

use futures::{StreamExt, TryFutureExt, future::BoxFuture, stream::BoxStream};
use kube_client::{Api, Client, Error};
use kube_core::{
    ObjectList, PartialObjectMetadata, Resource, WatchEvent,
    params::{ListParams, WatchParams},
};
use serde::{Serialize, de::DeserializeOwned};

/// A stream of watch events.
pub type EventStream<K> = BoxStream<'static, Result<WatchEvent<K>, Error>>;

/// Lists and watches of one kind of value.
pub trait Source: Clone + Send + Sync + 'static {
    /// What the watcher yields.
    type Value: Resource + Clone + Send + Sync + 'static;

    /// One page of values.
    fn list(&self, lp: &ListParams) -> BoxFuture<'static, Result<ObjectList<Self::Value>, Error>>;

    /// A watch from `resource_version`.
    fn watch(
        &self,
        wp: &WatchParams,
        resource_version: &str,
    ) -> BoxFuture<'static, Result<EventStream<Self::Value>, Error>>;
}

/// Whole objects.
#[derive(Clone)]
pub struct Objects<K: Resource> {
    /// The objects' API.
    pub api: Api<K>,
    /// Cut `metadata.managedFields` from the bytes before decoding (cheaper than decoding and
    /// dropping them).
    pub strip_managed_fields: bool,
}

/// Metadata only ([`PartialObjectMetadata`]).
#[derive(Clone)]
pub struct Metadata<K: Resource> {
    /// The objects' API.
    pub api: Api<K>,
    /// Cut `metadata.managedFields` from the bytes before decoding.
    pub strip_managed_fields: bool,
}

fn decode_trimmed<T: DeserializeOwned>(bytes: &[u8], uri: &str) -> Result<T, Error> {
    let trimmed = kube_core::trim::strip_managed_fields(bytes);
    let bytes = trimmed.as_deref().unwrap_or(bytes);
    let text =
        std::str::from_utf8(bytes).map_err(|e| Error::Decode { uri: uri.to_string(), source: e.into() })?;
    serde_json::from_str(text).map_err(|e| Error::Decode { uri: uri.to_string(), source: e.into() })
}

fn list_via<T>(
    client: Client,
    req: Result<http::Request<Vec<u8>>, kube_core::Error>,
    strip: bool,
) -> BoxFuture<'static, Result<ObjectList<T>, Error>>
where
    T: DeserializeOwned + Send + 'static,
{
    Box::pin(async move {
        let req = req?;
        if !strip {
            return client.request(req).await;
        }
        let uri = req.uri().path().to_string();
        let bytes = client.request_bytes(req).await?;
        decode_trimmed(&bytes, &uri)
    })
}

fn watch_via<T>(
    client: Client,
    req: Result<http::Request<Vec<u8>>, kube_core::Error>,
    strip: bool,
) -> BoxFuture<'static, Result<EventStream<T>, Error>>
where
    T: DeserializeOwned + Send + 'static,
{
    Box::pin(async move {
        let req = req?;
        if !strip {
            return client.request_events::<T>(req).map_ok(|s| s.boxed()).await;
        }
        let uri = req.uri().path().to_string();
        let lines = client.request_raw_lines(req).await?;
        Ok(lines.map(move |line| line.and_then(|l| decode_trimmed::<WatchEvent<T>>(&l, &uri))).boxed())
    })
}

impl<K> Source for Objects<K>
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug + Send + Sync + 'static,
{
    type Value = K;

    fn list(&self, lp: &ListParams) -> BoxFuture<'static, Result<ObjectList<K>, Error>> {
        list_via(self.api.client().clone(), self.api.request_builder().list(lp), self.strip_managed_fields)
    }

    fn watch(&self, wp: &WatchParams, rv: &str) -> BoxFuture<'static, Result<EventStream<K>, Error>> {
        watch_via(
            self.api.client().clone(),
            self.api.request_builder().watch(wp, rv),
            self.strip_managed_fields,
        )
    }
}

impl<K> Source for Metadata<K>
where
    K: Resource + Clone + Send + Sync + 'static,
{
    type Value = PartialObjectMetadata<K>;

    fn list(&self, lp: &ListParams) -> BoxFuture<'static, Result<ObjectList<Self::Value>, Error>> {
        list_via(
            self.api.client().clone(),
            self.api.request_builder().list_metadata(lp),
            self.strip_managed_fields,
        )
    }

    fn watch(
        &self,
        wp: &WatchParams,
        rv: &str,
    ) -> BoxFuture<'static, Result<EventStream<Self::Value>, Error>> {
        let req = self.api.request_builder().watch_metadata(wp, rv);
        watch_via(self.api.client().clone(), req, self.strip_managed_fields)
    }
}
