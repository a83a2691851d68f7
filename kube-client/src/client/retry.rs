//! Retries of requests the server did not process: 429, 503 and 504 answers (honouring
//! `Retry-After`) and connection failures, with capped, jittered exponential backoff.
//!
//! Timeouts are never retried: a connect, TLS handshake, response or progress timeout reaches
//! the caller at once (a watcher has its own backoff; retrying a stalled path underneath it only
//! hides the stall for several times the timeout).

use std::{
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode};
use tower::{Layer, Service, ServiceExt};

use crate::error::BoxError;

/// When and how often to retry.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 turns retries off.
    pub max_retries: u32,
    /// The first backoff; each retry doubles it.
    pub base_delay: Duration,
    /// The longest backoff, and the longest `Retry-After` honoured.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_retries: 5, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        Self { max_retries: 0, ..Self::default() }
    }

    /// The backoff before retry number `attempt` (0-based): a random delay between half and all
    /// of `base * 2^attempt`, capped at `max_delay` ("equal jitter").
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.base_delay.saturating_mul(2u32.saturating_pow(attempt)).min(self.max_delay);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::random_range(nanos / 2..=nanos.max(1)))
    }

    /// The delay before retrying after `response`, or `None` when it must not be retried.
    fn delay_after_response<B>(
        &self,
        method: &Method,
        path: &str,
        response: &Response<B>,
        attempt: u32,
    ) -> Option<Duration> {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let retriable = match status {
            // An eviction blocked by a PodDisruptionBudget answers 429: an answer, not overload.
            StatusCode::TOO_MANY_REQUESTS if path.ends_with("/eviction") => false,
            // The server did not process the request: safe for every verb.
            StatusCode::TOO_MANY_REQUESTS => true,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
                is_idempotent(method) || retry_after.is_some()
            }
            _ => false,
        };
        if !retriable {
            return None;
        }
        Some(match retry_after {
            Some(d) => d.min(self.max_delay),
            None => self.backoff(attempt),
        })
    }

    /// The delay before retrying after a transport error, or `None` when it must not be retried:
    /// a connection failure (refused, reset before the request was sent) for every verb, other
    /// failures for idempotent verbs, and never a timeout.
    fn delay_after_error(&self, method: &Method, error: &BoxError, attempt: u32) -> Option<Duration> {
        if super::progress::is_timeout(&**error) {
            return None;
        }
        let not_sent = error
            .downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(hyper_util::client::legacy::Error::is_connect);
        (not_sent || is_idempotent(method)).then(|| self.backoff(attempt))
    }
}

fn is_idempotent(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE)
}

/// A copy of a request, to send it again: its extensions are not copied, except the ones this
/// client reads (a [`ProgressTimeout`](super::progress::ProgressTimeout)).
pub(crate) fn clone_request(req: &Request<Bytes>) -> Request<Bytes> {
    let mut clone = Request::new(req.body().clone());
    *clone.method_mut() = req.method().clone();
    *clone.uri_mut() = req.uri().clone();
    *clone.version_mut() = req.version();
    *clone.headers_mut() = req.headers().clone();
    if let Some(timeout) = req.extensions().get::<super::progress::ProgressTimeout>() {
        clone.extensions_mut().insert(*timeout);
    }
    clone
}

/// Adds retries with a [`RetryPolicy`].
#[derive(Debug, Clone)]
pub struct RetryLayer {
    policy: RetryPolicy,
}

impl RetryLayer {
    /// A layer retrying by `policy`.
    pub fn new(policy: RetryPolicy) -> Self {
        Self { policy }
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = Retry<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Retry { inner, policy: self.policy.clone() }
    }
}

/// The service of [`RetryLayer`].
#[derive(Debug, Clone)]
pub struct Retry<S> {
    inner: S,
    policy: RetryPolicy,
}

