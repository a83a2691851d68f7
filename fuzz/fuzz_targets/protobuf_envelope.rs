//! A protobuf body: the envelope, then the object in it decoded as a typed object, a dynamic
//! one and a list (whole, and as it arrives in chunks), or an error; never a panic. A list read
//! both ways gives the same items.
#![no_main]

use k8s_openapi::api::{apps::v1::Deployment, core::v1::Pod};
use kube_core::{
    DynamicObject, PartialObjectMetadata, Status,
    protobuf::{Envelope, List, ListPart, ListReader, Options, from_envelope},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Envelope::parse(data);
    let _ = from_envelope::<Pod>(data, Options::default());
    let _ = from_envelope::<Deployment>(data, Options::default().drop_managed_fields());
    let _ = from_envelope::<Status>(data, Options::default());
    let _ = from_envelope::<DynamicObject>(data, Options::default());
    let _ = from_envelope::<serde_json::Value>(data, Options::default());
    let whole = List::parse(data).map(|list| {
        let _ = list.metadata::<kube_core::ListMeta>(Options::default());
        let _ = list.items::<PartialObjectMetadata<Pod>>(Options::default()).count();
        list.items::<Pod>(Options::default()).map(|i| i.ok()).collect::<Vec<_>>()
    });
    let mut reader = ListReader::with_limit(1 << 20);
    let mut streamed = Vec::new();
    let mut failed = false;
    'chunks: for chunk in data.chunks(7) {
        reader.push(chunk);
        loop {
            match reader.next::<Pod>(Options::default()) {
                Ok(ListPart::Item(item)) => streamed.push(item.ok()),
                Ok(ListPart::NeedMore) => break,
                Err(_) => {
                    failed = true;
                    break 'chunks;
                }
            }
        }
    }
    if !failed
        && reader.finish(Options::default()).is_ok()
        && let Ok(whole) = whole
    {
        assert_eq!(whole, streamed, "a list read whole and as it arrives differ");
    }
});
