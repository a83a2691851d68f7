//! Decoding a LIST response item by item as its bytes arrive: a list of any size takes the
//! memory of one item at a time, never the whole body plus every decoded object at once (the API
//! server may answer a list of 10,000 Pods in one response whatever page size was asked for).
//!
//! The body is scanned, not parsed: the scanner follows JSON's strings and nesting to find where
//! each element of `items` starts and ends, hands the element's bytes to the one
//! [`decode`] function, and decodes the list's `metadata` (resourceVersion,
//! continue token) wherever it stands in the object.

use std::collections::VecDeque;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use kube_core::ListMeta;
use serde::de::DeserializeOwned;

use super::decode::{DecodeOptions, decode};
use crate::Error;

/// The most bytes one list item (or one other member of the list object, or a run of whitespace)
/// may take. Far above the API server's own object size limit (etcd's 1.5 MiB by default), low
/// enough that a broken or hostile server cannot exhaust memory.
pub const MAX_LIST_VALUE_BYTES: usize = 64 * 1024 * 1024;

/// A part of a list response, in the order it was read.
#[derive(Debug, Clone, PartialEq)]
pub enum ListPart<T> {
    /// One element of `items`.
    Item(T),
    /// The list is complete: its metadata (resourceVersion, continue token, remaining count).
    End(ListMeta),
}

/// Decodes the list in `body` (read from `uri`) item by item.
///
/// An item that does not decode is yielded as an error and the list goes on with the next one;
/// a body that is not a JSON object with an `items` array, that breaks off, or that has a value
/// larger than [`MAX_LIST_VALUE_BYTES`] ends the stream with an error. The last part of a
/// complete list is always [`ListPart::End`].
pub fn list_items<T, S>(
    body: S,
    uri: String,
    options: DecodeOptions,
) -> impl Stream<Item = Result<ListPart<T>, Error>> + Send
where
    T: DeserializeOwned + Send,
    S: Stream<Item = Result<Bytes, Error>> + Send,
{
    list_items_limited(body, uri, options, MAX_LIST_VALUE_BYTES)
}

fn list_items_limited<T, S>(
    body: S,
    uri: String,
    options: DecodeOptions,
    limit: usize,
) -> impl Stream<Item = Result<ListPart<T>, Error>> + Send
where
    T: DeserializeOwned + Send,
    S: Stream<Item = Result<Bytes, Error>> + Send,
{
    let reader =
        Reader { body: Box::pin(body), scanner: Scanner::new(limit), pending: VecDeque::new(), done: false };
    futures::stream::unfold(reader, move |mut reader| {
        let uri = uri.clone();
        async move {
            let part = reader.next(&uri).await?;
            let part = part.and_then(|raw| match raw {
                Raw::Item(bytes) => decode(&bytes, &uri, options).map(ListPart::Item),
                Raw::End(meta) => Ok(ListPart::End(*meta)),
            });
            Some((part, reader))
        }
    })
}

#[cfg(feature = "protobuf")]
/// Decodes a protobuf list body (read from `uri`) item by item as its bytes arrive, like
/// [`list_items`] does JSON: memory stays at one item. An item that does not decode is yielded
/// as an error and the list goes on; a malformed body, an item over [`MAX_LIST_VALUE_BYTES`] or
/// a body that breaks off ends the stream with an error. The last part of a complete list is
/// always [`ListPart::End`].
pub fn protobuf_list_items<T, S>(
    body: S,
    uri: String,
    options: DecodeOptions,
) -> impl Stream<Item = Result<ListPart<T>, Error>> + Send
where
    T: DeserializeOwned + Send,
    S: Stream<Item = Result<Bytes, Error>> + Send,
{
    let list = ProtobufList {
        reader: kube_core::protobuf::ListReader::with_limit(MAX_LIST_VALUE_BYTES),
        uri,
        options,
        item: std::marker::PhantomData,
    };
    super::chunked::items(body, list)
}

