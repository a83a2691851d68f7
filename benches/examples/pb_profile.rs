//! Decodes the bench's list of 10,000 fixture Pods in a loop, for `perf record` (not a bench).
#![allow(clippy::unwrap_used, missing_docs)]

use bytes::Bytes;
use futures::{StreamExt, executor::block_on, stream};
use k8s_openapi::api::core::v1::Pod;
use kube_benches::pod_lists::lists;
use kube_client::client::{
    decode::DecodeOptions,
    list::{ListPart, list_items, protobuf_list_items},
};

#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

fn chunks(body: &Bytes) -> impl futures::Stream<Item = Result<Bytes, kube_client::Error>> + use<> {
    let size = 64 * 1024;
    let chunks: Vec<_> =
        (0..body.len()).step_by(size).map(|i| Ok(body.slice(i..(i + size).min(body.len())))).collect();
    stream::iter(chunks)
}

fn count(parts: impl futures::Stream<Item = Result<ListPart<Pod>, kube_client::Error>>) -> usize {
    block_on(
        parts.fold(0, |n, p| async move { if matches!(p.unwrap(), ListPart::Item(_)) { n + 1 } else { n } }),
    )
}

/// This thread's CPU time in nanoseconds (less disturbed by other load than the wall clock).
fn cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    stat.split_whitespace().next().unwrap().parse().unwrap()
}

fn run(mode: &str, json: &Bytes, pb: &Bytes, options: DecodeOptions, n: usize) -> f64 {
    let region = stats_alloc::Region::new(GLOBAL);
    let start = cpu_ns();
    let got = match mode {
        "json" => count(list_items::<Pod, _>(chunks(json), "/u".into(), options)),
        _ => count(protobuf_list_items::<Pod, _>(chunks(pb), "/u".into(), options)),
    };
    assert_eq!(got, n);
    let stats = region.change();
    if std::env::var_os("ALLOCS").is_some() {
        println!(
            "{mode}: {} allocations, {} bytes per item",
            stats.allocations / n,
            stats.bytes_allocated / n
        );
    }
    (cpu_ns() - start) as f64 / 1e3 / n as f64
}

/// `pb_profile MODE ITERS keep|drop FIXTURE`: MODE json, pb, or both (alternating, the best of
/// each printed).
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("pb");
    let iters: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let drop = args.get(3).is_some_and(|s| s == "drop");
    let options =
        if drop { DecodeOptions::default().drop_managed_fields() } else { DecodeOptions::default() };
    let name = args.get(4).map(String::as_str).unwrap_or("pod");
    let n: usize = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let (json, pb) = lists(name, n);
    let modes: Vec<&str> = if mode == "both" { vec!["json", "pb"] } else { vec![mode] };
    let mut best = vec![f64::MAX; modes.len()];
    for _ in 0..iters {
        for (i, m) in modes.iter().enumerate() {
            best[i] = best[i].min(run(m, &json, &pb, options, n));
        }
    }
    for (m, b) in modes.iter().zip(&best) {
        println!("{name} {m} drop={drop}: {b:.2} µs CPU/Pod (best of {iters})");
    }
    if modes.len() == 2 {
        println!("json/pb = {:.2}", best[0] / best[1]);
    }
}
