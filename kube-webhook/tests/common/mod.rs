//! Shared setup of the kube-webhook integration tests: the shared control plane, a client, a
//! webhook server on 127.0.0.1 with a test CA, and a small HTTPS client.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use kube_client::{
    Client,
    config::{KubeConfigOptions, KubeconfigSource},
};
use kube_test::{TestCa, TestEnv};
use kube_webhook::{TlsConfig, WebhookMetrics, WebhookServer, config::Endpoint};
use rustls_pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::sync::oneshot;

/// The control plane all tests of a binary share.
pub fn shared() -> &'static TestEnv {
    TestEnv::shared().expect("start the test control plane (run `just control-plane` first)")
}

/// An admin client of `env`.
pub fn client_of(env: &TestEnv) -> Client {
    let path = env.admin().kubeconfig().path().to_path_buf();
    let config = kube_client::Config::from_custom_kubeconfig(
        KubeconfigSource::Path(path),
        &KubeConfigOptions::default(),
    );
    Client::try_from(config.unwrap()).unwrap()
}

/// Runs kubectl against `env` off the async threads; stdout and stderr, or the error text.
pub async fn kubectl(
    env: &'static TestEnv,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<kube_test::KubectlOutput, String> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || env.kubectl_output(args, stdin.as_deref()).map_err(|e| e.to_string()))
        .await
        .unwrap()
}

/// Applies a JSON manifest with kubectl.
pub async fn apply(env: &'static TestEnv, manifest: &impl serde::Serialize) {
    let json = serde_json::to_string(manifest).unwrap();
    kubectl(env, &["apply", "-f", "-"], Some(&json)).await.unwrap();
}

/// A running webhook server with a test CA; stopped when dropped.
pub struct Served {
    pub addr: SocketAddr,
    pub ca: TestCa,
    pub dir: tempfile::TempDir,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub registry: Arc<std::sync::Mutex<prometheus_client::registry::Registry>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Served {
    /// Binds a server on 127.0.0.1 with `build` applied to it (routes), polling its
    /// certificate files every 100 ms.
    pub async fn start(build: impl FnOnce(WebhookServer) -> WebhookServer) -> Self {
        let ca = TestCa::new("webhook test CA").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (cert_file, key_file) = ca.issue_server("webhook").unwrap().write_to(dir.path()).unwrap();
        let mut registry = prometheus_client::registry::Registry::default();
        let metrics = WebhookMetrics::register(&mut registry);
        let tls = TlsConfig::from_files(&cert_file, &key_file).poll_interval(Duration::from_millis(100));
        let server = build(WebhookServer::new(tls).metrics(metrics));
        let bound = server.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = bound.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(bound.serve(async move {
            let _ = stopped.await;
        }));
        Served {
            addr,
            ca,
            dir,
            cert_file,
            key_file,
            registry: Arc::new(std::sync::Mutex::new(registry)),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The endpoint the API server calls, trusting the test CA.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::url(format!("https://127.0.0.1:{}", self.addr.port())).ca_bundle(self.ca.ca_pem())
    }

    /// Stops the server, letting requests in flight finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    /// The metrics in Prometheus text.
    pub fn metrics_text(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry.lock().unwrap()).unwrap();
        out
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// An HTTPS client trusting `ca_pem`, one request per connection (HTTP/1.1).
pub struct HttpsClient {
    config: Arc<rustls::ClientConfig>,
    addr: SocketAddr,
}

impl HttpsClient {
    pub fn new(addr: SocketAddr, ca_pem: &str) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        Self { config: Arc::new(config), addr }
    }

    /// Opens a TLS connection and returns the server's leaf certificate and a sender.
    pub async fn connect(
        &self,
    ) -> Result<(CertificateDer<'static>, hyper::client::conn::http1::SendRequest<Full<Bytes>>), String> {
        let tcp = tokio::net::TcpStream::connect(self.addr).await.map_err(|e| e.to_string())?;
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let tls = connector.connect(name, tcp).await.map_err(|e| e.to_string())?;
        let leaf = tls.get_ref().1.peer_certificates().unwrap()[0].clone().into_owned();
        let (send, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        Ok((leaf, send))
    }

    /// A raw TLS stream to the server, for requests hyper would not send.
    pub async fn raw(&self) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        connector.connect(ServerName::try_from("127.0.0.1").unwrap(), tcp).await.unwrap()
    }

    /// Sends one request; status and body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, String) {
        let (_, mut send) = self.connect().await.unwrap();
        let mut req = http::Request::builder().method(method).uri(path).header("host", "127.0.0.1");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = send.send_request(req.body(Full::new(Bytes::from(body))).unwrap()).await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}

/// A namespace for one test, and the selector that limits a webhook to it.
pub async fn test_namespace(
    env: &'static TestEnv,
    prefix: &str,
) -> (String, k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector) {
    let prefix = prefix.to_owned();
    let ns =
        tokio::task::spawn_blocking(move || env.create_unique_namespace(&prefix).unwrap()).await.unwrap();
    let selector = k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
        match_labels: Some([("kubernetes.io/metadata.name".to_owned(), ns.clone())].into()),
        ..Default::default()
    };
    (ns, selector)
}

/// Polls `probe` every 200 ms until it returns true, for up to 30 s (webhook configurations
/// take a moment to reach the API server's admission chain).
pub async fn eventually<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + Duration::from_secs(30);
    while !probe().await {
        assert!(tokio::time::Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
