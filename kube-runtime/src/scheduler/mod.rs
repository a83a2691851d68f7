//! The work queue of a controller: which key to reconcile next, and when.
//!
//! A [`Scheduler`] is plain data driven with explicit times: the controller's run loop
//! [`trigger`](Scheduler::trigger)s keys, [`pop`](Scheduler::pop)s the next due one when it has a
//! free worker, and reports back with [`finish`](Scheduler::finish). It gives the guarantees of
//! client-go's workqueue:
//!
//! 1. **One worker per key.** A popped key is *running* until it is finished; it is never popped
//!    again meanwhile.
//! 2. **Triggers while running lead to exactly one more run.** Any number of triggers for a
//!    running key are merged into one entry that becomes poppable when the run finishes.
//! 3. **Waiting triggers merge.** Repeated triggers of a waiting key make one entry; the
//!    earliest due time wins (and a live trigger makes the entry live).
//! 4. **A global concurrency limit.** At most [`Config::concurrency`] keys run at once
//!    (default [`DEFAULT_CONCURRENCY`]; 0 means unbounded).
//! 5. **Optional debounce.** With [`Config::debounce`] set, a change trigger is due that long
//!    after it arrives, and every trigger in that window merges into the same run (by rule 3
//!    the window is never extended, so a stream of changes cannot starve a key).
//! 6. **Per-key backoff on failures.** A failed key is due again after its [`RateLimit`]'s
//!    delay (default [`DefaultRateLimit`]: 5 ms doubling to 1,000 s, and an overall token bucket
//!    of 10 per second with a burst of 100); a success resets the key's failure count.
//! 7. **Priority for resyncs.** Among due keys, [`Priority::Live`] ones are popped before
//!    [`Priority::Resync`] ones (changes from an initial list or relist), so a restart over
//!    thousands of objects does not delay the reaction to a real change; but after
//!    [`LIVE_BURST`] live pops in a row while resync keys are due, one resync key goes, so a
//!    steady stream of changes or quick requeues cannot starve the rest. Within a priority,
//!    keys are popped in due-time order, then in trigger order.

mod rate_limit;

use std::{collections::BTreeSet, time::Duration};

use ahash::AHashMap;
use tokio::time::Instant;

pub use crate::controller::Priority;
use crate::reflector::ObjectRef;
use rate_limit::Failures;
pub use rate_limit::{DefaultRateLimit, ExponentialBackoff, RateLimit, TokenBucket};

/// How many keys a scheduler runs at once by default: a handful, so a controller is gentle
/// with the API server out of the box; raise it for controllers with slow reconciles.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Scheduler settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// At most this many keys run at once; 0 means unbounded. Default [`DEFAULT_CONCURRENCY`].
    pub concurrency: usize,
    /// Change triggers are due this long after they arrive (zero: at once, the default).
    pub debounce: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self { concurrency: DEFAULT_CONCURRENCY, debounce: Duration::ZERO }
    }
}

/// How a run ended, as told to [`Scheduler::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The run succeeded: the key's failure count resets; `requeue_after` schedules another run.
    Success {
        /// Run again after this long.
        requeue_after: Option<Duration>,
    },
    /// The run failed: the key runs again after its backoff, or after `at_least` if longer.
    Failure {
        /// The shortest acceptable delay (the error policy's choice).
        at_least: Option<Duration>,
    },
    /// The key was not run (its object is gone): its failure count resets, nothing is
    /// scheduled (triggers that arrived meanwhile still run).
    Dropped,
}

/// A key popped to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready<R> {
    /// The key.
    pub key: ObjectRef,
    /// Why it runs: the reason of the trigger that set its due time.
    pub reason: R,
    /// How many triggers were merged into this run.
    pub triggers: u32,
    /// Its priority.
    pub priority: Priority,
    /// How long after its due time it was popped.
    pub waited: Duration,
    /// Failures in a row before this run (0 unless it is a retry).
    pub failures: u32,
}

/// What `finish` scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rescheduled {
    /// When the key is due again, if it is.
    pub due: Option<Instant>,
    /// Whether that is a retry after a failure.
    pub retry: bool,
}

#[derive(Debug, Clone)]
struct Due<R> {
    at: Instant,
    seq: u64,
    priority: Priority,
    reason: R,
    triggers: u32,
}

