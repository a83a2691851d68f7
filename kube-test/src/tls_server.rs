//! TLS for servers a test runs itself (an OIDC issuer, an HTTP/1.1-only server): a fresh CA and
//! a serving certificate for `127.0.0.1` signed by it.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

use crate::{Error, Result, certs::Ca};

/// A rustls server configuration for `127.0.0.1` (ring, no client authentication) and the CA
/// that signed its certificate, for clients to trust.
///
/// ```
/// let tls = kube_test::LoopbackTls::new()?;
/// assert!(tls.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
/// # Ok::<(), kube_test::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LoopbackTls {
    /// The CA's certificate (PEM).
    pub ca_pem: String,
    /// The server side of the handshake.
    pub server_config: Arc<ServerConfig>,
}

impl LoopbackTls {
    /// A new CA and a serving certificate for `127.0.0.1` from it.
    pub fn new() -> Result<Self> {
        let ca = Ca::new("kube-test loopback CA")?;
        let serving = ca.issue_server("127.0.0.1", &["127.0.0.1"])?;
        let chain = CertificateDer::pem_slice_iter(serving.cert_pem.as_bytes())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|source| Error::Pem { what: "serving certificate", source })?;
        let key = PrivateKeyDer::from_pem_slice(serving.key_pem.as_bytes())
            .map_err(|source| Error::Pem { what: "serving key", source })?;
        let server_config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|source| Error::Tls { context: "the protocol versions".into(), source })?
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .map_err(|source| Error::Tls { context: "the serving certificate".into(), source })?;
        Ok(LoopbackTls { ca_pem: ca.cert_pem, server_config: Arc::new(server_config) })
    }
}