impl<S, B> Service<Request<Bytes>> for Retry<S>
where
    S: Service<Request<Bytes>, Response = Response<B>, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<B>, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        let policy = self.policy.clone();
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let method = req.method().clone();
            let mut attempt = 0;
            loop {
                let this_try = clone_request(&req);
                let result = inner.ready().await?.call(this_try).await;
                let delay = match &result {
                    _ if attempt >= policy.max_retries => None,
                    Ok(resp) => policy.delay_after_response(&method, req.uri().path(), resp, attempt),
                    Err(e) => policy.delay_after_error(&method, e, attempt),
                };
                let Some(delay) = delay else { return result };
                match &result {
                    Ok(resp) => {
                        tracing::debug!(status = resp.status().as_u16(), attempt, ?delay, uri = %req.uri().path(), "retrying")
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, attempt, ?delay, uri = %req.uri().path(), "retrying")
                    }
                }
                drop(result);
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    };

    use tokio::time::Instant;

    use super::*;

    /// A service answering with `statuses` in turn (then 200), counting calls.
    fn scripted(
        statuses: Vec<(u16, Option<&'static str>)>,
    ) -> (
        impl Service<Request<Bytes>, Response = Response<()>, Error = BoxError, Future: Send> + Clone + Send,
        Arc<AtomicU32>,
    ) {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let statuses = Arc::new(statuses);
        let svc = tower::service_fn(move |_req: Request<Bytes>| {
            let n = counter.fetch_add(1, Ordering::SeqCst) as usize;
            let statuses = statuses.clone();
            async move {
                let (code, retry_after) = statuses.get(n).copied().unwrap_or((200, None));
                let mut resp = Response::builder().status(code);
                if let Some(ra) = retry_after {
                    resp = resp.header("retry-after", ra);
                }
                Ok::<_, BoxError>(resp.body(()).unwrap())
            }
        });
        (svc, calls)
    }

    fn req(method: Method) -> Request<Bytes> {
        Request::builder().method(method).uri("/api/v1/pods").body(Bytes::new()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after_on_429() {
        let (svc, calls) = scripted(vec![(429, Some("2")), (429, Some("1"))]);
        let mut svc = RetryLayer::new(RetryPolicy::default()).layer(svc);
        let start = Instant::now();
        let resp = svc.ready().await.unwrap().call(req(Method::POST)).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn backs_off_on_503_for_idempotent_calls_only() {
        let (svc, calls) = scripted(vec![(503, None), (504, None)]);
        let mut svc = RetryLayer::new(RetryPolicy::default()).layer(svc);
        let start = Instant::now();
        assert_eq!(svc.ready().await.unwrap().call(req(Method::GET)).await.unwrap().status(), 200);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let waited = start.elapsed();
        // Two backoffs: up to 200 ms and up to 400 ms, at least half of each.
        assert!(waited >= Duration::from_millis(300) && waited <= Duration::from_millis(600), "{waited:?}");

        let (svc, calls) = scripted(vec![(503, None)]);
        let mut svc = RetryLayer::new(RetryPolicy::default()).layer(svc);
        assert_eq!(svc.ready().await.unwrap().call(req(Method::POST)).await.unwrap().status(), 503);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a POST is not repeated on 503 without Retry-After");
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_retries_and_returns_the_last_answer() {
        let (svc, calls) = scripted(vec![(429, None); 10]);
        let policy = RetryPolicy { max_retries: 3, ..RetryPolicy::default() };
        let mut svc = RetryLayer::new(policy).layer(svc);
        assert_eq!(svc.ready().await.unwrap().call(req(Method::GET)).await.unwrap().status(), 429);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn an_eviction_refused_by_a_disruption_budget_is_returned_at_once() {
        let (svc, calls) = scripted(vec![(429, Some("10"))]);
        let mut svc = RetryLayer::new(RetryPolicy::default()).layer(svc);
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/namespaces/n/pods/p/eviction")
            .body(Bytes::new())
            .unwrap();
        assert_eq!(svc.ready().await.unwrap().call(req).await.unwrap().status(), 429);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn other_failures_are_not_retried() {
        for code in [400, 401, 403, 404, 409, 410, 422, 500] {
            let (svc, calls) = scripted(vec![(code, Some("1"))]);
            let mut svc = RetryLayer::new(RetryPolicy::default()).layer(svc);
            assert_eq!(svc.ready().await.unwrap().call(req(Method::GET)).await.unwrap().status(), code);
            assert_eq!(calls.load(Ordering::SeqCst), 1, "{code}");
        }
    }

    /// A hyper client whose every connection attempt fails with `error`, and the number of
    /// attempts.
    fn failing_transport(
        error: fn() -> BoxError,
    ) -> (
        impl Service<Request<Bytes>, Response = Response<hyper::body::Incoming>, Error = BoxError, Future: Send>
        + Clone
        + Send,
        Arc<AtomicU32>,
    ) {
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = attempts.clone();
        let connector = tower::service_fn(move |_: http::Uri| {
            counter.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Err::<hyper_util::rt::TokioIo<tokio::net::TcpStream>, _>(error()) })
        });
        let hyper = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build::<_, http_body_util::Full<Bytes>>(connector);
        let svc = tower::service_fn(move |req: Request<Bytes>| {
            let fut = hyper.request(req.map(http_body_util::Full::new));
            async move { fut.await.map_err(BoxError::from) }
        });
        (svc, attempts)
    }

    fn get(uri: &str) -> Request<Bytes> {
        Request::get(uri).body(Bytes::new()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn timeouts_reach_the_caller_at_once_but_refused_connections_are_retried() {
        let timeouts: [fn() -> BoxError; 3] = [
            || std::io::Error::new(std::io::ErrorKind::TimedOut, "tcp connect timed out").into(),
            || {
                super::super::connector::TlsHandshakeTimeout {
                    host: "h".into(),
                    timeout: Duration::from_secs(10),
                }
                .into()
            },
            || tower::timeout::error::Elapsed::new().into(),
        ];
        for error in timeouts {
            let (svc, attempts) = failing_transport(error);
            let mut svc = RetryLayer::new(RetryPolicy::default()).layer(svc);
            let err = svc.ready().await.unwrap().call(get("http://127.0.0.1:1/api")).await.unwrap_err();
            assert!(super::super::progress::is_timeout(&*err), "{err:?}");
            assert_eq!(attempts.load(Ordering::SeqCst), 1, "{err:?}");
        }
        // a timeout answered by the service itself (no connection involved) is not retried either
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let svc = tower::service_fn(move |_: Request<Bytes>| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Err::<Response<()>, BoxError>(tower::timeout::error::Elapsed::new().into()) }
        });
        let mut svc = RetryLayer::new(RetryPolicy::default()).layer(svc);
        svc.ready().await.unwrap().call(get("/api")).await.unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let (svc, attempts) = failing_transport(|| {
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused").into()
        });
        let mut svc = RetryLayer::new(RetryPolicy { max_retries: 3, ..RetryPolicy::default() }).layer(svc);
        let mut post = get("http://127.0.0.1:1/api");
        *post.method_mut() = Method::POST;
        svc.ready().await.unwrap().call(post).await.unwrap_err();
        assert_eq!(attempts.load(Ordering::SeqCst), 4, "a refused connection is retried, for every verb");
    }

    #[test]
    fn a_retried_request_keeps_its_progress_timeout() {
        use super::super::progress::ProgressTimeout;
        let mut req = get("/api");
        req.extensions_mut().insert(ProgressTimeout(None));
        req.extensions_mut().insert(7u32);
        let clone = clone_request(&req);
        assert_eq!(clone.extensions().get::<ProgressTimeout>(), Some(&ProgressTimeout(None)));
        assert!(clone.extensions().get::<u32>().is_none());
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let p = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for attempt in 0..20 {
            let d = p.backoff(attempt);
            let ceiling =
                (Duration::from_millis(100) * 2u32.saturating_pow(attempt)).min(Duration::from_secs(1));
            assert!(d <= ceiling && d >= ceiling / 2, "attempt {attempt}: {d:?}");
        }
    }
}