#[derive(Debug)]
enum KeyState<R> {
    Waiting(Due<R>),
    Running { again: Option<Due<R>> },
}

/// The work queue; see the [module docs](self) for its guarantees. `R` is the reason carried
/// with each trigger (for logs and spans).
pub struct Scheduler<R> {
    config: Config,
    rate_limit: Box<dyn RateLimit>,
    failures: Failures,
    keys: AHashMap<ObjectRef, KeyState<R>>,
    live: BTreeSet<(Instant, u64, ObjectRef)>,
    resync: BTreeSet<(Instant, u64, ObjectRef)>,
    seq: u64,
    running: usize,
    /// Live keys popped in a row while resync keys were due.
    live_streak: u32,
}

/// How many live keys are popped in a row, while resync keys are due, before one resync key.
pub const LIVE_BURST: u32 = 4;

impl<R> std::fmt::Debug for Scheduler<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("config", &self.config)
            .field("waiting", &(self.live.len() + self.resync.len()))
            .field("running", &self.running)
            .finish()
    }
}

impl<R: Clone> Scheduler<R> {
    /// An empty queue with the [`DefaultRateLimit`].
    pub fn new(config: Config) -> Self {
        Self::with_rate_limit(config, DefaultRateLimit::default())
    }

    /// An empty queue with another retry policy.
    pub fn with_rate_limit(config: Config, rate_limit: impl RateLimit) -> Self {
        Self::with_rate_limit_boxed(config, Box::new(rate_limit))
    }