/// The protobuf list reader with what its errors name.
#[cfg(feature = "protobuf")]
struct ProtobufList<T> {
    reader: kube_core::protobuf::ListReader,
    uri: String,
    options: DecodeOptions,
    item: std::marker::PhantomData<fn() -> T>,
}

#[cfg(feature = "protobuf")]
impl<T> ProtobufList<T> {
    fn failed(&self, e: kube_core::protobuf::Error) -> Error {
        super::decode::protobuf_error(&self.uri, &e, None)
    }
}

#[cfg(feature = "protobuf")]
impl<T: DeserializeOwned> super::chunked::Incremental for ProtobufList<T> {
    type Item = ListPart<T>;

    fn next_item(&mut self) -> Result<Option<Result<ListPart<T>, Error>>, Error> {
        use kube_core::protobuf::ListPart as Part;
        match self.reader.next::<T>(self.options.into()) {
            Ok(Part::Item(item)) => Ok(Some(item.map(ListPart::Item).map_err(|e| self.failed(e)))),
            Ok(Part::NeedMore) => Ok(None),
            Err(e) => Err(self.failed(e)),
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        self.reader.push(chunk);
    }

    fn finish(&mut self) -> Option<Result<ListPart<T>, Error>> {
        Some(self.reader.finish(self.options.into()).map(ListPart::End).map_err(|e| self.failed(e)))
    }
}

struct Reader<S> {
    body: std::pin::Pin<Box<S>>,
    scanner: Scanner,
    pending: VecDeque<Raw>,
    done: bool,
}

impl<S: Stream<Item = Result<Bytes, Error>>> Reader<S> {
    async fn next(&mut self, uri: &str) -> Option<Result<Raw, Error>> {
        loop {
            if let Some(raw) = self.pending.pop_front() {
                return Some(Ok(raw));
            }
            if self.done {
                return None;
            }
            let failed = match self.body.next().await {
                Some(Ok(chunk)) => self.scanner.feed(&chunk, &mut self.pending).err(),
                Some(Err(e)) => Some(Failure::Transport(e)),
                None if self.scanner.finished() => {
                    self.done = true;
                    continue;
                }
                None => Some(Failure::Malformed("the body ended before the list was complete".into())),
            };
            if let Some(failure) = failed {
                self.done = true;
                self.pending.clear();
                return Some(Err(failure.into_error(uri)));
            }
        }
    }
}

/// Why a list could not be read.
enum Failure {
    Transport(Error),
    Malformed(String),
}

impl Failure {
    fn into_error(self, uri: &str) -> Error {
        match self {
            Self::Transport(e) => e,
            Self::Malformed(why) => {
                Error::Decode { uri: uri.to_string(), source: format!("malformed list: {why}").into() }
            }
        }
    }
}

/// What the scanner found.
enum Raw {
    Item(Vec<u8>),
    End(Box<ListMeta>),
}

/// Where the scanner is in the list object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Before the opening `{`.
    Start,
    /// After `{`: a key or `}`.
    FirstKey,
    /// After `,` between members: a key.
    Key,
    /// Inside a key (captured).
    InKey,
    /// After a key: `:`.
    Colon,
    /// After `:`: the member's value.
    Value,
    /// Inside a member's value (captured).
    InValue,
    /// After `[` of `items`: an item or `]`.
    FirstItem,
    /// After `,` between items: an item.
    Item,
    /// Inside an item (captured).
    InItem,
    /// After an item: `,` or `]`.
    AfterItem,
    /// After a member: `,` or `}`.
    AfterMember,
    /// After the closing `}`: only whitespace may follow.
    Done,
}

/// Which member a value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    Items,
    Metadata,
    Other,
}

/// The nesting of the value being captured.
#[derive(Debug, Default)]
struct Capture {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// A number, `true`, `false` or `null`: ends before the next delimiter.
    scalar: bool,
}

struct Scanner {
    at: At,
    member: Member,
    capture: Capture,
    /// The bytes of the key, member value or item being captured.
    value: Vec<u8>,
    /// Whitespace skipped since the last token.
    gap: usize,
    limit: usize,
    /// The list's metadata, once read.
    meta: Option<ListMeta>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

impl Scanner {
    fn new(limit: usize) -> Self {
        Self {
            at: At::Start,
            member: Member::Other,
            capture: Capture::default(),
            value: Vec::new(),
            gap: 0,
            limit,
            meta: None,
        }
    }

