//! An in-memory API server for Pods, served to our client and to kube-rs through the same bytes:
//! paged lists from pre-rendered pages, and a watch that streams pre-rendered events.

use std::{convert::Infallible, sync::Arc};

use bytes::Bytes;
use futures::{StreamExt, stream};
use http::{Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::Full;
use http_body_util::{BodyExt, StreamBody, combinators::UnsyncBoxBody};
use serde_json::{Value, json};

use crate::pods;

/// The bodies the mock serves.
pub type MockBody = UnsyncBoxBody<Bytes, Infallible>;

/// Pre-rendered responses.
pub struct MockData {
    /// List pages of `page_size` Pods, as JSON.
    pages: Vec<Bytes>,
    /// Watch events (newline-terminated JSON lines), streamed on the first watch.
    events: Vec<Bytes>,
    page_size: usize,
    /// Events sent while the watch runs (see [`MockData::live`]), after the pre-rendered ones.
    live: Option<tokio::sync::broadcast::Sender<Bytes>>,
}

/// Sends watch events to every watch of a [`MockData`] as they happen.
#[derive(Clone)]
pub struct LiveEvents(tokio::sync::broadcast::Sender<Bytes>);

impl LiveEvents {
    /// Sends a MODIFIED event for `object` (a JSON object) to every open watch.
    pub fn modified(&self, object: &Value) {
        let mut line = serde_json::to_vec(&json!({"type": "MODIFIED", "object": object})).unwrap_or_default();
        line.push(b'\n');
        let _ = self.0.send(Bytes::from(line));
    }
}

/// The resourceVersion of the lists.
pub const LIST_RV: u64 = 1;

impl MockData {
    /// `count` Pods in pages of `page_size`, then `events` MODIFIED events over the same Pods.
    pub fn new(count: usize, page_size: usize, events: usize) -> Self {
        let mut pages = Vec::new();
        let all: Vec<Value> = (0..count).map(|i| pods::pod(i, 0)).collect();
        for (n, chunk) in all.chunks(page_size.max(1)).enumerate() {
            let end = (n + 1) * page_size;
            let cont = if end < count { Some(end.to_string()) } else { None };
            let page = json!({
                "kind": "PodList", "apiVersion": "v1",
                "metadata": {"resourceVersion": LIST_RV.to_string(), "continue": cont},
                "items": chunk,
            });
            pages.push(Bytes::from(serde_json::to_vec(&page).unwrap_or_default()));
        }
        if pages.is_empty() {
            pages.push(Bytes::from_static(
                br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}"#,
            ));
        }
        let events = (0..events)
            .map(|e| {
                let mut line = serde_json::to_vec(
                    &json!({"type": "MODIFIED", "object": pods::pod(e % count.max(1), 1 + e as u64)}),
                )
                .unwrap_or_default();
                line.push(b'\n');
                Bytes::from(line)
            })
            .collect();
        Self { pages, events, page_size, live: None }
    }

    /// Makes watches stream live events too: those sent through the returned [`LiveEvents`]
    /// after the watch opened.
    pub fn live(mut self) -> (Self, LiveEvents) {
        let (tx, _) = tokio::sync::broadcast::channel(65_536);
        self.live = Some(tx.clone());
        (self, LiveEvents(tx))
    }

    /// The total size of the list pages in bytes.
    pub fn list_bytes(&self) -> usize {
        self.pages.iter().map(Bytes::len).sum()
    }

    /// The number of watch events.
    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    fn respond(&self, uri: &http::Uri) -> Response<MockBody> {
        let query: Vec<(String, String)> =
            form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect();
        let get = |k: &str| query.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        if get("watch") == Some("true") || get("watch") == Some("1") {
            if get("sendInitialEvents").is_some() {
                // Behave like a server without streaming lists: both clients use paged lists.
                let status = Full::new(Bytes::from_static(br#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Invalid","code":422,"message":"streaming lists are off"}"#));
                return Response::builder()
                    .status(StatusCode::UNPROCESSABLE_ENTITY)
                    .body(status.boxed_unsync())
                    .unwrap_or_default();
            }
            // Events only for a watch from the list's version; later watches stay silent.
            let from_list = get("resourceVersion") == Some("1");
            let events = if from_list { self.events.clone() } else { Vec::new() };
            let live = match (&self.live, from_list) {
                (Some(tx), true) => stream::unfold(tx.subscribe(), |mut rx| async move {
                    loop {
                        match rx.recv().await {
                            Ok(b) => return Some((Ok::<_, Infallible>(Frame::data(b)), rx)),
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                        }
                    }
                })
                .boxed(),
                _ => stream::empty().boxed(),
            };
            let body = stream::iter(events.into_iter().map(|b| Ok::<_, Infallible>(Frame::data(b))))
                .chain(live)
                .chain(stream::pending());
            return Response::new(StreamBody::new(body).boxed_unsync());
        }
        let offset: usize = get("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
        let page = self.pages.get(offset / self.page_size.max(1)).cloned().unwrap_or_default();
        Response::new(Full::new(page).boxed_unsync())
    }
}

/// A client of ours served by `data`.
pub fn our_client(data: Arc<MockData>) -> kube_client::Client {
    let svc = tower::service_fn(move |req: Request<Bytes>| {
        let resp = data.respond(req.uri());
        async move {
            Ok::<_, kube_client::error::BoxError>(resp.map(|b| b.map_err(|e| match e {}).boxed_unsync()))
        }
    });
    let uri: http::Uri = "https://mock.invalid".parse().unwrap_or_default();
    match kube_client::Client::new(tower::util::BoxCloneSyncService::new(svc), &uri, "default") {
        Ok(c) => c,
        Err(e) => panic!("mock client: {e}"),
    }
}

/// A kube-rs client served by `data`.
pub fn kube_rs_client(data: Arc<MockData>) -> kube_rs::Client {
    let svc = tower::service_fn(move |req: Request<kube_rs::client::Body>| {
        let resp = data.respond(req.uri());
        async move { Ok::<_, Infallible>(resp) }
    });
    kube_rs::Client::new(svc, "default")
}
