//! Test support for the OIDC provider: unsigned JWTs and a small HTTPS issuer on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;

use super::OidcConfig;
use super::issuer::DISCOVERY_PATH;
use crate::config::SecretString;

/// A JWT (unsigned: the signature part is junk) with the given `exp`.
pub(crate) fn jwt(exp: Option<u64>, subject: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let claims = match exp {
        Some(exp) => serde_json::json!({"sub": subject, "exp": exp}),
        None => serde_json::json!({"sub": subject}),
    };
    format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(&claims.to_string()))
}

/// The current time in seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A JWT valid for an hour.
pub(crate) fn fresh_jwt(subject: &str) -> String {
    jwt(Some(unix_now() + 3600), subject)
}

/// A JWT that expired a minute ago.
pub(crate) fn expired_jwt(subject: &str) -> String {
    jwt(Some(unix_now() - 60), subject)
}

/// One request the test issuer's token endpoint got.
#[derive(Clone, Debug)]
pub(crate) struct TokenRequest {
    pub(crate) authorization: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) form: Vec<(String, String)>,
}

impl TokenRequest {
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

type Handler = dyn Fn(&TokenRequest) -> (u16, String) + Send + Sync;

#[derive(Default)]
struct Seen {
    discovery: usize,
    token: Vec<TokenRequest>,
}

/// A small OIDC issuer on 127.0.0.1 over HTTPS (its own CA), serving the discovery
/// document and a token endpoint answered by a handler. One thread per connection.
pub(crate) struct TestIssuer {
    pub(crate) url: String,
    pub(crate) ca_pem: String,
    seen: Arc<Mutex<Seen>>,
}

impl TestIssuer {
    pub(crate) fn start(handler: impl Fn(&TokenRequest) -> (u16, String) + Send + Sync + 'static) -> Self {
        let kube_test::LoopbackTls { ca_pem, server_config: server } = kube_test::LoopbackTls::new().unwrap();

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let handler: Arc<Handler> = Arc::new(handler);
        let (thread_url, thread_seen) = (url.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (server, url, seen, handler) =
                    (server.clone(), thread_url.clone(), thread_seen.clone(), handler.clone());
                std::thread::spawn(move || {
                    let conn = rustls::ServerConnection::new(server).unwrap();
                    let mut tls = rustls::StreamOwned::new(conn, stream);
                    // a client that gives up mid-handshake is not a test failure
                    let _ = serve_one(&mut tls, &url, &seen, &*handler);
                });
            }
        });
        TestIssuer { url, ca_pem, seen }
    }

    pub(crate) fn token_requests(&self) -> Vec<TokenRequest> {
        self.seen.lock().unwrap().token.clone()
    }

    pub(crate) fn discovery_requests(&self) -> usize {
        self.seen.lock().unwrap().discovery
    }

    /// Settings for a client `kube` with secret `s3cret` of this issuer.
    pub(crate) fn config(&self, id_token: Option<&str>, refresh_token: Option<&str>) -> OidcConfig {
        OidcConfig {
            issuer_url: Some(self.url.clone()),
            client_id: Some("kube".into()),
            client_secret: Some("s3cret".into()),
            id_token: id_token.map(SecretString::from),
            refresh_token: refresh_token.map(SecretString::from),
            issuer_ca: Some(self.ca_pem.clone().into_bytes()),
            extra_scopes: vec!["groups".into()],
        }
    }
}

fn serve_one(
    tls: &mut rustls::StreamOwned<rustls::ServerConnection, std::net::TcpStream>,
    url: &str,
    seen: &Mutex<Seen>,
    handler: &Handler,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(&mut *tls);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let length = header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0usize);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;

    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let (status, answer) = if request_line.starts_with("GET ") && path == DISCOVERY_PATH {
        seen.lock().unwrap().discovery += 1;
        (200, serde_json::json!({"issuer": url, "token_endpoint": format!("{url}/token")}).to_string())
    } else if request_line.starts_with("POST ") && path == "/token" {
        let request = TokenRequest {
            authorization: header("authorization"),
            content_type: header("content-type"),
            form: form_urlencoded::parse(&body).into_owned().collect(),
        };
        seen.lock().unwrap().token.push(request.clone());
        handler(&request)
    } else {
        (404, "{}".to_owned())
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        answer.len()
    );
    tls.write_all(head.as_bytes())?;
    tls.write_all(answer.as_bytes())?;
    tls.conn.send_close_notify();
    tls.flush()
}

/// A handler that answers with a fresh id-token `id-<n>` and refresh-token `rt-<n>`.
pub(crate) fn rotating_handler() -> impl Fn(&TokenRequest) -> (u16, String) + Send + Sync + 'static {
    let count = std::sync::atomic::AtomicUsize::new(0);
    move |_req| {
        let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 2;
        let body = serde_json::json!({
            "access_token": "unused",
            "token_type": "Bearer",
            "id_token": fresh_jwt(&format!("id-{n}")),
            "refresh_token": format!("rt-{n}"),
        });
        (200, body.to_string())
    }
}
