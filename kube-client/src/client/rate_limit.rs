//! A client-side rate limiter (queries per second with a burst), as a tower layer.
//!
//! client-go limits clients to 5 QPS with a burst of 10 by default; this client has no limit
//! unless one is configured (the server's priority and fairness protects it), but one is a line
//! away: [`ClientBuilder::rate_limit`](crate::client::ClientBuilder::rate_limit).

use std::{
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use futures::future::BoxFuture;
use tokio::time::Instant;
use tower::{Layer, Service};

/// A token bucket: `burst` requests may go at once, then `qps` per second.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    state: Arc<Mutex<Bucket>>,
    qps: f64,
    burst: f64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// A limiter of `qps` requests per second with bursts of `burst`. A `qps` that is not positive
    /// and finite, or a zero burst, is treated as one request per second and a burst of one.
    pub fn new(qps: f64, burst: u32) -> Self {
        let qps = if qps.is_finite() && qps > 0.0 { qps } else { 1.0 };
        let burst = f64::from(burst.max(1));
        Self { state: Arc::new(Mutex::new(Bucket { tokens: burst, last: Instant::now() })), qps, burst }
    }

    /// Takes a token and returns how long to wait before using it. Tokens are reserved in order,
    /// so waiting callers are served first come, first served.
    pub fn reserve(&self) -> Duration {
        let now = Instant::now();
        let mut b = match self.state.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.qps).min(self.burst);
        b.last = now;
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::try_from_secs_f64(-b.tokens / self.qps).unwrap_or(Duration::from_secs(3600))
        }
    }

    /// Waits for a token.
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tracing::debug!(wait_ms = wait.as_millis() as u64, "client-side rate limit");
            tokio::time::sleep(wait).await;
        }
    }
}

/// Applies a [`RateLimiter`] to every request of the service.
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    limiter: RateLimiter,
}

impl RateLimitLayer {
    /// A layer sharing `limiter` among every service it wraps.
    pub fn new(limiter: RateLimiter) -> Self {
        Self { limiter }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RateLimit { inner, limiter: self.limiter.clone() }
    }
}

/// The service of [`RateLimitLayer`].
#[derive(Debug, Clone)]
pub struct RateLimit<S> {
    inner: S,
    limiter: RateLimiter,
}

impl<S, Req> Service<Req> for RateLimit<S>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    Req: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let limiter = self.limiter.clone();
        // Take the service that was driven to readiness; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            limiter.acquire().await;
            inner.call(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_steady_rate() {
        let limiter = RateLimiter::new(5.0, 10);
        let start = Instant::now();
        for _ in 0..10 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst goes at once");
        for _ in 0..5 {
            limiter.acquire().await;
        }
        // Five more at 5 QPS take one second.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(999) && took <= Duration::from_millis(1001), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_refills_the_bucket_up_to_the_burst() {
        let limiter = RateLimiter::new(2.0, 3);
        for _ in 0..3 {
            assert_eq!(limiter.reserve(), Duration::ZERO);
        }
        tokio::time::advance(Duration::from_secs(60)).await;
        for _ in 0..3 {
            assert_eq!(limiter.reserve(), Duration::ZERO);
        }
        assert_eq!(limiter.reserve(), Duration::from_millis(500));
        assert_eq!(limiter.reserve(), Duration::from_millis(1000), "waiting callers queue up");
    }

    #[tokio::test(start_paused = true)]
    async fn the_layer_delays_calls() {
        let svc = tower::service_fn(|_: ()| async { Ok::<_, std::convert::Infallible>(Instant::now()) });
        let mut svc = RateLimitLayer::new(RateLimiter::new(1.0, 1)).layer(svc);
        let start = Instant::now();
        let first = tower::ServiceExt::ready(&mut svc).await.unwrap().call(()).await.unwrap();
        let second = tower::ServiceExt::ready(&mut svc).await.unwrap().call(()).await.unwrap();
        assert_eq!(first - start, Duration::ZERO);
        assert_eq!(second - start, Duration::from_secs(1));
    }
}
