//! Where a watcher gets its lists and watches: whole objects or metadata only, decoded by the
//! client's one decoder as the watcher's [`Config`](super::Config) says.

use futures::{StreamExt, future::BoxFuture, stream::BoxStream};
use kube_client::{
    Api, Client, Error,
    client::{decode::DecodeOptions, list::ListPart},
};
use kube_core::{
    PartialObjectMetadata, Resource, WatchEvent,
    params::{ListParams, WatchParams},
};
use serde::{Serialize, de::DeserializeOwned};

/// A stream of watch events.
pub type EventStream<K> = BoxStream<'static, Result<WatchEvent<K>, Error>>;

/// A list response, item by item, ending with the list's metadata.
pub type ListStream<K> = BoxStream<'static, Result<ListPart<K>, Error>>;

/// Lists and watches of one kind of value.
pub trait Source: Clone + Send + Sync + 'static {
    /// What the watcher yields.
    type Value: Resource + Clone + Send + Sync + 'static;

    /// One page of values, decoded item by item as it arrives.
    fn list(
        &self,
        lp: &ListParams,
        options: DecodeOptions,
    ) -> BoxFuture<'static, Result<ListStream<Self::Value>, Error>>;

    /// A watch from `resource_version`.
    fn watch(
        &self,
        wp: &WatchParams,
        resource_version: &str,
        options: DecodeOptions,
    ) -> BoxFuture<'static, Result<EventStream<Self::Value>, Error>>;
}

/// Whole objects.
#[derive(Clone)]
pub struct Objects<K: Resource> {
    /// The objects' API.
    pub api: Api<K>,
}

/// Metadata only ([`PartialObjectMetadata`]).
#[derive(Clone)]
pub struct Metadata<K: Resource> {
    /// The objects' API.
    pub api: Api<K>,
}

fn list_via<T>(
    client: Client,
    req: Result<http::Request<Vec<u8>>, kube_core::Error>,
    options: DecodeOptions,
) -> BoxFuture<'static, Result<ListStream<T>, Error>>
where
    T: DeserializeOwned + Send + 'static,
{
    Box::pin(async move { Ok(client.request_list::<T>(req?, options).await?.boxed()) })
}

fn watch_via<T>(
    client: Client,
    req: Result<http::Request<Vec<u8>>, kube_core::Error>,
    options: DecodeOptions,
) -> BoxFuture<'static, Result<EventStream<T>, Error>>
where
    T: DeserializeOwned + Send + 'static,
{
    Box::pin(async move { Ok(client.request_events::<T>(req?, options).await?.boxed()) })
}

impl<K> Source for Objects<K>
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug + Send + Sync + 'static,
{
    type Value = K;

    fn list(
        &self,
        lp: &ListParams,
        options: DecodeOptions,
    ) -> BoxFuture<'static, Result<ListStream<K>, Error>> {
        list_via(
            self.api.client().clone(),
            self.api.request_builder().list(lp).map(|r| self.api.negotiate(r)),
            options,
        )
    }

    fn watch(
        &self,
        wp: &WatchParams,
        rv: &str,
        options: DecodeOptions,
    ) -> BoxFuture<'static, Result<EventStream<K>, Error>> {
        watch_via(
            self.api.client().clone(),
            self.api.request_builder().watch(wp, rv).map(|r| self.api.negotiate(r)),
            options,
        )
    }
}

impl<K> Source for Metadata<K>
where
    K: Resource + Clone + Send + Sync + 'static,
{
    type Value = PartialObjectMetadata<K>;

    fn list(
        &self,
        lp: &ListParams,
        options: DecodeOptions,
    ) -> BoxFuture<'static, Result<ListStream<Self::Value>, Error>> {
        list_via(
            self.api.client().clone(),
            self.api.request_builder().list_metadata(lp).map(|r| self.api.negotiate(r)),
            options,
        )
    }

    fn watch(
        &self,
        wp: &WatchParams,
        rv: &str,
        options: DecodeOptions,
    ) -> BoxFuture<'static, Result<EventStream<Self::Value>, Error>> {
        watch_via(
            self.api.client().clone(),
            self.api.request_builder().watch_metadata(wp, rv).map(|r| self.api.negotiate(r)),
            options,
        )
    }
}
