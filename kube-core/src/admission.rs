//! `AdmissionReview`: what the API server sends a validating or mutating webhook and what the
//! webhook answers, with a response builder.
//!
//! The API server posts an [`AdmissionReview`] holding an [`AdmissionRequest`]; the webhook
//! answers with an `AdmissionReview` of the same `apiVersion` holding an [`AdmissionResponse`]
//! whose `uid` echoes the request's. Both `admission.k8s.io/v1` and the older `v1beta1` reviews
//! are read (their shapes are the same); the answer is written in the version asked.
//!
//! ```
//! use kube_core::admission::{AdmissionResponse, AdmissionReview};
//! let body = r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
//!   "uid":"705ab4f5","kind":{"group":"","version":"v1","kind":"ConfigMap"},
//!   "resource":{"group":"","version":"v1","resource":"configmaps"},"operation":"CREATE",
//!   "namespace":"prod","name":"cfg","userInfo":{"username":"alice"},
//!   "object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"}}}}"#;
//! let review: AdmissionReview = serde_json::from_str(body).unwrap();
//! let request = review.request().unwrap();
//! let response = AdmissionResponse::from(request).deny("configmaps need a data field");
//! let answer = serde_json::to_value(review.answer(response)).unwrap();
//! assert_eq!(answer["response"]["uid"], "705ab4f5");
//! assert_eq!(answer["response"]["allowed"], false);
//! assert_eq!(answer["response"]["status"]["message"], "configmaps need a data field");
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{GroupVersionKind, GroupVersionResource, Status, json_patch::JsonPatch};

/// The group of admission reviews.
pub const GROUP: &str = "admission.k8s.io";
/// `admission.k8s.io/v1`, the version the API server prefers.
pub const V1: &str = "admission.k8s.io/v1";
/// `admission.k8s.io/v1beta1`, still accepted by webhooks that list it.
pub const V1BETA1: &str = "admission.k8s.io/v1beta1";
/// The kind of admission reviews.
pub const KIND: &str = "AdmissionReview";

/// Why an admission review cannot be answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReviewError {
    /// The body is not an `AdmissionReview` (not JSON, or the wrong shape).
    #[error("invalid admission review: {0}")]
    Json(#[source] serde_json::Error),
    /// The review is of an `apiVersion` or `kind` this crate does not read.
    #[error(
        "unsupported admission review {api_version:?}, kind {kind:?}: expected {V1} or {V1BETA1}, kind {KIND}"
    )]
    Unsupported {
        /// The `apiVersion` found.
        api_version: String,
        /// The `kind` found.
        kind: String,
    },
    /// The review holds no `request`.
    #[error("admission review without a request")]
    NoRequest,
    /// The request's `object` or `oldObject` does not decode as the handler's type.
    #[error("failed to decode the {field} of admission request {uid} ({kind}): {source}")]
    Object {
        /// `object` or `oldObject`.
        field: &'static str,
        /// The request's uid.
        uid: String,
        /// The kind the request names.
        kind: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
}

/// An admission review: a request from the API server or a response to it.
///
/// `T` is the type of the objects in the request, `serde_json::Value` unless decoded further
/// (see [`AdmissionRequest::decode`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>", serialize = "T: Serialize"))]
pub struct AdmissionReview<T = serde_json::Value> {
    /// `admission.k8s.io/v1` or `admission.k8s.io/v1beta1`.
    pub api_version: String,
    /// `AdmissionReview`.
    pub kind: String,
    /// What the API server asks.
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub request: Option<AdmissionRequest<T>>,
    /// The webhook's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<AdmissionResponse>,
}

impl<T: DeserializeOwned> AdmissionReview<T> {
    /// Reads a review from a request body, checking its `apiVersion` and `kind`.
    pub fn from_slice(body: &[u8]) -> Result<Self, ReviewError> {
        let review: Self = serde_json::from_slice(body).map_err(ReviewError::Json)?;
        review.check()?;
        Ok(review)
    }
}

impl<T> AdmissionReview<T> {
    fn check(&self) -> Result<(), ReviewError> {
        if (self.api_version == V1 || self.api_version == V1BETA1) && self.kind == KIND {
            Ok(())
        } else {
            Err(ReviewError::Unsupported { api_version: self.api_version.clone(), kind: self.kind.clone() })
        }
    }

