//! The shape of the generated schema: messages, their fields, and the lookup from apiVersion
//! and kind to a message.

use super::generated::{KINDS, MESSAGES};

/// One message of generated.proto.
#[derive(Debug)]
pub(crate) struct Message {
    /// The full proto name (`k8s.io.api.core.v1.Pod`).
    #[cfg_attr(not(test), allow(dead_code))]
    pub name: &'static str,
    /// The fields that have a wire form, by number.
    pub fields: &'static [Field],
}

/// One field of a message.
#[derive(Debug)]
pub(crate) struct Field {
    /// The field number.
    pub number: u32,
    /// The JSON name the value is given to the target type under.
    pub json: &'static str,
    /// The kind of each value (of the element for lists, of the value for maps).
    pub kind: Kind,
    /// Single, repeated or a map.
    pub shape: Shape,
    /// The JSON encoder leaves out this field's zero value (omitempty on a non-pointer scalar)
    /// while gogo-protobuf writes it: a zero is skipped so both give the same object.
    pub omit_zero: bool,
    /// A nested message whose fields JSON flattens into this one's.
    pub inline: bool,
    /// `ObjectMeta.managedFields`, cut when the caller asks to drop managed fields.
    pub managed_fields: bool,
}

/// Single, repeated or map-valued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Single,
    Repeated,
    /// `map<key, value>`: repeated entries of `key = 1`, `value = 2`.
    Map(Kind),
}

/// The kind of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Str,
    Int,
    Bool,
    Double,
    /// Bytes, written in JSON as base64.
    Bytes,
    /// `meta.v1.Time`: `{seconds, nanos}`, RFC 3339 in seconds in JSON.
    Time,
    /// `meta.v1.MicroTime`: RFC 3339 with microseconds in JSON.
    MicroTime,
    /// `meta.v1.Duration`: nanoseconds, a Go duration string in JSON (no built-in type of
    /// v1.37 has one; the generator emits it should one appear).
    #[allow(dead_code)]
    Duration,
    /// `resource.Quantity`: `{string = 1}`.
    Quantity,
    /// `intstr.IntOrString`: `{type, intVal, strVal}`.
    IntOrString,
    /// `runtime.RawExtension`, `FieldsV1`, `apiextensions.JSON`: `{raw = 1}` holding JSON or a
    /// protobuf envelope.
    Raw,
    /// A named list of strings: `{repeated string items = 1}`.
    StrList,
    /// Another message, by index.
    Message(u16),
    /// A union JSON writes as whichever member is set (`JSONSchemaPropsOrBool`, ...): the
    /// first message member present, else the list member, else the bool member.
    OneOf(u16),
}

impl Message {
    /// The field numbered `number`.
    #[inline]
    pub(crate) fn field(&self, number: u32) -> Option<&'static Field> {
        // Fields are sorted by distinct numbers from 1, so field `n` is at index `n - 1` or
        // before it, by as many numbers as are unused below `n`: few in the API types, so the
        // search walks down from there a step or two before it falls back to bisecting.
        let fields = self.fields;
        let guess = usize::try_from(number).ok()?.checked_sub(1)?.min(fields.len().checked_sub(1)?);
        for i in (0..=guess).rev().take(3) {
            let f = &fields[i];
            if f.number == number {
                return Some(f);
            }
            if f.number < number {
                return None;
            }
        }
        let below = &fields[..guess.saturating_sub(2)];
        below.binary_search_by_key(&number, |f| f.number).ok().map(|i| &below[i])
    }
}

/// The message at `index`.
pub(crate) fn message(index: u16) -> &'static Message {
    // Indexes come from the generated tables only, which reference their own entries.
    &MESSAGES[usize::from(index) % MESSAGES.len()]
}

/// The message of `api_version` and `kind` (`v1`, `Pod`), if the schema has one.
pub(crate) fn by_kind(api_version: &str, kind: &str) -> Option<u16> {
    KINDS.binary_search_by(|(v, k, _)| (*v, *k).cmp(&(api_version, kind))).ok().map(|i| KINDS[i].2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_reference_is_in_the_table_and_fields_are_sorted() {
        for m in MESSAGES {
            assert!(m.fields.windows(2).all(|w| w[0].number < w[1].number), "{}", m.name);
            for f in m.fields {
                assert!(f.number < 64, "{}.{} numbered {}", m.name, f.json, f.number);
                if let Kind::Message(i) | Kind::OneOf(i) = f.kind {
                    assert!(usize::from(i) < MESSAGES.len());
                }
            }
        }
        assert!(KINDS.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
    }

    #[test]
    fn every_field_is_found_by_its_number_and_no_other_number_is() {
        for m in MESSAGES {
            let numbers: Vec<u32> = m.fields.iter().map(|f| f.number).collect();
            for n in 0..80 {
                let want = numbers.contains(&n).then_some(n);
                assert_eq!(m.field(n).map(|f| f.number), want, "{} field {n}", m.name);
            }
            assert!(m.field(u32::MAX).is_none());
        }
    }

    #[test]
    fn kinds_resolve_to_their_messages() {
        let pod = by_kind("v1", "Pod").map(message).unwrap();
        assert_eq!(pod.name, "k8s.io.api.core.v1.Pod");
        let list = by_kind("meta.k8s.io/v1", "PartialObjectMetadataList").map(message).unwrap();
        assert_eq!(list.name, "k8s.io.apimachinery.pkg.apis.meta.v1.PartialObjectMetadataList");
        assert_eq!(
            by_kind("apps/v1", "Deployment").map(|i| message(i).name),
            Some("k8s.io.api.apps.v1.Deployment")
        );
        assert!(by_kind("clux.dev/v1", "Foo").is_none());
    }
}
