//! `Api<Pod>::portforward`: byte streams to ports of a Pod, and a local listener that forwards
//! each accepted connection like `kubectl port-forward`.
//!
//! Over WebSocket (`v4.channel.k8s.io`) each port has two channels, data (`2i`) and error
//! (`2i+1`), whose first two bytes from the server are the port, little-endian. One
//! connection carries one TCP connection per port: the server ends the session once the
//! forwarded connections have ended.

use std::{
    collections::HashMap,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex, OnceLock},
    task::{Context, Poll},
};

use k8s_openapi::api::core::v1::Pod;
use tokio::{
    io::{AsyncRead, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{mpsc, oneshot},
    task::JoinHandle,
};

use super::{
    error::{Error, Target},
    mux::{self, Ended, InChannel, OutChannel, PIPE_SIZE, Route},
    websocket::{self, PORT_FORWARD_PROTOCOLS, UPGRADE_TIMEOUT},
};
use crate::Api;

/// The message the remote side sent on a port's error channel.
type ErrorSlot = Arc<OnceLock<String>>;

/// A byte stream to one port of a Pod (`AsyncRead + AsyncWrite`).
///
/// When the remote side reports an error for the port (nothing listens there, say), reads
/// fail with that error, as [`Error::PortForward`] inside an [`io::Error`], instead of
/// ending quietly.
#[derive(Debug)]
pub struct PortStream {
    pipe: DuplexStream,
    error: ErrorSlot,
    port: u16,
    target: Target,
    /// The session closes when the last stream (and the [`Portforwarder`]) is gone.
    _session: Arc<oneshot::Sender<()>>,
}

impl PortStream {
    /// The Pod port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl AsyncRead for PortStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.pipe).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() == before && buf.remaining() > 0 => {
                match self.error.get() {
                    Some(message) => Poll::Ready(Err(io::Error::other(Error::PortForward {
                        target: Box::new(self.target.clone()),
                        port: self.port,
                        message: message.clone(),
                    }))),
                    None => Poll::Ready(Ok(())),
                }
            }
            other => other,
        }
    }
}

impl AsyncWrite for PortStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.pipe).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.pipe).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.pipe).poll_shutdown(cx)
    }
}

/// A port-forward session: one stream per port (see [`Api::portforward`]).
#[derive(Debug)]
pub struct Portforwarder {
    target: Target,
    streams: HashMap<u16, PortStream>,
    errors: Vec<(u16, ErrorSlot)>,
    ended: oneshot::Receiver<Ended>,
    _session: Arc<oneshot::Sender<()>>,
}

impl Portforwarder {
    /// The stream to `port`, once.
    pub fn take_stream(&mut self, port: u16) -> Option<PortStream> {
        self.streams.remove(&port)
    }

    /// Waits until the session ends and says how: the first error the remote side reported
    /// for a port, or a broken connection, is an error.
    ///
    /// The session ends when the server ends it (the forwarded connections closed in the Pod)
    /// or when every stream taken from it has been dropped (streams not taken are dropped
    /// here). The WebSocket protocol cannot half-close a port, so shutting down a stream's
    /// writes does not reach the Pod: drop the stream to end its connection.
    pub async fn join(self) -> Result<(), Error> {
        let Portforwarder { target, streams, errors, ended, _session: session } = self;
        drop(streams);
        drop(session);
        let ended = ended.await.unwrap_or_default();
        for (port, slot) in &errors {
            if let Some(message) = slot.get() {
                return Err(Error::PortForward {
                    target: Box::new(target),
                    port: *port,
                    message: message.clone(),
                });
            }
        }
        match ended.error {
            Some(source) => Err(Error::ConnectionLost { target: Box::new(target), source }),
            None => Ok(()),
        }
    }
}

