//! What a route does with a review: admission handlers (raw, [`Validator`], [`Defaulter`]) and
//! conversion handlers (raw, or a [`Converter`]).
//!
//! Every handler is turned into a [`Handler`], which reads the body, calls the user's code with a
//! panic guard and writes the answer with the request's `uid`. A body that is not a review gets
//! HTTP 400 with the reason; a handler that panics denies the request with code 500 (a
//! conversion fails), and the server keeps serving.

use std::{future::Future, panic::AssertUnwindSafe, sync::Arc};

use futures::{FutureExt, future::BoxFuture};
use http::StatusCode;
use kube_core::{
    Status,
    admission::{AdmissionRequest, AdmissionResponse, AdmissionReview},
    conversion::{ConversionRequest, ConversionResponse, ConversionReview, Converter},
    json_patch::JsonPatch,
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

type AdmitFn = Arc<dyn Fn(AdmissionRequest) -> BoxFuture<'static, AdmissionResponse> + Send + Sync>;
type ConvertFn = Arc<dyn Fn(ConversionRequest) -> BoxFuture<'static, ConversionResponse> + Send + Sync>;

#[derive(Clone)]
enum Kind {
    Admission(AdmitFn),
    Conversion(ConvertFn),
}

/// A route's handler: admission or conversion. Made from a [`Validator`], a [`Defaulter`], a
/// [`Converter`] (all `Into<Handler>`), or a function with [`admission`](Self::admission) or
/// [`conversion`](Self::conversion).
#[derive(Clone)]
pub struct Handler {
    kind: Kind,
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Admission(_) => "admission",
            Kind::Conversion(_) => "conversion",
        };
        f.debug_struct("Handler").field("kind", &kind).finish()
    }
}

/// What a handler produced: the HTTP status, the JSON body, and whether it denied.
pub(crate) struct Outcome {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
    pub(crate) denied: bool,
}

impl Handler {
    /// An admission handler from a function of the request. The response's `uid` is set to the
    /// request's whatever the function returns.
    pub fn admission<F, Fut>(f: F) -> Self
    where
        F: Fn(AdmissionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = AdmissionResponse> + Send + 'static,
    {
        Self { kind: Kind::Admission(Arc::new(move |req| f(req).boxed())) }
    }

    /// A conversion handler from a function of the request.
    pub fn conversion<F, Fut>(f: F) -> Self
    where
        F: Fn(ConversionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ConversionResponse> + Send + 'static,
    {
        Self { kind: Kind::Conversion(Arc::new(move |req| f(req).boxed())) }
    }

    /// Answers a request body.
    pub(crate) async fn handle(&self, body: &[u8]) -> Outcome {
        match &self.kind {
            Kind::Admission(f) => admit(f, body).await,
            Kind::Conversion(f) => convert(f, body).await,
        }
    }
}

fn json(status: StatusCode, value: &impl Serialize, denied: bool) -> Outcome {
    match serde_json::to_vec(value) {
        Ok(body) => Outcome { status, body, denied },
        Err(e) => {
            tracing::error!(error = %e, "failed to serialize a webhook response");
            Outcome { status: StatusCode::INTERNAL_SERVER_ERROR, body: b"{}".to_vec(), denied: true }
        }
    }
}

/// The request's uid, from a body too broken to be a review, for the error answer.
fn uid_of(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.pointer("/request/uid").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}

async fn admit(f: &AdmitFn, body: &[u8]) -> Outcome {
    let mut review = match AdmissionReview::<Value>::from_slice(body) {
        Ok(review) => review,
        Err(e) => {
            tracing::debug!(error = %e, "answering an invalid admission review with 400");
            let response = AdmissionResponse::invalid(uid_of(body), e.to_string());
            return json(StatusCode::BAD_REQUEST, &response.into_review(), true);
        }
    };
    // Moved out, not copied: the answer needs only the review's apiVersion.
    let request = match review.request.take() {
        Some(request) => request,
        None => {
            let response = AdmissionResponse::invalid("", "admission review without a request");
            return json(StatusCode::BAD_REQUEST, &review.answer(response), true);
        }
    };
    let uid = request.uid.clone();
    let mut response = match AssertUnwindSafe(f(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(uid = %uid, "an admission handler panicked; denying the request");
            AdmissionResponse::allow(&uid).deny_with(Status::failure(
                500,
                "InternalError",
                "the admission webhook's handler panicked",
            ))
        }
    };
    response.uid = uid;
    let denied = !response.allowed;
    json(StatusCode::OK, &review.answer(response), denied)
}

async fn convert(f: &ConvertFn, body: &[u8]) -> Outcome {
    let review = match ConversionReview::from_slice(body) {
        Ok(review) => review,
        Err(e) => {
            tracing::debug!(error = %e, "answering an invalid conversion review with 400");
            let response = ConversionResponse::failure(uid_of(body), e.to_string());
            return json(StatusCode::BAD_REQUEST, &response.into_review(), true);
        }
    };
    let Some(request) = review.request else {
        let response = ConversionResponse::failure("", "conversion review without a request");
        return json(StatusCode::BAD_REQUEST, &response.into_review(), true);
    };
    let uid = request.uid.clone();
    let mut response = match AssertUnwindSafe(f(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(uid = %uid, "a conversion handler panicked; failing the conversion");
            ConversionResponse::failure(&uid, "the conversion webhook's handler panicked")
        }
    };
    response.uid = uid;
    let failed = response.result.is_failure();
    json(StatusCode::OK, &response.into_review(), failed)
}

/// Why a [`Validator`] or [`Defaulter`] refuses a request: a `Status` whose message the user
/// sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The status returned to the API server.
    pub status: Status,
}

impl Denial {
    /// Denied with `message` (code 403, reason `Forbidden`).
    pub fn new(message: impl Into<String>) -> Self {
        Self { status: Status::failure(403, "Forbidden", &message.into()) }
    }

