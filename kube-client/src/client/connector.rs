//! Connections to the API server: direct TCP, or a tunnel through an HTTP CONNECT or SOCKS5
//! proxy chosen by the kubeconfig's `proxy-url` or the `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`
//! variables; then TLS, with a handshake timeout of its own.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use http::Uri;
use hyper_rustls::MaybeHttpsStream;
use hyper_util::{
    client::{
        legacy::connect::{
            HttpConnector,
            proxy::{SocksV5, Tunnel},
        },
        proxy::matcher::Matcher,
    },
    rt::TokioIo,
};
use tokio::net::TcpStream;
use tower::Service;

use crate::error::BoxError;

/// Where connections go.
#[derive(Clone)]
pub enum ProxyConnector {
    /// Through the HTTP proxy named in the kubeconfig, for every destination.
    Fixed(Tunnel<HttpConnector>),
    /// Through the SOCKS5 proxy named in the kubeconfig, for every destination.
    Socks(SocksV5<HttpConnector>),
    /// Through the proxy the environment names for a destination, or straight when `NO_PROXY`
    /// matches or no proxy is set.
    FromEnv {
        /// The matcher built from the environment.
        matcher: std::sync::Arc<Matcher>,
        /// The connector for direct connections and for reaching proxies.
        http: HttpConnector,
    },
}

impl std::fmt::Debug for ProxyConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Fixed(_) => "ProxyConnector::Fixed",
            Self::Socks(_) => "ProxyConnector::Socks",
            Self::FromEnv { .. } => "ProxyConnector::FromEnv",
        })
    }
}

/// A proxy URL that cannot be used (its credentials, if any, are not shown).
#[derive(Debug, thiserror::Error)]
#[error("unsupported proxy-url {:?}: {reason}", crate::config::redact_url(url))]
pub struct ProxyError {
    url: String,
    reason: &'static str,
}

impl ProxyConnector {
    /// Connections through `proxy_url` when given, else as the environment's proxy variables say.
    ///
    /// `http://` proxies are reached with HTTP CONNECT; `socks5://` and `socks5h://` proxies with
    /// SOCKS5, with a username and password when the URL has them. With both SOCKS schemes the
    /// server's host name is resolved by the proxy, as kubectl (Go's HTTP client) does for
    /// `socks5://` (kubectl refuses `socks5h://`, the name other tools use for that behaviour;
    /// it is accepted here as a synonym). A proxy URL without a port means port 1080 for SOCKS.
    pub fn new(proxy_url: Option<&Uri>, connect_timeout: Option<Duration>) -> Result<Self, ProxyError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(connect_timeout);
        http.set_keepalive(Some(Duration::from_secs(30)));
        if let Some(url) = proxy_url {
            match url.scheme_str() {
                Some("http") => {}
                Some("socks5" | "socks5h") => return Ok(Self::Socks(socks(url, credentials_of(url), http)?)),
                _ => {
                    return Err(ProxyError {
                        url: url.to_string(),
                        reason: "expected an http://, socks5:// or socks5h:// proxy",
                    });
                }
            }
            let mut tunnel = Tunnel::new(url.clone(), http);
            if let Some(auth) = basic_auth_of(url) {
                tunnel = tunnel.with_auth(auth);
            }
            return Ok(Self::Fixed(tunnel));
        }
        let matcher = Matcher::from_env();
        Ok(Self::FromEnv { matcher: std::sync::Arc::new(matcher), http })
    }
}

/// A SOCKS5 connector for the proxy at `url` (`socks5://host[:port]`; its credentials, if any,
/// given apart), resolving names on the proxy.
fn socks(
    url: &Uri,
    credentials: Option<(String, String)>,
    http: HttpConnector,
) -> Result<SocksV5<HttpConnector>, ProxyError> {
    let invalid = |reason| ProxyError { url: url.to_string(), reason };
    let host = url.host().filter(|h| !h.is_empty()).ok_or_else(|| invalid("the proxy URL has no host"))?;
    let proxy = Uri::builder()
        .scheme("socks5")
        .authority(format!("{host}:{}", url.port_u16().unwrap_or(1080)))
        .path_and_query("/")
        .build()
        .map_err(|_| invalid("the proxy URL has an invalid host"))?;
    let socks = SocksV5::new(proxy, http).local_dns(false);
    Ok(match credentials {
        Some((user, password)) => {
            if user.len() > 255 || password.len() > 255 {
                return Err(invalid("SOCKS5 usernames and passwords are at most 255 bytes"));
            }
            socks.with_auth(user, password)
        }
        None => socks,
    })
}

/// The percent-decoded `user:password@` part of a proxy URL.
fn credentials_of(url: &Uri) -> Option<(String, String)> {
    let userinfo = url.authority()?.as_str().rsplit_once('@')?.0;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned());
    Some((decode(user)?, decode(password)?))
}

/// The `Proxy-Authorization` value for the `user:password@` part of a proxy URL (percent-decoded,
/// as URLs encode reserved characters in credentials).
fn basic_auth_of(url: &Uri) -> Option<http::HeaderValue> {
    use base64::Engine as _;
    let (user, password) = credentials_of(url)?;
    let credentials = format!("{user}:{password}");
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    let mut value = http::HeaderValue::try_from(format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// The TLS handshake did not complete in time: the server (or something in the way) accepted
/// the connection but does not speak TLS, or stalls.
#[derive(Debug, thiserror::Error)]
#[error("tls handshake with {host} did not complete within {timeout:?}")]
pub struct TlsHandshakeTimeout {
    /// The server's host.
    pub host: String,
    /// The timeout that passed.
    pub timeout: Duration,
}

/// TLS over the connections of a [`ProxyConnector`] for `https://` destinations (plain for
/// `http://`), the handshake bounded by its own timeout, separate from the connect timeout.
///
/// ALPN offers `h2` and `http/1.1` ([`HttpsConnector::http1_only`]: only `http/1.1`).
#[derive(Clone)]
pub struct HttpsConnector {
    inner: ProxyConnector,
    tls: std::sync::Arc<rustls::ClientConfig>,
    server_name: Option<rustls::pki_types::ServerName<'static>>,
    handshake_timeout: Option<Duration>,
}

impl std::fmt::Debug for HttpsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsConnector")
            .field("inner", &self.inner)
            .field("server_name", &self.server_name)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish()
    }
}

