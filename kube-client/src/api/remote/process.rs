//! A process in a container, reached by exec or attach: its stdin, stdout and stderr, its
//! terminal size, and its exit status.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::{BufMut, BytesMut};
use kube_core::Status;
use serde::Serialize;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, DuplexStream, ReadBuf},
    sync::{mpsc, oneshot},
};
use tokio_tungstenite::tungstenite::Message;

use super::{
    error::{Error, Target},
    mux::{self, Ended, InChannel, OutChannel, PIPE_SIZE, Route},
};

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;

/// A terminal's size in characters, as sent on the resize channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TerminalSize {
    /// Columns.
    #[serde(rename = "Width")]
    pub width: u16,
    /// Rows.
    #[serde(rename = "Height")]
    pub height: u16,
}

/// Sends terminal sizes to a process attached with a TTY.
#[derive(Debug, Clone)]
pub struct TerminalSizeSender {
    frames: mpsc::Sender<Message>,
}

impl TerminalSizeSender {
    /// Tells the process its terminal is now `size`. Fails only when the session has ended.
    pub async fn send(&self, size: TerminalSize) -> Result<(), io::Error> {
        let mut frame = BytesMut::new();
        frame.put_u8(RESIZE);
        frame.put_slice(&serde_json::to_vec(&size).map_err(io::Error::other)?);
        self.frames
            .send(Message::Binary(frame.freeze()))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the session has ended"))
    }
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitStatus {
    code: i32,
    status: Status,
}

impl ExitStatus {
    /// The exit code: 0 on success.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// Whether the code is 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// The `Status` the server sent on the error channel.
    pub fn status(&self) -> &Status {
        &self.status
    }
}

/// The output of a finished command (see [`AttachedProcess::output`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Everything written to stdout (and stderr, with a TTY).
    pub stdout: Vec<u8>,
    /// Everything written to stderr.
    pub stderr: Vec<u8>,
    /// How the command ended.
    pub status: ExitStatus,
}

/// The writing end of a process's stdin. Shutting it down ([`AsyncWriteExt::shutdown`](tokio::io::AsyncWriteExt::shutdown))
/// or dropping it closes the process's stdin with `v5.channel.k8s.io` (the process reads
/// EOF); with the older `v4.channel.k8s.io` the server cannot be told, and the stdin stays
/// open until the session ends.
#[derive(Debug)]
pub struct ProcessStdin(DuplexStream);

impl AsyncWrite for ProcessStdin {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// A process's stdout or stderr: ends (EOF) when the session ends.
///
/// Read stdout and stderr concurrently, or drop the one not wanted: a full pipe holds up
/// the whole session, as with a local process.
#[derive(Debug)]
pub struct ProcessOutput(DuplexStream);

impl AsyncRead for ProcessOutput {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

/// A process in a container, from [`Api::exec`](crate::Api::exec) or
/// [`Api::attach`](crate::Api::attach).
///
/// Take its streams with [`take_stdin`](Self::take_stdin),
/// [`take_stdout`](Self::take_stdout) and [`take_stderr`](Self::take_stderr) (each is there
/// when [`AttachParams`](kube_core::params::AttachParams) opened it), then
/// [`wait`](Self::wait) for the exit status. The session has no timeout once open: an idle
/// shell stays open. Dropping the handle closes the connection (the remote process of an exec
/// gets a hang-up; an attached container goes on running).
#[derive(Debug)]
pub struct AttachedProcess {
    target: Target,
    protocol: String,
    stdin: Option<ProcessStdin>,
    stdout: Option<ProcessOutput>,
    stderr: Option<ProcessOutput>,
    resize: Option<TerminalSizeSender>,
    ended: oneshot::Receiver<Ended>,
    _cancel: oneshot::Sender<()>,
}

impl AttachedProcess {
    /// Starts moving data on an upgraded connection.
    pub(crate) fn start(
        ws: super::websocket::Ws,
        protocol: String,
        target: Target,
        ap: &kube_core::params::AttachParams,
    ) -> Self {
        let mut outputs =
            vec![OutChannel { channel: ERROR, route: Route::Collect, skip: 0, on_collect: None }];
        let mut inputs = Vec::new();
        let mut pipe = |channel: u8, output: bool| {
            let (ours, theirs) = tokio::io::duplex(PIPE_SIZE);
            if output {
                outputs.push(OutChannel {
                    channel,
                    route: Route::Pipe(Box::new(ours)),
                    skip: 0,
                    on_collect: None,
                });
            } else {
                inputs.push(InChannel { channel, pipe: Box::new(ours), prefix: Vec::new() });
            }
            theirs
        };
        let stdin = ap.stdin.then(|| ProcessStdin(pipe(STDIN, false)));
        let stdout = ap.stdout.then(|| ProcessOutput(pipe(STDOUT, true)));
        let stderr = ap.stderr.then(|| ProcessOutput(pipe(STDERR, true)));
        let session = mux::spawn(ws, outputs, inputs, protocol.starts_with("v5."));
        let resize = ap.tty.then(|| TerminalSizeSender { frames: session.frames.clone() });
        AttachedProcess {
            target,
            protocol,
            stdin,
            stdout,
            stderr,
            resize,
            ended: session.ended,
            _cancel: session.cancel,
        }
    }

