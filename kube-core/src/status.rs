//! The API's `Status` object: how the API server reports failures (and some successes, such as a
//! finished delete), with helpers for the common reasons.

use serde::{Deserialize, Serialize};

/// A `Status` as the API server returns it: in error responses, as the object of an ERROR watch
/// event, and as the result of some deletes.
///
/// It is also an error type, so a client can return it as is.
///
/// ```
/// use kube_core::Status;
/// let s: Status = serde_json::from_str(r#"{"kind":"Status","apiVersion":"v1","metadata":{},
///   "status":"Failure","message":"configmaps \"x\" not found","reason":"NotFound",
///   "details":{"name":"x","kind":"configmaps"},"code":404}"#).unwrap();
/// assert!(s.is_not_found());
/// assert_eq!(s.to_string(), "configmaps \"x\" not found: NotFound (404)");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}: {reason} ({code})")]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// `Success` or `Failure`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// A human-readable description.
    #[serde(default)]
    pub message: String,
    /// A machine-readable reason in CamelCase (`NotFound`, `Conflict`, ...); empty when unknown.
    #[serde(default)]
    pub reason: String,
    /// More about the failure: the object concerned and the causes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    /// The HTTP status code; 0 when not set.
    #[serde(default)]
    pub code: u16,
}

/// Details of a [`Status`]: the object it concerns and the individual causes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDetails {
    /// The object's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The object's group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// The object's kind (often the resource's plural).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The object's uid.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// The individual causes, such as each invalid field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<StatusCause>,
    /// Seconds the client should wait before retrying, when the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u32>,
}

/// One cause of a failure, for example an invalid field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCause {
    /// A machine-readable reason, such as `FieldValueInvalid`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The field concerned, such as `metadata.name`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
}

impl Status {
    /// A failure status with the given code, reason and message.
    pub fn failure(code: u16, reason: &str, message: &str) -> Self {
        Self { status: "Failure".into(), message: message.into(), reason: reason.into(), details: None, code }
    }

    /// Whether this status reports success.
    pub fn is_success(&self) -> bool {
        self.status == "Success"
    }

    /// Whether this status reports a failure.
    pub fn is_failure(&self) -> bool {
        self.status == "Failure"
    }

    fn is(&self, reason: &str, code: u16) -> bool {
        self.reason == reason || (self.reason.is_empty() && self.code == code)
    }

    /// 404 / `NotFound`: the object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.is("NotFound", 404)
    }

    /// 409 / `AlreadyExists`: a create for a name that exists.
    pub fn is_already_exists(&self) -> bool {
        self.reason == "AlreadyExists"
    }

    /// 409 / `Conflict`: a write with a stale resourceVersion, or a server-side apply conflict.
    pub fn is_conflict(&self) -> bool {
        self.is("Conflict", 409)
    }

    /// 410 / `Expired` or `Gone`: the resourceVersion is too old (compacted); relist.
    pub fn is_gone(&self) -> bool {
        self.reason == "Expired" || self.reason == "Gone" || self.code == 410
    }

    /// 403 / `Forbidden`: the user may not do this.
    pub fn is_forbidden(&self) -> bool {
        self.is("Forbidden", 403)
    }

    /// 401 / `Unauthorized`: the credentials were not accepted.
    pub fn is_unauthorized(&self) -> bool {
        self.is("Unauthorized", 401)
    }

    /// 429 / `TooManyRequests`: the server is shedding load; retry later.
    pub fn is_too_many_requests(&self) -> bool {
        self.is("TooManyRequests", 429)
    }

    /// 422 / `Invalid`: the object failed validation; see the causes.
    pub fn is_invalid(&self) -> bool {
        self.is("Invalid", 422)
    }

    /// 400 / `BadRequest`.
    pub fn is_bad_request(&self) -> bool {
        self.is("BadRequest", 400)
    }

    /// The seconds to wait before retrying, when the server said.
    pub fn retry_after_seconds(&self) -> Option<u32> {
        self.details.as_ref().and_then(|d| d.retry_after_seconds)
    }
}
