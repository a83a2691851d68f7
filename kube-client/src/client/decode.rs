//! Decoding bodies: the one function every response body, watch event, list item and cached
//! object goes through, JSON or (for built-in types, when asked for) Kubernetes protobuf, with the
//! optional cut of `metadata.managedFields` while decoding.

use serde::de::DeserializeOwned;

use crate::Error;

/// How bodies are decoded.
///
/// ```
/// use kube_client::client::decode::{DecodeOptions, decode};
/// use k8s_openapi::api::core::v1::ConfigMap;
///
/// let json = br#"{"metadata":{"name":"a","managedFields":[{"manager":"kubectl"}]}}"#;
/// let cm: ConfigMap = decode(json, "/api/v1/configmaps", DecodeOptions::default().drop_managed_fields())?;
/// assert!(cm.metadata.managed_fields.is_none());
/// # Ok::<(), kube_client::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// Cut every `metadata.managedFields` out of the bytes before decoding: the objects arrive
    /// without them, and decoding takes far less CPU and memory (managedFields are often the
    /// largest part of an object, and about 40% of its decode time).
    pub drop_managed_fields: bool,
}

impl DecodeOptions {
    /// Drops `metadata.managedFields` while decoding (see [`DecodeOptions::drop_managed_fields`]).
    #[must_use]
    pub fn drop_managed_fields(mut self) -> Self {
        self.drop_managed_fields = true;
        self
    }
}

/// The encoding of a body, from its `Content-Type`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// JSON: what the API server answers unless protobuf was asked for and it has protobuf
    /// for the type.
    #[default]
    Json,
    /// Kubernetes protobuf (`application/vnd.kubernetes.protobuf`): an envelope, or
    /// length-prefixed frames for a watch.
    Protobuf,
}

impl Format {
    /// The format a `Content-Type` header names: protobuf for Kubernetes protobuf, JSON for
    /// anything else (or none).
    /// Without the `protobuf` feature, always JSON (protobuf is never asked for then).
    pub fn of(content_type: Option<&http::HeaderValue>) -> Self {
        #[cfg(feature = "protobuf")]
        if content_type.and_then(|v| v.to_str().ok()).is_some_and(kube_core::protobuf::is_protobuf) {
            return Format::Protobuf;
        }
        let _ = content_type;
        Format::Json
    }

    /// The format of a response's body.
    pub fn of_headers(headers: &http::HeaderMap) -> Self {
        Self::of(headers.get(http::header::CONTENT_TYPE))
    }
}

#[cfg(feature = "protobuf")]
impl From<DecodeOptions> for kube_core::protobuf::Options {
    fn from(options: DecodeOptions) -> Self {
        let proto = kube_core::protobuf::Options::default();
        if options.drop_managed_fields { proto.drop_managed_fields() } else { proto }
    }
}

/// Decodes `bytes` (a document in `format` read from `uri`) as `T`: JSON as [`decode`] does,
/// protobuf from its envelope into the same type.
///
/// Errors name the URI and the size of the document, never an excerpt of it.
pub fn decode_as<T: DeserializeOwned>(
    bytes: &[u8],
    format: Format,
    uri: &str,
    options: DecodeOptions,
) -> Result<T, Error> {
    match format {
        Format::Json => decode(bytes, uri, options),
        #[cfg(feature = "protobuf")]
        Format::Protobuf => kube_core::protobuf::from_envelope(bytes, options.into())
            .map_err(|e| protobuf_error(uri, &e, Some(bytes.len()))),
        #[cfg(not(feature = "protobuf"))]
        Format::Protobuf => Err(Error::Decode {
            uri: uri.to_string(),
            source: "a protobuf document, but this build has no protobuf support (the `protobuf` feature)"
                .into(),
        }),
    }
}

#[cfg(feature = "protobuf")]
/// A protobuf decoding error of a document of `len` bytes (`None`: of a stream) read from `uri`.
pub(crate) fn protobuf_error(uri: &str, cause: &kube_core::protobuf::Error, len: Option<usize>) -> Error {
    let cause = redact_quoted(&cause.to_string());
    let source = match len {
        Some(len) => format!("{cause} (in a protobuf document of {len} bytes)"),
        None => format!("{cause} (in a protobuf stream)"),
    };
    Error::Decode { uri: uri.to_string(), source: source.into() }
}

/// Decodes `bytes` (a JSON document read from `uri`) as `T`.
///
/// Errors name the URI and the size of the document, never an excerpt of it: it may hold a
/// Secret's data.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], uri: &str, options: DecodeOptions) -> Result<T, Error> {
    let trimmed =
        if options.drop_managed_fields { kube_core::trim::drop_managed_fields(bytes) } else { None };
    let bytes = trimmed.as_deref().unwrap_or(bytes);
    // from_str on validated UTF-8 is measurably faster than from_slice.
    let text = std::str::from_utf8(bytes).map_err(|e| error(uri, &e, bytes.len()))?;
    serde_json::from_str(text).map_err(|e| error(uri, &e, bytes.len()))
}

fn error(uri: &str, cause: &dyn std::fmt::Display, len: usize) -> Error {
    let cause = redact_quoted(&cause.to_string());
    Error::Decode { uri: uri.to_string(), source: format!("{cause} (in a document of {len} bytes)").into() }
}

/// serde_json quotes the offending string value in its messages (`invalid type: string "..."`):
/// that may be a Secret's data, so quoted text is replaced.
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, part) in parts.enumerate() {
        out.push('"');
        out.push_str(if i % 2 == 0 { "..." } else { part });
    }
    out
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;

    const CM: &[u8] =
        br#"{"metadata":{"name":"a","managedFields":[{"manager":"m"}]},"data":{"password":"hunter2"}}"#;

    #[test]
    fn managed_fields_are_kept_unless_dropped() {
        let kept: ConfigMap = decode(CM, "/u", DecodeOptions::default()).unwrap();
        assert_eq!(kept.metadata.managed_fields.unwrap().len(), 1);
        let dropped: ConfigMap = decode(CM, "/u", DecodeOptions::default().drop_managed_fields()).unwrap();
        assert!(dropped.metadata.managed_fields.is_none());
        assert_eq!(dropped.data.unwrap()["password"], "hunter2");
    }

    #[test]
    fn errors_name_the_uri_and_size_but_show_no_data() {
        let bad = br#"{"data":{"password":"hunter2"},"metadata":7}"#;
        let msg =
            decode::<ConfigMap>(bad, "/api/v1/secrets", DecodeOptions::default()).unwrap_err().to_string();
        assert!(msg.contains("/api/v1/secrets") && msg.contains("44 bytes"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
        let wrong_type = br#"{"metadata":{"name":"hunter2-secret-value"}, "data": "hunter3"}"#;
        let msg = decode::<ConfigMap>(wrong_type, "/u", DecodeOptions::default()).unwrap_err().to_string();
        assert!(msg.contains("invalid type") && !msg.contains("hunter3"), "{msg}");
        let msg = decode::<ConfigMap>(b"\xff", "/u", DecodeOptions::default()).unwrap_err().to_string();
        assert!(msg.contains("1 bytes"), "{msg}");
    }
}
