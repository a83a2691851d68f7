//! A minimal HTTP/1.1 client over a std `TcpStream`, with TLS through rustls (ring provider).
//!
//! It is used to wait for readiness, to talk to etcd's JSON gateway and for a few helpers of
//! [`TestEnv`](crate::TestEnv). One request per connection (`Connection: close`); the whole
//! response is read into memory. It is not meant as a Kubernetes client.

use std::{
    io::{self, Read, Write},
    net::{SocketAddr, TcpStream},
    sync::Arc,
    time::Duration,
};

use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};

use crate::{Credentials, Error, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Status and body of a response from [`TestEnv::raw_get`](crate::TestEnv::raw_get) and friends.
///
/// ```no_run
/// let env = kube_test::TestEnv::shared()?;
/// let resp = env.raw_get("/version")?;
/// assert_eq!(resp.status, 200);
/// let version = resp.json()?;
/// println!("{}", version["gitVersion"]);
/// # Ok::<(), kube_test::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The body, de-chunked, as (lossy) UTF-8.
    pub body: String,
}

impl RawResponse {
    /// Parses the body as JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_str(&self.body).map_err(|source| Error::Json {
            what: format!("a response body with status {}", self.status),
            source,
        })
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// One request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) content_type: Option<&'a str>,
    pub(crate) body: &'a [u8],
    pub(crate) bearer: Option<&'a str>,
}

impl<'a> Request<'a> {
    pub(crate) fn get(path: &'a str) -> Self {
        Request { method: "GET", path, content_type: None, body: &[], bearer: None }
    }

    pub(crate) fn with_body(method: &'a str, path: &'a str, content_type: &'a str, body: &'a [u8]) -> Self {
        Request { method, path, content_type: Some(content_type), body, bearer: None }
    }

