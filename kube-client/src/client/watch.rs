//! Decoding a watch response: newline-delimited `{"type", "object"}` events in JSON, or
//! length-prefixed `WatchEvent` frames in protobuf.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use kube_core::WatchEvent;
use serde::de::DeserializeOwned;

use crate::{
    Error,
    client::{
        decode::{DecodeOptions, decode},
        lines::Lines,
    },
};

/// The events of a watch response body, in order. A line that does not decode yields an error
/// and the stream goes on with the next line; an `ERROR` event is yielded as
/// [`WatchEvent::Error`] with the server's `Status`. The stream ends when the server closes it.
pub fn events<K, S>(
    body: S,
    uri: String,
    options: DecodeOptions,
) -> impl Stream<Item = Result<WatchEvent<K>, Error>> + Send
where
    K: DeserializeOwned + Send,
    S: Stream<Item = Result<Bytes, Error>> + Send,
{
    let path = uri.clone();
    Lines::new(body, uri).map(move |line| line.and_then(|l| decode(&l, &path, options)))
}

#[cfg(feature = "protobuf")]
/// The events of a protobuf watch body (`application/vnd.kubernetes.protobuf;stream=watch`):
/// frames of a 4-byte big-endian length and a `WatchEvent` whose object is an embedded
/// envelope. A frame that does not decode yields an error and the stream goes on; a length
/// over [`MAX_FRAME_BYTES`](kube_core::protobuf::MAX_FRAME_BYTES), a transport error or a
/// body that ends inside a frame yields an error and ends the stream.
pub fn protobuf_events<K, S>(
    body: S,
    uri: String,
    options: DecodeOptions,
) -> impl Stream<Item = Result<WatchEvent<K>, Error>> + Send
where
    K: DeserializeOwned + Send,
    S: Stream<Item = Result<Bytes, Error>> + Send,
{
    let frames = ProtobufWatch {
        frames: kube_core::protobuf::FrameDecoder::default(),
        uri,
        options,
        event: std::marker::PhantomData,
    };
    crate::client::chunked::items(body, frames)
}

/// The protobuf watch framer with what its errors name.
#[cfg(feature = "protobuf")]
struct ProtobufWatch<K> {
    frames: kube_core::protobuf::FrameDecoder,
    uri: String,
    options: DecodeOptions,
    event: std::marker::PhantomData<fn() -> K>,
}

#[cfg(feature = "protobuf")]
impl<K: DeserializeOwned> crate::client::chunked::Incremental for ProtobufWatch<K> {
    type Item = WatchEvent<K>;

    fn next_item(&mut self) -> Result<Option<Result<WatchEvent<K>, Error>>, Error> {
        use crate::client::decode::protobuf_error;
        match self.frames.next_frame() {
            Ok(Some(frame)) => Ok(Some(
                kube_core::protobuf::watch_event(&frame, self.options.into())
                    .map_err(|e| protobuf_error(&self.uri, &e, Some(frame.len()))),
            )),
            Ok(None) => Ok(None),
            Err(e) => Err(protobuf_error(&self.uri, &e, None)),
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        self.frames.push(chunk);
    }

    fn finish(&mut self) -> Option<Result<WatchEvent<K>, Error>> {
        let cut_off = self.frames.finish().err()?;
        Some(Err(crate::client::decode::protobuf_error(&self.uri, &cut_off, None)))
    }
}

#[cfg(test)]
mod tests {
    use futures::{executor::block_on, stream};
    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;

    const EVENTS: &str = concat!(
        r#"{"type":"ADDED","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"1"}}}"#,
        "\n",
        r#"{"type":"MODIFIED","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"2"},"data":{"k":"v"}}}"#,
        "\n",
        r#"{"type":"BOOKMARK","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"resourceVersion":"3"}}}"#,
        "\n",
        r#"{"type":"DELETED","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"4"}}}"#,
        "\n",
        r#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}}"#,
        "\n"
    );

    fn decode(chunks: Vec<Bytes>) -> Vec<Result<WatchEvent<ConfigMap>, Error>> {
        let body = stream::iter(chunks.into_iter().map(Ok));
        block_on(events(body, "/api/v1/configmaps".into(), DecodeOptions::default()).collect())
    }

    fn types(evs: &[Result<WatchEvent<ConfigMap>, Error>]) -> Vec<&'static str> {
        evs.iter().map(|e| e.as_ref().map(WatchEvent::type_name).unwrap_or("decode-error")).collect()
    }

    #[test]
    fn events_decode_however_the_bytes_are_chunked() {
        let want = ["ADDED", "MODIFIED", "BOOKMARK", "DELETED", "ERROR"];
        let bytes = EVENTS.as_bytes();
        for size in [1, 2, 3, 7, 64, 100, 1000, bytes.len()] {
            let chunks = bytes.chunks(size).map(Bytes::copy_from_slice).collect();
            assert_eq!(types(&decode(chunks)), want, "chunks of {size}");
        }
        // Many events in one chunk, then an event across many.
        let evs = decode(vec![Bytes::from(EVENTS)]);
        match &evs[4] {
            Ok(WatchEvent::Error(s)) => assert!(s.is_gone()),
            other => panic!("expected an ERROR event, got {other:?}"),
        }
        match &evs[1] {
            Ok(WatchEvent::Modified(cm)) => assert_eq!(cm.data.as_ref().unwrap()["k"], "v"),
            other => panic!("expected MODIFIED, got {other:?}"),
        }
    }

