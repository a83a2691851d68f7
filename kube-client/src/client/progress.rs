//! Progress timeouts on response bodies: a body that delivers nothing for a while fails with
//! [`NoProgress`], so a stalled list, get or watch reaches the caller as an error instead of
//! waiting forever on a connection that is alive but silent.
//!
//! The timeout is chosen per request:
//! - a watch that asks for bookmarks (`allowWatchBookmarks=true`) gets
//!   [`Config::watch_progress_timeout`](crate::Config::watch_progress_timeout): the API server's
//!   watch cache sends such watches a bookmark about every minute, so the default of two minutes
//!   is only exceeded by a watch that is stuck;
//! - a watch without bookmarks may be silent until its own end: it gets its `timeoutSeconds`
//!   plus the watch progress timeout, or none when it has no `timeoutSeconds`;
//! - a followed log (`follow=true`) may be silent for ever: none;
//! - every other body gets [`Config::progress_timeout`](crate::Config::progress_timeout).
//!
//! A [`ProgressTimeout`] in the request's extensions overrides the choice.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::error::BoxError;

pub use crate::config::{DEFAULT_PROGRESS_TIMEOUT, DEFAULT_WATCH_PROGRESS_TIMEOUT};

/// A request extension setting the progress timeout of its response body, whatever the
/// request is; `ProgressTimeout(None)` turns it off.
///
/// ```
/// use std::time::Duration;
/// use kube_client::client::progress::ProgressTimeout;
///
/// let mut req = http::Request::get("/api/v1/namespaces/default/pods/p/log?follow=true").body(Vec::<u8>::new())?;
/// req.extensions_mut().insert(ProgressTimeout(Some(Duration::from_secs(600))));
/// # Ok::<(), http::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressTimeout(pub Option<Duration>);

/// A response body delivered nothing for its progress timeout.
#[derive(Debug, thiserror::Error)]
#[error("no data received on the response body for {0:?} (progress timeout)")]
pub struct NoProgress(pub Duration);

/// The progress timeouts of a client: for bodies in general and for watches asking for bookmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressTimeouts {
    /// For responses in general; `None` for none.
    pub body: Option<Duration>,
    /// For watches with bookmarks; `None` for none.
    pub watch: Option<Duration>,
}

impl ProgressTimeouts {
    /// The progress timeout for the response to `req`.
    pub fn for_request<B>(&self, req: &Request<B>) -> Option<Duration> {
        if let Some(ProgressTimeout(timeout)) = req.extensions().get::<ProgressTimeout>() {
            return *timeout;
        }
        let query = req.uri().query().unwrap_or("");
        let param = |name: &str| {
            form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
        };
        let is_true = |name: &str| param(name).is_some_and(|v| v == "true" || v == "1");
        let path = req.uri().path();
        if is_true("watch") || path.contains("/watch/") {
            if is_true("allowWatchBookmarks") {
                return self.watch;
            }
            let own_timeout = param("timeoutSeconds").and_then(|s| s.parse::<u64>().ok());
            return own_timeout.zip(self.watch).map(|(secs, margin)| Duration::from_secs(secs) + margin);
        }
        if path.ends_with("/log") && is_true("follow") {
            return None;
        }
        self.body
    }
}

/// Applies [`ProgressTimeouts`] to response bodies.
#[derive(Debug, Clone)]
pub struct ProgressLayer {
    timeouts: ProgressTimeouts,
}

impl ProgressLayer {
    /// A layer with these timeouts.
    pub fn new(timeouts: ProgressTimeouts) -> Self {
        Self { timeouts }
    }
}

impl<S> Layer<S> for ProgressLayer {
    type Service = Progress<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Progress { inner, timeouts: self.timeouts }
    }
}

/// The service of [`ProgressLayer`].
#[derive(Debug, Clone)]
pub struct Progress<S> {
    inner: S,
    timeouts: ProgressTimeouts,
}

impl<S, B> Service<Request<Bytes>> for Progress<S>
where
    S: Service<Request<Bytes>, Response = Response<B>>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
    type Response = Response<ProgressBody<B>>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        let timeout = self.timeouts.for_request(&req);
        let fut = self.inner.call(req);
        Box::pin(async move {
            let resp = fut.await.map_err(Into::into)?;
            Ok(resp.map(|body| ProgressBody::new(body, timeout)))
        })
    }
}

pin_project! {
    /// A body failing with [`NoProgress`] when no frame arrives for its timeout (counted from
    /// the response's headers, then from each frame).
    pub struct ProgressBody<B> {
        #[pin]
        inner: B,
        deadline: Option<(Duration, Pin<Box<tokio::time::Sleep>>)>,
    }
}

