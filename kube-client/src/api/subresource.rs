//! Subresources: status, scale, eviction, service-account tokens, container logs, and a generic
//! call for any other.

use futures::Stream;
use k8s_openapi::api::{
    authentication::v1::TokenRequest,
    autoscaling::v1::Scale,
    core::v1::{Pod, ServiceAccount},
};
use kube_core::{
    Resource,
    params::{DeleteParams, GetParams, LogParams, Patch, PatchParams, PostParams},
};
use serde::{Serialize, de::DeserializeOwned};

use super::{Api, core_verbs::encode};
use crate::Error;

impl<K> Api<K>
where
    K: Resource + Clone + DeserializeOwned + Send + 'static,
{
    /// GETs any subresource, decoded as `T`.
    pub async fn get_subresource<T: DeserializeOwned>(
        &self,
        subresource: &str,
        name: &str,
    ) -> Result<T, Error> {
        self.client.request(self.request.get_subresource(subresource, name, &GetParams::default())?).await
    }

    /// POSTs `body` to any subresource, decoding the answer as `T`.
    pub async fn create_subresource<T: DeserializeOwned, B: Serialize>(
        &self,
        subresource: &str,
        name: &str,
        pp: &PostParams,
        body: &B,
    ) -> Result<T, Error> {
        self.client.request(self.request.create_subresource(subresource, name, pp, encode(body)?)?).await
    }

    /// PATCHes any subresource, decoding the answer as `T`.
    pub async fn patch_subresource<T: DeserializeOwned, P: Serialize>(
        &self,
        subresource: &str,
        name: &str,
        pp: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<T, Error> {
        self.client.request(self.request.patch_subresource(subresource, name, pp, patch)?).await
    }

    /// PUTs `body` to any subresource, decoding the answer as `T`.
    pub async fn replace_subresource<T: DeserializeOwned, B: Serialize>(
        &self,
        subresource: &str,
        name: &str,
        pp: &PostParams,
        body: &B,
    ) -> Result<T, Error> {
        self.client.request(self.request.replace_subresource(subresource, name, pp, encode(body)?)?).await
    }

    /// The object through its `status` subresource.
    pub async fn get_status(&self, name: &str) -> Result<K, Error> {
        self.get_subresource("status", name).await
    }

    /// Patches the `status` subresource (changes outside `status` are ignored by the server).
    pub async fn patch_status<P: Serialize>(
        &self,
        name: &str,
        pp: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<K, Error> {
        self.patch_subresource("status", name, pp, patch).await
    }

    /// Replaces the `status` subresource; the object's resourceVersion guards against conflicts.
    pub async fn replace_status<B: Serialize>(
        &self,
        name: &str,
        pp: &PostParams,
        object: &B,
    ) -> Result<K, Error> {
        self.replace_subresource("status", name, pp, object).await
    }

    /// The `scale` subresource (Deployments, StatefulSets, ReplicaSets, custom resources that
    /// declare one).
    pub async fn get_scale(&self, name: &str) -> Result<Scale, Error> {
        self.get_subresource("scale", name).await
    }

    /// Patches the `scale` subresource.
    pub async fn patch_scale<P: Serialize>(
        &self,
        name: &str,
        pp: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<Scale, Error> {
        self.patch_subresource("scale", name, pp, patch).await
    }

    /// Replaces the `scale` subresource.
    pub async fn replace_scale(&self, name: &str, pp: &PostParams, scale: &Scale) -> Result<Scale, Error> {
        self.replace_subresource("scale", name, pp, scale).await
    }
}

/// Parameters of an eviction: how to delete the Pod, and the usual write options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvictParams {
    /// How the Pod is deleted (grace period, preconditions, dry run).
    pub delete: DeleteParams,
    /// Write options of the eviction itself.
    pub post: PostParams,
}

impl Api<Pod> {
    /// Evicts a Pod, respecting its PodDisruptionBudgets (429 when one forbids it now).
    pub async fn evict(&self, name: &str, ep: &EvictParams) -> Result<kube_core::Status, Error> {
        let delete_options: serde_json::Value = serde_json::from_slice(&ep.delete.body()?)
            .map_err(|e| Error::BuildRequest(kube_core::Error::Serialize(e)))?;
        let eviction = serde_json::json!({
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": self.namespace.as_deref().unwrap_or_default()},
            "deleteOptions": delete_options,
        });
        self.client.request(self.request.evict(name, &ep.post, encode(&eviction)?)?).await
    }

    /// A container's log, whole.
    pub async fn logs(&self, name: &str, lp: &LogParams) -> Result<String, Error> {
        self.client.request_text(self.request.logs(name, lp)?).await
    }

    /// A container's log as a stream of lines; with `lp.follow`, new lines keep coming until
    /// the container stops or the stream is dropped.
    pub async fn log_stream(
        &self,
        name: &str,
        lp: &LogParams,
    ) -> Result<impl Stream<Item = Result<String, Error>> + Send + use<>, Error> {
        self.client.request_lines(self.request.logs(name, lp)?).await
    }
}

impl Api<ServiceAccount> {
    /// Requests a token for a service account (its `token` subresource).
    pub async fn create_token_request(
        &self,
        name: &str,
        pp: &PostParams,
        request: &TokenRequest,
    ) -> Result<TokenRequest, Error> {
        self.create_subresource("token", name, pp, request).await
    }
}
