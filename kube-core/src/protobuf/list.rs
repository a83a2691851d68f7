//! A protobuf list (`PodList`, `PartialObjectMetadataList`, ...): its metadata and its items,
//! each decoded on its own as it is asked for.

use serde::de::DeserializeOwned;

use super::{
    Error, Options,
    de::{MessageDe, implied_types},
    envelope::Envelope,
    schema::{Field, Kind, Shape, by_kind, message},
    wire::{Reader, Value, fields},
};

/// A list in a protobuf body, borrowing from it.
///
/// ```
/// use k8s_openapi::api::core::v1::ConfigMap;
/// use kube_core::protobuf::{List, Options};
///
/// // ConfigMapList{metadata{resourceVersion: "7"}, items: [ConfigMap{metadata{name: "a"}}]}
/// let body = b"k8s\0\x0a\x13\x0a\x02v1\x12\x0dConfigMapList\x12\x0c\x0a\x03\x12\x017\x12\x05\x0a\x03\x0a\x01a";
/// let list = List::parse(body)?;
/// let meta: kube_core::ListMeta = list.metadata(Options::default())?;
/// assert_eq!(meta.resource_version.as_deref(), Some("7"));
/// let items: Vec<ConfigMap> = list.items(Options::default()).collect::<Result<_, _>>()?;
/// assert_eq!(items[0].metadata.name.as_deref(), Some("a"));
/// # Ok::<(), kube_core::protobuf::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct List<'a> {
    envelope: Envelope<'a>,
    metadata: &'static Field,
    items: &'static Field,
    item: u16,
}

impl<'a> List<'a> {
    /// Reads the envelope of a list body.
    ///
    /// Errors: the envelope is malformed, or its kind has no schema or is not a list.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let envelope = Envelope::parse(body)?;
        let (metadata, items, item) = list_fields(envelope.api_version, envelope.kind)?;
        Ok(Self { envelope, metadata, items, item })
    }

    /// The list's apiVersion and kind (`v1`, `PodList`).
    pub fn type_meta(&self) -> (&'a str, &'a str) {
        (self.envelope.api_version, self.envelope.kind)
    }

    /// The list's metadata (resourceVersion, continue token, remaining count), decoded as `T`.
    pub fn metadata<T: DeserializeOwned + Default>(&self, options: Options) -> Result<T, Error> {
        let Kind::Message(msg) = self.metadata.kind else { return Ok(T::default()) };
        let mut found = None;
        for f in fields(self.envelope.raw) {
            if let (n, Value::Bytes(b)) = f?
                && n == self.metadata.number
            {
                found = Some(b);
            }
        }
        match found {
            None => Ok(T::default()),
            Some(buf) => T::deserialize(MessageDe { buf, msg, types: None, depth: 1, ctx: options.ctx() }),
        }
    }

    /// The items in order, each decoded as `T` when the iterator reaches it. A malformed list
    /// ends the iteration with its error; an item `T` refuses is an error and the next follows.
    pub fn items<T: DeserializeOwned>(
        &self,
        options: Options,
    ) -> impl Iterator<Item = Result<T, Error>> + use<'a, T> {
        let this = *self;
        let mut at = Some(0);
        std::iter::from_fn(move || {
            let (item, next) = this.item_at(at?, options)?;
            at = next;
            Some(item)
        })
    }

    /// The first item at or after position `from` of the list's message (0 for the first
    /// item), decoded as `T`, and the position to read the next one from (`None` after a
    /// malformed list, whose error this is); `None` after the last item.
    pub fn item_at<T: DeserializeOwned>(
        &self,
        from: usize,
        options: Options,
    ) -> Option<(Result<T, Error>, Option<usize>)> {
        let mut reader = Reader::new(self.envelope.raw.get(from..)?);
        while !reader.is_empty() {
            let field = reader.field();
            let next = Some(from + reader.pos());
            match field {
                Err(e) => return Some((Err(e), None)),
                Ok((n, Value::Bytes(buf))) if n == self.items.number => {
                    let types = implied_types(self.item);
                    let de = MessageDe { buf, msg: self.item, types, depth: 1, ctx: options.ctx() };
                    return Some((T::deserialize(de), next));
                }
                Ok((n, other)) if n == self.items.number => {
                    return Some((Err(Error::FieldType { field: "items", wire: other.wire_name() }), None));
                }
                Ok(_) => {}
            }
        }
        None
    }
}

/// The `metadata` and `items` fields of the list type `api_version`, `kind`, and the items'
/// message.
pub(crate) fn list_fields(
    api_version: &str,
    kind: &str,
) -> Result<(&'static Field, &'static Field, u16), Error> {
    let msg = by_kind(api_version, kind)
        .map(message)
        .ok_or_else(|| Error::UnknownKind { api_version: api_version.into(), kind: kind.into() })?;
    let named = |json: &str| msg.fields.iter().find(|f| f.json == json);
    let not_list = || Error::NotAList(kind.to_string());
    let (metadata, items) = (named("metadata").ok_or_else(not_list)?, named("items").ok_or_else(not_list)?);
    let (Shape::Repeated, Kind::Message(item)) = (items.shape, items.kind) else { return Err(not_list()) };
    Ok((metadata, items, item))
}
