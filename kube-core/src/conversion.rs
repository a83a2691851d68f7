//! `ConversionReview`: how the API server asks a webhook to convert custom resources between the
//! versions of a multi-version CRD, and a [`Converter`] built from one hub type.
//!
//! Each served version is a Rust type that converts to and from a *hub* (the richest
//! representation, often the storage version): `From<Version> for Hub` and
//! `TryFrom<Hub> for Version`. The converter reads each object's `apiVersion`, decodes it as that
//! version's type, goes through the hub and encodes the desired version; the response is a
//! failure naming the object when any conversion fails, as the API server requires all or
//! nothing.
//!
//! ```
//! use kube_core::conversion::{ConversionReview, Converter};
//! use serde::{Deserialize, Serialize};
//! use serde_json::json;
//!
//! #[derive(Serialize, Deserialize)]
//! struct V1 { metadata: serde_json::Value, spec: V1Spec }
//! #[derive(Serialize, Deserialize)]
//! struct V1Spec { size: String }  // "3"
//! #[derive(Serialize, Deserialize)]
//! struct V2 { metadata: serde_json::Value, spec: V2Spec }
//! #[derive(Serialize, Deserialize)]
//! struct V2Spec { replicas: u32 }
//!
//! struct Hub { metadata: serde_json::Value, replicas: u32 }
//! impl TryFrom<V1> for Hub {
//!     type Error = String;
//!     fn try_from(v: V1) -> Result<Self, String> {
//!         let replicas = v.spec.size.parse().map_err(|_| format!("size {:?} is not a number", v.spec.size))?;
//!         Ok(Hub { metadata: v.metadata, replicas })
//!     }
//! }
//! impl TryFrom<Hub> for V1 {
//!     type Error = String;
//!     fn try_from(h: Hub) -> Result<Self, String> { Ok(V1 { metadata: h.metadata, spec: V1Spec { size: h.replicas.to_string() } }) }
//! }
//! impl TryFrom<V2> for Hub {
//!     type Error = String;
//!     fn try_from(v: V2) -> Result<Self, String> { Ok(Hub { metadata: v.metadata, replicas: v.spec.replicas }) }
//! }
//! impl TryFrom<Hub> for V2 {
//!     type Error = String;
//!     fn try_from(h: Hub) -> Result<Self, String> { Ok(V2 { metadata: h.metadata, spec: V2Spec { replicas: h.replicas } }) }
//! }
//!
//! let converter = Converter::<Hub>::new().version::<V1>("example.com/v1").version::<V2>("example.com/v2");
//! let review: ConversionReview = serde_json::from_value(json!({
//!     "apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
//!     "request": {"uid": "c-1", "desiredAPIVersion": "example.com/v2", "objects": [
//!         {"apiVersion": "example.com/v1", "kind": "Foo", "metadata": {"name": "a"}, "spec": {"size": "3"}}]}
//! })).unwrap();
//! let answer = converter.review(&review);
//! let response = answer.response.unwrap();
//! assert_eq!(response.uid, "c-1");
//! assert_eq!(response.converted_objects[0]["apiVersion"], "example.com/v2");
//! assert_eq!(response.converted_objects[0]["kind"], "Foo");
//! assert_eq!(response.converted_objects[0]["spec"]["replicas"], 3);
//! ```

use std::{collections::BTreeMap, fmt::Display};

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::Status;

/// `apiextensions.k8s.io/v1`, the version of conversion reviews.
pub const V1: &str = "apiextensions.k8s.io/v1";
/// The kind of conversion reviews.
pub const KIND: &str = "ConversionReview";

/// Why a conversion review cannot be answered at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReviewError {
    /// The body is not a `ConversionReview`.
    #[error("invalid conversion review: {0}")]
    Json(#[source] serde_json::Error),
    /// The review is of an `apiVersion` or `kind` this crate does not read.
    #[error("unsupported conversion review {api_version:?}, kind {kind:?}: expected {V1}, kind {KIND}")]
    Unsupported {
        /// The `apiVersion` found.
        api_version: String,
        /// The `kind` found.
        kind: String,
    },
    /// The review holds no `request`.
    #[error("conversion review without a request")]
    NoRequest,
}

