//! Channels over one WebSocket: each binary message starts with its channel number. Output
//! channels are written into in-memory pipes the user reads; input pipes are read and sent;
//! v5's close message (`[255, channel]`) tells the server an input has ended.

use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    sync::{mpsc, oneshot},
    task::JoinSet,
};
use tokio_tungstenite::tungstenite::{
    Message,
    protocol::{CloseFrame, frame::coding::CloseCode},
};

use super::websocket::Ws;
use crate::error::BoxError;

/// The size of each in-memory pipe, and the largest message sent.
pub(crate) const PIPE_SIZE: usize = 64 * 1024;
/// The v5 message that closes a channel: `[255, channel]`.
const CLOSE_CHANNEL: u8 = 255;

/// Where the payload of an output channel goes.
pub(crate) enum Route {
    /// Into a pipe the user reads; dropped (the reader sees EOF) when the session ends.
    Pipe(Box<dyn AsyncWrite + Send + Unpin>),
    /// Kept, and handed back when the session ends (the error channel).
    Collect,
}

/// Watches the payload of a collected channel as it arrives.
pub(crate) type OnCollect = Box<dyn FnMut(&[u8]) + Send>;

/// One output channel.
pub(crate) struct OutChannel {
    pub(crate) channel: u8,
    pub(crate) route: Route,
    /// Bytes to drop at the start of the channel (port-forward's port number).
    pub(crate) skip: usize,
    /// Called with each payload of a collected channel as it arrives (after `skip`).
    pub(crate) on_collect: Option<OnCollect>,
}

/// One input channel: what the user writes into the other end of `pipe` is sent on `channel`.
pub(crate) struct InChannel {
    pub(crate) channel: u8,
    pub(crate) pipe: Box<dyn AsyncRead + Send + Unpin>,
    /// The first bytes to send on the channel before any data (port-forward's port number).
    pub(crate) prefix: Vec<u8>,
}

/// How a session ended.
#[derive(Debug, Default)]
pub(crate) struct Ended {
    /// The payload of each [`Route::Collect`] channel.
    pub(crate) collected: HashMap<u8, Vec<u8>>,
    /// Why the connection failed, if it did not close normally.
    pub(crate) error: Option<BoxError>,
}

/// A running session.
pub(crate) struct Session {
    /// Sends raw messages (resize events).
    pub(crate) frames: mpsc::Sender<Message>,
    /// Resolves when the connection has ended.
    pub(crate) ended: oneshot::Receiver<Ended>,
    /// Dropping or sending closes the connection.
    pub(crate) cancel: oneshot::Sender<()>,
}

/// Starts the tasks that move data between `ws` and the pipes; `close_frames` when the
/// protocol (v5) can signal the end of an input.
pub(crate) fn spawn(ws: Ws, outputs: Vec<OutChannel>, inputs: Vec<InChannel>, close_frames: bool) -> Session {
    let (frames, outgoing) = mpsc::channel::<Message>(16);
    let (cancel, cancelled) = oneshot::channel();
    let (done, ended) = oneshot::channel();
    let mut pumps = JoinSet::new();
    for input in inputs {
        pumps.spawn(pump_input(input, frames.clone(), close_frames));
    }
    tokio::spawn(run(ws, outputs, outgoing, cancelled, pumps, done));
    Session { frames, ended, cancel }
}

/// Reads an input pipe into messages on its channel until EOF.
async fn pump_input(mut input: InChannel, frames: mpsc::Sender<Message>, close_frames: bool) {
    let mut first = true;
    loop {
        let mut buf = BytesMut::with_capacity(PIPE_SIZE + 1 + input.prefix.len());
        buf.put_u8(input.channel);
        if first {
            buf.put_slice(&input.prefix);
        }
        match input.pipe.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        first = false;
        if frames.send(Message::Binary(buf.freeze())).await.is_err() {
            return;
        }
    }
    if close_frames {
        let _ = frames.send(Message::Binary(Bytes::from(vec![CLOSE_CHANNEL, input.channel]))).await;
    }
}

