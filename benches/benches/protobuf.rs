//! Decoding a list page of 10,000 Pods, JSON next to protobuf, through kube-client's list
//! decoders (item by item, as `Api::list_all` and the watcher read lists), with and without
//! managedFields. The bytes are the Go API machinery's encodings of the same Pod
//! (`kube-core/tests/fixtures/pod.pb` and `pod.pb.json`, written by `tools/protogen`): a small
//! Pod whose managedFields are most of it (`list_10k_pods`), and the realistic Pod of
//! `kube_benches::pods` that `just bench-peers` lists, with conditions, container statuses,
//! probes and volumes (`pod-realistic`, `list_10k_realistic_pods`).
//!
//! Run with `cargo bench -p kube-benches --bench protobuf` (or `just bench`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use bytes::Bytes;
use criterion::{Criterion, Throughput};
use futures::{StreamExt, executor::block_on, stream};
use k8s_openapi::api::core::v1::Pod;
use kube_client::client::{
    decode::DecodeOptions,
    list::{ListPart, list_items, protobuf_list_items},
};

const PODS: usize = 10_000;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../kube-core/tests/fixtures/{name}",
        std::env::var("CARGO_MANIFEST_DIR").unwrap()
    ))
    .unwrap()
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field(number: u64, data: &[u8], out: &mut Vec<u8>) {
    varint(number << 3 | 2, out);
    varint(data.len() as u64, out);
    out.extend_from_slice(data);
}

/// A PodList of `n` copies of the fixture Pod `name`, as JSON and as protobuf.
fn lists(name: &str, n: usize) -> (Bytes, Bytes) {
    let json_pod = fixture(&format!("{name}.pb.json"));
    let json_pod = std::str::from_utf8(&json_pod).unwrap().trim();
    let mut json =
        String::from(r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":["#);
    for i in 0..n {
        if i > 0 {
            json.push(',');
        }
        json.push_str(json_pod);
    }
    json.push_str("]}");

    let pb_pod = fixture(&format!("{name}.pb"));
    let pod = kube_core::protobuf::Envelope::parse(&pb_pod).unwrap().raw.to_vec();
    let mut raw = Vec::with_capacity(n * (pod.len() + 4) + 16);
    let mut meta = Vec::new();
    field(2, b"1", &mut meta);
    field(1, &meta, &mut raw);
    for _ in 0..n {
        field(2, &pod, &mut raw);
    }
    let mut type_meta = Vec::new();
    field(1, b"v1", &mut type_meta);
    field(2, b"PodList", &mut type_meta);
    let mut body = kube_core::protobuf::MAGIC.to_vec();
    field(1, &type_meta, &mut body);
    field(2, &raw, &mut body);
    (Bytes::from(json), Bytes::from(body))
}

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
    c.final_summary();
}
