//! `PartialObjectMetadata`: an object's type meta and metadata alone, as metadata-only calls return.

use std::{borrow::Cow, marker::PhantomData};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use crate::{Resource, Scope, TypeMeta};

/// The Accept header that asks the API server for `PartialObjectMetadata` instead of full objects.
pub const ACCEPT_METADATA: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
/// The Accept header that asks the API server for a `PartialObjectMetadataList`.
pub const ACCEPT_METADATA_LIST: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

/// The metadata of an object of type `K`, without its body. Metadata-only calls return these
/// (their `kind` on the wire is `PartialObjectMetadata`); `K` carries the type information so
/// they address the same URLs as `K`.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct PartialObjectMetadata<K> {
    /// `meta.k8s.io/v1` / `PartialObjectMetadata` on the wire.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub types: Option<TypeMeta>,
    /// The metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(skip)]
    _kind: PhantomData<fn() -> K>,
}

impl<K> PartialObjectMetadata<K> {
    /// Metadata of an object of type `K`.
    pub fn new(metadata: ObjectMeta) -> Self {
        Self {
            types: Some(TypeMeta {
                api_version: "meta.k8s.io/v1".to_string(),
                kind: "PartialObjectMetadata".to_string(),
            }),
            metadata,
            _kind: PhantomData,
        }
    }
}

impl<K> Clone for PartialObjectMetadata<K> {
    fn clone(&self) -> Self {
        Self { types: self.types.clone(), metadata: self.metadata.clone(), _kind: PhantomData }
    }
}

impl<K> std::fmt::Debug for PartialObjectMetadata<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartialObjectMetadata")
            .field("types", &self.types)
            .field("metadata", &self.metadata)
            .finish()
    }
}

impl<K> PartialEq for PartialObjectMetadata<K> {
    fn eq(&self, other: &Self) -> bool {
        self.types == other.types && self.metadata == other.metadata
    }
}

impl<K: Resource> Resource for PartialObjectMetadata<K> {
    type DynamicType = K::DynamicType;
    type Scope = K::Scope;

    fn kind(dt: &K::DynamicType) -> Cow<'_, str> {
        K::kind(dt)
    }
    fn group(dt: &K::DynamicType) -> Cow<'_, str> {
        K::group(dt)
    }
    fn version(dt: &K::DynamicType) -> Cow<'_, str> {
        K::version(dt)
    }
    fn api_version(dt: &K::DynamicType) -> Cow<'_, str> {
        K::api_version(dt)
    }
    fn plural(dt: &K::DynamicType) -> Cow<'_, str> {
        K::plural(dt)
    }
    fn scope(dt: &K::DynamicType) -> Scope {
        K::scope(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}