/// A conversion review: a request from the API server or the webhook's response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversionReview {
    /// `apiextensions.k8s.io/v1`.
    pub api_version: String,
    /// `ConversionReview`.
    pub kind: String,
    /// What to convert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<ConversionRequest>,
    /// The converted objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ConversionResponse>,
}

impl ConversionReview {
    /// Reads a review from a request body, checking its `apiVersion` and `kind`.
    pub fn from_slice(body: &[u8]) -> Result<Self, ReviewError> {
        let review: Self = serde_json::from_slice(body).map_err(ReviewError::Json)?;
        if review.api_version != V1 || review.kind != KIND {
            return Err(ReviewError::Unsupported { api_version: review.api_version, kind: review.kind });
        }
        Ok(review)
    }

    /// The request, or [`ReviewError::NoRequest`].
    pub fn request(&self) -> Result<&ConversionRequest, ReviewError> {
        self.request.as_ref().ok_or(ReviewError::NoRequest)
    }
}

/// The objects to convert and the version wanted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversionRequest {
    /// Identifies this request; the response must carry it back.
    pub uid: String,
    /// The `apiVersion` to convert every object to, such as `example.com/v2`.
    #[serde(rename = "desiredAPIVersion")]
    pub desired_api_version: String,
    /// The objects, each with its own `apiVersion`.
    #[serde(default, deserialize_with = "crate::admission::nullable")]
    pub objects: Vec<Value>,
}

/// The webhook's answer: every object converted, in order, or a failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversionResponse {
    /// The request's uid, echoed.
    pub uid: String,
    /// The converted objects (empty on failure).
    #[serde(default, deserialize_with = "crate::admission::nullable")]
    pub converted_objects: Vec<Value>,
    /// `Success`, or `Failure` with a message.
    #[serde(default, deserialize_with = "crate::admission::nullable")]
    pub result: Status,
}

impl ConversionResponse {
    /// A successful conversion.
    pub fn success(uid: impl Into<String>, converted_objects: Vec<Value>) -> Self {
        let result = Status { status: "Success".into(), ..Status::default() };
        Self { uid: uid.into(), converted_objects, result }
    }

    /// A failed conversion with `message`.
    pub fn failure(uid: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            uid: uid.into(),
            converted_objects: Vec::new(),
            result: Status::failure(0, "", &message.into()),
        }
    }

    /// This response in a review.
    pub fn into_review(self) -> ConversionReview {
        ConversionReview {
            api_version: V1.to_owned(),
            kind: KIND.to_owned(),
            request: None,
            response: Some(self),
        }
    }
}

type Decode<H> = Box<dyn Fn(Value) -> Result<H, String> + Send + Sync>;
type Encode<H> = Box<dyn Fn(H) -> Result<Value, String> + Send + Sync>;

struct Version<H> {
    decode: Decode<H>,
    encode: Encode<H>,
}

/// Converts objects between the versions of a CRD through a hub type `H`.
///
/// Register each version with [`version`](Self::version); an object already at the desired
/// version is passed through untouched. The converted object gets the desired `apiVersion` and
/// keeps its `kind`.
pub struct Converter<H> {
    versions: BTreeMap<String, Version<H>>,
}

impl<H> std::fmt::Debug for Converter<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Converter").field("versions", &self.versions.keys().collect::<Vec<_>>()).finish()
    }
}

impl<H> Default for Converter<H> {
    fn default() -> Self {
        Self { versions: BTreeMap::new() }
    }
}

