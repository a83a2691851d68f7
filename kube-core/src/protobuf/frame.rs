//! Watch stream framing: each event is a 4-byte big-endian length, then that many bytes.

use super::Error;

/// The largest frame accepted by default: far above the API server's object size limit, low
/// enough that a broken or hostile server cannot make the client allocate without bound.
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// Splits a byte stream into frames as its chunks arrive.
///
/// ```
/// use kube_core::protobuf::FrameDecoder;
/// let mut frames = FrameDecoder::default();
/// frames.push(&[0, 0, 0, 2, b'h']);
/// assert_eq!(frames.next_frame().unwrap(), None);
/// frames.push(b"i");
/// assert_eq!(frames.next_frame().unwrap().as_deref(), Some(&b"hi"[..]));
/// assert!(frames.is_empty());
/// ```
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    /// Where the unread bytes start in `buf`.
    start: usize,
    limit: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::with_limit(MAX_FRAME_BYTES)
    }
}

impl FrameDecoder {
    /// A decoder refusing frames longer than `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        Self { buf: Vec::new(), start: 0, limit }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// Whether no bytes of a next frame are buffered: the stream may end here cleanly.
    pub fn is_empty(&self) -> bool {
        self.start >= self.buf.len()
    }

    /// The next complete frame, `None` until its bytes have all arrived.
    ///
    /// Errors: the length prefix is over the limit (nothing is allocated for it); the decoder
    /// is then unusable, as the stream cannot be resynchronised.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, Error> {
        let pending = &self.buf[self.start..];
        let Some(prefix) = pending.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(*prefix) as usize;
        if len > self.limit {
            return Err(Error::FrameTooLarge { len, limit: self.limit });
        }
        if pending.len() < 4 + len {
            return Ok(None);
        }
        let frame = pending[4..4 + len].to_vec();
        self.start += 4 + len;
        // Drop consumed bytes once they are the larger part of the buffer.
        if self.start > self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        Ok(Some(frame))
    }

    /// Call at the end of the stream: an error when it ended inside a frame.
    pub fn finish(&self) -> Result<(), Error> {
        if self.is_empty() { Ok(()) } else { Err(Error::Truncated("a watch frame")) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(bytes: &[u8], chunk: usize) -> Result<Vec<Vec<u8>>, Error> {
        let mut dec = FrameDecoder::default();
        let mut out = Vec::new();
        for c in bytes.chunks(chunk) {
            dec.push(c);
            while let Some(f) = dec.next_frame()? {
                out.push(f);
            }
        }
        dec.finish()?;
        Ok(out)
    }

    #[test]
    fn frames_come_out_whole_however_the_bytes_are_chunked() {
        let bytes = [&[0, 0, 0, 3][..], b"abc", &[0, 0, 0, 0], &[0, 0, 0, 1], b"z"].concat();
        for size in 1..=bytes.len() {
            assert_eq!(
                frames(&bytes, size).unwrap(),
                [b"abc".to_vec(), vec![], b"z".to_vec()],
                "chunks of {size}"
            );
        }
    }

    #[test]
    fn an_oversized_prefix_or_a_cut_frame_is_an_error() {
        let mut dec = FrameDecoder::with_limit(10);
        dec.push(&[0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(dec.next_frame(), Err(Error::FrameTooLarge { len: 0xffff_ffff, limit: 10 })));
        assert!(matches!(frames(&[0, 0, 0, 5, 1, 2], 3), Err(Error::Truncated(_))));
        assert!(matches!(frames(&[0, 0], 1), Err(Error::Truncated(_))));
    }
}
