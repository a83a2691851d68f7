//! Splitting a byte stream into lines, however its chunks fall: one line across many chunks, many
//! lines in one chunk, a last line without a newline.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use bytes::{Buf, Bytes, BytesMut};
use futures::Stream;
use pin_project_lite::pin_project;

use crate::Error;

/// The longest line accepted (a watch event is one line; objects are at most a few MiB).
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

pin_project! {
    /// Lines (without their `\n` or `\r\n`) of a stream of byte chunks. Empty lines are skipped.
    pub struct Lines<S> {
        #[pin]
        inner: S,
        buf: BytesMut,
        // Bytes of `buf` already searched for a newline.
        scanned: usize,
        uri: String,
        done: bool,
        max: usize,
    }
}

impl<S> Lines<S> {
    /// Lines of `inner`; `uri` names the request in errors.
    pub fn new(inner: S, uri: String) -> Self {
        Self::with_limit(inner, uri, MAX_LINE_BYTES)
    }

    /// Lines of `inner`, none longer than `max` bytes.
    pub fn with_limit(inner: S, uri: String, max: usize) -> Self {
        Self { inner, buf: BytesMut::new(), scanned: 0, uri, done: false, max }
    }
}

fn trim_line(mut line: Bytes) -> Bytes {
    if line.ends_with(b"\r") {
        line.truncate(line.len() - 1);
    }
    line
}

impl<S> Stream for Lines<S>
where
    S: Stream<Item = Result<Bytes, Error>>,
{
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            if let Some(pos) = this.buf[*this.scanned..].iter().position(|b| *b == b'\n') {
                let end = *this.scanned + pos;
                let line = this.buf.split_to(end).freeze();
                this.buf.advance(1);
                *this.scanned = 0;
                let line = trim_line(line);
                if line.is_empty() {
                    continue;
                }
                return Poll::Ready(Some(Ok(line)));
            }
            *this.scanned = this.buf.len();
            if *this.done {
                if this.buf.is_empty() {
                    return Poll::Ready(None);
                }
                // The server closed the stream after a last line without a newline.
                let line = trim_line(this.buf.split().freeze());
                *this.scanned = 0;
                if line.is_empty() {
                    return Poll::Ready(None);
                }
                return Poll::Ready(Some(Ok(line)));
            }
            if this.buf.len() > *this.max {
                *this.done = true;
                this.buf.clear();
                *this.scanned = 0;
                return Poll::Ready(Some(Err(Error::LineTooLong {
                    uri: this.uri.clone(),
                    limit: *this.max,
                })));
            }
            match ready!(this.inner.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => {
                    if this.buf.is_empty() {
                        // Avoid a copy when the chunk holds whole lines only.
                        this.buf.reserve(chunk.len());
                    }
                    this.buf.extend_from_slice(&chunk);
                }
                Some(Err(e)) => {
                    *this.done = true;
                    this.buf.clear();
                    *this.scanned = 0;
                    return Poll::Ready(Some(Err(e)));
                }
                None => *this.done = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::{StreamExt, executor::block_on, stream};

    use super::*;

    fn lines_of(chunks: &[&[u8]]) -> Vec<String> {
        let s = stream::iter(chunks.iter().map(|c| Ok(Bytes::copy_from_slice(c))).collect::<Vec<_>>());
        block_on(
            Lines::new(s, "/x".into()).map(|l| String::from_utf8(l.unwrap().to_vec()).unwrap()).collect(),
        )
    }

    #[test]
    fn lines_survive_any_chunking() {
        let text = b"{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}";
        let want = ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"];
        // Every way of cutting the text into two or three chunks gives the same lines.
        for i in 0..text.len() {
            for j in i..text.len() {
                let got = lines_of(&[&text[..i], &text[i..j], &text[j..]]);
                assert_eq!(got, want, "cut at {i} and {j}");
            }
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(lines_of(&bytes), want);
    }

    #[test]
    fn too_long_lines_are_an_error_not_unbounded_memory() {
        let s = stream::iter(vec![Ok(Bytes::from_static(b"0123456789")), Ok(Bytes::from_static(b"abc\n"))]);
        let got: Vec<_> = block_on(Lines::with_limit(s, "/x".into(), 8).collect());
        assert_eq!(got.len(), 1);
        assert!(matches!(got[0], Err(Error::LineTooLong { limit: 8, .. })));
    }

    #[test]
    fn errors_of_the_source_end_the_stream() {
        let s = stream::iter(vec![
            Ok(Bytes::from_static(b"a\nb")),
            Err(Error::Timeout { uri: "/x".into() }),
            Ok(Bytes::from_static(b"c\n")),
        ]);
        let got: Vec<_> = block_on(Lines::new(s, "/x".into()).collect());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().unwrap().as_ref(), b"a");
        assert!(matches!(got[1], Err(Error::Timeout { .. })));
    }
}
