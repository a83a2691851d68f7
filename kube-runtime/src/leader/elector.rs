//! The elector: one loop that acquires the Lease, renews it every retry period, steps down when
//! renewal has not succeeded within the renew deadline, and releases it on shutdown.

use std::{future::Future, pin::pin, time::Duration};

use k8s_openapi::api::coordination::v1::Lease;
use kube_client::{Api, api::PostParams};
use kube_core::ObjectMeta;
use tokio::{
    sync::watch,
    time::{Instant, sleep_until, timeout_at},
};

use super::{
    Config, Error, Leadership,
    record::{self, Observed},
};

/// A candidate for leadership on one Lease.
///
/// ```no_run
/// # async fn run(client: kube_client::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use k8s_openapi::api::coordination::v1::Lease;
/// use kube_client::Api;
/// use kube_runtime::leader::{Config, LeaderElector};
///
/// let elector = LeaderElector::new(Api::<Lease>::namespaced(client, "operators"), Config::new("my-operator"))?;
/// let leadership = elector.leadership();
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// // Runs until told to stop, then gives the lease up so the next candidate takes over at once.
/// let election = tokio::spawn(elector.run(async { let _ = stopped.await; }));
/// leadership.lead(async { /* only the leader does this */ }).await;
/// let _ = stop.send(());
/// election.await??;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LeaderElector {
    api: Api<Lease>,
    config: Config,
    tx: watch::Sender<bool>,
}

/// What one try to acquire or renew found.
enum Attempt {
    /// We hold the lease (created, taken over or renewed).
    Held,
    /// Someone else holds it until this local instant.
    HeldByOther(Instant),
    /// Another candidate wrote first (409): not an error.
    Conflict,
    /// The API failed or did not answer in time.
    Failed,
}

/// Publishes `false` when the elector's loop ends for any reason, its task dropped included.
struct StepDownOnDrop<'a>(&'a watch::Sender<bool>);

impl Drop for StepDownOnDrop<'_> {
    fn drop(&mut self) {
        self.0.send_if_modified(|leading| std::mem::replace(leading, false));
    }
}

impl LeaderElector {
    /// A candidate on the Lease `config.lease_name` in the namespace of `api`; fails when the
    /// settings break client-go's rules (see [`Config::validate`]).
    pub fn new(api: Api<Lease>, config: Config) -> Result<Self, Error> {
        config.validate()?;
        let (tx, _) = watch::channel(false);
        Ok(Self { api, config, tx })
    }

    /// This candidate's identity.
    pub fn identity(&self) -> &str {
        &self.config.identity
    }

    /// The leadership state this elector publishes.
    pub fn leadership(&self) -> Leadership {
        Leadership::new(self.tx.subscribe())
    }

