//! The verbs of every resource: get, list (by page or as a stream of all pages), watch, create,
//! replace, patch, delete and delete_collection.

use either::Either;
use futures::{
    Stream, StreamExt,
    stream::{self, BoxStream},
};
use kube_core::{
    ObjectList, Resource, Status, WatchEvent,
    params::{DeleteParams, GetParams, ListParams, Patch, PatchParams, PostParams, WatchParams},
};
use serde::{Serialize, de::DeserializeOwned};

use super::Api;
use crate::{
    Error,
    client::{decode::DecodeOptions, list::ListPart},
};

/// Where a paged list stream is.
enum Paging<K> {
    /// The next page is to be asked for.
    Request(ListParams),
    /// A page's items are arriving.
    Reading(BoxStream<'static, Result<ListPart<K>, Error>>, ListParams),
    /// The last page ended (or the list failed).
    Done,
}

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
        self.client.request(self.negotiate(self.request.get(name, gp)?)).await
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
        self.client.request(self.negotiate(self.request.list(lp)?)).await
    }

    /// Every object, page after page (`lp.limit` is the page size), as a stream. All pages
    /// belong to the same consistent snapshot; if it is compacted away mid-way the stream ends
    /// with a 410 error. See [`Api::list_all_with`] to decode without managedFields.
    pub fn list_all(&self, lp: &ListParams) -> BoxStream<'static, Result<K, Error>> {
        self.list_all_with(lp, DecodeOptions::default())
    }

    /// Every object, page after page, each decoded as it arrives (memory stays at one object,
    /// whatever the size of a page) and as `options` say.
    ///
    /// An object that does not decode is yielded as an error and the stream goes on; a failed
    /// request or a broken body ends it with an error.
    pub fn list_all_with(
        &self,
        lp: &ListParams,
        options: DecodeOptions,
    ) -> BoxStream<'static, Result<K, Error>> {
        let api = self.clone();
        stream::unfold(Paging::Request(lp.clone()), move |state| {
            let api = api.clone();
            async move { api.next_item(state, options).await }
        })
        .boxed()
    }

    /// The next object of a paged list, and the paging state after it.
    async fn next_item(
        &self,
        mut state: Paging<K>,
        options: DecodeOptions,
    ) -> Option<(Result<K, Error>, Paging<K>)> {
        loop {
            state = match state {
                Paging::Done => return None,
                Paging::Request(lp) => {
                    let req = match self.request.list(&lp) {
                        Ok(req) => self.negotiate(req),
                        Err(e) => return Some((Err(e.into()), Paging::Done)),
                    };
                    match self.client.request_list::<K>(req, options).await {
                        Ok(parts) => Paging::Reading(parts.boxed(), lp),
                        Err(e) => return Some((Err(e), Paging::Done)),
                    }
                }
                Paging::Reading(mut parts, lp) => match parts.next().await {
                    Some(Ok(ListPart::Item(o))) => return Some((Ok(o), Paging::Reading(parts, lp))),
                    // An object that did not decode; the list goes on (a broken body ends it).
                    Some(Err(e)) => return Some((Err(e), Paging::Reading(parts, lp))),
                    Some(Ok(ListPart::End(meta))) => match meta.continue_.filter(|t| !t.is_empty()) {
                        Some(token) => {
                            // A continue token fixes the snapshot; the resourceVersion must go.
                            let mut lp = lp.continue_token(&token);
                            lp.resource_version = None;
                            lp.version_match = None;
                            Paging::Request(lp)
                        }
                        None => Paging::Done,
                    },
                    None => Paging::Done,
                },
            }
        }
    }

    /// Watch changes after `resource_version` ("0" or "" to start from any recent state). The
    /// stream ends when the server closes the watch; a 410 `ERROR` event means the version is
    /// too old and the caller must list again.
    pub async fn watch(
        &self,
        wp: &WatchParams,
        resource_version: &str,
    ) -> Result<impl Stream<Item = Result<WatchEvent<K>, Error>> + Send + use<K>, Error> {
        self.client
            .request_events::<K>(
                self.negotiate(self.request.watch(wp, resource_version)?),
                DecodeOptions::default(),
            )
            .await
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
