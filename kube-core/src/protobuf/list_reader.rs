//! A protobuf list read as its bytes arrive: each item is decoded as soon as its bytes are all
//! there, so a list of any size takes the memory of one item (and one chunk) at a time.

use serde::de::DeserializeOwned;

use super::{
    Error, Options,
    de::{MessageDe, implied_types},
    envelope::{MAGIC, is_protobuf, utf8},
    list::list_fields,
    schema::Field,
    wire::{Value, fields},
};
use crate::ListMeta;

/// What [`ListReader::next`] found.
#[derive(Debug)]
pub enum ListPart<T> {
    /// One item, or why it did not decode (the list goes on).
    Item(Result<T, Error>),
    /// More bytes are needed.
    NeedMore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Magic,
    /// Fields of the envelope before its `raw`.
    Envelope,
    /// Inside `raw` (the list message), with this many bytes of it left.
    Raw(usize),
    /// Fields of the envelope after `raw`.
    Trailer,
}

/// Reads a protobuf list body (`k8s\0` + envelope of a `...List`) pushed chunk by chunk.
///
/// ```
/// use k8s_openapi::api::core::v1::ConfigMap;
/// use kube_core::protobuf::{ListPart, ListReader, Options};
///
/// let body = b"k8s\0\x0a\x13\x0a\x02v1\x12\x0dConfigMapList\x12\x0c\x0a\x03\x12\x017\x12\x05\x0a\x03\x0a\x01a";
/// let mut reader = ListReader::default();
/// let mut names = Vec::new();
/// for chunk in body.chunks(3) {
///     reader.push(chunk);
///     while let ListPart::Item(cm) = reader.next::<ConfigMap>(Options::default())? {
///         names.push(cm?.metadata.name.unwrap_or_default());
///     }
/// }
/// let meta = reader.finish(Options::default())?;
/// assert_eq!((names, meta.resource_version.as_deref()), (vec!["a".to_string()], Some("7")));
/// # Ok::<(), kube_core::protobuf::Error>(())
/// ```
#[derive(Debug)]
pub struct ListReader {
    buf: Vec<u8>,
    start: usize,
    at: At,
    limit: usize,
    /// The list's `metadata` and `items` fields and the items' message, once the type is read.
    list: Option<(&'static Field, &'static Field, u16)>,
    metadata: Vec<u8>,
}

impl Default for ListReader {
    fn default() -> Self {
        Self::with_limit(super::MAX_FRAME_BYTES)
    }
}