    /// The request, or [`ReviewError::NoRequest`].
    pub fn request(&self) -> Result<&AdmissionRequest<T>, ReviewError> {
        self.request.as_ref().ok_or(ReviewError::NoRequest)
    }

    /// A review carrying `response`, of the same `apiVersion` as this one (`v1` if this one's is
    /// not an admission version), without the request.
    pub fn answer(&self, response: AdmissionResponse) -> AdmissionReview<T> {
        let api_version = if self.api_version == V1BETA1 { V1BETA1 } else { V1 };
        AdmissionReview {
            api_version: api_version.to_owned(),
            kind: KIND.to_owned(),
            request: None,
            response: Some(response),
        }
    }
}

/// The operation being admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    /// A create.
    Create,
    /// An update (or a patch, or an apply).
    Update,
    /// A delete: `oldObject` is the object deleted, `object` is absent.
    Delete,
    /// A connect (exec, attach, port-forward, proxy): `object` is the options.
    Connect,
}

/// Who sent the request being admitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// The user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The user's uid, when the authenticator gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The user's groups.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Extra attributes from the authenticator.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// What the API server asks a webhook to admit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>", serialize = "T: Serialize"))]
pub struct AdmissionRequest<T = serde_json::Value> {
    /// Identifies this request; the response must carry it back.
    pub uid: String,
    /// The kind of the object as the webhook registered for it.
    pub kind: GroupVersionKind,
    /// The resource as the webhook registered for it.
    pub resource: GroupVersionResource,
    /// The subresource (`status`, `scale`, ...), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_resource: Option<String>,
    /// The kind of the original request, when it was converted for the webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_kind: Option<GroupVersionKind>,
    /// The resource of the original request, when it was converted for the webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_resource: Option<GroupVersionResource>,
    /// The subresource of the original request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_sub_resource: Option<String>,
    /// The object's name; may be empty on create when `generateName` is used.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The object's namespace; empty for cluster-scoped resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The operation.
    pub operation: Operation,
    /// Who asked.
    #[serde(default, deserialize_with = "nullable")]
    pub user_info: UserInfo,
    /// The object as it would be stored (absent for deletes).
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub object: Option<T>,
    /// The object as it is stored (updates and deletes).
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub old_object: Option<T>,
    /// Whether the request is a dry run: a webhook with side effects must not make them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// The operation's options (`CreateOptions`, `UpdateOptions`, `DeleteOptions`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<serde_json::Value>,
}

fn none<T>() -> Option<T> {
    None
}

/// Reads `null` as the default value: Go sends `null` for empty lists and maps.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

impl AdmissionRequest<serde_json::Value> {
    /// This request with `object` and `oldObject` decoded as `K`.
    pub fn decode<K: DeserializeOwned>(&self) -> Result<AdmissionRequest<K>, ReviewError> {
        let decode = |field: &'static str, value: &Option<serde_json::Value>| match value {
            // The API server sends `null` rather than omitting the field in some versions.
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => K::deserialize(v).map(Some).map_err(|source| ReviewError::Object {
                field,
                uid: self.uid.clone(),
                kind: self.kind.to_string(),
                source,
            }),
        };
        Ok(AdmissionRequest {
            uid: self.uid.clone(),
            kind: self.kind.clone(),
            resource: self.resource.clone(),
            sub_resource: self.sub_resource.clone(),
            request_kind: self.request_kind.clone(),
            request_resource: self.request_resource.clone(),
            request_sub_resource: self.request_sub_resource.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            operation: self.operation,
            user_info: self.user_info.clone(),
            object: decode("object", &self.object)?,
            old_object: decode("oldObject", &self.old_object)?,
            dry_run: self.dry_run,
            options: self.options.clone(),
        })
    }
}

/// The patch type of admission responses; only JSON Patch is defined.
pub const PATCH_TYPE_JSON_PATCH: &str = "JSONPatch";

