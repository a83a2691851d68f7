//! The envelope of every protobuf body: the magic `k8s\0`, then a `runtime.Unknown` with the
//! object's apiVersion and kind and its encoded bytes.

use super::{
    Error,
    wire::{Value, fields},
};

/// The four bytes every protobuf body starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// A decoded envelope (`runtime.Unknown`), borrowing from the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Envelope<'a> {
    /// The object's apiVersion (`v1`, `apps/v1`).
    pub api_version: &'a str,
    /// The object's kind (`Pod`, `PodList`, `Status`).
    pub kind: &'a str,
    /// The object, encoded as `content_type` says.
    pub raw: &'a [u8],
    /// Empty: the raw bytes are not compressed (the only encoding the API server writes).
    pub content_encoding: &'a str,
    /// Empty or `application/vnd.kubernetes.protobuf`: the raw bytes are a protobuf message.
    pub content_type: &'a str,
}

impl<'a> Envelope<'a> {
    /// Reads the envelope at the start of `body`.
    ///
    /// Errors: the magic is missing, the envelope is malformed, or it holds anything but an
    /// uncompressed protobuf message.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let unknown = body.strip_prefix(MAGIC.as_slice()).ok_or(Error::Magic)?;
        let mut env = Envelope::default();
        for field in fields(unknown) {
            match field? {
                (1, Value::Bytes(type_meta)) => {
                    for field in fields(type_meta) {
                        match field? {
                            (1, Value::Bytes(v)) => env.api_version = utf8(v)?,
                            (2, Value::Bytes(k)) => env.kind = utf8(k)?,
                            _ => {}
                        }
                    }
                }
                (2, Value::Bytes(raw)) => env.raw = raw,
                (3, Value::Bytes(e)) => env.content_encoding = utf8(e)?,
                (4, Value::Bytes(t)) => env.content_type = utf8(t)?,
                (1..=4, other) => return Err(Error::EnvelopeField(other.wire_name())),
                _ => {}
            }
        }
        if !env.content_encoding.is_empty() {
            return Err(Error::ContentEncoding(env.content_encoding.to_string()));
        }
        if !env.content_type.is_empty() && !is_protobuf(env.content_type) {
            return Err(Error::ContentType(env.content_type.to_string()));
        }
        Ok(env)
    }
}

/// Whether a media type (a Content-Type header, without regard to parameters) is Kubernetes
/// protobuf.
pub fn is_protobuf(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case(super::CONTENT_TYPE)
}

pub(crate) fn utf8(b: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(b).map_err(|_| Error::Utf8)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Encodes a length-delimited field (tests build their inputs with these).
    pub(crate) fn bytes_field(number: u32, data: &[u8]) -> Vec<u8> {
        let mut out = varint(u64::from(number) << 3 | 2);
        out.extend(varint(data.len() as u64));
        out.extend_from_slice(data);
        out
    }

    /// Encodes a varint field.
    pub(crate) fn varint_field(number: u32, v: u64) -> Vec<u8> {
        let mut out = varint(u64::from(number) << 3);
        out.extend(varint(v));
        out
    }

    pub(crate) fn varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            if v < 0x80 {
                out.push(v as u8);
                return out;
            }
            out.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
    }

    /// An envelope around `raw` for `api_version` and `kind`.
    pub(crate) fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let type_meta = [bytes_field(1, api_version.as_bytes()), bytes_field(2, kind.as_bytes())].concat();
        let mut out = MAGIC.to_vec();
        out.extend(bytes_field(1, &type_meta));
        out.extend(bytes_field(2, raw));
        out
    }

    #[test]
    fn reads_type_meta_and_raw() {
        let body = envelope("apps/v1", "Deployment", b"\x0a\x00");
        let env = Envelope::parse(&body).unwrap();
        assert_eq!((env.api_version, env.kind, env.raw), ("apps/v1", "Deployment", &b"\x0a\x00"[..]));
    }

    #[test]
    fn rejects_what_is_not_an_uncompressed_protobuf_envelope() {
        assert!(matches!(Envelope::parse(b"{\"kind\":\"Pod\"}"), Err(Error::Magic)));
        assert!(matches!(Envelope::parse(b"k8s"), Err(Error::Magic)));
        let mut gz = envelope("v1", "Pod", b"");
        gz.extend(bytes_field(3, b"gzip"));
        assert!(matches!(Envelope::parse(&gz), Err(Error::ContentEncoding(e)) if e == "gzip"));
        let mut json = envelope("v1", "Pod", b"{}");
        json.extend(bytes_field(4, b"application/json"));
        assert!(matches!(Envelope::parse(&json), Err(Error::ContentType(t)) if t == "application/json"));
        let mut truncated = envelope("v1", "Pod", b"abc");
        truncated.pop();
        assert!(matches!(Envelope::parse(&truncated), Err(Error::Truncated(_))));
        let wrong_wire = [MAGIC.to_vec(), varint_field(2, 7)].concat();
        assert!(matches!(Envelope::parse(&wrong_wire), Err(Error::EnvelopeField("varint"))));
    }

    #[test]
    fn unknown_envelope_fields_are_skipped() {
        let mut body = envelope("v1", "Pod", b"x");
        body.extend(varint_field(9, 1));
        assert_eq!(Envelope::parse(&body).unwrap().raw, b"x");
        assert!(is_protobuf("application/vnd.kubernetes.protobuf;stream=watch"));
        assert!(!is_protobuf("application/json"));
    }
}
