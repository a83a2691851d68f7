//! A LIST body of any bytes, in chunks of any sizes: the item-by-item decoder yields items and
//! errors, ends, and never panics; for a (UTF-8) body serde_json reads as a list, it yields the
//! same items.
#![no_main]

use bytes::Bytes;
use futures::{StreamExt, executor::block_on, stream};
use kube_client::client::{
    decode::DecodeOptions,
    list::{ListPart, list_items},
};
use kube_core::{DynamicObject, ObjectList};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size.
    let Some((&size, body)) = data.split_first() else { return };
    let size = usize::from(size).max(1);
    let chunks: Vec<Result<Bytes, kube_client::Error>> =
        body.chunks(size).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    let parts: Vec<_> = block_on(
        list_items::<DynamicObject, _>(stream::iter(chunks), "/fuzz".into(), DecodeOptions::default())
            .collect(),
    );
    // serde_json skips unknown members without checking their UTF-8; the item decoder checks
    // every item's bytes, so the two are compared on valid UTF-8 only.
    let Ok(text) = std::str::from_utf8(body) else { return };
    if let Ok(whole) = serde_json::from_str::<ObjectList<DynamicObject>>(text) {
        let items: Vec<DynamicObject> = parts
            .into_iter()
            .filter_map(|p| match p {
                Ok(ListPart::Item(o)) => Some(o),
                _ => None,
            })
            .collect();
        assert_eq!(items, whole.items, "streamed items differ from the whole list's");
    }
});
