//! The server's certificate, loaded from a PEM certificate file and key file and reloaded when
//! either changes, as when cert-manager or the kubelet rotates a mounted Secret.
//!
//! A [`CertWatcher`] holds the current certificate for rustls to pick at each handshake, so a
//! reload only affects connections made afterwards: requests in flight, and connections already
//! open, keep going. The files are read again every [`poll interval`](TlsConfig::poll_interval)
//! and the pair swapped in once it parses and the key matches the certificate; a half-written
//! pair (the certificate renewed, the key not yet) is retried at the next poll, the old pair
//! still served meanwhile.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::Duration,
};

use rustls::{
    RootCertStore, ServerConfig,
    crypto::CryptoProvider,
    server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier},
    sign::CertifiedKey,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

use crate::{Error, metrics::WebhookMetrics};

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!(
    "kube-webhook needs a TLS crypto provider: enable its `ring` feature (the default) or `aws-lc-rs`"
);
#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
fn default_provider() -> CryptoProvider {
    // never built: the compile_error above stops the build; this keeps it the only error
    unreachable!()
}
#[cfg(feature = "aws-lc-rs")]
use rustls::crypto::aws_lc_rs::default_provider;
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
use rustls::crypto::ring::default_provider;

/// How often the certificate files are checked by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Where the server's certificate and key are, how often to look at them again, and whether to
/// ask clients for certificates.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    cert_file: PathBuf,
    key_file: PathBuf,
    client_ca_file: Option<PathBuf>,
    poll_interval: Duration,
}

impl TlsConfig {
    /// A PEM certificate chain (leaf first) and its PEM private key, such as `tls.crt` and
    /// `tls.key` of a mounted `kubernetes.io/tls` Secret.
    pub fn from_files(cert_file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        Self {
            cert_file: cert_file.into(),
            key_file: key_file.into(),
            client_ca_file: None,
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }

    /// How often to check the files for a new certificate ([`DEFAULT_POLL_INTERVAL`] unless set).
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Requires clients to present a certificate signed by a CA in this PEM file (the API
    /// server presents one when its admission configuration gives it a kubeconfig for the
    /// webhook). The file is read once, when the server is bound.
    #[must_use]
    pub fn client_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.client_ca_file = Some(path.into());
        self
    }

    /// Loads the certificate (an error if it cannot be loaded now) and builds the rustls
    /// configuration around a watcher of the files.
    pub(crate) fn build(
        &self,
        metrics: Option<WebhookMetrics>,
    ) -> Result<(Arc<ServerConfig>, CertWatcher), Error> {
        let provider = Arc::new(default_provider());
        let watcher = CertWatcher::load(self, provider.clone(), metrics)?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|source| Error::Tls { context: "the protocol versions".into(), source })?;
        let builder = match &self.client_ca_file {
            None => builder.with_no_client_auth(),
            Some(path) => {
                let mut roots = RootCertStore::empty();
                for cert in read_certs(path, "client CA")? {
                    roots.add(cert).map_err(|source| Error::Tls {
                        context: format!("the client CA {}", path.display()),
                        source,
                    })?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .map_err(|source| Error::ClientCa { path: path.clone(), source })?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_cert_resolver(Arc::new(watcher.clone()));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok((Arc::new(config), watcher))
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Read { what, path: path.to_path_buf(), source })
}

fn read_certs(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, Error> {
    parse_certs(&read(path, what)?, path, what)
}

fn parse_certs(pem: &[u8], path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Pem { what, path: path.to_path_buf(), reason: e.to_string() })?;
    if certs.is_empty() {
        return Err(Error::Pem { what, path: path.to_path_buf(), reason: "no CERTIFICATE block".into() });
    }
    Ok(certs)
}

/// The files' contents when last loaded, to tell a change.
#[derive(PartialEq, Eq)]
struct Loaded {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
}

struct Inner {
    config: TlsConfig,
    provider: Arc<CryptoProvider>,
    current: RwLock<(Arc<CertifiedKey>, Loaded)>,
    metrics: Option<WebhookMetrics>,
}

/// The current serving certificate, reloaded from its files while the server runs.
#[derive(Clone)]
pub struct CertWatcher {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CertWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertWatcher")
            .field("cert_file", &self.inner.config.cert_file)
            .field("key_file", &self.inner.config.key_file)
            .finish_non_exhaustive()
    }
}

impl CertWatcher {
    fn load(
        config: &TlsConfig,
        provider: Arc<CryptoProvider>,
        metrics: Option<WebhookMetrics>,
    ) -> Result<Self, Error> {
        let (key, loaded) = load_pair(config, &provider)?;
        Ok(Self {
            inner: Arc::new(Inner {
                config: config.clone(),
                provider,
                current: RwLock::new((key, loaded)),
                metrics,
            }),
        })
    }

    /// Reads the files again and swaps the certificate in if they changed and are valid.
    /// Returns whether a new certificate is now served.
    pub fn reload(&self) -> Result<bool, Error> {
        let config = &self.inner.config;
        let loaded = Loaded {
            cert_pem: read(&config.cert_file, "certificate")?,
            key_pem: read(&config.key_file, "key")?,
        };
        {
            let current = self.inner.current.read().unwrap_or_else(|e| e.into_inner());
            if current.1 == loaded {
                return Ok(false);
            }
        }
        let key = certified_key(config, &loaded, &self.inner.provider)?;
        *self.inner.current.write().unwrap_or_else(|e| e.into_inner()) = (key, loaded);
        if let Some(metrics) = &self.inner.metrics {
            metrics.certificate_reloaded();
        }
        tracing::info!(cert = %config.cert_file.display(), "loaded a new webhook serving certificate");
        Ok(true)
    }

    /// Polls the files until dropped (run it in a task; the server does).
    pub(crate) async fn watch(self) {
        let mut failing = false;
        let mut tick = tokio::time::interval(self.inner.config.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.reload() {
                Ok(_) => failing = false,
                // Once per failure streak: a rotation in progress often fails one poll.
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "failed to reload the webhook certificate; still serving the previous one");
                }
                Err(_) => {}
            }
        }
    }

    /// The leaf certificate served now (DER).
    pub fn current_leaf(&self) -> Option<CertificateDer<'static>> {
        let current = self.inner.current.read().unwrap_or_else(|e| e.into_inner());
        current.0.cert.first().cloned()
    }
}

impl ResolvesServerCert for CertWatcher {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.inner.current.read().unwrap_or_else(|e| e.into_inner()).0.clone())
    }
}

fn load_pair(config: &TlsConfig, provider: &CryptoProvider) -> Result<(Arc<CertifiedKey>, Loaded), Error> {
    let loaded =
        Loaded { cert_pem: read(&config.cert_file, "certificate")?, key_pem: read(&config.key_file, "key")? };
    let key = certified_key(config, &loaded, provider)?;
    Ok((key, loaded))
}

fn certified_key(
    config: &TlsConfig,
    loaded: &Loaded,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, Error> {
    let chain = parse_certs(&loaded.cert_pem, &config.cert_file, "certificate")?;
    let key = PrivateKeyDer::from_pem_slice(&loaded.key_pem).map_err(|e| Error::Pem {
        what: "key",
        path: config.key_file.clone(),
        reason: e.to_string(),
    })?;
    let key = CertifiedKey::from_der(chain, key, provider).map_err(|source| Error::Tls {
        context: format!(
            "the key {} for the certificate {}",
            config.key_file.display(),
            config.cert_file.display()
        ),
        source,
    })?;
    Ok(Arc::new(key))
}
