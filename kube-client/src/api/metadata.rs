//! Metadata-only calls: the objects' metadata without their bodies (`PartialObjectMetadata`),
//! far cheaper to transfer and to keep in memory.

use futures::Stream;
use kube_core::{
    ObjectList, PartialObjectMetadata, Resource, WatchEvent,
    params::{GetParams, ListParams, Patch, PatchParams, WatchParams},
};
use serde::Serialize;

use super::Api;
use crate::Error;

impl<K> Api<K>
where
    K: Resource + Clone + Send + 'static,
{
    /// The metadata of the object called `name`.
    pub async fn get_metadata(&self, name: &str) -> Result<PartialObjectMetadata<K>, Error> {
        self.client.request(self.negotiate(self.request.get_metadata(name, &GetParams::default())?)).await
    }

    /// The metadata of the object called `name`, or `None` when there is none.
    pub async fn get_metadata_opt(&self, name: &str) -> Result<Option<PartialObjectMetadata<K>>, Error> {
        match self.get_metadata(name).await {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One page of metadata.
    pub async fn list_metadata(
        &self,
        lp: &ListParams,
    ) -> Result<ObjectList<PartialObjectMetadata<K>>, Error> {
        self.client.request(self.negotiate(self.request.list_metadata(lp)?)).await
    }

    /// Watch changes of metadata after `resource_version`.
    pub async fn watch_metadata(
        &self,
        wp: &WatchParams,
        resource_version: &str,
    ) -> Result<impl Stream<Item = Result<WatchEvent<PartialObjectMetadata<K>>, Error>> + Send + use<K>, Error>
    {
        let req = self.negotiate(self.request.watch_metadata(wp, resource_version)?);
        self.client.request_events(req, crate::client::decode::DecodeOptions::default()).await
    }

    /// Patches an object and returns its metadata only.
    pub async fn patch_metadata<P: Serialize>(
        &self,
        name: &str,
        pp: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<PartialObjectMetadata<K>, Error> {
        self.client.request(self.request.patch_metadata(name, pp, patch)?).await
    }
}