    /// An empty queue with a boxed retry policy.
    pub fn with_rate_limit_boxed(config: Config, rate_limit: Box<dyn RateLimit>) -> Self {
        Self {
            config,
            rate_limit,
            failures: Failures::default(),
            keys: AHashMap::new(),
            live: BTreeSet::new(),
            resync: BTreeSet::new(),
            seq: 0,
            running: 0,
            live_streak: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A change of `key` seen at `now`: due after the debounce.
    pub fn trigger(&mut self, key: ObjectRef, reason: R, priority: Priority, now: Instant) {
        let at = now + self.config.debounce;
        self.schedule(key, reason, priority, at);
    }

    /// Makes `key` due at `at` with `reason`, merging with what is queued for it (earliest due
    /// time wins, live beats resync).
    pub fn schedule(&mut self, key: ObjectRef, reason: R, priority: Priority, at: Instant) {
        self.seq += 1;
        let new = Due { at, seq: self.seq, priority, reason, triggers: 1 };
        match self.keys.get_mut(&key) {
            None => {
                set_of(&mut self.live, &mut self.resync, priority).insert((at, new.seq, key.clone()));
                self.keys.insert(key, KeyState::Waiting(new));
            }
            Some(KeyState::Running { again }) => {
                *again = Some(match again.take() {
                    Some(old) => merge(old, new),
                    None => new,
                });
            }
            Some(KeyState::Waiting(old)) => {
                let entry = (old.at, old.seq, key.clone());
                set_of(&mut self.live, &mut self.resync, old.priority).remove(&entry);
                let merged = merge(old.clone(), new);
                set_of(&mut self.live, &mut self.resync, merged.priority)
                    .insert((merged.at, merged.seq, key));
                *old = merged;
            }
        }
    }

    /// The next due key, if a worker is free: it is running until [`Scheduler::finish`]ed.
    pub fn pop(&mut self, now: Instant) -> Option<Ready<R>> {
        if self.is_full() {
            return None;
        }
        let due =
            |set: &BTreeSet<(Instant, u64, ObjectRef)>| set.first().is_some_and(|(at, _, _)| *at <= now);
        let set = match (due(&self.live), due(&self.resync)) {
            (true, true) if self.live_streak >= LIVE_BURST => {
                self.live_streak = 0;
                &mut self.resync
            }
            (true, resync_due) => {
                self.live_streak = if resync_due { self.live_streak + 1 } else { 0 };
                &mut self.live
            }
            (false, true) => {
                self.live_streak = 0;
                &mut self.resync
            }
            (false, false) => return None,
        };
        let (_, _, key) = set.pop_first()?;
        let state = self.keys.get_mut(&key)?;
        let KeyState::Waiting(due) = std::mem::replace(state, KeyState::Running { again: None }) else {
            return None;
        };
        self.running += 1;
        Some(Ready {
            failures: self.failures.of(&key),
            key,
            reason: due.reason,
            triggers: due.triggers,
            priority: due.priority,
            waited: now.saturating_duration_since(due.at),
        })
    }

    /// When the earliest waiting key is due (it may be in the past), whether or not a worker is
    /// free.
    pub fn next_due(&self) -> Option<Instant> {
        let first = |set: &BTreeSet<(Instant, u64, ObjectRef)>| set.first().map(|(at, _, _)| *at);
        match (first(&self.live), first(&self.resync)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Ends the run of `key` at `now`. A failure schedules a retry after the backoff; a success
    /// with a requeue schedules one; either carries `reason`. Triggers that came while it ran
    /// are merged in. Keys that are not running are ignored.
    pub fn finish(&mut self, key: &ObjectRef, finish: Finish, now: Instant, reason: R) -> Rescheduled {
        let again = match self.keys.get_mut(key) {
            Some(KeyState::Running { again }) => again.take(),
            _ => return Rescheduled { due: None, retry: false },
        };
        self.keys.remove(key);
        self.running -= 1;
        let mut retry = false;
        match finish {
            Finish::Success { requeue_after } => {
                self.failures.forget(key);
                if let Some(after) = requeue_after {
                    self.schedule(key.clone(), reason, Priority::Live, now + after);
                }
            }
            Finish::Failure { at_least } => {
                let failures = self.failures.record(key);
                let delay = self.rate_limit.delay(key, failures, now).max(at_least.unwrap_or_default());
                self.schedule(key.clone(), reason, Priority::Live, now + delay);
                retry = true;
            }
            Finish::Dropped => self.failures.forget(key),
        }
        if let Some(due) = again {
            let (reason, priority, at, triggers) = (due.reason, due.priority, due.at, due.triggers);
            self.schedule(key.clone(), reason, priority, at);
            if let Some(KeyState::Waiting(d)) = self.keys.get_mut(key) {
                d.triggers += triggers - 1;
            }
        }
        let due = match self.keys.get(key) {
            Some(KeyState::Waiting(d)) => Some(d.at),
            _ => None,
        };
        Rescheduled { due, retry }
    }

    /// Removes every waiting entry (running keys stay running until finished).
    pub fn clear_waiting(&mut self) {
        self.keys.retain(|_, s| matches!(s, KeyState::Running { .. }));
        for state in self.keys.values_mut() {
            if let KeyState::Running { again } = state {
                *again = None;
            }
        }
        self.live.clear();
        self.resync.clear();
    }

    /// How many keys wait (running keys excluded, even with a run pending).
    pub fn depth(&self) -> usize {
        self.live.len() + self.resync.len()
    }

    /// How many keys are running.
    pub fn running(&self) -> usize {
        self.running
    }

    /// Whether every worker is busy (nothing can be popped until a run finishes).
    pub fn is_full(&self) -> bool {
        self.config.concurrency != 0 && self.running >= self.config.concurrency
    }

    /// Whether `key` is running.
    pub fn is_running(&self, key: &ObjectRef) -> bool {
        matches!(self.keys.get(key), Some(KeyState::Running { .. }))
    }

    /// Failures in a row of `key`.
    pub fn failures(&self, key: &ObjectRef) -> u32 {
        self.failures.of(key)
    }
}

fn set_of<'a>(
    live: &'a mut BTreeSet<(Instant, u64, ObjectRef)>,
    resync: &'a mut BTreeSet<(Instant, u64, ObjectRef)>,
    priority: Priority,
) -> &'a mut BTreeSet<(Instant, u64, ObjectRef)> {
    match priority {
        Priority::Live => live,
        Priority::Resync => resync,
    }
}

/// Two triggers of one key as one: the earliest due time (and its reason and order) wins; live
/// beats resync.
fn merge<R>(old: Due<R>, new: Due<R>) -> Due<R> {
    let priority = old.priority.min(new.priority);
    let triggers = old.triggers.saturating_add(new.triggers);
    let winner = if new.at < old.at { new } else { old };
    Due { priority, triggers, ..winner }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> ObjectRef {
        ObjectRef::new(name).within("ns")
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn queue(concurrency: usize) -> Scheduler<&'static str> {
        Scheduler::new(Config { concurrency, ..Config::default() })
    }

    const OK: Finish = Finish::Success { requeue_after: None };

    #[test]
    fn a_running_key_is_never_popped_again_and_its_triggers_make_one_more_run() {
        let now = Instant::now();
        let mut q = queue(0);
        q.trigger(key("a"), "first", Priority::Live, now);
        let run = q.pop(now).unwrap();
        assert_eq!((run.key.clone(), run.reason, run.triggers), (key("a"), "first", 1));
        for reason in ["second", "third", "fourth"] {
            q.trigger(key("a"), reason, Priority::Live, now);
        }
        assert!(q.is_running(&key("a")));
        assert_eq!(q.pop(now), None, "never two runs of one key at once");
        assert_eq!(q.depth(), 0, "a running key does not count as waiting");
        q.finish(&key("a"), OK, now, "requeue");
        let again = q.pop(now).unwrap();
        assert_eq!((again.reason, again.triggers), ("second", 3));
        q.finish(&key("a"), OK, now, "requeue");
        assert_eq!(q.pop(now + ms(1000)), None, "exactly one more run");
    }

    #[test]
    fn waiting_triggers_merge_and_the_earliest_due_time_wins() {
        let now = Instant::now();
        let mut q = queue(0);
        q.schedule(key("a"), "later", Priority::Live, now + ms(100));
        q.trigger(key("a"), "now", Priority::Live, now);
        q.schedule(key("a"), "even later", Priority::Live, now + ms(500));
        assert_eq!(q.depth(), 1);
        let run = q.pop(now).unwrap();
        assert_eq!((run.reason, run.triggers), ("now", 3));
        q.finish(&key("a"), OK, now, "requeue");
        assert_eq!(q.pop(now + ms(600)), None, "merged triggers leave nothing behind");
    }

    #[test]
    fn no_more_than_the_concurrency_limit_runs_at_once() {
        let now = Instant::now();
        let mut q = queue(4);
        for i in 0..200 {
            q.trigger(key(&format!("k{i}")), "change", Priority::Live, now);
        }
        let mut running: Vec<ObjectRef> = std::iter::from_fn(|| q.pop(now)).map(|r| r.key).collect();
        assert_eq!(running.len(), 4);
        let mut done = 0;
        while let Some(k) = running.pop() {
            q.finish(&k, OK, now, "requeue");
            done += 1;
            running.extend(std::iter::from_fn(|| q.pop(now)).map(|r| r.key));
            assert!(q.running() <= 4 && running.len() <= 4);
        }
        assert_eq!(done, 200);
        assert_eq!(Config::default().concurrency, DEFAULT_CONCURRENCY);
        let mut unbounded = queue(0);
        for i in 0..200 {
            unbounded.trigger(key(&format!("k{i}")), "change", Priority::Live, now);
        }
        assert_eq!(std::iter::from_fn(|| unbounded.pop(now)).count(), 200, "0 is unbounded");
    }

    #[test]
    fn debounce_holds_a_window_that_later_triggers_do_not_extend() {
        let now = Instant::now();
        let mut q = Scheduler::new(Config { debounce: ms(100), ..Config::default() });
        q.trigger(key("a"), "first", Priority::Live, now);
        q.trigger(key("a"), "second", Priority::Live, now + ms(50));
        q.trigger(key("a"), "third", Priority::Live, now + ms(90));
        assert_eq!(q.pop(now + ms(99)), None);
        assert_eq!(q.next_due(), Some(now + ms(100)));
        let run = q.pop(now + ms(100)).unwrap();
        assert_eq!((run.reason, run.triggers), ("first", 3));
    }

    #[test]
    fn failures_back_off_exponentially_and_a_success_resets() {
        let mut now = Instant::now();
        let mut q = queue(0);
        q.trigger(key("a"), "change", Priority::Live, now);
        let mut delays = Vec::new();
        for _ in 0..3 {
            let run = q.pop(now).unwrap();
            let due = q.finish(&run.key, Finish::Failure { at_least: None }, now, "retry").due.unwrap();
            delays.push(due - now);
            assert_eq!(q.pop(due - ms(1)), None, "not before its backoff");
            now = due;
        }
        assert_eq!(delays, [ms(5), ms(10), ms(20)]);
        let run = q.pop(now).unwrap();
        assert_eq!((run.reason, run.failures), ("retry", 3));
        q.finish(&key("a"), OK, now, "requeue");
        assert_eq!(q.failures(&key("a")), 0);
        q.trigger(key("a"), "change", Priority::Live, now);
        q.pop(now).unwrap();
        let due = q.finish(&key("a"), Finish::Failure { at_least: None }, now, "retry").due.unwrap();
        assert_eq!(due - now, ms(5), "the backoff starts over after a success");
        // The error policy can ask for a longer wait, never a shorter one.
        let run = q.pop(due).unwrap();
        let again =
            q.finish(&run.key, Finish::Failure { at_least: Some(ms(700)) }, due, "retry").due.unwrap();
        assert_eq!(again - due, ms(700));
    }

    #[test]
    fn a_replaced_policy_decides_the_delays() {
        struct Fixed;
        impl RateLimit for Fixed {
            fn delay(&mut self, _: &ObjectRef, failures: u32, _: Instant) -> Duration {
                Duration::from_secs(u64::from(failures))
            }
        }
        let now = Instant::now();
        let mut q: Scheduler<&str> = Scheduler::with_rate_limit(Config::default(), Fixed);
        q.trigger(key("a"), "change", Priority::Live, now);
        q.pop(now).unwrap();
        let due = q.finish(&key("a"), Finish::Failure { at_least: None }, now, "retry").due.unwrap();
        assert_eq!(due - now, Duration::from_secs(1));
    }

    #[test]
    fn a_dropped_key_forgets_its_failures_and_schedules_nothing() {
        let now = Instant::now();
        let mut q = queue(0);
        q.trigger(key("a"), "change", Priority::Live, now);
        q.pop(now).unwrap();
        q.finish(&key("a"), Finish::Failure { at_least: None }, now, "retry");
        q.pop(now + ms(5)).unwrap();
        let r = q.finish(&key("a"), Finish::Dropped, now + ms(5), "none");
        assert_eq!((r.due, q.failures(&key("a"))), (None, 0));
    }

    #[test]
    fn due_live_keys_are_popped_before_due_resync_keys() {
        let now = Instant::now();
        let mut q = queue(0);
        for i in 0..100 {
            q.trigger(key(&format!("old{i}")), "relist", Priority::Resync, now);
        }
        q.trigger(key("fresh"), "change", Priority::Live, now + ms(1));
        // A live trigger lifts a waiting resync entry.
        q.trigger(key("old50"), "change", Priority::Live, now + ms(1));
        let order: Vec<String> = std::iter::from_fn(|| q.pop(now + ms(1))).map(|r| r.key.name).collect();
        assert_eq!(order.len(), 101);
        assert_eq!(&order[..2], ["old50", "fresh"], "live first, in due order");
        assert_eq!(order[2], "old0", "then resync, in trigger order");
    }

    #[test]
    fn live_keys_requeued_at_once_do_not_starve_resync_keys() {
        let now = Instant::now();
        let mut q = queue(8);
        for i in 0..1000 {
            q.trigger(key(&format!("old{i}")), "relist", Priority::Resync, now);
        }
        for i in 0..8 {
            q.trigger(key(&format!("hot{i}")), "change", Priority::Live, now);
        }
        // Workers finish every key at once and requeue the hot ones right away (as a reconcile
        // returning `Action::requeue` of a millisecond does under load).
        let mut resynced = 0;
        let mut live_runs = 0;
        for step in 0..2_000u64 {
            let at = now + ms(step);
            let popped: Vec<_> = std::iter::from_fn(|| q.pop(at)).collect();
            for r in popped {
                if r.key.name.starts_with("old") {
                    resynced += 1;
                    q.finish(&r.key, Finish::Success { requeue_after: None }, at, "done");
                } else {
                    live_runs += 1;
                    q.finish(&r.key, Finish::Success { requeue_after: Some(Duration::ZERO) }, at, "again");
                }
            }
        }
        assert_eq!(resynced, 1000, "every resync key ran");
        assert!(live_runs >= 4 * 1000, "live keys kept most turns: {live_runs}");
    }
}