    /// The subprotocol in use: `v5.channel.k8s.io` or `v4.channel.k8s.io`.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// The process's stdin, once.
    pub fn take_stdin(&mut self) -> Option<ProcessStdin> {
        self.stdin.take()
    }

    /// The process's stdout, once.
    pub fn take_stdout(&mut self) -> Option<ProcessOutput> {
        self.stdout.take()
    }

    /// The process's stderr, once.
    pub fn take_stderr(&mut self) -> Option<ProcessOutput> {
        self.stderr.take()
    }

    /// Sends terminal sizes; there when a TTY was asked for.
    pub fn terminal_size(&self) -> Option<TerminalSizeSender> {
        self.resize.clone()
    }

    /// Waits until the process ends (closing its stdin first if it was not taken, as
    /// [`std::process::Child::wait`] does) and returns its exit status.
    ///
    /// A non-zero exit is an `Ok` [`ExitStatus`] with that code; other failures reported by
    /// the remote side are [`Error::Remote`], and a connection that breaks or ends without
    /// an exit status is [`Error::ConnectionLost`].
    pub async fn wait(mut self) -> Result<ExitStatus, Error> {
        drop(self.stdin.take());
        let ended = (&mut self.ended).await.unwrap_or_default();
        outcome(&self.target, ended)
    }

    /// Reads stdout and stderr to their ends and waits for the exit status: the output of a
    /// short command. Closes stdin unless it was taken.
    pub async fn output(mut self) -> Result<Output, Error> {
        drop(self.stdin.take());
        let read = |stream: Option<ProcessOutput>| async move {
            let mut buf = Vec::new();
            if let Some(mut s) = stream {
                // The pipe only fails when the session is gone, which `wait` reports.
                let _ = s.read_to_end(&mut buf).await;
            }
            buf
        };
        let (stdout, stderr) = tokio::join!(read(self.stdout.take()), read(self.stderr.take()));
        let status = self.wait().await?;
        Ok(Output { stdout, stderr, status })
    }
}

/// The exit status from the error channel's `Status`, or why there is none.
fn outcome(target: &Target, ended: Ended) -> Result<ExitStatus, Error> {
    let boxed = || Box::new(target.clone());
    let raw = ended.collected.get(&ERROR).map(Vec::as_slice).unwrap_or_default();
    if raw.is_empty() {
        let source =
            ended.error.unwrap_or_else(|| "the server closed the session without an exit status".into());
        return Err(Error::ConnectionLost { target: boxed(), source });
    }
    let status: Status = serde_json::from_slice(raw).map_err(|e| Error::Protocol {
        target: boxed(),
        detail: format!("the error channel does not hold a Status: {e}"),
    })?;
    if status.is_success() {
        return Ok(ExitStatus { code: 0, status });
    }
    if status.reason == "NonZeroExitCode" {
        let code = status
            .details
            .as_ref()
            .and_then(|d| d.causes.iter().find(|c| c.reason == "ExitCode"))
            .and_then(|c| c.message.parse::<i32>().ok());
        if let Some(code) = code {
            return Ok(ExitStatus { code, status });
        }
    }
    Err(Error::Remote { target: boxed(), status: Box::new(status) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target { action: "exec", namespace: "ns".into(), pod: "p".into(), container: None, ports: vec![] }
    }

    fn ended(error_channel: &str) -> Ended {
        let mut e = Ended::default();
        e.collected.insert(ERROR, error_channel.as_bytes().to_vec());
        e
    }

    #[test]
    fn exit_codes_come_from_the_status() {
        let ok = outcome(&target(), ended(r#"{"metadata":{},"status":"Success"}"#));
        assert_eq!(ok.map(|s| s.code()).ok(), Some(0));
        let three = r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;
        assert_eq!(outcome(&target(), ended(three)).map(|s| s.code()).ok(), Some(3));
        let internal = r#"{"status":"Failure","message":"error executing command: not found","reason":"InternalError","code":500}"#;
        let err = outcome(&target(), ended(internal)).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(err, "exec of pod ns/p: the remote side failed: error executing command: not found");
    }

    #[test]
    fn no_status_is_a_lost_connection() {
        let err = outcome(&target(), Ended::default()).err();
        assert!(matches!(err, Some(Error::ConnectionLost { .. })), "{err:?}");
    }

    #[test]
    fn terminal_size_is_sent_as_upstream_spells_it() {
        let json = serde_json::to_string(&TerminalSize { width: 100, height: 30 }).unwrap_or_default();
        assert_eq!(json, r#"{"Width":100,"Height":30}"#);
    }
}
