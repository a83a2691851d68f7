//! Controller throughput and trigger-to-reconcile latency, ours next to kube-rs 5's
//! `Controller` in the same run, on the same bytes from the in-memory API server.
//!
//! Scenario, the same for both: 1,000 realistic Pods; a controller whose reconcile does no
//! API calls. Throughput: from the controller's start until every Pod has been reconciled
//! once (list, decode, cache, queue, reconcile). Latency: 100 updates per second for 10 s
//! (churn), each update stamped with the instant it is sent into the watch; the reconcile
//! records how long after that stamp it started. Also the process CPU time during the churn
//! (the mock server and load generator included, the same for both) and the heap the
//! controller keeps after its sync. Each is configured as its docs advise for memory: kube-rs
//! drops managedFields with `modify` before its store, ours cuts them before decoding.
//!
//! Run with `cargo bench -p kube-benches --bench controller`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube_benches::{
    mock::{LiveEvents, MockData, kube_rs_client, our_client},
    pods,
};
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

const PODS: usize = 1_000;
const PAGE: usize = 500;
const RATE: u64 = 100;
const CHURN: Duration = Duration::from_secs(10);
const ROUNDS: usize = 5;
const STAMP: &str = "bench.kube/sent-us";

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// What a reconcile records.
#[derive(Default)]
struct Record {
    reconciled: Mutex<HashSet<String>>,
    all_done: tokio::sync::Notify,
    latencies: Mutex<Vec<Duration>>,
    seen_stamps: Mutex<HashSet<(String, u64)>>,
}

impl Record {
    fn reconciled(&self, pod: &Pod) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let stamp =
            pod.metadata.annotations.as_ref().and_then(|a| a.get(STAMP)).and_then(|s| s.parse::<u64>().ok());
        if let Some(sent) = stamp {
            // One latency per update (a later reconcile of the same state is not a new trigger).
            if self.seen_stamps.lock().unwrap().insert((name.clone(), sent)) {
                let now = epoch().elapsed().as_micros() as u64;
                self.latencies.lock().unwrap().push(Duration::from_micros(now.saturating_sub(sent)));
            }
        }
        let mut done = self.reconciled.lock().unwrap();
        if done.insert(name) && done.len() == PODS {
            self.all_done.notify_one();
        }
    }
}

#[derive(Debug)]
struct Never;
impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("never")
    }
}
impl std::error::Error for Never {}

/// Sends `RATE` updates per second for `CHURN`, each stamped with its send instant.
async fn churn(live: LiveEvents) {
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    let updates = RATE * CHURN.as_secs();
    for k in 0..updates {
        tick.tick().await;
        let i = (k as usize * 7) % PODS;
        let mut pod = pods::pod(i, k + 1);
        let sent = epoch().elapsed().as_micros() as u64;
        pod["metadata"]["annotations"][STAMP] = serde_json::Value::String(sent.to_string());
        live.modified(&pod);
    }
}

fn cpu_seconds() -> f64 {
    // utime + stime of this process, in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

struct Figures {
    throughput: f64,
    p50: Duration,
    p99: Duration,
    cpu: f64,
    heap: usize,
    updates: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs one scenario: `start` spawns the controller over the mock and returns its task.
async fn scenario(start: impl FnOnce(Arc<MockData>, Arc<Record>) -> tokio::task::JoinHandle<()>) -> Figures {
    let (data, live) = MockData::new(PODS, PAGE, 0).live();
    let data = Arc::new(data);
    let record = Arc::new(Record::default());
    let base = ALLOC.current_usage();
    let started = Instant::now();
    let task = start(data, record.clone());
    record.all_done.notified().await;
    let throughput = PODS as f64 / started.elapsed().as_secs_f64();
    let heap = ALLOC.current_usage().saturating_sub(base);
    let cpu_before = cpu_seconds();
    churn(live).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu = cpu_seconds() - cpu_before;
    task.abort();
    let mut lat = record.latencies.lock().unwrap().clone();
    lat.sort();
    Figures {
        throughput,
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        cpu,
        heap,
        updates: lat.len(),
    }
}

fn ours(data: Arc<MockData>, record: Arc<Record>) -> tokio::task::JoinHandle<()> {
    use kube_runtime::{
        controller::{Action, Controller},
        watcher,
    };
    let api: kube_client::Api<Pod> = kube_client::Api::all(our_client(data));
    let config = watcher::Config::default().list_watch().page_size(PAGE as u32).drop_managed_fields();
    let run = Controller::new(api, config).run(
        |pod: Arc<Pod>, record: Arc<Record>| async move {
            record.reconciled(&pod);
            Ok::<_, Never>(Action::await_change())
        },
        |_, _, _| Action::await_change(),
        record,
    );
    tokio::spawn(run.for_each(|_| async {}))
}

fn kube_rs(data: Arc<MockData>, record: Arc<Record>) -> tokio::task::JoinHandle<()> {
    use kube_rs::{
        ResourceExt,
        runtime::{Controller, WatchStreamExt, controller::Action, reflector, watcher},
    };
    let api: kube_rs::Api<Pod> = kube_rs::Api::all(kube_rs_client(data));
    let config = watcher::Config::default().page_size(PAGE as u32);
    // As kube-rs's docs advise for memory: managedFields dropped before the store.
    let (reader, writer) = reflector::store();
    let stream =
        watcher(api, config).modify(|pod| pod.managed_fields_mut().clear()).reflect(writer).applied_objects();
    let run = Controller::for_stream(stream, reader).run(
        |pod: Arc<Pod>, record: Arc<Record>| async move {
            record.reconciled(&pod);
            Ok::<_, Never>(Action::await_change())
        },
        |_, _, _| Action::await_change(),
        record,
    );
    tokio::spawn(run.for_each(|_| async {}))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    epoch();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut rows: Vec<(&str, Vec<Figures>)> = vec![("kube-rs 5", Vec::new()), ("ours", Vec::new())];
    for _ in 0..ROUNDS {
        rows[0].1.push(rt.block_on(scenario(kube_rs)));
        rows[1].1.push(rt.block_on(scenario(ours)));
    }
    println!(
        "\ncontroller: {PODS} Pods, churn {RATE} updates/s for {CHURN:?}; medians over {ROUNDS} rounds of each round's figures"
    );
    println!(
        "{:<10} {:>16} {:>10} {:>10} {:>14} {:>12} {:>8}",
        "", "reconciles/s", "p50 ms", "p99 ms", "CPU s (churn)", "heap MB", "updates"
    );
    for (name, figures) in &rows {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let p99s: Vec<String> = figures.iter().map(|f| format!("{:.2}", ms(f.p99))).collect();
        eprintln!("{name}: p99 per round (ms): {}", p99s.join(", "));
        println!(
            "{:<10} {:>16.0} {:>10.2} {:>10.2} {:>14.2} {:>12.1} {:>8}",
            name,
            median(figures.iter().map(|f| f.throughput).collect()),
            median(figures.iter().map(|f| ms(f.p50)).collect()),
            median(figures.iter().map(|f| ms(f.p99)).collect()),
            median(figures.iter().map(|f| f.cpu).collect()),
            median(figures.iter().map(|f| f.heap as f64 / 1e6).collect()),
            figures.iter().map(|f| f.updates).sum::<usize>() / figures.len(),
        );
    }
}
