//! The lease record rules, free of IO: when a record counts as held by someone else (judged by
//! when this process last saw it change, on its own clock), and what record a candidate writes.

use std::time::Duration;

use k8s_openapi::{api::coordination::v1::LeaseSpec, apimachinery::pkg::apis::meta::v1::MicroTime};
use tokio::time::Instant;

/// The last record seen and the local instant it was first seen with this content.
#[derive(Debug, Clone)]
pub(crate) struct Observed {
    pub(crate) spec: LeaseSpec,
    pub(crate) at: Instant,
}

impl Observed {
    /// Records `spec` as seen at `now`, keeping the older instant when nothing changed.
    pub(crate) fn update(previous: Option<Observed>, spec: &LeaseSpec, now: Instant) -> Observed {
        match previous {
            Some(p) if p.spec == *spec => p,
            _ => Observed { spec: spec.clone(), at: now },
        }
    }

    /// When someone else holds the lease: the local instant its hold expires, if still ahead.
    /// The record's own timestamps are never compared with the local clock.
    pub(crate) fn held_by_other(
        &self,
        identity: &str,
        default_duration: Duration,
        now: Instant,
    ) -> Option<Instant> {
        let holder = self.spec.holder_identity.as_deref().unwrap_or_default();
        if holder.is_empty() || holder == identity {
            return None;
        }
        let duration = self
            .spec
            .lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map_or(default_duration, Duration::from_secs);
        let expires = self.at + duration;
        (expires > now).then_some(expires)
    }
}

/// The record `identity` writes to acquire or renew, from the `current` one (none: the lease does
/// not exist yet). A change of holder sets `acquireTime` and increments `leaseTransitions`;
/// other fields (strategy, preferred holder) are kept.
pub(crate) fn claim(
    current: Option<&LeaseSpec>,
    identity: &str,
    lease_seconds: i32,
    now: jiff::Timestamp,
) -> LeaseSpec {
    let mut spec = current.cloned().unwrap_or_default();
    let renewing = spec.holder_identity.as_deref() == Some(identity);
    if !renewing {
        spec.acquire_time = Some(MicroTime(now));
        spec.lease_transitions = Some(match current {
            Some(c) => c.lease_transitions.unwrap_or(0).saturating_add(1),
            None => 0,
        });
    }
    spec.holder_identity = Some(identity.to_string());
    spec.lease_duration_seconds = Some(lease_seconds);
    spec.renew_time = Some(MicroTime(now));
    spec
}

/// The record written on graceful release, as client-go does: no holder and a one-second
/// duration, so the next candidate takes over at its next try.
pub(crate) fn release(current: &LeaseSpec, now: jiff::Timestamp) -> LeaseSpec {
    let mut spec = current.clone();
    spec.holder_identity = Some(String::new());
    spec.lease_duration_seconds = Some(1);
    spec.acquire_time = Some(MicroTime(now));
    spec.renew_time = Some(MicroTime(now));
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(holder: &str, secs: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(secs),
            lease_transitions: Some(4),
            ..LeaseSpec::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn expiry_is_judged_from_when_the_record_was_seen_to_change() {
        let t0 = Instant::now();
        let seen = Observed::update(None, &held("a", 3), t0);
        let default = Duration::from_secs(15);
        assert_eq!(seen.held_by_other("b", default, t0), Some(t0 + Duration::from_secs(3)));
        // The same record seen later keeps the first instant: it expires 3 s after t0.
        tokio::time::advance(Duration::from_secs(2)).await;
        let seen = Observed::update(Some(seen), &held("a", 3), Instant::now());
        assert_eq!(seen.at, t0);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(seen.held_by_other("b", default, Instant::now()), None);
        // A renewal (new renewTime) restarts the clock.
        let mut renewed = held("a", 3);
        renewed.renew_time = Some(MicroTime(jiff::Timestamp::UNIX_EPOCH));
        let seen = Observed::update(Some(seen), &renewed, Instant::now());
        assert!(seen.held_by_other("b", default, Instant::now()).is_some());
        // Our own record, or no holder, is never held by another.
        assert_eq!(seen.held_by_other("a", default, Instant::now()), None);
        let free = Observed::update(None, &held("", 3), Instant::now());
        assert_eq!(free.held_by_other("b", default, Instant::now()), None);
    }

    #[test]
    fn transitions_count_changes_of_holder_only() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        let created = claim(None, "a", 15, now);
        assert_eq!((created.holder_identity.as_deref(), created.lease_transitions), (Some("a"), Some(0)));
        let renewed = claim(Some(&created), "a", 15, now);
        assert_eq!(renewed.lease_transitions, Some(0));
        let taken = claim(Some(&renewed), "b", 15, now);
        assert_eq!((taken.holder_identity.as_deref(), taken.lease_transitions), (Some("b"), Some(1)));
        let released = release(&taken, now);
        assert_eq!(
            (released.holder_identity.as_deref(), released.lease_duration_seconds),
            (Some(""), Some(1))
        );
        assert_eq!(released.lease_transitions, Some(1));
        let again = claim(Some(&released), "c", 15, now);
        assert_eq!((again.lease_transitions, again.lease_duration_seconds), (Some(2), Some(15)));
    }
}
