//! The run loop: feeds input triggers into the scheduler, starts reconciles on free workers,
//! and yields each reconcile's outcome.

use std::{any::Any, future::Future, panic::AssertUnwindSafe, sync::Arc, time::Duration};

use futures::{
    FutureExt, StreamExt,
    future::BoxFuture,
    stream::{BoxStream, FuturesUnordered, SelectAll},
};
use tokio::{sync::watch, time::Instant};
use tracing::Instrument;

use super::{Action, Error, Observe, Reason, ReconcileResult, input::Trigger};
use crate::{
    reflector::{Cacheable, ObjectRef, Store},
    scheduler::{Finish, Scheduler},
    watcher,
};

/// The outcome of one reconcile (or a reported input error), as the run stream yields it.
pub type Outcome<E> = Result<(ObjectRef, Action), Error<E>>;

/// How one reconcile ended.
pub(crate) enum Ended<E> {
    Done(Result<Action, E>),
    Panicked(String),
    TimedOut(Duration),
}

pub(crate) struct Done<K, E> {
    key: ObjectRef,
    obj: Arc<K>,
    ended: Ended<E>,
    took: Duration,
}

/// What the loop waits for before reconciling: every input's store synced.
pub(crate) struct Readiness {
    pub(crate) wait: BoxFuture<'static, ()>,
    pub(crate) pending: Box<dyn Fn() -> Vec<String> + Send>,
    pub(crate) timeout: Duration,
    /// When the timeout runs out; set when the run stream is first polled.
    pub(crate) deadline: Option<Instant>,
}