impl ListReader {
    /// A reader refusing any item (or other field) longer than `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        Self { buf: Vec::new(), start: 0, at: At::Magic, limit, list: None, metadata: Vec::new() }
    }

    /// Appends bytes read from the body.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next item, or [`ListPart::NeedMore`] until its bytes have all arrived.
    ///
    /// Errors (malformed envelope or list, a field over the limit, a type that is not a list):
    /// the reader cannot go on.
    pub fn next<T: DeserializeOwned>(&mut self, options: Options) -> Result<ListPart<T>, Error> {
        loop {
            let pending = &self.buf[self.start..];
            match self.at {
                At::Magic => {
                    let seen = pending.len().min(4);
                    if pending[..seen] != MAGIC[..seen] {
                        return Err(Error::Magic);
                    }
                    if seen < 4 {
                        return Ok(ListPart::NeedMore);
                    }
                    self.start += 4;
                    self.at = At::Envelope;
                }
                At::Envelope => {
                    // The object (the list) may be longer than the limit: its items are held to it.
                    let Some(h) = header(pending, usize::MAX)? else { return Ok(ListPart::NeedMore) };
                    if h.number == 2 && h.delimited {
                        if self.list.is_none() {
                            return Err(Error::Truncated("the envelope's type before its object"));
                        }
                        self.start += h.payload;
                        self.at = At::Raw(h.len - h.payload);
                        continue;
                    }
                    let len = (h.len - h.payload) as u64;
                    if len > self.limit as u64 {
                        return Err(Error::ValueTooLarge { len, limit: self.limit });
                    }
                    if pending.len() < h.len {
                        return Ok(ListPart::NeedMore);
                    }
                    envelope_field(&h, &pending[h.payload..h.len])?;
                    if h.number == 1 {
                        if self.list.is_some() {
                            return Err(Error::Envelope("a second type"));
                        }
                        let (api_version, kind) = type_meta(&pending[h.payload..h.len])?;
                        self.list = Some(list_fields(api_version, kind)?);
                    }
                    self.start += h.len;
                }
                At::Raw(0) => self.at = At::Trailer,
                At::Raw(left) => {
                    let Some(h) = header(&pending[..pending.len().min(left)], self.limit)? else {
                        if pending.len() >= left {
                            return Err(Error::Truncated("a list item"));
                        }
                        return Ok(ListPart::NeedMore);
                    };
                    if h.len > left {
                        return Err(Error::Truncated("a list item"));
                    }
                    if pending.len() < h.len {
                        return Ok(ListPart::NeedMore);
                    }
                    let (metadata, items, item) = self.list.ok_or(Error::Truncated("the list's type"))?;
                    let payload = &pending[h.payload..h.len];
                    self.start += h.len;
                    self.at = At::Raw(left - h.len);
                    if h.number == metadata.number && h.delimited {
                        self.metadata = payload.to_vec();
                    } else if h.number == items.number {
                        if !h.delimited {
                            return Err(Error::FieldType { field: "items", wire: "a scalar" });
                        }
                        let de = MessageDe {
                            buf: payload,
                            msg: item,
                            types: implied_types(item),
                            depth: 1,
                            ctx: options.ctx(),
                        };
                        return Ok(ListPart::Item(T::deserialize(de)));
                    }
                }
                At::Trailer => {
                    let Some(h) = header(pending, self.limit)? else { return Ok(ListPart::NeedMore) };
                    if pending.len() < h.len {
                        return Ok(ListPart::NeedMore);
                    }
                    if matches!(h.number, 1 | 2) {
                        return Err(Error::Envelope("a second type or object after the object"));
                    }
                    envelope_field(&h, &pending[h.payload..h.len])?;
                    self.start += h.len;
                }
            }
        }
    }

    /// Call at the end of the body: the list's metadata, or an error when the body ended
    /// before the list did.
    pub fn finish(&mut self, options: Options) -> Result<ListMeta, Error> {
        if self.start < self.buf.len() || !matches!(self.at, At::Trailer | At::Raw(0)) {
            return Err(Error::Truncated("a list"));
        }
        let Some((metadata, _, _)) = self.list else { return Err(Error::Truncated("a list")) };
        let super::schema::Kind::Message(msg) = metadata.kind else { return Ok(ListMeta::default()) };
        if self.metadata.is_empty() {
            return Ok(ListMeta::default());
        }
        let de = MessageDe { buf: &self.metadata, msg, types: None, depth: 1, ctx: options.ctx() };
        serde::Deserialize::deserialize(de)
    }
}

/// Checks a field of the envelope: bytes where the envelope has bytes, and an uncompressed
/// protobuf content.
fn envelope_field(h: &Header, payload: &[u8]) -> Result<(), Error> {
    if (1..=4).contains(&h.number) && !h.delimited {
        return Err(Error::EnvelopeField("scalar"));
    }
    let value = || utf8(payload);
    match h.number {
        3 if !value()?.is_empty() => Err(Error::ContentEncoding(value()?.to_string())),
        4 if !value()?.is_empty() && !is_protobuf(value()?) => Err(Error::ContentType(value()?.to_string())),
        _ => Ok(()),
    }
}

/// A field's header: its number, whether it is length-delimited, where its payload starts and
/// its whole length.
struct Header {
    number: u32,
    delimited: bool,
    payload: usize,
    len: usize,
}