    fn finished(&self) -> bool {
        self.at == At::Done
    }

    fn feed(&mut self, chunk: &[u8], out: &mut VecDeque<Raw>) -> Result<(), Failure> {
        let mut i = 0;
        while i < chunk.len() {
            if matches!(self.at, At::InKey | At::InValue | At::InItem) {
                let (used, complete) = self.capture(&chunk[i..])?;
                i += used;
                if complete {
                    self.completed(out)?;
                }
                continue;
            }
            let b = chunk[i];
            if is_space(b) {
                self.gap += 1;
                if self.gap > self.limit {
                    return Err(Failure::Malformed(format!("more than {} bytes of whitespace", self.limit)));
                }
                i += 1;
                continue;
            }
            self.gap = 0;
            let consumed = self.token(b, out)?;
            if consumed {
                i += 1;
            }
        }
        Ok(())
    }

    /// Handles a byte outside any captured value; `false` when the byte starts a value and must
    /// be read again by the capture.
    fn token(&mut self, b: u8, out: &mut VecDeque<Raw>) -> Result<bool, Failure> {
        let next = match (self.at, b) {
            (At::Start, b'{') => At::FirstKey,
            (At::FirstKey | At::AfterMember, b'}') => {
                out.push_back(Raw::End(Box::new(self.meta.take().unwrap_or_default())));
                At::Done
            }
            (At::FirstKey | At::Key, b'"') => return Ok(self.start(At::InKey)),
            (At::Colon, b':') => At::Value,
            (At::Value, b'[') if self.member == Member::Items => At::FirstItem,
            (At::Value, _) => return Ok(self.start(At::InValue)),
            (At::FirstItem, b']') | (At::AfterItem, b']') => At::AfterMember,
            (At::FirstItem | At::Item, _) => return Ok(self.start(At::InItem)),
            (At::AfterItem, b',') => At::Item,
            (At::AfterMember, b',') => At::Key,
            (At::Done, _) => return Err(Failure::Malformed("data after the end of the list".into())),
            (at, b) => {
                return Err(Failure::Malformed(format!("unexpected byte 0x{b:02x} ({})", describe(at))));
            }
        };
        self.at = next;
        Ok(true)
    }

    /// Starts capturing a value at `at`; the byte that starts it is read by the capture.
    fn start(&mut self, at: At) -> bool {
        self.at = at;
        self.value.clear();
        self.capture = Capture::default();
        false
    }

