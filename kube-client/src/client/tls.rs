//! TLS for the client: rustls with the crypto provider the crate's features choose.
//!
//! - `ring` (the default): builds in about 14 s here against 42 s for `aws-lc-rs`, needs no C
//!   toolchain beyond a compiler nor cmake, and covers everything a cluster uses (TLS 1.2 and 1.3
//!   with RSA and ECDSA certificates).
//! - `aws-lc-rs`: for FIPS requirements. When both features are on, it is the one used.
//!
//! Every TLS connection of the client (to the API server and to an OIDC issuer) uses
//! [`provider`]; rustls's process-wide default provider is neither read nor set.

use std::sync::{
    Arc, Once, PoisonError, RwLock,
    atomic::{AtomicU64, Ordering},
};

use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
    client::{
        ResolvesClientCert,
        danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    },
    crypto::CryptoProvider,
    pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime},
    sign::CertifiedKey,
};

use crate::{config::Identity, error::TlsError};

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!(
    "kube-client needs a TLS crypto provider: enable its `ring` feature (the default) or `aws-lc-rs`"
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

/// The crypto provider every TLS connection of this client uses: aws-lc-rs when the `aws-lc-rs`
/// feature is on, else ring.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(default_provider())
}

/// Builds the rustls configuration: the cluster's CA (or the system's roots when none is given),
/// verification off only when asked, and a client certificate when there is one.
pub fn client_config(
    root_certs: &[CertificateDer<'static>],
    accept_invalid_certs: bool,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<ClientConfig, TlsError> {
    let builder = verifying_builder(root_certs, accept_invalid_certs)?;
    let config = match identity {
        Some((chain, key)) => {
            builder.with_client_auth_cert(chain, key).map_err(TlsError::ClientCertificate)?
        }
        None => builder.with_no_client_auth(),
    };
    // ALPN (h2, then http/1.1) is set by the connector.
    Ok(config)
}

/// [`client_config`] with the client certificate chosen at each handshake by `resolver`, e.g. a
/// [`RotatingClientCert`] that follows an exec plugin's certificates.
///
/// TLS session resumption is off: a resumed session keeps the client certificate of the
/// session it resumes, so a new connection would not present a rotated certificate.
pub fn client_config_with_cert_resolver(
    root_certs: &[CertificateDer<'static>],
    accept_invalid_certs: bool,
    resolver: Arc<dyn ResolvesClientCert>,
) -> Result<ClientConfig, TlsError> {
    let mut config = verifying_builder(root_certs, accept_invalid_certs)?.with_client_cert_resolver(resolver);
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

fn verifying_builder(
    root_certs: &[CertificateDer<'static>],
    accept_invalid_certs: bool,
) -> Result<rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::ProtocolVersions)?;
    let builder = if accept_invalid_certs {
        static WARN: Once = Once::new();
        WARN.call_once(|| {
            tracing::warn!("tls certificate verification is disabled (insecure-skip-tls-verify); the connection can be intercepted");
        });
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
    } else {
        builder.with_root_certificates(root_store(root_certs)?)
    };
    Ok(builder)
}

/// The given CA certificates, or the system's roots when none are given.
pub(crate) fn root_store(root_certs: &[CertificateDer<'static>]) -> Result<RootCertStore, TlsError> {
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
        store.add(cert.clone()).map_err(|source| TlsError::CertificateAuthority { number: i + 1, source })?;
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

/// A client certificate that can be replaced while the client runs: the certificates an exec
/// credential plugin hands out.
///
/// The transport's authentication layer [updates](RotatingClientCert::update) it with the
/// plugin's latest credential before each request (running the plugin again, off the async
/// runtime, when the credential has expired); as a rustls [`ResolvesClientCert`] it gives the
/// current certificate to each new TLS handshake without blocking. Each change bumps the
/// [generation](RotatingClientCert::generation), which the client uses to stop reusing
/// connections made with an older certificate.
#[derive(Default)]
pub struct RotatingClientCert {
    current: RwLock<Option<Current>>,
    generation: AtomicU64,
}

struct Current {
    identity: Identity,
    key: Arc<CertifiedKey>,
}

impl RotatingClientCert {
    /// No certificate yet, generation 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `identity` from now on (`None`: no client certificate). Returns whether it differs
    /// from the one served so far; the generation grows by one when it does.
    ///
    /// Fails when the key cannot be used by the crypto [`provider`] or does not match the
    /// certificate; the current certificate is kept then.
    pub fn update(&self, identity: Option<&Identity>) -> Result<bool, rustls::Error> {
        let same = |current: &Option<Current>| current.as_ref().map(|c| &c.identity) == identity;
        if same(&self.current.read().unwrap_or_else(PoisonError::into_inner)) {
            return Ok(false);
        }
        let new = match identity {
            Some(id) => Some(Current {
                identity: id.clone(),
                key: Arc::new(CertifiedKey::from_der(
                    id.cert_chain().to_vec(),
                    id.key().clone_key(),
                    &provider(),
                )?),
            }),
            None => None,
        };
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if same(&current) {
            return Ok(false);
        }
        *current = new;
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        tracing::debug!(generation, "the client certificate changed");
        Ok(true)
    }

    /// The certificate and key for the next handshake.
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).as_ref().map(|c| c.key.clone())
    }

    /// How many times the certificate changed.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}

impl ResolvesClientCert for RotatingClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.current()
    }

    fn has_certs(&self) -> bool {
        self.current.read().unwrap_or_else(PoisonError::into_inner).is_some()
    }
}

impl std::fmt::Debug for RotatingClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatingClientCert")
            .field("generation", &self.generation())
            .field("has_certs", &self.has_certs())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Identity, certificates_from_pem};

    fn identity(cn: &str) -> (Identity, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![cn.to_owned()]).unwrap().self_signed(&key).unwrap();
        (Identity::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap(), cert.pem())
    }

    #[test]
    fn the_features_choose_the_provider() {
        // the provider's random number source names its library
        let debug = format!("{:?}", provider());
        let expected = if cfg!(feature = "aws-lc-rs") { "AwsLcRs" } else { "Ring" };
        assert!(debug.contains(expected), "{debug}");
    }

    #[test]
    fn rotating_cert_follows_updates() {
        let cert = RotatingClientCert::new();
        assert!(!cert.has_certs() && cert.resolve(&[], &[]).is_none());
        assert!(!cert.update(None).unwrap(), "no certificate before and after");
        assert_eq!(cert.generation(), 0);

        let (a, a_pem) = identity("a");
        assert!(cert.update(Some(&a)).unwrap());
        assert!(!cert.update(Some(&a)).unwrap(), "the same certificate is no change");
        assert_eq!(cert.generation(), 1);
        let served = cert.resolve(&[], &[SignatureScheme::ECDSA_NISTP256_SHA256]).unwrap();
        assert_eq!(served.cert, certificates_from_pem(a_pem.as_bytes()).unwrap());
        assert!(cert.has_certs());

        let (b, b_pem) = identity("b");
        assert!(cert.update(Some(&b)).unwrap());
        assert_eq!(cert.generation(), 2);
        assert_eq!(cert.current().unwrap().cert, certificates_from_pem(b_pem.as_bytes()).unwrap());

        // a key that does not match its certificate is refused and the old one kept
        let mismatched = Identity::new(a.cert_chain().to_vec(), b.key().clone_key());
        assert!(cert.update(Some(&mismatched)).is_err());
        assert_eq!(cert.generation(), 2);
        assert_eq!(cert.current().unwrap().cert, certificates_from_pem(b_pem.as_bytes()).unwrap());

        assert!(cert.update(None).unwrap());
        assert!(cert.current().is_none());
        assert_eq!(cert.generation(), 3);
        assert!(format!("{cert:?}").contains("generation: 3"));
    }
}