/// A webhook's answer to an [`AdmissionRequest`].
///
/// Start from the request (`AdmissionResponse::from(&request)`, which copies its `uid` and
/// allows), then [`deny`](Self::deny), add [`warnings`](Self::with_warnings), a
/// [`patch`](Self::with_patch) or [`audit annotations`](Self::with_audit_annotation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    /// The request's uid, echoed.
    pub uid: String,
    /// Whether the request is admitted.
    pub allowed: bool,
    /// Why not (or, rarely, more about a success); the message is shown to the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// A base64-encoded JSON Patch to apply to the object (mutating webhooks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// `JSONPatch` when `patch` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    /// Annotations recorded in the audit event of this request (keys are prefixed by the API
    /// server with the webhook's name).
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub audit_annotations: BTreeMap<String, String>,
    /// Warnings shown to the user (kubectl prints them as `Warning: ...`).
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl<T> From<&AdmissionRequest<T>> for AdmissionResponse {
    fn from(request: &AdmissionRequest<T>) -> Self {
        Self::allow(&request.uid)
    }
}

impl AdmissionResponse {
    /// Allows the request with this uid.
    pub fn allow(uid: impl Into<String>) -> Self {
        Self { uid: uid.into(), allowed: true, ..Self::default() }
    }

    /// An answer to a review that could not be read: denied with `message` (HTTP 400
    /// semantics), uid as given (empty when the request had none).
    pub fn invalid(uid: impl Into<String>, message: impl Into<String>) -> Self {
        Self::allow(uid).deny_with(Status::failure(400, "BadRequest", &message.into()))
    }

    /// Denies with `message` (code 403, reason `Forbidden`, as controller-runtime does).
    #[must_use]
    pub fn deny(self, message: impl Into<String>) -> Self {
        self.deny_with(Status::failure(403, "Forbidden", &message.into()))
    }

    /// Denies with a full `Status` (code, reason, message, causes).
    #[must_use]
    pub fn deny_with(mut self, status: Status) -> Self {
        self.allowed = false;
        self.status = Some(status);
        // A denied request is not mutated.
        self.patch = None;
        self.patch_type = None;
        self
    }

    /// Adds warnings.
    #[must_use]
    pub fn with_warnings<I, S>(mut self, warnings: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.warnings.extend(warnings.into_iter().map(Into::into));
        self
    }

