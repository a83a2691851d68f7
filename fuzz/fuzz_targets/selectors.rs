//! Label and field selectors of any text: parsing gives a selector or an error, never a panic; a
//! parsed selector prints as text that parses back to the same selector.
#![no_main]

use kube_core::selector::{FieldSelector, LabelSelector};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(labels) = text.parse::<LabelSelector>() {
        let again: LabelSelector = labels.to_string().parse().expect("a printed label selector parses");
        assert_eq!(again, labels);
    }
    if let Ok(fields) = text.parse::<FieldSelector>() {
        let again: FieldSelector = fields.to_string().parse().expect("a printed field selector parses");
        assert_eq!(again, fields);
    }
});
