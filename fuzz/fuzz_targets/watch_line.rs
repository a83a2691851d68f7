//! One line of a watch stream: decoded (with and without the managedFields cut) into a typed and
//! a dynamic event, or an error; never a panic. The cut never changes what a line decodes to,
//! apart from the managedFields themselves.
#![no_main]

use k8s_openapi::api::core::v1::Pod;
use kube_client::client::decode::{DecodeOptions, decode};
use kube_core::{DynamicObject, WatchEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let full = decode::<WatchEvent<Pod>>(data, "/fuzz", DecodeOptions::default());
    let cut = decode::<WatchEvent<Pod>>(data, "/fuzz", DecodeOptions::default().drop_managed_fields());
    if let (Ok(WatchEvent::Added(mut a)), Ok(WatchEvent::Added(b))) = (full, cut) {
        a.metadata.managed_fields = None;
        assert_eq!(a, b, "the cut changed more than managedFields");
    }
    let _ =
        decode::<WatchEvent<DynamicObject>>(data, "/fuzz", DecodeOptions::default().drop_managed_fields());
});
