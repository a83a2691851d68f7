//! The managedFields cutter on any bytes: never panics, and on JSON it leaves JSON that equals the
//! input with every `metadata.managedFields` removed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn remove(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(meta)) = map.get_mut("metadata") {
                meta.remove("managedFields");
            }
            map.values_mut().for_each(remove);
        }
        Value::Array(items) => items.iter_mut().for_each(remove),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let cut = kube_core::trim::drop_managed_fields(data);
    let Ok(mut want) = serde_json::from_slice::<Value>(data) else { return };
    // Duplicate keys make "the" value ambiguous; serde keeps the last, the cutter cuts all.
    remove(&mut want);
    if let Some(cut) = cut {
        let got: Value = serde_json::from_slice(&cut).expect("the cut of JSON is JSON");
        assert_eq!(got, want);
    }
});
