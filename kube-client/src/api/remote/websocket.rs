//! The WebSocket handshake over the client's upgrade stack (same TLS, authentication and
//! proxy as every request, on an HTTP/1.1 connection of its own).

use std::time::Duration;

use http::{HeaderValue, header};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{handshake::derive_accept_key, protocol::Role},
};

use super::error::{Error, Target};
use crate::Client;

/// An upgraded connection.
pub(crate) type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// How long the upgrade may take, from sending the request to the switched connection.
pub const UPGRADE_TIMEOUT: Duration = Duration::from_secs(30);

/// Exec and attach: v5 adds the close signal that half-closes stdin.
pub(crate) const STREAM_PROTOCOLS: &[&str] = &["v5.channel.k8s.io", "v4.channel.k8s.io"];
/// Port-forward over WebSocket.
pub(crate) const PORT_FORWARD_PROTOCOLS: &[&str] = &["v4.channel.k8s.io"];

/// Sends `req` as a WebSocket handshake offering `protocols` (in order of preference) and
/// returns the connection with the subprotocol the server chose.
pub(crate) async fn connect(
    client: &Client,
    mut req: http::Request<Vec<u8>>,
    protocols: &[&str],
    target: &Target,
    timeout: Duration,
) -> Result<(Ws, String), Error> {
    let key = tokio_tungstenite::tungstenite::handshake::client::generate_key();
    let headers = req.headers_mut();
    let fixed = |v: &'static str| HeaderValue::from_static(v);
    headers.insert(header::CONNECTION, fixed("Upgrade"));
    headers.insert(header::UPGRADE, fixed("websocket"));
    headers.insert(header::SEC_WEBSOCKET_VERSION, fixed("13"));
    let offered = protocols.join(", ");
    let boxed = || Box::new(target.clone());
    let invalid = |detail: String| Error::Protocol { target: boxed(), detail };
    headers.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::try_from(offered.as_str()).map_err(|e| invalid(e.to_string()))?,
    );
    headers.insert(
        header::SEC_WEBSOCKET_KEY,
        HeaderValue::try_from(key.as_str()).map_err(|e| invalid(e.to_string()))?,
    );

    let upgrade = async {
        let resp = match client.send_upgrade(req).await {
            Ok(Ok(resp)) => resp,
            Ok(Err(status)) => return Err(Error::Refused { target: boxed(), status: Box::new(status) }),
            Err(source) => return Err(Error::Request { target: boxed(), source }),
        };
        let accept = resp.headers().get(header::SEC_WEBSOCKET_ACCEPT).map(HeaderValue::as_bytes);
        if accept != Some(derive_accept_key(key.as_bytes()).as_bytes()) {
            return Err(invalid("the server's Sec-WebSocket-Accept does not match the key sent".into()));
        }
        let chosen = resp
            .headers()
            .get(header::SEC_WEBSOCKET_PROTOCOL)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_default();
        if !protocols.contains(&chosen.as_str()) {
            return Err(invalid(format!("offered {offered}, the server chose {chosen:?}")));
        }
        let mut resp = resp;
        let upgraded = hyper::upgrade::on(&mut resp)
            .await
            .map_err(|e| Error::ConnectionLost { target: boxed(), source: Box::new(e) })?;
        Ok((WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, None).await, chosen))
    };
    let (ws, protocol) = tokio::time::timeout(timeout, upgrade)
        .await
        .map_err(|_| Error::UpgradeTimeout { target: boxed(), timeout })??;
    tracing::debug!(%target, protocol, "websocket session open");
    Ok((ws, protocol))
}
