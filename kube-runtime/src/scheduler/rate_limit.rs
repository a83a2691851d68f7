//! Retry delays after failed reconciles: a [`RateLimit`] policy, by default client-go's
//! controller rate limiter (per-key exponential backoff, capped by an overall token bucket).

use std::time::Duration;

use ahash::AHashMap;
use tokio::time::Instant;

use crate::reflector::ObjectRef;

/// Decides how long a key waits before its next attempt after a failure. Replace the default
/// with [`Scheduler::with_rate_limit`](super::Scheduler::with_rate_limit).
pub trait RateLimit: Send + 'static {
    /// `key` failed at `now` (its `failures`-th failure in a row, counting from 1): the delay
    /// before it is tried again.
    fn delay(&mut self, key: &ObjectRef, failures: u32, now: Instant) -> Duration;
}

/// Per-key exponential backoff: `base * 2^(failures-1)`, at most `max`. The default is
/// client-go's: 5 ms doubling up to 1,000 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExponentialBackoff {
    /// The delay after the first failure.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for ExponentialBackoff {
    fn default() -> Self {
        Self { base: Duration::from_millis(5), max: Duration::from_secs(1000) }
    }
}

impl ExponentialBackoff {
    /// The delay after `failures` failures in a row.
    pub fn delay_after(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(63);
        let factor = 1u64 << exp;
        let nanos = (self.base.as_nanos() as u64).saturating_mul(factor);
        Duration::from_nanos(nanos).min(self.max)
    }
}

impl RateLimit for ExponentialBackoff {
    fn delay(&mut self, _key: &ObjectRef, failures: u32, _now: Instant) -> Duration {
        self.delay_after(failures)
    }
}

/// An overall token bucket over all retries: `burst` retries at once, then `rate` per second
/// (client-go's default: 10 per second, a burst of 100). Each retry takes a token; without one
/// it waits until a token is due.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl Default for TokenBucket {
    fn default() -> Self {
        Self::new(10.0, 100)
    }
}

impl TokenBucket {
    /// A bucket refilled at `rate` tokens per second, holding at most `burst`. A rate that is
    /// not positive is taken as unlimited.
    pub fn new(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self { rate, burst, tokens: burst, last: None }
    }

    /// Takes a token at `now`: how long until it is available (zero when one is there).
    pub fn take(&mut self, now: Instant) -> Duration {
        if self.rate.is_nan() || self.rate <= 0.0 {
            return Duration::ZERO;
        }
        if let Some(last) = self.last {
            let refill = now.saturating_duration_since(last).as_secs_f64() * self.rate;
            self.tokens = (self.tokens + refill).min(self.burst);
        }
        self.last = Some(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-self.tokens / self.rate) }
    }
}

/// The default policy, like client-go's `DefaultControllerRateLimiter`: the longer of the
/// key's [`ExponentialBackoff`] and the overall [`TokenBucket`]'s wait.
#[derive(Debug, Clone, Default)]
pub struct DefaultRateLimit {
    /// The per-key backoff.
    pub backoff: ExponentialBackoff,
    /// The overall bucket.
    pub bucket: TokenBucket,
}

impl RateLimit for DefaultRateLimit {
    fn delay(&mut self, key: &ObjectRef, failures: u32, now: Instant) -> Duration {
        self.backoff.delay(key, failures, now).max(self.bucket.take(now))
    }
}

/// Failure counts per key (reset by a success), kept by the scheduler for its policy.
#[derive(Debug, Default)]
pub(crate) struct Failures(AHashMap<ObjectRef, u32>);

impl Failures {
    /// Counts a failure of `key`; returns how many in a row.
    pub(crate) fn record(&mut self, key: &ObjectRef) -> u32 {
        let n = self.0.entry(key.clone()).or_default();
        *n = n.saturating_add(1);
        *n
    }

    pub(crate) fn forget(&mut self, key: &ObjectRef) {
        self.0.remove(key);
    }

    pub(crate) fn of(&self, key: &ObjectRef) -> u32 {
        self.0.get(key).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_5ms_to_1000s() {
        let b = ExponentialBackoff::default();
        let got: Vec<u128> = (1..=5).map(|n| b.delay_after(n).as_millis()).collect();
        assert_eq!(got, [5, 10, 20, 40, 80]);
        assert_eq!(b.delay_after(18), Duration::from_millis(655_360));
        assert_eq!(b.delay_after(19), Duration::from_secs(1000), "capped");
        assert_eq!(b.delay_after(u32::MAX), Duration::from_secs(1000), "no overflow");
    }

    #[test]
    fn the_bucket_allows_a_burst_then_its_rate() {
        let now = Instant::now();
        let mut bucket = TokenBucket::default();
        for _ in 0..100 {
            assert_eq!(bucket.take(now), Duration::ZERO);
        }
        assert_eq!(bucket.take(now), Duration::from_millis(100));
        assert_eq!(bucket.take(now), Duration::from_millis(200));
        // A second later, ten tokens came back: the debt of two is paid, eight remain.
        let later = now + Duration::from_secs(1);
        for _ in 0..8 {
            assert_eq!(bucket.take(later), Duration::ZERO);
        }
        assert_eq!(bucket.take(later), Duration::from_millis(100));
    }

    #[test]
    fn the_default_takes_the_longer_wait() {
        let now = Instant::now();
        let key = ObjectRef::new("a");
        let mut policy = DefaultRateLimit { bucket: TokenBucket::new(1.0, 1), ..Default::default() };
        assert_eq!(policy.delay(&key, 1, now), Duration::from_millis(5), "a token: the backoff");
        assert_eq!(policy.delay(&key, 2, now), Duration::from_secs(1), "no token: the bucket");
    }
}