    /// Adds an audit annotation.
    #[must_use]
    pub fn with_audit_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.audit_annotations.insert(key.into(), value.into());
        self
    }

    /// Sets the patch (base64-encoded as the API server wants); an empty patch sets nothing.
    /// Ignored on a denied response.
    #[must_use]
    pub fn with_patch(mut self, patch: &JsonPatch) -> Self {
        if self.allowed && !patch.is_empty() {
            self.patch = Some(patch.to_base64());
            self.patch_type = Some(PATCH_TYPE_JSON_PATCH.to_owned());
        }
        self
    }

    /// Sets the patch that turns `old` into `new` (see [`JsonPatch::diff`]).
    #[must_use]
    pub fn with_patch_from(self, old: &serde_json::Value, new: &serde_json::Value) -> Self {
        self.with_patch(&JsonPatch::diff(old, new))
    }

    /// This response in a review of `apiVersion` `admission.k8s.io/v1`.
    pub fn into_review(self) -> AdmissionReview {
        AdmissionReview {
            api_version: V1.to_owned(),
            kind: KIND.to_owned(),
            request: None,
            response: Some(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::json;

    fn review(api_version: &str, operation: &str) -> serde_json::Value {
        json!({
            "apiVersion": api_version, "kind": "AdmissionReview",
            "request": {
                "uid": "u-1", "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
                "resource": {"group": "", "version": "v1", "resource": "configmaps"},
                "requestKind": {"group": "", "version": "v1", "kind": "ConfigMap"},
                "name": "cfg", "namespace": "prod", "operation": operation,
                "userInfo": {"username": "alice", "groups": ["dev", "system:authenticated"], "extra": null},
                "object": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}},
                "oldObject": null,
                "dryRun": false,
                "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
            }
        })
    }

    fn parse(v: &serde_json::Value) -> Result<AdmissionReview, ReviewError> {
        AdmissionReview::from_slice(v.to_string().as_bytes())
    }

    #[test]
    fn reads_v1_and_decodes_objects() {
        let review = parse(&review(V1, "CREATE")).unwrap();
        let request = review.request().unwrap();
        assert_eq!(request.operation, Operation::Create);
        assert_eq!(request.user_info.username.as_deref(), Some("alice"));
        assert_eq!(request.namespace.as_deref(), Some("prod"));
        let typed = request.decode::<ConfigMap>().unwrap();
        let cm = typed.object.unwrap();
        assert_eq!(cm.data.unwrap()["a"], "1");
        assert!(typed.old_object.is_none(), "a null oldObject is none");
    }

    #[test]
    fn answers_in_the_version_asked() {
        for version in [V1, V1BETA1] {
            let review = parse(&review(version, "UPDATE")).unwrap();
            let response = AdmissionResponse::from(review.request().unwrap());
            let answer = serde_json::to_value(review.answer(response)).unwrap();
            assert_eq!(
                answer,
                json!({"apiVersion": version, "kind": "AdmissionReview",
                "response": {"uid": "u-1", "allowed": true}})
            );
        }
    }

    #[test]
    fn rejects_other_reviews() {
        let mut other = review("admission.k8s.io/v2", "CREATE");
        assert!(matches!(parse(&other), Err(ReviewError::Unsupported { .. })));
        other["apiVersion"] = json!(V1);
        other["kind"] = json!("ConversionReview");
        assert!(matches!(parse(&other), Err(ReviewError::Unsupported { .. })));
        other["kind"] = json!(KIND);
        other["request"]["operation"] = json!("SMASH");
        assert!(matches!(parse(&other), Err(ReviewError::Json(_))));
        let no_request = json!({"apiVersion": V1, "kind": KIND});
        assert!(matches!(parse(&no_request).unwrap().request(), Err(ReviewError::NoRequest)));
        assert!(matches!(
            AdmissionReview::<serde_json::Value>::from_slice(b"\xff{"),
            Err(ReviewError::Json(_))
        ));
    }

    #[test]
    fn decode_errors_name_the_field_and_request() {
        let mut bad = review(V1, "CREATE");
        bad["request"]["object"]["data"] = json!(["not", "a", "map"]);
        let review = parse(&bad).unwrap();
        let err = review.request().unwrap().decode::<ConfigMap>().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("object of admission request u-1 (v1, Kind=ConfigMap)"), "{text}");
    }

    #[test]
    fn builder_deny_warn_patch_annotate() {
        let denied = AdmissionResponse::allow("u")
            .with_patch_from(&json!({"a": 1}), &json!({"a": 2}))
            .deny("no")
            .with_warnings(["careful"])
            .with_audit_annotation("reason", "policy");
        let v = serde_json::to_value(&denied).unwrap();
        assert_eq!(v["allowed"], false);
        assert_eq!(v["status"]["code"], 403);
        assert_eq!(v["status"]["reason"], "Forbidden");
        assert_eq!(v["status"]["message"], "no");
        assert_eq!(v["warnings"], json!(["careful"]));
        assert_eq!(v["auditAnnotations"], json!({"reason": "policy"}));
        assert!(v.get("patch").is_none(), "a denied response carries no patch");

        let patched = AdmissionResponse::allow("u").with_patch_from(&json!({"a": 1}), &json!({"a": 2}));
        assert_eq!(patched.patch_type.as_deref(), Some("JSONPatch"));
        let decoded = JsonPatch::from_base64(patched.patch.as_deref().unwrap()).unwrap();
        assert_eq!(
            serde_json::to_value(decoded).unwrap(),
            json!([{"op": "replace", "path": "/a", "value": 2}])
        );

        let unchanged = AdmissionResponse::allow("u").with_patch_from(&json!({"a": 1}), &json!({"a": 1}));
        assert_eq!(unchanged.patch, None);
        assert_eq!(unchanged.patch_type, None);

        let invalid = serde_json::to_value(AdmissionResponse::invalid("", "bad body")).unwrap();
        assert_eq!(invalid["status"]["code"], 400);
        assert_eq!(invalid["allowed"], false);
    }
}
