//! Connections to the API server: direct TCP, or a tunnel through an HTTP CONNECT proxy chosen by
//! the kubeconfig's `proxy-url` or the `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` variables.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use http::Uri;
use hyper_util::{
    client::{
        legacy::connect::{HttpConnector, proxy::Tunnel},
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
    /// Through the proxy named in the kubeconfig, for every destination.
    Fixed(Tunnel<HttpConnector>),
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
    /// Connections through `proxy_url` when given (only `http://` proxies are supported), else
    /// as the environment's proxy variables say.
    pub fn new(proxy_url: Option<&Uri>, connect_timeout: Option<Duration>) -> Result<Self, ProxyError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(connect_timeout);
        http.set_keepalive(Some(Duration::from_secs(30)));
        if let Some(url) = proxy_url {
            match url.scheme_str() {
                Some("http") => {}
                Some("socks5" | "socks5h") => {
                    return Err(ProxyError {
                        url: url.to_string(),
                        reason: "socks proxies are not supported yet",
                    });
                }
                _ => return Err(ProxyError { url: url.to_string(), reason: "expected an http:// proxy" }),
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

/// The `Proxy-Authorization` value for the `user:password@` part of a proxy URL (percent-decoded,
/// as URLs encode reserved characters in credentials).
fn basic_auth_of(url: &Uri) -> Option<http::HeaderValue> {
    use base64::Engine as _;
    let userinfo = url.authority()?.as_str().rsplit_once('@')?.0;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned());
    let credentials = format!("{}:{}", decode(user)?, decode(password)?);
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    let mut value = http::HeaderValue::try_from(format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
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
        }
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        match self {
            Self::Fixed(tunnel) => {
                let fut = tunnel.call(dst);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }
            Self::FromEnv { matcher, http } => match matcher.intercept(&dst) {
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
        let url: Uri = "socks5://user:secret@proxy:1080".parse().unwrap();
        let err = ProxyConnector::new(Some(&url), None).unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
        assert!(err.contains("proxy:1080"), "{err}");
    }
}