    #[test]
    fn garbage_lines_are_errors_and_the_stream_goes_on() {
        let text =
            format!("not json\n{}\n{{\"type\":\"NOPE\",\"object\":{{}}}}\n", EVENTS.lines().next().unwrap());
        let evs = decode(vec![Bytes::from(text)]);
        assert_eq!(types(&evs), ["decode-error", "ADDED", "decode-error"]);
        let msg = evs[0].as_ref().unwrap_err().to_string();
        assert!(msg.contains("/api/v1/configmaps") && msg.contains("8 bytes"), "{msg}");
        assert!(!msg.contains("not json"), "no excerpt of the data: {msg}");
    }

    #[test]
    fn a_closed_stream_ends_cleanly_even_without_a_final_newline() {
        let first = EVENTS.lines().next().unwrap();
        assert_eq!(types(&decode(vec![Bytes::from(first.to_string())])), ["ADDED"]);
        assert!(decode(vec![]).is_empty());
    }

    #[cfg(feature = "protobuf")]
    mod protobuf_tests {
        use super::*;

        /// Protobuf: a field of `data`, then a watch frame of `type` holding `envelope`.
        fn pb_field(number: u64, data: &[u8]) -> Vec<u8> {
            let mut out = Vec::new();
            for mut v in [number << 3 | 2, data.len() as u64] {
                while v >= 0x80 {
                    out.push((v as u8 & 0x7f) | 0x80);
                    v >>= 7;
                }
                out.push(v as u8);
            }
            out.extend_from_slice(data);
            out
        }

        fn pb_frame(kind: &str, envelope: &[u8]) -> Vec<u8> {
            let event = [pb_field(1, kind.as_bytes()), pb_field(2, &pb_field(1, envelope))].concat();
            [(event.len() as u32).to_be_bytes().to_vec(), event].concat()
        }

        fn configmap_envelope() -> Vec<u8> {
            std::fs::read(format!(
                "{}/../kube-core/tests/fixtures/configmap.pb",
                std::env::var("CARGO_MANIFEST_DIR").unwrap()
            ))
            .unwrap()
        }

        fn decode_pb(chunks: Vec<Bytes>) -> Vec<Result<WatchEvent<ConfigMap>, Error>> {
            let body = stream::iter(chunks.into_iter().map(Ok));
            block_on(protobuf_events(body, "/api/v1/configmaps".into(), DecodeOptions::default()).collect())
        }

        #[test]
        fn protobuf_frames_decode_however_the_bytes_are_chunked() {
            let cm = configmap_envelope();
            let bytes =
                [pb_frame("ADDED", &cm), pb_frame("MODIFIED", &cm), pb_frame("DELETED", &cm)].concat();
            for size in [1, 3, 4, 5, 64, 1000, bytes.len()] {
                let chunks = bytes.chunks(size).map(Bytes::copy_from_slice).collect();
                assert_eq!(types(&decode_pb(chunks)), ["ADDED", "MODIFIED", "DELETED"], "chunks of {size}");
            }
            let want: ConfigMap = kube_core::protobuf::from_envelope(&cm, Default::default()).unwrap();
            match &decode_pb(vec![Bytes::from(bytes)])[0] {
                Ok(WatchEvent::Added(got)) => assert_eq!(got, &want),
                other => panic!("expected ADDED, got {other:?}"),
            }
        }

        #[test]
        fn bad_protobuf_frames_are_errors_and_framing_errors_end_the_stream() {
            let cm = configmap_envelope();
            // A frame that does not decode, then a good one: the stream goes on.
            let garbage = [4u32.to_be_bytes().to_vec(), vec![0xff; 4]].concat();
            let evs = decode_pb(vec![Bytes::from([garbage, pb_frame("ADDED", &cm)].concat())]);
            assert_eq!(types(&evs), ["decode-error", "ADDED"]);
            let msg = evs[0].as_ref().unwrap_err().to_string();
            assert!(msg.contains("/api/v1/configmaps") && msg.contains("protobuf"), "{msg}");
            // A length over the limit: an error, nothing allocated, and the end.
            let huge = [u32::MAX.to_be_bytes().to_vec(), pb_frame("ADDED", &cm)].concat();
            let evs = decode_pb(vec![Bytes::from(huge)]);
            assert_eq!(types(&evs), ["decode-error"]);
            assert!(evs[0].as_ref().unwrap_err().to_string().contains("over the limit"));
            // A body that ends inside a frame.
            let mut cut = pb_frame("ADDED", &cm);
            cut.truncate(cut.len() - 2);
            let evs = decode_pb(vec![Bytes::from([pb_frame("ADDED", &cm), cut].concat())]);
            assert_eq!(types(&evs), ["ADDED", "decode-error"]);
            assert!(decode_pb(vec![]).is_empty());
        }
    }
}
