//! The verbs of every resource: get, list (by page or as a stream of all pages), watch, create,
//! replace, patch, delete and delete_collection.

use either::Either;
use futures::{
    Stream, StreamExt, TryStreamExt,
    future::BoxFuture,
    stream::{self, BoxStream},
};
use kube_core::{
    ObjectList, Resource, Status, WatchEvent,
    params::{DeleteParams, GetParams, ListParams, Patch, PatchParams, PostParams, WatchParams},
};
use serde::{Serialize, de::DeserializeOwned};

use super::Api;
use crate::Error;

type Page<K> = (Vec<K>, Option<ListParams>);

pub(crate) fn encode<T: Serialize>(object: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(object).map_err(|e| Error::BuildRequest(kube_core::Error::Serialize(e)))
}

impl<K> Api<K>
where
    K: Resource + Clone + DeserializeOwned + Serialize + Send + 'static,
{
    /// The object called `name`. Fails with a 404 [`Error::Api`] when there is none.
    pub async fn get(&self, name: &str) -> Result<K, Error> {
        self.get_with(name, &GetParams::default()).await
    }

    /// The object called `name`, read as `gp` says (e.g. any cached version).
    pub async fn get_with(&self, name: &str, gp: &GetParams) -> Result<K, Error> {
        self.client.request(self.request.get(name, gp)?).await
    }

    /// The object called `name`, or `None` when there is none.
    pub async fn get_opt(&self, name: &str) -> Result<Option<K>, Error> {
        match self.get(name).await {
            Ok(o) => Ok(Some(o)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One page of objects (all of them when `lp.limit` is unset).
    pub async fn list(&self, lp: &ListParams) -> Result<ObjectList<K>, Error> {
        self.client.request(self.request.list(lp)?).await
    }

    /// Every object, page after page (`lp.limit` is the page size), as a stream. All pages
    /// belong to the same consistent snapshot; if it is compacted away mid-way the stream ends
    /// with a 410 error.
    pub fn list_all(&self, lp: &ListParams) -> BoxStream<'static, Result<K, Error>> {
        let api = self.clone();
        let pages = stream::try_unfold(Some(lp.clone()), move |next| api.clone().next_page(next));
        pages.map_ok(|items| stream::iter(items.into_iter().map(Ok))).try_flatten().boxed()
    }

    fn next_page(self, next: Option<ListParams>) -> BoxFuture<'static, Result<Option<Page<K>>, Error>> {
        Box::pin(async move { self.next_page_inner(next).await })
    }

    async fn next_page_inner(&self, next: Option<ListParams>) -> Result<Option<Page<K>>, Error> {
        let Some(lp) = next else { return Ok(None) };
        let req = self.request.list(&lp)?;
        let page: ObjectList<K> = self.client.request(req).await?;
        let following = page.continue_token().map(|token| {
            // A continue token fixes the snapshot; the resourceVersion must go.
            let mut lp = lp.clone().continue_token(token);
            lp.resource_version = None;
            lp.version_match = None;
            lp
        });
        Ok(Some((page.items, following)))
    }

    /// Watch changes after `resource_version` ("0" or "" to start from any recent state). The
    /// stream ends when the server closes the watch; a 410 `ERROR` event means the version is
    /// too old and the caller must list again.
    pub async fn watch(
        &self,
        wp: &WatchParams,
        resource_version: &str,
    ) -> Result<impl Stream<Item = Result<WatchEvent<K>, Error>> + Send + use<K>, Error> {
        self.client.request_events::<K>(self.request.watch(wp, resource_version)?).await
    }

    /// Creates an object; returns it as stored.
    pub async fn create(&self, pp: &PostParams, object: &K) -> Result<K, Error> {
        self.client.request(self.request.create(pp, encode(object)?)?).await
    }

    /// Replaces an object whole. Its `metadata.resourceVersion`, when set, must still be the
    /// current one, or the server answers 409 Conflict.
    pub async fn replace(&self, name: &str, pp: &PostParams, object: &K) -> Result<K, Error> {
        self.client.request(self.request.replace(name, pp, encode(object)?)?).await
    }

    /// Patches an object with any kind of patch; returns it as stored.
    pub async fn patch<P: Serialize>(
        &self,
        name: &str,
        pp: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<K, Error> {
        self.client.request(self.request.patch(name, pp, patch)?).await
    }

    /// Deletes an object. Returns it (`Left`) while finalizers or foreground deletion hold it,
    /// or the final `Status` (`Right`) once it is gone.
    pub async fn delete(&self, name: &str, dp: &DeleteParams) -> Result<Either<K, Status>, Error> {
        self.client.request_status(self.request.delete(name, dp)?).await
    }

    /// Deletes every object `lp`'s selectors match. Returns the list of deleted objects, or a
    /// `Status`.
    pub async fn delete_collection(
        &self,
        dp: &DeleteParams,
        lp: &ListParams,
    ) -> Result<Either<ObjectList<K>, Status>, Error> {
        self.client.request_status(self.request.delete_collection(dp, lp)?).await
    }

    /// Creates the object, or, when it exists, replaces it at its current resourceVersion.
    pub async fn create_or_replace(&self, pp: &PostParams, object: &K) -> Result<K, Error> {
        match self.create(pp, object).await {
            Err(e) if e.status().is_some_and(Status::is_already_exists) => {
                let name = object.meta().name.clone().unwrap_or_default();
                let current = self.get(&name).await?;
                let mut object = object.clone();
                object.meta_mut().resource_version = current.meta().resource_version.clone();
                self.replace(&name, pp, &object).await
            }
            other => other,
        }
    }
}
