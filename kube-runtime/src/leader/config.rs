//! Leader election settings, their client-go defaults and validation, and the module's error.

use std::{collections::BTreeMap, time::Duration};

/// client-go's jitter factor: the renew deadline must exceed `1.2 ×` the retry period.
const JITTER_FACTOR: f64 = 1.2;

/// What went wrong in leader election. Conflicts (409) while acquiring or renewing are not
/// errors: they only mean another candidate wrote first.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The settings break one of client-go's rules (see [`Config::validate`]).
    #[error("invalid leader election settings for lease {lease}: {reason}")]
    InvalidConfig {
        /// The Lease's name.
        lease: String,
        /// Which rule is broken.
        reason: String,
    },
    /// Leadership could not be given up on shutdown; the next candidate takes over only after
    /// the lease duration.
    #[error("failed to release lease {lease}: {source}")]
    Release {
        /// The Lease's name.
        lease: String,
        /// The API's answer.
        #[source]
        source: Box<kube_client::Error>,
    },
}

/// Settings of one elector. [`Config::new`] has controller-runtime's defaults: lease 15 s,
/// renew deadline 10 s, retry period 2 s, identity hostname plus a random suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The name of the `coordination.k8s.io/v1` Lease all candidates share.
    pub lease_name: String,
    /// This candidate's `holderIdentity`; unique among the candidates.
    pub identity: String,
    /// How long the others wait, after they last saw the lease record change, before they take
    /// it over. Whole seconds (the Lease stores seconds).
    pub lease_duration: Duration,
    /// How long the leader goes on leading without a successful renewal; then it steps down.
    pub renew_deadline: Duration,
    /// How often candidates try to acquire and the leader renews.
    pub retry_period: Duration,
    /// Labels the Lease is created with (e.g. to find a group of Leases with a selector).
    pub labels: BTreeMap<String, String>,
}

impl Config {
    /// Defaults for the Lease `lease_name`.
    pub fn new(lease_name: &str) -> Self {
        Self {
            lease_name: lease_name.to_string(),
            identity: default_identity(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            labels: BTreeMap::new(),
        }
    }

    /// Sets the identity.
    #[must_use]
    pub fn identity(mut self, identity: &str) -> Self {
        self.identity = identity.to_string();
        self
    }

    /// Sets the lease duration, renew deadline and retry period.
    #[must_use]
    pub fn timing(
        mut self,
        lease_duration: Duration,
        renew_deadline: Duration,
        retry_period: Duration,
    ) -> Self {
        self.lease_duration = lease_duration;
        self.renew_deadline = renew_deadline;
        self.retry_period = retry_period;
        self
    }

    /// Checks client-go's rules: lease duration > renew deadline > 1.2 × retry period, all
    /// positive, a non-empty identity and lease name; and the lease duration in whole seconds.
    pub fn validate(&self) -> Result<(), Error> {
        let fail = |reason: String| Err(Error::InvalidConfig { lease: self.lease_name.clone(), reason });
        if self.lease_name.is_empty() {
            return fail("the lease name is empty".into());
        }
        if self.identity.is_empty() {
            return fail("the identity is empty".into());
        }
        if self.retry_period.is_zero() {
            return fail("the retry period must be positive".into());
        }
        if self.lease_duration <= self.renew_deadline {
            return fail(format!(
                "the lease duration ({:?}) must be greater than the renew deadline ({:?})",
                self.lease_duration, self.renew_deadline
            ));
        }
        if self.renew_deadline.as_secs_f64() <= JITTER_FACTOR * self.retry_period.as_secs_f64() {
            return fail(format!(
                "the renew deadline ({:?}) must be greater than {JITTER_FACTOR} × the retry period ({:?})",
                self.renew_deadline, self.retry_period
            ));
        }
        if self.lease_duration.subsec_nanos() != 0 || i32::try_from(self.lease_duration.as_secs()).is_err() {
            return fail(format!(
                "the lease duration ({:?}) must be a whole number of seconds",
                self.lease_duration
            ));
        }
        Ok(())
    }

    /// The lease duration as the Lease stores it.
    pub(crate) fn lease_seconds(&self) -> i32 {
        i32::try_from(self.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }
}

/// client-go's default identity: the hostname, `_`, and a random suffix (so two processes on one
/// host differ).
pub fn default_identity() -> String {
    let host = hostname::get().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "unknown".into());
    format!("{host}_{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(lease: u64, renew: u64, retry: u64) -> Config {
        Config::new("l").timing(
            Duration::from_millis(lease),
            Duration::from_millis(renew),
            Duration::from_millis(retry),
        )
    }

    #[test]
    fn defaults_are_valid_and_identities_differ() {
        let a = Config::new("lease");
        a.validate().unwrap();
        assert_eq!(
            (a.lease_duration, a.renew_deadline, a.retry_period),
            (Duration::from_secs(15), Duration::from_secs(10), Duration::from_secs(2))
        );
        assert_ne!(a.identity, Config::new("lease").identity);
        assert!(a.identity.contains('_'));
    }

    #[test]
    fn client_go_rules_are_enforced() {
        timing(3000, 2000, 500).validate().unwrap();
        let msg = |c: Config| c.validate().unwrap_err().to_string();
        assert!(msg(timing(2000, 2000, 500)).contains("must be greater than the renew deadline"));
        assert!(msg(timing(3000, 1200, 1000)).contains("1.2 × the retry period"));
        assert!(msg(timing(3500, 2000, 500)).contains("whole number of seconds"));
        assert!(msg(timing(3000, 2000, 0)).contains("retry period must be positive"));
        assert!(msg(Config::new("l").identity("")).contains("identity is empty"));
        assert!(msg(Config::new("")).contains("lease name is empty"));
    }
}
