//! The watcher's backoff: exponential and jittered, reset after a healthy period.

use std::time::Duration;

use tokio::time::Instant;

/// How long to wait after each consecutive failure.
///
/// The defaults follow client-go's reflector: 800 ms doubling up to 30 s, each delay stretched by
/// up to 100% at random (so many watchers don't retry in step), and back to 800 ms once the
/// watcher has been healthy for 2 minutes. While the server is unreachable the watcher probes
/// every second instead (see [`Backoff::probe`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// The longest delay (before jitter).
    pub max: Duration,
    /// The growth factor per failure.
    pub factor: f64,
    /// The random stretch: a delay `d` becomes a value in `[d, d * (1 + jitter)]`.
    pub jitter: f64,
    /// After this long without failures the delay starts over from `initial`.
    pub reset_after: Duration,
    /// While the server cannot be reached at all (connection refused, host or network
    /// unreachable), the watcher tries again this often (plus jitter) instead: such attempts cost
    /// a down server nothing, and the watcher is back within about this long of the server's
    /// return. Errors the server itself returns always get the exponential delay.
    pub probe: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(800),
            max: Duration::from_secs(30),
            factor: 2.0,
            jitter: 1.0,
            reset_after: Duration::from_secs(120),
            probe: Duration::from_secs(1),
        }
    }
}

/// The running state of a [`Backoff`].
#[derive(Debug, Clone)]
pub(crate) struct BackoffState {
    policy: Backoff,
    failures: u32,
    last_failure: Option<Instant>,
}

impl BackoffState {
    pub(crate) fn new(policy: Backoff) -> Self {
        Self { policy, failures: 0, last_failure: None }
    }

    /// The delay before the next attempt, after a failure now.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let now = Instant::now();
        if self.last_failure.is_some_and(|t| now.saturating_duration_since(t) >= self.policy.reset_after) {
            self.failures = 0;
        }
        self.last_failure = Some(now);
        let exp = self.policy.factor.max(1.0).powi(self.failures.min(64) as i32);
        self.failures = self.failures.saturating_add(1);
        let base = self.policy.initial.as_secs_f64() * exp;
        let base = base.min(self.policy.max.as_secs_f64());
        let jitter = if self.policy.jitter > 0.0 { rand::random::<f64>() * self.policy.jitter } else { 0.0 };
        // Unusable settings (a cap of Duration::MAX, a non-finite factor) end at the cap.
        Duration::try_from_secs_f64(base * (1.0 + jitter)).unwrap_or(self.policy.max)
    }

    /// The delay before the next attempt when the server could not be reached at all: the probe
    /// interval with jitter, leaving the exponential delay where it was.
    pub(crate) fn probe_delay(&self) -> Duration {
        let jitter = if self.policy.jitter > 0.0 { rand::random::<f64>() * self.policy.jitter } else { 0.0 };
        Duration::try_from_secs_f64(self.policy.probe.as_secs_f64() * (1.0 + jitter))
            .unwrap_or(self.policy.probe)
    }

    /// Called when things work: a long enough healthy period resets the delay.
    pub(crate) fn healthy(&mut self) {
        if self.last_failure.is_some_and(|t| t.elapsed() >= self.policy.reset_after) {
            self.failures = 0;
            self.last_failure = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_jitter() -> Backoff {
        Backoff { jitter: 0.0, ..Backoff::default() }
    }

    #[tokio::test(start_paused = true)]
    async fn doubles_up_to_the_cap() {
        let mut b = BackoffState::new(no_jitter());
        let delays: Vec<_> = (0..8).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_stretches_by_at_most_the_factor() {
        let mut b = BackoffState::new(Backoff::default());
        for i in 0..20 {
            let d = b.next_delay();
            let base = (800.0 * 2f64.powi(i)).min(30_000.0);
            let ms = d.as_secs_f64() * 1000.0;
            assert!(ms >= base - 0.001 && ms <= base * 2.0 + 0.001, "failure {i}: {ms} vs {base}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn resets_after_a_healthy_period() {
        let mut b = BackoffState::new(no_jitter());
        for _ in 0..5 {
            b.next_delay();
        }
        tokio::time::advance(Duration::from_secs(60)).await;
        b.healthy();
        assert_eq!(b.next_delay(), Duration::from_millis(25600), "one minute is not long enough");
        tokio::time::advance(Duration::from_secs(121)).await;
        b.healthy();
        assert_eq!(b.next_delay(), Duration::from_millis(800));
        // A failure long after the last one starts over too.
        tokio::time::advance(Duration::from_secs(121)).await;
        b.next_delay();
        tokio::time::advance(Duration::from_secs(121)).await;
        assert_eq!(b.next_delay(), Duration::from_millis(800));
    }
}