impl<H: 'static> Converter<H> {
    /// A converter with no versions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the type of `api_version` (such as `example.com/v1`).
    #[must_use]
    pub fn version<V>(mut self, api_version: &str) -> Self
    where
        V: DeserializeOwned + Serialize + TryFrom<H> + 'static,
        H: TryFrom<V>,
        <V as TryFrom<H>>::Error: Display,
        <H as TryFrom<V>>::Error: Display,
    {
        let decode: Decode<H> = Box::new(|value| {
            let v = V::deserialize(value).map_err(|e| format!("does not decode: {e}"))?;
            H::try_from(v).map_err(|e| e.to_string())
        });
        let encode: Encode<H> = Box::new(|hub| {
            let v = V::try_from(hub).map_err(|e| e.to_string())?;
            serde_json::to_value(v).map_err(|e| format!("does not encode: {e}"))
        });
        self.versions.insert(api_version.to_owned(), Version { decode, encode });
        self
    }

    /// The API versions registered.
    pub fn versions(&self) -> impl Iterator<Item = &str> {
        self.versions.keys().map(String::as_str)
    }

    /// Converts one object to `desired`.
    pub fn convert(&self, object: Value, desired: &str) -> Result<Value, String> {
        let from = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_owned();
        let kind = object.get("kind").cloned();
        if from == desired {
            return Ok(object);
        }
        let source = self.versions.get(&from).ok_or_else(|| format!("unknown apiVersion {from:?}"))?;
        let target =
            self.versions.get(desired).ok_or_else(|| format!("unknown desired apiVersion {desired:?}"))?;
        let hub = (source.decode)(object).map_err(|e| format!("from {from}: {e}"))?;
        let mut out = (target.encode)(hub).map_err(|e| format!("to {desired}: {e}"))?;
        let Value::Object(map) = &mut out else {
            return Err(format!("to {desired}: the converted object is not a JSON object"));
        };
        map.insert("apiVersion".into(), Value::String(desired.to_owned()));
        if let Some(kind) = kind {
            map.entry("kind").or_insert(kind);
        }
        Ok(out)
    }

    /// Answers a request: every object converted, or a failure naming the first that failed.
    pub fn respond(&self, request: &ConversionRequest) -> ConversionResponse {
        let mut converted = Vec::with_capacity(request.objects.len());
        for object in &request.objects {
            match self.convert(object.clone(), &request.desired_api_version) {
                Ok(v) => converted.push(v),
                Err(e) => {
                    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
                    let message = format!("failed to convert {name:?} {e}");
                    return ConversionResponse::failure(&request.uid, message);
                }
            }
        }
        ConversionResponse::success(&request.uid, converted)
    }

    /// Answers a review (a failure when it has no request).
    pub fn review(&self, review: &ConversionReview) -> ConversionReview {
        match review.request() {
            Ok(request) => self.respond(request),
            Err(e) => ConversionResponse::failure("", e.to_string()),
        }
        .into_review()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize, Deserialize)]
    struct A {
        metadata: Value,
        n: String,
    }
    #[derive(Serialize, Deserialize)]
    struct B {
        metadata: Value,
        count: i64,
    }
    struct Hub {
        metadata: Value,
        count: i64,
    }
    impl TryFrom<A> for Hub {
        type Error = String;
        fn try_from(a: A) -> Result<Self, String> {
            Ok(Hub {
                metadata: a.metadata,
                count: a.n.parse().map_err(|_| format!("n {:?} is not a number", a.n))?,
            })
        }
    }
    impl From<Hub> for A {
        fn from(h: Hub) -> Self {
            A { metadata: h.metadata, n: h.count.to_string() }
        }
    }
    impl From<B> for Hub {
        fn from(b: B) -> Self {
            Hub { metadata: b.metadata, count: b.count }
        }
    }
    impl TryFrom<Hub> for B {
        type Error = String;
        fn try_from(h: Hub) -> Result<Self, String> {
            if h.count < 0 {
                Err("negative counts have no v2 form".into())
            } else {
                Ok(B { metadata: h.metadata, count: h.count })
            }
        }
    }

    fn converter() -> Converter<Hub> {
        Converter::new().version::<A>("x.io/v1").version::<B>("x.io/v2")
    }

    fn request(desired: &str, objects: Vec<Value>) -> ConversionRequest {
        ConversionRequest { uid: "u".into(), desired_api_version: desired.into(), objects }
    }

    #[test]
    fn converts_both_ways_keeping_metadata_and_kind() {
        let c = converter();
        let v1 = json!({"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {"name": "a", "uid": "1"}, "n": "7"});
        let v2 = c.convert(v1.clone(), "x.io/v2").unwrap();
        assert_eq!(
            v2,
            json!({"apiVersion": "x.io/v2", "kind": "Thing", "metadata": {"name": "a", "uid": "1"}, "count": 7})
        );
        assert_eq!(c.convert(v2, "x.io/v1").unwrap(), v1);
    }

    #[test]
    fn same_version_passes_through_and_mixed_batches_work() {
        let c = converter();
        let resp = c.respond(&request(
            "x.io/v2",
            vec![
                json!({"apiVersion": "x.io/v2", "kind": "Thing", "metadata": {}, "count": 1, "extra": true}),
                json!({"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {}, "n": "2"}),
            ],
        ));
        assert!(resp.result.is_success(), "{:?}", resp.result);
        assert_eq!(resp.converted_objects[0]["extra"], true);
        assert_eq!(resp.converted_objects[1]["count"], 2);
    }

    #[test]
    fn failures_name_the_object_and_reason() {
        let c = converter();
        let bad =
            json!({"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {"name": "bad"}, "n": "seven"});
        let resp = c.respond(&request("x.io/v2", vec![bad]));
        assert!(resp.result.is_failure());
        assert!(resp.converted_objects.is_empty());
        assert_eq!(resp.result.message, r#"failed to convert "bad" from x.io/v1: n "seven" is not a number"#);

        let negative =
            json!({"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {"name": "neg"}, "n": "-1"});
        let resp = c.respond(&request("x.io/v2", vec![negative]));
        assert_eq!(
            resp.result.message,
            r#"failed to convert "neg" to x.io/v2: negative counts have no v2 form"#
        );

        let resp =
            c.respond(&request("x.io/v3", vec![json!({"apiVersion": "x.io/v1", "n": "1", "metadata": {}})]));
        assert!(
            resp.result.message.contains("unknown desired apiVersion \"x.io/v3\""),
            "{}",
            resp.result.message
        );
    }

    #[test]
    fn go_nulls_read_as_empty() {
        let body = json!({"apiVersion": V1, "kind": KIND,
            "request": {"uid": "r", "desiredAPIVersion": "x.io/v1", "objects": null},
            "response": {"uid": "", "convertedObjects": null, "result": {"metadata": {}}}});
        let review = ConversionReview::from_slice(body.to_string().as_bytes()).unwrap();
        assert!(review.request().unwrap().objects.is_empty());
    }

    #[test]
    fn reviews_are_checked_and_answered() {
        let body = json!({"apiVersion": V1, "kind": KIND, "request": {"uid": "r", "desiredAPIVersion": "x.io/v1", "objects": []}});
        let review = ConversionReview::from_slice(body.to_string().as_bytes()).unwrap();
        let answer = serde_json::to_value(converter().review(&review)).unwrap();
        assert_eq!(
            answer,
            json!({"apiVersion": V1, "kind": KIND,
            "response": {"uid": "r", "convertedObjects": [], "result": {"status": "Success", "message": "", "reason": "", "code": 0}}})
        );
        let wrong = json!({"apiVersion": "apiextensions.k8s.io/v1beta1", "kind": KIND});
        assert!(matches!(
            ConversionReview::from_slice(wrong.to_string().as_bytes()),
            Err(ReviewError::Unsupported { .. })
        ));
        assert!(matches!(ConversionReview::from_slice(b"[]"), Err(ReviewError::Json(_))));
    }
}
