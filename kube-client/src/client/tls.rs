//! TLS for the client: rustls with the `ring` provider.
//!
//! Why `ring`: it builds in about 14 s here against 42 s for `aws-lc-rs`, needs no C toolchain
//! beyond a compiler nor cmake, and covers everything a cluster uses (TLS 1.2 and 1.3 with RSA and
//! ECDSA certificates). A FIPS requirement would be the reason to pick `aws-lc-rs` instead.

use std::sync::{Arc, Once};

use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::CryptoProvider,
    pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime},
};

use crate::Error;

/// The crypto provider every TLS connection of this client uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the rustls configuration: the cluster's CA (or the system's roots when none is given),
/// verification off only when asked, and a client certificate when there is one.
pub fn client_config(
    root_certs: &[CertificateDer<'static>],
    accept_invalid_certs: bool,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<ClientConfig, Error> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(format!("failed to select tls versions: {e}")))?;
    let builder = if accept_invalid_certs {
        static WARN: Once = Once::new();
        WARN.call_once(|| {
            tracing::warn!("tls certificate verification is disabled (insecure-skip-tls-verify); the connection can be intercepted");
        });
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
    } else {
        builder.with_root_certificates(root_store(root_certs)?)
    };
    let config = match identity {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| Error::Tls(format!("invalid client certificate or key: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    // ALPN (h2, then http/1.1) is set by the connector.
    Ok(config)
}

fn root_store(root_certs: &[CertificateDer<'static>]) -> Result<RootCertStore, Error> {
    let mut store = RootCertStore::empty();
    if root_certs.is_empty() {
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::debug!(error = %e, "skipping a system root certificate");
        }
        let (added, ignored) = store.add_parsable_certificates(native.certs);
        tracing::debug!(added, ignored, "using the system's root certificates");
        return Ok(store);
    }
    for (i, cert) in root_certs.iter().enumerate() {
        store
            .add(cert.clone())
            .map_err(|e| Error::Tls(format!("invalid certificate authority (certificate {}): {e}", i + 1)))?;
    }
    Ok(store)
}

/// Accepts any server certificate but still checks the handshake signatures.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