impl<B> ProgressBody<B> {
    /// `inner` with a progress timeout of `timeout` (none for `None`).
    pub fn new(inner: B, timeout: Option<Duration>) -> Self {
        Self { inner, deadline: timeout.map(|t| (t, Box::pin(tokio::time::sleep(t)))) }
    }
}

impl<B> Body for ProgressBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => {
                if let Some((timeout, sleep)) = this.deadline {
                    sleep.as_mut().reset(tokio::time::Instant::now() + *timeout);
                }
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                if let Some((timeout, sleep)) = this.deadline
                    && sleep.as_mut().poll(cx).is_ready()
                {
                    tracing::debug!(?timeout, "response body made no progress");
                    return Poll::Ready(Some(Err(NoProgress(*timeout).into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `error`, or an error it was caused by, is a timeout: the response's headers, a body's
/// progress, the TLS handshake or the TCP connect took too long.
pub(crate) fn is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<tower::timeout::error::Elapsed>()
            || e.is::<NoProgress>()
            || e.is::<super::connector::TlsHandshakeTimeout>()
            || e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        // an io::Error's source() skips the error it wraps
        next = match e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, StreamBody};
    use tokio::time::Instant;

    use super::*;

    fn timeouts() -> ProgressTimeouts {
        ProgressTimeouts { body: Some(Duration::from_secs(60)), watch: Some(Duration::from_secs(120)) }
    }

    fn for_uri(uri: &str) -> Option<Duration> {
        timeouts().for_request(&Request::get(uri).body(()).unwrap())
    }

    #[test]
    fn the_timeout_follows_the_kind_of_request() {
        assert_eq!(for_uri("/api/v1/pods?limit=500"), Some(Duration::from_secs(60)));
        assert_eq!(
            for_uri("/api/v1/pods?watch=true&allowWatchBookmarks=true"),
            Some(Duration::from_secs(120))
        );
        assert_eq!(for_uri("/api/v1/pods?watch=1&timeoutSeconds=300"), Some(Duration::from_secs(420)));
        assert_eq!(for_uri("/api/v1/pods?watch=true"), None);
        assert_eq!(for_uri("/api/v1/watch/pods?timeoutSeconds=10"), Some(Duration::from_secs(130)));
        assert_eq!(for_uri("/api/v1/namespaces/n/pods/p/log?follow=true"), None);
        assert_eq!(for_uri("/api/v1/namespaces/n/pods/p/log"), Some(Duration::from_secs(60)));
        let mut req = Request::get("/api/v1/pods").body(()).unwrap();
        req.extensions_mut().insert(ProgressTimeout(Some(Duration::from_secs(5))));
        assert_eq!(timeouts().for_request(&req), Some(Duration::from_secs(5)));
        req.extensions_mut().insert(ProgressTimeout(None));
        assert_eq!(timeouts().for_request(&req), None);
    }

    /// A body sending one chunk at each of `at` (seconds after the start), then staying open.
    fn scripted(at: &'static [u64]) -> impl Body<Data = Bytes, Error = BoxError> {
        let start = Instant::now();
        let chunks = futures::stream::iter(at).then(move |secs| async move {
            tokio::time::sleep_until(start + Duration::from_secs(*secs)).await;
            Ok::<_, BoxError>(Frame::data(Bytes::from_static(b"x")))
        });
        StreamBody::new(Box::pin(chunks.chain(futures::stream::pending())))
    }

    use futures::StreamExt as _;

    #[tokio::test(start_paused = true)]
    async fn a_silent_body_fails_after_its_timeout_and_a_slow_one_does_not() {
        let start = Instant::now();
        // chunks 50 s apart never trip a 60 s timeout; then silence does, 60 s after the last
        let mut body = ProgressBody::new(scripted(&[50, 100, 150]), Some(Duration::from_secs(60)));
        for _ in 0..3 {
            body.frame().await.unwrap().unwrap();
        }
        let err = body.frame().await.unwrap().unwrap_err();
        assert!(err.is::<NoProgress>(), "{err}");
        assert_eq!(start.elapsed(), Duration::from_secs(210));
        assert!(is_timeout(&*err));
        assert_eq!(err.to_string(), "no data received on the response body for 60s (progress timeout)");

        // no timeout: waits as long as the body does
        let mut body = ProgressBody::new(scripted(&[1000]), None);
        body.frame().await.unwrap().unwrap();
    }

    #[test]
    fn timeouts_are_found_in_error_chains() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out");
        assert!(is_timeout(&io));
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(!is_timeout(&refused));
        let wrapped = std::io::Error::other(NoProgress(Duration::from_secs(1)));
        assert!(is_timeout(&wrapped));
    }
}
