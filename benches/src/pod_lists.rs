//! PodLists of many copies of one fixture Pod, in JSON and in protobuf (an envelope around a
//! `PodList`), for the decode benches and the profiling example.

use bytes::Bytes;

/// The bytes of `kube-core/tests/fixtures/<name>`.
pub fn fixture(name: &str) -> Vec<u8> {
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
pub fn lists(name: &str, n: usize) -> (Bytes, Bytes) {
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
