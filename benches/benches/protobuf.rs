//! Decoding a list page of 10,000 Pods, JSON next to protobuf, through kube-client's list
//! decoders (item by item, as `Api::list_all` and the watcher read lists), with and without
//! managedFields. The bytes are the Go API machinery's encodings of the same Pod
//! (`kube-core/tests/fixtures/pod.pb` and `pod.pb.json`, written by `tools/protogen`): a small
//! Pod whose managedFields are most of it (`list_10k_pods`), and the realistic Pod of
//! `kube_benches::pods` that `just bench-peers` lists, with conditions, container statuses,
//! probes and volumes (`pod-realistic`, `list_10k_realistic_pods`).
//!
//! `stored_pod_*` answers whether a reflector's compact store should keep protobuf instead of
//! JSON: one Pod without managedFields in either form, its size and the time to decode it.
//!
//! Run with `cargo bench -p kube-benches --bench protobuf` (or `just bench`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use bytes::Bytes;
use criterion::{Criterion, Throughput};
use futures::{StreamExt, executor::block_on, stream};
use k8s_openapi::api::core::v1::Pod;
use kube_benches::pod_lists::{lists, stored_pod};
use kube_client::client::{
    decode::DecodeOptions,
    list::{ListPart, list_items, protobuf_list_items},
};

const PODS: usize = 10_000;

fn count(parts: impl futures::Stream<Item = Result<ListPart<Pod>, kube_client::Error>>) -> usize {
    block_on(
        parts.fold(0, |n, p| async move { if matches!(p.unwrap(), ListPart::Item(_)) { n + 1 } else { n } }),
    )
}

/// The body in chunks of 64 KiB, as a connection delivers it.
fn chunks(body: &Bytes) -> impl futures::Stream<Item = Result<Bytes, kube_client::Error>> + use<> {
    let size = 64 * 1024;
    let chunks: Vec<_> =
        (0..body.len()).step_by(size).map(|i| Ok(body.slice(i..(i + size).min(body.len())))).collect();
    stream::iter(chunks)
}

fn json_list(body: &Bytes, options: DecodeOptions) -> usize {
    count(list_items::<Pod, _>(chunks(body), "/api/v1/pods".into(), options))
}

fn protobuf_list(body: &Bytes, options: DecodeOptions) -> usize {
    count(protobuf_list_items::<Pod, _>(chunks(body), "/api/v1/pods".into(), options))
}

fn main() {
    let mut c = Criterion::default().sample_size(10).configure_from_args();
    for (fixture, group) in [("pod", "list_10k_pods"), ("pod-realistic", "list_10k_realistic_pods")] {
        let (json, pb) = lists(fixture, PODS);
        assert_eq!(json_list(&json, DecodeOptions::default()), PODS);
        assert_eq!(protobuf_list(&pb, DecodeOptions::default()), PODS);
        println!(
            "a list of {PODS} {fixture}: {:.1} MB of JSON, {:.1} MB of protobuf ({:.2}x)",
            json.len() as f64 / 1e6,
            pb.len() as f64 / 1e6,
            json.len() as f64 / pb.len() as f64
        );
        let mut group = c.benchmark_group(group);
        group.throughput(Throughput::Elements(PODS as u64));
        for (label, options) in [
            ("", DecodeOptions::default()),
            ("_drop_managed_fields", DecodeOptions::default().drop_managed_fields()),
        ] {
            group.bench_function(format!("json{label}"), |b| b.iter(|| json_list(&json, options)));
            group.bench_function(format!("protobuf{label}"), |b| b.iter(|| protobuf_list(&pb, options)));
        }
        group.finish();
    }
    for fixture in ["pod", "pod-realistic"] {
        let (json, pb) = stored_pod(fixture);
        let from_json = || {
            kube_client::client::decode::decode::<Pod>(&json, "(store)", DecodeOptions::default()).unwrap()
        };
        let from_pb = || {
            kube_core::protobuf::from_envelope::<Pod>(&pb, kube_core::protobuf::Options::default()).unwrap()
        };
        assert_eq!(from_json(), from_pb(), "{fixture}: both forms hold the same Pod");
        println!(
            "{fixture} as stored (no managedFields): {} bytes of JSON, {} bytes of protobuf ({:.2}x)",
            json.len(),
            pb.len(),
            json.len() as f64 / pb.len() as f64
        );
        let mut group = c.benchmark_group(format!("stored_{fixture}"));
        group.bench_function("json", |b| b.iter(from_json));
        group.bench_function("protobuf", |b| b.iter(from_pb));
        group.finish();
    }
    c.final_summary();
}
