//! Where a watcher gets its lists and watches: whole objects or metadata only.

use futures::{StreamExt, TryFutureExt, future::BoxFuture, stream::BoxStream};
use kube_client::{Api, Error};
use kube_core::{ObjectList, PartialObjectMetadata, Resource, WatchEvent};
use serde::{Serialize, de::DeserializeOwned};

use kube_core::params::{ListParams, WatchParams};

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

/// Whole objects; with `strip_managed_fields`, `metadata.managedFields` are cut from the bytes
/// before decoding (cheaper than decoding and dropping them).
#[derive(Clone)]
pub struct Objects<K: Resource> {
    /// The objects' API.
    pub api: Api<K>,
    /// Cut `metadata.managedFields` before decoding.
    pub strip_managed_fields: bool,
}

fn decode_trimmed<T: DeserializeOwned>(bytes: &[u8], uri: &str) -> Result<T, Error> {
    let trimmed = kube_core::trim::strip_managed_fields(bytes);
    let bytes = trimmed.as_deref().unwrap_or(bytes);
    let text =
        std::str::from_utf8(bytes).map_err(|e| Error::Decode { uri: uri.to_string(), source: e.into() })?;
    serde_json::from_str(text).map_err(|e| Error::Decode { uri: uri.to_string(), source: e.into() })
}

impl<K> Source for Objects<K>
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug + Send + Sync + 'static,
{
    type Value = K;

    fn list(&self, lp: &ListParams) -> BoxFuture<'static, Result<ObjectList<K>, Error>> {
        let req = self.api.request_builder().list(lp);
        let client = self.api.client().clone();
        if !self.strip_managed_fields {
            return Box::pin(async move { client.request(req?).await });
        }
        Box::pin(async move {
            let req = req?;
            let uri = req.uri().path().to_string();
            let bytes = client.request_bytes(req).await?;
            decode_trimmed(&bytes, &uri)
        })
    }

    fn watch(&self, wp: &WatchParams, rv: &str) -> BoxFuture<'static, Result<EventStream<K>, Error>> {
        let req = self.api.request_builder().watch(wp, rv);
        let client = self.api.client().clone();
        if !self.strip_managed_fields {
            return Box::pin(async move { client.request_events::<K>(req?).map_ok(|s| s.boxed()).await });
        }
        Box::pin(async move {
            let req = req?;
            let uri = req.uri().path().to_string();
            let lines = client.request_raw_lines(req).await?;
            Ok(lines.map(move |line| line.and_then(|l| decode_trimmed::<WatchEvent<K>>(&l, &uri))).boxed())
        })
    }
}

/// Metadata only ([`PartialObjectMetadata`]).
#[derive(Clone)]
pub struct Metadata<K: Resource>(pub Api<K>);

impl<K> Source for Metadata<K>
where
    K: Resource + Clone + Send + Sync + 'static,
{
    type Value = PartialObjectMetadata<K>;

    fn list(&self, lp: &ListParams) -> BoxFuture<'static, Result<ObjectList<Self::Value>, Error>> {
        let req = self.0.request_builder().list_metadata(lp);
        let client = self.0.client().clone();
        Box::pin(async move { client.request(req?).await })
    }

    fn watch(
        &self,
        wp: &WatchParams,
        rv: &str,
    ) -> BoxFuture<'static, Result<EventStream<Self::Value>, Error>> {
        let req = self.0.request_builder().watch_metadata(wp, rv);
        let client = self.0.client().clone();
        Box::pin(async move { client.request_events::<Self::Value>(req?).map_ok(|s| s.boxed()).await })
    }
}
