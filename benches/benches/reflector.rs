//! Reflector memory and watch-event throughput, ours next to kube-rs 5 on the same bytes.
//!
//! - memory: peak and retained heap of a reflector syncing 10,000 realistic Pods (~10.8 KB of JSON
//!   each) from paged lists; kube-rs configured as its docs advise (managedFields dropped with
//!   `modify`), ours as its docs advise (managedFields cut before decoding, compact store), and
//!   ours with a store of decoded objects. Twice: with pages of 500 as asked, and with the whole
//!   list in one response, as kube-apiserver answers `resourceVersion=0&limit=500` from its cache.
//! - throughput (criterion): how fast a watcher + store absorbs MODIFIED events.
//!
//! Run with `cargo bench -p kube-benches --bench reflector` (or `just bench`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use criterion::{Criterion, Throughput};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube_benches::mock::{MockData, kube_rs_client, our_client};
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

const PODS: usize = 10_000;
const PAGE: usize = 500;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Syncs a reflector over `data` with our crates; returns (peak, retained) bytes above `base`.
async fn ours_memory(data: Arc<MockData>, base: usize, decoded: bool) -> (usize, usize, usize) {
    use kube_runtime::{reflector, watcher};
    let api: kube_client::Api<Pod> = kube_client::Api::all(our_client(data));
    let builder = reflector::StoreBuilder::new();
    let (store, writer) = if decoded { builder.decoded().build() } else { builder.build() };
    let config = our_config();
    let stream = reflector::reflector(writer, watcher::watcher(api, config));
    let task = tokio::spawn(stream.for_each(|_| async {}));
    store.wait_until_ready().await.unwrap();
    let retained = ALLOC.current_usage().saturating_sub(base);
    let len = store.len();
    task.abort();
    (ALLOC.peak_usage().saturating_sub(base), retained, len)
}

async fn kube_rs_memory(data: Arc<MockData>, base: usize) -> (usize, usize, usize) {
    use kube_rs::ResourceExt;
    use kube_rs::runtime::{WatchStreamExt, reflector, watcher};
    let api: kube_rs::Api<Pod> = kube_rs::Api::all(kube_rs_client(data));
    let (reader, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default().page_size(PAGE as u32))
        .modify(|pod| pod.managed_fields_mut().clear());
    let stream = reflector::reflector(writer, stream);
    let task = tokio::spawn(stream.for_each(|_| async {}));
    reader.wait_until_ready().await.unwrap();
    let retained = ALLOC.current_usage().saturating_sub(base);
    let len = reader.len();
    task.abort();
    (ALLOC.peak_usage().saturating_sub(base), retained, len)
}

/// Our watcher as the docs advise for reflectors: managedFields cut before decoding.
fn our_config() -> kube_runtime::watcher::Config {
    kube_runtime::watcher::Config::default().list_watch().page_size(PAGE as u32).drop_managed_fields()
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1_000_000.0
}

fn memory_report() {
    // Pages as asked for, then the whole list in one response whatever the limit.
    for served_page in [PAGE, PODS] {
        memory_report_for(served_page);
    }
}

fn memory_report_for(served_page: usize) {
    let rt = runtime();
    let how = if served_page >= PODS {
        "the whole list in one response".to_string()
    } else {
        format!("pages of {served_page}")
    };
    println!("\nreflector memory: {PODS} Pods, {how} (heap above the pre-rendered responses)");
    println!("{:<13} {:>9} {:>13} {:>9}", "client", "peak MB", "retained MB", "objects");
    let mut results = Vec::new();
    for name in ["kube-rs", "ours", "ours-decoded"] {
        let data = Arc::new(MockData::new(PODS, served_page, 0));
        let list_mb = mb(data.list_bytes());
        let base = ALLOC.current_usage();
        ALLOC.reset_peak_usage();
        let (peak, retained, len) = rt.block_on(async {
            match name {
                "ours" => ours_memory(data.clone(), base, false).await,
                "ours-decoded" => ours_memory(data.clone(), base, true).await,
                _ => kube_rs_memory(data.clone(), base).await,
            }
        });
        assert_eq!(len, PODS, "{name} synced every Pod");
        println!(
            "{name:<10} {:>12.1} {:>14.1} {:>10}   (list JSON: {list_mb:.1} MB)",
            mb(peak),
            mb(retained),
            len
        );
        results.push((name, peak, retained));
        drop(data);
    }
    let (_, rs_peak, rs_retained) = results[0];
    let (_, our_peak, our_retained) = results[1];
    println!(
        "ours / kube-rs: peak {:.2}, retained {:.2}\n",
        our_peak as f64 / rs_peak as f64,
        our_retained as f64 / rs_retained as f64
    );
}