    /// Denied as invalid with `message` (code 422, reason `Invalid`).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self { status: Status::failure(422, "Invalid", &message.into()) }
    }
}

impl From<Status> for Denial {
    fn from(status: Status) -> Self {
        Self { status }
    }
}

type Decoded<K> = Result<AdmissionRequest<K>, Box<AdmissionResponse>>;

/// The request with its objects decoded as `K`, or a denial (code 400) saying why they do not.
fn decode<K: DeserializeOwned>(request: &AdmissionRequest) -> Decoded<K> {
    request.decode::<K>().map_err(|e| {
        Box::new(AdmissionResponse::from(request).deny_with(Status::failure(
            400,
            "BadRequest",
            &e.to_string(),
        )))
    })
}

type ValidateFn<K> =
    Arc<dyn Fn(AdmissionRequest<K>) -> BoxFuture<'static, Result<Vec<String>, Denial>> + Send + Sync>;

/// A validating handler for objects of type `K`: it returns warnings to allow the request, or
/// a [`Denial`].
///
/// The request's `object` and `oldObject` are decoded as `K` (a denial with code 400 if they do
/// not decode); for a delete, `object` is `None` and `old_object` the object deleted.
///
/// ```
/// use k8s_openapi::api::core::v1::ConfigMap;
/// use kube_webhook::{Denial, Validator};
/// let validator = Validator::new(|req: kube_core::admission::AdmissionRequest<ConfigMap>| async move {
///     let data = req.object.and_then(|cm| cm.data).unwrap_or_default();
///     if data.contains_key("password") {
///         return Err(Denial::new("configmaps must not hold passwords; use a Secret"));
///     }
///     Ok(if data.is_empty() { vec!["this configmap is empty".to_owned()] } else { vec![] })
/// });
/// # drop(validator);
/// ```
pub struct Validator<K> {
    f: ValidateFn<K>,
}

impl<K> std::fmt::Debug for Validator<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator").field("kind", &std::any::type_name::<K>()).finish()
    }
}

impl<K: DeserializeOwned + Send + 'static> Validator<K> {
    /// A validator from an async function of the decoded request.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(AdmissionRequest<K>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<String>, Denial>> + Send + 'static,
    {
        Self { f: Arc::new(move |req| f(req).boxed()) }
    }
}

impl<K: DeserializeOwned + Send + 'static> From<Validator<K>> for Handler {
    fn from(v: Validator<K>) -> Self {
        Handler::admission(move |request| {
            let f = v.f.clone();
            async move {
                let typed = match decode::<K>(&request) {
                    Ok(typed) => typed,
                    Err(denied) => return *denied,
                };
                match f(typed).await {
                    Ok(warnings) => AdmissionResponse::from(&request).with_warnings(warnings),
                    Err(denial) => AdmissionResponse::from(&request).deny_with(denial.status),
                }
            }
        })
    }
}

type DefaultFn<K> =
    Arc<dyn Fn(K, AdmissionRequest<K>) -> BoxFuture<'static, Result<K, Denial>> + Send + Sync>;

/// A mutating handler for objects of type `K`: it gets the object (and the whole request) and
/// returns the object as it should be stored; the difference becomes the JSON Patch of the
/// response.
///
/// The patch is the difference between the object as `K` serializes it before and after the
/// function, so fields `K` does not know are left alone. Requests without an object (deletes,
/// connects) are allowed without calling the function.
///
/// ```
/// use k8s_openapi::api::core::v1::ConfigMap;
/// use kube_webhook::Defaulter;
/// let defaulter = Defaulter::new(|mut cm: ConfigMap, _req| async move {
///     cm.metadata.labels.get_or_insert_default().entry("team".into()).or_insert_with(|| "unknown".into());
///     Ok(cm)
/// });
/// # drop(defaulter);
/// ```
pub struct Defaulter<K> {
    f: DefaultFn<K>,
}

impl<K> std::fmt::Debug for Defaulter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Defaulter").field("kind", &std::any::type_name::<K>()).finish()
    }
}