    /// Takes part in the election until `shutdown` completes, then steps down and, when leading,
    /// releases the lease (empty holder, one-second duration) so the next candidate takes over
    /// at its next try. Losing leadership does not end the loop: the elector becomes a candidate
    /// again. Dropping the future instead steps down locally without releasing: the others then
    /// wait for the lease to expire.
    ///
    /// API failures and conflicts are logged and retried; the only error is a failed release.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let guard = StepDownOnDrop(&self.tx);
        let mut state = State { observed: None, renewed: None };
        let mut shutdown = pin!(shutdown);
        tokio::select! {
            () = &mut shutdown => {}
            never = self.elect(&mut state) => match never {},
        }
        drop(guard);
        // Also when not leading: a write cancelled by the shutdown may have made us the holder.
        self.release().await
    }

    async fn elect(&self, state: &mut State) -> std::convert::Infallible {
        let retry = self.config.retry_period;
        loop {
            let start = Instant::now();
            // A leader's try must end by its deadline; a candidate's within the renew deadline.
            let deadline = state
                .renewed
                .map_or(start + self.config.renew_deadline, |at| at + self.config.renew_deadline);
            let attempt =
                timeout_at(deadline, self.try_acquire_or_renew(state)).await.unwrap_or(Attempt::Failed);
            let next = match attempt {
                Attempt::Held => {
                    if state.renewed.is_none() {
                        tracing::info!(lease = %self.config.lease_name, identity = %self.config.identity, "acquired leadership");
                        self.tx.send_replace(true);
                    }
                    // Measured from the request's start: the others' clocks started later.
                    state.renewed = Some(start);
                    start + retry
                }
                Attempt::HeldByOther(expires) => {
                    self.step_down(state, "the lease is held by another candidate");
                    // Wake at the expiry if it comes before the next regular try.
                    (Instant::now() + jittered(retry)).min(expires)
                }
                Attempt::Conflict | Attempt::Failed => Instant::now() + jittered(retry),
            };
            match state.renewed {
                Some(renewed) => {
                    let deadline = renewed + self.config.renew_deadline;
                    sleep_until(next.min(deadline)).await;
                    if Instant::now() >= deadline {
                        self.step_down(state, "the lease was not renewed within the renew deadline");
                    }
                }
                None => sleep_until(next).await,
            }
        }
    }

    fn step_down(&self, state: &mut State, why: &str) {
        if state.renewed.take().is_some() {
            tracing::warn!(lease = %self.config.lease_name, identity = %self.config.identity, "lost leadership: {why}");
            self.tx.send_replace(false);
        }
    }

    async fn try_acquire_or_renew(&self, state: &mut State) -> Attempt {
        let name = &self.config.lease_name;
        let current = match self.api.get_opt(name).await {
            Ok(current) => current,
            Err(e) => {
                tracing::warn!(lease = %name, error = %e, "failed to read the lease");
                return Attempt::Failed;
            }
        };
        let now = Instant::now();
        let wall = jiff::Timestamp::now();
        let Some(mut lease) = current else {
            let spec = record::claim(None, &self.config.identity, self.config.lease_seconds(), wall);
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    labels: (!self.config.labels.is_empty()).then(|| self.config.labels.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(spec),
            };
            return self.written(self.api.create(&PostParams::default(), &lease).await, state);
        };
        let spec = lease.spec.take().unwrap_or_default();
        let observed = Observed::update(state.observed.take(), &spec, now);
        let held = observed.held_by_other(&self.config.identity, self.config.lease_duration, now);
        state.observed = Some(observed);
        if let Some(expires) = held {
            return Attempt::HeldByOther(expires);
        }
        lease.spec =
            Some(record::claim(Some(&spec), &self.config.identity, self.config.lease_seconds(), wall));
        // The resourceVersion in `lease` makes this a compare-and-swap.
        self.written(self.api.replace(name, &PostParams::default(), &lease).await, state)
    }

    fn written(&self, result: Result<Lease, kube_client::Error>, state: &mut State) -> Attempt {
        match result {
            Ok(lease) => {
                let spec = lease.spec.unwrap_or_default();
                state.observed = Some(Observed { spec, at: Instant::now() });
                Attempt::Held
            }
            Err(e) if e.is_conflict() => {
                tracing::debug!(lease = %self.config.lease_name, "another candidate wrote the lease first");
                Attempt::Conflict
            }
            Err(e) => {
                tracing::warn!(lease = %self.config.lease_name, error = %e, "failed to write the lease");
                Attempt::Failed
            }
        }
    }

    /// Gives the lease up if we still hold it. A conflict means the lease changed since we read
    /// it, possibly by our own renewal that the shutdown cut short but the server still applied:
    /// read it again, and release only while we are the holder.
    async fn release(&self) -> Result<(), Error> {
        let name = &self.config.lease_name;
        let fail = |source| Error::Release { lease: name.clone(), source: Box::new(source) };
        for _ in 0..RELEASE_ATTEMPTS {
            let Some(mut lease) = self.api.get_opt(name).await.map_err(fail)? else { return Ok(()) };
            let spec = lease.spec.take().unwrap_or_default();
            if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
                return Ok(());
            }
            lease.spec = Some(record::release(&spec, jiff::Timestamp::now()));
            match self.api.replace(name, &PostParams::default(), &lease).await {
                Ok(_) => {
                    tracing::info!(lease = %name, identity = %self.config.identity, "released leadership");
                    return Ok(());
                }
                Err(e) if e.is_conflict() => {
                    tracing::debug!(lease = %name, "the lease changed while releasing it; reading it again");
                }
                Err(e) => return Err(fail(e)),
            }
        }
        // Still ours after every try: the others take over when it expires.
        tracing::warn!(lease = %name, identity = %self.config.identity, "gave up releasing the lease after {RELEASE_ATTEMPTS} conflicts");
        Ok(())
    }
}

/// How many conflicts a release reads through before leaving the lease to expire.
const RELEASE_ATTEMPTS: usize = 5;

/// What the loop remembers between tries.
struct State {
    observed: Option<Observed>,
    /// While leading: when the last successful acquire or renew request started.
    renewed: Option<Instant>,
}

/// The retry period shortened by up to a tenth, so candidates do not try in lockstep (never
/// lengthened: a free lease is taken within one retry period).
fn jittered(retry: Duration) -> Duration {
    retry.mul_f64(1.0 - rand::random::<f64>() * 0.1)
}
