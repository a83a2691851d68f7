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

/// The protobuf envelope (magic, `TypeMeta` of `v1` `kind`, the raw object) around `raw`.
fn envelope(kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut type_meta = Vec::new();
    field(1, b"v1", &mut type_meta);
    field(2, kind.as_bytes(), &mut type_meta);
    let mut body = kube_core::protobuf::MAGIC.to_vec();
    field(1, &type_meta, &mut body);
    field(2, raw, &mut body);
    body
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
    (Bytes::from(json), Bytes::from(envelope("PodList", &raw)))
}

fn read_varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = bytes[*at];
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
    }
    v
}

/// One field of a message: its number, its whole encoding, its payload if length-delimited.
type Field<'a> = (u64, &'a [u8], Option<&'a [u8]>);

/// The fields of a message, in wire order.
fn fields(message: &[u8]) -> Vec<Field<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < message.len() {
        let start = at;
        let tag = read_varint(message, &mut at);
        let payload = match tag & 7 {
            0 => {
                read_varint(message, &mut at);
                None
            }
            1 => {
                at += 8;
                None
            }
            2 => {
                let len = read_varint(message, &mut at) as usize;
                at += len;
                Some(&message[at - len..at])
            }
            5 => {
                at += 4;
                None
            }
            w => panic!("wire type {w} in a fixture"),
        };
        out.push((tag >> 3, &message[start..at], payload));
    }
    out
}

/// The fixture Pod `name` as a reflector's compact store would keep it, managedFields dropped
/// (the watcher's default for reflectors): the JSON the store writes today (`serde_json` of the
/// decoded Pod), and the same Pod in protobuf (its envelope, `ObjectMeta.managedFields`, field
/// 17, cut from the wire bytes).
pub fn stored_pod(name: &str) -> (Vec<u8>, Vec<u8>) {
    let json = fixture(&format!("{name}.pb.json"));
    let mut pod: k8s_openapi::api::core::v1::Pod = serde_json::from_slice(&json).unwrap();
    pod.metadata.managed_fields = None;
    let json = serde_json::to_vec(&pod).unwrap();

    let served = fixture(&format!("{name}.pb"));
    let raw = kube_core::protobuf::Envelope::parse(&served).unwrap().raw.to_vec();
    let mut cut = Vec::with_capacity(raw.len());
    for (number, whole, payload) in fields(&raw) {
        match (number, payload) {
            (1, Some(meta)) => {
                let mut kept = Vec::with_capacity(meta.len());
                for (n, whole, _) in fields(meta) {
                    if n != 17 {
                        kept.extend_from_slice(whole);
                    }
                }
                field(1, &kept, &mut cut);
            }
            _ => cut.extend_from_slice(whole),
        }
    }
    (json, envelope("Pod", &cut))
}