    /// Reads the captured value's bytes from `chunk`: how many it used, and whether the value
    /// is complete.
    fn capture(&mut self, chunk: &[u8]) -> Result<(usize, bool), Failure> {
        let c = &mut self.capture;
        let mut i = 0;
        let mut complete = false;
        if self.value.is_empty() {
            match chunk[0] {
                b'"' => c.in_string = true,
                b'{' | b'[' => c.depth = 1,
                _ => c.scalar = true,
            }
            i = 1;
            self.value.push(chunk[0]);
        }
        let start = if c.scalar { 0 } else { i };
        if c.scalar {
            // The first byte (if just read) is part of the scalar; it ends before a delimiter.
            let end = chunk[i..]
                .iter()
                .position(|&b| is_space(b) || matches!(b, b',' | b']' | b'}'))
                .map(|p| i + p);
            let upto = end.unwrap_or(chunk.len());
            self.value.extend_from_slice(&chunk[i..upto]);
            i = upto;
            complete = end.is_some();
        } else {
            while i < chunk.len() {
                if c.in_string {
                    if c.escaped {
                        c.escaped = false;
                        i += 1;
                        continue;
                    }
                    match memchr::memchr2(b'"', b'\\', &chunk[i..]) {
                        None => i = chunk.len(),
                        Some(p) => {
                            i += p;
                            if chunk[i] == b'\\' {
                                c.escaped = true;
                            } else {
                                c.in_string = false;
                                if c.depth == 0 {
                                    i += 1;
                                    complete = true;
                                    break;
                                }
                            }
                            i += 1;
                        }
                    }
                    continue;
                }
                match chunk[i] {
                    b'"' => c.in_string = true,
                    b'{' | b'[' => c.depth += 1,
                    b'}' | b']' => {
                        c.depth = c.depth.saturating_sub(1);
                        if c.depth == 0 {
                            i += 1;
                            complete = true;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            self.value.extend_from_slice(&chunk[start..i]);
        }
        if self.value.len() > self.limit {
            return Err(Failure::Malformed(format!("a value larger than {} bytes", self.limit)));
        }
        Ok((i, complete))
    }

    /// A captured key, value or item is complete.
    fn completed(&mut self, out: &mut VecDeque<Raw>) -> Result<(), Failure> {
        match self.at {
            At::InKey => {
                self.member = match self.value.as_slice() {
                    b"\"items\"" => Member::Items,
                    b"\"metadata\"" => Member::Metadata,
                    _ => Member::Other,
                };
                self.at = At::Colon;
            }
            At::InValue => {
                if self.member == Member::Metadata {
                    let meta = serde_json::from_slice::<ListMeta>(&self.value)
                        .map_err(|e| Failure::Malformed(format!("the list's metadata: {e}")))?;
                    self.meta = Some(meta);
                }
                self.at = At::AfterMember;
            }
            At::InItem => {
                out.push_back(Raw::Item(std::mem::take(&mut self.value)));
                self.at = At::AfterItem;
            }
            _ => {}
        }
        Ok(())
    }
}

fn describe(at: At) -> &'static str {
    match at {
        At::Start => "expected the list's opening brace",
        At::FirstKey | At::Key => "expected a member name",
        At::Colon => "expected a colon",
        At::AfterItem => "expected a comma or the end of items",
        At::AfterMember => "expected a comma or the end of the list",
        _ => "inside the list",
    }
}

#[cfg(test)]
mod tests {
    use futures::{executor::block_on, stream};
    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;

    fn list_json(n: usize, meta_first: bool) -> String {
        let items: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"metadata":{{"name":"cm-{i}","namespace":"ns","managedFields":[{{"manager":"m"}}]}},"data":{{"k":"v {{[\"quoted\"]}} \\"}}}}"#
                )
            })
            .collect();
        let meta = r#""metadata":{"resourceVersion":"42","continue":"next"}"#;
        let items = format!(r#""items":[ {} ]"#, items.join(" ,\n"));
        if meta_first {
            format!(r#"{{"kind":"ConfigMapList","apiVersion":"v1",{meta},{items}}}"#)
        } else {
            format!("{{ {items} , {meta}, \"kind\" : \"ConfigMapList\" }}\n")
        }
    }

    fn read(
        chunks: Vec<Bytes>,
        options: DecodeOptions,
        limit: usize,
    ) -> Vec<Result<ListPart<ConfigMap>, Error>> {
        let body = stream::iter(chunks.into_iter().map(Ok));
        block_on(list_items_limited(body, "/api/v1/configmaps".into(), options, limit).collect())
    }

    fn chunked(text: &str, size: usize) -> Vec<Bytes> {
        text.as_bytes().chunks(size).map(Bytes::copy_from_slice).collect()
    }

    #[test]
    fn items_and_metadata_however_the_bytes_are_chunked() {
        for meta_first in [true, false] {
            let text = list_json(3, meta_first);
            for size in [1, 2, 3, 5, 7, 16, 100, text.len()] {
                let parts = read(chunked(&text, size), DecodeOptions::default(), MAX_LIST_VALUE_BYTES);
                assert_eq!(parts.len(), 4, "chunks of {size}: {parts:?}");
                for (i, part) in parts[..3].iter().enumerate() {
                    let Ok(ListPart::Item(cm)) = part else { panic!("item {i}: {part:?}") };
                    assert_eq!(cm.metadata.name.as_deref(), Some(format!("cm-{i}").as_str()));
                    assert_eq!(cm.data.as_ref().unwrap()["k"], r#"v {["quoted"]} \"#);
                    assert_eq!(cm.metadata.managed_fields.as_ref().map(Vec::len), Some(1));
                }
                let Ok(ListPart::End(meta)) = &parts[3] else { panic!("end: {:?}", parts[3]) };
                assert_eq!(meta.resource_version.as_deref(), Some("42"));
                assert_eq!(meta.continue_.as_deref(), Some("next"));
            }
        }
    }

    #[test]
    fn managed_fields_can_be_dropped_per_item() {
        let parts =
            read(chunked(&list_json(2, true), 9), DecodeOptions::default().drop_managed_fields(), 1 << 20);
        for part in &parts[..2] {
            let Ok(ListPart::Item(cm)) = part else { panic!("{part:?}") };
            assert!(cm.metadata.managed_fields.is_none());
        }
    }

    #[test]
    fn empty_and_null_item_lists() {
        for text in [
            r#"{"metadata":{"resourceVersion":"1"},"items":[]}"#,
            r#"{"items":null,"metadata":{"resourceVersion":"1"}}"#,
            r#"{"metadata":{"resourceVersion":"1"}}"#,
        ] {
            let parts = read(chunked(text, 4), DecodeOptions::default(), 1 << 20);
            assert_eq!(parts.len(), 1, "{text}");
            assert!(
                matches!(&parts[0], Ok(ListPart::End(m)) if m.resource_version.as_deref() == Some("1")),
                "{text}"
            );
        }
    }

    #[test]
    fn an_item_that_does_not_decode_is_an_error_and_the_list_goes_on() {
        let text = r#"{"items":[{"metadata":{"name":"a"}},{"metadata":"nope"},7,{"metadata":{"name":"b"}}],"metadata":{}}"#;
        let parts = read(chunked(text, 3), DecodeOptions::default(), 1 << 20);
        let kinds: Vec<&str> = parts
            .iter()
            .map(|p| match p {
                Ok(ListPart::Item(_)) => "item",
                Ok(ListPart::End(_)) => "end",
                Err(_) => "error",
            })
            .collect();
        assert_eq!(kinds, ["item", "error", "error", "item", "end"]);
    }

    #[test]
    fn broken_bodies_end_with_one_clear_error() {
        let cases = [
            ("", "ended before"),
            (r#"{"items":[{"metadata":{"name":"a"}}"#, "ended before"),
            (r#"{"items":[{"metadata":{"name":"a"}}]"#, "ended before"),
            (r#"["not", "a", "list"]"#, "unexpected byte"),
            (r#"{"items":[{"metadata":{"name":"a"}}] x}"#, "unexpected byte"),
            (r#"{"items":[]}{}"#, "after the end"),
            (r#"{"items":[], "metadata": 7}"#, "metadata"),
        ];
        for (text, want) in cases {
            let parts = read(chunked(text, 5), DecodeOptions::default(), 1 << 20);
            let last = parts.last().unwrap_or_else(|| panic!("{text}: nothing"));
            let msg = last.as_ref().unwrap_err().to_string();
            assert!(msg.contains(want) && msg.contains("/api/v1/configmaps"), "{text}: {msg}");
            assert!(parts[..parts.len() - 1].iter().all(Result::is_ok), "{text}: one error, at the end");
        }
    }

    #[test]
    fn endless_whitespace_or_a_huge_value_is_an_error_not_unbounded_memory() {
        // A body that never ends: whitespace forever. The scanner keeps nothing of it and stops
        // at the limit.
        let spaces = Bytes::from(vec![b' '; 4096]);
        let body = stream::iter(
            std::iter::once(Bytes::from_static(b"{\"items\": [")).chain(std::iter::repeat(spaces)).map(Ok),
        );
        let parts: Vec<Result<ListPart<ConfigMap>, Error>> =
            block_on(list_items_limited(body, "/u".into(), DecodeOptions::default(), 1 << 20).collect());
        assert_eq!(parts.len(), 1);
        assert!(parts[0].as_ref().unwrap_err().to_string().contains("whitespace"));
        // One item larger than the limit, arriving forever.
        let filler = Bytes::from(vec![b'a'; 4096]);
        let body = stream::iter(
            std::iter::once(Bytes::from_static(b"{\"items\": [{\"data\":{\"k\":\""))
                .chain(std::iter::repeat(filler))
                .map(Ok),
        );
        let parts: Vec<Result<ListPart<ConfigMap>, Error>> =
            block_on(list_items_limited(body, "/u".into(), DecodeOptions::default(), 1 << 20).collect());
        assert_eq!(parts.len(), 1);
        assert!(parts[0].as_ref().unwrap_err().to_string().contains("larger than"));
    }

    #[test]
    fn the_same_objects_as_decoding_the_whole_list() {
        let text = list_json(50, true);
        let whole: kube_core::ObjectList<ConfigMap> = serde_json::from_str(&text).unwrap();
        let parts = read(chunked(&text, 1000), DecodeOptions::default(), 1 << 20);
        let items: Vec<ConfigMap> = parts
            .into_iter()
            .filter_map(|p| match p.unwrap() {
                ListPart::Item(cm) => Some(cm),
                ListPart::End(_) => None,
            })
            .collect();
        assert_eq!(items, whole.items);
    }

    #[cfg(feature = "protobuf")]
    mod protobuf_tests {
        use super::*;

        fn pb_chunks(bytes: &[u8], size: usize) -> impl Stream<Item = Result<Bytes, Error>> + Send + use<> {
            stream::iter(bytes.chunks(size).map(|c| Ok(Bytes::copy_from_slice(c))).collect::<Vec<_>>())
        }

        fn fixture(name: &str) -> Vec<u8> {
            std::fs::read(format!(
                "{}/../kube-core/tests/fixtures/{name}",
                std::env::var("CARGO_MANIFEST_DIR").unwrap()
            ))
            .unwrap()
        }

        #[test]
        fn protobuf_lists_give_the_same_parts_as_json() {
            let (pb, json) = (fixture("configmap-list-page.pb"), fixture("configmap-list-page.pb.json"));
            let read_all = |options| {
                let from_pb: Vec<_> = block_on(
                    protobuf_list_items::<ConfigMap, _>(pb_chunks(&pb, 5), "/u".into(), options).collect(),
                );
                let from_json = read(vec![Bytes::from(json.clone())], options, MAX_LIST_VALUE_BYTES);
                let ok = |parts: Vec<Result<ListPart<ConfigMap>, Error>>| {
                    parts.into_iter().map(Result::unwrap).collect::<Vec<_>>()
                };
                (ok(from_pb), ok(from_json))
            };
            let (from_pb, from_json) = read_all(DecodeOptions::default());
            assert!(from_pb.len() > 1 && matches!(from_pb.last(), Some(ListPart::End(_))));
            assert_eq!(from_pb, from_json);
            let (from_pb, from_json) = read_all(DecodeOptions::default().drop_managed_fields());
            assert_eq!(from_pb, from_json);
        }

        #[test]
        fn a_malformed_protobuf_list_ends_with_an_error() {
            let mut pb = fixture("configmap-list-page.pb");
            pb.truncate(pb.len() - 3);
            let parts: Vec<_> = block_on(
                protobuf_list_items::<ConfigMap, _>(
                    pb_chunks(&pb, 64),
                    "/api/v1/configmaps".into(),
                    Default::default(),
                )
                .collect(),
            );
            let err = parts.iter().find_map(|p| p.as_ref().err()).expect("an error");
            assert!(err.to_string().contains("/api/v1/configmaps"), "{err}");
            assert!(parts.last().unwrap().is_err(), "the error ends the list");
            let not_pb: Vec<_> = block_on(
                protobuf_list_items::<ConfigMap, _>(pb_chunks(b"{}", 1), "/u".into(), Default::default())
                    .collect(),
            );
            assert_eq!(not_pb.len(), 1);
            assert!(not_pb[0].as_ref().unwrap_err().to_string().contains("magic"));
        }
    }
}
