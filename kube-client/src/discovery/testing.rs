//! A fake API server for unit tests: fixed documents by path, and a log of the requests.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use serde_json::Value;

use crate::{
    Client,
    client::{Body, HttpService},
    error::BoxError,
};

/// The captured aggregated documents, by path (`/api`, `/apis`).
pub const AGGREGATED: &str = include_str!("../../tests/fixtures/discovery/aggregated.json");
/// The captured legacy documents, by path.
pub const LEGACY: &str = include_str!("../../tests/fixtures/discovery/legacy.json");

/// One fixture file as a map from path to document.
pub fn fixture(text: &str) -> HashMap<String, Value> {
    serde_json::from_str(text).unwrap()
}

/// A fake server: `aggregated` documents are served to requests that ask for them when the
/// server supports aggregated discovery; everything else comes from `legacy`.
#[derive(Clone, Default)]
pub struct FakeServer {
    pub aggregated: Arc<Mutex<Option<HashMap<String, Value>>>>,
    pub legacy: Arc<Mutex<HashMap<String, Value>>>,
    pub requests: Arc<Mutex<Vec<(String, String)>>>,
    /// How long each answer takes.
    pub latency: Arc<Mutex<std::time::Duration>>,
}

impl FakeServer {
    /// A server with the captured fixtures, serving aggregated discovery or not.
    pub fn new(aggregated: bool) -> Self {
        let server = Self::default();
        if aggregated {
            *server.aggregated.lock().unwrap() = Some(fixture(AGGREGATED));
        }
        *server.legacy.lock().unwrap() = fixture(LEGACY);
        server
    }

    /// The paths requested so far, and forgets them.
    pub fn take_requests(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }

    /// A client that talks to this server.
    pub fn client(&self) -> Client {
        let server = self.clone();
        let svc = tower::service_fn(move |req: Request<Bytes>| {
            let server = server.clone();
            async move {
                let latency = *server.latency.lock().unwrap();
                if !latency.is_zero() {
                    tokio::time::sleep(latency).await;
                }
                Ok::<_, BoxError>(server.answer(&req))
            }
        });
        let url: http::Uri = "https://fake.invalid".parse().unwrap();
        Client::new(HttpService::new(svc), &url, "default").unwrap()
    }

    fn answer(&self, req: &Request<Bytes>) -> Response<Body> {
        let path = req.uri().path().to_string();
        let accept = req
            .headers()
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        self.requests.lock().unwrap().push((path.clone(), accept.clone()));
        let wants_aggregated = accept.contains("as=APIGroupDiscoveryList");
        let aggregated = self.aggregated.lock().unwrap();
        let doc = match aggregated.as_ref().and_then(|docs| docs.get(&path)) {
            Some(doc) if wants_aggregated => Some(doc.clone()),
            _ => self.legacy.lock().unwrap().get(&path).cloned(),
        };
        let (status, body) = match doc {
            Some(Value::Number(code)) => {
                let code = code.as_u64().unwrap() as u16;
                (code, serde_json::json!({"kind": "Status", "status": "Failure", "code": code}))
            }
            Some(doc) => (200, doc),
            None => (404, serde_json::json!({"kind": "Status", "status": "Failure", "code": 404})),
        };
        let body = Full::new(Bytes::from(body.to_string())).map_err(|e| match e {}).boxed_unsync();
        Response::builder().status(status).body(body).unwrap()
    }
}