struct Channel {
    route: Option<Route>,
    skip: usize,
    data: Vec<u8>,
    on_collect: Option<OnCollect>,
}

async fn run(
    ws: Ws,
    outputs: Vec<OutChannel>,
    outgoing: mpsc::Receiver<Message>,
    mut cancelled: oneshot::Receiver<()>,
    mut pumps: JoinSet<()>,
    done: oneshot::Sender<Ended>,
) {
    let (sink, mut stream) = ws.split();
    let mut channels: HashMap<u8, Channel> = outputs
        .into_iter()
        .map(|o| {
            (
                o.channel,
                Channel { route: Some(o.route), skip: o.skip, data: Vec::new(), on_collect: o.on_collect },
            )
        })
        .collect();
    let mut ended = Ended::default();
    // Sending has a task of its own, so that a full send buffer never stops the reading: the
    // far end may wait for us to read before it reads what we send (an echo server does), and
    // a loop doing both would then wait forever in its send.
    let (close, close_requested) = oneshot::channel();
    let mut sender = tokio::spawn(send(sink, outgoing, close_requested));
    loop {
        tokio::select! {
            message = stream.next() => match message {
                None => break,
                Some(Err(e)) => {
                    ended.error = Some(Box::new(e));
                    break;
                }
                Some(Ok(Message::Binary(data))) => deliver(&mut channels, data).await,
                Some(Ok(Message::Close(frame))) => {
                    tracing::trace!(?frame, "the server closed the websocket");
                }
                // Pings are answered by tungstenite; text (base64 protocols) is not offered.
                Some(Ok(_)) => {}
            },
            sent = &mut sender => {
                if let Ok(Err(e)) = sent {
                    ended.error = Some(e);
                }
                break;
            }
            _ = &mut cancelled => {
                let _ = close.send(());
                let _ = (&mut sender).await;
                break;
            }
        }
    }
    sender.abort();
    pumps.abort_all();
    for (channel, state) in channels {
        if let Some(Route::Collect) = state.route {
            ended.collected.insert(channel, state.data);
        }
        // Pipes are dropped here: their readers see EOF.
    }
    let _ = done.send(ended);
}

/// Sends the outgoing messages until `close` is asked for (then a close frame) or sending
/// fails; with no more messages to send, it waits for `close`.
async fn send(
    mut sink: futures::stream::SplitSink<Ws, Message>,
    mut outgoing: mpsc::Receiver<Message>,
    mut close: oneshot::Receiver<()>,
) -> Result<(), BoxError> {
    let mut sending = true;
    loop {
        tokio::select! {
            message = outgoing.recv(), if sending => match message {
                Some(message) => {
                    sink.feed(message).await?;
                    while let Ok(more) = outgoing.try_recv() {
                        sink.feed(more).await?;
                    }
                    sink.flush().await?;
                }
                None => sending = false,
            },
            _ = &mut close => {
                let frame = CloseFrame { code: CloseCode::Normal, reason: "".into() };
                let _ = sink.send(Message::Close(Some(frame))).await;
                return Ok(());
            }
        }
    }
}

/// Hands one message's payload to its channel.
async fn deliver(channels: &mut HashMap<u8, Channel>, data: Bytes) {
    let Some((&channel, payload)) = data.split_first() else {
        return;
    };
    let Some(state) = channels.get_mut(&channel) else {
        tracing::trace!(channel, len = payload.len(), "data on a channel not asked for");
        return;
    };
    let mut payload = payload;
    if state.skip > 0 {
        let n = state.skip.min(payload.len());
        state.skip -= n;
        payload = &payload[n..];
    }
    if payload.is_empty() {
        return;
    }
    let failed = match &mut state.route {
        Some(Route::Pipe(pipe)) => pipe.write_all(payload).await.is_err(),
        Some(Route::Collect) => {
            state.data.extend_from_slice(payload);
            if let Some(f) = &mut state.on_collect {
                f(payload);
            }
            false
        }
        None => false,
    };
    if failed {
        // The reader is gone: drop what follows on this channel.
        state.route = None;
    }
}
