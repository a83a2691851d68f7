//! Heap allocations per decoded Pod: one page of 1,000 realistic Pods (`kube_benches::pods`,
//! managedFields included; the size is printed) from the in-memory server, listed by our client and by kube-rs 5 from
//! the same bytes, and decoded by `serde_json` alone as the floor. Counts every allocation the
//! process makes during the call (request, body, decode), the least of five runs.
//!
//! Run with `cargo bench -p kube-benches --bench allocs` (or `just bench`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::{future::Future, sync::Arc};

use futures::TryStreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube_benches::mock::{MockData, kube_rs_client, our_client};
use kube_client::client::decode::DecodeOptions;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const PODS: usize = 1_000;
const RUNS: usize = 5;

/// The fewest allocations (and their bytes) of `RUNS` runs of `f`, which must yield `PODS` items.
fn count<F, Fut>(rt: &tokio::runtime::Runtime, mut f: F) -> (usize, usize)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = usize>,
{
    (0..RUNS)
        .map(|_| {
            let fut = f();
            let region = Region::new(GLOBAL);
            let n = rt.block_on(fut);
            let change = region.change();
            assert_eq!(n, PODS, "every Pod decoded");
            (change.allocations, change.bytes_allocated)
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    // Criterion passes its own flags (`--bench`); this benchmark takes none.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // The clients spawn their connection tasks on it.
    let _runtime = rt.enter();
    let data = Arc::new(MockData::new(PODS, PODS, 0));
    let page_bytes = data.list_bytes();
    let ours: kube_client::Api<Pod> = kube_client::Api::all(our_client(data.clone()));
    let theirs: kube_rs::Api<Pod> = kube_rs::Api::all(kube_rs_client(data.clone()));
    let lp = kube_client::api::ListParams::default();
    let kube_rs_lp = kube_rs::api::ListParams::default();
    // The page as the server sends it, for the decode-only floor.
    let page = rt.block_on(async {
        let req = ours.request_builder().list(&lp).unwrap();
        ours.client().request_bytes(req).await.unwrap()
    });

    let rows: Vec<(&str, (usize, usize))> = vec![
        (
            "serde_json::from_slice::<PodList> (decode only)",
            count(&rt, || {
                let page = page.clone();
                async move {
                    let list: k8s_openapi::List<Pod> = serde_json::from_slice(&page).unwrap();
                    list.items.len()
                }
            }),
        ),
        (
            "ours: Api::list",
            count(&rt, || {
                let (api, lp) = (ours.clone(), lp.clone());
                async move { api.list(&lp).await.unwrap().items.len() }
            }),
        ),
        (
            "ours: Api::list_all_with (item by item)",
            count(&rt, || {
                let (api, lp) = (ours.clone(), lp.clone());
                async move {
                    let items: Vec<Pod> =
                        api.list_all_with(&lp, DecodeOptions::default()).try_collect().await.unwrap();
                    items.len()
                }
            }),
        ),
        (
            "ours: Api::list_all_with, managedFields cut at decode",
            count(&rt, || {
                let (api, lp) = (ours.clone(), lp.clone());
                async move {
                    let options = DecodeOptions::default().drop_managed_fields();
                    let items: Vec<Pod> = api.list_all_with(&lp, options).try_collect().await.unwrap();
                    items.len()
                }
            }),
        ),
        (
            "ours: Api::list_metadata",
            count(&rt, || {
                let (api, lp) = (ours.clone(), lp.clone());
                async move { api.list_metadata(&lp).await.unwrap().items.len() }
            }),
        ),
        (
            "kube-rs 5: Api::list",
            count(&rt, || {
                let (api, lp) = (theirs.clone(), kube_rs_lp.clone());
                async move { api.list(&lp).await.unwrap().items.len() }
            }),
        ),
        (
            "kube-rs 5: Api::list_metadata",
            count(&rt, || {
                let (api, lp) = (theirs.clone(), kube_rs_lp.clone());
                async move { api.list_metadata(&lp).await.unwrap().items.len() }
            }),
        ),
    ];

    println!(
        "allocations per decoded Pod ({PODS} Pods, {:.1} KB of JSON each):",
        page_bytes as f64 / PODS as f64 / 1000.0
    );
    println!("| decode | allocations per Pod | bytes allocated per Pod |");
    println!("|---|---|---|");
    for (name, (allocations, bytes)) in &rows {
        println!(
            "| {name} | {:.1} | {:.1} KB |",
            *allocations as f64 / PODS as f64,
            *bytes as f64 / PODS as f64 / 1000.0
        );
    }
}