impl HttpsConnector {
    /// TLS with `tls` over `inner`, verifying the server as `server_name` when given (else the
    /// destination's host), failing a handshake that takes longer than `handshake_timeout`.
    pub fn new(
        inner: ProxyConnector,
        mut tls: rustls::ClientConfig,
        server_name: Option<rustls::pki_types::ServerName<'static>>,
        handshake_timeout: Option<Duration>,
    ) -> Self {
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Self { inner, tls: std::sync::Arc::new(tls), server_name, handshake_timeout }
    }

    /// The same connector offering only `http/1.1` in ALPN, for requests that upgrade the
    /// connection (the API server upgrades only HTTP/1.1).
    pub fn http1_only(&self) -> Self {
        let mut tls = rustls::ClientConfig::clone(&self.tls);
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self { tls: std::sync::Arc::new(tls), ..self.clone() }
    }
}

/// A connection made by [`HttpsConnector`].
pub type MaybeTls = MaybeHttpsStream<TokioIo<TcpStream>>;

impl Service<Uri> for HttpsConnector {
    type Response = MaybeTls;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<MaybeTls, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let host = dst.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
        match dst.scheme_str() {
            Some("http") => {
                let connecting = self.inner.call(dst);
                return Box::pin(async move { Ok(MaybeHttpsStream::Http(connecting.await?)) });
            }
            Some("https") => {}
            other => {
                let message = format!("unsupported scheme {other:?}");
                return Box::pin(async move { Err(message.into()) });
            }
        }
        let name = match &self.server_name {
            Some(name) => name.clone(),
            None => match rustls::pki_types::ServerName::try_from(host.clone()) {
                Ok(name) => name,
                Err(e) => return Box::pin(async move { Err(e.into()) }),
            },
        };
        let (tls, timeout) = (self.tls.clone(), self.handshake_timeout);
        let connecting = self.inner.call(dst);
        Box::pin(async move {
            let tcp = connecting.await?;
            let handshake = tokio_rustls::TlsConnector::from(tls).connect(name, TokioIo::new(tcp));
            let stream = match timeout {
                Some(timeout) => tokio::time::timeout(timeout, handshake)
                    .await
                    .map_err(|_| TlsHandshakeTimeout { host, timeout })?,
                None => handshake.await,
            }?;
            Ok(MaybeHttpsStream::Https(TokioIo::new(stream)))
        })
    }
}

type Connecting = Pin<Box<dyn Future<Output = Result<TokioIo<TcpStream>, BoxError>> + Send>>;

impl Service<Uri> for ProxyConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match self {
            Self::FromEnv { http, .. } => http.poll_ready(cx).map_err(Into::into),
            Self::Fixed(tunnel) => tunnel.poll_ready(cx).map_err(Into::into),
            Self::Socks(socks) => socks.poll_ready(cx).map_err(Into::into),
        }
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        match self {
            Self::Fixed(tunnel) => {
                let fut = tunnel.call(dst);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }
            Self::Socks(socks) => {
                let fut = socks.call(dst);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }
            Self::FromEnv { matcher, http } => match matcher.intercept(&dst) {
                Some(intercept) if matches!(intercept.uri().scheme_str(), Some("socks5" | "socks5h")) => {
                    tracing::debug!(proxy = %crate::config::redact_url(&intercept.uri().to_string()), "connecting through a SOCKS5 proxy from the environment");
                    let credentials = intercept.raw_auth().map(|(u, p)| (u.to_owned(), p.to_owned()));
                    match socks(intercept.uri(), credentials, http.clone()) {
                        Ok(mut socks) => Box::pin(async move { socks.call(dst).await.map_err(Into::into) }),
                        Err(e) => Box::pin(async move { Err(e.into()) }),
                    }
                }
                Some(intercept) => {
                    tracing::debug!(proxy = %intercept.uri(), "connecting through a proxy from the environment");
                    let mut tunnel = Tunnel::new(intercept.uri().clone(), http.clone());
                    if let Some(auth) = intercept.basic_auth() {
                        tunnel = tunnel.with_auth(auth.clone());
                    }
                    Box::pin(async move { tunnel.call(dst).await.map_err(Into::into) })
                }
                None => {
                    let fut = http.call(dst);
                    Box::pin(async move { fut.await.map_err(Into::into) })
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_are_percent_decoded() {
        let url: Uri = "http://us%20er:p%40ss@proxy:3128".parse().unwrap();
        let value = basic_auth_of(&url).unwrap();
        assert!(value.is_sensitive());
        use base64::Engine as _;
        let encoded = value.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
        assert_eq!(decoded, b"us er:p@ss");
        assert!(basic_auth_of(&"http://proxy:3128".parse().unwrap()).is_none());
    }

    #[test]
    fn proxy_errors_hide_credentials() {
        let url: Uri = "ftp://user:secret@proxy:1080".parse().unwrap();
        let err = ProxyConnector::new(Some(&url), None).unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
        assert!(err.contains("proxy:1080"), "{err}");
    }
}
