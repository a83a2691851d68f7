//! A protobuf body: the envelope, then the object in it decoded as a typed object, a dynamic
//! one and a list, or an error; never a panic.
#![no_main]

use k8s_openapi::api::{apps::v1::Deployment, core::v1::Pod};
use kube_core::{
    DynamicObject, PartialObjectMetadata, Status,
    protobuf::{Envelope, List, Options, from_envelope},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Envelope::parse(data);
    let _ = from_envelope::<Pod>(data, Options::default());
    let _ = from_envelope::<Deployment>(data, Options::default().drop_managed_fields());
    let _ = from_envelope::<Status>(data, Options::default());
    let _ = from_envelope::<DynamicObject>(data, Options::default());
    let _ = from_envelope::<serde_json::Value>(data, Options::default());
    if let Ok(list) = List::parse(data) {
        let _ = list.metadata::<kube_core::ListMeta>(Options::default());
        let _ = list.items::<PartialObjectMetadata<Pod>>(Options::default()).count();
        let _ = list.items::<Pod>(Options::default()).count();
    }
});
