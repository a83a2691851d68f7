//! Kubernetes protobuf, decoded into the same types as JSON: the envelope (`k8s\0` +
//! `runtime.Unknown`), lists, watch frames and events, for every built-in type.
//!
//! The API server speaks protobuf for its built-in types (never for custom resources, whose
//! schema it does not compile). The wire bytes are decoded through serde, driven by a schema
//! generated from the Go API types (`tools/protogen`): a `Pod` comes out as the same
//! k8s-openapi `Pod` its JSON gives, with no intermediate structs.
//!
//! ```
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use kube_core::protobuf::{self, Options};
//!
//! // k8s\0, then runtime.Unknown{typeMeta{"v1", "ConfigMap"}, raw: ConfigMap{metadata{name: "a"}}}
//! let body = b"k8s\0\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x05\x0a\x03\x0a\x01a";
//! let cm: ConfigMap = protobuf::from_envelope(body, Options::default())?;
//! assert_eq!(cm.metadata.name.as_deref(), Some("a"));
//! # Ok::<(), protobuf::Error>(())
//! ```

mod de;
mod envelope;
mod frame;
mod generated;
mod list;
mod list_reader;
mod schema;
mod time;
mod wire;

pub use envelope::{Envelope, MAGIC, is_protobuf};
pub use frame::{FrameDecoder, MAX_FRAME_BYTES};
pub use list::List;
pub use list_reader::{ListPart, ListReader};
use serde::de::DeserializeOwned;

/// The media type of Kubernetes protobuf.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
/// The media type of a protobuf watch stream (length-prefixed frames).
pub const WATCH_CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf;stream=watch";
/// The Accept header asking for protobuf, or JSON when the server has no protobuf for the type.
pub const ACCEPT: &str = "application/vnd.kubernetes.protobuf, application/json";
/// The Accept header asking for a `PartialObjectMetadata` in protobuf (served for every type,
/// custom resources too), or JSON.
pub const ACCEPT_METADATA: &str = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
/// The Accept header asking for a `PartialObjectMetadataList` in protobuf, or JSON.
pub const ACCEPT_METADATA_LIST: &str = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

/// Why protobuf bytes could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The data ended inside a value.
    #[error("truncated protobuf: the data ends inside {0}")]
    Truncated(&'static str),
    /// A varint longer than ten bytes.
    #[error("malformed protobuf varint")]
    Varint,
    /// A field number of 0 or over 2^29.
    #[error("invalid protobuf field number {0}")]
    FieldNumber(u64),
    /// A wire type Kubernetes does not use (groups) or that does not exist.
    #[error("unsupported protobuf wire type {wire_type} (field {field})")]
    WireType {
        /// The field number.
        field: u32,
        /// The wire type.
        wire_type: u8,
    },
    /// A field whose wire type cannot hold its schema's kind.
    #[error("protobuf field {field} is {wire}, which its type cannot be")]
    FieldType {
        /// The field's JSON name.
        field: &'static str,
        /// The wire type found.
        wire: &'static str,
    },
    /// The body does not start with `k8s\0`.
    #[error("not a Kubernetes protobuf envelope: the magic bytes are missing")]
    Magic,
    /// A field of the envelope with the wrong wire type.
    #[error("malformed protobuf envelope: a {0} value where bytes belong")]
    EnvelopeField(&'static str),
    /// The envelope of a list read as it arrives is not as the API server writes it.
    #[error("malformed protobuf envelope: {0}")]
    Envelope(&'static str),
    /// The envelope says its bytes are compressed.
    #[error("unsupported protobuf envelope content encoding {0:?}")]
    ContentEncoding(String),
    /// The envelope says its bytes are not protobuf.
    #[error("unexpected protobuf envelope content type {0:?}")]
    ContentType(String),
    /// No generated schema for the envelope's type.
    #[error("no protobuf schema for apiVersion {api_version:?} kind {kind:?}")]
    UnknownKind {
        /// The envelope's apiVersion.
        api_version: String,
        /// The envelope's kind.
        kind: String,
    },
    /// The envelope's type is not a list.
    #[error("protobuf kind {0:?} is not a list")]
    NotAList(String),
    /// A watch frame's length prefix is over the limit.
    #[error("a protobuf watch frame of {len} bytes is over the limit of {limit} bytes")]
    FrameTooLarge {
        /// The length the prefix gave.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A value of a list read as it arrives is longer than the limit.
    #[error("a protobuf value of {len} bytes is over the limit of {limit} bytes")]
    ValueTooLarge {
        /// The length the value's prefix gave.
        len: u64,
        /// The limit.
        limit: usize,
    },
    /// Messages nest too deep.
    #[error("protobuf messages nest more than {0} levels deep")]
    TooDeep(u16),
    /// A string field is not UTF-8.
    #[error("a protobuf string field is not valid UTF-8")]
    Utf8,
    /// JSON embedded in a `RawExtension` did not decode.
    #[error("embedded JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The target type refused a value (a missing field, a wrong type).
    #[error("{0}")]
    Target(String),
}

impl serde::de::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error::Target(msg.to_string())
    }
}

/// How protobuf is decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Skip `metadata.managedFields`: the objects arrive without them.
    pub drop_managed_fields: bool,
}

impl Options {
    /// Drops `metadata.managedFields` while decoding.
    #[must_use]
    pub fn drop_managed_fields(mut self) -> Self {
        self.drop_managed_fields = true;
        self
    }

    fn ctx(self) -> de::Ctx {
        de::Ctx { drop_managed_fields: self.drop_managed_fields }
    }
}

/// Decodes the object in a protobuf body (`k8s\0` + envelope) as `T`, with the envelope's
/// apiVersion and kind given to `T` as JSON has them.
///
/// Errors: the envelope is missing or malformed, its type has no schema, the message is
/// malformed, or `T` does not take what it holds.
pub fn from_envelope<T: DeserializeOwned>(body: &[u8], options: Options) -> Result<T, Error> {
    let env = Envelope::parse(body)?;
    T::deserialize(de::MessageDe::from_envelope(&env, 0, options.ctx())?)
}

/// Decodes one frame of a protobuf watch stream: a `meta.v1.WatchEvent` (bare, or in an
/// envelope), whose object is an embedded envelope; `T` is typically a
/// [`WatchEvent`](crate::WatchEvent).
pub fn watch_event<T: DeserializeOwned>(frame: &[u8], options: Options) -> Result<T, Error> {
    if frame.starts_with(MAGIC) {
        return from_envelope(frame, options);
    }
    let msg =
        de::MessageDe { buf: frame, msg: generated::WATCH_EVENT, types: None, depth: 0, ctx: options.ctx() };
    T::deserialize(msg)
}

/// Whether the API server can answer objects of `api_version` and `kind` in protobuf: the
/// built-in types (those the schema has); custom resources always come as JSON.
pub fn is_builtin(api_version: &str, kind: &str) -> bool {
    schema::by_kind(api_version, kind).is_some()
}

#[cfg(test)]
mod tests;
