//! The protobuf wire format: varints, tags, length-delimited values, and skipping what is not
//! wanted. Everything borrows from the input; nothing is allocated.

use super::Error;

/// A value as it is on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    /// A length-delimited value: a string, bytes, a message or packed values.
    Bytes(&'a [u8]),
}

impl Value<'_> {
    /// Whether this is a zero: `0`, `false`, or empty bytes.
    pub(crate) fn is_zero(&self) -> bool {
        match self {
            Value::Varint(v) | Value::Fixed64(v) => *v == 0,
            Value::Fixed32(v) => *v == 0,
            Value::Bytes(b) => b.is_empty(),
        }
    }

    /// The wire type's name, for errors.
    pub(crate) fn wire_name(&self) -> &'static str {
        match self {
            Value::Varint(_) => "varint",
            Value::Fixed64(_) => "fixed64",
            Value::Fixed32(_) => "fixed32",
            Value::Bytes(_) => "length-delimited",
        }
    }
}

/// Reads a message's fields one by one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// A reader of `buf` whose next field starts at `pos` (a position [`Reader::pos`] gave).
    pub(crate) fn at(buf: &'a [u8], pos: usize) -> Self {
        Self { buf, pos }
    }

    /// Whether every field was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Where the next field starts.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, Error> {
        // Most varints (tags, lengths, small numbers) are one byte.
        if let Some(&b) = self.buf.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        self.varint_long()
    }

    fn varint_long(&mut self) -> Result<u64, Error> {
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(Error::Truncated("a varint"));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(Error::Varint);
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(value);
            }
        }
        Err(Error::Varint)
    }

    #[inline]
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or(Error::Truncated(what))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// The next field: its number and value. Groups (wire types 3 and 4, unused by Kubernetes)
    /// and field number 0 are errors.
    #[inline]
    pub(crate) fn field(&mut self) -> Result<(u32, Value<'a>), Error> {
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > u64::from(u32::MAX >> 3) {
            return Err(Error::FieldNumber(number));
        }
        let number = number as u32;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                let b = self.take(8, "a fixed64 value")?;
                Value::Fixed64(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            }
            2 => {
                let len = self.varint()?;
                let len = usize::try_from(len).map_err(|_| Error::Truncated("a length-delimited value"))?;
                Value::Bytes(self.take(len, "a length-delimited value")?)
            }
            5 => {
                let b = self.take(4, "a fixed32 value")?;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            wire_type => return Err(Error::WireType { field: number, wire_type: wire_type as u8 }),
        };
        Ok((number, value))
    }
}

/// The fields of `buf` until the first error (which ends the iteration).
pub(crate) fn fields(buf: &[u8]) -> impl Iterator<Item = Result<(u32, Value<'_>), Error>> {
    let mut reader = Reader::new(buf);
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || reader.is_empty() {
            return None;
        }
        let next = reader.field();
        failed = next.is_err();
        Some(next)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(buf: &[u8]) -> Result<Vec<(u32, Value<'_>)>, Error> {
        fields(buf).collect()
    }

    #[test]
    fn reads_each_wire_type() {
        // 1: varint 150, 2: "hi", 3: fixed64 1, 4: fixed32 2
        let buf = [0x08, 0x96, 0x01, 0x12, 2, b'h', b'i', 0x19, 1, 0, 0, 0, 0, 0, 0, 0, 0x25, 2, 0, 0, 0];
        let got = all(&buf).unwrap();
        assert_eq!(
            got,
            [
                (1, Value::Varint(150)),
                (2, Value::Bytes(b"hi")),
                (3, Value::Fixed64(1)),
                (4, Value::Fixed32(2))
            ]
        );
        // A negative int32 is a ten-byte varint.
        let neg = [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(all(&neg).unwrap(), [(1, Value::Varint(u64::MAX))]);
    }

    #[test]
    fn truncated_and_malformed_input_are_errors() {
        assert!(matches!(all(&[0x08]), Err(Error::Truncated(_))));
        assert!(matches!(all(&[0x08, 0x80]), Err(Error::Truncated(_))));
        assert!(matches!(all(&[0x12, 5, b'a']), Err(Error::Truncated(_))));
        // A length far over what is there allocates nothing and fails.
        assert!(matches!(all(&[0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]), Err(Error::Truncated(_))));
        assert!(matches!(all(&[0x08; 11].map(|_| 0xff)), Err(Error::FieldNumber(_) | Error::Varint)));
        assert!(matches!(all(&[0x0b]), Err(Error::WireType { field: 1, wire_type: 3 })));
        assert!(matches!(all(&[0x00, 0x00]), Err(Error::FieldNumber(0))));
    }
}