impl Api<Pod> {
    /// Opens a connection to each of `ports` of Pod `name`, like one connection of
    /// `kubectl port-forward`.
    ///
    /// ```no_run
    /// # async fn run(client: kube_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use k8s_openapi::api::core::v1::Pod;
    /// use kube_client::Api;
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// let pods: Api<Pod> = Api::namespaced(client, "default");
    /// let mut pf = pods.portforward("web", &[80]).await?;
    /// let mut stream = pf.take_stream(80).ok_or("no stream")?;
    /// stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
    /// let mut page = Vec::new();
    /// stream.read_to_end(&mut page).await?;
    /// # Ok(()) }
    /// ```
    pub async fn portforward(&self, name: &str, ports: &[u16]) -> Result<Portforwarder, Error> {
        let target = Target {
            action: "port-forward",
            namespace: self.namespace.clone().unwrap_or_default(),
            pod: name.to_owned(),
            container: None,
            ports: ports.to_vec(),
        };
        let req = self
            .request
            .portforward(name, ports)
            .map_err(|e| Error::Request { target: Box::new(target.clone()), source: e.into() })?;
        let (ws, _) =
            websocket::connect(&self.client, req, PORT_FORWARD_PROTOCOLS, &target, UPGRADE_TIMEOUT).await?;
        let mut outputs = Vec::new();
        let mut inputs = Vec::new();
        let mut streams = HashMap::new();
        let mut errors = Vec::new();
        // Replaced by the session's guard once the session runs.
        let placeholder = Arc::new(oneshot::channel().0);
        for (i, &port) in ports.iter().enumerate() {
            let data = (2 * i) as u8;
            let (ours, theirs) = tokio::io::duplex(PIPE_SIZE);
            let (ours_read, ours_write) = tokio::io::split(ours);
            outputs.push(OutChannel {
                channel: data,
                route: Route::Pipe(Box::new(ours_write)),
                skip: 2,
                on_collect: None,
            });
            inputs.push(InChannel { channel: data, pipe: Box::new(ours_read), prefix: Vec::new() });
            let slot: ErrorSlot = Arc::default();
            let writer = slot.clone();
            let mut message = Vec::new();
            outputs.push(OutChannel {
                channel: data + 1,
                route: Route::Collect,
                skip: 2,
                on_collect: Some(Box::new(move |chunk: &[u8]| {
                    message.extend_from_slice(chunk);
                    let _ = writer.set(String::from_utf8_lossy(&message).into_owned());
                })),
            });
            errors.push((port, slot.clone()));
            let stream = PortStream {
                pipe: theirs,
                error: slot,
                port,
                target: target.clone(),
                _session: placeholder.clone(),
            };
            streams.insert(port, stream);
        }
        let session = mux::spawn(ws, outputs, inputs, false);
        let guard = Arc::new(session.cancel);
        for stream in streams.values_mut() {
            stream._session = guard.clone();
        }
        Ok(Portforwarder { target, streams, errors, ended: session.ended, _session: guard })
    }

    /// Listens on `local` (port 0 picks a free one) and forwards each accepted connection to
    /// `port` of Pod `name` over a session of its own, like `kubectl port-forward`. An error
    /// on one connection (the Pod port refuses it, say) ends that connection only and is
    /// reported by [`ForwardListener::next_error`].
    pub async fn portforward_listen(
        &self,
        name: &str,
        local: SocketAddr,
        port: u16,
    ) -> Result<ForwardListener, io::Error> {
        let listener = TcpListener::bind(local).await?;
        let local_addr = listener.local_addr()?;
        let (errors_tx, errors) = mpsc::channel(64);
        let api = self.clone();
        let name = name.to_owned();
        let task = tokio::spawn(async move {
            loop {
                let (conn, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "port-forward listener failed to accept");
                        continue;
                    }
                };
                let (api, name, errors_tx) = (api.clone(), name.clone(), errors_tx.clone());
                tokio::spawn(async move {
                    if let Err(e) = forward_one(&api, &name, port, conn).await {
                        tracing::debug!(%peer, error = %e, "forwarded connection failed");
                        let _ = errors_tx.try_send(e);
                    }
                });
            }
        });
        Ok(ForwardListener { local_addr, errors: Mutex::new(errors), task })
    }
}

/// Copies between an accepted connection and a new session to the Pod's port, until the
/// Pod's side ends or the local side ends its writes (which cannot be passed on: see
/// [`Portforwarder::join`]).
async fn forward_one(api: &Api<Pod>, name: &str, port: u16, mut conn: TcpStream) -> Result<(), Error> {
    let mut pf = api.portforward(name, &[port]).await?;
    let target = pf.target.clone();
    let Some(stream) = pf.take_stream(port) else {
        return Ok(());
    };
    let (mut remote_read, mut remote_write) = tokio::io::split(stream);
    let (mut local_read, mut local_write) = conn.split();
    let up = tokio::io::copy(&mut local_read, &mut remote_write);
    let down = async {
        let copied = tokio::io::copy(&mut remote_read, &mut local_write).await;
        let _ = local_write.shutdown().await;
        copied
    };
    let failed = tokio::select! {
        _ = up => None,
        copied = down => copied.err(),
    };
    drop((remote_read, remote_write));
    pf.join().await?;
    match failed {
        Some(e) if !matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset) => {
            Err(Error::ConnectionLost { target: Box::new(target), source: Box::new(e) })
        }
        _ => Ok(()),
    }
}

/// A local listener forwarding to a Pod port (see [`Api::portforward_listen`]); dropping it
/// stops accepting (connections already forwarded go on).
#[derive(Debug)]
pub struct ForwardListener {
    local_addr: SocketAddr,
    errors: Mutex<mpsc::Receiver<Error>>,
    task: JoinHandle<()>,
}

impl ForwardListener {
    /// The local address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The next error of a forwarded connection; waits for one. Errors are kept up to 64;
    /// more are dropped while none is taken (and logged at debug level).
    pub async fn next_error(&mut self) -> Option<Error> {
        self.errors.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).recv().await
    }
}

impl Drop for ForwardListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}