/// Everything the run loop owns.
pub(crate) struct Run<K, Ctx, E, R, P> {
    pub(crate) store: Store<K>,
    pub(crate) scheduler: Scheduler<Reason>,
    pub(crate) triggers: SelectAll<BoxStream<'static, Trigger>>,
    pub(crate) events: SelectAll<BoxStream<'static, Result<(), Box<watcher::Error>>>>,
    pub(crate) readiness: Option<Readiness>,
    pub(crate) gate: Option<watch::Receiver<bool>>,
    /// Set when the gate's sender is gone: its last value stays.
    pub(crate) gate_closed: bool,
    pub(crate) shutdown: Option<BoxFuture<'static, ()>>,
    pub(crate) grace: Duration,
    pub(crate) reconcile_timeout: Option<Duration>,
    pub(crate) observe: Arc<dyn Observe>,
    pub(crate) reconcile: R,
    pub(crate) error_policy: P,
    pub(crate) context: Arc<Ctx>,
    pub(crate) running: FuturesUnordered<BoxFuture<'static, Done<K, E>>>,
    pub(crate) stopping: Option<Instant>,
    pub(crate) ended: bool,
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

impl<K, Ctx, E, R, F, P> Run<K, Ctx, E, R, P>
where
    K: Cacheable,
    Ctx: Send + Sync + 'static,
    E: std::error::Error + Send + 'static,
    R: FnMut(Arc<K>, Arc<Ctx>) -> F + Send + 'static,
    F: Future<Output = Result<Action, E>> + Send + 'static,
    P: FnMut(Arc<K>, &E, Arc<Ctx>) -> Action + Send + 'static,
{
    fn gate_open(&self) -> bool {
        self.gate.as_ref().is_none_or(|g| *g.borrow())
    }

    /// Starts every due key a worker is free for.
    fn start_due(&mut self) {
        let now = Instant::now();
        while let Some(ready) = self.scheduler.pop(now) {
            let key = ready.key;
            // The latest state, read as the reconcile starts; gone means nothing to reconcile.
            let Some(obj) = self.store.get(&key) else {
                tracing::debug!(object = %key, "skipping a key whose object is gone");
                self.scheduler.finish(&key, Finish::Dropped, now, Reason::Requeue);
                continue;
            };
            self.observe.dequeued(&key, ready.waited);
            self.observe.reconcile_started(&key);
            let span = tracing::info_span!(
                "reconcile",
                object = %key,
                reason = %ready.reason,
                triggers = ready.triggers,
                failures = ready.failures,
            );
            let fut = (self.reconcile)(obj.clone(), self.context.clone());
            let timeout = self.reconcile_timeout;
            let done = async move {
                let started = Instant::now();
                let guarded = AssertUnwindSafe(fut).catch_unwind();
                let ended = match timeout {
                    Some(after) => match tokio::time::timeout(after, guarded).await {
                        Ok(r) => r.map_or_else(|p| Ended::Panicked(panic_message(&*p)), Ended::Done),
                        Err(_) => Ended::TimedOut(after),
                    },
                    None => guarded.await.map_or_else(|p| Ended::Panicked(panic_message(&*p)), Ended::Done),
                };
                Done { key, obj, ended, took: started.elapsed() }
            }
            .instrument(span);
            self.running.push(done.boxed());
        }
        self.observe.depth(self.scheduler.depth());
        self.observe.active_workers(self.scheduler.running());
    }

    /// Books a finished reconcile into the scheduler and turns it into an outcome.
    fn complete(&mut self, done: Done<K, E>) -> Outcome<E> {
        let Done { key, obj, ended, took } = done;
        let now = Instant::now();
        let failures = self.scheduler.failures(&key) + 1;
        let (result, finish, outcome) = match ended {
            Ended::Done(Ok(action)) => {
                let result = if action.requeue_after().is_some() {
                    ReconcileResult::Requeue
                } else {
                    ReconcileResult::Success
                };
                let finish = Finish::Success { requeue_after: action.requeue_after() };
                (result, finish, Ok((key.clone(), action)))
            }
            Ended::Done(Err(e)) => {
                let policy = AssertUnwindSafe(|| (self.error_policy)(obj, &e, self.context.clone()));
                let action = std::panic::catch_unwind(policy).unwrap_or_else(|_| Action::await_change());
                let finish = Finish::Failure { at_least: action.requeue_after() };
                (ReconcileResult::Error, finish, Err(Error::Reconcile { object: key.clone(), source: e }))
            }
            Ended::Panicked(message) => {
                tracing::error!(object = %key, %message, "reconcile panicked");
                let finish = Finish::Failure { at_least: None };
                (ReconcileResult::Panic, finish, Err(Error::Panicked { object: key.clone(), message }))
            }
            Ended::TimedOut(after) => {
                let finish = Finish::Failure { at_least: None };
                (ReconcileResult::Timeout, finish, Err(Error::TimedOut { object: key.clone(), after }))
            }
        };
        self.observe.reconcile_finished(&key, result, took);
        let reason = if result.is_failure() { Reason::Retry { failures } } else { Reason::Requeue };
        let rescheduled = self.scheduler.finish(&key, finish, now, reason);
        if rescheduled.retry {
            self.observe.retried(&key);
        }
        outcome
    }

    /// The next outcome; `None` when the controller has stopped.
    pub(crate) async fn next(&mut self) -> Option<Outcome<E>> {
        loop {
            if self.ended {
                return None;
            }
            if let Some(deadline) = self.stopping {
                if self.running.is_empty() {
                    self.ended = true;
                    return None;
                }
                tokio::select! {
                    Some(done) = self.running.next() => return Some(self.complete(done)),
                    () = tokio::time::sleep_until(deadline) => {
                        tracing::warn!(running = self.running.len(), "shutdown grace period over; cancelling reconciles");
                        self.ended = true;
                        return None;
                    }
                }
            }
            let reconciling = self.readiness.is_none() && self.gate_open();
            if reconciling {
                self.start_due();
            }
            // With every worker busy, a due key waits for a reconcile to end, not for a timer.
            let next_due =
                if reconciling && !self.scheduler.is_full() { self.scheduler.next_due() } else { None };
            if let Some(r) = self.readiness.as_mut() {
                r.deadline.get_or_insert_with(|| Instant::now() + r.timeout);
            }
            let Self { triggers, events, readiness, gate, gate_closed, shutdown, running, scheduler, .. } =
                self;
            tokio::select! {
                biased;
                () = async { match shutdown.as_mut() { Some(s) => s.await, None => futures::future::pending().await } } => {
                    tracing::info!(running = running.len(), "controller shutting down");
                    *shutdown = None;
                    self.stopping = Some(Instant::now() + self.grace);
                }
                ok = async {
                    match readiness.as_mut() {
                        Some(r) => {
                            let deadline = r.deadline.unwrap_or_else(Instant::now);
                            tokio::time::timeout_at(deadline, &mut r.wait).await.is_ok()
                        }
                        None => futures::future::pending().await,
                    }
                } => {
                    let Some(r) = readiness.take() else { continue };
                    if !ok {
                        self.ended = true;
                        return Some(Err(Error::NotReady { timeout: r.timeout, waiting: (r.pending)() }));
                    }
                    tracing::debug!("every store is synced; reconciling");
                }
                Some(done) = running.next(), if !running.is_empty() => return Some(self.complete(done)),
                Some(trigger) = triggers.next() => {
                    self.observe.queued(&trigger.key, trigger.priority);
                    scheduler.trigger(trigger.key, trigger.reason, trigger.priority, Instant::now());
                }
                Some(event) = events.next() => {
                    if let Err(e) = event {
                        tracing::warn!(error = %e, "an input's watch failed; its watcher retries");
                        return Some(Err(Error::Watch(e)));
                    }
                }
                changed = async { match gate.as_mut() { Some(g) => g.changed().await.is_ok(), None => futures::future::pending().await } }, if !*gate_closed => {
                    if !changed {
                        tracing::debug!("the controller's gate sender is gone; its last value stays");
                        *gate_closed = true;
                    }
                }
                () = async { match next_due { Some(at) => tokio::time::sleep_until(at).await, None => futures::future::pending().await } } => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    };

    use futures::{Stream, StreamExt};
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube_core::ResourceExt;

    use super::*;
    use crate::{
        controller::Controller,
        reflector::{self, Writer},
        watcher::Event,
    };

    #[derive(Debug, thiserror::Error)]
    #[error("failed on purpose")]
    struct Failed;

    fn cm(name: &str, rv: u32) -> ConfigMap {
        let mut c = ConfigMap::default();
        c.metadata.name = Some(name.into());
        c.metadata.namespace = Some("ns".into());
        c.metadata.resource_version = Some(rv.to_string());
        c
    }

    fn synced(names: &[&str]) -> (Store<ConfigMap>, Writer<ConfigMap>) {
        let (store, mut w) = reflector::store();
        w.apply(&Event::Init);
        for n in names {
            w.apply(&Event::InitApply(cm(n, 1)));
        }
        w.apply(&Event::InitDone);
        (store, w)
    }

    fn key(name: &str) -> ObjectRef {
        ObjectRef::new(name).within("ns")
    }

    fn never(_: Arc<ConfigMap>, _: &Failed, _: Arc<impl Send + Sync>) -> Action {
        Action::await_change()
    }

    async fn take<E: std::error::Error + 'static>(
        stream: &mut (impl Stream<Item = Outcome<E>> + Unpin),
        n: usize,
    ) -> Vec<Outcome<E>> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(stream.next().await.expect("the controller ended early"));
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_key_backs_off_exponentially_and_a_success_resets_it() {
        let (store, mut w) = synced(&["a"]);
        let calls: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let reconcile = |_: Arc<ConfigMap>, calls: Arc<Mutex<Vec<Instant>>>| async move {
            let n = {
                let mut c = calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                c.push(Instant::now());
                c.len()
            };
            if n <= 3 || n == 5 { Err(Failed) } else { Ok(Action::await_change()) }
        };
        let mut run = Box::pin(Controller::for_store(store).run(reconcile, never, calls.clone()));
        let first = take(&mut run, 4).await;
        assert!(first[..3].iter().all(Result::is_err) && first[3].is_ok());
        w.apply(&Event::Apply(cm("a", 2)));
        let second = take(&mut run, 2).await;
        assert!(second[0].is_err() && second[1].is_ok());
        let t = calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let gaps: Vec<Duration> = t.windows(2).map(|w| w[1] - w[0]).collect();
        let ms = Duration::from_millis;
        assert_eq!(&gaps[..3], [ms(5), ms(10), ms(20)], "5 ms doubling");
        assert_eq!(gaps[4], ms(5), "reset by the success");
    }

    /// Counts reconciles running at once, per key and overall.
    #[derive(Default)]
    struct Concurrency {
        now: AtomicUsize,
        max: AtomicUsize,
        per_key: Mutex<ahash::AHashMap<String, usize>>,
        max_per_key: AtomicUsize,
        runs: AtomicUsize,
    }

    impl Concurrency {
        async fn enter(&self, name: String, hold: Duration) {
            self.runs.fetch_add(1, Ordering::SeqCst);
            let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.max.fetch_max(n, Ordering::SeqCst);
            let per = {
                let mut m = self.per_key.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let e = m.entry(name.clone()).or_default();
                *e += 1;
                *e
            };
            self.max_per_key.fetch_max(per, Ordering::SeqCst);
            tokio::time::sleep(hold).await;
            *self
                .per_key
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(name)
                .or_default() -= 1;
            self.now.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn triggers_while_running_lead_to_one_more_reconcile_never_two_at_once() {
        let (store, mut w) = synced(&["a"]);
        let stats = Arc::new(Concurrency::default());
        let reconcile = |obj: Arc<ConfigMap>, s: Arc<Concurrency>| async move {
            s.enter(obj.name_any(), Duration::from_millis(100)).await;
            Ok::<_, Failed>(Action::await_change())
        };
        let mut run = Box::pin(Controller::for_store(store).run(reconcile, never, stats.clone()));
        let pump = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            w.apply(&Event::Apply(cm("a", 2)));
            w.apply(&Event::Apply(cm("a", 3)));
        };
        let (outcomes, ()) = tokio::join!(take(&mut run, 2), pump);
        assert!(outcomes.iter().all(Result::is_ok));
        // Nothing else comes: exactly one more reconcile.
        let more = tokio::time::timeout(Duration::from_secs(60), run.next()).await;
        assert!(more.is_err(), "no third reconcile");
        assert_eq!(stats.runs.load(Ordering::SeqCst), 2);
        assert_eq!(stats.max_per_key.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn two_hundred_keys_under_concurrency_four_never_exceed_four() {
        let names: Vec<String> = (0..200).map(|i| format!("k{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let (store, _w) = synced(&refs);
        let stats = Arc::new(Concurrency::default());
        let reconcile = |obj: Arc<ConfigMap>, s: Arc<Concurrency>| async move {
            s.enter(obj.name_any(), Duration::from_millis(7)).await;
            Ok::<_, Failed>(Action::await_change())
        };
        let mut run =
            Box::pin(Controller::for_store(store).concurrency(4).run(reconcile, never, stats.clone()));
        let outcomes = take(&mut run, 200).await;
        assert!(outcomes.iter().all(Result::is_ok));
        assert_eq!(stats.max.load(Ordering::SeqCst), 4);
        assert_eq!(stats.runs.load(Ordering::SeqCst), 200);
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_reconcile_is_an_error_for_its_key_and_the_controller_lives_on() {
        let (store, mut w) = synced(&["boom", "fine"]);
        let reconcile = |obj: Arc<ConfigMap>, _: Arc<()>| async move {
            if obj.name_any() == "boom" {
                panic!("reconcile exploded");
            }
            Ok::<_, Failed>(Action::await_change())
        };
        let mut run = Box::pin(Controller::for_store(store).run(reconcile, never, Arc::new(())));
        let mut outcomes = take(&mut run, 2).await;
        w.apply(&Event::Apply(cm("fine", 2)));
        outcomes.extend(take(&mut run, 2).await);
        let panics = outcomes
            .iter()
            .filter(|o| matches!(o, Err(Error::Panicked { object, message }) if *object == key("boom") && message == "reconcile exploded"))
            .count();
        let fine = outcomes.iter().filter(|o| matches!(o, Ok((k, _)) if *k == key("fine"))).count();
        assert_eq!((panics, fine), (2, 2), "retried after backoff, and the other key goes on: {outcomes:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_lets_a_running_reconcile_finish_and_starts_no_new_one() {
        let (store, mut w) = synced(&["a"]);
        let stats = Arc::new(Concurrency::default());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let reconcile = |obj: Arc<ConfigMap>, s: Arc<Concurrency>| async move {
            s.enter(obj.name_any(), Duration::from_secs(5)).await;
            Ok::<_, Failed>(Action::requeue(Duration::from_millis(1)))
        };
        let run = Controller::for_store(store)
            .shutdown_on(async move {
                let _ = stop_rx.await;
            })
            .run(reconcile, never, stats.clone());
        let driver = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            stop_tx.send(()).ok();
            tokio::time::sleep(Duration::from_millis(10)).await;
            w.apply(&Event::Apply(cm("b", 2)));
        };
        let (outcomes, ()) = tokio::join!(run.collect::<Vec<_>>(), driver);
        assert_eq!(outcomes.len(), 1, "the running reconcile finished, then the stream ended");
        assert!(matches!(&outcomes[0], Ok((k, _)) if *k == key("a")));
        assert_eq!(stats.runs.load(Ordering::SeqCst), 1, "neither the requeue nor b started");
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_cancels_reconciles_past_the_grace_period() {
        let (store, _w) = synced(&["a"]);
        let reconcile = |_: Arc<ConfigMap>, _: Arc<()>| async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<_, Failed>(Action::await_change())
        };
        let started = Instant::now();
        let outcomes: Vec<_> = Controller::for_store(store)
            .shutdown_on(tokio::time::sleep(Duration::from_secs(1)))
            .shutdown_grace(Duration::from_secs(2))
            .run(reconcile, never, Arc::new(()))
            .collect()
            .await;
        assert!(outcomes.is_empty());
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn the_gate_holds_reconciles_back_while_shut() {
        let (store, _w) = synced(&["a"]);
        let (gate_tx, gate) = watch::channel(false);
        let reconcile =
            |_: Arc<ConfigMap>, _: Arc<()>| async move { Ok::<_, Failed>(Action::await_change()) };
        let mut run = Box::pin(Controller::for_store(store).gate(gate).run(reconcile, never, Arc::new(())));
        let held = tokio::time::timeout(Duration::from_secs(60), run.next()).await;
        assert!(held.is_err(), "nothing while the gate is shut");
        gate_tx.send_replace(true);
        assert!(matches!(run.next().await, Some(Ok((k, _))) if k == key("a")));
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_that_never_syncs_is_a_clear_error_after_the_timeout() {
        let (store, _w) = reflector::store::<ConfigMap>();
        let reconcile =
            |_: Arc<ConfigMap>, _: Arc<()>| async move { Ok::<_, Failed>(Action::await_change()) };
        let outcomes: Vec<_> = Controller::for_store(store)
            .readiness_timeout(Duration::from_secs(5))
            .run(reconcile, never, Arc::new(()))
            .collect()
            .await;
        assert_eq!(outcomes.len(), 1);
        let Err(e) = &outcomes[0] else { panic!("expected an error, got {outcomes:?}") };
        assert_eq!(e.to_string(), "stores not synced after 5s: primary ConfigMap");
    }

    #[tokio::test(start_paused = true)]
    async fn a_reconcile_past_its_timeout_is_an_error_and_retried() {
        let (store, _w) = synced(&["a"]);
        let runs = Arc::new(AtomicUsize::new(0));
        let reconcile = |_: Arc<ConfigMap>, runs: Arc<AtomicUsize>| async move {
            if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_secs(10)).await;
            }
            Ok::<_, Failed>(Action::await_change())
        };
        let mut run = Box::pin(
            Controller::for_store(store)
                .reconcile_timeout(Duration::from_secs(1))
                .run(reconcile, never, runs),
        );
        let outcomes = take(&mut run, 2).await;
        assert!(
            matches!(&outcomes[0], Err(Error::TimedOut { after, .. }) if *after == Duration::from_secs(1))
        );
        assert!(outcomes[1].is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_deleted_object_is_not_reconciled_with_old_data() {
        let (store, mut w) = synced(&["a", "b"]);
        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let reconcile = |obj: Arc<ConfigMap>, seen: Arc<Mutex<Vec<(String, String)>>>| async move {
            let rv = obj.resource_version().unwrap_or_default();
            seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((obj.name_any(), rv));
            Ok::<_, Failed>(Action::await_change())
        };
        // Queue changes before the run starts: "a" is deleted, "b" changes twice.
        w.apply(&Event::Delete(cm("a", 2)));
        w.apply(&Event::Apply(cm("b", 3)));
        w.apply(&Event::Apply(cm("b", 4)));
        let mut run = Box::pin(Controller::for_store(store).run(reconcile, never, seen.clone()));
        let outcomes = take(&mut run, 1).await;
        assert!(outcomes[0].is_ok());
        let more = tokio::time::timeout(Duration::from_secs(60), run.next()).await;
        assert!(more.is_err());
        let seen = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        assert_eq!(seen, [("b".to_string(), "4".to_string())], "only the latest state of b");
    }

    #[tokio::test(start_paused = true)]
    async fn external_triggers_reconcile_their_keys() {
        let (store, _w) = synced(&["a", "b"]);
        let reconcile =
            |_: Arc<ConfigMap>, _: Arc<()>| async move { Ok::<_, Failed>(Action::await_change()) };
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let rx = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|k| (k, rx)) });
        let mut run =
            Box::pin(Controller::for_store(store).reconcile_on(rx).run(reconcile, never, Arc::new(())));
        take(&mut run, 2).await;
        tx.send(key("b")).ok();
        assert!(matches!(run.next().await, Some(Ok((k, _))) if k == key("b")));
    }

    fn owned(name: &str, rv: u32, owner: &str) -> ConfigMap {
        let mut c = cm(name, rv);
        c.metadata.owner_references =
            Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                name: owner.into(),
                uid: format!("uid-{owner}"),
                controller: Some(true),
                block_owner_deletion: None,
            }]);
        c
    }

    #[tokio::test(start_paused = true)]
    async fn an_owned_object_triggers_its_old_and_new_owner_and_its_deletion_its_last_owner() {
        let (primary, _pw) = reflector::store::<ConfigMap>();
        let mut pw = _pw;
        pw.apply(&Event::Init);
        for p in ["p1", "p2"] {
            let mut c = cm(p, 1);
            c.metadata.uid = Some(format!("uid-{p}"));
            pw.apply(&Event::InitApply(c));
        }
        pw.apply(&Event::InitDone);
        let (children, mut cw) = reflector::store::<ConfigMap>();
        cw.apply(&Event::Init);
        cw.apply(&Event::InitApply(owned("c", 1, "p1")));
        cw.apply(&Event::InitDone);
        let reconcile =
            |_: Arc<ConfigMap>, _: Arc<()>| async move { Ok::<_, Failed>(Action::await_change()) };
        let controller =
            Controller::for_store(primary).owns_input(crate::controller::Input::shared(children));
        let mut run = Box::pin(controller.run(reconcile, never, Arc::new(())));
        let names = |o: Vec<Outcome<Failed>>| {
            let mut n: Vec<String> =
                o.into_iter().map(|o| o.map(|(k, _)| k.name).unwrap_or_default()).collect();
            n.sort();
            n
        };
        let mut start = names(take(&mut run, 2).await);
        // The child's initial trigger of p1 may come after p1's own reconcile: one more then.
        while let Ok(Some(o)) = tokio::time::timeout(Duration::from_secs(60), run.next()).await {
            start.extend(o.map(|(k, _)| k.name));
        }
        start.sort();
        start.dedup();
        assert_eq!(start, ["p1", "p2"]);
        cw.apply(&Event::Apply(owned("c", 2, "p2")));
        assert_eq!(names(take(&mut run, 2).await), ["p1", "p2"], "old and new owner");
        cw.apply(&Event::Delete(owned("c", 3, "p2")));
        assert_eq!(names(take(&mut run, 1).await), ["p2"], "the last owner");
        // An owner reference with another uid (a re-created owner) triggers nothing.
        let mut stale = owned("d", 4, "p1");
        if let Some(o) = stale.metadata.owner_references.as_mut().and_then(|v| v.first_mut()) {
            o.uid = "uid-old".into();
        }
        cw.apply(&Event::Apply(stale));
        let more = tokio::time::timeout(Duration::from_secs(60), run.next()).await;
        assert!(more.is_err(), "nothing for a stale owner reference");
    }
}
