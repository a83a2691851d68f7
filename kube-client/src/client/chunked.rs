//! Feeding a response body, chunk by chunk, to a decoder that yields items as their bytes
//! complete (the protobuf list reader and the protobuf watch framer): one loop for both.

use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::Error;

/// A decoder fed a body chunk by chunk.
pub(crate) trait Incremental {
    /// What it yields.
    type Item;
    /// The next item if its bytes are complete (`Ok(None)`: more are needed); an `Err` ends the
    /// stream after it.
    fn next_item(&mut self) -> Result<Option<Result<Self::Item, Error>>, Error>;
    /// More of the body.
    fn push(&mut self, chunk: &[u8]);
    /// The body ended: a last item, or an error for a body cut off, if any.
    fn finish(&mut self) -> Option<Result<Self::Item, Error>>;
}

/// The items `decoder` finds in `body`, in order; a transport error or an `Err` from the decoder
/// ends the stream after it.
pub(crate) fn items<D, S>(body: S, decoder: D) -> impl Stream<Item = Result<D::Item, Error>> + Send
where
    D: Incremental + Send,
    D::Item: Send,
    S: Stream<Item = Result<Bytes, Error>> + Send,
{
    let state = (Box::pin(body), decoder, false);
    futures::stream::unfold(state, |(mut body, mut decoder, done)| async move {
        if done {
            return None;
        }
        loop {
            match decoder.next_item() {
                Ok(Some(item)) => return Some((item, (body, decoder, false))),
                Ok(None) => {}
                Err(e) => return Some((Err(e), (body, decoder, true))),
            }
            match body.next().await {
                Some(Ok(chunk)) => decoder.push(&chunk),
                Some(Err(e)) => return Some((Err(e), (body, decoder, true))),
                None => return decoder.finish().map(|last| (last, (body, decoder, true))),
            }
        }
    })
}