impl<K: DeserializeOwned + Serialize + Clone + Send + 'static> Defaulter<K> {
    /// A defaulter from an async function of the object and the decoded request.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(K, AdmissionRequest<K>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<K, Denial>> + Send + 'static,
    {
        Self { f: Arc::new(move |object, req| f(object, req).boxed()) }
    }
}

impl<K: DeserializeOwned + Serialize + Clone + Send + 'static> From<Defaulter<K>> for Handler {
    fn from(d: Defaulter<K>) -> Self {
        Handler::admission(move |request| {
            let f = d.f.clone();
            async move {
                let typed = match decode::<K>(&request) {
                    Ok(typed) => typed,
                    Err(denied) => return *denied,
                };
                let Some(object) = typed.object.clone() else {
                    return AdmissionResponse::from(&request);
                };
                let before = serde_json::to_value(&object);
                let after = match f(object, typed).await {
                    Ok(after) => serde_json::to_value(&after),
                    Err(denial) => return AdmissionResponse::from(&request).deny_with(denial.status),
                };
                match (before, after) {
                    (Ok(before), Ok(after)) => {
                        AdmissionResponse::from(&request).with_patch(&JsonPatch::diff(&before, &after))
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        AdmissionResponse::from(&request).deny_with(Status::failure(
                            500,
                            "InternalError",
                            &format!("failed to serialize the defaulted object: {e}"),
                        ))
                    }
                }
            }
        })
    }
}

impl<H: Send + Sync + 'static> From<Converter<H>> for Handler {
    fn from(c: Converter<H>) -> Self {
        let c = Arc::new(c);
        Handler::conversion(move |request| {
            let c = c.clone();
            async move { c.respond(&request) }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::json;

    fn review(object: Value) -> Vec<u8> {
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "u-9", "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
            "resource": {"group": "", "version": "v1", "resource": "configmaps"},
            "operation": "CREATE", "userInfo": {}, "object": object}})
        .to_string()
        .into_bytes()
    }

    fn response(outcome: &Outcome) -> Value {
        serde_json::from_slice::<Value>(&outcome.body).unwrap()["response"].clone()
    }

    #[tokio::test]
    async fn validator_warns_or_denies() {
        let h: Handler = Validator::new(|req: AdmissionRequest<ConfigMap>| async move {
            match req.object.and_then(|c| c.data) {
                Some(_) => Ok(vec!["fine".to_owned()]),
                None => Err(Denial::new("data is required")),
            }
        })
        .into();
        let ok = h.handle(&review(json!({"metadata": {"name": "a"}, "data": {"k": "v"}}))).await;
        assert_eq!((ok.status, ok.denied), (StatusCode::OK, false));
        assert_eq!(response(&ok), json!({"uid": "u-9", "allowed": true, "warnings": ["fine"]}));
        let no = h.handle(&review(json!({"metadata": {"name": "a"}}))).await;
        assert!(no.denied);
        assert_eq!(response(&no)["status"]["message"], "data is required");
        let bad = h.handle(&review(json!({"metadata": {"name": "a"}, "data": [1]}))).await;
        assert_eq!(response(&bad)["status"]["code"], 400);
        assert_eq!(response(&bad)["uid"], "u-9");
    }

    #[tokio::test]
    async fn defaulter_patch_leaves_unknown_fields_alone() {
        let h: Handler = Defaulter::new(|mut cm: ConfigMap, _| async move {
            cm.data.get_or_insert_default().insert("added".into(), "yes".into());
            Ok(cm)
        })
        .into();
        let out = h.handle(&review(json!({"metadata": {"name": "a"}, "unknownField": 1}))).await;
        let resp = response(&out);
        assert_eq!(resp["patchType"], "JSONPatch");
        let patch = JsonPatch::from_base64(resp["patch"].as_str().unwrap()).unwrap();
        assert_eq!(
            serde_json::to_value(patch).unwrap(),
            json!([{"op": "add", "path": "/data", "value": {"added": "yes"}}])
        );
    }

    #[tokio::test]
    async fn garbage_is_400_and_panics_deny_with_500() {
        let h = Handler::admission(|req: AdmissionRequest| async move {
            if req.name == "boom" {
                panic!("handler bug");
            }
            AdmissionResponse::allow("not-the-uid")
        });
        let garbage = h.handle(b"{not json").await;
        assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
        assert!(
            response(&garbage)["status"]["message"].as_str().unwrap().starts_with("invalid admission review")
        );
        let ok = h.handle(&review(json!({}))).await;
        assert_eq!(response(&ok)["uid"], "u-9", "the uid is always the request's");
        let mut boom: Value = serde_json::from_slice(&review(json!({}))).unwrap();
        boom["request"]["name"] = json!("boom");
        let out = h.handle(boom.to_string().as_bytes()).await;
        assert_eq!(out.status, StatusCode::OK);
        assert_eq!(response(&out)["allowed"], false);
        assert_eq!(response(&out)["status"]["code"], 500);
        let conv = Handler::conversion(|_req| async move { ConversionResponse::success("x", vec![]) });
        assert_eq!(conv.handle(&review(json!({}))).await.status, StatusCode::BAD_REQUEST);
    }
}