    fn encode(&self, host: &SocketAddr) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: kube-test\r\nAccept: application/json, */*\r\nConnection: close\r\n",
            self.method, self.path
        );
        if let Some(token) = self.bearer {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        if let Some(ct) = self.content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        if self.method != "GET" || !self.body.is_empty() {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(self.body);
        out
    }
}

/// A TLS client configuration that trusts `ca_pem` and authenticates with `credentials`
/// (a bearer token is sent per request, so for tokens this is only the trust part).
pub(crate) fn tls_config(ca_pem: &str, credentials: &Credentials) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.map_err(|source| Error::Pem { what: "CA certificate", source })?;
        roots.add(cert).map_err(|source| Error::Tls { context: "the CA certificate".into(), source })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|source| Error::Tls { context: "the protocol versions".into(), source })?
        .with_root_certificates(roots);
    let config = match credentials {
        Credentials::ClientCertificate { cert_pem, key_pem } => {
            let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|source| Error::Pem { what: "client certificate", source })?;
            let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
                .map_err(|source| Error::Pem { what: "client key", source })?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|source| Error::Tls { context: "the client certificate".into(), source })?
        }
        Credentials::Token(_) => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Sends `req` over TLS to `addr` (verified as an IP address) and reads the whole response.
pub(crate) fn https(
    addr: SocketAddr,
    config: &Arc<ClientConfig>,
    req: Request<'_>,
    timeout: Duration,
) -> Result<RawResponse> {
    let url = || format!("https://{addr}{}", req.path);
    let fail = |source: io::Error| Error::Request { method: req.method.to_owned(), url: url(), source };
    let tcp = connect(addr, timeout).map_err(fail)?;
    let conn = ClientConnection::new(config.clone(), ServerName::IpAddress(addr.ip().into()))
        .map_err(|source| Error::Tls { context: url(), source })?;
    let mut stream = StreamOwned::new(conn, tcp);
    exchange(&mut stream, &req.encode(&addr)).map_err(fail)
}

/// Sends `req` over plain HTTP to `addr` and reads the whole response.
pub(crate) fn http(addr: SocketAddr, req: Request<'_>, timeout: Duration) -> Result<RawResponse> {
    let fail = |source: io::Error| Error::Request {
        method: req.method.to_owned(),
        url: format!("http://{addr}{}", req.path),
        source,
    };
    let mut tcp = connect(addr, timeout).map_err(fail)?;
    exchange(&mut tcp, &req.encode(&addr)).map_err(fail)
}

fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let tcp = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT.min(timeout))?;
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

fn exchange(stream: &mut (impl Read + Write), request: &[u8]) -> io::Result<RawResponse> {
    stream.write_all(request)?;
    stream.flush()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // Servers may close without a TLS close_notify once the response is complete.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !raw.is_empty() => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    parse_response(&raw)
}

/// Parses a complete HTTP/1.1 response: status line, headers and a plain or chunked body.
pub(crate) fn parse_response(raw: &[u8]) -> io::Result<RawResponse> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid("incomplete HTTP response: no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| invalid("malformed HTTP status line"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        } else if name == "content-length" {
            length = value.parse::<usize>().ok();
        }
    }
    let body = if chunked {
        dechunk(rest)?
    } else {
        match length {
            Some(n) => rest
                .get(..n)
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("response body cut off after {} of {n} bytes (Content-Length)", rest.len()),
                    )
                })?
                .to_vec(),
            None => rest.to_vec(),
        }
    };
    Ok(RawResponse { status, body: String::from_utf8_lossy(&body).into_owned() })
}

/// Joins the chunks of a chunked body; a body cut off before its last (empty) chunk is an
/// [`UnexpectedEof`](io::ErrorKind::UnexpectedEof) error.
fn dechunk(mut data: &[u8]) -> io::Result<Vec<u8>> {
    let cut_off = || io::Error::new(io::ErrorKind::UnexpectedEof, "chunked response body cut off");
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n").ok_or_else(cut_off)?;
        let size_field = String::from_utf8_lossy(&data[..eol]);
        let size_hex = size_field.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidData, format!("invalid chunk size `{size_hex}`"))
        })?;
        if size == 0 {
            return Ok(out);
        }
        let start = eol + 2;
        let end = start.checked_add(size).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, format!("chunk size `{size_hex}` is too large"))
        })?;
        out.extend_from_slice(data.get(start..end).ok_or_else(cut_off)?);
        data = data.get(end..).and_then(|rest| rest.strip_prefix(b"\r\n")).ok_or_else(cut_off)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length_body() -> io::Result<()> {
        let raw = b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}trailing";
        let resp = parse_response(raw)?;
        assert_eq!(resp.status, 403);
        assert_eq!(resp.body, "{}");
        Ok(())
    }

    #[test]
    fn parses_chunked_body() -> io::Result<()> {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
        let resp = parse_response(raw)?;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body, "hello, world");
        Ok(())
    }

    #[test]
    fn truncated_bodies_are_unexpected_eof() {
        let kind = |raw: &[u8]| parse_response(raw).err().map(|e| e.kind());
        let eof = Some(io::ErrorKind::UnexpectedEof);
        assert_eq!(kind(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"), eof);
        assert_eq!(kind(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"), eof);
        assert_eq!(kind(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"), eof);
    }

    #[test]
    fn bogus_chunk_sizes_are_errors() {
        let kind = |raw: &[u8]| parse_response(raw).err().map(|e| e.kind());
        let huge = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nx\r\n0\r\n\r\n";
        assert_eq!(kind(huge), Some(io::ErrorKind::InvalidData));
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n";
        assert_eq!(kind(bad), Some(io::ErrorKind::InvalidData));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_response(b"nonsense").is_err());
        assert!(parse_response(b"HTTP/1.1 abc\r\n\r\n").is_err());
    }

    #[test]
    fn encodes_request_with_body_and_token() {
        let addr: SocketAddr = ([127, 0, 0, 1], 6443).into();
        let mut req = Request::with_body("POST", "/api", "application/json", b"{}");
        req.bearer = Some("tok");
        let text = String::from_utf8_lossy(&req.encode(&addr)).into_owned();
        assert!(text.starts_with("POST /api HTTP/1.1\r\nHost: 127.0.0.1:6443\r\n"));
        assert!(text.contains("Authorization: Bearer tok\r\n"));
        assert!(text.contains("Content-Length: 2\r\n"));
        assert!(text.ends_with("\r\n\r\n{}"));
    }
}