const EVENT_PODS: usize = 1_000;
const EVENTS: usize = 5_000;

/// Time from the end of the initial sync until `EVENTS` watch events are in the store.
async fn ours_events(data: Arc<MockData>) -> Duration {
    use kube_runtime::{reflector, watcher};
    let api: kube_client::Api<Pod> = kube_client::Api::all(our_client(data));
    let (_store, writer) = reflector::store();
    let config = our_config();
    let mut stream = Box::pin(reflector::reflector(writer, watcher::watcher(api, config)));
    let mut start = None;
    let mut applied = 0;
    while let Some(ev) = stream.next().await {
        match ev.unwrap() {
            watcher::Event::InitDone => start = Some(Instant::now()),
            watcher::Event::Apply(_) => {
                applied += 1;
                if applied == EVENTS {
                    break;
                }
            }
            _ => {}
        }
    }
    start.unwrap().elapsed()
}

async fn kube_rs_events(data: Arc<MockData>) -> Duration {
    use kube_rs::ResourceExt;
    use kube_rs::runtime::{WatchStreamExt, reflector, watcher};
    let api: kube_rs::Api<Pod> = kube_rs::Api::all(kube_rs_client(data));
    let (_reader, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default().page_size(PAGE as u32))
        .modify(|pod| pod.managed_fields_mut().clear());
    let mut stream = Box::pin(reflector::reflector(writer, stream));
    let mut start = None;
    let mut applied = 0;
    while let Some(ev) = stream.next().await {
        match ev.unwrap() {
            watcher::Event::InitDone => start = Some(Instant::now()),
            watcher::Event::Apply(_) => {
                applied += 1;
                if applied == EVENTS {
                    break;
                }
            }
            _ => {}
        }
    }
    start.unwrap().elapsed()
}

fn throughput(c: &mut Criterion) {
    let rt = runtime();
    let data = Arc::new(MockData::new(EVENT_PODS, PAGE, EVENTS));
    assert_eq!(data.event_count(), EVENTS);
    let mut group = c.benchmark_group("watch_events");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(10);
    group.bench_function("kube-rs", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| rt.block_on(kube_rs_events(data.clone()))).sum())
    });
    group.bench_function("ours", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| rt.block_on(ours_events(data.clone()))).sum())
    });
    group.finish();
}

/// What reading from the store costs: compact objects are decoded on every read.
fn store_reads(c: &mut Criterion) {
    use kube_runtime::{reflector, watcher::Event};
    let pods: Vec<Pod> =
        (0..1000).map(|i| serde_json::from_value(kube_benches::pods::pod(i, 0)).unwrap()).collect();
    let mut group = c.benchmark_group("store_get");
    for (name, decoded) in [("compact", false), ("decoded", true)] {
        let builder = reflector::StoreBuilder::new();
        let (store, mut writer) = if decoded { builder.decoded().build() } else { builder.build() };
        writer.apply(&Event::Init);
        for pod in &pods {
            writer.apply(&Event::InitApply(writer.transform(pod.clone())));
        }
        writer.apply(&Event::InitDone);
        let keys = store.keys();
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % keys.len();
                store.get(&keys[i])
            })
        });
    }
    group.finish();
}

fn main() {
    memory_report();
    let mut c = Criterion::default().configure_from_args();
    throughput(&mut c);
    store_reads(&mut c);
    c.final_summary();
}
