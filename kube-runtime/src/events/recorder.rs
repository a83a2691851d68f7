//! The recorder: a handle that queues occurrences without ever blocking, and a background worker
//! that folds them into series and writes them, retrying what the API refuses for a while.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use k8s_openapi::api::{core::v1::ObjectReference, events::v1 as api};
use kube_client::{
    Api, Client,
    api::{Patch, PatchParams, PostParams},
};
use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};

use super::{
    Event, Reporter, event,
    series::{SeriesCache, Timing, Write},
};

/// How the recorder queues, retries and aggregates. The defaults are client-go's.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Occurrences waiting to be written; more are dropped (and counted). Default 1000.
    pub queue: usize,
    /// Tries per write when the API fails or throttles (5xx, 429, transport). Default 12.
    pub max_tries: u32,
    /// Every series is written again this often, with its current count. Default 30 min.
    pub heartbeat: Duration,
    /// A series without occurrences for this long is written a final time and forgotten; the
    /// next occurrence starts a new Event. Default 6 min.
    pub finish_after: Duration,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        Self {
            queue: 1000,
            max_tries: 12,
            heartbeat: Duration::from_secs(30 * 60),
            finish_after: Duration::from_secs(6 * 60),
        }
    }
}

enum Command {
    Publish(Box<Occurrence>),
    Flush(oneshot::Sender<()>),
}

struct Occurrence {
    event: Event,
    regarding: ObjectReference,
    wall: jiff::Timestamp,
    at: Instant,
}

/// Records `events.k8s.io/v1` Events about objects, as client-go's `tools/events` does.
///
/// [`publish`](Self::publish) never blocks and never fails: occurrences go to a bounded queue
/// and a background task writes them. Occurrences that agree on type, action, reason, reporter,
/// regarding and related object (not on the note) are one series: the first creates an Event,
/// the second patches its `series` (count 2), later ones are counted in memory and written on a
/// heartbeat, when the series goes idle, or on [`flush`](Self::flush). So a hot loop costs two
/// writes, not one per occurrence. Occurrences are dropped, with a warning and counted in
/// [`dropped`](Self::dropped), when the queue is full or the API refuses them.
///
/// ```no_run
/// # async fn run(client: kube_client::Client, cm: k8s_openapi::api::core::v1::ConfigMap) {
/// use kube_runtime::events::{Event, Recorder, Reporter, reference};
///
/// let recorder = Recorder::new(client, Reporter::new("example.com/my-operator"));
/// recorder.publish(Event::normal("Synced", "Reconcile").note("all replicas ready"), &reference(&cm, &()));
/// recorder.flush().await; // e.g. before exiting
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Command>,
    dropped: Arc<AtomicU64>,
}

impl Recorder {
    /// A recorder with client-go's defaults; its worker is spawned on the current tokio runtime
    /// and ends when the last clone of the recorder is dropped (after writing pending counts).
    pub fn new(client: Client, reporter: Reporter) -> Self {
        Self::with_config(client, reporter, RecorderConfig::default())
    }

    /// A recorder with other settings.
    pub fn with_config(client: Client, reporter: Reporter, config: RecorderConfig) -> Self {
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let timing = Timing { heartbeat: config.heartbeat, finish_after: config.finish_after };
        let worker = Worker {
            client,
            reporter,
            max_tries: config.max_tries.max(1),
            cache: SeriesCache::new(timing, Instant::now()),
            dropped: dropped.clone(),
        };
        let tick = config.heartbeat.min(config.finish_after).div_f64(6.0).max(Duration::from_millis(100));
        tokio::spawn(worker.run(rx, tick));
        Self { tx, dropped }
    }

    /// Queues one occurrence of `event` about `regarding` (see [`reference`](super::reference)).
    pub fn publish(&self, event: Event, regarding: &ObjectReference) {
        let occurrence = Occurrence {
            event,
            regarding: regarding.clone(),
            wall: jiff::Timestamp::now(),
            at: Instant::now(),
        };
        if self.tx.try_send(Command::Publish(Box::new(occurrence))).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(dropped = n, "event queue full; event dropped");
        }
    }

    /// Waits until everything published before is written, including series counts not written
    /// yet.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.tx.send(Command::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    /// How many occurrences were dropped (queue full, or refused by the API).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

struct Worker {
    client: Client,
    reporter: Reporter,
    max_tries: u32,
    cache: SeriesCache,
    dropped: Arc<AtomicU64>,
}

impl Worker {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>, tick: Duration) {
        let mut ticks = tokio::time::interval(tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = rx.recv() => match command {
                    Some(Command::Publish(o)) => {
                        let key = event::series_key(&o.event, &self.reporter, &o.regarding);
                        let build = || event::build(&o.event, &self.reporter, &o.regarding, o.wall);
                        if let Some(write) = self.cache.observe(key, build, o.wall, o.at) {
                            self.write(write).await;
                        }
                    }
                    Some(Command::Flush(done)) => {
                        for write in self.cache.flush() {
                            self.write(write).await;
                        }
                        let _ = done.send(());
                    }
                    None => break,
                },
                _ = ticks.tick() => {
                    for write in self.cache.due(Instant::now()) {
                        self.write(write).await;
                    }
                }
            }
        }
        for write in self.cache.flush() {
            self.write(write).await;
        }
    }

    /// Sends one write, retrying failures that may pass (throttling, server errors, transport)
    /// with a backoff from 200 ms to 10 s; gives up with a counted warning.
    async fn write(&self, write: Write) {
        let mut delay = Duration::from_millis(200);
        for attempt in 1..=self.max_tries {
            let error = match self.write_once(&write).await {
                Ok(()) => return,
                Err(e) => e,
            };
            if attempt == self.max_tries || !may_pass(&error) {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(error = %error, attempt, dropped = n, "failed to write an event; dropped");
                return;
            }
            tracing::debug!(error = %error, attempt, "failed to write an event; retrying");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    async fn write_once(&self, write: &Write) -> Result<(), kube_client::Error> {
        match write {
            Write::Create(event) => self.create(event).await,
            Write::Series { event, series } => {
                let name = event.metadata.name.as_deref().unwrap_or_default();
                let patch = serde_json::json!({ "series": series });
                match self.api(event).patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                    Ok(_) => Ok(()),
                    // Expired (Events live an hour) or deleted: write it anew with its series.
                    Err(e) if e.is_not_found() => {
                        let mut event = event.clone();
                        event.series = Some(series.clone());
                        event.metadata.resource_version = None;
                        self.create(&event).await
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    async fn create(&self, event: &api::Event) -> Result<(), kube_client::Error> {
        match self.api(event).create(&PostParams::default(), event).await {
            // Already there: an earlier try succeeded although its answer was lost.
            Err(e) if e.is_conflict() => Ok(()),
            other => other.map(drop),
        }
    }

    fn api(&self, event: &api::Event) -> Api<api::Event> {
        Api::namespaced(self.client.clone(), event.metadata.namespace.as_deref().unwrap_or("default"))
    }
}

/// Whether a failed write may succeed when tried again.
fn may_pass(error: &kube_client::Error) -> bool {
    match error {
        kube_client::Error::Api(status) => status.code == 429 || status.code >= 500,
        kube_client::Error::Transport { .. } | kube_client::Error::Timeout { .. } => true,
        _ => false,
    }
}
