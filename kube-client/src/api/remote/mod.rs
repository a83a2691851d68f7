//! exec, attach and port-forward: WebSocket sessions with a Pod's containers, through the API
//! server (which proxies them to the node's kubelet).
//!
//! The upgrade goes through the client's own TLS, authentication and proxy settings, on an
//! HTTP/1.1 connection of its own (the API server upgrades only HTTP/1.1; other requests stay
//! on HTTP/2). exec and attach offer `v5.channel.k8s.io`, which can half-close stdin, and fall
//! back to `v4.channel.k8s.io`; port-forward speaks `v4.channel.k8s.io`, one connection per
//! forwarded TCP connection, as kubectl does over WebSocket.
//!
//! The upgrade must complete within [`UPGRADE_TIMEOUT`]; an open session has no timeout.

mod error;
mod exec;
mod mux;
mod portforward;
mod process;
mod websocket;

pub use error::{Error, Target};
pub use portforward::{ForwardListener, PortStream, Portforwarder};
pub use process::{
    AttachedProcess, ExitStatus, Output, ProcessOutput, ProcessStdin, TerminalSize, TerminalSizeSender,
};
pub use websocket::UPGRADE_TIMEOUT;