/// The header of the field at the start of `buf`, `None` when `buf` ends inside it.
fn header(buf: &[u8], limit: usize) -> Result<Option<Header>, Error> {
    let Some((key, key_len)) = varint(buf)? else { return Ok(None) };
    let number = key >> 3;
    if number == 0 || number > u64::from(u32::MAX >> 3) {
        return Err(Error::FieldNumber(number));
    }
    let number = number as u32;
    let rest = &buf[key_len..];
    let (payload, len) = match key & 7 {
        0 => match varint(rest)? {
            Some((_, n)) => (key_len, key_len + n),
            None => return Ok(None),
        },
        1 => (key_len, key_len + 8),
        5 => (key_len, key_len + 4),
        2 => match varint(rest)? {
            Some((n, n_len)) => {
                let payload = key_len + n_len;
                let len = usize::try_from(n)
                    .ok()
                    .filter(|&n| n <= limit)
                    .and_then(|n| payload.checked_add(n))
                    .ok_or(Error::ValueTooLarge { len: n, limit })?;
                (payload, len)
            }
            None => return Ok(None),
        },
        wire_type => return Err(Error::WireType { field: number, wire_type: wire_type as u8 }),
    };
    Ok(Some(Header { number, delimited: key & 7 == 2, payload, len }))
}

/// A varint at the start of `buf` and its length, `None` when `buf` ends inside it.
fn varint(buf: &[u8]) -> Result<Option<(u64, usize)>, Error> {
    let mut value = 0u64;
    for (i, &b) in buf.iter().enumerate().take(10) {
        if i == 9 && b > 1 {
            return Err(Error::Varint);
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= 10 { Err(Error::Varint) } else { Ok(None) }
}

fn type_meta(buf: &[u8]) -> Result<(&str, &str), Error> {
    let (mut api_version, mut kind) = ("", "");
    for field in fields(buf) {
        match field? {
            (1, Value::Bytes(v)) => api_version = utf8(v)?,
            (2, Value::Bytes(k)) => kind = utf8(k)?,
            _ => {}
        }
    }
    Ok((api_version, kind))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;

    use super::{
        super::envelope::tests::{bytes_field as b, envelope, varint_field},
        *,
    };

    fn list(n: usize) -> Vec<u8> {
        let meta = [b(2, b"42"), b(3, b"next")].concat();
        let mut raw = b(1, &meta);
        for i in 0..n {
            raw.extend(b(2, &b(1, &b(1, format!("cm-{i}").as_bytes()))));
        }
        raw.extend(varint_field(9, 1));
        envelope("v1", "ConfigMapList", &raw)
    }

    fn read(body: &[u8], chunk: usize, limit: usize) -> Result<(Vec<String>, ListMeta), Error> {
        let mut reader = ListReader::with_limit(limit);
        let mut names = Vec::new();
        for c in body.chunks(chunk.max(1)) {
            reader.push(c);
            while let ListPart::Item(cm) = reader.next::<ConfigMap>(Options::default())? {
                names.push(cm?.metadata.name.unwrap_or_default());
            }
        }
        Ok((names, reader.finish(Options::default())?))
    }

    #[test]
    fn items_come_out_however_the_body_is_chunked() {
        let body = list(5);
        for chunk in [1, 2, 3, 7, 64, body.len()] {
            let (names, meta) = read(&body, chunk, 1 << 20).unwrap();
            assert_eq!(names, ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4"], "chunks of {chunk}");
            assert_eq!(meta.continue_.as_deref(), Some("next"));
        }
        assert_eq!(read(&list(0), 1, 1 << 20).unwrap().0.len(), 0);
    }

    #[test]
    fn a_list_longer_than_the_limit_is_read_when_each_item_is_within_it() {
        let body = list(50);
        assert!(body.len() > 400);
        let (names, _) = read(&body, 64, 24).unwrap();
        assert_eq!(names.len(), 50);
    }

    #[test]
    fn cut_oversized_and_wrong_bodies_are_errors() {
        let body = list(3);
        for len in 0..body.len() {
            assert!(read(&body[..len], 5, 1 << 20).is_err(), "cut at {len}");
        }
        assert!(matches!(read(&body, 5, 8), Err(Error::ValueTooLarge { limit: 8, .. })));
        assert!(matches!(read(&body, 5, 16), Err(Error::ValueTooLarge { limit: 16, .. })), "the type");
        assert!(matches!(read(b"{\"items\":[]}", 5, 100), Err(Error::Magic)));
        assert!(matches!(read(&envelope("v1", "Pod", &[]), 5, 100), Err(Error::NotAList(_))));
        let mut gz = list(1);
        gz.extend(b(3, b"gzip"));
        assert!(matches!(read(&gz, 4, 100), Err(Error::ContentEncoding(_))));
    }
}
